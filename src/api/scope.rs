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

/// Whether `obj` lives in `namespace`. Compared in place: `ResourceExt::namespace`
/// copies the name, and the caches' filters ask this of every cached object (a
/// hub's sync asked it of all 25,000 AppAccounts twice: 10 % of the operator's
/// CPU in a 5,000-user profile went to those copies).
pub fn is_in<K: Resource>(obj: &K, namespace: &str) -> bool {
    obj.meta().namespace.as_deref() == Some(namespace)
}
