//! One sync of a ready hub: read the app back when due, plan, carry the plan
//! out (Enforce), and record every account's table and state in its
//! `AppAccount`. Each call to the app is announced in the account's status
//! before it is made, so a crash between a call and its record is repaired by
//! reading the app back, never by calling twice. Nothing is written when
//! nothing changed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};

use crate::api::app_account::{AccountState, AppAccountSpec, AppAccountStatus, PendingOperation};
use crate::api::business_hub::{BusinessHub, BusinessHubStatus, HubMode, RemovalWindow};
use crate::api::condition::{Condition, ConditionStatus};
use crate::api::duration::parse_duration;
use crate::api::{AccessGrant, AppAccount, FIELD_MANAGER, IdPBinding, User};
use crate::connector::{Connector, ConnectorError, ExternalAccount};
use crate::plan::{AccountPlan, Action, Plan, plan};

use super::context::Context;
use super::error::Error;
use super::executor::{Effect, run_action};
use super::metrics::ActionLabels;
use super::plan_input::{APPROVE_REMOVALS_ANNOTATION, account_name, format_time, hub_policy, in_app_state, parse_time, plan_input};
use super::status::now_rfc3339;

/// Label on every AppAccount naming its hub, for `rolecall status` and selectors.
pub const HUB_LABEL: &str = "rolecall.dev/hub";
/// Annotation that asks for a sync now: any new value does.
pub const SYNC_ANNOTATION: &str = "rolecall.dev/sync";

pub const CONNECTED: &str = "Connected";
pub const SYNCED: &str = "Synced";
pub const REMOVALS_HELD: &str = "RemovalsHeld";

/// How many calls to one app run at once.
const CALL_CONCURRENCY: usize = 4;

/// What a sync leaves for the hub's status.
pub struct SyncReport {
    pub conditions: Vec<Condition>,
    pub status: BusinessHubStatus,
    /// When to look again.
    pub requeue: Duration,
    /// Removals were approved and carried out: the approval is used up.
    pub approval_used: bool,
}

