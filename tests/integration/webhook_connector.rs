//! The webhook connector protocol with real processes: the Python reference
//! connector (examples/webhook-connector/) passes `rolecall connector test`,
//! each deliberately broken variant fails the check it breaks, the Rust
//! connector pages, maps faults and is paced against it, and a webhook hub in
//! Enforce runs a team's lifecycle through it on the real API server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rolecall::api::app_account::{AccountState, OperationKind};
use rolecall::api::business_hub::{WebhookCapabilities, WebhookConnectorSettings};
use rolecall::connector::webhook::WebhookConnector;
use rolecall::connector::{Access, Connector, ConnectorError, NewAccount, OperationId, Pacer};
use serde_json::Value;

use crate::harness::{Operator, rolecall_bin, wait_for};
use crate::webhook_app::{SECRET, WebhookApp};
use crate::world::{Workspace, external_id, roles, state, workspace};

const LIMIT: Duration = Duration::from_secs(90);

/// `rolecall connector test URL --secret SECRET`: (success, stdout lines).
fn conformance(url: &str, secret: &str) -> (bool, Vec<String>) {
    let out = std::process::Command::new(rolecall_bin())
        .args(["connector", "test", url, "--secret", secret])
        .output()
        .expect("rolecall connector test runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    println!("rolecall connector test {url}:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.success(), stdout.lines().map(str::to_string).collect())
}

/// The counts of the last line, `N passed, M failed`.
fn counts(lines: &[String]) -> (usize, usize) {
    let last = lines.last().expect("a last line");
    let words: Vec<&str> = last.split_whitespace().collect();
    match words.as_slice() {
        [passed, "passed,", failed, "failed"] => (passed.parse().expect("N"), failed.parse().expect("M")),
        _ => panic!("the last line is not `N passed, M failed`: {last:?}"),
    }
}

#[tokio::test]
async fn the_reference_connector_passes_the_conformance_check() {
    let app = WebhookApp::start(&[]);
    let (ok, lines) = conformance(&app.url, SECRET);
    assert!(ok, "exit status");
    assert_eq!(counts(&lines), (15, 0));
    assert!(lines[..lines.len() - 1].iter().all(|l| l.starts_with("ok ")), "one ok line per check: {lines:?}");
    // It cleaned up: nothing it made holds a seat.
    let left: Vec<Value> = app.accounts().await.into_iter().filter(|a| a["status"] != "deactivated").collect();
    assert!(left.is_empty(), "accounts left with a seat: {left:?}");
    // A wrong secret fails it from the signature on.
    let (ok, lines) = conformance(&app.url, "not-the-secret");
    assert!(!ok);
    assert!(lines.iter().any(|l| l.starts_with("FAIL capabilities: GET /v1/capabilities answered 401")), "{lines:?}");
}

#[tokio::test]
async fn each_broken_connector_fails_the_check_it_breaks() {
    let cases: [(&str, &[&str]); 3] = [
        ("idempotency", &["FAIL add retried with the same operation id: the retry answered account"]),
        (
            "signature",
            &["FAIL wrong signature refused: GET /v1/accounts answered 200", "FAIL stale timestamp refused: GET /v1/accounts answered 200"],
        ),
        ("paging", &["FAIL list pages: account "]),
    ];
    for (broken, expected) in cases {
        let app = WebhookApp::start(&["--broken", broken]);
        let (ok, lines) = conformance(&app.url, SECRET);
        assert!(!ok, "{broken}: exit status");
        let (passed, failed) = counts(&lines);
        assert_eq!(passed + failed, 15, "{broken}");
        for line in expected {
            assert!(lines.iter().any(|l| l.starts_with(line)), "{broken}: no line starting {line:?} in {lines:?}");
        }
        assert_eq!(failed, lines.iter().filter(|l| l.starts_with("FAIL ")).count(), "{broken}");
        println!("--broken {broken}: {passed} passed, {failed} failed");
    }
}

fn op(email: &str, kind: OperationKind) -> OperationId {
    OperationId::of("hub-uid", email, kind, &format!("{:?}", Instant::now()))
}

fn connector(app: &WebhookApp, page_size: i32, pacer: Arc<Pacer>) -> WebhookConnector {
    let settings = WebhookConnectorSettings { page_size: Some(page_size), capabilities: WebhookCapabilities::default() };
    WebhookConnector::new(&app.url, SECRET.into(), Some(&settings), pacer, Duration::from_secs(10)).expect("connector")
}

