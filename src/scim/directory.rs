//! The SCIM sidecar's in-memory directory: every `User` and `Team` of every
//! workspace, indexed the ways identity providers look them up (userName,
//! externalId, displayName, id) and with the reverse index of team membership.
//!
//! It is fed by watches on the API server and also by the results of the
//! sidecar's own writes, so an IdP that creates a user and reads it back at
//! once sees its write. A write result and a watch event of the same object
//! are ordered by resourceVersion, so an older event never undoes a newer write.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kube::ResourceExt;
use kube::api::ObjectMeta;

use crate::api::cache_trim::drop_managed_fields;
use crate::api::{Team, User};

use super::store::{BINDING_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_SCIM};
use super::unfinished::is_unfinished;

/// What the directory keeps of a user: everything the SCIM side reads or
/// writes back on a PUT, less the managed fields, the status (the operator's
/// report, which no SCIM answer shows and a PUT does not send), and the label
/// and annotation that every write stamps afresh (`store::stamp`): the
/// managed-by label and the binding's name. At 10,000 users the label alone
/// is 5 MiB, a map node of its own per user. Nothing in the sidecar reads them,
/// and a PUT puts them back; any other label or annotation is kept.
fn trimmed_user(mut user: User) -> User {
    trim_meta(&mut user.metadata);
    user.status = None;
    user
}

/// What the directory keeps of a team (see [`trimmed_user`]).
fn trimmed_team(mut team: Team) -> Team {
    trim_meta(&mut team.metadata);
    team.status = None;
    team
}

fn trim_meta(meta: &mut ObjectMeta) {
    drop_managed_fields(meta);
    if let Some(labels) = meta.labels.as_mut() {
        if labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_SCIM) {
            labels.remove(MANAGED_BY_LABEL);
        }
        if labels.is_empty() {
            meta.labels = None;
        }
    }
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(BINDING_ANNOTATION);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// One workspace (namespace) of the directory.
#[derive(Default)]
pub struct Workspace {
    /// Users by object name, which is also their SCIM id. Ordered, so pages are stable.
    pub users: BTreeMap<String, Arc<User>>,
    /// Teams by object name (SCIM id).
    pub teams: BTreeMap<String, Arc<Team>>,
    user_by_name: HashMap<String, String>,
    user_by_external: HashMap<String, String>,
    team_by_display: HashMap<String, String>,
    team_by_external: HashMap<String, String>,
    members: HashMap<String, BTreeSet<String>>,
}

impl Workspace {
    /// The user whose userName equals `name`, compared case-insensitively (RFC 7643: userName is not case-exact).
    pub fn user_by_user_name(&self, name: &str) -> Option<&Arc<User>> {
        self.user_by_name.get(&name.to_lowercase()).and_then(|id| self.users.get(id))
    }
    pub fn user_by_external_id(&self, external_id: &str) -> Option<&Arc<User>> {
        self.user_by_external.get(external_id).and_then(|id| self.users.get(id))
    }
    /// A group as the IdP may see it: a Team whose create is still unfinished is not one yet.
    pub fn group(&self, id: &str) -> Option<&Arc<Team>> {
        self.teams.get(id).filter(|t| !is_unfinished(t))
    }
    /// Every Team of that displayName, finished or not (the name is claimed either way).
    pub fn team_by_display_name(&self, name: &str) -> Option<&Arc<Team>> {
        self.team_by_display.get(&name.to_lowercase()).and_then(|id| self.teams.get(id))
    }
    pub fn team_by_external_id(&self, external_id: &str) -> Option<&Arc<Team>> {
        self.team_by_external.get(external_id).and_then(|id| self.teams.get(id))
    }
    /// Ids of the users whose spec.teams names this team.
    pub fn members_of(&self, team: &str) -> impl Iterator<Item = &String> {
        self.members.get(team).into_iter().flatten()
    }
    pub fn is_member(&self, team: &str, user: &str) -> bool {
        self.members.get(team).is_some_and(|m| m.contains(user))
    }
    pub fn member_count(&self, team: &str) -> usize {
        self.members.get(team).map_or(0, |m| m.len())
    }

    fn index_user(&mut self, user: &User, id: &str) {
        self.user_by_name.insert(user.spec.user_name.to_lowercase(), id.to_string());
        if let Some(e) = &user.spec.external_id {
            self.user_by_external.insert(e.clone(), id.to_string());
        }
        for team in &user.spec.teams {
            self.members.entry(team.clone()).or_default().insert(id.to_string());
        }
    }

    fn unindex_user(&mut self, user: &User, id: &str) {
        let key = user.spec.user_name.to_lowercase();
        if self.user_by_name.get(&key).map(String::as_str) == Some(id) {
            self.user_by_name.remove(&key);
        }
        if let Some(e) = &user.spec.external_id
            && self.user_by_external.get(e).map(String::as_str) == Some(id)
        {
            self.user_by_external.remove(e);
        }
        for team in &user.spec.teams {
            if let Some(set) = self.members.get_mut(team) {
                set.remove(id);
                if set.is_empty() {
                    self.members.remove(team);
                }
            }
        }
    }

