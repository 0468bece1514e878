//! A hub's partners, one step of its sync: what the last read-back found each
//! partner business holding, the `Partner` objects that declare what they
//! should hold, the pure plan between them (`plan::partner`), the calls in
//! Enforce, and each Partner's status.
//!
//! What the app holds is remembered per hub between read-backs (`PartnersSeen`)
//! and moved on by each call that succeeds, so a changed `Partner` is planned
//! at once, from what the app held last, without reading the app again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::events::{Event, EventType};

use crate::api::app_account::OperationKind;
use crate::api::business_hub::{AppAsset, BusinessHub, HubMode, PartnerSummary};
use crate::api::condition::{Condition, ConditionStatus, find_condition, merge_conditions};
use crate::api::partner::{Partner, PartnerAssetAccess, PartnerPendingChange, PartnerStatus};
use crate::api::time::now_rfc3339;
use crate::api::wire::condition::{READY, REMOVALS_HELD, SYNCED};
use crate::connector::{Connector, ConnectorError, ExternalPartner, OperationId};
use crate::plan::partner::{AssetRoles, DeclaredPartner, PartnerChange, PartnerPlan, PartnerRefusal, plan_partners};

use super::context::Context;
use super::error::Error;
use super::status::{announce_transition, apply_status};

/// The controller name partner writes are counted under.
const NAME: &str = "partner";

/// How many partners the hub's status lists.
const PARTNERS_LISTED: usize = 100;

/// What each hub's app last said its partners hold, by hub `namespace/name`.
#[derive(Clone, Default)]
pub struct PartnersSeen(Arc<Mutex<HashMap<String, HubPartners>>>);

/// One hub's partners, and the calls made lately (a read-back that started
/// before a call may not show it: the call is laid over it again).
#[derive(Default)]
struct HubPartners {
    partners: Vec<ExternalPartner>,
    calls: Vec<(Instant, PartnerChange)>,
}

impl PartnersSeen {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HubPartners>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A read-back that started at `started` listed these.
    pub fn read_back(&self, hub: &str, partners: Vec<ExternalPartner>, started: Instant) {
        let mut seen = self.lock();
        let entry = seen.entry(hub.to_string()).or_default();
        entry.partners = partners;
        entry.calls.retain(|(at, _)| *at >= started);
        let later: Vec<PartnerChange> = entry.calls.iter().map(|(_, c)| c.clone()).collect();
        for change in &later {
            apply(&mut entry.partners, change);
        }
    }

    /// What the last read-back (and the calls since) say; `None` before any read-back.
    pub fn get(&self, hub: &str) -> Option<Vec<ExternalPartner>> {
        self.lock().get(hub).map(|h| h.partners.clone())
    }

    /// A call succeeded: the partner now holds what it made.
    fn applied(&self, hub: &str, change: &PartnerChange) {
        let mut seen = self.lock();
        let Some(entry) = seen.get_mut(hub) else { return };
        entry.calls.push((Instant::now(), change.clone()));
        apply(&mut entry.partners, change);
    }

    /// The hub is gone.
    pub fn forget(&self, hub: &str) {
        self.lock().remove(hub);
    }
}

/// `change`, made, in `partners`.
fn apply(partners: &mut Vec<ExternalPartner>, change: &PartnerChange) {
    let id = change.partner_id();
    let partner = match partners.iter().position(|p| p.id == id) {
        Some(i) => &mut partners[i],
        None => {
            partners.push(ExternalPartner { id: id.to_string(), ..Default::default() });
            let last = partners.len() - 1;
            &mut partners[last]
        }
    };
    match change {
        PartnerChange::Grant { asset, role, .. } => {
            partner.assets.insert(asset.clone(), role.clone());
        }
        PartnerChange::Revoke { asset, .. } => {
            partner.assets.remove(asset);
        }
    }
}

/// What the partner step leaves for the hub's sync.
#[derive(Default)]
pub struct PartnersSynced {
    /// Revocations made (they count against the hub's removal limit).
    pub revoked: i32,
    /// Changes not made: every one in DryRun, the failed and held ones in Enforce.
    pub pending: usize,
    /// The hub status's list of partners; `None` before any read-back.
    pub summary: Option<Vec<PartnerSummary>>,
    /// The earliest time an app that answered "wait" said to come back.
    pub retry_after: Option<Duration>,
}

