//! One sync of a ready hub, as a pipeline: read the app back (when due) →
//! plan → record every account as planned → act (Enforce) → report. Each call
//! to the app is announced in the account's status before it is made, so a
//! crash between a call and its record is repaired by reading the app back,
//! never by calling twice. Nothing is written when nothing changed, and no
//! call is made for a hub or grant that is gone.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::api::app_account::{AccountState, AppAccountStatus, OperationKind, PendingOperation};
use crate::api::business_hub::{BusinessHub, BusinessHubStatus, HubMode, IMPORTED_ASSETS_KEPT, RemovalWindow};
use crate::api::condition::{Condition, ConditionStatus};
use crate::api::duration::parse_duration;
use crate::api::scope::is_in;
use crate::api::time::{format_time, now_rfc3339, parse_time};
use crate::api::wire::SYNC_ANNOTATION;
use crate::api::wire::condition::CONNECTED;
use crate::api::{AccessGrant, AppAccount, User};
use crate::connector::{AppAsset, Connector, ConnectorError, ExternalAccount, ExternalPartner, OperationId};
use crate::plan::{AccountPlan, Action, Plan, PlanInput, plan};

use super::account_status::planned_status;
use super::account_writer::{AccountWriter, write_outcome};
use super::app_snapshot::{AppSnapshot, read_app};
use super::call_events::CallEvents;
use super::context::Context;
use super::error::Error;
use super::executor::{Effect, run_action};
use super::hub_report;
use super::metrics::{ActionLabels, CancelLabels};
use super::partner_sync::{self, PartnersSynced};
use super::plan_input::{account_name, hub_policy, plan_input};

/// How many calls to one app run at once. A call's slot is held for the call
/// alone: its outcome's AppAccount write and Event run after the slot is
/// freed, up to `WRITE_CONCURRENCY` at once (a busy API server answered a
/// status write in 0.5 s in the 5,000-user benchmark, while the app answered
/// the invitation in 16 ms: held through the write, a slot called the app a
/// thirtieth of the time).
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

