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
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use crate::api::scope::scoped_api;
use crate::api::{AccessGrant, AppAccount, BusinessHub, IdPBinding, Partner, Team, User};

use super::cache::{Change, Changes, news_array, spawn_cache, spawn_cache_with};
use super::context::Context;
use super::error::{Error, object_key};
use super::last_seen::LastSeen;
use super::metrics::{ControllerLabels, ErrorLabels};
use super::read_backs::ReadBacks;
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
/// How many Users, or Teams, are reconciled at once. Without a bound, a first
/// start over 10,000 Users without status ran 10,000 status writes at once: the
/// client opened an API connection for each (TLS buffers and all), the process
/// reached 707 MiB, and the API server answered with 504s and refused
/// connections. Sixteen writers keep the API server busy (the benchmark's raw
/// client reaches its rate at that concurrency).
const STATUS_WRITERS: u16 = 16;
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

/// What every controller is wired from.
struct Wiring {
    client: Client,
    namespace: Option<String>,
    watch: watcher::Config,
    stop: watch::Receiver<bool>,
}

impl Wiring {
    /// A controller driven by a cache's own watch: no second watch, no second copy of every object.
    fn controller_on<K>(&self, store: Store<K>, every: Changes<K>) -> Controller<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        Controller::for_shared_stream(every, store)
    }

    /// Secrets by name only (their values are read at reconcile time, never cached).
    fn secret_changes(&self) -> impl futures::Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send + 'static {
        watcher(scoped_api::<PartialObjectMeta<Secret>>(&self.client, &self.namespace), self.watch.clone())
            .default_backoff()
            .touched_objects()
    }

    fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

/// The caches of the kinds reconciles read, and each controller's stream of the
/// changes that concern it. One watch and one copy of each object per kind: the
/// controllers of Hubs, Teams, Users and AccessGrants run on these caches.
struct Watches {
    hubs: Store<BusinessHub>,
    teams: Store<Team>,
    users: Store<User>,
    accounts: Store<AppAccount>,
    grants: Store<AccessGrant>,
    bindings: Store<IdPBinding>,
    partners: Store<Partner>,
    seats: SeatIndex,
    hub_accounts: super::hub_accounts::HubAccounts,
    grant_members: super::grant_members::GrantMembers,
    /// Users whose seats changed, for the User controller.
    seat_changes: mpsc::UnboundedReceiver<ObjectRef<User>>,
    /// Grants whose members' report changed, for the AccessGrant controller.
    grant_changes: mpsc::UnboundedReceiver<ObjectRef<AccessGrant>>,
    /// Every change of each kind, for its own controller.
    hub_every: Changes<BusinessHub>,
    team_every: Changes<Team>,
    user_every: Changes<User>,
    grant_every: Changes<AccessGrant>,
    binding_every: Changes<IdPBinding>,
    bindings_for_hubs: Changes<IdPBinding>,
    partners_for_hubs: Changes<Partner>,
    partner_every: Changes<Partner>,
    hubs_for_partners: Changes<BusinessHub>,
    hubs_for_grants: Changes<BusinessHub>,
    teams_for_grants: Changes<Team>,
    users_for: [Changes<User>; 3],
    accounts_for: [Changes<AppAccount>; 1],
    grants_for: [Changes<AccessGrant>; 3],
}

/// This process's writes over the AppAccount and BusinessHub caches, which the caches' tasks let go.
#[derive(Default)]
struct Overlays {
    accounts: Arc<super::overlay::Overlay<AppAccount>>,
    hubs: Arc<super::overlay::Overlay<BusinessHub>>,
}

