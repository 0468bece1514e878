//! Recovery: an operator killed again and again while a rollout is announced
//! but not yet made converges like a fresh one: one invitation per person, no
//! duplicate create, no look-up or page walk per invitation.

use kube::Api;
use rolecall::api::AppAccount;
use rolecall::api::app_account::AccountState;

use crate::harness::{Operator, client, wait_for};
use crate::world::{LIMIT, announced, state, world};

const PEOPLE: usize = 60;
const KILLS: usize = 3;

#[tokio::test]
async fn an_operator_killed_with_a_rollout_announced_converges_without_look_ups_or_duplicates() {
    let w = world("recovery-announced").await;
    let eng = w.idp_team("Engineering", "r", PEOPLE).await;
    w.hub("app", "Enforce", "");
    w.grant("engineering", &eng, "member", "app");
    let flags = ["--resync", "2s", "--lease-duration", "1s", "--lease-retry", "300ms"];
    let accounts: Api<AppAccount> = Api::namespaced(client().await, &w.ns);

    // Each time the rollout is announced (calls recorded as about to be made), kill the operator.
    for kill in 0..KILLS {
        let mut operator = Operator::start(&w.ns, "rolecall", &format!("op-{kill}"), &flags);
        wait_for(LIMIT, "calls announced", || async {
            accounts.list(&Default::default()).await.is_ok_and(|l| l.items.iter().any(announced))
        })
        .await;
        operator.kill();
    }
    let before_recovery = w.proxy.seen().len();
    let operator = Operator::start(&w.ns, "rolecall", "op-last", &flags);
    for i in 0..PEOPLE {
        w.wait_account(&format!("r{i:02}@acme.io"), "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
    operator.wait_read_backs(2).await;

    let seen = w.proxy.seen();
    let posts = seen.iter().filter(|s| s.method == "POST" && s.route().ends_with("/Users")).count();
    let conflicts = seen.iter().filter(|s| s.status == 409).count();
    let after = &seen[before_recovery..];
    let look_ups = after.iter().filter(|s| s.method == "GET" && s.path.contains("filter=")).count();
    let pages = after.iter().filter(|s| s.method == "GET" && s.route().ends_with("/Users") && !s.path.contains("filter=")).count();
    let reads = operator.metric("rolecall_connector_reads_total");
    println!(
        "recovery: {KILLS} kills with the rollout announced; {posts} POST /Users for {PEOPLE} people, {conflicts} answered 409; \
         after the last start: {look_ups} look-ups, {pages} list pages over {reads} read-backs"
    );
    assert_eq!(posts, PEOPLE, "one create per person, none repeated");
    assert_eq!(conflicts, 0, "no duplicate create attempt");
    assert_eq!(look_ups, 0, "the first read-back after the restart makes every look-up needless");
    assert!(pages as f64 <= reads, "a page walk only per read-back: {pages} pages, {reads} read-backs");
    assert_eq!(w.app.users().await.len(), PEOPLE);
}

#[tokio::test]
async fn a_rollout_reports_its_api_writes_per_account_and_none_at_steady_state() {
    let w = world("recovery-write-cost").await;
    let eng = w.idp_team("Engineering", "w", PEOPLE).await;
    w.hub("app", "Enforce", "");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);
    operator.wait_read_backs(2).await;
    let kinds = ["account", "status", "event", "hub", "grant", "user", "team"];
    let writes = |kind: &str| {
        let text = operator.metrics();
        text.lines()
            .filter(|l| l.starts_with("rolecall_api_writes_total{") && l.contains(&format!("kind=\"{kind}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let by_controller = || {
        let text = operator.metrics();
        text.lines().filter(|l| l.starts_with("rolecall_api_writes_total{")).map(str::to_string).collect::<Vec<_>>()
    };
    let before: Vec<f64> = kinds.iter().map(|k| writes(k)).collect();
    let total_before = operator.metric("rolecall_api_writes_total");
    w.grant("engineering", &eng, "member", "app");
    for i in 0..PEOPLE {
        w.wait_account(&format!("w{i:02}@acme.io"), "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
    operator.wait_read_backs(2).await;
    let total = operator.metric("rolecall_api_writes_total") - total_before;
    let per_kind: Vec<String> = kinds.iter().zip(&before).map(|(k, b)| format!("{k} {}", writes(k) - b)).collect();
    println!(
        "rollout of {PEOPLE} accounts: {total} API writes, {:.2} per account ({}); series: {:?}",
        total / PEOPLE as f64,
        per_kind.join(", "),
        by_controller()
    );
    let settled = operator.metric("rolecall_api_writes_total");
    operator.wait_read_backs(3).await;
    assert_eq!(operator.metric("rolecall_api_writes_total"), settled, "API writes at steady state");
}