fn new_account(email: &str, role: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        display_name: Some("Someone".into()),
        given_name: None,
        family_name: None,
        access: Access { roles: [role.to_string()].into(), assets: [("web".to_string(), "viewer".to_string())].into() },
    }
}

#[tokio::test]
async fn the_webhook_connector_adds_pages_updates_and_removes_idempotently() {
    let app = WebhookApp::start(&[]);
    let hook = connector(&app, 2, Arc::new(Pacer::new("test/webhook")));
    let add = op("ann@acme.io", OperationKind::Invite);
    let ann = hook.add_account(&new_account("ann@acme.io", "member"), &add).await.expect("add");
    assert!(ann.invite_pending && !ann.active, "an add is an invitation: {ann:?}");
    let again = hook.add_account(&new_account("ann@acme.io", "member"), &add).await.expect("the retried add");
    assert_eq!(again.id, ann.id, "the same operation id answers the same account");
    let other = hook.add_account(&new_account("ann@acme.io", "member"), &op("ann@acme.io", OperationKind::Invite)).await;
    assert!(matches!(other, Err(ConnectorError::AlreadyExists(_))), "{other:?}");
    for i in 0..4 {
        let email = format!("user{i}@acme.io");
        hook.add_account(&new_account(&email, "member"), &op(&email, OperationKind::Invite)).await.expect("add");
    }
    let listed = hook.list_accounts().await.expect("list");
    assert_eq!(listed.len(), 5, "five accounts over three pages of 2");
    let pages = app.requests().await.iter().filter(|r| r["method"] == "GET" && r["path"] == "/v1/accounts").count();
    assert_eq!(pages, 3);
    assert_eq!(hook.find_account("ANN@acme.io").await.expect("find").map(|a| a.id), Some(ann.id.clone()));
    assert_eq!(hook.find_account("nobody@acme.io").await.expect("find"), None);

    app.accept("ann@acme.io").await;
    let admin = Access { roles: ["admin".to_string()].into(), assets: Default::default() };
    let update = op("ann@acme.io", OperationKind::UpdateAccess);
    hook.update_access(&ann.id, &admin, &update).await.expect("update");
    hook.update_access(&ann.id, &admin, &update).await.expect("the retried update");
    let now = hook.find_account("ann@acme.io").await.expect("find").expect("ann");
    assert_eq!((now.active, now.access.clone()), (true, admin.clone()));
    assert!(now.last_active.is_some(), "accepted: the app reports a last activity");
    let remove = op("ann@acme.io", OperationKind::Remove);
    hook.remove_account(&ann.id, &remove).await.expect("remove");
    hook.remove_account(&ann.id, &remove).await.expect("the retried removal");
    assert!(!hook.find_account("ann@acme.io").await.expect("find").expect("deactivated").active);
    let unknown = hook.update_access("no-such-id", &admin, &op("x@acme.io", OperationKind::UpdateAccess)).await;
    assert!(matches!(unknown, Err(ConnectorError::NotFound(_))), "{unknown:?}");
    assert_eq!(app.accounts_of("ann@acme.io").await.len(), 1, "one row for ann after every retry");
    let operations: Vec<Value> = app.requests().await.into_iter().filter(|r| r["method"] != "GET").collect();
    println!("the writes the app answered:");
    for r in &operations {
        println!("  {} {} -> {} ({})", r["method"], r["path"], r["status"], r["operation_id"]);
    }
}

