//! The Team controller: how many Users name the team in spec.teams, and which
//! AccessGrants name it as their subject. Both are read from the caches; the
//! status is written only when one of them changed.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::api::team::{Team, TeamStatus};
use crate::api::{AccessGrant, User};

use super::context::Context;
use super::error::Error;
use super::last_seen::LastSeen;
use super::status::apply_status;

pub const NAME: &str = "team";

/// The status names at most this many grants; a team is rarely granted more often.
const MAX_GRANTS_LISTED: usize = 100;

pub async fn reconcile(team: Arc<Team>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = team.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;
    let name = team.name_any();
    let in_namespace = |ns: Option<String>| ns.as_deref() == Some(namespace.as_str());
    let users = ctx.users.state();
    let members = users.iter().filter(|u| in_namespace(u.namespace())).map(|u| u.spec.teams.as_slice());
    let grants = ctx.grants.state();
    let grants = grants.iter().filter(|g| in_namespace(g.namespace())).map(|g| (g.name_any(), g.spec.subject.team.clone()));
    let desired = team_status(&name, team.metadata.generation, members, grants);
    apply_status(&ctx, NAME, team.as_ref(), team.status.as_ref(), &desired).await?;
    Ok(Action::requeue(ctx.resync))
}

/// The status of team `name`, from every user's spec.teams and every grant's
/// `(name, subject.team)` of its namespace.
pub fn team_status<'a>(
    name: &str,
    generation: Option<i64>,
    members: impl Iterator<Item = &'a [String]>,
    grants: impl Iterator<Item = (String, Option<String>)>,
) -> TeamStatus {
    let count = members.filter(|teams| teams.iter().any(|t| t == name)).count();
    let named: BTreeSet<String> = grants.filter(|(_, team)| team.as_deref() == Some(name)).map(|(grant, _)| grant).collect();
    TeamStatus {
        observed_generation: generation,
        conditions: vec![],
        member_count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
        grants: named.into_iter().take(MAX_GRANTS_LISTED).collect(),
    }
}

/// The teams whose member count a change to `user` can change: the teams it
/// names and the ones it named before, when they differ (`gone`: it was deleted).
pub fn teams_of_user(seen: &LastSeen<BTreeSet<String>>, user: &User, gone: bool) -> Vec<ObjectRef<Team>> {
    let Some(namespace) = user.namespace() else { return vec![] };
    let named: BTreeSet<String> = user.spec.teams.iter().cloned().collect();
    let now = (!gone).then(|| named.clone());
    // A deletion always reaches what the object named, even if an earlier event already did.
    let before = match seen.changed(format!("{namespace}/{}", user.name_any()), now) {
        Some(before) => before,
        None if gone => None,
        None => return vec![],
    };
    let touched: BTreeSet<String> = before.unwrap_or_default().into_iter().chain(named).collect();
    touched.into_iter().map(|t| ObjectRef::new(&t).within(&namespace)).collect()
}

/// The teams whose grant list a change to `grant` can change: its subject team
/// now and before, when they differ (`gone`: it was deleted).
pub fn teams_of_grant(seen: &LastSeen<Option<String>>, grant: &AccessGrant, gone: bool) -> Vec<ObjectRef<Team>> {
    let Some(namespace) = grant.namespace() else { return vec![] };
    let team = grant.spec.subject.team.clone();
    let now = (!gone).then(|| team.clone());
    // A deletion always reaches what the object named, even if an earlier event already did.
    let before = match seen.changed(format!("{namespace}/{}", grant.name_any()), now) {
        Some(before) => before,
        None if gone => None,
        None => return vec![],
    };
    let touched: BTreeSet<String> = before.flatten().into_iter().chain(team).collect();
    touched.into_iter().map(|t| ObjectRef::new(&t).within(&namespace)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn teams(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn user(teams_named: &[&str]) -> User {
        let spec = serde_json::from_value(json!({"userName": "ann@acme.io", "teams": teams_named})).expect("a user spec");
        let mut u = User::new("ann", spec);
        u.metadata.namespace = Some("ws".into());
        u
    }

    fn grant(name: &str, team: Option<&str>) -> AccessGrant {
        let subject = match team {
            Some(team) => json!({"team": team}),
            None => json!({"user": "ann"}),
        };
        let spec = serde_json::from_value(json!({"subject": subject, "hub": "app"})).expect("a grant spec");
        let mut g = AccessGrant::new(name, spec);
        g.metadata.namespace = Some("ws".into());
        g
    }

    fn names<K: kube::Resource>(refs: Vec<ObjectRef<K>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn members_and_grants_are_counted_from_the_directory() {
        let users = [teams(&["eng", "ops"]), teams(&["eng"]), teams(&["sales"]), teams(&[])];
        let grants = vec![
            ("github".to_string(), Some("eng".to_string())),
            ("aws".to_string(), Some("eng".to_string())),
            ("crm".to_string(), Some("sales".to_string())),
            ("direct".to_string(), None),
        ];
        let status = team_status("eng", Some(3), users.iter().map(Vec::as_slice), grants.clone().into_iter());
        assert_eq!(status.member_count, Some(2));
        assert_eq!(status.grants, vec!["aws", "github"], "sorted");
        assert_eq!(status.observed_generation, Some(3));
        let empty = team_status("empty", None, users.iter().map(Vec::as_slice), grants.into_iter());
        assert_eq!((empty.member_count, empty.grants.len()), (Some(0), 0), "an empty team shows 0, not nothing");
    }

    #[test]
    fn the_grant_list_is_bounded() {
        let grants = (0..150).map(|i| (format!("g{i:03}"), Some("eng".to_string())));
        let status = team_status("eng", None, std::iter::empty(), grants);
        assert_eq!(status.grants.len(), MAX_GRANTS_LISTED);
        assert_eq!(status.grants.first().map(String::as_str), Some("g000"));
    }

    #[test]
    fn a_user_leaving_a_team_recounts_the_team_it_left() {
        let seen = LastSeen::default();
        assert_eq!(names(teams_of_user(&seen, &user(&["eng", "ops"]), false)), vec!["eng", "ops"], "new user");
        assert!(teams_of_user(&seen, &user(&["ops", "eng"]), false).is_empty(), "same teams: nothing to recount");
        assert_eq!(names(teams_of_user(&seen, &user(&["ops"]), false)), vec!["eng", "ops"], "left eng");
        assert_eq!(names(teams_of_user(&seen, &user(&["ops"]), true)), vec!["ops"], "deleted");
        assert_eq!(names(teams_of_user(&seen, &user(&["sales"]), false)), vec!["sales"], "created again");
    }

    #[test]
    fn a_grant_moved_to_another_team_updates_both() {
        let seen = LastSeen::default();
        assert_eq!(names(teams_of_grant(&seen, &grant("g", Some("eng")), false)), vec!["eng"]);
        assert!(teams_of_grant(&seen, &grant("g", Some("eng")), false).is_empty(), "a status write is no news");
        assert_eq!(names(teams_of_grant(&seen, &grant("g", Some("ops")), false)), vec!["eng", "ops"]);
        assert_eq!(names(teams_of_grant(&seen, &grant("g", None), false)), vec!["ops"], "now a user's grant");
        assert!(teams_of_grant(&seen, &grant("g", None), true).is_empty(), "a user grant deleted: no team to tell");
        assert_eq!(names(teams_of_grant(&seen, &grant("h", Some("eng")), true)), vec!["eng"], "deleted before it was seen");
    }
}
