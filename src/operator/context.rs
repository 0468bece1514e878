//! What every reconcile shares: the client, caches of the kinds it reads, the
//! Event recorder, metrics and per-object backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use crate::api::{AppAccount, BusinessHub, Team, User};

use super::metrics::Metrics;

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// How often an unchanged object is checked again.
    pub resync: Duration,
    pub hubs: Store<BusinessHub>,
    pub teams: Store<Team>,
    pub users: Store<User>,
    pub accounts: Store<AppAccount>,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        resync: Duration,
        hubs: Store<BusinessHub>,
        teams: Store<Team>,
        users: Store<User>,
        accounts: Store<AppAccount>,
    ) -> Self {
        Context { client, recorder, metrics, resync, hubs, teams, users, accounts, failures: Mutex::default() }
    }

    /// Exponential backoff per object: 1 s, 2 s, 4 s ... capped at 5 minutes.
    pub fn backoff_after_failure(&self, key: String) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        Duration::from_secs(1u64 << (*n - 1).min(8)).min(Duration::from_secs(300))
    }

    pub fn clear_failures(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(key);
    }
}
