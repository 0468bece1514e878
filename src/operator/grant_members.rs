//! How many of each AccessGrant's members are in each account state, per hub,
//! kept up to date from the AppAccount cache's own task, so that a grant's
//! reconcile reads its counts instead of every account of the hubs it targets.
//!
//! A grant's reconcile used to take every account of its hubs (2,500 per hub
//! at 10,000 users) and keep the ones granted through it, once per account
//! change during a rollout: a fifth of the operator's CPU in a profile of the
//! 10,000-user whole loop (`grant_controller::member_report`). Here an account
//! change moves one account from one tally to another, and the index says
//! which grants' reports it changed: the grants it was granted through before
//! and the ones now, and only when something their report reads changed (its
//! hub, state or failure), not on a note or an announced call. Like the seat
//! index it is fed before the cache counts as loaded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::access_grant::{FailingMember, GrantMemberCounts};
use crate::api::app_account::AccountState;
use crate::api::{AccessGrant, AppAccount};

/// What a grant's report reads of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    hub: String,
    /// The grants it is granted through, sorted, without repeats.
    grants: Vec<String>,
    state: Option<AccountState>,
    /// Why its access failed, when it did.
    failing: Option<FailingMember>,
}

/// One grant's members on one hub.
#[derive(Debug, Default)]
struct Tally {
    counts: GrantMemberCounts,
    /// Failing members by account name (the report lists the first ones by name).
    failing: BTreeMap<String, FailingMember>,
}

