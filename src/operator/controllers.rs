//! Wires the controllers: what each watches, how a change to one kind maps to
//! the objects that must be reconciled again, and the shared error policy.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use crate::api::scope::scoped_api;
use crate::api::{AccessGrant, AppAccount, BusinessHub, IdPBinding, Team, User};

use super::cache::{Change, spawn_cache, spawn_cache_with};
use super::context::Context;
use super::error::{Error, object_key};
use super::last_seen::LastSeen;
use super::metrics::{ControllerLabels, ErrorLabels};
use super::seat_index::SeatIndex;
use super::spec_changes::SpecChanges;
use super::{binding_controller, grant_controller, hub_controller, team_controller, user_controller};

/// A Team is reconciled once its members stopped changing for this long: a
/// group push of thousands of members, which the IdP sends in quick PATCHes,
/// costs a handful of status writes instead of one per member.
const TEAM_DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(2);
/// A User is reconciled once its accounts stopped changing for this long: an
/// invitation's few AppAccount writes (announced, sent) become one status write.
const USER_DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(1);
/// A grant's member counts move with every account of a rollout: written at most about once a second.
const GRANT_DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(1);

/// Settings the controllers share.
pub struct Settings {
    pub client: Client,
    pub namespace: Option<String>,
    pub resync: std::time::Duration,
    pub identity: String,
    pub metrics: Arc<super::metrics::Metrics>,
}