/// Starts the watches. User and AccessGrant status is written here and read by
/// no other controller, so a change of status alone is not passed on to the
/// others (see `spec_changes`); each kind's own controller hears of every change.
fn spawn_watches(
    w: &Wiring,
    metrics: &Arc<super::metrics::Metrics>,
    read_backs: &ReadBacks,
    partners_seen: &super::partner_sync::PartnersSeen,
    overlays: &Overlays,
) -> Watches {
    let (client, namespace, wc) = (&w.client, &w.namespace, &w.watch);
    // A deleted hub's series go with it, so no alert keeps firing for a hub that is gone.
    let (hub_metrics, hub_read_backs, hub_partners) = (metrics.clone(), read_backs.clone(), partners_seen.clone());
    // A hub's spec and metadata are news to its grants and partners, and of its
    // status only the assets a read-back imported (a grant may name one): the
    // rest is the hub's own report, written every sync.
    let mut hub_news = SpecChanges::default();
    let hub_overlay = overlays.hubs.clone();
    let hubs = spawn_cache_with(scoped_api::<BusinessHub>(client, namespace), wc.clone(), true, 2, move |h: &BusinessHub, change| {
        if change != Change::Listed {
            hub_overlay.observed(h, change == Change::Deleted);
        }
        if change == Change::Deleted {
            let key = format!("{}/{}", h.namespace().unwrap_or_default(), h.name_any());
            hub_metrics.forget_hub(&key);
            hub_read_backs.forget(&key);
            hub_partners.forget(&key);
        }
        hub_news.is_news_with(&h.metadata, change == Change::Deleted, h.status.as_ref().map(|s| &s.assets))
    });
    let teams = spawn_cache(scoped_api::<Team>(client, namespace), wc.clone(), true, 1);
    let mut user_news = SpecChanges::default();
    let users = spawn_cache_with(scoped_api::<User>(client, namespace), wc.clone(), true, 3, move |u: &User, change| {
        user_news.is_news(&u.metadata, change == Change::Deleted)
    });
    // The seat index is fed from the AppAccount cache's own task, so it is complete
    // before any User is reconciled; the Users it names are reconciled again.
    let seats = SeatIndex::default();
    let (seat_tx, seat_changes) = mpsc::unbounded_channel::<ObjectRef<User>>();
    let seats_for_cache = seats.clone();
    let hub_accounts = super::hub_accounts::HubAccounts::default();
    let hub_accounts_for_cache = hub_accounts.clone();
    // The grants' member counts likewise; only the grants whose report an account changed are reconciled.
    let grant_members = super::grant_members::GrantMembers::default();
    let (grant_tx, grant_changes) = mpsc::unbounded_channel::<ObjectRef<AccessGrant>>();
    let grant_members_for_cache = grant_members.clone();
    let account_overlay = overlays.accounts.clone();
    let accounts = spawn_cache_with(scoped_api::<AppAccount>(client, namespace), wc.clone(), false, 1, move |a: &AppAccount, change| {
        // Not while (re)listing: the cache holds the listed objects only once the list is complete.
        if change != Change::Listed {
            account_overlay.observed(a, change == Change::Deleted);
        }
        hub_accounts_for_cache.observe(a, change == Change::Deleted);
        for user in seats_for_cache.observe(a, change == Change::Deleted) {
            // A closed receiver means the User controller stopped; nothing to deliver.
            let _ = seat_tx.send(user);
        }
        for grant in grant_members_for_cache.observe(a, change == Change::Deleted) {
            // A closed receiver means the AccessGrant controller stopped; nothing to deliver.
            let _ = grant_tx.send(grant);
        }
        true
    });
    let mut grant_news = SpecChanges::default();
    let grants = spawn_cache_with(scoped_api::<AccessGrant>(client, namespace), wc.clone(), true, 3, move |g: &AccessGrant, change| {
        grant_news.is_news(&g.metadata, change == Change::Deleted)
    });
    // Every hub's plan reads its workspace's domains from the bindings: a cache, not a LIST per sync.
    // A change of a binding's spec (its domains) replans the workspace's hubs; its status (the sidecar's counts) does not.
    let mut binding_news = SpecChanges::default();
    let bindings = spawn_cache_with(scoped_api::<IdPBinding>(client, namespace), wc.clone(), true, 1, move |b: &IdPBinding, change| {
        binding_news.is_news(&b.metadata, change == Change::Deleted)
    });
    // A Partner's spec (what it should hold) replans its hub; its status is the hub's own write.
    let mut partner_news = SpecChanges::default();
    let partners = spawn_cache_with(scoped_api::<Partner>(client, namespace), wc.clone(), true, 1, move |p: &Partner, change| {
        partner_news.is_news(&p.metadata, change == Change::Deleted)
    });
    let [partners_for_hubs] = news_array(partners.news);
    let [hubs_for_grants, hubs_for_partners] = news_array(hubs.news);
    let [bindings_for_hubs] = news_array(bindings.news);
    let [teams_for_grants] = news_array(teams.news);
    Watches {
        hubs: hubs.store,
        teams: teams.store,
        users: users.store,
        accounts: accounts.store,
        grants: grants.store,
        bindings: bindings.store,
        partners: partners.store,
        seats,
        hub_accounts,
        grant_members,
        seat_changes,
        grant_changes,
        hub_every: own(hubs.every),
        team_every: own(teams.every),
        user_every: own(users.every),
        grant_every: own(grants.every),
        binding_every: own(bindings.every),
        bindings_for_hubs,
        partners_for_hubs,
        partner_every: own(partners.every),
        hubs_for_partners,
        hubs_for_grants,
        teams_for_grants,
        users_for: news_array(users.news),
        accounts_for: news_array(accounts.news),
        grants_for: news_array(grants.news),
    }
}