pub async fn sync(hub: &BusinessHub, namespace: &str, ctx: &Context, credential: String) -> Result<SyncReport, Error> {
    let name = hub.name_any();
    let previous = hub.status.clone().unwrap_or_default();
    let interval = parse_duration(&hub.spec.sync_interval).unwrap_or(Duration::from_secs(300));
    let mut status = previous.clone();
    let mut conditions = Vec::new();

    let key = format!("{namespace}/{name}");
    let connector = match crate::connector::for_hub(&hub.spec, credential, ctx.pacer(&key)) {
        Ok(c) => c,
        Err(e) => {
            conditions.push(Condition::new(CONNECTED, ConditionStatus::False, e.reason(), e.to_string()));
            return Ok(SyncReport { conditions, status, requeue: interval, approval_used: false });
        }
    };

    // Read the app back when the interval has passed, or when an admin asks.
    let requested = hub.annotations().get(SYNC_ANNOTATION).cloned();
    let on_demand = requested.is_some() && requested != previous.sync_request;
    let observed = if on_demand || ctx.sync_due(&key, interval) {
        let started = Instant::now();
        let listed = connector.list_accounts().await;
        ctx.metrics.count_call("list", listed.as_ref().err());
        match listed {
            Ok(list) => {
                ctx.synced(&key, started.elapsed());
                status.last_sync_duration_ms = Some(started.elapsed().as_millis() as i64);
                status.sync_request = requested.clone();
                Some(list)
            }
            Err(e) => {
                conditions.push(Condition::new(
                    CONNECTED,
                    ConditionStatus::False,
                    e.reason(),
                    format!("reading the accounts back failed: {e}"),
                ));
                let retry = match &e {
                    ConnectorError::RateLimited { retry_after: Some(d) } => *d,
                    _ => ctx.backoff_after_failure(format!("sync/{key}")),
                };
                return Ok(SyncReport { conditions, status, requeue: retry.min(interval), approval_used: false });
            }
        }
    } else {
        None
    };
    ctx.clear_failures(&format!("sync/{key}"));
    conditions.push(Condition::new(CONNECTED, ConditionStatus::True, "Connected", "the app answered the last read-back"));

    // The plan, from the caches with this process's own latest writes laid over them.
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let window = removal_window(hub, &previous, now);
    let domains = workspace_domains(ctx, namespace).await?;
    let accounts = ctx.accounts_of(namespace, &name);
    let users: Vec<Arc<User>> = ctx.users.state().into_iter().filter(|u| u.namespace().as_deref() == Some(namespace)).collect();
    let grants: Vec<Arc<AccessGrant>> = ctx.grants().into_iter().filter(|g| g.namespace().as_deref() == Some(namespace)).collect();
    let input = plan_input(
        hub,
        now,
        hub_policy(hub, domains, window.removals.max(0) as u32),
        &users.iter().map(|u| u.as_ref()).collect::<Vec<_>>(),
        &grants.iter().map(|g| g.as_ref()).collect::<Vec<_>>(),
        &accounts.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        observed.as_deref(),
    );
    let planned = plan(&input);
    let in_app: BTreeMap<String, ExternalAccount> =
        input.accounts.iter().filter_map(|a| a.observed.clone().map(|o| (a.email.to_lowercase(), o))).collect();
    let by_email: BTreeMap<String, Arc<AppAccount>> = accounts.iter().map(|a| (a.spec.email.to_lowercase(), a.clone())).collect();

    // Record every account as planned; announce each call before making it.
    let writer = AccountWriter { ctx, hub, namespace, now };
    let mut changed = observed.is_some() && previous.last_sync_time.is_none();
    let acting: BTreeMap<String, &Action> = if hub.spec.mode == HubMode::Enforce {
        planned.actions.iter().map(|a| (a.email().to_lowercase(), a)).collect()
    } else {
        BTreeMap::new()
    };
    for entry in &planned.accounts {
        if entry.email.is_empty() {
            continue;
        }
        let key = entry.email.to_lowercase();
        let existing = by_email.get(&key);
        if entry.forget {
            if let Some(account) = existing {
                writer.delete(account).await?;
                changed = true;
            }
            continue;
        }
        let mut desired = planned_status(entry, in_app.get(&key), existing.and_then(|a| a.status.as_ref()), hub.spec.mode, &planned);
        if let Some(action) = acting.get(&key) {
            desired.operation = Some(PendingOperation { action: action.kind().to_string(), started_at: format_time(now) });
        }
        changed |= writer.put(existing, entry, desired).await?;
    }

    // Carry the plan out.
    let (mut failed, mut removed) = (0, 0);
    if !acting.is_empty() {
        let results: Vec<(Action, Result<Effect, ConnectorError>)> = futures::stream::iter(planned.actions.iter().cloned())
            .map(|action| {
                let connector: &dyn Connector = connector.as_ref();
                async move {
                    let result = run_action(connector, &action).await;
                    (action, result)
                }
            })
            .buffer_unordered(CALL_CONCURRENCY)
            .collect()
            .await;
        for (action, result) in results {
            ctx.metrics.actions.get_or_create(&ActionLabels { action: action.kind(), outcome: outcome(&result) }).inc();
            if result.is_err() {
                failed += 1;
            }
            if matches!((&action, &result), (Action::Remove { cancel_invite: false, .. }, Ok(_))) {
                removed += 1;
            }
            writer.record_outcome(&action, &result, &planned).await?;
            changed = true;
        }
    }
    if removed > 0 {
        status.removal_window = Some(RemovalWindow { start: window.start.clone(), removals: window.removals + removed });
    }

    // The hub's report.
    let held = planned.held.len() as i32;
    conditions.push(if held > 0 {
        Condition::new(
            REMOVALS_HELD,
            ConditionStatus::True,
            "RemovalLimitExceeded",
            format!(
                "{held} removals exceed the limit of {} per {}; nothing is removed until an admin sets the {APPROVE_REMOVALS_ANNOTATION} annotation",
                hub.spec.safety.max_removals_per_window, hub.spec.safety.removal_window
            ),
        )
    } else {
        Condition::new(REMOVALS_HELD, ConditionStatus::False, "WithinLimit", "no removal is waiting for approval")
    });
    let pending = match hub.spec.mode {
        HubMode::Enforce => failed,
        HubMode::DryRun => planned.actions.len() as i32,
        HubMode::Observe => 0,
    };
    // Granted users the plan could not give an account (no email, or an email another user holds).
    let stuck: Vec<String> = planned
        .accounts
        .iter()
        .filter(|e| e.email.is_empty())
        .map(|e| format!("{}: {}", e.matched_user.as_deref().unwrap_or("?"), e.note.as_deref().unwrap_or("")))
        .collect();
    conditions.push(match (hub.spec.mode, pending) {
        (HubMode::Observe, _) => {
            Condition::new(SYNCED, ConditionStatus::True, "Observed", "Observe mode: the app is read back and reported, never changed")
        }
        (HubMode::DryRun, 0) => Condition::new(SYNCED, ConditionStatus::True, "InSync", "DryRun: the app already matches the grants"),
        (HubMode::DryRun, n) => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "DryRun",
            format!("DryRun: {n} changes would be made in Enforce mode; see the accounts' notes"),
        ),
        (_, 0) if !stuck.is_empty() => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "CannotInvite",
            format!("{} granted users cannot be invited: {}", stuck.len(), stuck.iter().take(5).cloned().collect::<Vec<_>>().join("; ")),
        ),
        (_, 0) => Condition::new(SYNCED, ConditionStatus::True, "InSync", "every planned change was made"),
        (_, n) => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "ActionsFailed",
            format!("{n} changes failed; see the accounts' lastError and Warning Events"),
        ),
    });
    status.held_removals = (held > 0).then_some(held);
    status.pending_actions = (pending > 0).then_some(pending);
    if changed && observed.is_some() {
        status.last_sync_time = Some(now_rfc3339());
    } else {
        status.last_sync_duration_ms = previous.last_sync_duration_ms;
    }
    let approval_used = input.hub.removals_approved && removed > 0;
    let requeue = interval.min(ctx.resync).min(next_deadline(&planned, &input.hub, now));
    Ok(SyncReport { conditions, status, requeue, approval_used })
}