/// Runs every controller until `stop` turns true.
pub async fn run_all(settings: Settings, stop: watch::Receiver<bool>) {
    let Settings { client, namespace, resync, identity, metrics } = settings;
    let wc = watcher::Config::default();

    // Caches of the kinds reconciles read; each also triggers the objects that depend on it.
    // User and AccessGrant status is written here and read by no other controller,
    // so a change of status alone is not passed on (see `spec_changes`).
    let (hubs, mut hub_events) = spawn_cache(scoped_api::<BusinessHub>(&client, &namespace), wc.clone(), 1);
    let (teams, mut team_events) = spawn_cache(scoped_api::<Team>(&client, &namespace), wc.clone(), 1);
    let mut user_news = SpecChanges::default();
    let (users, mut user_events) = spawn_cache_with(scoped_api::<User>(&client, &namespace), wc.clone(), 3, move |u: &User, change| {
        user_news.is_news(&u.metadata, change == Change::Deleted)
    });
    // The seat index is fed from the AppAccount cache's own task, so it is complete
    // before any User is reconciled; the Users it names are reconciled again.
    let seats = SeatIndex::default();
    let (seat_tx, seat_rx) = mpsc::unbounded_channel::<ObjectRef<User>>();
    let seats_for_cache = seats.clone();
    let (accounts, mut account_events) =
        spawn_cache_with(scoped_api::<AppAccount>(&client, &namespace), wc.clone(), 2, move |a: &AppAccount, change| {
            for user in seats_for_cache.observe(a, change == Change::Deleted) {
                // A closed receiver means the User controller stopped; nothing to deliver.
                let _ = seat_tx.send(user);
            }
            true
        });
    let mut grant_news = SpecChanges::default();
    let (grants, mut grant_changes) =
        spawn_cache_with(scoped_api::<AccessGrant>(&client, &namespace), wc.clone(), 3, move |g: &AccessGrant, change| {
            grant_news.is_news(&g.metadata, change == Change::Deleted)
        });
    let (hub_events, team_events, account_events_for_hubs, grant_events) =
        (hub_events.remove(0), team_events.remove(0), account_events.remove(0), grant_changes.remove(0));
    let (user_events_for_hubs, user_events_for_grants, user_events_for_teams) =
        (user_events.remove(0), user_events.remove(0), user_events.remove(0));
    let (grant_events_for_teams, grant_events_for_users) = (grant_changes.remove(0), grant_changes.remove(0));
    let account_events_for_grants = account_events.remove(0);

    // Like client-go's WaitForCacheSync: no reconcile starts before every cache
    // holds its first full list, so none mistakes "not loaded yet" for "does not
    // exist". (`wait_until_ready` fails only when the cache's task is gone.)
    let _ = futures::join!(
        hubs.wait_until_ready(),
        teams.wait_until_ready(),
        users.wait_until_ready(),
        accounts.wait_until_ready(),
        grants.wait_until_ready()
    );
    tracing::info!("caches synced");

    let reporter = Reporter { controller: "rolecall-operator".into(), instance: Some(identity) };
    let recorder = Recorder::new(client.clone(), reporter);
    let accounts_for_hubs = accounts.clone();
    let (users_for_teams, users_for_grants, grants_for_teams, grants_for_users) =
        (users.clone(), users.clone(), grants.clone(), grants.clone());
    let ctx = Arc::new(Context::new(client.clone(), recorder, metrics, resync, hubs, teams, users, accounts, grants).with_seats(seats));

    let shutdown = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // BusinessHub: its Secret, its AppAccounts, and the users and grants its plan reads.
    let hub_controller = Controller::new(scoped_api::<BusinessHub>(&client, &namespace), wc.clone());
    let hub_store = hub_controller.store();
    let hub_store_for_secrets = hub_store.clone();
    let (hubs_for_users, hubs_for_grants) = (hub_store.clone(), hub_store.clone());
    let hubs_run = hub_controller
        // Only an admin's spec change (matchUser, exemption) or a deletion concerns
        // the hub: the status is its own write.
        .watches_stream(super::spec_changes::news_only(account_events_for_hubs, accounts_for_hubs), |account: AppAccount| {
            let ns = account.namespace()?;
            Some(ObjectRef::<BusinessHub>::new(&account.spec.hub).within(&ns))
        })
        .watches_stream(user_events_for_hubs, move |user: User| {
            // A user's teams, emails or activity can change any hub of the workspace.
            let ns = user.namespace();
            hubs_for_users.state().into_iter().filter(|h| h.namespace() == ns).map(|h| ObjectRef::from_obj(h.as_ref())).collect::<Vec<_>>()
        })
        .watches_stream(grant_events, move |grant: AccessGrant| {
            hubs_for_grants
                .state()
                .into_iter()
                .filter(|h| super::plan_input::grant_targets(&grant, h))
                .map(|h| ObjectRef::from_obj(h.as_ref()))
                .collect::<Vec<_>>()
        })
        .watches_stream(
            watcher(scoped_api::<PartialObjectMeta<Secret>>(&client, &namespace), wc.clone()).default_backoff().touched_objects(),
            move |secret: PartialObjectMeta<Secret>| {
                let (ns, name) = (secret.namespace(), secret.name_any());
                hub_store_for_secrets
                    .state()
                    .into_iter()
                    .filter(|h| h.namespace() == ns && h.spec.connector.credentials_secret_ref.name == name)
                    .map(|h| ObjectRef::from_obj(h.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(shutdown(stop.clone()))
        .run(instrumented(hub_controller::NAME, hub_controller::reconcile), error_policy::<BusinessHub>(hub_controller::NAME), ctx.clone())
        .for_each(log_outcome(hub_controller::NAME));

    // AccessGrant: its team or user and its hub(s).
    let grant_controller = Controller::new(scoped_api::<AccessGrant>(&client, &namespace), wc.clone());
    let (g1, g2, g3) = (grant_controller.store(), grant_controller.store(), grant_controller.store());
    let grants_run = grant_controller
        .watches_stream(team_events, move |team: Team| {
            grant_controller::grants_for_subject(&g1.state(), team.namespace(), Some(&team.name_any()), None)
        })
        .watches_stream(user_events_for_grants, move |user: User| {
            grant_controller::grants_for_subject(&g2.state(), user.namespace(), None, Some(&user.name_any()))
        })
        .watches_stream(hub_events, move |hub: BusinessHub| grant_controller::grants_for_hub(&g3.state(), &hub))
        .watches_stream(account_events_for_grants, |account: AppAccount| grant_controller::grants_of_account(&account))
        .with_config(ControllerConfig::default().debounce(GRANT_DEBOUNCE))
        .graceful_shutdown_on(shutdown(stop.clone()))
        .run(
            instrumented(grant_controller::NAME, grant_controller::reconcile),
            error_policy::<AccessGrant>(grant_controller::NAME),
            ctx.clone(),
        )
        .for_each(log_outcome(grant_controller::NAME));

    // IdPBinding: its token Secret.
    let binding_controller = Controller::new(scoped_api::<IdPBinding>(&client, &namespace), wc.clone());
    let binding_store = binding_controller.store();
    let bindings_run = binding_controller
        .watches_stream(
            watcher(scoped_api::<PartialObjectMeta<Secret>>(&client, &namespace), wc.clone()).default_backoff().touched_objects(),
            move |secret: PartialObjectMeta<Secret>| {
                let (ns, name) = (secret.namespace(), secret.name_any());
                binding_store
                    .state()
                    .into_iter()
                    .filter(|b| b.namespace() == ns && b.spec.token_secret_ref.name == name)
                    .map(|b| ObjectRef::from_obj(b.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .with_config(ControllerConfig::default().concurrency(4))
        .graceful_shutdown_on(shutdown(stop.clone()))
        .run(
            instrumented(binding_controller::NAME, binding_controller::reconcile),
            error_policy::<IdPBinding>(binding_controller::NAME),
            ctx.clone(),
        )
        .for_each(log_outcome(binding_controller::NAME));

    // Team: its members (Users naming it, now or before) and the grants naming it.
    // Debounced, so a group push touching thousands of members costs a few writes.
    let team_controller = Controller::new(scoped_api::<Team>(&client, &namespace), wc.clone());
    let (member_teams, grant_teams) = (LastSeen::default(), LastSeen::default());
    let teams_run = team_controller
        .watches_stream(user_events_for_teams, move |user: User| {
            let gone = users_for_teams.get(&ObjectRef::from_obj(&user)).is_none();
            team_controller::teams_of_user(&member_teams, &user, gone)
        })
        .watches_stream(grant_events_for_teams, move |grant: AccessGrant| {
            let gone = grants_for_teams.get(&ObjectRef::from_obj(&grant)).is_none();
            team_controller::teams_of_grant(&grant_teams, &grant, gone)
        })
        .with_config(ControllerConfig::default().debounce(TEAM_DEBOUNCE))
        .graceful_shutdown_on(shutdown(stop.clone()))
        .run(instrumented(team_controller::NAME, team_controller::reconcile), error_policy::<Team>(team_controller::NAME), ctx.clone())
        .for_each(log_outcome(team_controller::NAME));

    // User: its AppAccounts (through the seat index) and the grants that reach it.
    let user_controller = Controller::new(scoped_api::<User>(&client, &namespace), wc.clone());
    let grant_subjects = LastSeen::default();
    let seat_changes = futures::stream::unfold(seat_rx, |mut rx| async move { rx.recv().await.map(|user| (user, rx)) });
    let users_run = user_controller
        .reconcile_on(seat_changes)
        .watches_stream(grant_events_for_users, move |grant: AccessGrant| {
            let gone = grants_for_users.get(&ObjectRef::from_obj(&grant)).is_none();
            user_controller::users_of_grant(&grant_subjects, &users_for_grants.state(), &grant, gone)
        })
        .with_config(ControllerConfig::default().debounce(USER_DEBOUNCE))
        .graceful_shutdown_on(shutdown(stop.clone()))
        .run(instrumented(user_controller::NAME, user_controller::reconcile), error_policy::<User>(user_controller::NAME), ctx.clone())
        .for_each(log_outcome(user_controller::NAME));

    tracing::info!(namespace = namespace.as_deref().unwrap_or("<all>"), "controllers started");
    futures::join!(hubs_run, grants_run, bindings_run, teams_run, users_run);
    tracing::info!("controllers stopped");
}

type ReconcileFuture = std::pin::Pin<Box<dyn Future<Output = Result<Action, Error>> + Send>>;

/// Wraps a reconcile with its metrics and clears the object's backoff on success.
fn instrumented<K, F, Fut>(controller: &'static str, reconcile: F) -> impl Fn(Arc<K>, Arc<Context>) -> ReconcileFuture
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    move |obj: Arc<K>, ctx: Arc<Context>| {
        Box::pin(async move {
            let labels = ControllerLabels { controller };
            let key = object_key(&ObjectRef::from_obj(obj.as_ref()));
            let started = Instant::now();
            let result = reconcile(obj, ctx.clone()).await;
            ctx.metrics.reconciles.get_or_create(&labels).inc();
            ctx.metrics.reconcile_duration.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
            if result.is_ok() {
                ctx.clear_failures(&key);
            }
            result
        })
    }
}

/// Per-object exponential backoff, and the error counted by category.
fn error_policy<K>(controller: &'static str) -> impl Fn(Arc<K>, &Error, Arc<Context>) -> Action
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug + Send + Sync + 'static,
{
    move |obj: Arc<K>, error: &Error, ctx: Arc<Context>| {
        ctx.metrics.reconcile_errors.get_or_create(&ErrorLabels { controller, reason: error.category() }).inc();
        let delay = ctx.backoff_after_failure(object_key(&ObjectRef::from_obj(obj.as_ref())));
        tracing::warn!(controller, object = %obj.name_any(), error = %error, retry_in = ?delay, "reconcile failed");
        Action::requeue(delay)
    }
}

fn log_outcome<T: Debug, E: std::fmt::Display>(controller: &'static str) -> impl Fn(Result<T, E>) -> std::future::Ready<()> {
    move |result| {
        match result {
            Ok(obj) => tracing::debug!(controller, ?obj, "reconciled"),
            Err(e) => tracing::debug!(controller, error = %e, "reconcile did not run"),
        }
        std::future::ready(())
    }
}