pub async fn sync(hub: &BusinessHub, namespace: &str, ctx: &Arc<Context>, credential: String) -> Result<SyncReport, Error> {
    let key = format!("{namespace}/{}", hub.name_any());
    let previous = hub.status.clone().unwrap_or_default();
    let interval = parse_duration(&hub.spec.sync_interval).unwrap_or(Duration::from_secs(300));
    ctx.metrics.record_interval(&key, interval);
    let mut status = previous.clone();
    let connector: Arc<dyn Connector> = match crate::connector::for_hub(&hub.spec, credential, ctx.pacer(&key)) {
        Ok(c) => Arc::from(c),
        Err(e) => {
            let conditions = vec![Condition::new(CONNECTED, ConditionStatus::False, e.reason(), e.to_string())];
            return Ok(SyncReport { conditions, status, requeue: interval, approval_used: false });
        }
    };

    // 1. Read back.
    let started = Instant::now();
    let observed = match read_back(hub, ctx, &key, interval, &connector, &mut status).await {
        Ok(observed) => observed,
        Err(report) => return Ok(report),
    };
    // Connected says how the last read-back went: a sync that read nothing back
    // (none due, or one running beside) keeps what the last one said, so a hub
    // whose app refused its last read-back is not called Connected before the app
    // answers again.
    let previous_connected = previous.conditions.iter().find(|c| c.type_ == CONNECTED).cloned();
    let connected = match previous_connected {
        Some(last) if observed.is_none() => last,
        _ => Condition::new(CONNECTED, ConditionStatus::True, "Connected", "the app answered the last read-back"),
    };
    let mut conditions = vec![connected];
    let read_back_took = started.elapsed();
    // What the read-back found besides accounts: the assets, imported into the
    // status (and into this sync's catalog, so a grant of one is planned now),
    // and the partners, remembered for the partner step.
    let with_imports;
    let hub = match observed.as_ref() {
        Some(read) => {
            if let Some(partners) = &read.partners {
                ctx.partners_seen.read_back(&key, partners.clone(), read.started);
            }
            match &read.assets {
                Some(assets) if import_assets(&mut status, assets) => {
                    with_imports = BusinessHub { status: Some(status.clone()), ..hub.clone() };
                    &with_imports
                }
                _ => hub,
            }
        }
        None => hub,
    };

    // 2. Plan, from the caches with this process's own latest writes laid over them.
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let window = removal_window(hub, &previous, now);
    let domains = workspace_domains(ctx, namespace);
    // One plan per core at a time. Each builds the whole workspace's input (every
    // user, grant and account: about 13 MB at 1,000 users, heaptrack), and with
    // every hub of a workspace replanning at once after an IdP push, 20 of them
    // side by side were the operator's peak memory, for no speed-up on 2 cores.
    // (The semaphore is never closed; were it, the sync would plan unbounded, not fail.)
    let waiting = Instant::now();
    let plan_permit = ctx.planning.acquire().await.ok();
    let plan_wait = waiting.elapsed();
    let planning = Instant::now();
    let input_cpu = crate::telemetry::thread_cpu();
    let accounts = ctx.accounts_of(namespace, &hub.name_any());
    let input = build_input(hub, namespace, ctx, now, &window, domains, &accounts, observed.as_ref());
    let input_cpu = crate::telemetry::thread_cpu().saturating_sub(input_cpu);
    // Off the async workers: a 5,000-user workspace's plan is 20 to 200 ms of CPU
    // (`make bench-hub`; the benchmark's loaded machine), and with 20 hubs replanning
    // back to back it would hold the workers that also drive the watches and writes.
    let (input, planned, plan_cpu) = tokio::task::spawn_blocking(move || {
        let cpu = crate::telemetry::thread_cpu();
        let planned = plan(&input);
        (input, planned, crate::telemetry::thread_cpu().saturating_sub(cpu))
    })
    .await?;
    let plan_took = planning.elapsed();
    ctx.metrics.plan_duration.observe(plan_took.as_secs_f64());
    drop(plan_permit);

    // 3. Record every account as planned, announcing each call before it is made.
    let writer = AccountWriter { ctx: ctx.as_ref(), hub, namespace, now };
    let mut changed = observed.is_some() && previous.last_sync_time.is_none();
    let recording = Instant::now();
    let recorded = record(&writer, &input, &planned, &accounts).await?;
    changed |= recorded.changed;
    let record_took = recording.elapsed();

    // 4. Act.
    let acting = Instant::now();
    let acted = if hub.spec.mode == HubMode::Enforce && !planned.actions.is_empty() {
        changed = true;
        act(ctx, &writer, connector.as_ref(), &planned, &recorded).await?
    } else {
        Acted::default()
    };
    // Where a sync's time goes, for whoever profiles a slow hub (the benchmark reads it).
    tracing::debug!(
        hub = %key,
        read_back = observed.is_some(),
        read_back_ms = read_back_took.as_millis() as u64,
        plan_wait_ms = plan_wait.as_millis() as u64,
        plan_ms = plan_took.as_millis() as u64,
        input_cpu_ms = input_cpu.as_millis() as u64,
        plan_cpu_ms = plan_cpu.as_millis() as u64,
        record_ms = record_took.as_millis() as u64,
        act_ms = acting.elapsed().as_millis() as u64,
        actions = planned.actions.len(),
        "hub synced"
    );
    // 4b. Partners (Meta agencies, TikTok partners): planned from what the app last
    // said they hold, under the same mode and removal limit as the accounts.
    let partners = if crate::connector::capabilities(&hub.spec.connector).partners {
        let limit = hub.spec.safety.max_removals_per_window.max(0);
        // An admin's approval of held removals lets held revocations through too.
        let removals_left =
            if input.hub.removals_approved { usize::MAX } else { (limit - window.removals - acted.removed).max(0) as usize };
        partner_sync::sync_partners(ctx, hub, namespace, connector.as_ref(), removals_left).await?
    } else {
        PartnersSynced::default()
    };
    if let Some(summary) = partners.summary {
        status.partners = summary;
    }
    let removed = acted.removed + partners.revoked;
    if removed > 0 {
        status.removal_window = Some(RemovalWindow { start: window.start.clone(), removals: window.removals + removed });
    }

    // 5. Report.
    conditions.push(hub_report::removals_held(
        planned.held.len(),
        hub.spec.safety.max_removals_per_window,
        &hub.spec.safety.removal_window,
    ));
    let pending = hub_report::pending_actions(hub.spec.mode, planned.actions.len(), acted.failed + acted.cancelled);
    conditions.push(hub_report::synced(hub.spec.mode, pending, &planned.cannot_invite));
    let held = planned.held.len() as i32;
    ctx.metrics.record_held(&key, planned.held.len());
    status.held_removals = (held > 0).then_some(held);
    status.pending_actions = (pending > 0).then_some(pending as i32);
    // Invitations the app's cap holds back (GitHub), and when they should have gone.
    status.invitation_queue = if hub.spec.mode == HubMode::Enforce { connector.invitation_queue() } else { None };
    if changed && observed.is_some() {
        status.last_sync_time = Some(now_rfc3339());
    } else {
        status.last_sync_duration_ms = previous.last_sync_duration_ms;
    }
    let approval_used = input.hub.removals_approved && removed > 0;
    // Failed calls are retried at the app's retry time, else with this hub's backoff.
    let retry = match (acted.retry_after, acted.failed) {
        (Some(d), _) => d,
        (None, 0) => {
            ctx.clear_failures(&format!("act/{key}"));
            Duration::MAX
        }
        (None, _) => ctx.backoff_after_failure(format!("act/{key}")),
    };
    let retry = partners.retry_after.map_or(retry, |d| d.min(retry));
    let requeue = interval.min(ctx.resync).min(next_deadline(&planned, &input.hub, now)).min(retry);
    Ok(SyncReport { conditions, status, requeue, approval_used })
}

