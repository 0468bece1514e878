//! The directory's own status, end to end: a Team shows its member count and
//! the grants that name it; a User shows the hubs where it holds a seat, or
//! why it holds none. And what that costs in API writes.

use kube::Api;
use kube::api::DeleteParams;
use rolecall::api::condition::Condition;
use rolecall::api::{AccessGrant, Team, User};
use serde_json::{Value, json};

use crate::harness::{Operator, client, wait_for};
use crate::world::{LIMIT, World, world};

async fn team(w: &World, name: &str) -> Option<Team> {
    Api::<Team>::namespaced(client().await, &w.ns).get(name).await.ok()
}

async fn user(w: &World, name: &str) -> Option<User> {
    Api::<User>::namespaced(client().await, &w.ns).get(name).await.ok()
}

async fn wait_team(w: &World, name: &str, what: &str, check: impl Fn(&rolecall::api::team::TeamStatus) -> bool) {
    wait_for(LIMIT, &format!("team {name}: {what}"), || async { team(w, name).await.and_then(|t| t.status).is_some_and(|s| check(&s)) })
        .await;
}

fn seated(u: &User) -> Option<Condition> {
    u.status.as_ref()?.conditions.iter().find(|c| c.type_ == "Seated").cloned()
}

/// Waits until the user's `Seated` condition has this status and reason.
async fn wait_seated(w: &World, name: &str, status: &str, reason: &str) -> User {
    wait_for(LIMIT, &format!("user {name}: Seated={status} {reason}"), || async {
        user(w, name).await.and_then(|u| seated(&u)).is_some_and(|c| c.status.as_ref() == status && c.reason == reason)
    })
    .await;
    user(w, name).await.expect("the user exists")
}

/// The IdP creates a user as it likes; returns its SCIM id.
async fn idp_user_from(w: &World, body: Value) -> String {
    let (status, created) = w.idp.send("POST", "/Users", body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().expect("id").to_string()
}

/// The sum of the series starting with `prefix`; 0 when there is none, as a
/// counter family shows no series before its first count. The exposition must
/// be there, though: an empty answer is a broken test, never a zero.
fn counted(operator: &Operator, prefix: &str) -> f64 {
    let text = operator.metrics();
    assert!(text.contains("# TYPE rolecall_reconciles counter"), "no metrics from the operator:\n{text}");
    text.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

/// Status writes the operator made for one controller.
fn status_writes(operator: &Operator, controller: &str) -> f64 {
    counted(operator, &format!("rolecall_api_writes_total{{controller=\"{controller}\",kind=\"status\"}}"))
}

/// Failed reconciles of a controller that did reconcile.
fn errors(operator: &Operator, controller: &str) -> f64 {
    assert!(operator.metric(&format!("rolecall_reconciles_total{{controller=\"{controller}\"")) > 0.0, "{controller} never ran");
    counted(operator, &format!("rolecall_reconcile_errors_total{{controller=\"{controller}\""))
}

#[tokio::test]
async fn a_team_counts_its_members_and_lists_its_grants() {
    let w = world("directory-team").await;
    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    let empty = w.idp_group("Nobody", &[]).await;
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "30s"]);
    wait_team(&w, &eng, "1 member, no grant", |s| s.member_count == Some(1) && s.grants.is_empty()).await;
    wait_team(&w, &empty, "0 members", |s| s.member_count == Some(0)).await;

    w.idp_members(&eng, "add", &bob).await;
    wait_team(&w, &eng, "2 members after bob joined", |s| s.member_count == Some(2)).await;
    w.idp_members(&eng, "remove", &alice).await;
    wait_team(&w, &eng, "1 member after alice left", |s| s.member_count == Some(1)).await;

    // A grant naming the team appears in its status, and goes with it.
    w.grant("engineering", &eng, "member", "app");
    w.grant("also-engineering", &eng, "member", "other");
    wait_team(&w, &eng, "two grants, sorted", |s| s.grants == ["also-engineering", "engineering"]).await;
    let grants: Api<AccessGrant> = Api::namespaced(client().await, &w.ns);
    grants.delete("engineering", &DeleteParams::default()).await.expect("delete the grant");
    wait_team(&w, &eng, "one grant left", |s| s.grants == ["also-engineering"]).await;

    // A deleted member is no member.
    let (status, body) = w.idp.send("DELETE", &format!("/Users/{bob}"), Value::Null).await;
    assert_eq!(status, 204, "{body}");
    wait_team(&w, &eng, "0 members after bob was deleted", |s| s.member_count == Some(0)).await;
    assert_eq!(errors(&operator, "team"), 0.0);
}

