//! The BusinessHub controller: dereference the credentials Secret, validate,
//! report `Ready` and the account counts per user table.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::api::AppAccount;
use crate::api::app_account::{AccountState, UserTable};
use crate::api::business_hub::{AccountCounts, BusinessHub, BusinessHubStatus};
use crate::api::condition::{find_condition, merge_conditions};
use crate::checks::hub::{READY, check_hub};

use super::context::Context;
use super::error::Error;
use super::secrets::lookup_secret;
use super::status::{announce_transition, apply_status, now_rfc3339};

pub const NAME: &str = "businesshub";

pub async fn reconcile(hub: Arc<BusinessHub>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = hub.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;
    let name = hub.name_any();

    // Dereference.
    let credentials = lookup_secret(&ctx.client, &namespace, &hub.spec.connector.credentials_secret_ref.name).await?;
    // Validate.
    let ready = check_hub(&hub.spec, &credentials);
    // Report.
    let accounts = ctx.accounts.state();
    let counts = count_accounts(
        accounts.iter().map(|a| a.as_ref()).filter(|a| a.namespace().as_deref() == Some(namespace.as_str()) && a.spec.hub == name),
    );

    let previous = hub.status.clone().unwrap_or_default();
    let desired = BusinessHubStatus {
        observed_generation: hub.metadata.generation,
        conditions: merge_conditions(&previous.conditions, vec![ready.clone()], &now_rfc3339(), hub.metadata.generation),
        accounts: Some(counts),
        ..previous.clone()
    };
    apply_status(&ctx, NAME, hub.as_ref(), hub.status.as_ref(), &desired).await?;
    announce_transition(&ctx, NAME, hub.as_ref(), find_condition(&previous.conditions, READY), &ready).await;
    Ok(Action::requeue(ctx.resync))
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
            Some(UserTable::Onboarded) | None => match status.state {
                Some(AccountState::Onboarded) => counts.onboarded += 1,
                Some(AccountState::InviteSent) | Some(AccountState::InviteExpired) => counts.invited += 1,
                Some(AccountState::InviteFailed) => counts.failed += 1,
                Some(AccountState::PendingInvite) | Some(AccountState::Removing) | None => counts.pending += 1,
            },
        }
    }
    counts
}
