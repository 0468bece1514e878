//! The Meta connector end to end: the operator process and the real API server
//! against the Meta stand-in (`meta_standin.rs`), which speaks the Graph API as
//! Meta's reference shows it, sends the usage headers, throttles and records
//! every call. The first read-back imports the business's assets; a team
//! granted a business role and assets with asset roles is invited, onboarded
//! with its assets on acceptance (one assignment per asset), changed with one
//! call, and removed with its asset access; throttling stops calls until the
//! time Meta names without holding other hubs; faults show on the hub and its
//! accounts; a steady state makes no writes.

use std::collections::BTreeMap;
use std::time::Duration;

use rolecall::api::app_account::{AccountState, UserTable};
use serde_json::{Value, json};

use crate::app_tests::{LIMIT, connected, grant, hub, note, poll, token_secret, wait_account, whole_read_backs};
use crate::harness::{Operator, kubectl_apply, wait_for};
use crate::meta_standin::{Call, MetaStandIn, StandInOptions};
use crate::standin_process::now_secs;
use crate::world::{Workspace, state, table, workspace};

/// A Meta hub on the stand-in, read back every 2 s: business roles EMPLOYEE and ADMIN, no declared assets.
pub(crate) fn meta_hub(w: &Workspace, name: &str, meta: &MetaStandIn, secret: &str, mode: &str, spec: &str) {
    let (ok, out) = kubectl_apply(&format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: {name}, namespace: {ns}}}
spec:
  connector: {{type: Meta, url: "{url}", organization: "{business}", credentialsSecretRef: {{name: {secret}}}, timeout: 2s, maxBackoff: 2s}}
  mode: {mode}
  syncInterval: 2s
  roles:
  - {{name: EMPLOYEE, weight: 1}}
  - {{name: ADMIN, weight: 10, admin: true}}
  safety: {{maxRemovalsPerWindow: 10, removalWindow: 1h, removalGracePeriod: 2s}}
{spec}"#,
        ns = w.ns,
        url = meta.base_url(),
        business = meta.business,
    ));
    assert!(ok, "{out}");
}

/// A read-back starts with the asset listing (the operator lists assets first).
fn is_read_back_start(c: &Call) -> bool {
    c.method == "GET" && c.path.ends_with("/owned_ad_accounts")
}

/// `n` whole read-backs from a cleared call log (`whole_read_backs`).
pub(crate) async fn steady_state(meta: &MetaStandIn, n: usize) -> Vec<Call> {
    whole_read_backs(&meta.process, n, is_read_back_start).await
}

fn writes_for<'a>(calls: &'a [Call], user_id: &str) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| c.is_write() && (c.path == format!("/{user_id}") || c.params.get("user").and_then(Value::as_str) == Some(user_id)))
        .collect()
}

