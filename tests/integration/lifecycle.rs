//! The reconcile core at the edges, end to end: who loses a seat when they
//! leave (even while the operator is down), who keeps one when a hub is
//! switched on, what an app that cannot hold assets is sent, and what happens
//! to planned work when its hub is deleted.

use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use rolecall::api::app_account::{AccountState, UserTable};
use rolecall::api::{AccessGrant, AppAccount, BusinessHub};
use serde_json::{Value, json};

use crate::harness::{Operator, client, kubectl_apply, wait_for};
use crate::proxy::Seen;
use crate::world::{LIMIT, World, active, external_id, state, table, world, world_with};

/// Requests the app received that name this account (by id in the path or email in the body).
fn calls_for(seen: &[Seen], id: &str, email: &str) -> Vec<Seen> {
    seen.iter().filter(|s| s.path.contains(id) || s.body.contains(email)).cloned().collect()
}

fn print_calls(what: &str, calls: &[Seen]) {
    println!("{what}: {} call(s)", calls.len());
    for c in calls {
        println!("  {} {} {}", c.method, c.path, c.body.chars().take(160).collect::<String>());
    }
}

async fn onboarded(w: &World, emails: &[&str]) {
    for email in emails {
        w.wait_account(email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
}

#[tokio::test]
async fn a_user_deleted_while_the_operator_is_down_loses_the_seat_once() {
    let w = world_with("lifecycle-deleted", ", deprovision: Delete").await;
    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let carol = w.idp_user("carol").await;
    let eng = w.idp_group("Engineering", &[&alice, &bob, &carol]).await;
    w.hub("app", "Enforce", "");
    w.grant("engineering", &eng, "member", "app");
    let mut operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);
    onboarded(&w, &["alice@acme.io", "bob@acme.io", "carol@acme.io"]).await;
    let (alice_id, bob_id) =
        (external_id(&w.account("alice@acme.io").await.expect("alice")), external_id(&w.account("bob@acme.io").await.expect("bob")));
    let managed = w.account("alice@acme.io").await.and_then(|a| a.status).expect("status");
    assert!(managed.managed && managed.matched_user.as_deref() == Some(alice.as_str()), "{managed:?}");

    // The operator is down while the IdP deletes alice and a GitOps prune deletes bob's User.
    operator.kill();
    let before = w.proxy.seen().len();
    let (status, body) = w.idp.send("DELETE", &format!("/Users/{alice}"), Value::Null).await;
    assert_eq!(status, 204, "{body}");
    let users: Api<rolecall::api::User> = Api::namespaced(client().await, &w.ns);
    users.delete(&bob, &DeleteParams::default()).await.expect("prune bob");

    let operator = Operator::start(&w.ns, "rolecall", "op-2", &["--resync", "2s"]);
    w.wait_account("alice@acme.io", "Removing (grace period)", |a| state(a) == Some(AccountState::Removing)).await;
    for email in ["alice@acme.io", "bob@acme.io"] {
        w.wait_account(email, "seat removed after the grace period", |a| !active(a) && state(a).is_none()).await;
    }
    operator.wait_read_backs(3).await;
    let seen = w.proxy.seen()[before..].to_vec();
    for (who, id, email) in [("alice", &alice_id, "alice@acme.io"), ("bob", &bob_id, "bob@acme.io")] {
        let writes: Vec<Seen> = calls_for(&seen, id, email).into_iter().filter(|s| s.method != "GET").collect();
        print_calls(&format!("{who}'s account after the restart"), &writes);
        assert_eq!(writes.len(), 1, "{who}'s seat goes exactly once: {writes:?}");
        assert!(writes[0].method == "PATCH" || writes[0].method == "PUT", "{writes:?}");
        assert!(w.app.user(id).await.is_some_and(|u| !u.active), "{who} is deactivated in the app");
    }
    assert!(w.app.users().await.iter().any(|u| u.email == "carol@acme.io" && u.active), "carol keeps her seat");
}

#[tokio::test]
async fn switching_a_hub_to_enforce_removes_nobody_the_admin_did_not_decide_to_remove() {
    let w = world("lifecycle-enforce").await;
    // The app before rolecall: alice (to be granted), bob (a colleague with no grant), a stranger.
    let alice_app = w.app.create_user("alice@acme.io", &["member"]).await;
    let bob_app = w.app.create_user("bob@acme.io", &["member"]).await;
    let stranger = w.app.create_user("stranger@elsewhere.example", &["member"]).await;
    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    w.hub("app", "DryRun", "");
    w.grant("engineering", &eng, "member", "app");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);
    w.wait_account("bob@acme.io", "kept without a grant (DryRun)", |a| state(a) == Some(AccountState::KeptWithoutGrant)).await;

    // The admin switches the hub on.
    let hubs: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    hubs.patch("app", &PatchParams::default(), &Patch::Merge(json!({"spec": {"mode": "Enforce"}}))).await.expect("enforce");
    wait_for(LIMIT, "Synced=True in Enforce", || async { w.hub_condition("app", "Synced").await.as_deref() == Some("True") }).await;
    operator.wait_read_backs(3).await;
    let bob_account = w.account("bob@acme.io").await.expect("bob");
    assert_eq!((table(&bob_account), state(&bob_account)), (Some(UserTable::Onboarded), Some(AccountState::KeptWithoutGrant)));
    assert!(!bob_account.status.as_ref().is_some_and(|s| s.managed), "rolecall never seated bob");
    let stranger_account = w.account("stranger@elsewhere.example").await.expect("stranger");
    assert_eq!((table(&stranger_account), state(&stranger_account)), (Some(UserTable::Unmatched), Some(AccountState::ExternalEnrollee)));
    assert_eq!(state(&w.account("alice@acme.io").await.expect("alice")), Some(AccountState::Onboarded));
    print_calls("writes after switching to Enforce", &w.proxy.writes());
    assert!(w.proxy.writes().is_empty(), "switching on changed the app: {:?}", w.proxy.writes());

    // Offboarding removes whatever the Keep policy says: the IdP deactivates bob.
    let (status, body) =
        w.idp.send("PATCH", &format!("/Users/{bob}"), json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    w.wait_account("bob@acme.io", "removed after the grace period", |a| !active(a)).await;
    let writes = w.proxy.writes();
    print_calls("writes after bob's deactivation", &writes);
    assert_eq!(calls_for(&writes, &bob_app, "bob@acme.io").len(), 1, "{writes:?}");
    assert_eq!(writes.len(), 1, "only bob's removal; alice ({alice_app}) and the stranger ({stranger}) untouched: {writes:?}");
}

#[tokio::test]
async fn an_asset_grant_on_a_scim_hub_is_refused_with_a_reason_and_costs_nothing_at_steady_state() {
    let w = world("lifecycle-assets").await;
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    w.hub("app", "Enforce", "  assets:\n  - {name: repo, roles: [read, write]}\n");
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: AccessGrant\nmetadata: {{name: engineering, namespace: {ns}}}\nspec: {{subject: {{team: {eng}}}, hub: app, appRoles: [member], assets: [{{name: repo, role: write}}]}}\n",
        ns = w.ns
    ));
    assert!(ok, "{out}");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);
    let grants: Api<AccessGrant> = Api::namespaced(client().await, &w.ns);
    wait_for(LIMIT, "Accepted=False AssetsNotSupported", || async {
        grants
            .get("engineering")
            .await
            .ok()
            .and_then(|g| g.status)
            .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Accepted"))
            .is_some_and(|c| c.status.as_ref() == "False" && c.reason == "AssetsNotSupported")
    })
    .await;
    onboarded(&w, &["alice@acme.io"]).await;
    operator.wait_read_backs(1).await;
    let (api_writes, app_writes) = (operator.metric("rolecall_api_writes_total"), w.proxy.writes().len());
    operator.wait_read_backs(4).await;
    assert_eq!(operator.metric("rolecall_api_writes_total"), api_writes, "API writes at steady state");
    assert_eq!(w.proxy.writes().len(), app_writes, "app writes at steady state: {:?}", &w.proxy.writes()[app_writes..]);
    println!("steady state with an asset grant on a SCIM hub: 4 read-backs, 0 API writes, 0 app writes");
}

