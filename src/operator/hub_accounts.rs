//! Which AppAccounts belong to which hub, so that a hub's sync reads its own
//! accounts instead of scanning every account of the namespace.
//!
//! Each sync read the accounts twice (to plan, to count them in the status) by
//! taking every cached AppAccount and keeping its hub's: at 25,000 accounts that
//! touched 25,000 objects twice per sync, scattered in memory, and building a
//! plan's input cost 31 ms of CPU where the same input without the scan costs 4
//! (`make bench-hub`). The AppAccount cache feeds this index from its own task,
//! like the seat index: it may still name an account deleted while the watch was
//! down (never reported), and readers check each name against the cache, so it
//! can only over-approximate, never miss one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::api::AppAccount;

#[derive(Default)]
struct Inner {
    /// `(namespace, hub)` to the names of its accounts.
    by_hub: HashMap<(String, String), BTreeSet<String>>,
    /// `(namespace, account)` to its hub.
    hub_of: HashMap<(String, String), String>,
}

/// The index, shared between the AppAccount cache that writes it and the syncs that read it.
#[derive(Clone, Default)]
pub struct HubAccounts {
    inner: Arc<Mutex<Inner>>,
}

impl HubAccounts {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an AppAccount as the watch reported it (`gone`: deleted).
    pub fn observe(&self, account: &AppAccount, gone: bool) {
        let (Some(namespace), Some(name)) = (account.metadata.namespace.as_deref(), account.metadata.name.as_deref()) else { return };
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let hub = &account.spec.hub;
        if !gone && inner.hub_of.get(&key) == Some(hub) {
            return;
        }
        if let Some(before) = inner.hub_of.remove(&key) {
            let by_hub = (namespace.to_string(), before);
            if let Some(names) = inner.by_hub.get_mut(&by_hub) {
                names.remove(name);
                if names.is_empty() {
                    inner.by_hub.remove(&by_hub);
                }
            }
        }
        if !gone {
            inner.by_hub.entry((namespace.to_string(), hub.clone())).or_default().insert(name.to_string());
            inner.hub_of.insert(key, hub.clone());
        }
    }

    /// The names of the hub's accounts, sorted.
    pub fn names(&self, namespace: &str, hub: &str) -> Vec<String> {
        self.lock().by_hub.get(&(namespace.to_string(), hub.to_string())).map(|names| names.iter().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::AppAccountSpec;

    fn account(name: &str, hub: &str) -> AppAccount {
        let mut a =
            AppAccount::new(name, AppAccountSpec { hub: hub.into(), email: format!("{name}@acme.io"), match_user: None, exemption: None });
        a.metadata.namespace = Some("ws".into());
        a
    }

    #[test]
    fn accounts_are_listed_under_their_hub_until_deleted() {
        let index = HubAccounts::default();
        index.observe(&account("b", "app"), false);
        index.observe(&account("a", "app"), false);
        index.observe(&account("c", "other"), false);
        assert_eq!(index.names("ws", "app"), ["a", "b"]);
        assert_eq!(index.names("ws", "other"), ["c"]);
        assert!(index.names("elsewhere", "app").is_empty());
        index.observe(&account("a", "app"), true);
        assert_eq!(index.names("ws", "app"), ["b"]);
        // A changed hub (the spec is not immutable to the index) moves the name.
        index.observe(&account("b", "other"), false);
        assert!(index.names("ws", "app").is_empty());
        assert_eq!(index.names("ws", "other"), ["b", "c"]);
    }
}