/// What step 1 gives the plan: the app's accounts (and assets and partners),
/// and the accounts a call touched while they were being read (the plan keeps
/// those as recorded).
pub struct ReadBack {
    pub accounts: Vec<ExternalAccount>,
    pub touched: HashSet<String>,
    /// When the read-back started.
    pub started: Instant,
    pub assets: Option<Vec<AppAsset>>,
    pub partners: Option<Vec<ExternalPartner>>,
}

impl ReadBack {
    fn of(snapshot: AppSnapshot, touched: HashSet<String>, started: Instant) -> ReadBack {
        let AppSnapshot { accounts, assets, partners } = snapshot;
        ReadBack { accounts, touched, started, assets, partners }
    }
}

/// Step 1: the app's accounts when a read-back is due (its interval passed,
/// or an admin asked with `rolecall.dev/sync`), or finished beside the syncs
/// (`read_backs`); `None` otherwise, and while one runs. The hub's first
/// read-back in this process and an admin's are made here, before anything
/// is planned; later ones run beside the syncs. A failed read-back ends the
/// sync with `Connected=False`.
async fn read_back(
    hub: &BusinessHub,
    ctx: &Context,
    key: &str,
    interval: Duration,
    connector: &Arc<dyn Connector>,
    status: &mut BusinessHubStatus,
) -> Result<Option<ReadBack>, SyncReport> {
    if let Some(finished) = ctx.read_backs.take(key) {
        return match settle_read_back(ctx, key, finished.result, finished.took, status) {
            Ok(snapshot) => Ok(Some(ReadBack::of(snapshot, finished.touched, finished.started))),
            Err((e, retry)) => Err(read_back_failed(&e, retry.min(interval), status)),
        };
    }
    let requested = hub.annotations().get(SYNC_ANNOTATION).cloned();
    let on_demand = requested.is_some() && requested != status.sync_request;
    if !on_demand && !ctx.sync_due(key, interval) {
        ctx.clear_failures(&format!("sync/{key}"));
        return Ok(None);
    }
    let capabilities = crate::connector::capabilities(&hub.spec.connector);
    if !on_demand && ctx.read_backs.read_once(key) {
        let metrics = ctx.metrics.clone();
        let hub_key = key.to_string();
        // Not awaited: the sync after it finishes takes the result.
        let _task = ctx.read_backs.start(key, ObjectRef::from_obj(hub), connector.clone(), capabilities, move |listed, _| {
            metrics.count_call("list", listed.as_ref().err());
            metrics.count_auth_failure(&hub_key, listed.as_ref().err());
        });
        return Ok(None);
    }
    let started = Instant::now();
    let listed = read_app(connector.as_ref(), capabilities).await;
    ctx.metrics.count_call("list", listed.as_ref().err());
    ctx.metrics.count_auth_failure(key, listed.as_ref().err());
    let snapshot = match settle_read_back(ctx, key, listed, started.elapsed(), status) {
        Ok(snapshot) => snapshot,
        Err((e, retry)) => return Err(read_back_failed(&e, retry.min(interval), status)),
    };
    ctx.read_backs.read_inline(key);
    status.sync_request = requested;
    Ok(Some(ReadBack::of(snapshot, HashSet::new(), started)))
}

