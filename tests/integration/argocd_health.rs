//! The Argo CD health checks of gitops/argocd: the scripts that argocd-cm.yaml
//! ships, run in gopher-lua (the Lua Argo CD embeds, through testenv's
//! argocd-lua runner) against the sample objects of each kind's
//! health_test.yaml (Argo CD's own test layout). Each sample is checked to be
//! a real object of its kind: it parses as the Rust type and the API server
//! accepts its spec.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rolecall::api::{AccessGrant, AppAccount, BusinessHub, IdPBinding, Partner, Team, User};

use crate::harness::{client, kubectl, namespace};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const KEY_PREFIX: &str = "resource.customizations.health.rolecall.dev_";

/// The scripts as Argo CD gets them: argocd-cm.yaml's entries, by kind.
fn shipped_scripts() -> BTreeMap<String, String> {
    let path = repo().join("gitops/argocd/argocd-cm.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cm: serde_yaml::Value = serde_yaml::from_str(&text).expect("argocd-cm.yaml parses");
    assert_eq!(cm["kind"].as_str(), Some("ConfigMap"));
    assert_eq!(cm["metadata"]["name"].as_str(), Some("argocd-cm"));
    let data = cm["data"].as_mapping().expect("data");
    data.iter()
        .map(|(k, v)| {
            let key = k.as_str().expect("key");
            let kind = key.strip_prefix(KEY_PREFIX).unwrap_or_else(|| panic!("unexpected key {key}"));
            (kind.to_string(), v.as_str().expect("script").to_string())
        })
        .collect()
}

/// Every kind of `crds/`, by its CRD's `spec.names.kind`.
fn crd_kinds() -> BTreeSet<String> {
    let mut kinds = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("crds")).expect("crds/") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("crd");
        let crd: serde_yaml::Value = serde_yaml::from_str(&text).expect("crd parses");
        kinds.insert(crd["spec"]["names"]["kind"].as_str().expect("kind").to_string());
    }
    kinds
}

fn argocd_lua() -> PathBuf {
    let path = repo().join("testenv/bin/argocd-lua");
    assert!(path.exists(), "{} is missing: run `make ops-tools` (testenv/ops-tools.sh) to build it", path.display());
    path
}

