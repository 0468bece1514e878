//! What the end-to-end tests of the apps served by a stand-in (GitHub, Meta,
//! TikTok, and partners on Meta) share: the token Secret, a grant with assets,
//! reading a hub and its `Connected` condition, waiting for an account or for
//! anything else, and cutting a stand-in's call log into whole read-backs.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use rolecall::api::{AppAccount, BusinessHub};
use serde::de::DeserializeOwned;

use crate::harness::{client, kubectl_apply, wait_for};
use crate::standin_process::StandInProcess;
use crate::world::Workspace;

/// How long anything the operator does against a stand-in may take.
pub const LIMIT: Duration = Duration::from_secs(120);

/// A Secret `name` holding the app's `token`, as a hub's `credentialsSecretRef` names it.
pub async fn token_secret(w: &Workspace, name: &str, token: &str) {
    let api: Api<Secret> = Api::namespaced(client().await, &w.ns);
    let secret = Secret {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        string_data: Some([("token".to_string(), token.to_string())].into()),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret).await.expect("secret created");
}

/// An AccessGrant `name`: the IdP team `team` gets `role` on `hub`, and `assets` (YAML flow items).
pub fn grant(w: &Workspace, name: &str, hub: &str, team: &str, role: &str, assets: &str) {
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: AccessGrant\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{subject: {{team: {team}}}, hub: {hub}, appRoles: [{role}], assets: [{assets}]}}\n",
        ns = w.ns
    ));
    assert!(ok, "{out}");
}

pub async fn hub(w: &Workspace, name: &str) -> BusinessHub {
    let api: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    api.get(name).await.expect("hub")
}

/// The hub's `Connected` condition: (status, reason, message).
pub async fn connected(w: &Workspace, name: &str) -> Option<(String, String, String)> {
    let api: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    let hub = api.get(name).await.ok()?;
    hub.status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Connected")
        .map(|c| (c.status.as_ref().to_string(), c.reason.clone(), c.message.clone()))
}

/// Polls `find` every 200 ms until it finds something; panics with `what` after `LIMIT`.
pub async fn poll<T, F, Fut>(what: &str, mut find: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < LIMIT {
        if let Some(found) = find().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {LIMIT:?} waiting for {what}");
}

/// Waits until the account of `email` on `hub` passes `check`.
pub async fn wait_account(w: &Workspace, hub: &str, email: &str, what: &str, check: impl Fn(&AppAccount) -> bool) {
    wait_for(LIMIT, &format!("{email}: {what}"), || async { w.account_on(hub, email).await.is_some_and(|a| check(&a)) }).await;
}

/// The note the operator left on an account.
pub fn note(a: &AppAccount) -> String {
    a.status.as_ref().and_then(|s| s.note.clone()).unwrap_or_default()
}

/// Waits for `n` whole read-backs after the call log was cleared, and returns
/// their calls; `is_start` tells the call a read-back starts with. The
/// read-back under way when the log was cleared, and the first whole one (it
/// may still see the last change), are not counted.
pub async fn whole_read_backs<C: DeserializeOwned>(standin: &StandInProcess, n: usize, is_start: impl Fn(&C) -> bool) -> Vec<C> {
    standin.clear_calls().await;
    wait_for(LIMIT, &format!("{n} read-backs"), || async { standin.calls::<C>().await.iter().filter(|c| is_start(c)).count() > n + 1 })
        .await;
    let mut calls: Vec<C> = standin.calls().await;
    let starts: Vec<usize> = calls.iter().enumerate().filter(|(_, c)| is_start(c)).map(|(i, _)| i).collect();
    calls.truncate(starts[n + 1]);
    calls.split_off(starts[1])
}