impl Tally {
    fn add(&mut self, account: &str, seen: &Seen, by: i32) {
        *counter(&mut self.counts, seen.state) += by;
        match (&seen.failing, by > 0) {
            (Some(member), true) => {
                self.failing.insert(account.to_string(), member.clone());
            }
            _ => {
                self.failing.remove(account);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.counts == GrantMemberCounts::default() && self.failing.is_empty()
    }
}

/// The count an account in `state` is tallied under.
fn counter(counts: &mut GrantMemberCounts, state: Option<AccountState>) -> &mut i32 {
    match state {
        Some(AccountState::Onboarded) => &mut counts.onboarded,
        Some(AccountState::InviteSent) | Some(AccountState::InviteExpired) => &mut counts.invited,
        Some(AccountState::InviteFailed) => &mut counts.failed,
        Some(AccountState::ManageOnly) => &mut counts.manage_only,
        Some(AccountState::Removing) => &mut counts.removing,
        _ => &mut counts.pending,
    }
}

#[derive(Default)]
struct Inner {
    /// `(namespace, grant, hub)` to its members there.
    tallies: HashMap<(String, String, String), Tally>,
    /// `(namespace, account)` to what was last seen of it, for accounts granted through some grant.
    by_account: HashMap<(String, String), Seen>,
}

impl Inner {
    fn tally(&mut self, namespace: &str, account: &str, seen: &Seen, by: i32) {
        for grant in &seen.grants {
            let key = (namespace.to_string(), grant.clone(), seen.hub.clone());
            let tally = self.tallies.entry(key.clone()).or_default();
            tally.add(account, seen, by);
            if tally.is_empty() {
                self.tallies.remove(&key);
            }
        }
    }
}

/// A grant's report on its hubs: its members per state and the first failing ones.
#[derive(Debug, Default, PartialEq)]
pub struct MemberReport {
    pub counts: GrantMemberCounts,
    pub failing: Vec<FailingMember>,
}

/// The index, shared between the AppAccount cache that writes it and the grant reconciles that read it.
#[derive(Clone, Default)]
pub struct GrantMembers {
    inner: Arc<Mutex<Inner>>,
}

impl GrantMembers {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an AppAccount as the watch reported it (`gone`: deleted) and
    /// returns the grants whose report it changed.
    pub fn observe(&self, account: &AppAccount, gone: bool) -> Vec<ObjectRef<AccessGrant>> {
        let Some(namespace) = account.namespace() else { return vec![] };
        let name = account.name_any();
        let now = if gone { None } else { seen(account) };
        let key = (namespace.clone(), name);
        let mut inner = self.lock();
        let before = inner.by_account.get(&key).cloned();
        if before == now {
            return vec![];
        }
        if let Some(old) = &before {
            inner.tally(&namespace, &key.1, old, -1);
        }
        match &now {
            Some(seen) => {
                inner.tally(&namespace, &key.1, seen, 1);
                inner.by_account.insert(key, seen.clone());
            }
            None => {
                inner.by_account.remove(&key);
            }
        }
        let grants: BTreeSet<&str> = before.iter().chain(now.iter()).flat_map(|s| s.grants.iter().map(String::as_str)).collect();
        grants.into_iter().map(|g| ObjectRef::new(g).within(&namespace)).collect()
    }

    /// The members of grant `grant` on `hubs`, with at most `max_failing` failing ones listed (by account name).
    pub fn report(&self, namespace: &str, grant: &str, hubs: &[String], max_failing: usize) -> MemberReport {
        let inner = self.lock();
        let mut report = MemberReport::default();
        let mut failing: BTreeMap<&str, &FailingMember> = BTreeMap::new();
        for hub in hubs {
            let Some(tally) = inner.tallies.get(&(namespace.to_string(), grant.to_string(), hub.clone())) else { continue };
            let c = &tally.counts;
            let r = &mut report.counts;
            r.onboarded += c.onboarded;
            r.invited += c.invited;
            r.pending += c.pending;
            r.failed += c.failed;
            r.manage_only += c.manage_only;
            r.removing += c.removing;
            failing.extend(tally.failing.iter().take(max_failing).map(|(k, v)| (k.as_str(), v)));
        }
        report.failing = failing.into_values().take(max_failing).cloned().collect();
        report
    }
}

/// What a grant's report reads of `account`; `None` when it is granted through no grant.
fn seen(account: &AppAccount) -> Option<Seen> {
    let status = account.status.as_ref()?;
    if status.granted_via.is_empty() {
        return None;
    }
    let grants: BTreeSet<&String> = status.granted_via.iter().collect();
    let failing = (status.state == Some(AccountState::InviteFailed) || status.last_error.is_some()).then(|| FailingMember {
        user: status.matched_user.clone().unwrap_or_else(|| account.spec.email.clone()),
        hub: account.spec.hub.clone(),
        reason: status.last_error.clone().or_else(|| status.note.clone()).unwrap_or_else(|| "the invitation failed".into()),
    });
    Some(Seen { hub: account.spec.hub.clone(), grants: grants.into_iter().cloned().collect(), state: status.state, failing })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::{AppAccountSpec, AppAccountStatus};

    fn account(name: &str, hub: &str, grants: &[&str], state: Option<AccountState>) -> AppAccount {
        let mut a =
            AppAccount::new(name, AppAccountSpec { hub: hub.into(), email: format!("{name}@acme.io"), match_user: None, exemption: None });
        a.metadata.namespace = Some("ws".into());
        a.status = Some(AppAccountStatus {
            matched_user: Some(name.to_string()),
            granted_via: grants.iter().map(|g| g.to_string()).collect(),
            state,
            ..Default::default()
        });
        a
    }

    fn names(refs: Vec<ObjectRef<AccessGrant>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    fn hubs(names: &[&str]) -> Vec<String> {
        names.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn members_are_counted_per_grant_and_hub() {
        let index = GrantMembers::default();
        assert_eq!(names(index.observe(&account("a", "app", &["eng", "all"], Some(AccountState::Onboarded)), false)), ["all", "eng"]);
        index.observe(&account("b", "app", &["eng"], Some(AccountState::InviteSent)), false);
        index.observe(&account("c", "crm", &["eng"], None), false);
        index.observe(&account("d", "app", &[], Some(AccountState::Onboarded)), false);
        let eng = index.report("ws", "eng", &hubs(&["app", "crm"]), 20).counts;
        assert_eq!((eng.onboarded, eng.invited, eng.pending), (1, 1, 1));
        let on_app = index.report("ws", "eng", &hubs(&["app"]), 20).counts;
        assert_eq!((on_app.onboarded, on_app.invited, on_app.pending), (1, 1, 0), "only the hubs asked for");
        assert_eq!(index.report("ws", "all", &hubs(&["app"]), 20).counts.onboarded, 1);
        assert_eq!(index.report("other", "eng", &hubs(&["app"]), 20), MemberReport::default(), "namespaces are apart");

        // Moved from one grant to another: both hear of it, and the counts follow.
        assert_eq!(names(index.observe(&account("b", "app", &["all"], Some(AccountState::Onboarded)), false)), ["all", "eng"]);
        assert_eq!(index.report("ws", "eng", &hubs(&["app"]), 20).counts.invited, 0);
        assert_eq!(index.report("ws", "all", &hubs(&["app"]), 20).counts.onboarded, 2);

        // Deleted: its grants hear of it, and nothing is left behind.
        assert_eq!(names(index.observe(&account("a", "app", &["eng", "all"], Some(AccountState::Onboarded)), true)), ["all", "eng"]);
        index.observe(&account("b", "app", &["all"], Some(AccountState::Onboarded)), true);
        index.observe(&account("c", "crm", &["eng"], None), true);
        assert!(index.lock().tallies.is_empty());
        assert!(index.lock().by_account.is_empty());
    }

    #[test]
    fn only_what_a_grant_report_reads_is_news() {
        let index = GrantMembers::default();
        let mut a = account("a", "app", &["eng"], Some(AccountState::InviteSent));
        index.observe(&a, false);
        if let Some(s) = a.status.as_mut() {
            s.note = Some("invited".into());
            s.granted_via = vec!["eng".into(), "eng".into()];
        }
        assert!(index.observe(&a, false).is_empty(), "a note and a repeated grant change no report");
        if let Some(s) = a.status.as_mut() {
            s.last_error = Some("the app said 500".into());
        }
        assert_eq!(names(index.observe(&a, false)), ["eng"]);
        let report = index.report("ws", "eng", &hubs(&["app"]), 20);
        assert_eq!(report.counts.invited, 1, "counted once");
        assert_eq!(report.failing.len(), 1);
        assert_eq!((report.failing[0].hub.as_str(), report.failing[0].reason.as_str()), ("app", "the app said 500"));
    }

    #[test]
    fn the_failing_list_is_the_first_by_account_name_across_hubs() {
        let index = GrantMembers::default();
        for (name, hub) in [("d", "app"), ("b", "crm"), ("a", "app"), ("c", "crm"), ("e", "crm")] {
            index.observe(&account(name, hub, &["eng"], Some(AccountState::InviteFailed)), false);
        }
        let report = index.report("ws", "eng", &hubs(&["app", "crm"]), 3);
        assert_eq!(report.counts.failed, 5, "the counts are complete");
        assert_eq!(report.failing.iter().map(|m| m.user.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        // Recovered: it leaves the list.
        index.observe(&account("a", "app", &["eng"], Some(AccountState::Onboarded)), false);
        let report = index.report("ws", "eng", &hubs(&["app", "crm"]), 3);
        assert_eq!(report.failing.iter().map(|m| m.user.as_str()).collect::<Vec<_>>(), ["b", "c", "d"]);
        assert_eq!((report.counts.failed, report.counts.onboarded), (4, 1));
    }
}
