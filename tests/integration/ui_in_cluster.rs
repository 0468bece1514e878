//! `rolecall ui --in-cluster`, the chart's `ui.enabled`, on the real API
//! server: the UI runs as the chart's own ServiceAccount (its RBAC rendered
//! with `helm template` and applied, its token minted by the TokenRequest API),
//! and viewers come with their own tokens. No token or a bad one is a 401 (a
//! browser gets the login form); a reader of one namespace sees only it, even
//! after an admin's visit filled the shared AppAccount cache with another; an
//! admin sees everything; no page shows a Secret; nothing but the login form
//! takes anything but GET; the UI's own account may write nothing.

use std::process::Command;

use crate::browser::{UiServer, account_emails, dump_dom, element};
use crate::harness::{client, kubeconfig, kubectl_apply, kubectl_output, namespace};
use crate::ui::{PLANTED, hub_yaml, plant_secret};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The release the UI's RBAC is rendered for; its objects are `uitest-rolecall-ui`.
const RELEASE: &str = "uitest";
const UI_ACCOUNT: &str = "uitest-rolecall-ui";

/// The chart's objects of `rolecall ui` (component ui) but its Deployment and
/// Service (no kubelet runs Pods here): the ServiceAccount and its RBAC.
fn ui_identity_yaml(system: &str) -> String {
    let out = Command::new(format!("{ROOT}/testenv/bin/helm"))
        .args(["template", RELEASE, &format!("{ROOT}/charts/rolecall"), "--namespace", system])
        .args(["--set", "ui.enabled=true", "--set", "rbac.clusterWide=true", "--set", "crds.install=false"])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("helm runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "helm template: {}", String::from_utf8_lossy(&out.stderr));
    let docs: Vec<String> = text
        .split("\n---")
        .filter(|doc| {
            let Ok(v) = serde_yaml::from_str::<serde_yaml::Value>(doc) else { return false };
            let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            let component = v.get("metadata").and_then(|m| m.get("labels")).and_then(|l| l.get("app.kubernetes.io/component"));
            component.and_then(|c| c.as_str()) == Some("ui") && !matches!(kind, "Deployment" | "Service")
        })
        .map(|d| d.trim_start_matches('\n').to_string())
        .collect();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d.lines().find_map(|l| l.strip_prefix("kind: "))).collect();
    assert_eq!(kinds, ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"], "the UI's identity in the rendered chart");
    docs.join("\n---\n")
}

/// A kubeconfig for `token` against the test API server (its CA, no other credentials).
fn token_kubeconfig(name: &str, token: &str, ns: &str) -> String {
    let (ok, admin) = kubectl_output(&["config", "view", "--raw", "--minify", "--flatten"]);
    assert!(ok, "{admin}");
    let path = format!("{}/{name}.kubeconfig", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into()));
    std::fs::write(&path, admin).expect("write kubeconfig");
    for args in [
        vec!["config", "set-credentials", name, &format!("--token={token}")],
        vec!["config", "set-context", "--current", &format!("--user={name}"), &format!("--namespace={ns}")],
    ] {
        let out = Command::new(format!("{ROOT}/testenv/bin/kubectl")).args(&args).env("KUBECONFIG", &path).output().expect("kubectl runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    path
}

fn minted_token(account: &str, ns: &str) -> String {
    let (ok, token) = kubectl_output(&["create", "token", account, "-n", ns, "--duration", "1h"]);
    assert!(ok, "{token}");
    token.trim().to_string()
}

/// A ServiceAccount of `ns` that may read rolecall's kinds and Events there, nothing else; its token.
fn one_namespace_reader(ns: &str) -> String {
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
  resources: ["*"]
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
    minted_token("viewer", ns)
}

/// The UI's own account may read AppAccounts and nothing else: `kubectl auth can-i --as`.
fn can_i_as_the_ui(system: &str, served: &str) {
    let who = format!("system:serviceaccount:{system}:{UI_ACCOUNT}");
    // (verb, resource, subresource, namespace, expected)
    let rows: [(&str, &str, &str, &str, bool); 22] = [
        ("list", "appaccounts.rolecall.dev", "", served, true),
        ("watch", "appaccounts.rolecall.dev", "", served, true),
        ("get", "appaccounts.rolecall.dev", "", served, true),
        ("create", "appaccounts.rolecall.dev", "", served, false),
        ("update", "appaccounts.rolecall.dev", "", served, false),
        ("patch", "appaccounts.rolecall.dev", "", served, false),
        ("delete", "appaccounts.rolecall.dev", "", served, false),
        ("patch", "appaccounts.rolecall.dev", "status", served, false),
        ("create", "businesshubs.rolecall.dev", "", served, false),
        ("patch", "businesshubs.rolecall.dev", "", served, false),
        ("delete", "accessgrants.rolecall.dev", "", served, false),
        ("update", "users.rolecall.dev", "", served, false),
        ("create", "teams.rolecall.dev", "", served, false),
        ("patch", "idpbindings.rolecall.dev", "status", served, false),
        ("get", "secrets", "", served, false),
        ("list", "secrets", "", served, false),
        ("impersonate", "users", "", "", false),
        ("impersonate", "groups", "", "", false),
        ("impersonate", "serviceaccounts", "", served, false),
        ("create", "tokenreviews.authentication.k8s.io", "", "", false),
        ("create", "events.events.k8s.io", "", served, false),
        ("create", "pods", "", system, false),
    ];
    let mut wrong = Vec::new();
    for (verb, resource, sub, ns, expected) in rows {
        let allowed = crate::harness::can_i(&who, verb, resource, sub, ns);
        let shown = if sub.is_empty() { resource.to_string() } else { format!("{resource} ({sub})") };
        println!(
            "ui can-i {verb:<11} {shown:<45} {:<12} {}",
            if ns.is_empty() { "(cluster)" } else { ns },
            if allowed { "yes" } else { "no" }
        );
        if allowed != expected {
            wrong.push(format!("{verb} {shown} in {ns}: {allowed}, expected {expected}"));
        }
    }
    let allowed = rows.iter().filter(|r| r.4).count();
    println!(
        "ui can-i: {} checks as {who}, {allowed} allowed (read AppAccounts), {} refused, {} unexpected",
        rows.len(),
        rows.len() - allowed,
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The value of the `Set-Cookie` header of a response's head.
fn set_cookie(head: &str) -> Option<String> {
    head.lines().find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.trim().to_string()))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn in_the_cluster_each_viewer_signs_in_with_their_token_and_sees_what_rbac_allows() {
    let c = client().await;
    let system = namespace(&c, "ui-system").await;
    let mine = namespace(&c, "ui-token-mine").await;
    let other = namespace(&c, "ui-token-other").await;
    for (ns, hub) in [(&mine, "mine-hub"), (&other, "other-hub")] {
        let (ok, out) = kubectl_apply(&hub_yaml(ns, hub));
        assert!(ok, "{out}");
        plant_secret(ns).await;
    }
    let (ok, out) = kubectl_apply(&ui_identity_yaml(&system));
    assert!(ok, "the chart's UI RBAC applies: {out}");
    can_i_as_the_ui(&system, &mine);

    let ui_kubeconfig = token_kubeconfig("rolecall-ui", &minted_token(UI_ACCOUNT, &system), &system);
    let ui = UiServer::start_in_cluster(&ui_kubeconfig, &["--namespace", &mine]).await;
    let viewer = one_namespace_reader(&mine);
    let (ok, admin) = kubectl_output(&["config", "view", "--raw", "--minify", "-o", "jsonpath={.users[0].user.token}"]);
    assert!(ok && !admin.trim().is_empty(), "the admin's token: {admin}");
    let admin = admin.trim().to_string();
    let bearer = |token: &str| format!("Bearer {token}");
    let mut bodies = Vec::new();

    // No token: 401; a browser gets the login form, which comes back to the page asked for.
    let html = [("Accept", "text/html")];
    let none = ui.fetch_with("GET", &format!("/ns/{mine}/hubs/mine-hub"), &html, None);
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(header(&none.head, "www-authenticate"), Some("Bearer realm=\"rolecall ui\""));
    let form = element(&none.body, "form", "login");
    assert!(form.contains("name=\"token\"") && form.contains(&format!("value=\"&#x2f;ns&#x2f;{mine}&#x2f;hubs&#x2f;mine-hub\"")), "{form}");
    let (status, text) = ui.fetch("GET", "/");
    assert!(status == 401 && text.contains("bearer token"), "a script gets a line: {status} {text}");
    let shown = dump_dom(&ui.url("/"));
    assert!(element(&shown, "form", "login").contains("type=\"password\""), "Chromium shows the login form");
    assert!(!shown.contains("mine-hub"), "{shown}");
    println!("ui in-cluster: no token -> 401 (WWW-Authenticate: Bearer), the login form in Chromium, a line of text for a script");

    // A bad token, in the header or the cookie: 401, and the cookie is cleared.
    let bad = ui.fetch_with("GET", "/", &[("Authorization", "Bearer not-a-token")], None);
    assert_eq!(bad.status, 401, "{}", bad.body);
    let bad_cookie = ui.fetch_with("GET", "/", &[("Accept", "text/html"), ("Cookie", "rolecall_ui_token=bm90LWEtdG9rZW4")], None);
    assert_eq!(bad_cookie.status, 401);
    assert!(bad_cookie.body.contains("did not accept"), "{}", bad_cookie.body);
    assert!(set_cookie(&bad_cookie.head).is_some_and(|c| c.contains("Max-Age=0")), "{}", bad_cookie.head);
    let refused =
        ui.fetch_with("POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], Some("token=not-a-token&next=%2F"));
    assert_eq!(refused.status, 401);
    assert!(set_cookie(&refused.head).is_none(), "no cookie for a refused token");
    println!("ui in-cluster: a bad token -> 401 (header, cookie and login form alike)");

    // The admin first: every namespace; this fills the shared AppAccount cache of both.
    let as_admin = [("Authorization", bearer(&admin))];
    let as_admin: Vec<(&str, &str)> = as_admin.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let home = ui.fetch_with("GET", "/", &as_admin, None);
    assert_eq!(home.status, 200, "{}", home.body);
    let picker = element(&home.body, "select", "ns-picker");
    assert!(picker.contains(&format!("value=\"{mine}\"")) && picker.contains(&format!("value=\"{other}\"")), "{picker}");
    assert!(element(&home.body, "form", "signed-in").contains("admin"), "the header names the user");
    let theirs = ui.fetch_with("GET", &format!("/ns/{other}/hubs/other-hub?table=Unmatched"), &as_admin, None);
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert_eq!(account_emails(&theirs.body), ["one@other-hub.example"]);
    let ours = ui.fetch_with("GET", &format!("/ns/{mine}/hubs/mine-hub?table=Unmatched"), &as_admin, None);
    assert_eq!(account_emails(&ours.body), ["one@mine-hub.example"]);
    // What a token costs a page: the review and the viewer's one-item LIST come before the page's own reads.
    let mut took = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        assert_eq!(ui.fetch_with("GET", &format!("/ns/{mine}/hubs/mine-hub"), &as_admin, None).status, 200);
        took.push(started.elapsed().as_millis());
    }
    took.sort_unstable();
    println!("ui in-cluster: a cached hub page with a token, 5 requests: median {} ms (min {}, max {})", took[2], took[0], took[4]);
    bodies.extend([home.body, theirs.body, ours.body]);
    println!("ui in-cluster: the admin's token -> both namespaces in the picker, other-hub's and mine-hub's tables");

    // The one-namespace reader signs in with the form: an HttpOnly, SameSite=Strict cookie, back where they were.
    let form = format!("token={}&next={}", form_encode(&viewer), form_encode(&format!("/ns/{mine}")));
    let signed = ui.fetch_with("POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], Some(&form));
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(header(&signed.head, "location"), Some(format!("/ns/{mine}").as_str()));
    let cookie = set_cookie(&signed.head).expect("a cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP without X-Forwarded-Proto: {cookie}");
    let behind_tls = ui.fetch_with(
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-Proto", "https")],
        Some(&form),
    );
    assert!(set_cookie(&behind_tls.head).is_some_and(|c| c.contains("; Secure")), "{}", behind_tls.head);
    let forged = ui.fetch_with(
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://evil.example")],
        Some(&form),
    );
    assert_eq!(forged.status, 403, "a sign-in posted from another site");
    let jar = cookie.split(';').next().expect("name=value").to_string();
    let as_viewer = [("Cookie", jar.as_str()), ("Accept", "text/html")];

    let home = ui.fetch_with("GET", &format!("/ns/{mine}"), &as_viewer, None);
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(element(&home.body, "table", "hubs").contains("data-hub=\"mine-hub\"") && !home.body.contains("other-hub"), "{}", home.body);
    assert!(element(&home.body, "form", "signed-in").contains(&format!("system:serviceaccount:{mine}:viewer")));
    let picker = element(&home.body, "select", "ns-picker");
    assert!(!picker.contains(&other), "the picker offers only {mine}: {picker}");
    let hub = ui.fetch_with("GET", &format!("/ns/{mine}/hubs/mine-hub?table=Unmatched"), &as_viewer, None);
    assert_eq!(account_emails(&hub.body), ["one@mine-hub.example"]);
    // The other namespace is refused by RBAC, though the shared cache holds its accounts since the admin's visit.
    for page in [format!("/ns/{other}"), format!("/ns/{other}/hubs/other-hub"), format!("/ns/{other}/users/anyone")] {
        let r = ui.fetch_with("GET", &page, &as_viewer, None);
        assert_eq!(r.status, 403, "{page}: {}", r.body);
        assert!(!r.body.contains("one@other-hub.example"), "{page} leaked the cache: {}", r.body);
        bodies.push(r.body);
    }
    // The same with the header instead of the cookie.
    let header_viewer = [("Authorization", bearer(&viewer))];
    let header_viewer: Vec<(&str, &str)> = header_viewer.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ui.fetch_with("GET", &format!("/ns/{other}/hubs/other-hub"), &header_viewer, None).status, 403);
    assert_eq!(ui.fetch_with("GET", &format!("/ns/{mine}/hubs/mine-hub"), &header_viewer, None).status, 200);
    bodies.extend([home.body, hub.body]);
    println!(
        "ui in-cluster: a reader of {mine} (cookie from the login form: HttpOnly, SameSite=Strict; Secure behind X-Forwarded-Proto: https) sees mine-hub only; {other}'s pages answer 403 although the shared cache holds them"
    );

    // Nothing writes: every other method is a 405, token or not; only the login form's POSTs pass.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in ["/".to_string(), format!("/ns/{mine}/hubs/mine-hub")] {
            assert_eq!(ui.fetch_with(method, &path, &as_admin, None).status, 405, "{method} {path}");
            assert_eq!(ui.fetch(method, &path).0, 405, "{method} {path} without a token");
        }
    }
    assert_eq!(ui.fetch_with("PUT", "/login", &as_admin, None).status, 405);
    let out = ui.fetch_with("POST", "/logout", &as_viewer, None);
    assert!(out.status == 303 && set_cookie(&out.head).is_some_and(|c| c.contains("Max-Age=0")), "{}", out.head);
    println!("ui in-cluster: POST/PUT/PATCH/DELETE -> 405 with or without a token; POST /logout clears the cookie");

    for body in &bodies {
        assert!(!body.contains(PLANTED), "a Secret's value on a page");
    }
    println!("ui in-cluster: {} pages read, no Secret value on any", bodies.len());
}
