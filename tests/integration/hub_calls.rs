//! What the operator sends to apps, end to end (operator process, real API
//! server, `scim2-server` behind a recording proxy): a hub sends nothing before
//! the retry time its app named, other hubs keep their pace, and group-mapped
//! roles leave the app's own groups alone.

use std::time::{Duration, Instant};

use rolecall::api::AppAccount;
use rolecall::api::app_account::AccountState;

use crate::harness::{Operator, wait_for};
use crate::proxy::{RecordingProxy, Seen};
use crate::scim_app::ScimApp;
use crate::world::{Workspace, external_id, state, workspace};

const LIMIT: Duration = Duration::from_secs(90);

/// An app behind its recording proxy.
struct App {
    app: ScimApp,
    proxy: RecordingProxy,
}

impl App {
    async fn start() -> App {
        let app = ScimApp::start().await;
        let proxy = RecordingProxy::start(app.addr);
        App { app, proxy }
    }
}

/// A SCIM hub in Enforce mode on `app`, read back every `interval`; `scim` is the connector's `scim:` settings.
fn hub(w: &Workspace, name: &str, app: &App, interval: &str, scim: &str) {
    let url = format!("http://{}{}", app.proxy.addr, app.app.base_path);
    w.scim_hub(name, &url, scim, &format!("  mode: Enforce\n  syncInterval: {interval}\n"));
}

async fn wait_account(w: &Workspace, hub: &str, email: &str, what: &str, check: impl Fn(&AppAccount) -> bool) {
    wait_for(LIMIT, &format!("{hub}/{email}: {what}"), || async { w.account_on(hub, email).await.is_some_and(|a| check(&a)) }).await;
}

fn in_app_roles(a: &AppAccount) -> Vec<String> {
    a.status.as_ref().and_then(|s| s.in_app.as_ref()).map(|i| i.app_roles.clone()).unwrap_or_default()
}

/// A read-back page: GET /Users without a filter.
fn is_read_back(s: &Seen) -> bool {
    s.method == "GET" && s.route().ends_with("/Users") && !s.path.contains("filter=")
}

/// Prints what an app received, relative to `origin`.
fn print_calls(label: &str, seen: &[Seen], origin: Instant) {
    println!("{label}:");
    for s in seen {
        let ms = |t: Instant| {
            t.checked_duration_since(origin).map(|d| d.as_millis() as i64).unwrap_or_else(|| -(origin.duration_since(t).as_millis() as i64))
        };
        println!("  {:>+7} ms  {:<6} {:<60} -> {}", ms(s.at), s.method, s.path.chars().take(60).collect::<String>(), s.status);
    }
}

/// The injected answer `status` that `proxy` gave, once it has given it.
async fn injected(proxy: &RecordingProxy, status: u16) -> Seen {
    wait_for(LIMIT, &format!("the proxy to answer {status}"), || async { proxy.injections_left() == 0 }).await;
    proxy.seen().into_iter().find(|s| s.status == status).expect("the injected answer is recorded")
}

/// Waits until `proxy` has recorded `n` more requests after `after` (the event that would show a call too early).
async fn wait_requests_after(proxy: &RecordingProxy, after: Instant, n: usize, what: &str) {
    wait_for(LIMIT, what, || async { proxy.seen().iter().filter(|s| s.at > after).count() >= n }).await;
}

