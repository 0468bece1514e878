//! Connector faults beyond status codes, on one hub, with another hub granted
//! to the same people unaffected: calls held past the connector's timeout
//! (before and after the app made the change), connections dropped (before and
//! after), 200/201 answers whose body is not JSON or breaks off, and 429s that
//! name their time in `X-RateLimit-Reset`, `RateLimit-Reset` or an HTTP-date
//! `Retry-After`. The first creates get the faults that hide a change the app
//! made (the operator hears nothing, or nothing readable); the rest fall on
//! every other call, whatever it is; once every seat is in place, read-backs
//! get a list that is not JSON, breaks off or never arrives. Judged by what the apps recorded: one
//! create per person, no duplicate account, no removal, every seat; no call to
//! the faulty app inside a time a 429 named; the healthy hub saw no failure and
//! was done before the faulty hub's injected waits were.

use std::collections::BTreeMap;
use std::time::Duration;

use rolecall::api::app_account::AccountState;

use crate::harness::{Operator, wait_for};
use crate::proxy::{Fault, RecordingProxy, ResetHeader, Seen};
use crate::scim_app::ScimApp;
use crate::world::{LIMIT, state, world};

/// The faulty hub's `spec.connector.timeout`: a held call costs this long.
const TIMEOUT_SECS: u64 = 1;
/// The wait each injected 429 names.
const RESET_SECS: u64 = 2;

