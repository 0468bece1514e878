//! The TikTok Business Center connector end to end: the operator process and
//! the real API server against the TikTok stand-in (`tiktok_standin.rs`). A
//! team granted a member role and assets with asset roles is invited with the
//! role and its ad accounts; accepting onboards it with every asset (the others
//! follow by assignment); a role change is one update; a declined invitation is
//! sent again per the hub's policy; leaving removes the member with its asset
//! access or revokes the invitation; TikTok's 40100 holds the hub's calls and
//! no other hub's; a steady state writes nothing. The partner methods are
//! tested on the connector itself.

use std::collections::BTreeSet;
use std::sync::Arc;

use rolecall::api::app_account::{AccountState, OperationKind, UserTable};
use rolecall::connector::{AppAsset, Connector, ConnectorError, OperationId, Pacer};
use serde_json::{Value, json};

use crate::app_tests::{LIMIT, connected, grant, hub, poll, token_secret, wait_account, whole_read_backs};
use crate::harness::{Operator, kubectl_apply, wait_for};
use crate::standin_process::now_secs;
use crate::tiktok_standin::{BC_ID, Call, StandInOptions, TikTokStandIn, documented_request_fields, request_fields};
use crate::world::{Workspace, state, table, workspace};

const AD: &str = "7200000000000000001";
const CATALOG: &str = "7200000000000000002";

/// A TikTok hub named `name` on `standin`, read back every 2 s, with the ad account and the catalog declared.
fn tiktok_hub(w: &Workspace, name: &str, url: &str, bc_id: &str, secret: &str, mode: &str, spec: &str) {
    let (ok, out) = kubectl_apply(&format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: {name}, namespace: {ns}}}
spec:
  connector: {{type: TikTok, url: "{url}", organization: "{bc_id}", credentialsSecretRef: {{name: {secret}}}, timeout: 2s, maxBackoff: 2s, tiktok: {{assetTypes: [ADVERTISER, CATALOG]}}}}
  mode: {mode}
  syncInterval: 2s
  roles:
  - {{name: STANDARD, weight: 1}}
  - {{name: ADMIN, weight: 10, admin: true}}
  assets:
  - {{name: Brand US, id: "{AD}", kind: ADVERTISER, roles: [ANALYST, OPERATOR, ADMIN]}}
  - {{name: Spring catalog, id: "{CATALOG}", kind: CATALOG, roles: [AD_PROMOTE, ADMIN]}}
  safety: {{maxRemovalsPerWindow: 10, removalWindow: 1h, removalGracePeriod: 2s}}
{spec}"#,
        ns = w.ns,
    ));
    assert!(ok, "{out}");
}

async fn standin_with_assets() -> TikTokStandIn {
    let tiktok = TikTokStandIn::start(StandInOptions::default()).await;
    tiktok.add_asset("ADVERTISER", "Brand US", AD).await;
    tiktok.add_asset("CATALOG", "Spring catalog", CATALOG).await;
    tiktok
}

fn is_read_back_start(c: &Call) -> bool {
    c.is("bc/get/")
}

/// `n` whole read-backs from a cleared call log (`whole_read_backs`).
async fn steady_state(tiktok: &TikTokStandIn, n: usize) -> Vec<Call> {
    whole_read_backs(&tiktok.process, n, is_read_back_start).await
}

/// The fields the connector's requests named that no example names.
fn undocumented_fields(calls: &[Call]) -> BTreeSet<String> {
    let documented = documented_request_fields();
    let mut out = BTreeSet::new();
    for c in calls {
        let Some(endpoint) = c.endpoint.as_deref() else { continue };
        let mut query = c.query.clone();
        query.remove("page");
        query.remove("page_size");
        for field in request_fields(endpoint, &query, c.request_body.as_ref()) {
            if !documented.contains(&field) {
                out.insert(field);
            }
        }
    }
    out
}

fn writes(calls: &[Call], endpoint: &str, user_id: &str) -> usize {
    calls.iter().filter(|c| c.is(endpoint) && c.fine() && c.request_body.as_ref().is_some_and(|b| b["user_id"] == user_id)).count()
}