fn outcome(result: &Result<Effect, ConnectorError>) -> &'static str {
    match result {
        Ok(Effect::Adopted(_)) => "adopted",
        Ok(_) => "ok",
        Err(e) => e.reason(),
    }
}

/// The current removal window: the recorded one while it lasts, else a new one from now.
fn removal_window(hub: &BusinessHub, previous: &BusinessHubStatus, now: i64) -> RemovalWindow {
    let length = parse_duration(&hub.spec.safety.removal_window).map(|d| d.as_secs() as i64).unwrap_or(3600);
    match &previous.removal_window {
        Some(w) if parse_time(&w.start).is_some_and(|start| now - start < length) => w.clone(),
        _ => RemovalWindow { start: format_time(now), removals: 0 },
    }
}

/// The earliest time something in the plan falls due (a grace period, an invitation's expiry).
fn next_deadline(planned: &Plan, hub: &crate::plan::HubPolicy, now: i64) -> Duration {
    let mut next = i64::MAX;
    for entry in &planned.accounts {
        if let Some(ended) = entry.record.access_ended_at {
            next = next.min(ended + hub.removal_grace_secs);
        }
        if entry.state == Some(AccountState::InviteSent)
            && let Some(sent) = entry.record.invite_sent_at
        {
            next = next.min(sent + hub.invite_expiry_secs);
        }
    }
    if next == i64::MAX { Duration::MAX } else { Duration::from_secs((next - now).max(1) as u64) }
}

