//! The AccessGrant controller: dereference the subject and the hub(s), check the
//! roles and assets against the hub catalog, report `Accepted` and the members'
//! account states.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::api::access_grant::{AccessGrant, AccessGrantStatus, HubSelector};
use crate::api::condition::{find_condition, merge_conditions};
use crate::api::scope::is_in;
use crate::api::{BusinessHub, Team, User};
use crate::checks::grant::{ACCEPTED, ResolvedHubs, check_grant};

use super::context::Context;
use super::error::Error;
use super::status::{announce_transition, apply_status};
use crate::api::time::now_rfc3339;

/// The status lists at most this many failing members; the counts are complete.
const MAX_FAILING_LISTED: usize = 20;

pub const NAME: &str = "accessgrant";

pub async fn reconcile(grant: Arc<AccessGrant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = grant.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;

    // Dereference, from the caches.
    let subject_exists = match (&grant.spec.subject.team, &grant.spec.subject.user) {
        (Some(team), _) => ctx.teams.get(&ObjectRef::<Team>::new(team).within(&namespace)).is_some(),
        (None, Some(user)) => ctx.users.get(&ObjectRef::<User>::new(user).within(&namespace)).is_some(),
        (None, None) => false,
    };
    let hubs = target_hubs(&ctx, &grant, &namespace);
    let resolved: ResolvedHubs<'_> = hubs.iter().map(|h| h.as_ref()).collect();

    // Validate.
    let accepted = check_grant(&grant.spec, subject_exists, &resolved);

    let previous = grant.status.clone().unwrap_or_default();
    let desired = AccessGrantStatus {
        observed_generation: grant.metadata.generation,
        conditions: merge_conditions(&previous.conditions, vec![accepted.clone()], &now_rfc3339(), grant.metadata.generation),
        hubs: Some(i32::try_from(resolved.len()).unwrap_or(i32::MAX)),
        ..member_report(&ctx, &grant, &namespace, &hubs)
    };
    apply_status(&ctx, NAME, grant.as_ref(), grant.status.as_ref(), &desired).await?;
    announce_transition(&ctx, NAME, grant.as_ref(), find_condition(&previous.conditions, ACCEPTED), &accepted).await;
    Ok(Action::requeue(ctx.resync))
}

/// The grant's members per account state on the hubs it targets, and a bounded
/// list of the failing ones, from the index the AppAccount cache keeps.
fn member_report(ctx: &Context, grant: &AccessGrant, namespace: &str, hubs: &[Arc<BusinessHub>]) -> AccessGrantStatus {
    let hubs: Vec<String> = hubs.iter().map(|h| h.name_any()).collect();
    let report = ctx.grant_members.report(namespace, &grant.name_any(), &hubs, MAX_FAILING_LISTED);
    AccessGrantStatus { members: Some(report.counts), failing_members: report.failing, ..Default::default() }
}

/// The hubs a grant targets that exist, sorted by name.
fn target_hubs(ctx: &Context, grant: &AccessGrant, namespace: &str) -> Vec<Arc<BusinessHub>> {
    let mut hubs: Vec<Arc<BusinessHub>> = match (&grant.spec.hub, &grant.spec.hub_selector) {
        (Some(hub), _) => ctx.hubs.get(&ObjectRef::new(hub).within(namespace)).into_iter().collect(),
        (None, Some(selector)) => ctx.hubs.state().into_iter().filter(|h| is_in(h.as_ref(), namespace) && selects(selector, h)).collect(),
        (None, None) => vec![],
    };
    hubs.sort_by_key(|h| h.name_any());
    hubs
}

/// True when the hub carries every label the selector asks for.
pub fn selects(selector: &HubSelector, hub: &BusinessHub) -> bool {
    let labels = hub.labels();
    selector.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The grants in the hub's namespace that a change to this hub can affect.
pub fn grants_for_hub(grants: &[Arc<AccessGrant>], hub: &BusinessHub) -> Vec<ObjectRef<AccessGrant>> {
    let namespace = hub.namespace();
    let name = hub.name_any();
    grants
        .iter()
        .filter(|g| g.namespace() == namespace)
        .filter(|g| match (&g.spec.hub, &g.spec.hub_selector) {
            (Some(h), _) => *h == name,
            // Any hub may join or leave a collection when its labels change.
            (None, Some(_)) => true,
            (None, None) => false,
        })
        .map(|g| ObjectRef::from_obj(g.as_ref()))
        .collect()
}

/// The grants whose subject is this team or user.
pub fn grants_for_subject(
    grants: &[Arc<AccessGrant>],
    namespace: Option<String>,
    team: Option<&str>,
    user: Option<&str>,
) -> Vec<ObjectRef<AccessGrant>> {
    grants
        .iter()
        .filter(|g| g.namespace() == namespace)
        .filter(|g| {
            (team.is_some() && g.spec.subject.team.as_deref() == team) || (user.is_some() && g.spec.subject.user.as_deref() == user)
        })
        .map(|g| ObjectRef::from_obj(g.as_ref()))
        .collect()
}