/// The stream a cache made for its kind's own controller (asked for with `own_controller`).
fn own<K: Resource>(every: Option<Changes<K>>) -> Changes<K> {
    match every {
        Some(stream) => stream,
        None => unreachable!("spawn_cache makes the own-controller stream it was asked for"),
    }
}

/// Runs every controller until `stop` turns true.
pub async fn run_all(settings: Settings, stop: watch::Receiver<bool>) {
    let Settings { client, namespace, resync, identity, metrics } = settings;
    let wiring = Wiring { client: client.clone(), namespace: namespace.clone(), watch: watcher::Config::default(), stop };
    let (read_backs, read_backs_finished) = ReadBacks::new();
    let partners_seen = super::partner_sync::PartnersSeen::default();
    let overlays = Overlays::default();
    let watches = spawn_watches(&wiring, &metrics, &read_backs, &partners_seen, &overlays);

    // Like client-go's WaitForCacheSync: no reconcile starts before every cache
    // holds its first full list, so none mistakes "not loaded yet" for "does not
    // exist". (`wait_until_ready` fails only when the cache's task is gone.)
    // Partners are not waited for: a hub planned before they load only reports
    // its partners (a partner is never changed for want of a declaration), and an
    // install that lacks the Partner CRD still runs everything else.
    let _ = futures::join!(
        watches.hubs.wait_until_ready(),
        watches.teams.wait_until_ready(),
        watches.users.wait_until_ready(),
        watches.accounts.wait_until_ready(),
        watches.grants.wait_until_ready(),
        watches.bindings.wait_until_ready()
    );
    tracing::info!("caches synced");

    let reporter = Reporter { controller: "rolecall-operator".into(), instance: Some(identity) };
    let recorder = super::event_recorder::EventRecorder::new(client.clone(), reporter);
    let Watches {
        hubs,
        teams,
        users,
        accounts,
        grants,
        bindings,
        partners,
        seats,
        hub_accounts,
        grant_members,
        seat_changes,
        grant_changes,
        hub_every,
        team_every,
        user_every,
        grant_every,
        binding_every,
        bindings_for_hubs,
        partners_for_hubs,
        partner_every,
        hubs_for_partners,
        hubs_for_grants,
        teams_for_grants,
        users_for,
        accounts_for,
        grants_for,
    } = watches;
    let [users_for_hubs, users_for_grants, users_for_teams] = users_for;
    let [accounts_for_hubs] = accounts_for;
    let [grants_for_hubs, grants_for_teams, grants_for_users] = grants_for;
    let (account_store, user_store, grant_store) = (accounts.clone(), users.clone(), grants.clone());
    let ctx = Arc::new(
        Context::new(client, recorder, metrics, resync, hubs, teams, users, accounts, grants)
            .with_seats(seats, hub_accounts, grant_members)
            .with_bindings(bindings)
            .with_partners(partners, partners_seen)
            .with_read_backs(read_backs)
            .with_overlays(overlays.accounts, overlays.hubs),
    );

    tracing::info!(namespace = namespace.as_deref().unwrap_or("<all>"), "controllers started");
    futures::join!(
        run_hubs(
            &wiring,
            &ctx,
            // Its own status writes are no news to a hub: each used to replan it once more
            // (129 of 347 syncs while changes propagated in the 5,000-user benchmark).
            super::spec_changes::news_only(hub_every, ctx.hubs.clone()).boxed(),
            super::spec_changes::news_only(accounts_for_hubs, account_store).boxed(),
            users_for_hubs,
            grants_for_hubs,
            bindings_for_hubs,
            partners_for_hubs,
            read_backs_finished
        ),
        run_grants(&wiring, &ctx, grant_every, teams_for_grants, users_for_grants, hubs_for_grants, grant_changes),
        run_bindings(&wiring, &ctx, binding_every),
        run_partners(&wiring, &ctx, partner_every, hubs_for_partners),
        run_teams(&wiring, &ctx, team_every, users_for_teams, user_store.clone(), grants_for_teams, grant_store.clone()),
        run_users(&wiring, &ctx, user_every, seat_changes, grants_for_users, grant_store, user_store),
    );
    tracing::info!("controllers stopped");
}

