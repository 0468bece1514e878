//! Bookkeeping an admin reads on the `IdPBinding`: the SCIM base URL, user and
//! group counts, when the IdP last called and the last request that failed.
//! Requests only update memory; a periodic pass writes a binding's status when
//! it changed, under the sidecar's own field manager, so provisioning bursts
//! cost no extra API writes and a quiet IdP costs none at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::Store as Reflector;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::api::IdPBinding;

use super::auth::Caller;
use super::directory::Directory;

pub const FIELD_MANAGER: &str = "rolecall-scim";

#[derive(Default, Clone, PartialEq, Eq)]
struct Seen {
    last_request: Option<String>,
    last_error: Option<String>,
}

#[derive(Default)]
pub struct Activity {
    seen: Mutex<HashMap<(String, String), Seen>>,
}

impl Activity {
    pub fn record(&self, caller: &Caller, status: StatusCode, method: &Method, path: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let entry = seen.entry((caller.namespace.clone(), caller.binding.clone())).or_default();
        let now = crate::api::time::now_rfc3339();
        if status.is_client_error() && status != StatusCode::NOT_FOUND || status.is_server_error() {
            entry.last_error = Some(format!("{now} {method} {path} answered {}", status.as_u16()));
        }
        entry.last_request = Some(now);
    }

    fn get(&self, ns: &str, binding: &str) -> Seen {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&(ns.to_string(), binding.to_string())).cloned().unwrap_or_default()
    }
}

/// Writes each binding's SCIM status every `every`, when it changed.
pub async fn publish_status(
    client: Client,
    directory: Arc<Directory>,
    activity: Arc<Activity>,
    bindings: Reflector<IdPBinding>,
    base_url: String,
    every: Duration,
) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        if !directory.synced() {
            continue;
        }
        for binding in bindings.state() {
            let ns = binding.namespace().unwrap_or_default();
            let name = binding.name_any();
            let seen = activity.get(&ns, &name);
            let (users, groups) = directory.read(&ns, |ws| (ws.users.len() as i32, ws.teams.len() as i32));
            let current = binding.status.clone().unwrap_or_default();
            let unchanged = current.scim_base_url.as_deref() == Some(base_url.as_str())
                && current.users == Some(users)
                && current.groups == Some(groups)
                && (seen.last_request.is_none() || current.last_request_time == seen.last_request)
                && (seen.last_error.is_none() || current.last_error == seen.last_error);
            if unchanged {
                continue;
            }
            let mut status = json!({"scimBaseUrl": base_url, "users": users, "groups": groups});
            if let Some(t) = seen.last_request.or(current.last_request_time) {
                status["lastRequestTime"] = json!(t);
            }
            if let Some(e) = seen.last_error.or(current.last_error) {
                status["lastError"] = json!(e);
            }
            let patch = json!({"apiVersion": "rolecall.dev/v1alpha1", "kind": "IdPBinding", "status": status});
            let api: Api<IdPBinding> = Api::namespaced(client.clone(), &ns);
            if let Err(e) = api.patch_status(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await {
                tracing::warn!(binding = %format!("{ns}/{name}"), error = %e, "cannot write the binding's SCIM status");
            }
        }
    }
}