    fn put_user(&mut self, user: User) {
        let id = user.name_any();
        if let Some(old) = self.users.get(&id).cloned() {
            if newer(&old.metadata.resource_version, &user.metadata.resource_version) {
                return;
            }
            self.unindex_user(&old, &id);
        }
        let user = trimmed_user(user);
        self.index_user(&user, &id);
        self.users.insert(id, Arc::new(user));
    }

    fn drop_user(&mut self, id: &str) {
        if let Some(old) = self.users.remove(id) {
            self.unindex_user(&old, id);
        }
    }

    fn put_team(&mut self, team: Team) {
        let id = team.name_any();
        if let Some(old) = self.teams.get(&id).cloned() {
            if newer(&old.metadata.resource_version, &team.metadata.resource_version) {
                return;
            }
            self.unindex_team(&old, &id);
        }
        self.team_by_display.insert(team.spec.display_name.to_lowercase(), id.clone());
        if let Some(e) = &team.spec.external_id {
            self.team_by_external.insert(e.clone(), id.clone());
        }
        self.teams.insert(id, Arc::new(trimmed_team(team)));
    }

    fn unindex_team(&mut self, team: &Team, id: &str) {
        let key = team.spec.display_name.to_lowercase();
        if self.team_by_display.get(&key).map(String::as_str) == Some(id) {
            self.team_by_display.remove(&key);
        }
        if let Some(e) = &team.spec.external_id
            && self.team_by_external.get(e).map(String::as_str) == Some(id)
        {
            self.team_by_external.remove(e);
        }
    }

    fn drop_team(&mut self, id: &str) {
        if let Some(old) = self.teams.remove(id) {
            self.unindex_team(&old, id);
        }
    }
}

/// True when `current` is a strictly newer resourceVersion than `incoming`.
/// resourceVersions are etcd revisions in practice; when either does not parse
/// as a number, the incoming object wins.
fn newer(current: &Option<String>, incoming: &Option<String>) -> bool {
    match (current.as_deref().map(str::parse::<u64>), incoming.as_deref().map(str::parse::<u64>)) {
        (Some(Ok(c)), Some(Ok(i))) => c > i,
        _ => false,
    }
}

/// `(namespace, id)` of the objects a full list has named so far.
type Listed = Option<HashSet<(String, String)>>;

/// Every workspace of the directory.
#[derive(Default)]
pub struct Directory {
    workspaces: RwLock<HashMap<String, Workspace>>,
    /// While a full list of users is coming in: the users it named, or that
    /// this process wrote meanwhile. The rest are dropped when it ends.
    listed_users: Mutex<Listed>,
    listed_teams: Mutex<Listed>,
    users_synced: AtomicBool,
    teams_synced: AtomicBool,
}

fn note_listed(listed: &Mutex<Listed>, namespace: &str, id: &str, present: bool) {
    let mut listed = listed.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(set) = listed.as_mut() {
        let key = (namespace.to_string(), id.to_string());
        if present {
            set.insert(key);
        } else {
            set.remove(&key);
        }
    }
}

impl Directory {
    /// Runs `f` on a workspace (an empty one if the namespace has nothing yet).
    pub fn read<T>(&self, namespace: &str, f: impl FnOnce(&Workspace) -> T) -> T {
        let guard = self.workspaces.read().unwrap_or_else(|p| p.into_inner());
        match guard.get(namespace) {
            Some(ws) => f(ws),
            None => f(&Workspace::default()),
        }
    }

    fn write<T>(&self, namespace: &str, f: impl FnOnce(&mut Workspace) -> T) -> T {
        let mut guard = self.workspaces.write().unwrap_or_else(|p| p.into_inner());
        f(guard.entry(namespace.to_string()).or_default())
    }

    pub fn put_user(&self, user: User) {
        let ns = user.namespace().unwrap_or_default();
        note_listed(&self.listed_users, &ns, &user.name_any(), true);
        self.write(&ns, |ws| ws.put_user(user));
    }
    pub fn drop_user(&self, namespace: &str, id: &str) {
        note_listed(&self.listed_users, namespace, id, false);
        self.write(namespace, |ws| ws.drop_user(id));
    }
    pub fn put_team(&self, team: Team) {
        let ns = team.namespace().unwrap_or_default();
        note_listed(&self.listed_teams, &ns, &team.name_any(), true);
        self.write(&ns, |ws| ws.put_team(team));
    }
    pub fn drop_team(&self, namespace: &str, id: &str) {
        note_listed(&self.listed_teams, namespace, id, false);
        self.write(namespace, |ws| ws.drop_team(id));
    }

