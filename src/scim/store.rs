//! Writes to the API server on behalf of the identity provider. Every write
//! result goes into the directory at once (read-your-writes), every object
//! carries the IdP's identity, and membership changes touch only the users
//! whose membership changed.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::team::TeamSpec;
use crate::api::user::UserSpec;
use crate::api::{Team, User};

use super::auth::Caller;
use super::directory::Directory;
use super::error::ScimError;
use super::membership::MembershipWriter;
use super::unfinished::UNFINISHED_ANNOTATION;

/// Label on every object the SCIM sidecar writes: the operator tells IdP-owned objects from admin-made ones by it.
pub const MANAGED_BY_LABEL: &str = "rolecall.dev/managed-by";
pub const MANAGED_BY_SCIM: &str = "scim";
/// Annotation naming the IdPBinding whose token wrote the object.
pub const BINDING_ANNOTATION: &str = "rolecall.dev/idp-binding";
/// Annotation with the time of the IdP's last change (SCIM `meta.lastModified`).
pub const LAST_MODIFIED_ANNOTATION: &str = "rolecall.dev/scim-last-modified";

/// How many membership writes run at once for one group request.
const MEMBERSHIP_CONCURRENCY: usize = 16;

pub struct Store {
    pub client: Client,
    pub directory: Arc<Directory>,
    pub membership: MembershipWriter,
}

fn now() -> String {
    crate::api::time::now_rfc3339()
}

fn stamp(meta: &mut kube::api::ObjectMeta, caller: &Caller) {
    meta.labels.get_or_insert_with(Default::default).insert(MANAGED_BY_LABEL.into(), MANAGED_BY_SCIM.into());
    let annotations = meta.annotations.get_or_insert_with(Default::default);
    annotations.insert(BINDING_ANNOTATION.into(), caller.binding.clone());
    annotations.insert(LAST_MODIFIED_ANNOTATION.into(), now());
}

impl Store {
    /// Creates `obj` in the caller's workspace, stamped with the IdP's identity.
    async fn create<K>(&self, caller: &Caller, mut obj: K) -> Result<K, ScimError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
    {
        obj.meta_mut().namespace = Some(caller.namespace.clone());
        stamp(obj.meta_mut(), caller);
        let api: Api<K> = Api::namespaced(self.client.clone(), &caller.namespace);
        Ok(api.create(&PostParams::default(), &obj).await?)
    }

    /// Replaces `current` with `next`, stamped; `next` keeps `current`'s resourceVersion, so a concurrent write fails the call.
    async fn replace<K>(&self, caller: &Caller, current: &K, mut next: K) -> Result<K, ScimError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
    {
        stamp(next.meta_mut(), caller);
        let api: Api<K> = Api::namespaced(self.client.clone(), &caller.namespace);
        Ok(api.replace(&current.name_any(), &PostParams::default(), &next).await?)
    }

    fn users(&self, ns: &str) -> Api<User> {
        Api::namespaced(self.client.clone(), ns)
    }
    fn teams(&self, ns: &str) -> Api<Team> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub async fn create_user(&self, caller: &Caller, spec: UserSpec) -> Result<Arc<User>, ScimError> {
        let created = self.create(caller, User::new(&uuid::Uuid::new_v4().to_string(), spec)).await?;
        self.directory.put_user(created.clone());
        Ok(Arc::new(created))
    }

    /// Replaces a user's spec, guarded by the resourceVersion it was read at.
    pub async fn replace_user(&self, caller: &Caller, current: &User, spec: UserSpec) -> Result<Arc<User>, ScimError> {
        if current.spec == spec {
            return Ok(Arc::new(current.clone()));
        }
        let replaced = self.replace(caller, current, User { spec, status: None, ..current.clone() }).await?;
        self.directory.put_user(replaced.clone());
        Ok(Arc::new(replaced))
    }

    pub async fn delete_user(&self, caller: &Caller, id: &str) -> Result<(), ScimError> {
        match self.users(&caller.namespace).delete(id, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        self.directory.drop_user(&caller.namespace, id);
        Ok(())
    }

    /// Re-reads a user from the API server after a conflict, into the directory.
    pub async fn reload_user(&self, ns: &str, id: &str) -> Result<Option<Arc<User>>, ScimError> {
        match self.users(ns).get_opt(id).await? {
            Some(user) => {
                self.directory.put_user(user.clone());
                Ok(Some(Arc::new(user)))
            }
            None => {
                self.directory.drop_user(ns, id);
                Ok(None)
            }
        }
    }

    /// Re-reads a team from the API server after a conflict, into the directory.
    pub async fn reload_team(&self, ns: &str, id: &str) -> Result<Team, ScimError> {
        let team = self.teams(ns).get(id).await?;
        self.directory.put_team(team.clone());
        Ok(team)
    }

    /// Creates a Team; `unfinished` marks it as a create whose members are still to be written.
    pub async fn create_team(&self, caller: &Caller, spec: TeamSpec, unfinished: bool) -> Result<Arc<Team>, ScimError> {
        let mut team = Team::new(&uuid::Uuid::new_v4().to_string(), spec);
        if unfinished {
            team.metadata.annotations = Some([(UNFINISHED_ANNOTATION.to_string(), now())].into());
        }
        let created = self.create(caller, team).await?;
        self.directory.put_team(created.clone());
        Ok(Arc::new(created))
    }

    /// Removes the unfinished mark once every member is written: the group becomes visible to the IdP.
    pub async fn finish_team(&self, caller: &Caller, id: &str) -> Result<Arc<Team>, ScimError> {
        // No resourceVersion: the operator's status writes must not make this fail, and nothing else sets the mark.
        let patch = json!({"metadata": {"annotations": {UNFINISHED_ANNOTATION: null}}});
        let finished = self.teams(&caller.namespace).patch(id, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        self.directory.put_team(finished.clone());
        Ok(Arc::new(finished))
    }

    /// Replaces a team's spec, guarded by the resourceVersion it was read at.
    pub async fn replace_team(&self, caller: &Caller, current: &Team, spec: TeamSpec) -> Result<Arc<Team>, ScimError> {
        if current.spec == spec {
            return Ok(Arc::new(current.clone()));
        }
        let replaced = self.replace(caller, current, Team { spec, status: None, ..current.clone() }).await?;
        self.directory.put_team(replaced.clone());
        Ok(Arc::new(replaced))
    }

    pub async fn delete_team(&self, caller: &Caller, id: &str) -> Result<(), ScimError> {
        let members: Vec<String> = self.directory.read(&caller.namespace, |ws| ws.members_of(id).cloned().collect());
        self.set_membership(caller, id, &[], &members).await?;
        match self.teams(&caller.namespace).delete(id, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        self.directory.drop_team(&caller.namespace, id);
        Ok(())
    }

    /// Adds `team` to the users in `add` and removes it from those in `remove`:
    /// one small write per user whose membership changes, none for the others,
    /// shared with the other requests changing the same user at the same time.
    pub async fn set_membership(&self, caller: &Caller, team: &str, add: &[String], remove: &[String]) -> Result<(), ScimError> {
        let mut changes: Vec<(String, bool)> = Vec::with_capacity(add.len() + remove.len());
        changes.extend(add.iter().cloned().map(|u| (u, true)));
        changes.extend(remove.iter().cloned().map(|u| (u, false)));
        futures::stream::iter(changes)
            .map(|(user, member)| async move { self.membership.set(&caller.namespace, &user, team, member).await })
            .buffer_unordered(MEMBERSHIP_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
