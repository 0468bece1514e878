//! Writes AppAccounts: create when missing, status by server-side apply only
//! when it changed, delete when the plan forgets one, and each call's outcome
//! (its Event is `call_events`').

use std::sync::Arc;

use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Resource, ResourceExt};

use crate::api::app_account::{AppAccountSpec, AppAccountStatus};
use crate::api::wire::{FIELD_MANAGER, HUB_LABEL};
use crate::api::{AppAccount, BusinessHub};
use crate::connector::ConnectorError;
use crate::plan::{AccountPlan, Action};

use super::account_status::outcome_status;
use super::context::Context;
use super::error::Error;
use super::executor::Effect;
use super::hub_controller::NAME as CONTROLLER;
use super::plan_input::account_name;

pub struct AccountWriter<'a> {
    pub ctx: &'a Context,
    pub hub: &'a BusinessHub,
    pub namespace: &'a str,
    pub now: i64,
}

impl AccountWriter<'_> {
    fn api(&self) -> Api<AppAccount> {
        Api::namespaced(self.ctx.client.clone(), self.namespace)
    }

    /// Makes the account's status `desired`; returns whether it wrote.
    pub async fn put(&self, existing: Option<&Arc<AppAccount>>, email: &str, desired: AppAccountStatus) -> Result<bool, Error> {
        let account = match existing {
            Some(a) => a.clone(),
            None => Arc::new(self.create(email).await?),
        };
        let desired = AppAccountStatus { observed_generation: account.metadata.generation, ..desired };
        if account.status.as_ref() == Some(&desired) {
            return Ok(existing.is_none());
        }
        // After any outcome of this account still being written (see `outcome_writes`).
        let _turn = self.ctx.outcome_writes.turn(self.namespace, &account.name_any()).await;
        self.apply_status(&account, &desired).await?;
        Ok(true)
    }

    /// Creates the account with no status: for an account about to be invited,
    /// that is the invitation's announcement (see `plan_input::record_of`).
    pub async fn create(&self, email: &str) -> Result<AppAccount, Error> {
        let hub_name = self.hub.name_any();
        // Owned by the hub: deleting the hub deletes its accounts (the garbage collector does it).
        let owner = self.hub.controller_owner_ref(&()).ok_or(Error::MissingMetadata("metadata.uid"))?;
        let account = AppAccount {
            metadata: ObjectMeta {
                name: Some(account_name(&hub_name, email)),
                namespace: Some(self.namespace.to_string()),
                labels: Some([(HUB_LABEL.to_string(), hub_name.clone())].into()),
                owner_references: Some(vec![owner]),
                ..Default::default()
            },
            spec: AppAccountSpec { hub: hub_name, email: email.to_string(), match_user: None, exemption: None },
            status: None,
        };
        let created = match self.api().create(&PostParams::default(), &account).await {
            Ok(created) => created,
            // Made by an earlier run whose write the cache has not shown yet.
            Err(kube::Error::Api(s)) if s.code == 409 => self.api().get(&account.name_any()).await?,
            Err(e) => return Err(e.into()),
        };
        self.ctx.metrics.count_write(CONTROLLER, "account");
        self.ctx.account_overlay.wrote(created.clone());
        Ok(created)
    }

    async fn apply_status(&self, account: &AppAccount, status: &AppAccountStatus) -> Result<(), Error> {
        apply_account_status(self.ctx, self.namespace, &account.name_any(), status).await
    }

    pub async fn delete(&self, account: &AppAccount) -> Result<(), Error> {
        let _turn = self.ctx.outcome_writes.turn(self.namespace, &account.name_any()).await;
        match self.api().delete(&account.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        self.ctx.metrics.count_write(CONTROLLER, "account");
        self.ctx.account_overlay.deleted(self.namespace, &account.name_any(), account.uid());
        Ok(())
    }

    /// After a call: the account's status from what the app answered, to be
    /// written (`write_outcome`). `unwritten` is the planned status of an
    /// account created for this call and not written yet. `None` when the
    /// account is gone.
    pub fn outcome(
        &self,
        action: &Action,
        result: &Result<Effect, ConnectorError>,
        entry: Option<&AccountPlan>,
        unwritten: Option<&AppAccountStatus>,
    ) -> Option<(Arc<AppAccount>, AppAccountStatus)> {
        let name = account_name(&self.hub.name_any(), action.email());
        let Some(account) = self.ctx.account(self.namespace, &name) else {
            // Deleted while the call ran (its hub went, or an admin deleted it): the
            // app's answer has nowhere to go. Say so; never drop it silently.
            self.ctx.metrics.outcomes_unrecorded.inc();
            tracing::warn!(hub = %self.hub.name_any(), account = %name, action = %action.kind(), outcome = ?result.as_ref().map(|_| ()), "the AppAccount is gone; the call's outcome is not recorded");
            return None;
        };
        let planned = unwritten.cloned().or_else(|| account.status.clone()).unwrap_or_default();
        let status = AppAccountStatus {
            observed_generation: account.metadata.generation,
            ..outcome_status(planned, action, result, entry, self.now)
        };
        Some((account, status))
    }
}

/// An AppAccount's status by server-side apply, kept in the overlay as written.
async fn apply_account_status(ctx: &Context, namespace: &str, name: &str, status: &AppAccountStatus) -> Result<(), Error> {
    tracing::debug!(account = %name, state = ?status.state, operation = ?status.operation.as_ref().map(|o| o.action), "writing the AppAccount's status");
    let api: Api<AppAccount> = Api::namespaced(ctx.client.clone(), namespace);
    let patch = serde_json::json!({"apiVersion": AppAccount::api_version(&()), "kind": AppAccount::kind(&()), "status": status});
    let written = api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
    ctx.metrics.count_write(CONTROLLER, "status");
    ctx.account_overlay.wrote(written);
    Ok(())
}

/// How often a call's outcome is tried before it is left to the next read-back.
const OUTCOME_TRIES: u32 = 5;

/// Writes a call's outcome, shown meanwhile as the overlay's pending write,
/// retrying a failed write (an API server restarting) with a doubling pause.
/// If every try fails the pending write is forgotten: the account shows its
/// announced call again, which the next sync settles by looking the account up
/// in the app, as after a crash; it is never called twice.
pub async fn write_outcome(ctx: &Context, namespace: &str, name: &str, status: &AppAccountStatus) {
    let mut pause = std::time::Duration::from_millis(500);
    for attempt in 1..=OUTCOME_TRIES {
        match apply_account_status(ctx, namespace, name, status).await {
            Ok(()) => return,
            // Deleted meanwhile: nothing to record it on.
            Err(Error::Kube(kube::Error::Api(s))) if s.code == 404 => break,
            Err(e) if attempt < OUTCOME_TRIES => {
                tracing::debug!(account = %name, error = %e, attempt, "writing a call's outcome failed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => {
                tracing::warn!(account = %name, error = %e, "writing a call's outcome failed; the next sync looks the account up in the app")
            }
        }
    }
    ctx.metrics.outcomes_unrecorded.inc();
    ctx.account_overlay.forget_pending(namespace, name);
}
