//! What every request handler of the sidecar shares: the store, the
//! directory, the tokens, and the locks that keep unique names unique.

use std::sync::Arc;

use kube::runtime::reflector::Store as Reflector;

use crate::api::IdPBinding;

use super::activity::Activity;
use super::auth::Tokens;
use super::directory::Directory;
use super::rate_limit::RateLimiter;
use super::store::Store;

pub struct ScimState {
    pub store: Store,
    pub directory: Arc<Directory>,
    pub tokens: Arc<Tokens>,
    pub bindings: Reflector<IdPBinding>,
    pub limiter: RateLimiter,
    pub activity: Arc<Activity>,
    /// The externally visible base URL, ending in `/scim/v2`.
    pub base_url: String,
    /// Serialises writes that claim the same unique name (userName, group
    /// displayName), so two of them cannot both pass the uniqueness check;
    /// writes of different names proceed in parallel.
    pub name_locks: NameLocks,
    /// Requests by method, resource and status, for /metrics.
    pub metrics: Arc<super::metrics::ScimMetrics>,
}

pub struct NameLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for NameLocks {
    fn default() -> Self {
        // Enough stripes that concurrent requests for different names rarely share one.
        NameLocks((0..4096).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl NameLocks {
    /// The lock for a unique name of a kind, compared case-insensitively.
    pub fn of(&self, kind: &str, name: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        kind.hash(&mut h);
        name.to_lowercase().hash(&mut h);
        &self.0[(h.finish() % self.0.len() as u64) as usize]
    }
}