/// Puts the assets a read-back listed into the hub's status (sorted, at most
/// `IMPORTED_ASSETS_KEPT`); returns whether they changed.
fn import_assets(status: &mut BusinessHubStatus, listed: &[AppAsset]) -> bool {
    let mut assets = listed.to_vec();
    assets.sort_by(|a, b| a.name.cmp(&b.name));
    assets.truncate(IMPORTED_ASSETS_KEPT);
    let count = (!listed.is_empty()).then(|| i32::try_from(listed.len()).unwrap_or(i32::MAX));
    let changed = status.assets != assets || status.assets_listed != count;
    status.assets = assets;
    status.assets_listed = count;
    changed
}

/// The report of a sync a failed read-back ended.
fn read_back_failed(e: &ConnectorError, requeue: Duration, status: &BusinessHubStatus) -> SyncReport {
    let condition = Condition::new(CONNECTED, ConditionStatus::False, e.reason(), format!("reading the accounts back failed: {e}"));
    SyncReport { conditions: vec![condition], status: status.clone(), requeue, approval_used: false }
}

/// A read-back's outcome: the accounts, or its error and when to retry.
fn settle_read_back(
    ctx: &Context,
    key: &str,
    listed: Result<AppSnapshot, ConnectorError>,
    took: Duration,
    status: &mut BusinessHubStatus,
) -> Result<AppSnapshot, (ConnectorError, Duration)> {
    match listed {
        Ok(list) => {
            ctx.synced(key, took);
            ctx.clear_failures(&format!("sync/{key}"));
            status.last_sync_duration_ms = Some(took.as_millis() as i64);
            Ok(list)
        }
        Err(e) => {
            let retry = match &e {
                ConnectorError::RateLimited { retry_after: Some(d) } => *d,
                _ => ctx.backoff_after_failure(format!("sync/{key}")),
            };
            Err((e, retry))
        }
    }
}

/// Step 2's input: the hub's policy and the workspace's users, grants and
/// accounts, from the caches alone.
#[allow(clippy::too_many_arguments)]
fn build_input(
    hub: &BusinessHub,
    namespace: &str,
    ctx: &Context,
    now: i64,
    window: &RemovalWindow,
    domains: Vec<String>,
    accounts: &[Arc<AppAccount>],
    observed: Option<&ReadBack>,
) -> PlanInput {
    let users: Vec<Arc<User>> = ctx.users.state().into_iter().filter(|u| is_in(u.as_ref(), namespace)).collect();
    let grants: Vec<Arc<AccessGrant>> = ctx.grants().into_iter().filter(|g| is_in(g.as_ref(), namespace)).collect();
    let capabilities = crate::connector::capabilities(&hub.spec.connector);
    plan_input(
        hub,
        now,
        hub_policy(hub, domains, window.removals.max(0) as u32, capabilities),
        &users.iter().map(|u| u.as_ref()).collect::<Vec<_>>(),
        &grants.iter().map(|g| g.as_ref()).collect::<Vec<_>>(),
        &accounts.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        observed.map(|r| r.accounts.as_slice()),
        observed.map(|r| &r.touched),
    )
}

