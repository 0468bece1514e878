//! The BusinessHub controller: dereference the credentials Secret, validate
//! (`Ready`), sync a ready hub with its app (`hub_sync`), and report the
//! conditions and the account counts per user table.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use crate::api::AppAccount;
use crate::api::app_account::{AccountState, UserTable};
use crate::api::business_hub::{AccountCounts, BusinessHub};
use crate::api::condition::{Condition, ConditionStatus, find_condition, merge_conditions};
use crate::checks::hub::{DEFAULT_CREDENTIALS_KEY, READY, check_hub};

use super::context::Context;
use super::error::Error;
use super::hub_sync;
use super::status::{announce_transition, apply_status};
use crate::api::time::now_rfc3339;
use crate::api::wire::APPROVE_REMOVALS_ANNOTATION;
use crate::api::wire::condition::{CONNECTED, REMOVALS_HELD};

pub const NAME: &str = "businesshub";

pub async fn reconcile(hub: Arc<BusinessHub>, ctx: Arc<Context>) -> Result<Action, Error> {
    // The newest of the cache and this process's last status write (its removal window, its sync request).
    let hub = ctx.hub_overlay.newest(hub);
    let namespace = hub.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;
    let name = hub.name_any();

    // Dereference and validate.
    let started = std::time::Instant::now();
    let secret_ref = &hub.spec.connector.credentials_secret_ref;
    let key = secret_ref.key.as_deref().unwrap_or(DEFAULT_CREDENTIALS_KEY);
    let secret = ctx.secrets.read(&ctx.client, &namespace, &secret_ref.name, key).await?;
    let ready = check_hub(&hub.spec, &secret.lookup);
    let previous = hub.status.clone().unwrap_or_default();

    let secret_took = started.elapsed();
    // Sync a ready hub: read back, plan, act, record.
    let mut conditions = vec![ready.clone()];
    let (mut desired, requeue, approval_used) = match (ready.status, secret.value) {
        (ConditionStatus::True, Some(credential)) => {
            let report = hub_sync::sync(&hub, &namespace, &ctx, credential).await?;
            conditions.extend(report.conditions);
            (report.status, report.requeue, report.approval_used)
        }
        _ => (previous.clone(), ctx.resync, false),
    };

    let sync_took = started.elapsed() - secret_took;
    // Report.
    let accounts = ctx.accounts_of(&namespace, &name);
    desired.accounts = Some(count_accounts(accounts.iter().map(|a| a.as_ref())));
    desired.observed_generation = hub.metadata.generation;
    desired.conditions = merge_conditions(&previous.conditions, conditions, &now_rfc3339(), hub.metadata.generation);
    if let Some(written) = apply_status(&ctx, NAME, hub.as_ref(), hub.status.as_ref(), &desired).await? {
        ctx.hub_overlay.wrote(written);
    }
    tracing::debug!(
        hub = %name,
        secret_ms = secret_took.as_millis() as u64,
        sync_ms = sync_took.as_millis() as u64,
        report_ms = (started.elapsed() - secret_took - sync_took).as_millis() as u64,
        "hub reconciled"
    );
    for condition in &desired.conditions {
        if [READY, CONNECTED, REMOVALS_HELD].contains(&condition.type_.as_str()) {
            // RemovalsHeld=True is the alarming direction; the helper warns on False, so flip its view.
            let before = find_condition(&previous.conditions, &condition.type_);
            if condition.type_ == REMOVALS_HELD {
                announce_hold(&ctx, hub.as_ref(), before, condition).await;
            } else {
                announce_transition(&ctx, NAME, hub.as_ref(), before, condition).await;
            }
        }
    }
    if approval_used {
        // The approval covered the removals just made; the next batch needs a new one.
        let api: Api<BusinessHub> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = serde_json::json!({"metadata": {"annotations": {APPROVE_REMOVALS_ANNOTATION: null}}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        ctx.metrics.count_write(NAME, "hub");
    }
    Ok(Action::requeue(requeue))
}

/// A Warning Event when the hub starts holding removals, a Normal one when it stops.
async fn announce_hold(ctx: &Context, hub: &BusinessHub, before: Option<&Condition>, after: &Condition) {
    let flipped = |c: &Condition| Condition {
        status: if c.status == ConditionStatus::True { ConditionStatus::False } else { ConditionStatus::True },
        ..c.clone()
    };
    announce_transition(ctx, NAME, hub, before.map(flipped).as_ref(), &flipped(after)).await;
}

/// Tallies accounts into the hub's per-table and per-state counts.
pub fn count_accounts<'a>(accounts: impl Iterator<Item = &'a AppAccount>) -> AccountCounts {
    let mut counts = AccountCounts::default();
    for account in accounts {
        let Some(status) = &account.status else {
            counts.pending += 1;
            continue;
        };
        match status.table {
            Some(UserTable::Unmatched) => counts.unmatched += 1,
            Some(UserTable::Guest) => counts.guests += 1,
            Some(UserTable::Exempted) => counts.exempted += 1,
            // rolecall's own account is in no table of people.
            Some(UserTable::ServiceAccount) => {}
            Some(UserTable::Onboarded) | None => match status.state {
                Some(AccountState::Onboarded) => counts.onboarded += 1,
                Some(AccountState::InviteSent) | Some(AccountState::InviteExpired) => counts.invited += 1,
                Some(AccountState::InviteFailed) => counts.failed += 1,
                Some(AccountState::Removing) => counts.removing += 1,
                Some(AccountState::Removed) => counts.removed += 1,
                Some(AccountState::KeptWithoutGrant) => counts.kept_without_grant += 1,
                Some(AccountState::ManageOnly) => counts.manage_only += 1,
                Some(AccountState::PendingInvite) | Some(AccountState::ExternalEnrollee) | Some(AccountState::Exempt) | None => {
                    counts.pending += 1
                }
            },
        }
    }
    counts
}
