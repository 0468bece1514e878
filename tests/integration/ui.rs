//! `rolecall ui` as a person uses it: the real operator and sidecar fill a
//! hub's four tables, `rolecall ui` serves them, and headless Chromium loads
//! the pages; the tests read the rendered DOM and save the README's
//! screenshots. Then RBAC: a ServiceAccount that may read one namespace sees
//! only that one, and never needs (nor gets) a Secret.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use rolecall::api::app_account::{AccountState, UserTable};
use rolecall::api::{AppAccount, User};
use serde_json::json;

use crate::browser::{UiServer, account_emails, dump_dom, element, screenshot};
use crate::harness::{Operator, client, kubeconfig, kubectl_apply, kubectl_output, memory_kib, namespace, wait_for};
use crate::scim_app::ScimApp;
use crate::world::{LIMIT, World, active, state, table, world};

pub const PLANTED: &str = "planted-secret-value-4f9c1e";

pub async fn plant_secret(ns: &str) {
    let api: Api<Secret> = Api::namespaced(client().await, ns);
    let secret = Secret {
        metadata: ObjectMeta { name: Some("planted".into()), ..Default::default() },
        string_data: Some([("password".to_string(), PLANTED.to_string())].into()),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret).await.expect("secret planted");
}

async fn wait_on(w: &World, hub: &str, email: &str, what: &str, check: impl Fn(&AppAccount) -> bool) {
    wait_for(LIMIT, &format!("{email} on {hub}: {what}"), || async { w.account_on(hub, email).await.is_some_and(|a| check(&a)) }).await;
}

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

