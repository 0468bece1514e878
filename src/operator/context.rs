//! What every reconcile shares: the client, caches of the kinds it reads, the
//! Event recorder, metrics and per-object backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::event_recorder::EventRecorder;
use kube::Client;
use kube::runtime::reflector::Store;

use crate::api::scope::is_in;
use crate::api::{AccessGrant, AppAccount, BusinessHub, IdPBinding, Partner, Team, User};

use super::metrics::Metrics;
use super::overlay::Overlay;
use super::read_backs::ReadBacks;
use super::seat_index::SeatIndex;

pub struct Context {
    pub client: Client,
    pub recorder: EventRecorder,
    pub metrics: Arc<Metrics>,
    /// How often an unchanged object is checked again.
    pub resync: Duration,
    pub hubs: Store<BusinessHub>,
    pub teams: Store<Team>,
    pub users: Store<User>,
    pub accounts: Store<AppAccount>,
    pub grants: Store<AccessGrant>,
    pub bindings: Store<IdPBinding>,
    pub partners: Store<Partner>,
    /// What each hub's app last said its partners hold.
    pub partners_seen: super::partner_sync::PartnersSeen,
    /// AppAccounts and hubs as this process last wrote them (read-your-writes).
    pub account_overlay: Arc<Overlay<AppAccount>>,
    pub hub_overlay: Arc<Overlay<BusinessHub>>,
    /// Which AppAccounts are matched to which User (fed by the AppAccount cache).
    pub seats: SeatIndex,
    /// Which AppAccounts belong to which hub (fed by the AppAccount cache).
    pub hub_accounts: super::hub_accounts::HubAccounts,
    /// Each grant's members per hub and state (fed by the AppAccount cache).
    pub grant_members: super::grant_members::GrantMembers,
    /// The order of each AppAccount's status writes, and each hub's outcome writes in flight.
    pub outcome_writes: super::outcome_writes::OutcomeWrites,
    /// Each hub's read-backs that run beside its syncs.
    pub read_backs: ReadBacks,
    /// Plans made at once, across hubs (one per core): see `hub_sync`.
    pub planning: Arc<tokio::sync::Semaphore>,
    /// The hubs' credential Secrets, kept until their watch says they changed.
    pub secrets: super::secrets::SecretCache,
    failures: Mutex<HashMap<String, u32>>,
    /// When each hub's app was last read back, by `namespace/name`.
    last_sync: Mutex<HashMap<String, Instant>>,
    /// Each hub's pacer, by `namespace/name`: outlives the connector built per sync.
    pacers: Mutex<HashMap<String, Arc<crate::connector::Pacer>>>,
}

impl Context {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        recorder: EventRecorder,
        metrics: Arc<Metrics>,
        resync: Duration,
        hubs: Store<BusinessHub>,
        teams: Store<Team>,
        users: Store<User>,
        accounts: Store<AppAccount>,
        grants: Store<AccessGrant>,
    ) -> Self {
        Context {
            client,
            recorder,
            metrics,
            resync,
            hubs,
            teams,
            users,
            accounts,
            grants,
            bindings: kube::runtime::reflector::store::<IdPBinding>().0,
            partners: kube::runtime::reflector::store::<Partner>().0,
            partners_seen: Default::default(),
            account_overlay: Arc::default(),
            hub_overlay: Arc::default(),
            seats: SeatIndex::default(),
            hub_accounts: Default::default(),
            grant_members: Default::default(),
            outcome_writes: Default::default(),
            read_backs: ReadBacks::new().0,
            planning: Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))),
            secrets: Default::default(),
            failures: Mutex::default(),
            last_sync: Mutex::default(),
            pacers: Mutex::default(),
        }
    }

    /// The seat, hub and grant indexes the AppAccount cache feeds.
    pub fn with_seats(
        mut self,
        seats: SeatIndex,
        hub_accounts: super::hub_accounts::HubAccounts,
        grant_members: super::grant_members::GrantMembers,
    ) -> Self {
        self.seats = seats;
        self.hub_accounts = hub_accounts;
        self.grant_members = grant_members;
        self
    }

    /// The overlays the AppAccount and BusinessHub caches tell what the watch applied.
    pub fn with_overlays(mut self, accounts: Arc<Overlay<AppAccount>>, hubs: Arc<Overlay<BusinessHub>>) -> Self {
        self.account_overlay = accounts;
        self.hub_overlay = hubs;
        self
    }

    /// The read-backs the hub controller is triggered by.
    pub fn with_read_backs(mut self, read_backs: ReadBacks) -> Self {
        self.read_backs = read_backs;
        self
    }

    /// The partners' cache.
    pub fn with_partners(mut self, partners: Store<Partner>, seen: super::partner_sync::PartnersSeen) -> Self {
        self.partners = partners;
        self.partners_seen = seen;
        self
    }

    /// The bindings' cache (the one the IdPBinding controller runs on).
    pub fn with_bindings(mut self, bindings: Store<IdPBinding>) -> Self {
        self.bindings = bindings;
        self
    }

    pub fn grants(&self) -> Vec<Arc<AccessGrant>> {
        self.grants.state()
    }

    /// The hub's AppAccounts, newest of cache and own writes.
    pub fn accounts_of(&self, namespace: &str, hub: &str) -> Vec<Arc<AppAccount>> {
        let belongs = |a: &AppAccount| is_in(a, namespace) && a.spec.hub == hub;
        let cached = self
            .hub_accounts
            .names(namespace, hub)
            .into_iter()
            .filter_map(|name| self.accounts.get(&kube::runtime::reflector::ObjectRef::new(&name).within(namespace)))
            .filter(|a| belongs(a))
            .collect();
        self.account_overlay.apply(cached, belongs)
    }

    /// One AppAccount by name, newest of cache and own writes.
    pub fn account(&self, namespace: &str, name: &str) -> Option<Arc<AppAccount>> {
        let cached = self.accounts.get(&kube::runtime::reflector::ObjectRef::new(name).within(namespace));
        self.account_overlay.get(namespace, name, cached)
    }

    /// Whether the hub's app is due to be read back again.
    pub fn sync_due(&self, key: &str, interval: Duration) -> bool {
        let last = self.last_sync.lock().unwrap_or_else(|p| p.into_inner());
        last.get(key).is_none_or(|t| t.elapsed() >= interval)
    }

    pub fn synced(&self, key: &str, took: Duration) {
        self.last_sync.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), Instant::now());
        self.metrics.record_sync(key, took);
    }

    /// The pacer of the hub `namespace/name`, made on first use.
    pub fn pacer(&self, key: &str) -> Arc<crate::connector::Pacer> {
        let mut pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        pacers.entry(key.to_string()).or_insert_with(|| Arc::new(crate::connector::Pacer::new(key))).clone()
    }

    /// Exponential backoff per object: 1 s, 2 s, 4 s ... capped at 5 minutes.
    pub fn backoff_after_failure(&self, key: String) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        let delay = Duration::from_secs(1u64 << (*n - 1).min(8)).min(Duration::from_secs(300));
        self.metrics.objects_in_backoff.set(failures.len() as i64);
        delay
    }

    pub fn clear_failures(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.remove(key).is_some() {
            self.metrics.objects_in_backoff.set(failures.len() as i64);
        }
    }
}
