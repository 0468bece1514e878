//! Writes AppAccounts: create when missing, status by server-side apply only
//! when it changed, delete when the plan forgets one, and each call's outcome
//! (its Event is `call_events`').

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
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
        tracing::debug!(account = %account.name_any(), state = ?status.state, operation = ?status.operation.as_ref().map(|o| o.action), "writing the AppAccount's status");
        let patch = serde_json::json!({"apiVersion": AppAccount::api_version(&()), "kind": AppAccount::kind(&()), "status": status});
        let written =
            self.api().patch_status(&account.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
        self.ctx.metrics.count_write(CONTROLLER, "status");
        self.ctx.account_overlay.wrote(written);
        Ok(())
    }

    pub async fn delete(&self, account: &AppAccount) -> Result<(), Error> {
        match self.api().delete(&account.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        self.ctx.metrics.count_write(CONTROLLER, "account");
        self.ctx.account_overlay.deleted(self.namespace, &account.name_any(), account.uid());
        Ok(())
    }

    /// After a call: the account's status from what the app answered.
    /// `unwritten` is the planned status of an account created for this call
    /// and not written yet. Returns the account, for the call's Event; `None`
    /// when it is gone.
    pub async fn record_outcome(
        &self,
        action: &Action,
        result: &Result<Effect, ConnectorError>,
        entry: Option<&AccountPlan>,
        unwritten: Option<&AppAccountStatus>,
    ) -> Result<Option<ObjectReference>, Error> {
        let name = account_name(&self.hub.name_any(), action.email());
        let Some(account) = self.ctx.account(self.namespace, &name) else {
            // Deleted while the call ran (its hub went, or an admin deleted it): the
            // app's answer has nowhere to go. Say so; never drop it silently.
            self.ctx.metrics.outcomes_unrecorded.inc();
            tracing::warn!(hub = %self.hub.name_any(), account = %name, action = %action.kind(), outcome = ?result.as_ref().map(|_| ()), "the AppAccount is gone; the call's outcome is not recorded");
            return Ok(None);
        };
        let planned = unwritten.cloned().or_else(|| account.status.clone()).unwrap_or_default();
        let status = AppAccountStatus {
            observed_generation: account.metadata.generation,
            ..outcome_status(planned, action, result, entry, self.now)
        };
        self.apply_status(&account, &status).await?;
        Ok(Some(account.object_ref(&())))
    }
}