    /// A full list of users begins (a watch (re)start). Its users are put one
    /// by one as they come, so the list is never held twice in memory (as a
    /// batch and as the directory); [`Directory::users_listed`] drops the rest.
    pub fn listing_users(&self) {
        *self.listed_users.lock().unwrap_or_else(|p| p.into_inner()) = Some(HashSet::new());
    }

    /// The full list of users is complete: users it did not name are gone.
    pub fn users_listed(&self) {
        let listed = self.listed_users.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
        let mut guard = self.workspaces.write().unwrap_or_else(|p| p.into_inner());
        for (ns, ws) in guard.iter_mut() {
            let gone: Vec<String> = ws.users.keys().filter(|id| !listed.contains(&(ns.clone(), (*id).clone()))).cloned().collect();
            for id in gone {
                ws.drop_user(&id);
            }
        }
        self.users_synced.store(true, Ordering::SeqCst);
    }

    /// A full list of teams begins (see [`Directory::listing_users`]).
    pub fn listing_teams(&self) {
        *self.listed_teams.lock().unwrap_or_else(|p| p.into_inner()) = Some(HashSet::new());
    }

    /// The full list of teams is complete: teams it did not name are gone.
    pub fn teams_listed(&self) {
        let listed = self.listed_teams.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
        let mut guard = self.workspaces.write().unwrap_or_else(|p| p.into_inner());
        for (ns, ws) in guard.iter_mut() {
            let gone: Vec<String> = ws.teams.keys().filter(|id| !listed.contains(&(ns.clone(), (*id).clone()))).cloned().collect();
            for id in gone {
                ws.drop_team(&id);
            }
        }
        self.teams_synced.store(true, Ordering::SeqCst);
    }

    /// True once both watches delivered their first full list.
    pub fn synced(&self) -> bool {
        self.users_synced.load(Ordering::SeqCst) && self.teams_synced.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::user::UserSpec;
    use kube::api::ObjectMeta;

    fn user(name: &str, user_name: &str, rv: &str, teams: &[&str]) -> User {
        let mut u = User::new(
            name,
            UserSpec {
                user_name: user_name.into(),
                external_id: Some(format!("ext-{name}")),
                teams: teams.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            },
        );
        u.metadata =
            ObjectMeta { name: Some(name.into()), namespace: Some("ws".into()), resource_version: Some(rv.into()), ..Default::default() };
        u
    }

    #[test]
    fn lookups_are_case_insensitive_and_follow_renames() {
        let d = Directory::default();
        d.put_user(user("u1", "Alice@Acme.example", "5", &["t1"]));
        assert!(d.read("ws", |w| w.user_by_user_name("alice@acme.EXAMPLE").is_some()));
        d.put_user(user("u1", "alice2@acme.example", "6", &["t2"]));
        assert!(d.read("ws", |w| w.user_by_user_name("alice@acme.example").is_none()));
        assert_eq!(d.read("ws", |w| (w.member_count("t1"), w.member_count("t2"))), (0, 1));
        assert!(d.read("ws", |w| w.user_by_external_id("ext-u1").is_some()));
    }

    #[test]
    fn what_every_write_stamps_afresh_is_not_kept() {
        let d = Directory::default();
        let mut u = user("u1", "a", "1", &[]);
        u.metadata.labels = Some([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_SCIM.to_string())].into());
        u.metadata.annotations =
            Some([(BINDING_ANNOTATION.to_string(), "entra".to_string()), ("claim.rolecall.dev/app".to_string(), String::new())].into());
        d.put_user(u);
        let kept = d.read("ws", |w| w.users.get("u1").map(|u| u.metadata.clone())).expect("u1");
        assert_eq!(kept.labels, None);
        assert_eq!(kept.annotations, Some([("claim.rolecall.dev/app".to_string(), String::new())].into()), "an admin's annotation stays");
    }

    #[test]
    fn an_older_event_never_undoes_a_newer_write() {
        let d = Directory::default();
        d.put_user(user("u1", "new@acme.example", "9", &[]));
        d.put_user(user("u1", "old@acme.example", "7", &[]));
        assert!(d.read("ws", |w| w.user_by_user_name("new@acme.example").is_some()));
    }

    #[test]
    fn a_full_list_drops_what_is_gone_and_keeps_own_writes() {
        let d = Directory::default();
        d.put_user(user("u1", "a", "1", &["t"]));
        d.put_user(user("u3", "c", "3", &[]));
        d.listing_users();
        d.put_user(user("u2", "b", "2", &["t"]));
        // Written by this process while the list came in: not in the list's snapshot, but there.
        d.put_user(user("u4", "d", "4", &[]));
        d.users_listed();
        assert_eq!(d.read("ws", |w| w.users.keys().cloned().collect::<Vec<_>>()), ["u2", "u4"]);
        assert_eq!(d.read("ws", |w| w.member_count("t")), 1);
        assert!(!d.synced(), "teams are not listed yet");
        d.listing_teams();
        d.teams_listed();
        assert!(d.synced());
    }
}
