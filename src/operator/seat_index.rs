//! Which AppAccounts are matched to which User, so that a User's reconcile
//! reads its own few accounts instead of scanning every account of the
//! namespace (50,000 in a large one).
//!
//! The AppAccount cache feeds it from its own task, before the cache counts as
//! loaded, so no User is reconciled against a half-built index. It may name an
//! account that no longer matches (one deleted while the watch was down is
//! never reported): readers check each account against the cache, so it can
//! only over-approximate, never miss one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::app_account::AccountState;
use crate::api::{AppAccount, User};

/// What a User's status reads of one account: a change to anything else is not news to the User.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    user: String,
    hub: String,
    state: Option<AccountState>,
}

#[derive(Default)]
struct Inner {
    /// `(namespace, user)` to the names of the accounts matched to it.
    by_user: HashMap<(String, String), BTreeSet<String>>,
    /// `(namespace, account)` to what was last seen of it, for matched accounts only.
    by_account: HashMap<(String, String), Seen>,
}

/// The index, shared between the AppAccount cache that writes it and the User reconciles that read it.
#[derive(Clone, Default)]
pub struct SeatIndex {
    inner: Arc<Mutex<Inner>>,
}

impl SeatIndex {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an AppAccount as the watch reported it (`gone`: deleted) and
    /// returns the Users whose status it may change: the user it was matched
    /// to and the one it is matched to now, when its match, hub or state changed.
    pub fn observe(&self, account: &AppAccount, gone: bool) -> Vec<ObjectRef<User>> {
        let Some(namespace) = account.namespace() else { return vec![] };
        let key = (namespace.clone(), account.name_any());
        let now = if gone {
            None
        } else {
            account.status.as_ref().and_then(|s| {
                s.matched_user.as_ref().map(|user| Seen { user: user.clone(), hub: account.spec.hub.clone(), state: s.state })
            })
        };
        let mut inner = self.lock();
        let before = inner.by_account.get(&key).cloned();
        if before == now {
            return vec![];
        }
        if let Some(old) = &before {
            let user_key = (namespace.clone(), old.user.clone());
            if let Some(accounts) = inner.by_user.get_mut(&user_key) {
                accounts.remove(&key.1);
                if accounts.is_empty() {
                    inner.by_user.remove(&user_key);
                }
            }
        }
        match &now {
            Some(seen) => {
                inner.by_user.entry((namespace.clone(), seen.user.clone())).or_default().insert(key.1.clone());
                inner.by_account.insert(key, seen.clone());
            }
            None => {
                inner.by_account.remove(&key);
            }
        }
        let users: BTreeSet<&str> = before.iter().chain(now.iter()).map(|s| s.user.as_str()).collect();
        users.into_iter().map(|u| ObjectRef::new(u).within(&namespace)).collect()
    }

    /// Names of the accounts last seen matched to `user`, sorted.
    pub fn accounts_of(&self, namespace: &str, user: &str) -> Vec<String> {
        self.lock().by_user.get(&(namespace.to_string(), user.to_string())).map(|a| a.iter().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::{AppAccountSpec, AppAccountStatus};

    fn account(name: &str, hub: &str, user: Option<&str>, state: Option<AccountState>) -> AppAccount {
        let mut a =
            AppAccount::new(name, AppAccountSpec { hub: hub.into(), email: format!("{name}@acme.io"), match_user: None, exemption: None });
        a.metadata.namespace = Some("ws".into());
        a.status = Some(AppAccountStatus { matched_user: user.map(str::to_string), state, ..Default::default() });
        a
    }

    fn names(refs: Vec<ObjectRef<User>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn a_users_accounts_follow_their_match() {
        let index = SeatIndex::default();
        assert_eq!(names(index.observe(&account("a1", "app", Some("ann"), Some(AccountState::InviteSent)), false)), vec!["ann"]);
        index.observe(&account("a2", "crm", Some("ann"), None), false);
        index.observe(&account("b1", "app", Some("bob"), None), false);
        assert_eq!(index.accounts_of("ws", "ann"), vec!["a1", "a2"]);
        assert!(index.accounts_of("other", "ann").is_empty(), "namespaces are apart");

        // Matched to someone else by hand: both users hear of it.
        assert_eq!(names(index.observe(&account("a2", "crm", Some("bob"), None), false)), vec!["ann", "bob"]);
        assert_eq!(index.accounts_of("ws", "ann"), vec!["a1"]);
        assert_eq!(index.accounts_of("ws", "bob"), vec!["a2", "b1"]);

        // Deleted: its last user hears of it, and nothing is left behind.
        assert_eq!(names(index.observe(&account("a1", "app", Some("ann"), Some(AccountState::InviteSent)), true)), vec!["ann"]);
        assert!(index.accounts_of("ws", "ann").is_empty());
        assert!(!index.lock().by_user.contains_key(&("ws".to_string(), "ann".to_string())));
    }

    #[test]
    fn only_what_a_user_status_reads_is_news() {
        let index = SeatIndex::default();
        let mut a = account("a1", "app", Some("ann"), Some(AccountState::InviteSent));
        index.observe(&a, false);
        // A write the user's status does not read (a note, an operation) triggers nothing.
        if let Some(s) = a.status.as_mut() {
            s.note = Some("invited".into());
        }
        assert!(index.observe(&a, false).is_empty());
        if let Some(s) = a.status.as_mut() {
            s.state = Some(AccountState::Onboarded);
        }
        assert_eq!(names(index.observe(&a, false)), vec!["ann"]);
        // An account matched to nobody is not indexed and triggers nobody.
        assert!(index.observe(&account("x", "app", None, Some(AccountState::ExternalEnrollee)), false).is_empty());
        assert!(index.observe(&account("x", "app", None, None), true).is_empty());
    }
}