/// How many AppAccount writes of one hub's sync run at once.
const WRITE_CONCURRENCY: usize = 16;

/// Step 3: every account's status as planned (deleting the ones the plan
/// forgets), with the call about to be made announced, a few writes at a time.
/// A new account about to be invited is only created: an AppAccount with no
/// status is itself the announcement of an invitation (see `record_of`), and
/// its planned status is written once, with the call's outcome. Returns
/// whether it wrote, and those planned statuses by email.
async fn record(writer: &AccountWriter<'_>, input: &PlanInput, planned: &Plan, accounts: &[Arc<AppAccount>]) -> Result<Recorded, Error> {
    let in_app: BTreeMap<String, &ExternalAccount> =
        input.accounts.iter().filter_map(|a| a.observed.as_ref().map(|o| (a.email.to_lowercase(), o))).collect();
    let by_email: BTreeMap<String, &Arc<AppAccount>> = accounts.iter().map(|a| (a.spec.email.to_lowercase(), a)).collect();
    let acting: BTreeMap<String, &Action> = if writer.hub.spec.mode == HubMode::Enforce {
        planned.actions.iter().map(|a| (a.email().to_lowercase(), a)).collect()
    } else {
        BTreeMap::new()
    };
    // Collected first: a closure inside the stream would not be `Send` for
    // every lifetime, which the controller's future must be.
    let writes: Vec<_> = planned
        .accounts
        .iter()
        .map(|entry| {
            let key = entry.email.to_lowercase();
            record_one(writer, entry, by_email.get(&key).copied(), acting.get(&key).copied(), in_app.get(&key).copied())
        })
        .collect();
    let writes: Vec<Result<RecordedOne, Error>> = futures::stream::iter(writes).buffer_unordered(WRITE_CONCURRENCY).collect().await;
    let mut recorded = Recorded::default();
    for write in writes {
        let one = write?;
        recorded.changed |= one.wrote;
        let key = one.email.to_lowercase();
        if let Some(status) = one.unwritten {
            recorded.unwritten.insert(key.clone(), status);
        }
        if let Some(operation) = one.announced {
            recorded.operations.insert(key, operation);
        }
    }
    Ok(recorded)
}

/// One account's write of step 3.
struct RecordedOne {
    email: String,
    wrote: bool,
    /// The planned status left for the outcome, when only the account was created.
    unwritten: Option<AppAccountStatus>,
    /// The id of the call announced for the account, if one is to be made.
    announced: Option<OperationId>,
}

async fn record_one(
    writer: &AccountWriter<'_>,
    entry: &AccountPlan,
    existing: Option<&Arc<AppAccount>>,
    action: Option<&Action>,
    observed: Option<&ExternalAccount>,
) -> Result<RecordedOne, Error> {
    let mut one = RecordedOne { email: entry.email.clone(), wrote: false, unwritten: None, announced: None };
    if entry.forget {
        if let Some(account) = existing {
            writer.delete(account).await?;
            one.wrote = true;
        }
        return Ok(one);
    }
    let mut desired = planned_status(entry, observed, existing.and_then(|a| a.status.as_ref()));
    if let Some(action) = action {
        // The same call announced before (a retry) keeps its first announcement, so a
        // retry writes nothing new, the announcement says how long it has waited,
        // and the call carries the same operation id.
        // An account created and never written since was announced by its creation
        // (an invitation), at its creation time: after a crash, too.
        let announced = existing.and_then(|a| match &a.status {
            Some(status) => status.operation.clone(),
            None => created_at(a).map(|at| PendingOperation { action: OperationKind::Invite, started_at: at }),
        });
        let mut operation = match announced {
            Some(op) if op.action == action.kind() => op,
            _ => PendingOperation { action: action.kind(), started_at: format_time(writer.now) },
        };
        let hub_uid = writer.hub.metadata.uid.as_deref().unwrap_or_default();
        if existing.is_none() && matches!(action, Action::Add { .. }) {
            let created = writer.create(&entry.email).await?;
            // The creation is the announcement: its time names the call, as a retry will read it.
            operation.started_at = created_at(&created).unwrap_or(operation.started_at);
            one.announced = Some(OperationId::of(hub_uid, &entry.email, operation.action, &operation.started_at));
            desired.operation = Some(operation);
            one.wrote = true;
            one.unwritten = Some(desired);
            return Ok(one);
        }
        one.announced = Some(OperationId::of(hub_uid, &entry.email, operation.action, &operation.started_at));
        desired.operation = Some(operation);
    }
    one.wrote = writer.put(existing, &entry.email, desired).await?;
    Ok(one)
}

