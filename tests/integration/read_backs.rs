//! Read-backs that run beside a hub's syncs (after its first), at their edges:
//! one that fails shows on the hub and costs no seat, and one that outlives
//! its hub never reaches a hub made again under the same name.

use std::time::{Duration, Instant};

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::DeleteParams;
use rolecall::api::BusinessHub;
use rolecall::api::app_account::AccountState;

use crate::harness::{Operator, client, wait_for};
use crate::proxy::{Fault, Seen};
use crate::world::{LIMIT, World, state, world};

/// The hub's connector timeout: a held read-back fails after this long.
const TIMEOUT_SECS: u64 = 3;

/// A read-back page: GET /Users without a filter.
fn is_read_back(s: &Seen) -> bool {
    s.method == "GET" && s.route().ends_with("/Users") && !s.path.contains("filter=")
}

fn is_list(method: &str, path: &str) -> bool {
    method == "GET" && path.contains("/Users?") && !path.contains("filter=")
}

/// A hub `app` in Enforce read back every 2 s, a team of ann and bob granted on it, both seated.
async fn seated(name: &str) -> (World, Operator) {
    let w = world(name).await;
    let operator = Operator::start(&w.ns, "rolecall", "solo", &[]);
    let ann = w.idp_user("ann").await;
    let bob = w.idp_user("bob").await;
    let eng = w.idp_group("Engineering", &[&ann, &bob]).await;
    make_hub(&w);
    w.grant("eng-app", &eng, "member", "app");
    for email in ["ann@acme.io", "bob@acme.io"] {
        w.wait_account(email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
    (w, operator)
}

fn make_hub(w: &World) {
    let spec = "  mode: Enforce\n  syncInterval: 2s\n";
    w.ws.scim_hub_with("app", &w.app_url(), "", &format!("timeout: {TIMEOUT_SECS}s, maxBackoff: 2s"), spec);
}

/// Warning Events about the hub `app` whose note says a read-back failed, as (hub uid, note).
async fn read_back_warnings(ns: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client().await, ns);
    let events = api.list(&Default::default()).await.expect("events").items;
    events
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| e.regarding.as_ref().is_some_and(|r| r.kind.as_deref() == Some("BusinessHub") && r.name.as_deref() == Some("app")))
        .filter(|e| e.note.as_deref().is_some_and(|n| n.contains("reading the accounts back failed")))
        .map(|e| (e.regarding.and_then(|r| r.uid).unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn a_read_back_beside_the_syncs_that_fails_shows_on_the_hub_costs_no_seat_and_recovers() {
    let (w, _operator) = seated("readback-fails").await;
    let writes = w.proxy.writes().len();
    let read_backs = w.proxy.count(is_read_back);
    // The next read-back (beside the syncs: the first was inline) gets a server error.
    w.proxy.answer_next(Box::new(is_list), 500, None);
    let proxy = &w.proxy;
    wait_for(LIMIT, "the failing read-back", || async { proxy.injections_left() == 0 }).await;
    let ns = w.ns.clone();
    wait_for(LIMIT, "a Warning Event saying the read-back failed", || async { !read_back_warnings(&ns).await.is_empty() }).await;
    // Recovered: a later read-back answered, and the hub says so.
    wait_for(LIMIT, "two more read-backs", || async { proxy.count(is_read_back) >= read_backs + 3 }).await;
    wait_for(LIMIT, "Connected=True again", || async { w.hub_condition("app", "Connected").await.as_deref() == Some("True") }).await;
    let warnings = read_back_warnings(&w.ns).await;
    assert_eq!(warnings.len(), 1, "one failure, one Warning: {warnings:?}");
    assert!(warnings[0].1.contains("500"), "the Warning names the app's answer: {}", warnings[0].1);
    let after: Vec<Seen> = w.proxy.writes().into_iter().skip(writes).collect();
    assert!(after.is_empty(), "a failed read-back made the operator write to the app: {after:?}");
    for email in ["ann@acme.io", "bob@acme.io"] {
        let account = w.account(email).await.expect("account");
        assert_eq!(state(&account), Some(AccountState::Onboarded), "{email}");
    }
}

#[tokio::test]
async fn a_read_back_that_outlives_its_hub_never_reaches_the_hub_made_again_under_its_name() {
    let (w, _operator) = seated("readback-hub-gone").await;
    let hubs: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    let old_uid = hubs.get("app").await.expect("hub").metadata.uid.expect("uid");
    // The next read-back hangs until the connector gives up (TIMEOUT_SECS), then fails.
    w.proxy.fault_next(Box::new(is_list), Fault::Hold { forwarded: false });
    let proxy = &w.proxy;
    wait_for(LIMIT, "the held read-back", || async { proxy.injections_left() == 0 }).await;
    let held_at = Instant::now();
    // While it hangs, the hub is deleted and made again under its name.
    hubs.delete("app", &DeleteParams::default()).await.expect("delete hub");
    wait_for(LIMIT, "the old hub to go", || async { hubs.get_opt("app").await.ok().flatten().is_none() }).await;
    make_hub(&w);
    wait_for(LIMIT, "the new hub", || async { hubs.get_opt("app").await.ok().flatten().is_some() }).await;
    let new_uid = hubs.get("app").await.expect("hub").metadata.uid.expect("uid");
    assert_ne!(new_uid, old_uid);
    // The held read-back fails; then the new hub reads its app back three more times.
    let hold_ends = Duration::from_secs(TIMEOUT_SECS + 1);
    wait_for(LIMIT, "the held read-back to fail", || async { held_at.elapsed() > hold_ends }).await;
    let after_hold = proxy.count(is_read_back);
    wait_for(LIMIT, "three read-backs of the new hub", || async { proxy.count(is_read_back) >= after_hold + 3 }).await;
    let warnings = read_back_warnings(&w.ns).await;
    assert!(warnings.iter().all(|(uid, _)| *uid != new_uid), "the new hub took the old hub's failed read-back: {warnings:?}");
    assert_eq!(w.hub_condition("app", "Connected").await.as_deref(), Some("True"));
}