#[tokio::test]
async fn a_hub_sends_nothing_before_its_apps_retry_time_and_other_hubs_keep_their_pace() {
    let w = workspace("hub-pacing", "").await;
    let slow = App::start().await;
    let steady = App::start().await;
    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    hub(&w, "slow", &slow, "2s", "");
    hub(&w, "steady", &steady, "1s", "");
    w.grant("eng-slow", &eng, "member", "slow");
    w.grant("eng-steady", &eng, "member", "steady");
    let operator = Operator::start(&w.ns, "rolecall", "op-pacing", &["--resync", "2s"]);
    for hub in ["slow", "steady"] {
        wait_account(&w, hub, "alice@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }

    // 1. A read-back answered 429 with Retry-After: 2.
    slow.proxy.answer_next(
        Box::new(|method, path| method == "GET" && path.split('?').next().unwrap_or("").ends_with("/Users") && !path.contains("filter=")),
        429,
        Some("2"),
    );
    let limited = injected(&slow.proxy, 429).await;
    let hold_end = limited.answered_at + Duration::from_secs(2);
    // Three more requests to the slow app, and a read-back of the steady app after the hold: the events that would show a breach.
    wait_requests_after(&slow.proxy, limited.answered_at, 3, "three more requests to the slow app").await;
    wait_for(LIMIT, "a steady read-back after the slow hub's hold", || async {
        steady.proxy.seen().iter().any(|s| is_read_back(s) && s.at > hold_end)
    })
    .await;
    let origin = limited.answered_at;
    let slow_seen: Vec<Seen> = slow.proxy.seen().into_iter().filter(|s| s.at + Duration::from_secs(6) > origin).collect();
    let steady_seen: Vec<Seen> = steady
        .proxy
        .seen()
        .into_iter()
        .filter(|s| s.at + Duration::from_secs(6) > origin && s.at < hold_end + Duration::from_secs(3))
        .collect();
    print_calls("the slow app (429 Retry-After: 2 at +0 ms)", &slow_seen, origin);
    print_calls("the steady app, same time frame", &steady_seen, origin);
    for s in slow.proxy.seen().iter().filter(|s| s.at >= limited.answered_at) {
        assert!(s.at >= hold_end, "{} {} came {:?} after the 429, before its retry time", s.method, s.path, s.at - limited.answered_at);
    }
    let steady_in_hold = steady.proxy.seen().iter().filter(|s| is_read_back(s) && s.at > limited.answered_at && s.at < hold_end).count();
    assert!(steady_in_hold >= 1, "the steady hub kept reading back while the slow one was held");

    // 2. A write answered 503 with Retry-After: 7 (longer than a call waits: the hub is requeued, nothing is sent).
    slow.proxy.answer_next(
        Box::new(|method, path| method == "POST" && path.split('?').next().unwrap_or("").ends_with("/Users")),
        503,
        Some("7"),
    );
    w.idp_members(&eng, "add", &bob).await;
    let unavailable = injected(&slow.proxy, 503).await;
    let hold_end = unavailable.answered_at + Duration::from_secs(7);
    wait_account(&w, "slow", "bob@acme.io", "Onboarded after the hold", |a| state(a) == Some(AccountState::Onboarded)).await;
    wait_account(&w, "steady", "bob@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    wait_requests_after(&slow.proxy, unavailable.answered_at, 3, "three more requests to the slow app").await;
    let origin = unavailable.answered_at;
    let slow_seen: Vec<Seen> = slow.proxy.seen().into_iter().filter(|s| s.at + Duration::from_secs(3) > origin).collect();
    let steady_seen: Vec<Seen> = steady
        .proxy
        .seen()
        .into_iter()
        .filter(|s| s.at + Duration::from_secs(3) > origin && s.at < hold_end + Duration::from_secs(2))
        .collect();
    print_calls("the slow app (POST /Users answered 503 Retry-After: 7 at +0 ms)", &slow_seen, origin);
    print_calls("the steady app, same time frame", &steady_seen, origin);
    for s in slow.proxy.seen().iter().filter(|s| s.at >= unavailable.answered_at) {
        assert!(s.at >= hold_end, "{} {} came {:?} after the 503, before its retry time", s.method, s.path, s.at - unavailable.answered_at);
    }
    let bob_posts = slow.proxy.seen().iter().filter(|s| s.method == "POST" && s.route().ends_with("/Users")).count();
    assert_eq!(bob_posts, 3, "alice's add, bob's refused add and bob's add after the hold");
    let steady_in_hold =
        steady.proxy.seen().iter().filter(|s| is_read_back(s) && s.at > unavailable.answered_at && s.at < hold_end).count();
    assert!(steady_in_hold >= 2, "the steady hub kept reading back while the slow one was held: {steady_in_hold}");

    // The operator said why it waited.
    drop(operator);
    let log = std::fs::read_to_string(format!("{}/operator-{}-op-pacing.log", std::env::var("ROLECALL_TESTENV").unwrap_or_default(), w.ns))
        .unwrap_or_default();
    let held: Vec<&str> = log.lines().filter(|l| l.contains("holding") || l.contains("retry time")).collect();
    println!("operator log lines about pacing:\n{}", held.join("\n"));
    assert!(log.contains("not calling the app before its retry time"), "a long hold is refused without a call");
    assert!(log.contains("holding a call to the app"), "a short hold is waited out");
}

#[tokio::test]
async fn group_mapped_roles_leave_the_apps_own_groups_alone() {
    let w = workspace("group-roles", "").await;
    let app = App::start().await;
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    let leads = w.idp_group("Leads", &[]).await;
    hub(&w, "groups", &app, "2s", "roleMapping: GroupMembership");
    w.grant("eng", &eng, "member", "groups");
    w.grant("leads", &leads, "admin", "groups");
    let _operator = Operator::start(&w.ns, "rolecall", "op-groups", &["--resync", "2s"]);
    wait_account(&w, "groups", "alice@acme.io", "Onboarded as member", |a| {
        state(a) == Some(AccountState::Onboarded) && in_app_roles(a) == ["member"]
    })
    .await;
    let alice_id = external_id(&w.account_on("groups", "alice@acme.io").await.expect("alice"));

    // The app's admin puts alice in the app's own groups; none is in the hub's catalog.
    let everyone = app.app.create_group("Everyone", &[&alice_id]).await;
    let billing = app.app.create_group("Billing", &[&alice_id]).await;
    let before = Instant::now();
    // Two read-backs that see those groups: alice's roles stay "member", and nothing is written.
    let group_reads = || app.proxy.seen().iter().filter(|s| s.method == "GET" && s.route().ends_with("/Groups") && s.at > before).count();
    wait_for(LIMIT, "two read-backs of the groups", || async { group_reads() >= 2 }).await;
    let account = w.account_on("groups", "alice@acme.io").await.expect("alice");
    assert_eq!(in_app_roles(&account), ["member"], "the app's own groups are not roles");
    assert!(app.proxy.writes().iter().all(|s| s.at < before), "nothing written: {:?}", app.proxy.writes());

    // alice becomes a lead: her role changes to admin.
    let changed = Instant::now();
    w.idp_members(&leads, "add", &alice).await;
    wait_account(&w, "groups", "alice@acme.io", "updated to admin", |a| in_app_roles(a) == ["admin"]).await;
    let reads_now = group_reads();
    wait_for(LIMIT, "two more read-backs of the groups", || async { group_reads() >= reads_now + 2 }).await;
    let account = w.account_on("groups", "alice@acme.io").await.expect("alice");
    assert_eq!((in_app_roles(&account), state(&account)), (vec!["admin".to_string()], Some(AccountState::Onboarded)));

    let seen: Vec<Seen> = app.proxy.seen().into_iter().filter(|s| s.at > changed).collect();
    println!("what the app received from the role change on:");
    for s in &seen {
        println!("  {:>6} ms  {:<6} {} -> {} {}", s.at.duration_since(changed).as_millis(), s.method, s.path, s.status, s.body);
    }
    let groups = app.app.groups().await;
    println!("the app's groups: {groups:?}");
    for name in ["Everyone", "Billing", "admin"] {
        assert_eq!(groups.get(name), Some(&vec![alice_id.clone()]), "alice is in {name}: {groups:?}");
    }
    assert_eq!(groups.get("member"), Some(&vec![]), "alice left the member group: {groups:?}");
    let writes = app.proxy.writes();
    assert!(
        writes.iter().all(|s| !s.path.contains(&everyone) && !s.path.contains(&billing)),
        "the app's own groups were written: {writes:?}"
    );
}
