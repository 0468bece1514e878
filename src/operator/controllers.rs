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
use tokio::sync::watch;

use crate::api::scope::scoped_api;
use crate::api::{AccessGrant, AppAccount, BusinessHub, IdPBinding, Team, User};

use super::cache::spawn_cache;
use super::context::Context;
use super::error::{Error, object_key};
use super::metrics::{ControllerLabels, ErrorLabels};
use super::{binding_controller, grant_controller, hub_controller};

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
    let (hubs, mut hub_events) = spawn_cache(scoped_api::<BusinessHub>(&client, &namespace), wc.clone(), 1);
    let (teams, mut team_events) = spawn_cache(scoped_api::<Team>(&client, &namespace), wc.clone(), 1);
    let (users, mut user_events) = spawn_cache(scoped_api::<User>(&client, &namespace), wc.clone(), 2);
    let (accounts, mut account_events) = spawn_cache(scoped_api::<AppAccount>(&client, &namespace), wc.clone(), 2);
    let (grants, mut grant_events) = spawn_cache(scoped_api::<AccessGrant>(&client, &namespace), wc.clone(), 1);
    let (hub_events, team_events, account_events_for_hubs, grant_events) =
        (hub_events.remove(0), team_events.remove(0), account_events.remove(0), grant_events.remove(0));
    let (user_events_for_hubs, user_events_for_grants) = (user_events.remove(0), user_events.remove(0));
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
    let (accounts_for_hubs, grants_for_hubs) = (accounts.clone(), grants.clone());
    let ctx = Arc::new(Context::new(client.clone(), recorder, metrics, resync, hubs, teams, users, accounts, grants));

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
        .watches_stream(super::spec_changes::spec_changes(account_events_for_hubs, accounts_for_hubs), |account: AppAccount| {
            let ns = account.namespace()?;
            Some(ObjectRef::<BusinessHub>::new(&account.spec.hub).within(&ns))
        })
        .watches_stream(user_events_for_hubs, move |user: User| {
            // A user's teams, emails or activity can change any hub of the workspace.
            let ns = user.namespace();
            hubs_for_users.state().into_iter().filter(|h| h.namespace() == ns).map(|h| ObjectRef::from_obj(h.as_ref())).collect::<Vec<_>>()
        })
        // A grant's spec or its deletion changes the plan; its status (member counts) does not.
        .watches_stream(super::spec_changes::spec_changes(grant_events, grants_for_hubs), move |grant: AccessGrant| {
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

    tracing::info!(namespace = namespace.as_deref().unwrap_or("<all>"), "controllers started");
    futures::join!(hubs_run, grants_run, bindings_run);
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
