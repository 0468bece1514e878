//! An app that fails every call, many in a row, on one hub: the hub backs off
//! (each wait at most its `maxBackoff`), its `Connected` condition says why it
//! waits (reason `BackingOff`, with the count and the last failure), the other
//! hub granted to the same people is done while this one still fails, and once
//! the app answers again the hub converges. The growth of the wait is the
//! pacer's unit tests' to show (jitter makes single waits random); this run
//! shows the ceiling, the condition and the recovery end to end.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::Api;
use rolecall::api::BusinessHub;
use rolecall::api::app_account::AccountState;
use rolecall::api::condition::Condition;
use rolecall::api::wire::condition::CONNECTED;

use crate::harness::{Operator, client, wait_for};
use crate::proxy::{Fault, RecordingProxy};
use crate::scim_app::ScimApp;
use crate::world::{LIMIT, state, world};

const PEOPLE: usize = 5;
/// The failing hub's `spec.connector.maxBackoff`.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Failures in a row: 8 in `make test`, more with `CHAOS_BACKOFF_FAULTS` (`make chaos` uses 30).
fn faults() -> usize {
    std::env::var("CHAOS_BACKOFF_FAULTS").ok().and_then(|v| v.parse().ok()).unwrap_or(8)
}

async fn connected(hubs: &Api<BusinessHub>, hub: &str) -> Option<Condition> {
    let hub = hubs.get(hub).await.ok()?;
    hub.status?.conditions.into_iter().find(|c| c.type_ == CONNECTED)
}

#[tokio::test]
async fn an_app_failing_every_call_is_backed_off_up_to_a_ceiling_with_the_reason_shown_and_converges_once_it_answers() {
    let faults = faults();
    let w = world("chaos-backoff").await;
    let team = w.idp_team("Everyone", "b", PEOPLE).await;
    let healthy = ScimApp::start().await;
    let healthy_proxy = RecordingProxy::start(healthy.addr);
    let spec = "  mode: Enforce\n  syncInterval: 500ms\n";
    w.scim_hub_with("failing", &w.app_url(), "", &format!("maxBackoff: {}ms", MAX_BACKOFF.as_millis()), spec);
    w.scim_hub("healthy", &format!("http://{}{}", healthy_proxy.addr, healthy.base_path), "", spec);
    // Every call fails, `faults` times in a row; then the app is well again.
    w.proxy.fault_every(1, vec![Fault::status(503, None); faults]);
    w.grant("everyone-failing", &team, "member", "failing");
    w.grant("everyone-healthy", &team, "member", "healthy");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);

    // While the app fails: what the hub's condition says, and the other hub's progress.
    let hubs: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    let healthy_done = || async {
        for i in 0..PEOPLE {
            let account = w.account_on("healthy", &format!("b{i:02}@acme.io")).await;
            if account.is_none_or(|a| state(&a) != Some(AccountState::Onboarded)) {
                return false;
            }
        }
        true
    };
    let (mut reasons, mut most_in_a_row, mut healthy_done_while_failing) = (BTreeSet::new(), 0usize, false);
    // Bounded: each failure comes within the ceiling and a reconcile's round.
    let deadline = std::time::Instant::now() + LIMIT;
    while w.proxy.injections_left() > 0 {
        assert!(std::time::Instant::now() < deadline, "the failures were not all given within {LIMIT:?}");
        if let Some(c) = connected(&hubs, "failing").await
            && c.status.as_ref() == "False"
        {
            let count = c.message.split("failed ").nth(1).and_then(|m| m.split(' ').next()).and_then(|n| n.parse().ok());
            most_in_a_row = most_in_a_row.max(count.unwrap_or(0));
            reasons.insert(c.reason);
        }
        if !healthy_done_while_failing {
            // Done while the app still had failures to give.
            healthy_done_while_failing = healthy_done().await && w.proxy.injections_left() > 0;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..PEOPLE {
        let email = format!("b{i:02}@acme.io");
        for hub in ["healthy", "failing"] {
            wait_for(LIMIT, &format!("{hub}/{email} Onboarded"), || async {
                w.account_on(hub, &email).await.is_some_and(|a| state(&a) == Some(AccountState::Onboarded))
            })
            .await;
        }
    }
    wait_for(LIMIT, "Connected again", || async { connected(&hubs, "failing").await.is_some_and(|c| c.status.as_ref() == "True") }).await;
    operator.wait_read_backs(2).await;

    // The waits between failed calls, from the app's side: never longer than the ceiling
    // (plus the time a reconcile takes to come round: the 500 ms interval and slack).
    let seen = w.proxy.seen();
    let failed: Vec<_> = seen.iter().filter(|s| s.status == 503).collect();
    let gaps: Vec<Duration> = failed.windows(2).map(|p| p[1].at.duration_since(p[0].answered_at)).collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    let creates = seen.iter().filter(|s| s.method == "POST" && s.status == 201).count();
    println!(
        "backoff: {} failures in a row on one hub; longest wait between them {:.2}s (ceiling {:?}); the hub's Connected reasons {reasons:?}, at most {most_in_a_row} failures in a row shown; the other hub done while it failed: {healthy_done_while_failing}; then {creates} creates for {PEOPLE} people, {} failures on the other hub",
        failed.len(),
        longest.as_secs_f64(),
        MAX_BACKOFF,
        healthy_proxy.seen().iter().filter(|s| s.status >= 400).count()
    );
    assert_eq!(failed.len(), faults);
    assert!(longest <= MAX_BACKOFF + Duration::from_millis(1500), "a wait beyond the ceiling: {gaps:?}");
    assert!(reasons.contains("BackingOff"), "the condition says the hub is backing off: {reasons:?}");
    assert!(most_in_a_row >= 2, "the condition counts the failures in a row");
    assert!(healthy_done_while_failing, "the other hub was not held up");
    assert_eq!(creates, PEOPLE);
    assert_eq!(healthy_proxy.seen().iter().filter(|s| s.status >= 400).count(), 0);
}