#[tokio::test]
async fn a_team_granted_on_tiktok_is_invited_onboarded_with_its_assets_changed_and_removed() {
    let tiktok = standin_with_assets().await;
    let w = workspace("tt-lifecycle", "").await;
    token_secret(&w, "tiktok-token", &tiktok.token).await;
    let [alice, bob, carol, dave] =
        [w.idp_user("alice").await, w.idp_user("bob").await, w.idp_user("carol").await, w.idp_user("dave").await];
    let eng = w.idp_group("Marketing", &[&alice, &bob, &carol, &dave]).await;
    let admins = w.idp_group("Admins", &[&alice]).await;
    // A member from before rolecall, matched to nobody.
    tiktok.seed_member("zed@partner.io", "STANDARD", &[(AD, json!("ANALYST"))]).await;
    tiktok_hub(&w, "tiktok", &tiktok.base_url(), BC_ID, "tiktok-token", "Enforce", "  invites: {expireAfter: 168h, maxResends: 1}\n");
    grant(&w, "marketing-tiktok", "tiktok", &eng, "STANDARD", "{name: Brand US, role: OPERATOR}, {name: Spring catalog, role: AD_PROMOTE}");
    grant(&w, "admins-tiktok", "tiktok", &admins, "ADMIN", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-tt", &["--resync", "2s"]);

    // 1. Invitations with the member role and the ad account (TikTok's invitation carries ad accounts).
    for user in ["alice", "bob", "carol", "dave"] {
        let email = format!("{user}@acme.io");
        let invitation = poll(&format!("an invitation for {email}"), || tiktok.invitation(&email)).await;
        let role = if user == "alice" { "ADMIN" } else { "STANDARD" };
        assert_eq!(
            (invitation["user_role"].as_str(), invitation["relation_status"].as_str()),
            (Some(role), Some("PENDING")),
            "{invitation}"
        );
        assert_eq!(
            (invitation["asset_ids"].clone(), invitation["advertiser_role"].clone()),
            (json!([AD]), json!("OPERATOR")),
            "{invitation}"
        );
        wait_account(&w, "tiktok", &email, "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
    }
    wait_account(&w, "tiktok", "zed@partner.io", "Unmatched", |a| table(a) == Some(UserTable::Unmatched)).await;
    let invites = tiktok.calls().await.iter().filter(|c| c.is("bc/member/invite/") && c.fine()).count();
    println!("invitations: {invites} bc/member/invite calls for 4 people");
    assert_eq!(invites, 4);

    // 2. Accepted: Onboarded with both assets; the catalog follows by one assignment each.
    let alice_id = tiktok.accept_invitation("alice@acme.io").await["user_id"].as_str().expect("id").to_string();
    let bob_id = tiktok.accept_invitation("bob@acme.io").await["user_id"].as_str().expect("id").to_string();
    for email in ["alice@acme.io", "bob@acme.io"] {
        wait_account(&w, "tiktok", email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
    let wanted = |holdings: &std::collections::BTreeMap<String, Value>| {
        holdings.get(AD) == Some(&json!("OPERATOR")) && holdings.get(CATALOG) == Some(&json!("AD_PROMOTE"))
    };
    wait_for(LIMIT, "alice and bob hold the ad account and the catalog", || async {
        wanted(&tiktok.holdings(&alice_id).await) && wanted(&tiktok.holdings(&bob_id).await)
    })
    .await;
    let calls = tiktok.calls().await;
    let assigns = (writes(&calls, "bc/asset/assign/", &alice_id), writes(&calls, "bc/asset/assign/", &bob_id));
    println!("assignments after joining (alice, bob): {assigns:?}");

    assert_eq!(assigns, (1, 1), "one bc/asset/assign each: the catalog; the ad account came with the invitation");
    let onboarded = w.account_on("tiktok", "bob@acme.io").await.expect("bob");
    assert_eq!(onboarded.status.as_ref().map(|s| s.assets.len()), Some(2), "{:?}", onboarded.status);

    // 3. A role change is one update and no asset call.
    tiktok.clear_calls().await;
    w.idp_members(&admins, "add", &bob).await;
    wait_for(LIMIT, "bob an ADMIN", || async { tiktok.member("bob@acme.io").await.is_some_and(|m| m["user_role"] == "ADMIN") }).await;
    let _ = steady_state_after(&tiktok, 1).await;
    let calls = tiktok.calls().await;
    let bob_writes: Vec<String> = calls
        .iter()
        .filter(|c| c.is_write() && c.fine() && c.request_body.as_ref().is_some_and(|b| b["user_id"] == bob_id))
        .map(|c| c.path.clone())
        .collect();
    println!("bob's role change: {bob_writes:?}");
    assert_eq!(bob_writes, ["/open_api/v1.3/bc/member/update/"]);

    // 4. A declined invitation is sent again once (maxResends: 1), then reported failed with the reason.
    tiktok.decline_invitation("carol@acme.io").await;
    poll("carol invited again", || async { tiktok.invitation("carol@acme.io").await.filter(|i| i["relation_status"] == "PENDING") }).await;
    wait_account(&w, "tiktok", "carol@acme.io", "resent once", |a| a.status.as_ref().and_then(|s| s.invite_resends) == Some(1)).await;
    tiktok.decline_invitation("carol@acme.io").await;
    wait_account(&w, "tiktok", "carol@acme.io", "InviteFailed, declined", |a| {
        state(a) == Some(AccountState::InviteFailed)
            && a.status.as_ref().and_then(|s| s.note.clone()).is_some_and(|n| n.contains("declined"))
    })
    .await;

    // 5. An invitation that expires (TikTok stops listing it) is reported expired, sent again, and accepted.
    tiktok.expire_invitation("dave@acme.io").await;
    poll("dave invited again", || tiktok.invitation("dave@acme.io")).await;
    wait_account(&w, "tiktok", "dave@acme.io", "resent once", |a| a.status.as_ref().and_then(|s| s.invite_resends) == Some(1)).await;
    tiktok.accept_invitation("dave@acme.io").await;
    wait_account(&w, "tiktok", "dave@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;

    // 6. Leaving: a member is removed with its asset access, a pending invitation revoked.
    let eve = w.idp_user("eve").await;
    w.idp_members(&eng, "add", &eve).await;
    poll("eve invited", || tiktok.invitation("eve@acme.io")).await;
    w.idp_members(&eng, "remove", &eve).await;
    w.idp_members(&eng, "remove", &bob).await;
    w.idp_members(&admins, "remove", &bob).await;
    wait_for(LIMIT, "bob removed and eve's invitation revoked", || async {
        tiktok.member("bob@acme.io").await.is_none() && tiktok.invitation("eve@acme.io").await.is_none()
    })
    .await;
    assert!(tiktok.holdings(&bob_id).await.is_empty(), "bob's asset access went with him");
    wait_account(&w, "tiktok", "bob@acme.io", "Removed", |a| state(a) == Some(AccountState::Removed)).await;
    assert!(tiktok.member("zed@partner.io").await.is_some(), "the unmatched member is left alone");
    let calls = tiktok.calls().await;
    let deletes: Vec<Value> =
        calls.iter().filter(|c| c.is("bc/member/delete/") && c.fine()).filter_map(|c| c.request_body.clone()).collect();
    println!("bc/member/delete calls since the role change: {deletes:?}");
    assert!(
        deletes.iter().any(|b| b["user_id"] == bob_id.as_str()) && deletes.iter().any(|b| b["user_email"] == "eve@acme.io"),
        "{deletes:?}"
    );

    // 7. Steady state: three read-backs, no write; every request named only documented fields.
    let steady = steady_state(&tiktok, 3).await;
    let written: Vec<&Call> = steady.iter().filter(|c| c.is_write()).collect();
    println!("steady state: {} calls over 3 read-backs, {} writes", steady.len(), written.len());
    assert!(written.is_empty(), "{written:?}");
    let refused = tiktok.calls().await.iter().filter(|c| c.code == Some(40100)).count();
    println!("40100 answers since the role change: {refused} (the hub keeps under 10 a second by itself)");
    let undocumented = undocumented_fields(&tiktok.calls().await);
    assert!(undocumented.is_empty(), "the connector sent fields no example names: {undocumented:?}");
}

/// Waits for `n` whole read-backs from now, keeping the log.
async fn steady_state_after(tiktok: &TikTokStandIn, n: usize) -> usize {
    let before = tiktok.calls().await.iter().filter(|c| is_read_back_start(c)).count();
    wait_for(LIMIT, &format!("{n} more read-backs"), || async {
        tiktok.calls().await.iter().filter(|c| is_read_back_start(c)).count() > before + n
    })
    .await;
    before + n
}

#[tokio::test]
async fn tiktoks_40100_holds_this_hub_only_faults_act_once_and_a_steady_state_writes_nothing() {
    let tiktok = standin_with_assets().await;
    let other = standin_with_assets().await;
    let w = workspace("tt-limits", "").await;
    token_secret(&w, "tiktok-token", &tiktok.token).await;
    token_secret(&w, "other-token", &other.token).await;
    let [ann, ben] = [w.idp_user("ann").await, w.idp_user("ben").await];
    let team = w.idp_group("Ads", &[&ann, &ben]).await;
    tiktok_hub(&w, "tiktok", &tiktok.base_url(), BC_ID, "tiktok-token", "Enforce", "");
    tiktok_hub(&w, "other", &other.base_url(), BC_ID, "other-token", "Enforce", "");
    grant(&w, "ads-tiktok", "tiktok", &team, "STANDARD", "{name: Brand US, role: ANALYST}");
    grant(&w, "ads-other", "other", &team, "STANDARD", "{name: Brand US, role: ANALYST}");
    let _operator = Operator::start(&w.ns, "rolecall", "op-tt-limits", &["--resync", "2s"]);
    for standin in [&tiktok, &other] {
        for email in ["ann@acme.io", "ben@acme.io"] {
            poll(&format!("{email} invited"), || standin.invitation(email)).await;
            standin.accept_invitation(email).await;
        }
    }
    for hub in ["tiktok", "other"] {
        for email in ["ann@acme.io", "ben@acme.io"] {
            wait_account(&w, hub, email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
        }
    }

    // 1. 40100 three times in a row: the pacer holds the hub's calls one second, then two, then
    // two again (doubled up to the hub's maxBackoff, 2 s here); the other hub's calls go on meanwhile.
    let injected_at = now_secs();
    tiktok.inject_fault(json!({"kind": "throttle", "count": 3})).await;
    // Each 40100: when it arrived and when its answer left. A call already on its way
    // before the answer left (the hub makes a few at once) was sent before the hub
    // knew; the hold is judged on the calls that arrived after it.
    let refusals: Vec<(f64, f64)> = poll("three 40100 answers", || async {
        let at: Vec<(f64, f64)> = tiktok
            .calls()
            .await
            .iter()
            .filter(|c| c.at >= injected_at && c.code == Some(40100))
            .map(|c| (c.at, c.at + c.duration))
            .collect();
        (at.len() == 3).then_some(at)
    })
    .await;
    let throttled: Vec<f64> = refusals.iter().map(|(at, _)| *at).collect();
    wait_for(LIMIT, "calls after the last hold", || async {
        tiktok.calls().await.iter().any(|c| c.at > throttled[2] && c.code == Some(0))
    })
    .await;
    let calls = tiktok.calls().await;
    let gaps: Vec<f64> = refusals
        .iter()
        .map(|(t, answered)| calls.iter().filter(|c| c.at > *answered).map(|c| c.at).fold(f64::INFINITY, f64::min) - t)
        .collect();
    let elsewhere = other.calls().await.iter().filter(|c| c.at > throttled[0] && c.at < throttled[2]).count();
    println!("40100 at +0 s, then the next call after {gaps:.2?} s; the other hub's stand-in saw {elsewhere} calls meanwhile");
    for (gap, hold) in gaps.iter().zip([1.0, 2.0, 2.0]) {
        assert!(*gap >= hold * 0.95, "no call during the {hold} s hold: the next came after {gap:.2} s");
    }
    assert!(elsewhere > 0, "the other hub was not held");

    // 2. The stand-in's own budget: two a second while the hub asks ten; every 40100 is followed by a hold.
    tiktok.set_limits(json!({"qps": 2})).await;
    let _ = steady_state_after(&tiktok, 2).await;
    tiktok.set_limits(json!({"qps": 10})).await;
    let calls = tiktok.calls().await;
    let refusals: Vec<&Call> = calls.iter().filter(|c| c.code == Some(40100) && c.fault.is_none()).collect();
    for refusal in &refusals {
        let next = calls.iter().filter(|c| c.at > refusal.at).map(|c| c.at).fold(f64::INFINITY, f64::min);
        assert!(next - refusal.at >= 0.95, "a call {:.2} s after a 40100", next - refusal.at);
    }
    println!("a budget of 2 a second: {} refusals, each followed by at least a second without a call", refusals.len());

    // 3. Faults: 5xx, a timeout and a malformed answer on reads, and an invitation whose
    // connection drops after TikTok made it: retried, never made twice.
    for kind in ["500", "502", "timeout", "malformed"] {
        tiktok.inject_fault(json!({"kind": kind, "count": 1, "method": "GET", "delay": 3})).await;
    }
    tiktok
        .inject_fault(
            json!({"kind": "drop", "count": 1, "method": "POST", "path_prefix": "/open_api/v1.3/bc/member/invite/", "performed": true}),
        )
        .await;
    let late = w.idp_user("late").await;
    w.idp_members(&team, "add", &late).await;
    wait_account(&w, "tiktok", "late@acme.io", "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
    let calls = tiktok.calls().await;
    let faults = calls.iter().filter(|c| c.fault.is_some() && c.fault.as_deref() != Some("throttle")).count();
    let late_invites = calls
        .iter()
        .filter(|c| c.is("bc/member/invite/") && c.request_body.as_ref().is_some_and(|b| b["emails"] == json!(["late@acme.io"])))
        .count();
    let pending = tiktok.state().await["invitations"].as_array().into_iter().flatten().filter(|i| i["email"] == "late@acme.io").count();
    let dropped_at = calls.iter().find(|c| c.fault.as_deref() == Some("drop")).map(|c| c.at).expect("the drop was met");
    // After the dropped invitation, the next add reads the member list first and adopts what it finds.
    let after_drop = calls
        .iter()
        .filter(|c| {
            c.at > dropped_at
                && c.is("bc/member/invite/")
                && c.request_body.as_ref().is_some_and(|b| b["emails"] == json!(["late@acme.io"]))
        })
        .count();
    println!(
        "faults met: {faults}; late's bc/member/invite calls: {late_invites} ({after_drop} after the dropped one); invitations in TikTok: {pending}"
    );
    assert_eq!(faults, 5);
    assert_eq!(pending, 1, "one invitation");
    assert_eq!(after_drop, 0, "the dropped invitation was read back and adopted, not sent again");

    // 4. An asset that disappears (the ad account the grant names): the read-back goes on, the
    // hub stays connected, and the accounts say why their access cannot be brought in line.
    tiktok.remove_asset(AD).await;
    for email in ["ann@acme.io", "ben@acme.io"] {
        wait_account(&w, "tiktok", email, "an error naming the gone asset", |a| {
            a.status.as_ref().and_then(|s| s.last_error.clone()).is_some_and(|e| e.contains("Brand US"))
        })
        .await;
    }
    let why = w.account_on("tiktok", "ann@acme.io").await.and_then(|a| a.status.and_then(|s| s.last_error)).unwrap_or_default();
    println!("the ad account gone: {why}");
    let connected = w.hub_condition("tiktok", "Connected").await;
    assert_eq!(connected.as_deref(), Some("True"), "{connected:?}");

    // 5. Steady state on both hubs: reads only.
    for standin in [&tiktok, &other] {
        let steady = steady_state(standin, 3).await;
        let written = steady.iter().filter(|c| c.is_write()).count();
        println!("steady state: {} calls over 3 read-backs, {written} writes", steady.len());
        assert_eq!(written, 0, "{steady:?}");
    }
}

#[tokio::test]
async fn connected_says_which_permission_a_tiktok_token_lacks() {
    let good = standin_with_assets().await;
    good.add_asset("ADVERTISER", "Brand EU", "7200000000000000005").await; // not declared in spec.assets
    good.add_asset("TT_ACCOUNT", "@acme", "7300000000000000001").await; // a type the hub does not manage
    let restricted = standin_with_assets().await;
    restricted.set_scopes(&["Business Center Management", "BC Asset Management", "BC Partner Management"]).await;
    let w = workspace("tt-connected", "").await;
    token_secret(&w, "good", &good.token).await;
    token_secret(&w, "wrong", "not-the-token").await;
    token_secret(&w, "restricted", &restricted.token).await;
    tiktok_hub(&w, "fine", &good.base_url(), BC_ID, "good", "Observe", "");
    tiktok_hub(&w, "bad-token", &good.base_url(), BC_ID, "wrong", "Observe", "");
    tiktok_hub(&w, "unknown-bc", &good.base_url(), "7000000000000000042", "good", "Observe", "");
    tiktok_hub(&w, "no-member-permission", &restricted.base_url(), BC_ID, "restricted", "Observe", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-tt-connected", &["--resync", "2s"]);
    let expected = [
        ("bad-token", "AuthFailed", "wrong, expired or revoked"),
        ("unknown-bc", "NotFound", "7000000000000000042"),
        ("no-member-permission", "AuthFailed", "BC Member Management"),
        ("fine", "Connected", ""),
    ];
    for (hub, reason, says) in expected {
        let (status, got, message) =
            poll(&format!("{hub}: Connected"), || async { connected(&w, hub).await.filter(|(_, r, m)| r == reason && m.contains(says)) })
                .await;
        println!("{hub}: Connected={status} {got}: {message}");
        assert_eq!(status, if reason == "Connected" { "True" } else { "False" });
    }

    // The first read-back imported the Business Center's assets of the managed types into the hub's status (by name).
    let imported = poll("the fine hub's status.assets", || async {
        let status = hub(&w, "fine").await.status?;
        (!status.assets.is_empty()).then_some((status.assets, status.assets_listed))
    })
    .await;
    let (assets, listed) = imported;
    println!("imported: {assets:?} (listed {listed:?})");
    let asset = |name: &str, id: &str, kind: &str, roles: &[&str]| AppAsset {
        name: name.into(),
        id: Some(id.into()),
        kind: Some(kind.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    assert_eq!(
        assets,
        vec![
            asset("Brand EU", "7200000000000000005", "ADVERTISER", &["ANALYST", "OPERATOR", "ADMIN"]),
            asset("Brand US", AD, "ADVERTISER", &["ANALYST", "OPERATOR", "ADMIN"]),
            asset("Spring catalog", CATALOG, "CATALOG", &["AD_PROMOTE", "ADMIN"]),
        ]
    );
    assert_eq!(listed, Some(3));
}

/// A connector built as the operator builds it, on `standin`.
fn connector(standin: &TikTokStandIn, pacer: Arc<Pacer>) -> Box<dyn Connector> {
    let spec: rolecall::api::business_hub::BusinessHubSpec = serde_json::from_value(json!({
        "connector": {"type": "TikTok", "url": standin.base_url(), "organization": BC_ID, "credentialsSecretRef": {"name": "x"},
                      "timeout": "2s", "maxBackoff": "2s", "tiktok": {"assetTypes": ["ADVERTISER", "CATALOG"]}},
        "roles": [{"name": "STANDARD", "weight": 1}, {"name": "ADMIN", "weight": 10, "admin": true}]
    }))
    .expect("spec");
    rolecall::connector::for_hub(&spec, standin.token.clone(), pacer).unwrap_or_else(|e| panic!("connector: {e}"))
}

#[tokio::test]
async fn partners_are_read_and_their_asset_access_granted_changed_and_revoked() {
    let tiktok = standin_with_assets().await;
    tiktok.add_asset("ADVERTISER", "Brand US", "7200000000000000003").await; // a second "Brand US"
    tiktok.add_partner("7000000000000000099", "Agency One", &[(AD, "ANALYST")]).await;
    let tt = connector(&tiktok, Arc::new(Pacer::new("test/partners")));
    let op = OperationId::of("hub", "partner@acme.io", OperationKind::UpdateAccess, "2026-12-03T08:00:00Z");

    let assets = tt.list_assets().await.expect("assets");
    let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["Brand US (7200000000000000001)", "Brand US (7200000000000000003)", "Spring catalog"],
        "two assets of one name are told apart"
    );
    assert_eq!(assets[2].roles, ["AD_PROMOTE", "ADMIN"]);

    let partners = tt.list_partners().await.expect("partners");
    assert_eq!(partners.len(), 1);
    assert_eq!((partners[0].id.as_str(), partners[0].name.as_deref()), ("7000000000000000099", Some("Agency One")));
    assert_eq!(partners[0].assets, [("Brand US (7200000000000000001)".to_string(), "ANALYST".to_string())].into());

    tiktok.clear_calls().await;
    tt.set_partner_asset("7000000000000000099", "Spring catalog", "AD_PROMOTE", &op).await.expect("share the catalog");
    tt.set_partner_asset("7000000000000000099", "Brand US (7200000000000000001)", "OPERATOR", &op).await.expect("change the role");
    tt.remove_partner_asset("7000000000000000099", AD, &op).await.expect("revoke by raw id");
    let gone = tt.remove_partner_asset("7000000000000000099", AD, &op).await;
    assert!(matches!(gone, Err(ConnectorError::NotFound(_))), "{gone:?}");
    let bad_role = tt.set_partner_asset("7000000000000000099", "Spring catalog", "OPERATOR", &op).await;
    assert!(matches!(bad_role, Err(ConnectorError::Permanent(_))), "{bad_role:?}");
    let writes: Vec<(String, Value)> = tiktok
        .calls()
        .await
        .iter()
        .filter(|c| c.is_write())
        .map(|c| (c.endpoint.clone().unwrap_or_default(), c.request_body.clone().unwrap_or_default()))
        .collect();
    println!("partner writes: {writes:?}");
    assert_eq!(writes.len(), 4, "one call per change (the refused role sent nothing)");
    assert_eq!(
        writes[0].1,
        json!({"bc_id": BC_ID, "partner_id": "7000000000000000099", "asset_type": "CATALOG", "asset_ids": [CATALOG], "catalog_role": "AD_PROMOTE"})
    );
    assert_eq!(writes[1].1["advertiser_role"], "OPERATOR");
    assert_eq!(writes[2].0, "bc/partner/asset/delete/");
    let partners = tt.list_partners().await.expect("partners");
    assert_eq!(partners[0].assets, [("Spring catalog".to_string(), "AD_PROMOTE".to_string())].into());
    let undocumented = undocumented_fields(&tiktok.calls().await);
    assert!(undocumented.is_empty(), "{undocumented:?}");
}

#[tokio::test]
async fn the_connector_assigns_exactly_the_difference_and_names_a_missing_permission() {
    let tiktok = standin_with_assets().await;
    tiktok.add_asset("TT_ACCOUNT", "@acme", "7300000000000000001").await;
    let member = tiktok.seed_member("cy@acme.io", "STANDARD", &[(AD, json!("ANALYST")), (CATALOG, json!("ADMIN"))]).await;
    let user_id = member["user_id"].as_str().expect("id").to_string();
    let tt = connector(&tiktok, Arc::new(Pacer::new("test/assign")));
    let op = OperationId::of("hub", "partner@acme.io", OperationKind::UpdateAccess, "2026-12-03T08:00:00Z");
    let accounts = tt.list_accounts().await.expect("accounts");
    let cy = accounts.iter().find(|a| a.email == "cy@acme.io").expect("cy listed");
    assert_eq!(cy.id, format!("user:{user_id}"));
    assert_eq!(
        cy.access.assets,
        [("Brand US".to_string(), "ANALYST".to_string()), ("Spring catalog".to_string(), "ADMIN".to_string())].into()
    );

    // The ad account's role changes, the catalog goes: two calls.
    tiktok.clear_calls().await;
    let access = rolecall::connector::Access {
        roles: ["STANDARD".to_string()].into(),
        assets: [("Brand US".to_string(), "OPERATOR".to_string())].into(),
    };
    tt.update_access(&cy.id, &access, &op).await.expect("update");
    let writes: Vec<String> =
        tiktok.calls().await.iter().filter(|c| c.is_write()).map(|c| c.endpoint.clone().unwrap_or_default()).collect();
    assert_eq!(writes, ["bc/asset/assign/", "bc/asset/unassign/"]);
    assert_eq!(tiktok.holdings(&user_id).await, [(AD.to_string(), json!("OPERATOR"))].into());
    // Again: nothing to do, no write.
    tiktok.clear_calls().await;
    tt.update_access(&cy.id, &access, &op).await.expect("update");
    assert_eq!(tiktok.calls().await.iter().filter(|c| c.is_write()).count(), 0);
    // An asset the Business Center does not have is refused before any call.
    let unknown =
        rolecall::connector::Access { roles: ["STANDARD".to_string()].into(), assets: [("Nope".to_string(), "ADMIN".to_string())].into() };
    assert!(matches!(tt.update_access(&cy.id, &unknown, &op).await, Err(ConnectorError::Permanent(m)) if m.contains("Nope")));
    // An add of a member that exists already.
    let again = rolecall::connector::NewAccount {
        email: "CY@acme.io".into(),
        display_name: None,
        given_name: None,
        family_name: None,
        access: access.clone(),
    };
    assert!(matches!(tt.add_account(&again, &op).await, Err(ConnectorError::AlreadyExists(_))));
    // Without the asset permission: Auth, naming it.
    tiktok.set_scopes(&["Business Center Management", "BC Member Management", "BC Partner Management"]).await;
    let refused = tt.list_accounts().await;
    assert!(matches!(&refused, Err(ConnectorError::Auth(m)) if m.contains("BC Asset Management")), "{refused:?}");
}