/// When the account was created, as an announcement's time.
fn created_at(account: &AppAccount) -> Option<String> {
    account.metadata.creation_timestamp.as_ref().map(|t| format_time(t.0.as_second()))
}

/// What step 3 wrote.
#[derive(Default)]
struct Recorded {
    changed: bool,
    /// Planned statuses of accounts only created so far, written with their call's outcome.
    unwritten: BTreeMap<String, AppAccountStatus>,
    /// The announced call of each account acted on, by email (lower case).
    operations: BTreeMap<String, OperationId>,
}

/// What step 4 did.
#[derive(Default)]
struct Acted {
    failed: usize,
    cancelled: usize,
    removed: i32,
    /// The earliest time an app that answered "wait" said to come back.
    retry_after: Option<Duration>,
}

/// Step 4: the planned calls, a few at a time, each outcome shown as soon as
/// its call returns and written behind the sync (`outcome_writes`). Before
/// each call the hub, and for an add or update every grant it came from, must
/// still exist: work planned for a hub never outlives the hub or its grants.
async fn act(
    shared: &Arc<Context>,
    writer: &AccountWriter<'_>,
    connector: &dyn Connector,
    planned: &Plan,
    recorded: &Recorded,
) -> Result<Acted, Error> {
    let ctx = writer.ctx;
    let events = CallEvents::new(
        ctx.recorder.clone(),
        ctx.metrics.clone(),
        writer.hub.object_ref(&()),
        format!("{}/{}", writer.namespace, writer.hub.name_any()),
    );
    let slots = tokio::sync::Semaphore::new(CALL_CONCURRENCY);
    let entries: BTreeMap<String, &AccountPlan> = planned.accounts.iter().map(|e| (e.email.to_lowercase(), e)).collect();
    let calls: Vec<_> = planned
        .actions
        .iter()
        .map(|action| {
            let key = action.email().to_lowercase();
            let one = Announced {
                entry: entries.get(&key).copied(),
                unwritten: recorded.unwritten.get(&key),
                operation: recorded.operations.get(&key),
            };
            act_one(shared, writer, connector, action, one, &events, &slots)
        })
        .collect();
    let results: Vec<Result<ActedOne, Error>> = futures::stream::iter(calls).buffer_unordered(WRITE_CONCURRENCY).collect().await;
    events.finish();
    let mut acted = Acted::default();
    let mut first_error = None;
    for done in results {
        let (action, result) = match done {
            Ok(done) => done,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let Some(result) = result else {
            acted.cancelled += 1;
            continue;
        };
        if let Err(e) = &result {
            acted.failed += 1;
            if let ConnectorError::RateLimited { retry_after: Some(d) } = e {
                acted.retry_after = Some(acted.retry_after.map_or(*d, |r| r.min(*d)));
            }
        }
        if matches!((&action, &result), (Action::Remove { cancel_invite: false, .. }, Ok(_))) {
            acted.removed += 1;
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(acted),
    }
}

/// One call of step 4 and its outcome; `None` when it was cancelled.
type ActedOne = (Action, Option<Result<Effect, ConnectorError>>);

/// What step 3 left for one call of step 4.
struct Announced<'a> {
    entry: Option<&'a AccountPlan>,
    unwritten: Option<&'a AppAccountStatus>,
    operation: Option<&'a OperationId>,
}

async fn act_one(
    shared: &Arc<Context>,
    writer: &AccountWriter<'_>,
    connector: &dyn Connector,
    action: &Action,
    announced: Announced<'_>,
    events: &CallEvents,
    slots: &tokio::sync::Semaphore,
) -> Result<ActedOne, Error> {
    let Announced { entry, unwritten, operation } = announced;
    let ctx = writer.ctx;
    let hub_key = format!("{}/{}", writer.namespace, writer.hub.name_any());
    // Room for the outcome's write first: a rollout's calls wait for the API server, not pile up.
    let write_slot = ctx.outcome_writes.slot(&hub_key).await;
    // The slot is taken before the hub and grants are checked: the check stays just before the call.
    // (The semaphore is never closed; were it, the call would go unbounded, not fail.)
    let slot = slots.acquire().await.ok();
    if let Some(reason) = cancelled(ctx, writer.hub, action, entry) {
        ctx.metrics.actions_cancelled.get_or_create(&CancelLabels { action: action.kind().as_str(), reason }).inc();
        return Ok((action.clone(), None));
    }
    // A read-back running now may not show this call: the plan keeps the account as recorded.
    let _in_flight = ctx.read_backs.calling(&hub_key, action.email());
    // Every acted-on account was announced in step 3; a missing id would be a bug, not input.
    let fallback;
    let operation = match operation {
        Some(op) => op,
        None => {
            fallback = OperationId::of(
                writer.hub.metadata.uid.as_deref().unwrap_or_default(),
                action.email(),
                action.kind(),
                &format_time(writer.now),
            );
            &fallback
        }
    };
    let result = run_action(connector, action, operation).await;
    drop(slot);
    ctx.metrics.actions.get_or_create(&ActionLabels { action: action.kind().as_str(), outcome: outcome(&result) }).inc();
    ctx.metrics.count_auth_failure(&hub_key, result.as_ref().err());
    // The account's turn before its outcome is decided: a write of it still in flight lands first.
    let name = account_name(&writer.hub.name_any(), action.email());
    let turn = ctx.outcome_writes.turn(writer.namespace, &name).await;
    if let Some((account, status)) = writer.outcome(action, &result, entry, unwritten) {
        events.call(&account.object_ref(&()), action, &result, operation);
        // Every reader (this hub's next plan among them) sees the outcome from now on.
        let mut shown = account.as_ref().clone();
        shown.status = Some(status.clone());
        ctx.account_overlay.pending(shown);
        let (shared, namespace) = (shared.clone(), writer.namespace.to_string());
        tokio::spawn(async move {
            write_outcome(&shared, &namespace, &name, &status).await;
            drop((turn, write_slot));
        });
    }
    Ok((action.clone(), Some(result)))
}

/// Why a planned call must not be made any more, if it must not.
fn cancelled(ctx: &Context, hub: &BusinessHub, action: &Action, entry: Option<&AccountPlan>) -> Option<&'static str> {
    let namespace = hub.namespace().unwrap_or_default();
    let current = ctx.hubs.get(&ObjectRef::new(&hub.name_any()).within(&namespace));
    let same_hub = current.is_some_and(|h| h.metadata.uid == hub.metadata.uid && h.metadata.deletion_timestamp.is_none());
    if !same_hub {
        return Some("hub_gone");
    }
    if matches!(action, Action::Add { .. } | Action::Update { .. }) {
        let grants: BTreeSet<&str> = entry.map(|e| e.granted_via.iter().map(String::as_str).collect()).unwrap_or_default();
        if grants.iter().any(|g| ctx.grants.get(&ObjectRef::<AccessGrant>::new(g).within(&namespace)).is_none()) {
            return Some("grant_gone");
        }
    }
    None
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

/// The workspace's own email domains, from its IdPBindings (cached).
fn workspace_domains(ctx: &Context, namespace: &str) -> Vec<String> {
    let mut domains: Vec<String> = ctx
        .bindings
        .state()
        .iter()
        .filter(|b| is_in(b.as_ref(), namespace))
        .flat_map(|b| b.spec.workspace_domains.iter().cloned())
        .collect();
    // The cache's order is a hash map's: sorted, the plan's input is the same from one sync to the next.
    domains.sort();
    domains.dedup();
    domains
}