/// BusinessHub: its Secret, its AppAccounts, and the users and grants its plan reads.
// One stream per kind that triggers a hub, and the read-backs: each is its own argument.
#[allow(clippy::too_many_arguments)]
fn run_hubs(
    w: &Wiring,
    ctx: &Arc<Context>,
    every: Changes<BusinessHub>,
    accounts: Changes<AppAccount>,
    users: Changes<User>,
    grants: Changes<AccessGrant>,
    bindings: Changes<IdPBinding>,
    partners: Changes<Partner>,
    read_backs_finished: mpsc::UnboundedReceiver<ObjectRef<BusinessHub>>,
) -> impl Future<Output = ()> + use<> {
    let controller = w.controller_on(ctx.hubs.clone(), every);
    let store = controller.store();
    let (for_secrets, for_grants, for_bindings) = (store.clone(), store.clone(), store);
    let secrets_ctx = ctx.clone();
    let (triggers, renamed) = super::user_triggers::UserTriggers::new(super::user_triggers::RENAMES_EVERY);
    let for_users = ctx.clone();
    controller
        // Only an admin's spec change (matchUser, exemption) or a deletion concerns
        // the hub: the status is its own write.
        .watches_shared_stream(accounts, |account: Arc<AppAccount>| {
            let ns = account.namespace()?;
            Some(ObjectRef::<BusinessHub>::new(&account.spec.hub).within(&ns))
        })
        .watches_shared_stream(users, move |user: Arc<User>| triggers.hubs(&user, &for_users))
        .watches_shared_stream(grants, move |grant: Arc<AccessGrant>| {
            for_grants
                .state()
                .into_iter()
                .filter(|h| super::plan_input::grant_targets(&grant, h))
                .map(|h| ObjectRef::from_obj(h.as_ref()))
                .collect::<Vec<_>>()
        })
        .watches_shared_stream(partners, |partner: Arc<Partner>| {
            let ns = partner.namespace()?;
            Some(ObjectRef::<BusinessHub>::new(&partner.spec.hub).within(&ns))
        })
        // Renames, gathered: they change only what an account's status shows.
        .reconcile_on(renamed)
        // A read-back that finished beside the syncs is taken by the hub's next sync, at once.
        .reconcile_on(futures::stream::unfold(read_backs_finished, |mut rx| async move { rx.recv().await.map(|hub| (hub, rx)) }))
        // A binding's workspace domains decide who is a guest on every hub of the workspace.
        .watches_shared_stream(bindings, move |binding: Arc<IdPBinding>| {
            let ns = binding.namespace();
            for_bindings.state().into_iter().filter(|h| h.namespace() == ns).map(|h| ObjectRef::from_obj(h.as_ref())).collect::<Vec<_>>()
        })
        .watches_stream(w.secret_changes(), move |secret: PartialObjectMeta<Secret>| {
            let (ns, name) = (secret.namespace(), secret.name_any());
            // Before the hubs it concerns are replanned: they read it anew.
            secrets_ctx.secrets.forget(ns.as_deref().unwrap_or_default(), &name);
            for_secrets
                .state()
                .into_iter()
                .filter(|h| h.namespace() == ns && h.spec.connector.credentials_secret_ref.name == name)
                .map(|h| ObjectRef::from_obj(h.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(w.shutdown())
        .run(instrumented(hub_controller::NAME, hub_controller::reconcile), error_policy::<BusinessHub>(hub_controller::NAME), ctx.clone())
        .for_each(log_outcome(hub_controller::NAME))
}

/// AccessGrant: its team or user, its hub(s), and the accounts it counts.
fn run_grants(
    w: &Wiring,
    ctx: &Arc<Context>,
    every: Changes<AccessGrant>,
    teams: Changes<Team>,
    users: Changes<User>,
    hubs: Changes<BusinessHub>,
    member_changes: mpsc::UnboundedReceiver<ObjectRef<AccessGrant>>,
) -> impl Future<Output = ()> + use<> {
    let member_changes = futures::stream::unfold(member_changes, |mut rx| async move { rx.recv().await.map(|grant| (grant, rx)) });
    let controller = w.controller_on(ctx.grants.clone(), every).reconcile_on(member_changes);
    let (g1, g2, g3) = (controller.store(), controller.store(), controller.store());
    controller
        .watches_shared_stream(teams, move |team: Arc<Team>| {
            grant_controller::grants_for_subject(&g1.state(), team.namespace(), Some(&team.name_any()), None)
        })
        .watches_shared_stream(users, move |user: Arc<User>| {
            grant_controller::grants_for_subject(&g2.state(), user.namespace(), None, Some(&user.name_any()))
        })
        .watches_shared_stream(hubs, move |hub: Arc<BusinessHub>| grant_controller::grants_for_hub(&g3.state(), &hub))
        .with_config(ControllerConfig::default().debounce(GRANT_DEBOUNCE))
        .graceful_shutdown_on(w.shutdown())
        .run(
            instrumented(grant_controller::NAME, grant_controller::reconcile),
            error_policy::<AccessGrant>(grant_controller::NAME),
            ctx.clone(),
        )
        .for_each(log_outcome(grant_controller::NAME))
}

/// IdPBinding: its token Secret.
fn run_bindings(w: &Wiring, ctx: &Arc<Context>, every: Changes<IdPBinding>) -> impl Future<Output = ()> + use<> {
    let controller = w.controller_on(ctx.bindings.clone(), every);
    let store = controller.store();
    controller
        .watches_stream(w.secret_changes(), move |secret: PartialObjectMeta<Secret>| {
            let (ns, name) = (secret.namespace(), secret.name_any());
            store
                .state()
                .into_iter()
                .filter(|b| b.namespace() == ns && b.spec.token_secret_ref.name == name)
                .map(|b| ObjectRef::from_obj(b.as_ref()))
                .collect::<Vec<_>>()
        })
        .with_config(ControllerConfig::default().concurrency(4))
        .graceful_shutdown_on(w.shutdown())
        .run(
            instrumented(binding_controller::NAME, binding_controller::reconcile),
            error_policy::<IdPBinding>(binding_controller::NAME),
            ctx.clone(),
        )
        .for_each(log_outcome(binding_controller::NAME))
}

/// Partner: says why one cannot be acted on (no hub, a hub without partners); its hub's sync does the rest.
fn run_partners(w: &Wiring, ctx: &Arc<Context>, every: Changes<Partner>, hubs: Changes<BusinessHub>) -> impl Future<Output = ()> + use<> {
    let controller = w.controller_on(ctx.partners.clone(), every);
    let store = controller.store();
    controller
        .watches_shared_stream(hubs, move |hub: Arc<BusinessHub>| super::partner_controller::partners_of_hub(&store.state(), &hub))
        .graceful_shutdown_on(w.shutdown())
        .run(
            instrumented(super::partner_controller::NAME, super::partner_controller::reconcile),
            error_policy::<Partner>(super::partner_controller::NAME),
            ctx.clone(),
        )
        .for_each(log_outcome(super::partner_controller::NAME))
}

/// Team: its members (Users naming it, now or before) and the grants naming it.
/// Debounced, so a group push touching thousands of members costs a few writes.
fn run_teams(
    w: &Wiring,
    ctx: &Arc<Context>,
    every: Changes<Team>,
    users: Changes<User>,
    user_store: Store<User>,
    grants: Changes<AccessGrant>,
    grant_store: Store<AccessGrant>,
) -> impl Future<Output = ()> + use<> {
    let (member_teams, grant_teams) = (LastSeen::default(), LastSeen::default());
    w.controller_on(ctx.teams.clone(), every)
        .watches_shared_stream(users, move |user: Arc<User>| {
            let gone = user_store.get(&ObjectRef::from_obj(user.as_ref())).is_none();
            team_controller::teams_of_user(&member_teams, &user, gone)
        })
        .watches_shared_stream(grants, move |grant: Arc<AccessGrant>| {
            let gone = grant_store.get(&ObjectRef::from_obj(grant.as_ref())).is_none();
            team_controller::teams_of_grant(&grant_teams, &grant, gone)
        })
        .with_config(ControllerConfig::default().debounce(TEAM_DEBOUNCE).concurrency(STATUS_WRITERS))
        .graceful_shutdown_on(w.shutdown())
        .run(instrumented(team_controller::NAME, team_controller::reconcile), error_policy::<Team>(team_controller::NAME), ctx.clone())
        .for_each(log_outcome(team_controller::NAME))
}

/// User: its AppAccounts (through the seat index) and the grants that reach it.
fn run_users(
    w: &Wiring,
    ctx: &Arc<Context>,
    every: Changes<User>,
    seat_changes: mpsc::UnboundedReceiver<ObjectRef<User>>,
    grants: Changes<AccessGrant>,
    grant_store: Store<AccessGrant>,
    user_store: Store<User>,
) -> impl Future<Output = ()> + use<> {
    let grant_subjects = LastSeen::default();
    let seat_changes = futures::stream::unfold(seat_changes, |mut rx| async move { rx.recv().await.map(|user| (user, rx)) });
    w.controller_on(ctx.users.clone(), every)
        .reconcile_on(seat_changes)
        .watches_shared_stream(grants, move |grant: Arc<AccessGrant>| {
            let gone = grant_store.get(&ObjectRef::from_obj(grant.as_ref())).is_none();
            user_controller::users_of_grant(&grant_subjects, &user_store.state(), &grant, gone)
        })
        .with_config(ControllerConfig::default().debounce(USER_DEBOUNCE).concurrency(STATUS_WRITERS))
        .graceful_shutdown_on(w.shutdown())
        .run(instrumented(user_controller::NAME, user_controller::reconcile), error_policy::<User>(user_controller::NAME), ctx.clone())
        .for_each(log_outcome(user_controller::NAME))
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