#[tokio::test]
async fn faults_are_retried_or_reported_and_a_rate_limit_holds_the_next_call() {
    let app = WebhookApp::start(&[]);
    let pacer = Arc::new(Pacer::new("test/faults"));
    let hook = connector(&app, 100, pacer.clone());
    hook.list_accounts().await.expect("a first read-back");

    // Rate limited with a time: the error says the time, and nothing is sent before it.
    app.fault("GET /v1/accounts", 1, serde_json::json!({"kind": "rate_limited", "retry_after": 2})).await;
    let limited = hook.list_accounts().await;
    let at = Instant::now();
    assert_eq!(limited, Err(ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(2)) }));
    let before = app.requests().await.len();
    // A new connector (the next sync) shares the hub's pacer: its first call waits out the hold.
    let next = connector(&app, 100, pacer.clone());
    next.list_accounts().await.expect("after the retry time");
    assert!(at.elapsed() >= Duration::from_millis(1900), "sent {:?} after a 2 s rate limit", at.elapsed());
    assert_eq!(app.requests().await.len(), before + 2, "capabilities and one page, both after the hold");

    // A 5xx and a body that is not JSON are transient: the hub backs off and the call can be retried.
    app.fault("GET /v1/accounts", 1, serde_json::json!({"kind": "server_error"})).await;
    let failed = hook.list_accounts().await;
    assert!(matches!(&failed, Err(ConnectorError::BackingOff { .. })) && failed.as_ref().is_err_and(|e| e.is_retryable()), "{failed:?}");
    app.fault("GET /v1/accounts", 1, serde_json::json!({"kind": "malformed"})).await;
    let malformed = hook.list_accounts().await;
    assert!(matches!(&malformed, Err(ConnectorError::BackingOff { last, .. }) if last.contains("not JSON")), "{malformed:?}");

    // A refusal is permanent: an unknown role is not retried.
    let bad = NewAccount {
        access: Access { roles: ["owner".to_string()].into(), assets: Default::default() },
        ..new_account("bob@acme.io", "member")
    };
    let refused = hook.add_account(&bad, &op("bob@acme.io", OperationKind::Invite)).await;
    assert!(matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("unknown role")), "{refused:?}");
    assert!(!refused.as_ref().is_err_and(|e| e.is_retryable()));
}

/// A webhook hub in Enforce on `app`: roles member and admin, the asset `web`, short interval and grace.
fn webhook_hub(w: &Workspace, name: &str, app: &WebhookApp) {
    webhook_hub_with(w, name, app, "");
}

/// A webhook hub as `webhook_hub` makes it, with `extra` spec lines.
fn webhook_hub_with(w: &Workspace, name: &str, app: &WebhookApp, extra: &str) {
    let (ok, out) = crate::harness::kubectl_apply(&format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: {name}, namespace: {ns}}}
spec:
  connector: {{type: Webhook, url: "{url}", credentialsSecretRef: {{name: app-credentials}}, webhook: {{pageSize: 2}}}}
  mode: Enforce
  syncInterval: 2s
  roles:
  - {{name: member, weight: 1}}
  - {{name: lead, weight: 5}}
  - {{name: admin, weight: 10, admin: true}}
  assets:
  - {{name: web, kind: project, roles: [viewer, editor]}}
  safety: {{maxRemovalsPerWindow: 5, removalWindow: 1h, removalGracePeriod: 2s}}
{extra}"#,
        ns = w.ns,
        url = app.url,
    ));
    assert!(ok, "{out}");
}

fn grant(w: &Workspace, name: &str, team: &str, role: &str, hub: &str) {
    let (ok, out) = crate::harness::kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: AccessGrant\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{subject: {{team: {team}}}, hub: {hub}, appRoles: [{role}], assets: [{{name: web, role: editor}}]}}\n",
        ns = w.ns
    ));
    assert!(ok, "{out}");
}

async fn wait_account(w: &Workspace, hub: &str, email: &str, what: &str, check: impl Fn(&rolecall::api::AppAccount) -> bool) {
    wait_for(LIMIT, &format!("{hub}/{email}: {what}"), || async { w.account_on(hub, email).await.is_some_and(|a| check(&a)) }).await;
}

/// The app's requests of `method` on `path` (exact).
async fn calls(app: &WebhookApp, method: &str, path: &str) -> Vec<Value> {
    app.requests().await.into_iter().filter(|r| r["method"] == method && r["path"] == path).collect()
}