#[tokio::test]
async fn deleting_a_hub_mid_rollout_stops_every_call_to_its_app() {
    const PEOPLE: usize = 120;
    let w = world("lifecycle-hub-deleted").await;
    let mut ids = Vec::new();
    for i in 0..PEOPLE {
        ids.push(w.idp_user(&format!("p{i:03}")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let eng = w.idp_group("Engineering", &refs).await;
    // A second hub on another app keeps being read back: the clock for "nothing more happened".
    let other = crate::scim_app::ScimApp::start().await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: BusinessHub\nmetadata: {{name: other, namespace: {ns}}}\nspec:\n  connector: {{type: Scim, url: \"http://{addr}{path}\", credentialsSecretRef: {{name: app-credentials}}}}\n  mode: Observe\n  syncInterval: 1s\n",
        ns = w.ns,
        addr = other.addr,
        path = other.base_path
    ));
    assert!(ok, "{out}");
    w.hub("app", "Enforce", "");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);
    w.grant("engineering", &eng, "member", "app");

    // As soon as the first invitation reaches the app, the admin deletes the hub.
    wait_for(LIMIT, "the first invitation", || async { w.proxy.writes().iter().any(|s| s.method == "POST") }).await;
    let hubs: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    hubs.delete("app", &DeleteParams::default()).await.expect("delete the hub");
    wait_for(LIMIT, "the hub's AppAccounts to be collected", || async {
        let accounts: Api<AppAccount> = Api::namespaced(client().await, &w.ns);
        accounts.list(&Default::default()).await.map(|l| l.items.iter().all(|a| a.spec.hub != "app")).unwrap_or(false)
    })
    .await;
    operator.wait_read_backs(1).await;
    let after_deletion = w.proxy.seen().len();
    operator.wait_read_backs(5).await;
    let seen = w.proxy.seen();
    let posts = seen.iter().filter(|s| s.method == "POST").count();
    // What the app received, call by call, runs of the same call folded: "GET /v2/Users ×1, POST /v2/Users ×29".
    let mut runs: Vec<(String, usize)> = Vec::new();
    for s in &seen {
        let call = format!("{} {}", s.method, s.route());
        match runs.last_mut() {
            Some((last, n)) if *last == call => *n += 1,
            _ => runs.push((call, 1)),
        }
    }
    println!("the app received: {}", runs.iter().map(|(c, n)| format!("{c} ×{n}")).collect::<Vec<_>>().join(", "));
    println!(
        "hub deleted mid-rollout: the app received {} requests in all ({posts} invitations of {PEOPLE}); {} after the deletion was seen; cancelled calls: {}; outcomes with no AppAccount left to record them: {}",
        seen.len(),
        seen.len() - after_deletion,
        operator.metric("rolecall_actions_cancelled_total"),
        operator.metric("rolecall_outcomes_unrecorded_total")
    );
    assert_eq!(seen.len(), after_deletion, "calls after the hub was deleted: {:?}", &seen[after_deletion..]);
    assert!(posts < PEOPLE, "the rollout went on after the hub was deleted: {posts} invitations");
}