#[tokio::test]
async fn a_user_shows_where_it_holds_a_seat_or_why_it_holds_none() {
    let w = world("directory-user").await;
    let alice = w.idp_user("alice").await;
    // An Entra user with neither an email nor an address for a userName.
    let no_email = idp_user_from(&w, json!({"userName": "ENG-4711", "active": true})).await;
    let gone = idp_user_from(
        &w,
        json!({"userName": "gone@acme.io", "active": false, "emails": [{"value": "gone@acme.io", "type": "work", "primary": true}]}),
    )
    .await;
    let loner = w.idp_user("loner").await;
    let eng = w.idp_group("Engineering", &[&alice, &no_email, &gone]).await;
    w.hub("app", "Enforce", "");
    w.grant("engineering", &eng, "member", "app");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "30s"]);

    let seated_alice = wait_seated(&w, &alice, "True", "HoldsSeats").await;
    assert_eq!(seated_alice.status.as_ref().map(|s| s.hubs.clone()), Some(vec!["app".to_string()]));
    let c = seated(&seated_alice).expect("Seated");
    assert!(c.message.contains("1 hub: app"), "{}", c.message);
    assert_eq!(seated_alice.status.as_ref().and_then(|s| s.observed_generation), seated_alice.metadata.generation);

    let no_email_user = wait_seated(&w, &no_email, "False", "NoInvitableEmail").await;
    assert!(no_email_user.status.as_ref().is_some_and(|s| s.hubs.is_empty()));
    assert!(seated(&no_email_user).is_some_and(|c| c.message.contains("engineering")), "{:?}", seated(&no_email_user));
    wait_seated(&w, &gone, "False", "Deactivated").await;
    wait_seated(&w, &loner, "False", "NoGrant").await;

    // The loner joins the team: granted, then seated, with no other write in between that matters.
    w.idp_members(&eng, "add", &loner).await;
    let seated_loner = wait_seated(&w, &loner, "True", "HoldsSeats").await;
    assert_eq!(seated_loner.status.as_ref().map(|s| s.hubs.clone()), Some(vec!["app".to_string()]));

    // The IdP deactivates alice: her seat is removed after the grace period, and she says why.
    let (status, body) = w
        .idp
        .send("PATCH", &format!("/Users/{alice}"), json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]}))
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let deactivated = wait_seated(&w, &alice, "False", "Deactivated").await;
    assert!(deactivated.status.as_ref().is_some_and(|s| s.hubs.is_empty()), "{:?}", deactivated.status);

    // Steady state: more read-backs, no more User or Team status writes.
    operator.wait_read_backs(1).await;
    let (users_before, teams_before) = (status_writes(&operator, "user"), status_writes(&operator, "team"));
    operator.wait_read_backs(3).await;
    assert_eq!(
        (status_writes(&operator, "user"), status_writes(&operator, "team")),
        (users_before, teams_before),
        "writes at steady state"
    );
    assert_eq!(errors(&operator, "user"), 0.0);
}

#[tokio::test]
async fn a_group_push_and_its_rollout_cost_a_few_team_writes_and_about_one_user_write_per_change() {
    const PEOPLE: usize = 40;
    let w = world("directory-cost").await;
    let mut ids = Vec::new();
    for i in 0..PEOPLE {
        ids.push(w.idp_user(&format!("p{i:03}")).await);
    }
    let eng = w.idp_group("Engineering", &[]).await;
    w.hub("app", "Enforce", "");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "30s"]);
    for id in &ids {
        wait_seated(&w, id, "False", "NoGrant").await;
    }
    wait_team(&w, &eng, "0 members", |s| s.member_count == Some(0)).await;
    operator.wait_read_backs(1).await;
    let (users_start, teams_start) = (status_writes(&operator, "user"), status_writes(&operator, "team"));

    // One PATCH adds everyone, as Entra does for a large group.
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let (status, body) =
        w.idp.send("PATCH", &format!("/Groups/{eng}"), json!({"Operations": [{"op": "add", "path": "members", "value": members}]})).await;
    assert_eq!(status, 204, "{body}");
    wait_team(&w, &eng, &format!("{PEOPLE} members"), |s| s.member_count == Some(PEOPLE as i32)).await;
    for id in &ids {
        // Each user's spec changed: its status reports the new generation.
        wait_for(LIMIT, &format!("{id} observed its new generation"), || async {
            user(&w, id).await.is_some_and(|u| u.status.as_ref().and_then(|s| s.observed_generation) == u.metadata.generation)
        })
        .await;
    }
    operator.wait_read_backs(1).await;
    let (users_push, teams_push) = (status_writes(&operator, "user") - users_start, status_writes(&operator, "team") - teams_start);
    println!("a {PEOPLE}-member group push: {teams_push} Team status writes, {users_push} User status writes");
    assert!(teams_push <= 3.0, "a group push costs a few team writes, not one per member: {teams_push}");
    assert!(users_push <= PEOPLE as f64, "at most one write per member whose spec changed: {users_push}");

    // The team is granted the hub: every member is seated.
    w.grant("engineering", &eng, "member", "app");
    for id in &ids {
        wait_seated(&w, id, "True", "HoldsSeats").await;
    }
    operator.wait_read_backs(2).await;
    let users_rollout = status_writes(&operator, "user") - users_start - users_push;
    let teams_rollout = status_writes(&operator, "team") - teams_start - teams_push;
    println!("a {PEOPLE}-account rollout: {teams_rollout} Team status writes, {users_rollout} User status writes");
    assert!(teams_rollout <= 2.0, "the grant list changes once: {teams_rollout}");
    assert!(users_rollout <= 2.0 * PEOPLE as f64, "NoGrant -> Pending -> seated, at most: {users_rollout}");
}