#[tokio::test]
async fn a_webhook_hub_runs_a_teams_lifecycle_through_the_reference_connector() {
    let w = workspace("webhook-hub", "").await;
    // No admin role is granted: the app's last admin is never removed, and this test removes.
    let app = WebhookApp::start(&["--roles", "member,lead,admin"]);
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    let leads = w.idp_group("Leads", &[]).await;
    webhook_hub(&w, "hook", &app);
    grant(&w, "eng", &eng, "member", "hook");
    grant(&w, "leads", &leads, "lead", "hook");
    let _operator = Operator::start(&w.ns, "rolecall", "op-webhook", &["--resync", "2s"]);

    // Granted: invited in the app with the role and the asset.
    wait_account(&w, "hook", "alice@acme.io", "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
    let rows = app.accounts_of("alice@acme.io").await;
    println!("the app's row for alice after the grant: {rows:?}");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["status"].as_str(), rows[0]["roles"].clone()), (Some("invited"), serde_json::json!(["member"])));
    assert_eq!(rows[0]["assets"], serde_json::json!({"web": "editor"}));

    // She accepts in the app: Onboarded on the next read-back.
    assert_eq!(app.accept("alice@acme.io").await, 1);
    wait_account(&w, "hook", "alice@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;

    // She becomes a lead: one update.
    let id = external_id(&w.account_on("hook", "alice@acme.io").await.expect("alice"));
    let path = format!("/v1/accounts/{id}");
    w.idp_members(&leads, "add", &alice).await;
    wait_account(&w, "hook", "alice@acme.io", "lead", |a| roles(a) == ["lead"]).await;
    let reads = calls(&app, "GET", "/v1/accounts").await.len();
    wait_for(LIMIT, "two more read-backs", || async { calls(&app, "GET", "/v1/accounts").await.len() >= reads + 2 }).await;
    let updates = calls(&app, "PUT", &path).await;
    println!("updates of alice: {updates:?}");
    assert_eq!(updates.len(), 1, "a role change is one update");
    assert_eq!(app.accounts_of("alice@acme.io").await[0]["roles"], serde_json::json!(["lead"]));

    // She leaves both teams (Engineering first: with Leads left she keeps the lead role, no update):
    // the account is removed (deactivated, as the app does with an active one).
    w.idp_members(&eng, "remove", &alice).await;
    w.idp_members(&leads, "remove", &alice).await;
    wait_for(LIMIT, "alice deactivated in the app", || async {
        app.accounts_of("alice@acme.io").await.first().is_some_and(|r| r["status"] == "deactivated")
    })
    .await;
    wait_account(&w, "hook", "alice@acme.io", "Removed", |a| state(a) == Some(AccountState::Removed)).await;
    let removals = calls(&app, "DELETE", &path).await;
    println!("removals of alice: {removals:?}");
    assert_eq!(removals.len(), 1);
    assert_eq!(calls(&app, "POST", "/v1/accounts").await.len(), 1, "one add in the whole lifecycle");
    assert_eq!(calls(&app, "PUT", &path).await.len(), 1, "no update besides the role change");
}