/// Plans and (in Enforce) carries out the hub's partner changes, and writes each Partner's status.
pub async fn sync_partners(
    ctx: &Context,
    hub: &BusinessHub,
    namespace: &str,
    connector: &dyn Connector,
    removals_left: usize,
) -> Result<PartnersSynced, Error> {
    let key = format!("{namespace}/{}", hub.name_any());
    let mut declared_objects: Vec<Arc<Partner>> =
        ctx.partners.state().into_iter().filter(|p| p.namespace().as_deref() == Some(namespace) && p.spec.hub == hub.name_any()).collect();
    // Sorted, so the first of two declarations of one partner is the same every sync.
    declared_objects.sort_by_key(|p| p.name_any());
    let Some(seen) = ctx.partners_seen.get(&key) else {
        return Ok(PartnersSynced::default());
    };
    let catalog = hub.asset_catalog();
    let roles: AssetRoles = catalog.iter().map(|a| (a.name.clone(), a.roles.clone())).collect();
    let declared: Vec<DeclaredPartner> = declared_objects.iter().map(|p| declaration(p, &catalog)).collect();
    let plans = plan_partners(&declared, &seen, &roles, removals_left);

    let mut synced = PartnersSynced::default();
    for (object, plan) in declared_objects.iter().zip(plans) {
        let outcome = carry_out(ctx, hub, &key, connector, object, &plan).await;
        synced.revoked += outcome.revoked;
        synced.pending += outcome.pending.len();
        if let Some(d) = outcome.retry_after {
            synced.retry_after = Some(synced.retry_after.map_or(d, |r| r.min(d)));
        }
        write_status(ctx, hub.spec.mode, object, &plan, outcome).await?;
    }
    let seen = ctx.partners_seen.get(&key).unwrap_or_default();
    synced.summary = Some(summary(&seen, &declared_objects));
    Ok(synced)
}

/// A Partner object as the planner reads it: assets by their catalog name, an
/// empty role as the asset's lowest.
fn declaration(partner: &Partner, catalog: &[AppAsset]) -> DeclaredPartner {
    let access = partner.spec.access.as_ref().map(|access| {
        access
            .iter()
            .map(|a| match catalog.iter().find(|c| c.answers_to(&a.asset)) {
                Some(asset) => {
                    let role = if a.role.is_empty() { asset.roles.first().cloned().unwrap_or_default() } else { a.role.clone() };
                    (asset.name.clone(), role)
                }
                // Unknown: the planner refuses the whole declaration and says which.
                None => (a.asset.clone(), a.role.clone()),
            })
            .collect::<BTreeMap<_, _>>()
    });
    DeclaredPartner {
        key: format!("{}/{}", partner.namespace().unwrap_or_default(), partner.name_any()),
        partner_id: partner.spec.partner_id.clone(),
        access,
    }
}

/// What carrying out one partner's plan did.
#[derive(Default)]
struct Outcome {
    revoked: i32,
    /// Changes not made, and why when a call failed.
    pending: Vec<PartnerChange>,
    failure: Option<ConnectorError>,
    retry_after: Option<Duration>,
}

async fn carry_out(
    ctx: &Context,
    hub: &BusinessHub,
    key: &str,
    connector: &dyn Connector,
    object: &Partner,
    plan: &PartnerPlan,
) -> Outcome {
    let mut outcome = Outcome::default();
    match hub.spec.mode {
        HubMode::Observe => return outcome,
        HubMode::DryRun => {
            outcome.pending = plan.changes.clone();
            return outcome;
        }
        HubMode::Enforce => {}
    }
    // Unlike an invitation, a partner call is not announced before it is made: it
    // sets a state (the partner holds this role on this asset; it holds nothing
    // there), so a retry after a crash repeats it harmlessly, and the read-back
    // shows what came of it. Its operation id is fresh for each attempt.
    let hub_uid = hub.metadata.uid.as_deref().unwrap_or_default();
    let now = now_rfc3339();
    for change in &plan.changes {
        // A failed call stops this partner's other calls until the next sync: the
        // app is refusing, and the partner's state is best read again first.
        if outcome.failure.is_some() {
            outcome.pending.push(change.clone());
            continue;
        }
        let subject = format!("partner:{}:{}", change.partner_id(), change.asset());
        let result = match change {
            PartnerChange::Grant { partner_id, asset, role, .. } => {
                let operation = OperationId::of(hub_uid, &subject, OperationKind::UpdateAccess, &now);
                connector.set_partner_asset(partner_id, asset, role, &operation).await
            }
            PartnerChange::Revoke { partner_id, asset, .. } => {
                let operation = OperationId::of(hub_uid, &subject, OperationKind::Remove, &now);
                match connector.remove_partner_asset(partner_id, asset, &operation).await {
                    // Gone already: what was wanted.
                    Err(ConnectorError::NotFound(_)) => Ok(()),
                    other => other,
                }
            }
        };
        ctx.metrics.count_call(if change.is_revocation() { "partner_revoke" } else { "partner_grant" }, result.as_ref().err());
        match result {
            Ok(()) => {
                ctx.partners_seen.applied(key, change);
                if change.is_revocation() {
                    outcome.revoked += 1;
                }
                publish(ctx, object, EventType::Normal, change, None).await;
            }
            Err(e) => {
                if let ConnectorError::RateLimited { retry_after: Some(d) } = &e {
                    outcome.retry_after = Some(*d);
                }
                publish(ctx, object, EventType::Warning, change, Some(&e)).await;
                outcome.pending.push(change.clone());
                outcome.failure = Some(e);
            }
        }
    }
    outcome
}