/// Rounds of every fault kind: 1 in `make test`, more with `CHAOS_FAULT_ROUNDS` (12 people per round).
fn rounds() -> usize {
    std::env::var("CHAOS_FAULT_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

fn is_create(method: &str, path: &str) -> bool {
    method == "POST" && path.split('?').next().unwrap_or("").ends_with("/Users")
}

/// A SCIM PATCH that deactivates, or a DELETE: a removal.
fn is_removal(s: &Seen) -> bool {
    s.method == "DELETE" || (s.method == "PATCH" && s.body.replace(' ', "").contains(r#""path":"active","value":false"#))
}

#[tokio::test]
async fn timeouts_dropped_connections_and_broken_answers_on_one_hub_cost_no_seat_and_send_nothing_twice() {
    let rounds = rounds();
    let people = 12 * rounds;
    let w = world("chaos-network").await;
    let team = w.idp_team("Everyone", "n", people).await;
    let healthy = ScimApp::start().await;
    let healthy_proxy = RecordingProxy::start(healthy.addr);
    let spec = "  mode: Enforce\n  syncInterval: 500ms\n";
    w.scim_hub_with("faulty", &w.app_url(), "", &format!("timeout: {TIMEOUT_SECS}s, maxBackoff: 2s"), spec);
    w.scim_hub("healthy", &format!("http://{}{}", healthy_proxy.addr, healthy.base_path), "", spec);

    // The faults that hide a change the app made, on the first creates.
    for _ in 0..rounds {
        for fault in [Fault::Hold { forwarded: true }, Fault::Drop { forwarded: true }, Fault::NotJson, Fault::Truncated] {
            w.proxy.fault_next(Box::new(is_create), fault);
        }
    }
    // Every kind on every other call, whatever it is, in an order drawn from a fixed seed.
    let mut every = Vec::new();
    for _ in 0..rounds {
        every.extend([
            Fault::Hold { forwarded: false },
            Fault::Drop { forwarded: false },
            Fault::Drop { forwarded: true },
            Fault::NotJson,
            Fault::Truncated,
            Fault::RateLimit { header: ResetHeader::XRateLimitReset, secs: RESET_SECS },
            Fault::RateLimit { header: ResetHeader::RateLimitReset, secs: RESET_SECS },
            Fault::RateLimit { header: ResetHeader::RetryAfterDate, secs: RESET_SECS },
        ]);
    }
    let mut seed: u64 = 0x0dd_ba11;
    for i in (1..every.len()).rev() {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        every.swap(i, (seed >> 33) as usize % (i + 1));
    }
    let injected = 4 * rounds + every.len() + 3 * rounds;
    w.proxy.fault_every(2, every);
    w.grant("everyone-faulty", &team, "member", "faulty");
    w.grant("everyone-healthy", &team, "member", "healthy");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);

    for i in 0..people {
        let email = format!("n{i:02}@acme.io");
        for hub in ["healthy", "faulty"] {
            wait_for(LIMIT, &format!("{hub}/{email} Onboarded"), || async {
                w.account_on(hub, &email).await.is_some_and(|a| state(&a) == Some(AccountState::Onboarded))
            })
            .await;
        }
    }
    wait_for(LIMIT, "every fault given", || async { w.proxy.injections_left() == 0 }).await;
    // With every account in place, read-backs whose list breaks: taken as whole, an
    // empty or partial list would make the accounts look gone and be invited again.
    for _ in 0..rounds {
        for fault in [Fault::NotJson, Fault::Truncated, Fault::Drop { forwarded: true }] {
            w.proxy.fault_next(Box::new(|method, path| method == "GET" && path.contains("/Users?")), fault);
        }
    }
    wait_for(LIMIT, "the read-back faults given", || async { w.proxy.injections_left() == 0 }).await;
    operator.wait_read_backs(2).await;

    // Judged by what the apps recorded.
    let seen = w.proxy.seen();
    // Every call the faulty app got, for reading a run (`CHAOS_TRACE=1`).
    if std::env::var("CHAOS_TRACE").is_ok() {
        for s in &seen {
            println!(
                "trace: {:>6} ms {:>4} {} {} {:?}",
                s.at.duration_since(seen[0].at).as_millis(),
                s.status,
                s.method,
                s.route(),
                s.fault.as_ref().map(Fault::kind)
            );
        }
    }
    let faulted: Vec<&Seen> = seen.iter().filter(|s| s.fault.is_some()).collect();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for s in &faulted {
        *by_kind.entry(s.fault.as_ref().map(Fault::kind).unwrap_or_default()).or_default() += 1;
    }
    let hidden_creates = faulted.iter().filter(|s| s.forwarded && is_create(&s.method, &s.path)).count();
    let creates = seen.iter().filter(|s| s.forwarded && is_create(&s.method, &s.path)).count();
    let conflicts = seen.iter().filter(|s| s.status == 409).count();
    let removals = seen.iter().filter(|s| is_removal(s)).count();
    let app_users = w.app.users().await;
    let mut emails: Vec<String> = app_users.iter().map(|u| u.email.to_lowercase()).collect();
    emails.sort();
    emails.dedup();
    let inactive = app_users.iter().filter(|u| !u.active).count();
    // No call reached the app between a 429 (plus the calls already under way) and the time it named.
    let limits: Vec<&Seen> = faulted.iter().copied().filter(|s| matches!(s.fault, Some(Fault::RateLimit { .. }))).collect();
    let inside_limits = limits
        .iter()
        .map(|l| {
            let (from, to) = (l.answered_at + Duration::from_millis(300), l.answered_at + Duration::from_millis(900));
            seen.iter().filter(|s| s.at > from && s.at < to).count()
        })
        .sum::<usize>();
    // The healthy hub: no failure, and done before the waits put on the faulty one were.
    let healthy_seen = healthy_proxy.seen();
    let healthy_failures = healthy_seen.iter().filter(|s| s.status >= 400 || s.status == 0).count();
    let healthy_start = healthy_seen.iter().map(|s| s.at).min().expect("the healthy hub was called");
    let healthy_done = healthy_seen.iter().filter(|s| is_create(&s.method, &s.path)).map(|s| s.answered_at).max().expect("creates");
    let healthy_rollout = healthy_done.duration_since(healthy_start);
    let held: Duration = faulted
        .iter()
        .map(|s| match s.fault {
            Some(Fault::Hold { .. }) => s.answered_at.duration_since(s.at),
            Some(Fault::RateLimit { .. }) => Duration::from_secs(RESET_SECS - 1),
            _ => Duration::ZERO,
        })
        .sum();
    println!(
        "network: {} faults on the faulty hub ({by_kind:?}), {hidden_creates} of them on creates the app made; {creates} creates reached the app for {people} people ({} duplicate), {conflicts} conflicts, {} accounts ({} distinct, {inactive} inactive), {removals} removals; {inside_limits} calls inside the {} waits 429s named; the healthy hub: {} calls, {healthy_failures} failed, its rollout took {:.1}s against at least {:.1}s of waits put on the faulty hub",
        faulted.len(),
        creates.saturating_sub(people),
        app_users.len(),
        emails.len(),
        limits.len(),
        healthy_seen.len(),
        healthy_rollout.as_secs_f64(),
        held.as_secs_f64()
    );
    assert_eq!(faulted.len(), injected, "every fault was given");
    assert!(hidden_creates >= 4 * rounds, "the first creates got the faults that hide them");
    assert_eq!(creates, people, "one create per person: none repeated after a fault hid it");
    assert_eq!((conflicts, removals, inactive), (0, 0, 0), "no duplicate attempt, no removal the plan did not call for");
    assert_eq!((app_users.len(), emails.len()), (people, people), "every seat, once");
    assert_eq!(inside_limits, 0, "nothing sent before the time a 429 named");
    assert_eq!(healthy_failures, 0, "the healthy hub saw no failure");
    assert_eq!(healthy.users().await.len(), people);
    assert!(healthy_rollout < held, "the healthy hub was not held up by the faulty one's waits");
}