#[tokio::test]
async fn a_person_sees_the_four_tables_searches_sorts_and_pages_in_chromium() {
    let w = world("ui-tables").await;
    // In the app before rolecall: a stranger (Unmatched) and a shared login (to be Exempted).
    w.app.create_user("stranger@elsewhere.example", &["member"]).await;
    w.app.create_user("shared@acme.io", &["member"]).await;
    let mut ids = Vec::new();
    for user in ["alice", "bob", "carol", "gina"] {
        ids.push(w.idp_user(user).await);
    }
    // gina is a contractor: her account is a Guest's.
    let users: Api<User> = Api::namespaced(client().await, &w.ns);
    users.patch(&ids[3], &PatchParams::default(), &Patch::Merge(json!({"spec": {"external": true}}))).await.expect("external");
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let eng = w.idp_group("Engineering", &refs).await;
    w.hub("crm", "Enforce", "");
    // The DryRun hub has an app of its own (an empty one), so its plan keeps saying what it would do.
    let dry_app = ScimApp::start().await;
    w.ws.scim_hub("dry", &format!("http://{}{}", dry_app.addr, dry_app.base_path), "", "  mode: DryRun\n  syncInterval: 2s\n");
    w.grant("engineering", &eng, "member", "crm");
    w.grant("engineering-dry", &eng, "member", "dry");
    plant_secret(&w.ns).await;
    let operator = Operator::start(&w.ns, "rolecall", "op-ui", &["--resync", "2s"]);

    for email in ["alice@acme.io", "bob@acme.io", "carol@acme.io"] {
        wait_on(&w, "crm", email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
    wait_on(&w, "crm", "gina@acme.io", "a Guest's seat", |a| {
        table(a) == Some(UserTable::Guest) && state(a) == Some(AccountState::Onboarded)
    })
    .await;
    wait_on(&w, "crm", "shared@acme.io", "Unmatched", |a| table(a) == Some(UserTable::Unmatched)).await;
    let shared = w.account_on("crm", "shared@acme.io").await.and_then(|a| a.metadata.name).expect("shared");
    let accounts: Api<AppAccount> = Api::namespaced(client().await, &w.ns);
    accounts
        .patch(&shared, &PatchParams::default(), &Patch::Merge(json!({"spec": {"exemption": {"reason": "the <agency>'s shared login"}}})))
        .await
        .expect("exempt");
    wait_on(&w, "crm", "shared@acme.io", "Exempted", |a| table(a) == Some(UserTable::Exempted)).await;
    wait_on(&w, "crm", "stranger@elsewhere.example", "Unmatched", |a| table(a) == Some(UserTable::Unmatched)).await;
    wait_on(&w, "dry", "alice@acme.io", "a DryRun note", |a| {
        a.status.as_ref().and_then(|s| s.note.clone()).is_some_and(|n| n.contains("would"))
    })
    .await;
    wait_for(LIMIT, "crm Synced=True", || async { w.hub_condition("crm", "Synced").await.as_deref() == Some("True") }).await;
    operator.wait_read_backs(2).await;

    let ui = UiServer::start(&kubeconfig(), &["--namespace", &w.ns]).await;
    let ns = &w.ns;

    // The hubs of the namespace.
    let hubs = dump_dom(&ui.url("/"));
    let list = element(&hubs, "table", "hubs");
    assert!(list.contains("<caption>"), "{list}");
    for hub in ["crm", "dry"] {
        assert!(list.contains(&format!("data-hub=\"{hub}\"")), "hub {hub} listed: {list}");
    }
    let crm_row = list.split("data-hub=\"crm\"").nth(1).and_then(|r| r.split("</tr>").next()).expect("crm row");
    for needle in [
        "Scim",
        "Enforce",
        "data-condition=\"Ready\" data-status=\"True\"",
        "data-condition=\"Synced\" data-status=\"True\"",
        "Onboarded 3",
        "Guests 1",
        "Unmatched 1",
        "Exempted 1",
    ] {
        assert!(crm_row.contains(needle), "the crm row lacks {needle:?}: {crm_row}");
    }
    let dry_row = list.split("data-hub=\"dry\"").nth(1).and_then(|r| r.split("</tr>").next()).expect("dry row");
    assert!(dry_row.contains("DryRun") && dry_row.contains("data-condition=\"Synced\" data-status=\"False\""), "{dry_row}");
    assert!(hubs.contains("class=\"skip\" href=\"#main\""), "a skip link");
    println!(
        "ui: hub list: crm (Enforce, Ready/Synced True, Onboarded 3, Guests 1, Unmatched 1, Exempted 1) and dry (DryRun, Synced False)"
    );

    // One hub: the tabs count every table; each table holds its rows.
    let onboarded = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm")));
    let tabs = element(&onboarded, "ul", "tables");
    for (t, n) in [("Onboarded", 3), ("Unmatched", 1), ("Guest", 1), ("Exempted", 1)] {
        assert!(tabs.contains(&format!("data-table=\"{t}\" data-count=\"{n}\"")), "tab {t} counts {n}: {tabs}");
    }
    let rows = account_emails(&onboarded);
    assert_eq!(rows, ["alice@acme.io", "bob@acme.io", "carol@acme.io"], "the Onboarded table, by email");
    let table = element(&onboarded, "table", "accounts");
    assert!(table.contains("<th scope=\"col\" aria-sort=\"ascending\">"), "sorted by email, said to assistive tech: {table}");
    assert!(table.matches("data-state=\"Onboarded\"").count() == 3 && table.contains("engineering") && table.contains("member"), "{table}");
    assert!(table.contains(&format!("href=\"/ns/{ns}/users/{}\"", ids[0])), "alice links to her user page: {table}");

    for (t, email, extra) in [
        ("Unmatched", "stranger@elsewhere.example", "ExternalEnrollee"),
        ("Guest", "gina@acme.io", "Onboarded"),
        ("Exempted", "shared@acme.io", "the &lt;agency&gt;"),
    ] {
        let page = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm?table={t}")));
        assert_eq!(account_emails(&page), [email], "the {t} table");
        assert!(element(&page, "table", "accounts").contains(extra), "the {t} table shows {extra:?}");
    }
    println!(
        "ui: hub crm: Onboarded 3 rows (alice, bob, carol), Unmatched 1 (stranger), Guest 1 (gina), Exempted 1 (shared, reason escaped)"
    );

    // Search narrows, a sort reverses, paging pages.
    let search = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm?q=BOB")));
    assert_eq!(account_emails(&search), ["bob@acme.io"], "a search narrows");
    let sorted = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm?sort=-email")));
    assert_eq!(account_emails(&sorted), ["carol@acme.io", "bob@acme.io", "alice@acme.io"], "a sort by email, descending");
    assert!(element(&sorted, "table", "accounts").contains("aria-sort=\"descending\""));
    let first = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm?per_page=2")));
    assert_eq!(account_emails(&first), ["alice@acme.io", "bob@acme.io"]);
    let pages = element(&first, "nav", "pages");
    assert!(pages.contains("Page 1 of 2") && pages.contains("href=\"?table=Onboarded&amp;page=2&amp;per_page=2\" rel=\"next\""), "{pages}");
    let second = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm?per_page=2&page=2")));
    assert_eq!(account_emails(&second), ["carol@acme.io"]);
    assert!(element(&second, "nav", "pages").contains("rel=\"prev\""));
    println!("ui: search q=BOB -> 1 row; sort=-email -> carol, bob, alice; per_page=2 -> 2 pages (2 + 1 rows) with next/prev links");

    // The latest actions, and a DryRun hub's pending actions.
    assert!(element(&onboarded, "table", "actions").contains("Invite"), "the latest actions name the invitations");
    let dry = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/dry")));
    let pending = element(&dry, "ul", "pending");
    assert!(pending.contains("alice@acme.io") && pending.contains("would"), "{pending}");

    // One user: their seats and the grants behind them.
    let alice = dump_dom(&ui.url(&format!("/ns/{ns}/users/{}", ids[0])));
    let seats = element(&alice, "table", "seats");
    assert!(seats.contains("data-hub=\"crm\"") && seats.contains("data-hub=\"dry\""), "{seats}");
    assert!(seats.contains("engineering-dry") && seats.contains(">engineering<"), "the grants: {seats}");
    println!("ui: alice's page: seats on crm and dry, via engineering and engineering-dry");

    // Nothing on it writes; nothing shows a Secret.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_eq!(ui.fetch(method, &format!("/ns/{ns}/hubs/crm")).0, 405, "{method} is refused");
    }
    assert_eq!(ui.fetch("HEAD", "/").0, 200);
    for page in [&hubs, &onboarded, &dry, &alice] {
        assert!(!page.contains(PLANTED) && !page.contains("test-value"), "a Secret's value on a page");
    }

    if let Some((rss, _)) = memory_kib(ui.pid()) {
        println!("ui: rolecall ui RSS after these pages: {} MiB", rss / 1024);
    }

    // The README's pictures: made in target/ui-screenshots on every run (a run never
    // dirties the checkout); ROLECALL_UI_SCREENSHOTS=docs/images refreshes the README's.
    let shots = std::env::var("ROLECALL_UI_SCREENSHOTS").unwrap_or_else(|_| format!("{}/target/ui-screenshots", root()));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    for (page, file, height) in [("/".to_string(), "ui-hubs.png", 560), (format!("/ns/{ns}/hubs/crm"), "ui-hub.png", 880)] {
        let path = format!("{shots}/{file}");
        let _ = std::fs::remove_file(&path);
        screenshot(&ui.url(&page), &path, 1280, height);
    }

    // Held removals, and the exact command the page gives to approve them: run as shown, it releases them.
    let (ok, out) = kubectl_output(&["delete", "accessgrant", "engineering", "-n", ns]);
    assert!(ok, "{out}");
    wait_for(LIMIT, "crm RemovalsHeld=True", || async { w.hub_condition("crm", "RemovalsHeld").await.as_deref() == Some("True") }).await;
    for email in ["alice@acme.io", "bob@acme.io", "carol@acme.io", "gina@acme.io"] {
        wait_on(&w, "crm", email, "a held removal", |a| {
            a.status.as_ref().and_then(|s| s.note.as_deref()).is_some_and(|n| n.starts_with("removal held"))
        })
        .await;
    }
    let held_page = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/crm")));
    let held = element(&held_page, "ul", "held");
    for email in ["alice@acme.io", "bob@acme.io", "carol@acme.io", "gina@acme.io"] {
        assert!(held.contains(email), "{email} is listed as held: {held}");
    }
    let pre = element(&held_page, "pre", "approve-command");
    let command = pre.split_once('>').map(|(_, rest)| rest.trim_end_matches("</pre>")).expect("the command's text");
    assert!(
        command.starts_with(&format!("kubectl annotate businesshub crm -n {ns} rolecall.dev/approve-removals=")),
        "the approval command: {command}"
    );
    println!("ui: held removals: 4 listed; the page's command: {command}");
    let out = std::process::Command::new("sh")
        .args(["-c", &command.replacen("kubectl", &format!("{}/testenv/bin/kubectl", root()), 1)])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("sh runs");
    assert!(out.status.success(), "the page's command failed: {}", String::from_utf8_lossy(&out.stderr));
    for email in ["alice@acme.io", "bob@acme.io", "carol@acme.io", "gina@acme.io"] {
        wait_on(&w, "crm", email, "removed once approved", |a| !active(a)).await;
    }
    println!("ui: the page's approval command, run as shown, released the 4 held removals");
}

/// A ServiceAccount allowed to read rolecall's kinds, Users and Events in `ns` only, no Secret; its kubeconfig.
fn namespace_reader_kubeconfig(ns: &str) -> String {
    reader_kubeconfig(ns, &["*"])
}

/// A ServiceAccount allowed to read `resources` of rolecall.dev and Events in `ns` only, no Secret; its kubeconfig.
pub fn reader_kubeconfig(ns: &str, resources: &[&str]) -> String {
    let resources = resources.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ");
    let (ok, out) = kubectl_apply(&format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: viewer, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: rolecall-viewer, namespace: {ns}}}
rules:
- apiGroups: [rolecall.dev]
  resources: [{resources}]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: rolecall-viewer, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: rolecall-viewer}}