async fn workspace_domains(ctx: &Context, namespace: &str) -> Result<Vec<String>, Error> {
    let bindings: Api<IdPBinding> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(bindings.list(&Default::default()).await?.items.into_iter().flat_map(|b| b.spec.workspace_domains).collect())
}

/// The status an account gets from its plan entry.
fn planned_status(
    entry: &AccountPlan,
    in_app: Option<&ExternalAccount>,
    previous: Option<&AppAccountStatus>,
    mode: HubMode,
    planned: &Plan,
) -> AppAccountStatus {
    let action = planned.actions.iter().find(|a| a.email().eq_ignore_ascii_case(&entry.email));
    let note = match (mode, action) {
        (HubMode::DryRun, Some(a)) => Some(format!("DryRun: would {}", a.kind())),
        _ => entry.note.clone(),
    };
    AppAccountStatus {
        observed_generation: None,
        conditions: vec![],
        table: Some(entry.table),
        state: entry.state,
        external_id: in_app.map(|a| a.id.clone()).filter(|id| !id.is_empty()),
        app_roles: entry.access.as_ref().map(|a| a.roles.iter().cloned().collect()).unwrap_or_default(),
        assets: entry.access.as_ref().map(|a| super::plan_input::asset_strings(&a.assets)).unwrap_or_default(),
        granted_via: entry.granted_via.clone(),
        matched_user: entry.matched_user.clone(),
        login_method: entry.login_method,
        invite_sent_at: entry.record.invite_sent_at.map(format_time),
        invite_resends: (entry.record.invite_resends > 0).then_some(entry.record.invite_resends as i32),
        access_ended_at: entry.record.access_ended_at.map(format_time),
        in_app: in_app.map(in_app_state),
        operation: None,
        note,
        last_error: previous.and_then(|p| p.last_error.clone()),
    }
}

/// Writes AppAccounts: create when missing, status by server-side apply when changed, Events for actions.
struct AccountWriter<'a> {
    ctx: &'a Context,
    hub: &'a BusinessHub,
    namespace: &'a str,
    now: i64,
}