#[tokio::test]
async fn an_operator_killed_mid_add_does_not_add_twice() {
    let w = workspace("webhook-kill", "").await;
    let app = WebhookApp::start(&[]);
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    webhook_hub(&w, "hook", &app);
    grant(&w, "eng", &eng, "member", "hook");
    // The app makes the account, then answers 20 s late: the operator dies waiting.
    app.fault("POST /v1/accounts", 1, serde_json::json!({"kind": "delay", "seconds": 20})).await;
    let mut first = Operator::start(&w.ns, "rolecall", "op-kill-1", &["--resync", "2s"]);
    wait_for(LIMIT, "the add to reach the app", || async { !app.accounts_of("alice@acme.io").await.is_empty() }).await;
    first.kill();
    drop(first);
    let _second = Operator::start(&w.ns, "rolecall", "op-kill-2", &["--resync", "2s"]);
    wait_account(&w, "hook", "alice@acme.io", "InviteSent after the restart", |a| state(a) == Some(AccountState::InviteSent)).await;
    let reads = calls(&app, "GET", "/v1/accounts").await.len();
    wait_for(LIMIT, "two more read-backs", || async { calls(&app, "GET", "/v1/accounts").await.len() >= reads + 2 }).await;
    let posts = calls(&app, "POST", "/v1/accounts").await;
    println!("adds the app received: {posts:?}");
    assert_eq!(app.accounts_of("alice@acme.io").await.len(), 1, "one account for alice");
    let ids: std::collections::BTreeSet<&str> = posts.iter().filter_map(|p| p["operation_id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "every add sent carries the same operation id: {posts:?}");
}

#[tokio::test]
async fn a_connector_offering_less_than_the_hub_declares_is_reported_not_synced() {
    let w = workspace("webhook-caps", "").await;
    let app = WebhookApp::start(&["--without", "assets"]);
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    webhook_hub(&w, "hook", &app);
    grant(&w, "eng", &eng, "member", "hook");
    let _operator = Operator::start(&w.ns, "rolecall", "op-caps", &["--resync", "2s"]);
    let api: kube::Api<rolecall::api::BusinessHub> = kube::Api::namespaced(crate::harness::client().await, &w.ns);
    wait_for(LIMIT, "Connected=False, Misconfigured", || async {
        api.get("hook").await.ok().and_then(|h| h.status).is_some_and(|s| {
            s.conditions.iter().any(|c| c.type_ == "Connected" && c.status.as_ref() == "False" && c.reason == "Misconfigured")
        })
    })
    .await;
    let hub = api.get("hook").await.expect("hub");
    let connected = hub.status.expect("status").conditions.into_iter().find(|c| c.type_ == "Connected").expect("Connected");
    println!("Connected: {} {}: {}", connected.status.as_ref(), connected.reason, connected.message);
    assert!(connected.message.contains("assets"), "{}", connected.message);
    assert!(calls(&app, "POST", "/v1/accounts").await.is_empty(), "nothing written to a connector that cannot hold what the hub plans");
}

/// The hub's `Connected` condition: (status, reason, message).
async fn connected(w: &Workspace, hub: &str) -> Option<(String, String, String)> {
    let api: kube::Api<rolecall::api::BusinessHub> = kube::Api::namespaced(crate::harness::client().await, &w.ns);
    let status = api.get(hub).await.ok()?.status?;
    status.conditions.into_iter().find(|c| c.type_ == "Connected").map(|c| (c.status.as_ref().to_string(), c.reason, c.message))
}

#[tokio::test]
async fn a_webhook_hub_waits_out_a_rate_limit_retries_a_server_error_and_reports_a_refusal() {
    let w = workspace("webhook-faults", "").await;
    // The app has no "lead" role; the hub's catalog has.
    let app = WebhookApp::start(&[]);
    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let carol = w.idp_user("carol").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    let leads = w.idp_group("Leads", &[]).await;
    webhook_hub(&w, "hook", &app);
    grant(&w, "eng", &eng, "member", "hook");
    grant(&w, "leads", &leads, "lead", "hook");
    let _operator = Operator::start(&w.ns, "rolecall", "op-webhook-faults", &["--resync", "2s"]);
    wait_account(&w, "hook", "alice@acme.io", "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;

    // 1. A read-back answered rate_limited, retry after 8 s (longer than a call waits inline): the hub says
    // so, and sends nothing before then.
    app.fault("GET /v1/accounts", 1, serde_json::json!({"kind": "rate_limited", "retry_after": 8})).await;
    wait_for(LIMIT, "Connected=False, RateLimited", || async {
        connected(&w, "hook").await.is_some_and(|(s, r, _)| s == "False" && r == "RateLimited")
    })
    .await;
    println!("Connected while limited: {:?}", connected(&w, "hook").await);
    // The event that would show a breach: the next two requests after the 429.
    let at_429 = || async {
        let log = app.requests().await;
        let at = log.iter().find(|r| r["status"] == 429).and_then(|r| r["at"].as_f64()).expect("the 429 is logged");
        (at, log.iter().filter(|r| r["at"].as_f64().is_some_and(|t| t > at)).count())
    };
    wait_for(LIMIT, "two requests after the 429", || async { at_429().await.1 >= 2 }).await;
    let log = app.requests().await;
    let at = at_429().await.0;
    let after: Vec<f64> = log.iter().filter_map(|r| r["at"].as_f64()).filter(|t| *t > at).map(|t| t - at).collect();
    println!("requests after the 429 (seconds after it): {after:.2?}");
    assert!(!after.is_empty() && after.iter().all(|d| *d >= 8.0), "nothing before the retry time: {after:?}");

    // 2. An add answered 500: retried, and made once.
    app.fault("POST /v1/accounts", 1, serde_json::json!({"kind": "server_error"})).await;
    w.idp_members(&eng, "add", &carol).await;
    wait_account(&w, "hook", "carol@acme.io", "InviteSent after a 500", |a| state(a) == Some(AccountState::InviteSent)).await;
    let posts: Vec<i64> = calls(&app, "POST", "/v1/accounts").await.iter().filter_map(|r| r["status"].as_i64()).collect();
    println!("add answers: {posts:?}");
    assert_eq!(posts.iter().filter(|s| **s == 500).count(), 1);
    assert_eq!(app.accounts_of("carol@acme.io").await.len(), 1, "one account for carol");

    // 3. An add the app refuses (a role it does not have): reported on the account, not retried as transient.
    w.idp_members(&leads, "add", &bob).await;
    wait_account(&w, "hook", "bob@acme.io", "InviteFailed", |a| state(a) == Some(AccountState::InviteFailed)).await;
    let bob_account = w.account_on("hook", "bob@acme.io").await.expect("bob");
    let error = bob_account.status.and_then(|s| s.last_error).unwrap_or_default();
    println!("bob: InviteFailed, {error}");
    assert!(error.contains("unknown role"), "{error}");
    assert!(app.accounts_of("bob@acme.io").await.is_empty());
}

/// What the GitHub hub shows of invitations, through a webhook hub: a bounced
/// invitation is InviteFailed and sent again once (the policy's maxResends),
/// then stays failed with the app's reason; one that expires is sent again and
/// accepted; leaving the team while invited cancels the invitation.
#[tokio::test]
async fn failed_expired_and_cancelled_invitations_through_a_webhook_hub() {
    let w = workspace("webhook-invites", "").await;
    let app = WebhookApp::start(&["--roles", "member,lead,admin"]);
    let [ann, bob, carol] = [w.idp_user("ann").await, w.idp_user("bob").await, w.idp_user("carol").await];
    let eng = w.idp_group("Engineering", &[&ann, &bob, &carol]).await;
    webhook_hub_with(&w, "hook", &app, "  invites: {expireAfter: 6s, maxResends: 1}\n");
    grant(&w, "eng", &eng, "member", "hook");
    let _operator = Operator::start(&w.ns, "rolecall", "op-webhook-invites", &["--resync", "2s"]);
    for email in ["ann@acme.io", "bob@acme.io", "carol@acme.io"] {
        wait_account(&w, "hook", email, "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
    }
    let adds_of = |email: &'static str| {
        let app = &app;
        async move { calls(app, "POST", "/v1/accounts").await.iter().filter(|c| c["email"] == email).count() }
    };

    // Carol leaves while invited: her invitation is cancelled (the app deletes an invited row).
    w.idp_members(&eng, "remove", &carol).await;
    wait_for(LIMIT, "carol's invitation cancelled", || async { app.accounts_of("carol@acme.io").await.is_empty() }).await;

    // Ann's invitation bounces: InviteFailed, then sent again once.
    assert_eq!(app.fail("ann@acme.io", "the mailbox does not exist", false).await, 1);
    wait_for(LIMIT, "ann invited again", || async { adds_of("ann@acme.io").await == 2 }).await;
    wait_for(LIMIT, "ann's new invitation listed", || async {
        app.accounts_of("ann@acme.io").await.first().is_some_and(|r| r["status"] == "invited")
    })
    .await;
    // It bounces again: no resend is left, so it stays failed, with the app's reason.
    assert_eq!(app.fail("ann@acme.io", "the mailbox does not exist", false).await, 1);
    wait_account(&w, "hook", "ann@acme.io", "InviteFailed", |a| state(a) == Some(AccountState::InviteFailed)).await;

    // Bob never accepts: after expireAfter his invitation is sent again, and he accepts that one.
    wait_for(LIMIT, "bob invited again after the expiry", || async { adds_of("bob@acme.io").await == 2 }).await;
    wait_for(LIMIT, "bob's new invitation listed", || async {
        app.accounts_of("bob@acme.io").await.first().is_some_and(|r| r["status"] == "invited")
    })
    .await;
    assert_eq!(app.accept("bob@acme.io").await, 1);
    wait_account(&w, "hook", "bob@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;

    // Two more read-backs: nothing more is sent to ann (her resends are spent) or anyone.
    let reads = calls(&app, "GET", "/v1/accounts").await.len();
    wait_for(LIMIT, "two more read-backs", || async { calls(&app, "GET", "/v1/accounts").await.len() >= reads + 2 }).await;
    let account = w.account_on("hook", "ann@acme.io").await.expect("ann");
    println!("ann: {:?}", account.status);
    assert_eq!(state(&account), Some(AccountState::InviteFailed));
    let note = account.status.as_ref().and_then(|s| s.note.clone()).unwrap_or_default();
    assert!(note.contains("the mailbox does not exist"), "the app's reason is shown: {note}");
    assert_eq!(adds_of("ann@acme.io").await, 2, "one resend, as the policy says");
    assert_eq!(adds_of("bob@acme.io").await, 2);
    assert_eq!(adds_of("carol@acme.io").await, 1);
}
