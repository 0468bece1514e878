//! The one namespace a process was told to serve, or all of them.

use kube::{Api, Client, Resource};

/// An `Api` over `namespace`, or over every namespace when it is `None`.
pub fn scoped_api<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}