subjects: [{{kind: ServiceAccount, name: viewer, namespace: {ns}}}]
"#
    ));
    assert!(ok, "{out}");
    // A token from the TokenRequest API, as `kubectl create token` asks for one.
    let (ok, token) = kubectl_output(&["create", "token", "viewer", "-n", ns, "--duration", "1h"]);
    assert!(ok, "{token}");
    let (ok, admin) = kubectl_output(&["config", "view", "--raw", "--minify", "--flatten"]);
    assert!(ok, "{admin}");
    let path = format!("{}/viewer-{ns}.kubeconfig", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into()));
    std::fs::write(&path, admin).expect("write kubeconfig");
    let as_viewer = |args: &[&str]| {
        let out = std::process::Command::new(format!("{}/testenv/bin/kubectl", root()))
            .args(args)
            .env("KUBECONFIG", &path)
            .output()
            .expect("kubectl runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    as_viewer(&["config", "set-credentials", "viewer", &format!("--token={}", token.trim())]);
    as_viewer(&["config", "set-context", "--current", "--user=viewer", &format!("--namespace={ns}")]);
    let (ok, can) = kubectl_output(&["auth", "can-i", "list", "secrets", "-n", ns, &format!("--as=system:serviceaccount:{ns}:viewer")]);
    assert!(!ok && can.trim() == "no", "the viewer may not read Secrets: {can}");
    path
}

pub fn hub_yaml(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: BusinessHub\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  connector: {{type: Scim, url: \"http://127.0.0.1:9/scim/v2\", credentialsSecretRef: {{name: app-credentials}}}}\n  roles: [{{name: member, weight: 1}}]\n---\napiVersion: rolecall.dev/v1alpha1\nkind: AppAccount\nmetadata: {{name: {name}-one, namespace: {ns}, labels: {{rolecall.dev/hub: {name}}}}}\nspec: {{hub: {name}, email: one@{name}.example}}\n"
    )
}

#[tokio::test]
async fn a_reader_of_one_namespace_sees_only_its_hubs_and_no_secret() {
    let c = client().await;
    let mine = namespace(&c, "ui-rbac-mine").await;
    let other = namespace(&c, "ui-rbac-other").await;
    for (ns, hub) in [(&mine, "mine-hub"), (&other, "other-hub")] {
        let (ok, out) = kubectl_apply(&hub_yaml(ns, hub));
        assert!(ok, "{out}");
        plant_secret(ns).await;
    }
    let viewer = namespace_reader_kubeconfig(&mine);
    // No --namespace: the kubeconfig context's namespace is the home one.
    let ui = UiServer::start(&viewer, &[]).await;

    let home = dump_dom(&ui.url("/"));
    let hubs = element(&home, "table", "hubs");
    assert!(hubs.contains("data-hub=\"mine-hub\"") && !home.contains("other-hub"), "only the readable namespace's hubs: {hubs}");
    let picker = element(&home, "select", "ns-picker");
    assert!(picker.contains(&format!("value=\"{mine}\"")) && !picker.contains(&other), "the picker offers only {mine}: {picker}");

    let (status, body) = ui.fetch("GET", &format!("/ns/{other}"));
    assert_eq!(status, 403, "another namespace is refused by RBAC, not a 500: {body}");
    let refused = dump_dom(&ui.url(&format!("/ns/{other}")));
    let alert = element(&refused, "p", "error");
    assert!(alert.contains("RBAC") && alert.contains("forbidden"), "a page that says why: {alert}");
    let (status, _) = ui.fetch("GET", &format!("/ns/{other}/hubs/other-hub"));
    assert_eq!(status, 403);

    // Its own hub works without any right on Secrets, and shows none.
    let hub = dump_dom(&ui.url(&format!("/ns/{mine}/hubs/mine-hub?table=Unmatched")));
    assert_eq!(account_emails(&hub), ["one@mine-hub.example"]);
    for page in [&home, &hub, &refused] {
        assert!(!page.contains(PLANTED), "a Secret's value on a page");
    }
    println!("ui: RBAC: a reader of {mine} sees mine-hub only; /ns/{other} answers 403 with a page naming RBAC; no Secret right needed");
}
