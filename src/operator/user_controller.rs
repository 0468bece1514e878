//! The User controller: the hubs where the user holds a seat and the `Seated`
//! condition. Dereference (the user's own accounts, through the seat index;
//! the grants that seat it) -> build (pure, in `user_report`) -> apply, only
//! when the status changed.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::api::access_grant::{AccessGrant, GrantSubject};
use crate::api::condition::merge_conditions;
use crate::api::scope::is_in;
use crate::api::time::now_rfc3339;
use crate::api::user::{User, UserStatus};
use crate::api::wire::claim_annotation;
use crate::plan::access::grant_applies;

use super::context::Context;
use super::error::Error;
use super::last_seen::LastSeen;
use super::plan_input::{directory_user, grant_input, grant_targets};
use super::status::apply_status;
use super::user_report::{MatchedAccount, SeatFacts, SeatGrant, seat_hubs, seated};

pub const NAME: &str = "user";

pub async fn reconcile(user: Arc<User>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = user.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;

    // Dereference, from the caches.
    let facts = SeatFacts {
        active: user.spec.is_active(),
        // The planner's own view of the user's addresses: what it cannot invite, we report.
        invitable: !directory_user(&user, "").emails.is_empty(),
        grants: seat_grants(&ctx, &user, &namespace),
        accounts: matched_accounts(&ctx, &namespace, &user.name_any()),
    };

    // Build, then apply.
    let previous = user.status.clone().unwrap_or_default();
    let generation = user.metadata.generation;
    let desired = UserStatus {
        observed_generation: generation,
        conditions: merge_conditions(&previous.conditions, vec![seated(&facts)], &now_rfc3339(), generation),
        hubs: seat_hubs(&facts.accounts),
    };
    apply_status(&ctx, NAME, user.as_ref(), user.status.as_ref(), &desired).await?;
    Ok(Action::requeue(ctx.resync))
}

/// The user's AppAccounts, from the seat index, each checked against the cache
/// (and this process's own writes): the index may name one that moved on.
fn matched_accounts(ctx: &Context, namespace: &str, user: &str) -> Vec<MatchedAccount> {
    ctx.seats
        .accounts_of(namespace, user)
        .into_iter()
        .filter_map(|name| ctx.account(namespace, &name))
        .filter_map(|a| {
            let status = a.status.as_ref()?;
            (status.matched_user.as_deref() == Some(user)).then(|| MatchedAccount {
                name: a.name_any(),
                hub: a.spec.hub.clone(),
                state: status.state,
            })
        })
        .collect()
}

/// Every (grant, hub) pair that gives the user a seat, on hubs that exist.
fn seat_grants(ctx: &Context, user: &User, namespace: &str) -> Vec<SeatGrant> {
    let member = directory_user(user, "");
    let hubs: Vec<_> = ctx.hubs.state().into_iter().filter(|h| is_in(h.as_ref(), namespace)).collect();
    let mut pairs = Vec::new();
    for grant in ctx.grants.state().iter().filter(|g| is_in(g.as_ref(), namespace) && g.spec.seat) {
        let input = grant_input(grant);
        if !grant_applies(&input, &member) {
            continue;
        }
        for hub in hubs.iter().filter(|h| grant_targets(grant, h)) {
            let hub = hub.name_any();
            let in_force = !input.needs_claim || user.annotations().contains_key(&claim_annotation(&hub));
            pairs.push(SeatGrant { grant: input.name.clone(), hub, in_force });
        }
    }
    pairs
}

/// The users whose `Seated` reason a change to `grant` can change: its subject
/// now and before (a team's members, or the user), when its spec changed
/// (`gone`: it was deleted). `users` is the User cache.
pub fn users_of_grant(
    seen: &LastSeen<(Option<i64>, GrantSubject)>,
    users: &[Arc<User>],
    grant: &AccessGrant,
    gone: bool,
) -> Vec<ObjectRef<User>> {
    let Some(namespace) = grant.namespace() else { return vec![] };
    let subject = grant.spec.subject.clone();
    let now = (!gone).then(|| (grant.metadata.generation, subject.clone()));
    // A deletion always reaches what the object named, even if an earlier event already did.
    let before = match seen.changed(format!("{namespace}/{}", grant.name_any()), now) {
        Some(before) => before,
        None if gone => None,
        None => return vec![],
    };
    let subjects: Vec<GrantSubject> = before.map(|(_, s)| s).into_iter().chain([subject]).collect();
    let direct: BTreeSet<&str> = subjects.iter().filter_map(|s| s.user.as_deref()).collect();
    let teams: BTreeSet<&str> = subjects.iter().filter_map(|s| s.team.as_deref()).collect();
    users
        .iter()
        .filter(|u| is_in(u.as_ref(), &namespace))
        .filter(|u| direct.contains(u.name_any().as_str()) || u.spec.teams.iter().any(|t| teams.contains(t.as_str())))
        .map(|u| ObjectRef::from_obj(u.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(name: &str, teams: &[&str]) -> Arc<User> {
        let spec = serde_json::from_value(json!({"userName": format!("{name}@acme.io"), "teams": teams})).expect("a user spec");
        let mut u = User::new(name, spec);
        u.metadata.namespace = Some("ws".into());
        Arc::new(u)
    }

    fn grant(subject: serde_json::Value, generation: i64) -> AccessGrant {
        let spec = serde_json::from_value(json!({"subject": subject, "hub": "app"})).expect("a grant spec");
        let mut g = AccessGrant::new("g", spec);
        g.metadata.namespace = Some("ws".into());
        g.metadata.generation = Some(generation);
        g
    }

    fn names(refs: Vec<ObjectRef<User>>) -> Vec<String> {
        let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
        names.sort();
        names
    }

    #[test]
    fn a_grant_reaches_its_subjects_now_and_before_and_only_when_its_spec_changed() {
        let users = vec![user("ann", &["eng"]), user("bob", &["eng", "ops"]), user("cat", &["ops"]), user("dan", &[])];
        let seen = LastSeen::default();
        assert_eq!(names(users_of_grant(&seen, &users, &grant(json!({"team": "eng"}), 1), false)), vec!["ann", "bob"]);
        assert!(users_of_grant(&seen, &users, &grant(json!({"team": "eng"}), 1), false).is_empty(), "a status write");
        assert_eq!(names(users_of_grant(&seen, &users, &grant(json!({"team": "eng"}), 2), false)), vec!["ann", "bob"], "a new hub");
        assert_eq!(
            names(users_of_grant(&seen, &users, &grant(json!({"team": "ops"}), 3), false)),
            vec!["ann", "bob", "cat"],
            "moved from eng to ops: both teams' members"
        );
        assert_eq!(names(users_of_grant(&seen, &users, &grant(json!({"user": "dan"}), 4), false)), vec!["bob", "cat", "dan"]);
        assert_eq!(names(users_of_grant(&seen, &users, &grant(json!({"user": "dan"}), 4), true)), vec!["dan"], "deleted");
    }
}