#[tokio::test]
async fn a_team_granted_on_meta_is_invited_onboarded_with_its_assets_changed_and_removed() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let brand = meta.asset("ad_account", "Brand US").await;
    let page = meta.asset("page", "Acme Page").await;
    let shop = meta.asset("catalog", "Shop").await;
    meta.seed_system_user("rolecall-bot").await;
    meta.seed_user("Zed", "zed@partner.io", "EMPLOYEE", &[(&brand, &["ANALYZE"])]).await;
    let w = workspace("meta-lifecycle", "").await;
    token_secret(&w, "meta-token", &meta.token).await;
    let [alice, bob] = [w.idp_user("alice").await, w.idp_user("bob").await];
    let eng = w.idp_group("Marketing", &[&alice, &bob]).await;
    let admins = w.idp_group("Admins", &[]).await;
    meta_hub(&w, "meta", &meta, "meta-token", "Enforce", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-meta", &["--resync", "2s"]);

    // 1. The first read-back imports the assets, with their ids, kinds and asset roles.
    let imported =
        poll("the hub's imported assets", || async { hub(&w, "meta").await.status.map(|s| s.assets).filter(|a| a.len() == 3) }).await;
    let by_name: BTreeMap<&str, _> = imported.iter().map(|a| (a.name.as_str(), a)).collect();
    println!("imported: {:?}", imported.iter().map(|a| (&a.name, &a.id, &a.kind)).collect::<Vec<_>>());
    assert_eq!(by_name["Brand US"].id.as_deref(), Some(brand.as_str()));
    assert_eq!(by_name["Acme Page"].kind.as_deref(), Some("page"));
    assert_eq!(by_name["Shop"].roles, ["ADVERTISE", "MANAGE"], "lowest first: a grant naming no role gets ADVERTISE");

    // 2. Granted a business role and two assets: one invitation each, with the role.
    grant(&w, "marketing-meta", "meta", &eng, "EMPLOYEE", r#"{name: "Brand US", role: ADVERTISE}, {name: "Acme Page", role: MODERATE}"#);
    grant(&w, "admins-meta", "meta", &admins, "ADMIN", "");
    let mut invitations = BTreeMap::new();
    for user in ["alice", "bob"] {
        let email = format!("{user}@acme.io");
        let invitation = poll(&format!("an invitation for {email}"), || meta.invitation(&email)).await;
        assert_eq!(invitation["role"], "EMPLOYEE", "{invitation}");
        wait_account(&w, "meta", &email, "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
        invitations.insert(user, invitation["id"].as_str().expect("id").to_string());
    }
    wait_account(&w, "meta", "zed@partner.io", "Unmatched", |a| table(a) == Some(UserTable::Unmatched)).await;

    // 3. Accepted: Onboarded with the assets, one assignment per asset, no other write.
    for user in ["alice", "bob"] {
        meta.settle_invitation(&invitations[user], "accept").await;
    }
    let alice_id = poll("alice a business user", || meta.user_id("alice@acme.io")).await;
    let bob_id = poll("bob a business user", || meta.user_id("bob@acme.io")).await;
    for (email, id) in [("alice@acme.io", &alice_id), ("bob@acme.io", &bob_id)] {
        wait_account(&w, "meta", email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
        wait_for(LIMIT, &format!("{email} holds both assets"), || async { meta.user_assets(id).await.len() == 2 }).await;
    }
    let held = meta.user_assets(&alice_id).await;
    assert_eq!(held[&brand], ["ADVERTISE", "ANALYZE"]);
    assert_eq!(held[&page], ["MODERATE", "ADVERTISE", "ANALYZE"]);
    let calls = meta.calls().await;
    let invites = calls.iter().filter(|c| c.method == "POST" && c.path.ends_with("/business_users")).count();
    let alice_writes: Vec<String> = writes_for(&calls, &alice_id).iter().map(|c| format!("{} {}", c.method, c.path)).collect();
    println!("invitations sent: {invites}; alice's writes after acceptance: {alice_writes:?}");
    assert_eq!(invites, 2, "one invitation each");
    assert_eq!(alice_writes.len(), 2, "one assignment per asset: {alice_writes:?}");

    // 4. A role change is one update call.
    meta.clear_calls().await;
    w.idp_members(&admins, "add", &alice).await;
    wait_for(LIMIT, "alice an ADMIN in Meta", || async {
        meta.state().await["business_users"]
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["id"] == alice_id.as_str() && u["role"] == "ADMIN"))
    })
    .await;
    wait_account(&w, "meta", "alice@acme.io", "ADMIN read back", |a| crate::world::roles(a) == ["ADMIN"]).await;
    let calls = meta.calls().await;
    let role_writes: Vec<String> =
        writes_for(&calls, &alice_id).iter().map(|c| format!("{} {} {:?}", c.method, c.path, c.params)).collect();
    println!("role change: {role_writes:?}");
    assert_eq!(role_writes.len(), 1, "one call: {role_writes:?}");

    // 5. Leaving the team: removed from the business, and with it from every asset.
    w.idp_members(&eng, "remove", &bob).await;
    wait_for(LIMIT, "bob removed", || async { meta.user_id("bob@acme.io").await.is_none() }).await;
    wait_account(&w, "meta", "bob@acme.io", "Removed", |a| state(a) == Some(AccountState::Removed)).await;
    assert!(meta.user_assets(&bob_id).await.is_empty(), "bob's asset access went with him");
    let state_now = meta.state().await;
    assert_eq!(state_now["system_users"].as_array().map(Vec::len), Some(1), "the system user is left alone");
    assert!(
        state_now["business_users"].as_array().is_some_and(|u| u.iter().any(|u| u["email"] == "zed@partner.io")),
        "the unmatched person is left alone"
    );
    let bot = w.accounts().await.into_iter().find(|a| a.spec.email.starts_with("system-user-")).expect("the system user's account");
    println!("system user: table {:?}, note {:?}", table(&bot), note(&bot));

    // 6. Steady state: three read-backs, reads only.
    let steady = steady_state(&meta, 3).await;
    let writes: Vec<String> = steady.iter().filter(|c| c.is_write()).map(|c| format!("{} {}", c.method, c.path)).collect();
    println!("steady state: {} calls over 3 read-backs, {} writes", steady.len(), writes.len());
    assert!(writes.is_empty(), "{writes:?}");
    assert!(steady.iter().all(|c| c.version == "v25.0" && c.status == 200), "every call on the pinned version, all answered");
    let _ = shop;
}

#[tokio::test]
async fn meta_throttling_stops_calls_until_the_named_time_and_other_hubs_go_on() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let other = MetaStandIn::start(StandInOptions::default()).await;
    meta.asset("ad_account", "Brand US").await;
    other.asset("ad_account", "Other Brand").await;
    let w = workspace("meta-throttle", "").await;
    token_secret(&w, "meta-token", &meta.token).await;
    token_secret(&w, "other-token", &other.token).await;
    meta_hub(&w, "meta", &meta, "meta-token", "Observe", "");
    meta_hub(&w, "other", &other, "other-token", "Observe", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-meta-throttle", &["--resync", "2s"]);
    for name in ["meta", "other"] {
        poll(&format!("{name} Connected"), || async { connected(&w, name).await.filter(|(s, _, _)| s == "True") }).await;
    }

    // Near 100 %: the calls of a read-back are spaced out.
    meta.set_usage(json!({"baseline": 97})).await;
    let at = now_secs();
    wait_for(LIMIT, "a read-back at 97 %", || async {
        meta.calls().await.iter().filter(|c| c.at > at && c.call_count >= Some(97) && is_read_back_start(c)).count() >= 2
    })
    .await;
    let calls: Vec<Call> = meta.calls().await.into_iter().filter(|c| c.at > at + 0.5).collect();
    let gaps: Vec<f64> = calls.windows(2).map(|w| w[1].at - w[0].at).collect();
    let least = gaps.iter().copied().fold(f64::MAX, f64::min);
    println!("at 97 %: {} calls, smallest gap {least:.2} s", calls.len());
    assert!(least >= 1.5, "each call waits after the last: {gaps:?}");
    meta.set_usage(json!({"baseline": 0})).await;

    // Throttled with code 613 and a minute to regain access: no call inside the minute; the other hub goes on.
    meta.inject_fault(json!({"kind": "throttle", "code": 613, "regain_seconds": 30})).await;
    let throttled =
        poll("the throttled call", || async { meta.calls().await.into_iter().find(|c| c.fault.as_deref() == Some("throttle")) }).await;
    assert!(throttled.throttled() && throttled.code == Some(613), "{throttled:?}");
    let before_other = other.calls().await.len();
    wait_for(Duration::from_secs(150), "a call after the minute", || async {
        meta.calls().await.iter().any(|c| c.at > throttled.at + 1.0)
    })
    .await;
    let calls = meta.calls().await;
    let next = calls.iter().find(|c| c.at > throttled.at).expect("the next call");
    let inside = calls.iter().filter(|c| c.at > throttled.at && c.at < throttled.at + 60.0).count();
    let other_during = other.calls().await.iter().filter(|c| c.at > throttled.at && c.at < throttled.at + 60.0).count();
    println!(
        "throttled (613) at +0 s: next call at +{:.1} s, calls inside the minute: {inside}; the other hub's calls meanwhile: {other_during} (of {})",
        next.at - throttled.at,
        other.calls().await.len() - before_other
    );
    assert_eq!(inside, 0, "no call while Meta says to wait");
    assert!(other_during >= 10, "the other hub was not held: {other_during}");
    let (status, reason, _) = connected(&w, "meta").await.expect("condition");
    println!("meta Connected={status} {reason}");
}

#[tokio::test]
async fn meta_faults_show_on_the_hub_and_its_accounts() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    meta.asset("ad_account", "Brand US").await;
    let page = meta.asset("page", "Acme Page").await;
    let w = workspace("meta-faults", "").await;
    token_secret(&w, "meta-token", &meta.token).await;
    let [cy, dee] = [w.idp_user("cy").await, w.idp_user("dee").await];
    let team = w.idp_group("Marketing", &[&cy, &dee]).await;
    meta_hub(&w, "meta", &meta, "meta-token", "Enforce", "  invites: {expireAfter: 168h, maxResends: 1}\n");
    let _operator = Operator::start(&w.ns, "rolecall", "op-meta-faults", &["--resync", "2s"]);
    poll("assets imported", || async { hub(&w, "meta").await.status.map(|s| s.assets).filter(|a| a.len() == 2) }).await;
    grant(&w, "marketing-meta", "meta", &team, "EMPLOYEE", r#"{name: "Brand US", role: ANALYZE}"#);

    // An expired invitation is InviteExpired and sent again; a declined one, resent once, then InviteFailed.
    let first_cy = poll("cy invited", || meta.invitation("cy@acme.io")).await;
    let first_dee = poll("dee invited", || meta.invitation("dee@acme.io")).await;
    meta.settle_invitation(first_cy["id"].as_str().expect("id"), "expire").await;
    meta.settle_invitation(first_dee["id"].as_str().expect("id"), "decline").await;
    let second_cy = poll("cy invited again", || async {
        meta.invitation("cy@acme.io").await.filter(|i| i["id"] != first_cy["id"] && i["status"] == "PENDING")
    })
    .await;
    let second_dee = poll("dee invited again", || async {
        meta.invitation("dee@acme.io").await.filter(|i| i["id"] != first_dee["id"] && i["status"] == "PENDING")
    })
    .await;
    wait_account(&w, "meta", "cy@acme.io", "resent once", |a| a.status.as_ref().and_then(|s| s.invite_resends) == Some(1)).await;
    meta.settle_invitation(second_dee["id"].as_str().expect("id"), "decline").await;
    wait_account(&w, "meta", "dee@acme.io", "InviteFailed, saying declined", |a| {
        state(a) == Some(AccountState::InviteFailed) && note(a).contains("declined")
    })
    .await;
    println!("dee: {}", note(&w.account_on("meta", "dee@acme.io").await.expect("dee")));
    meta.settle_invitation(second_cy["id"].as_str().expect("id"), "expire").await;
    wait_account(&w, "meta", "cy@acme.io", "InviteFailed after its resend expired", |a| state(a) == Some(AccountState::InviteFailed)).await;

    // 5xx and a timeout: the hub backs off and comes back.
    meta.inject_fault(json!({"kind": "500", "count": 2})).await;
    meta.inject_fault(json!({"kind": "timeout", "count": 1, "delay": 3})).await;
    let at = now_secs();
    wait_for(LIMIT, "the faults met and a whole read-back after them", || async {
        let calls = meta.calls().await;
        let faults = calls.iter().filter(|c| c.fault.is_some() && c.at > at).count();
        faults == 3 && calls.iter().filter(|c| c.at > at && is_read_back_start(c) && c.status == 200).count() >= 2
    })
    .await;
    poll("Connected again", || async { connected(&w, "meta").await.filter(|(s, _, _)| s == "True") }).await;

    // An asset that disappears leaves the hub's imported assets.
    meta.asset_disappears(&page).await;
    let assets = poll("the page gone from status.assets", || async {
        hub(&w, "meta").await.status.map(|s| s.assets).filter(|a| a.iter().all(|a| a.name != "Acme Page"))
    })
    .await;
    println!("assets after the page disappeared: {:?}", assets.iter().map(|a| &a.name).collect::<Vec<_>>());

    // A token without business_management: Connected=False, naming the permission.
    meta.set_permissions(&["ads_management"]).await;
    let (status, reason, message) = poll("Connected=False", || async {
        connected(&w, "meta").await.filter(|(s, _, m)| s == "False" && m.contains("business_management"))
    })
    .await;
    println!("without business_management: Connected={status} {reason}: {message}");
    assert_eq!(reason, "AuthFailed");
}
