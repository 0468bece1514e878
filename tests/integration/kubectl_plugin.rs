//! `kubectl rolecall`: the rolecall binary under the name `kubectl-rolecall`,
//! first on PATH, found and run by the real kubectl against the test control
//! plane, its report checked against the hub's own objects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rolecall::api::app_account::{AccountState, UserTable};

use crate::harness::{Operator, kubeconfig, rolecall_bin};
use crate::world::{state, table, world};

/// A directory holding only `kubectl-rolecall`, a symlink to the binary under test (what `make plugin` makes).
fn plugin_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rolecall-kubectl-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("plugin dir");
    let link = dir.join("kubectl-rolecall");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(rolecall_bin(), &link).expect("symlink kubectl-rolecall");
    dir
}

/// The real kubectl, with `dir` first on PATH.
fn kubectl_with_plugin(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(format!("{}/testenv/bin/kubectl", env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .env("PATH", path)
        .output()
        .expect("kubectl runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[tokio::test]
async fn kubectl_finds_the_plugin_and_its_status_report_matches_the_hubs_accounts() {
    let w = world("ops-kubectl-plugin").await;
    let ada = w.idp_user("ada").await;
    let grace = w.idp_user("grace").await;
    let eng = w.idp_group("Engineering", &[&ada, &grace]).await;
    w.hub("crm", "Enforce", "");
    w.grant("engineering", &eng, "member", "crm");
    let _operator = Operator::start(&w.ns, "rolecall", "op-plugin", &["--resync", "2s"]);
    for email in ["ada@acme.io", "grace@acme.io"] {
        w.wait_account(email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }

    let dir = plugin_dir();
    let (ok, out, err) = kubectl_with_plugin(&dir, &["plugin", "list"]);
    println!("kubectl plugin list:\n{out}{err}");
    assert!(ok, "{err}");
    let expected = dir.join("kubectl-rolecall");
    assert!(out.lines().any(|l| l.trim() == expected.display().to_string()), "kubectl plugin list names {}: {out}", expected.display());

    // Human tables.
    let (ok, out, err) = kubectl_with_plugin(&dir, &["rolecall", "status", "crm", "-n", &w.ns]);
    println!("kubectl rolecall status crm -n {}:\n{out}", w.ns);
    assert!(ok, "{err}");
    assert!(out.starts_with("Hub crm (Scim, mode Enforce)"), "{out}");
    assert!(out.contains("Onboarded (2)"), "{out}");
    let onboarded_block: String =
        out.split("Onboarded (2)").nth(1).and_then(|rest| rest.split("\n\n").next()).unwrap_or_default().to_string();
    for email in ["ada@acme.io", "grace@acme.io"] {
        assert!(onboarded_block.contains(email), "{email} in the Onboarded table: {out}");
    }

    // Machine output, against the AppAccounts themselves.
    let (ok, out, err) = kubectl_with_plugin(&dir, &["rolecall", "status", "crm", "-n", &w.ns, "-o", "json"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("-o json is JSON ({e}): {out}"));
    println!(
        "kubectl rolecall status crm -o json: {} accounts in {} tables",
        w.accounts().await.len(),
        report["tables"].as_object().map_or(0, |t| t.len())
    );
    assert_eq!(report["hub"]["name"], "crm");
    assert_eq!(report["hub"]["namespace"], w.ns.as_str());
    let mut from_api: BTreeMap<String, (String, String)> = BTreeMap::new();
    for account in w.accounts().await.iter().filter(|a| a.spec.hub == "crm") {
        let t = table(account).unwrap_or(UserTable::Unmatched);
        let s = state(account).map(|s| format!("{s:?}")).unwrap_or_default();
        from_api.insert(account.spec.email.clone(), (format!("{t:?}"), s));
    }
    let mut from_report: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (table_name, rows) in report["tables"].as_object().expect("tables") {
        for row in rows.as_array().expect("rows") {
            let email = row["email"].as_str().expect("email").to_string();
            from_report.insert(email, (table_name.clone(), row["state"].as_str().unwrap_or_default().to_string()));
        }
    }
    assert_eq!(from_report, from_api, "the JSON report lists every AppAccount of the hub in its table with its state");
    assert_eq!(from_report.len(), 2, "{from_report:?}");
    let ready = report["hub"]["conditions"].as_array().expect("conditions").iter().any(|c| c["type"] == "Ready" && c["status"] == "True");
    assert!(ready, "{report}");

    // YAML says the same.
    let (ok, out, err) = kubectl_with_plugin(&dir, &["rolecall", "status", "crm", "-n", &w.ns, "-o", "yaml"]);
    assert!(ok, "{err}");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&out).expect("-o yaml is YAML");
    assert_eq!(serde_json::to_value(&yaml).expect("yaml as json")["tables"], report["tables"]);

    // The plugin offers the person's commands only, and says so.
    let (ok, _, err) = kubectl_with_plugin(&dir, &["rolecall", "operator"]);
    assert!(!ok && err.contains("unrecognized subcommand"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