/// One Event per change made or failed, on the Partner: the audit trail of who got what.
async fn publish(ctx: &Context, object: &Partner, type_: EventType, change: &PartnerChange, error: Option<&ConnectorError>) {
    let (reason, what) = match change {
        PartnerChange::Grant { asset, role, from: None, .. } => ("PartnerAccessGranted", format!("{role} on {asset:?}")),
        PartnerChange::Grant { asset, role, from: Some(from), .. } => ("PartnerRoleChanged", format!("{from} to {role} on {asset:?}")),
        PartnerChange::Revoke { asset, role, .. } => ("PartnerAccessRevoked", format!("{role} on {asset:?}")),
    };
    let (reason, note) = match error {
        None => (reason.to_string(), format!("{}: {what}", change.partner_id())),
        Some(e) => (format!("{reason}Failed"), format!("{}: {what}: {e}", change.partner_id())),
    };
    let action = if change.is_revocation() { "RevokePartnerAccess" } else { "GrantPartnerAccess" };
    let event = Event { type_, reason, note: Some(note), action: action.into(), secondary: None };
    match ctx.recorder.publish(&event, &kube::Resource::object_ref(object, &())).await {
        Ok(()) => ctx.metrics.count_write(NAME, "event"),
        Err(e) => tracing::warn!(error = %e, "cannot publish a partner Event"),
    }
}

async fn write_status(ctx: &Context, mode: HubMode, object: &Partner, plan: &PartnerPlan, outcome: Outcome) -> Result<(), Error> {
    let seen = ctx.partners_seen.get(&format!("{}/{}", object.namespace().unwrap_or_default(), object.spec.hub)).unwrap_or_default();
    let now_holds = seen.iter().find(|p| p.id == object.spec.partner_id);
    let mut pending: Vec<PartnerPendingChange> = outcome.pending.iter().chain(&plan.held).map(pending_change).collect();
    pending.sort();
    let previous = object.status.clone().unwrap_or_default();
    let conditions = vec![ready(plan), synced(mode, plan, &outcome), removals_held(plan)];
    let assets: Vec<PartnerAssetAccess> = now_holds
        .map(|p| p.assets.iter().map(|(asset, role)| PartnerAssetAccess { asset: asset.clone(), role: role.clone() }).collect())
        .unwrap_or_default();
    let desired = PartnerStatus {
        observed_generation: object.metadata.generation,
        conditions: merge_conditions(&previous.conditions, conditions.clone(), &now_rfc3339(), object.metadata.generation),
        name: now_holds.and_then(|p| p.name.clone()).or(previous.name.clone()),
        asset_count: Some(assets.len() as i32),
        assets,
        pending,
    };
    apply_status(ctx, NAME, object, object.status.as_ref(), &desired).await?;
    for condition in &conditions {
        // RemovalsHeld turning False is no news (nothing is held): only its hold is announced.
        if condition.type_ == REMOVALS_HELD && condition.status != ConditionStatus::True {
            continue;
        }
        announce_transition(ctx, NAME, object, find_condition(&previous.conditions, &condition.type_), condition).await;
    }
    Ok(())
}

fn pending_change(change: &PartnerChange) -> PartnerPendingChange {
    match change {
        PartnerChange::Grant { asset, role, from, .. } => PartnerPendingChange {
            action: if from.is_some() { "ChangeRole" } else { "Grant" }.into(),
            asset: asset.clone(),
            role: role.clone(),
        },
        PartnerChange::Revoke { asset, role, .. } => {
            PartnerPendingChange { action: "Revoke".into(), asset: asset.clone(), role: role.clone() }
        }
    }
}