/// Runs `script` on `object` as Argo CD would; returns (status, message).
fn health(script: &Path, object: &serde_json::Value) -> Result<(String, String), String> {
    let mut child = Command::new(argocd_lua())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("argocd-lua: {e}"))?;
    child.stdin.take().expect("stdin").write_all(object.to_string().as_bytes()).map_err(|e| format!("stdin: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("argocd-lua: {e}"))?;
    if !out.status.success() {
        return Err(format!("the script failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("runner output: {e}"))?;
    Ok((result["status"].as_str().unwrap_or_default().to_string(), result["message"].as_str().unwrap_or_default().to_string()))
}

/// One case of a health_test.yaml: the script's answer must be the expected one.
fn check_case(script: &Path, object: &serde_json::Value, status: &str, message: &str) -> Result<(), String> {
    let (got_status, got_message) = health(script, object)?;
    if got_status != status || got_message != message {
        return Err(format!("expected {status} {message:?}, got {got_status} {got_message:?}"));
    }
    Ok(())
}

/// The sample must be an object of its kind as rolecall's own types read it.
fn parses_as_its_kind(kind: &str, object: &serde_json::Value) -> Result<(), String> {
    let value = object.clone();
    let parsed = match kind {
        "BusinessHub" => serde_json::from_value::<BusinessHub>(value).map(|_| ()),
        "AccessGrant" => serde_json::from_value::<AccessGrant>(value).map(|_| ()),
        "IdPBinding" => serde_json::from_value::<IdPBinding>(value).map(|_| ()),
        "User" => serde_json::from_value::<User>(value).map(|_| ()),
        "Team" => serde_json::from_value::<Team>(value).map(|_| ()),
        "AppAccount" => serde_json::from_value::<AppAccount>(value).map(|_| ()),
        "Partner" => serde_json::from_value::<Partner>(value).map(|_| ()),
        other => return Err(format!("no Rust type for kind {other}")),
    };
    parsed.map_err(|e| format!("not a valid {kind}: {e}"))
}

/// The API server accepts the sample's spec (schema and CEL rules), in `ns`, without storing it.
fn api_server_accepts(ns: &str, object: &serde_json::Value) -> Result<(), String> {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    object["metadata"] = serde_json::json!({"name": object["metadata"]["name"], "namespace": ns});
    let mut child = kubectl()
        .args(["create", "--dry-run=server", "-o", "name", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("kubectl: {e}"))?;
    child.stdin.take().expect("stdin").write_all(object.to_string().as_bytes()).map_err(|e| format!("stdin: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("kubectl: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).to_string()) }
}

#[tokio::test]
async fn every_kind_has_a_health_check_that_gives_each_state_in_argo_cds_lua() {
    let client = client().await;
    let ns = namespace(&client, "ops-argocd-health").await;
    let scripts = shipped_scripts();
    assert_eq!(scripts.keys().cloned().collect::<BTreeSet<_>>(), crd_kinds(), "argocd-cm.yaml has one script per CRD kind");

    let dir = std::env::temp_dir().join(format!("rolecall-argocd-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    let mut states: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut cases = 0;
    for (kind, script) in &scripts {
        let kind_dir = repo().join("gitops/argocd/health").join(kind);
        let source = std::fs::read_to_string(kind_dir.join("health.lua")).expect("health.lua");
        assert_eq!(script, &source, "argocd-cm.yaml's {kind} script differs from health/{kind}/health.lua: run `make gitops`");
        let script_path = dir.join(format!("{kind}.lua"));
        std::fs::write(&script_path, script).expect("script written");

        let tests: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(kind_dir.join("health_test.yaml")).expect("health_test.yaml")).expect("parses");
        for case in tests["tests"].as_sequence().expect("tests") {
            cases += 1;
            let input = case["inputPath"].as_str().expect("inputPath");
            let status = case["healthStatus"]["status"].as_str().expect("status");
            let message = case["healthStatus"]["message"].as_str().unwrap_or_default();
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(kind_dir.join(input)).expect("sample")).expect("sample parses");
            let object: serde_json::Value = serde_json::to_value(&yaml).expect("sample as JSON");
            let outcome = parses_as_its_kind(kind, &object)
                .and_then(|_| api_server_accepts(&ns, &object))
                .and_then(|_| check_case(&script_path, &object, status, message));
            match outcome {
                Ok(()) => {
                    states.entry(kind.clone()).or_default().insert(status.to_string());
                }
                Err(e) => failures.push(format!("{kind} {input}: {e}")),
            }
        }
    }

    // The check can fail: a sample given the wrong expected state is caught.
    let hub_script = dir.join("BusinessHub.lua");
    let held: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("gitops/argocd/health/BusinessHub/testdata/removals-held.yaml")).expect("sample"),
    )
    .expect("parses");
    let held = serde_json::to_value(&held).expect("json");
    let wrong = check_case(&hub_script, &held, "Healthy", "every planned change was made");
    assert!(wrong.as_ref().is_err_and(|e| e.contains("got Suspended")), "a wrong expectation must fail: {wrong:?}");

    println!("argocd health: {cases} cases over {} kinds", states.len());
    for (kind, seen) in &states {
        println!("  {kind:<12} {}", seen.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{} of {cases} health cases failed:\n{}", failures.len(), failures.join("\n"));
    let hub = &states["BusinessHub"];
    for state in ["Healthy", "Progressing", "Degraded", "Suspended"] {
        assert!(hub.contains(state), "BusinessHub is tested in {state}");
    }
    for (kind, seen) in &states {
        for state in ["Healthy", "Progressing"] {
            assert!(seen.contains(state), "{kind} is tested in {state}");
        }
    }
}
