//! The namespaces offered in the picker: those the caller can list hubs in.

use std::collections::BTreeSet;

use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};

use crate::api::BusinessHub;

/// The namespaces holding a hub, when the caller may list hubs cluster-wide;
/// otherwise only `home` (the kubeconfig's namespace or `--namespace`): RBAC
/// lets many people read one namespace and not list the others.
pub async fn pickable(client: &Client, home: &str) -> Vec<String> {
    let mut names = BTreeSet::from([home.to_string()]);
    let hubs: Api<BusinessHub> = Api::all(client.clone());
    match hubs.list_metadata(&ListParams::default()).await {
        Ok(list) => names.extend(list.items.iter().filter_map(|h| h.namespace())),
        Err(e) => tracing::debug!(error = %e, "hubs cannot be listed cluster-wide; offering the home namespace only"),
    }
    names.into_iter().collect()
}