/// `Ready`: the declaration can be planned.
fn ready(plan: &PartnerPlan) -> Condition {
    match &plan.refused {
        None => Condition::new(READY, ConditionStatus::True, "Ready", "the hub can have partners and every declared asset exists"),
        Some(PartnerRefusal::UnknownAssets(assets)) => Condition::new(
            READY,
            ConditionStatus::False,
            "UnknownAsset",
            format!(
                "the hub's catalog (spec.assets and the imported status.assets) has no asset {assets:?}; nothing is changed for this partner"
            ),
        ),
        Some(PartnerRefusal::UnknownAssetRole { asset, role }) => Condition::new(
            READY,
            ConditionStatus::False,
            "UnknownAssetRole",
            format!("asset {asset:?} cannot be given the role {role:?}; nothing is changed for this partner"),
        ),
        Some(PartnerRefusal::DeclaredTwice { other }) => Condition::new(
            READY,
            ConditionStatus::False,
            "DeclaredTwice",
            format!("Partner {other} already declares this partner business; only that one is acted on"),
        ),
    }
}

/// `Synced`: the partner holds what is declared.
fn synced(mode: HubMode, plan: &PartnerPlan, outcome: &Outcome) -> Condition {
    if let Some(e) = &outcome.failure {
        return Condition::new(SYNCED, ConditionStatus::False, e.reason(), format!("{} change(s) not made: {e}", outcome.pending.len()));
    }
    let planned = plan.changes.len() + plan.held.len();
    match mode {
        HubMode::Observe => {
            Condition::new(SYNCED, ConditionStatus::True, "Observed", "Observe mode: the partner's access is reported, never changed")
        }
        HubMode::DryRun if planned > 0 => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "DryRun",
            format!("DryRun: {planned} change(s) would be made (status.pending); none is"),
        ),
        _ if !plan.held.is_empty() => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "RevocationsHeld",
            format!("{} revocation(s) wait for the hub's removal window", plan.held.len()),
        ),
        _ if plan.refused.is_some() => {
            Condition::new(SYNCED, ConditionStatus::False, "NotPlanned", "the declaration is not ready (see Ready)")
        }
        _ => Condition::new(SYNCED, ConditionStatus::True, "Synced", "the partner holds what is declared, or is only reported"),
    }
}

/// `RemovalsHeld`: revocations beyond the hub's removal limit.
fn removals_held(plan: &PartnerPlan) -> Condition {
    if plan.held.is_empty() {
        Condition::new(REMOVALS_HELD, ConditionStatus::False, "WithinLimit", "no revocation is held")
    } else {
        Condition::new(
            REMOVALS_HELD,
            ConditionStatus::True,
            "RemovalLimitExceeded",
            format!(
                "{} revocation(s) exceed the hub's removal limit and wait for its next window, or for an admin to set the hub's {} annotation",
                plan.held.len(),
                crate::api::wire::APPROVE_REMOVALS_ANNOTATION
            ),
        )
    }
}

/// The hub's list of partners: every one the app reports, and which Partner declares it.
fn summary(seen: &[ExternalPartner], declared: &[Arc<Partner>]) -> Vec<PartnerSummary> {
    let mut list: Vec<PartnerSummary> = seen
        .iter()
        .map(|p| PartnerSummary {
            id: p.id.clone(),
            name: p.name.clone(),
            assets: p.assets.len() as i32,
            declared_by: declared.iter().find(|d| d.spec.partner_id == p.id).map(|d| d.name_any()),
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list.truncate(PARTNERS_LISTED);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(asset: &str, role: &str) -> PartnerChange {
        PartnerChange::Grant { partner_id: "77".into(), asset: asset.into(), role: role.into(), from: None }
    }

    #[test]
    fn a_read_back_that_started_before_a_call_does_not_undo_it() {
        let seen = PartnersSeen::default();
        let before = Instant::now();
        seen.read_back("ns/meta", vec![], before);
        seen.applied("ns/meta", &grant("Brand US", "ANALYZE"));
        // A read-back that started before the call, listing the partner without it.
        let old = ExternalPartner { id: "77".into(), name: Some("Agency".into()), assets: Default::default() };
        seen.read_back("ns/meta", vec![old.clone()], before);
        let now = seen.get("ns/meta").expect("seen");
        assert_eq!(now[0].assets.get("Brand US").map(String::as_str), Some("ANALYZE"));
        assert_eq!(now[0].name.as_deref(), Some("Agency"));
        // One that started after it is believed as it is.
        seen.read_back("ns/meta", vec![old], Instant::now());
        assert!(seen.get("ns/meta").expect("seen")[0].assets.is_empty());
    }
}