impl AccountWriter<'_> {
    fn api(&self) -> Api<AppAccount> {
        Api::namespaced(self.ctx.client.clone(), self.namespace)
    }

    /// Makes the account's status `desired`; returns whether it wrote.
    async fn put(&self, existing: Option<&Arc<AppAccount>>, entry: &AccountPlan, desired: AppAccountStatus) -> Result<bool, Error> {
        let account = match existing {
            Some(a) => a.clone(),
            None => Arc::new(self.create(&entry.email).await?),
        };
        let desired = AppAccountStatus { observed_generation: account.metadata.generation, ..desired };
        if account.status.as_ref() == Some(&desired) {
            return Ok(existing.is_none());
        }
        self.apply_status(&account, &desired).await?;
        Ok(true)
    }

    async fn create(&self, email: &str) -> Result<AppAccount, Error> {
        let hub_name = self.hub.name_any();
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
        self.ctx.metrics.count_write(super::hub_controller::NAME, "account");
        self.ctx.account_overlay.wrote(created.clone());
        Ok(created)
    }

    async fn apply_status(&self, account: &AppAccount, status: &AppAccountStatus) -> Result<(), Error> {
        let patch = serde_json::json!({"apiVersion": AppAccount::api_version(&()), "kind": AppAccount::kind(&()), "status": status});
        let written =
            self.api().patch_status(&account.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
        self.ctx.metrics.count_write(super::hub_controller::NAME, "status");
        self.ctx.account_overlay.wrote(written);
        Ok(())
    }

    async fn delete(&self, account: &AppAccount) -> Result<(), Error> {
        match self.api().delete(&account.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        self.ctx.metrics.count_write(super::hub_controller::NAME, "account");
        self.ctx.account_overlay.deleted(self.namespace, &account.name_any());
        Ok(())
    }

    /// After a call: the account's status from what the app answered, and an Event for the audit trail.
    async fn record_outcome(&self, action: &Action, result: &Result<Effect, ConnectorError>, planned: &Plan) -> Result<(), Error> {
        let name = account_name(&self.hub.name_any(), action.email());
        let Some(account) = self.ctx.account(self.namespace, &name) else { return Ok(()) };
        let mut status = account.status.clone().unwrap_or_default();
        let entry = planned.accounts.iter().find(|e| e.email.eq_ignore_ascii_case(action.email()));
        match result {
            Ok(effect) => {
                status.operation = None;
                status.last_error = None;
                match effect {
                    Effect::Added(a) | Effect::Adopted(a) => {
                        status.external_id = Some(a.id.clone()).filter(|id| !id.is_empty());
                        status.in_app = Some(in_app_state(a));
                        let accepted = matches!(effect, Effect::Adopted(_)) && a.active && !a.invite_pending;
                        status.state = Some(if accepted { AccountState::Onboarded } else { AccountState::InviteSent });
                        if matches!(effect, Effect::Added(_)) {
                            status.invite_sent_at = Some(format_time(self.now));
                            if matches!(action, Action::Add { resend: true, .. }) {
                                status.invite_resends = Some(status.invite_resends.unwrap_or(0) + 1);
                            }
                        }
                    }
                    Effect::Updated => {
                        if let Action::Update { access, .. } = action {
                            let held = ExternalAccount {
                                id: status.external_id.clone().unwrap_or_default(),
                                email: action.email().to_string(),
                                display_name: None,
                                access: access.clone(),
                                active: true,
                                invite_pending: false,
                                login_method: None,
                            };
                            status.in_app = Some(in_app_state(&held));
                        }
                        status.state = Some(AccountState::Onboarded);
                    }
                    Effect::Removed => {
                        // Deactivated or deleted: the next read-back tells which; either way no seat.
                        status.in_app = Some(crate::api::app_account::InAppState::default());
                        status.state = None;
                        status.access_ended_at = None;
                        status.app_roles = vec![];
                        status.assets = vec![];
                    }
                }
            }
            Err(e) => {
                // A retryable failure (a timeout) may have reached the app: keep the
                // announcement so the next attempt reads back first.
                if !e.is_retryable() {
                    status.operation = None;
                }
                status.last_error = Some(format!("{} failed: {e}", action.kind()));
                if matches!(action, Action::Add { .. }) {
                    status.state = Some(AccountState::InviteFailed);
                }
            }
        }
        if let Some(entry) = entry
            && result.is_ok()
        {
            status.note = entry.note.clone().filter(|_| !matches!(action, Action::Remove { .. }));
        }
        self.apply_status(&account, &status).await?;
        self.event(&account, action, result).await;
        Ok(())
    }

    async fn event(&self, account: &AppAccount, action: &Action, result: &Result<Effect, ConnectorError>) {
        let (type_, reason, note) = match result {
            Ok(Effect::Adopted(_)) => {
                (EventType::Normal, "Adopted".to_string(), format!("{} already had an account in the app; adopted it", action.email()))
            }
            Ok(_) => (EventType::Normal, action.kind().to_string(), format!("{} {}", action.kind(), action.email())),
            Err(e) => (EventType::Warning, format!("{}Failed", action.kind()), format!("{} {}: {e}", action.kind(), action.email())),
        };
        let event = Event { type_, reason, note: Some(note), action: action.kind().to_string(), secondary: None };
        match self.ctx.recorder.publish(&event, &account.object_ref(&())).await {
            Ok(()) => self.ctx.metrics.count_write(super::hub_controller::NAME, "event"),
            Err(e) => tracing::warn!(error = %e, "cannot publish Event"),
        }
    }
}
