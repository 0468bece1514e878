//! What a process keeps of an object it caches. `metadata.managedFields` is
//! the API server's bookkeeping of which field manager set which field: a tree
//! of JSON objects that nothing in rolecall reads, and the largest part of a
//! parsed User (measured: about 60% of the operator's cached bytes at 10,000
//! Users). kubectl's last-applied annotation is a second copy of the object.
//! Both are dropped as an object enters a cache.
//!
//! A cache trimmed this way must never be written back whole (PUT): the
//! annotation would be lost. The operator writes status and merge patches
//! only; the SCIM sidecar, which does PUT its own objects, keeps annotations
//! and drops only the managed fields (a PUT without them leaves them as they are).

use kube::api::ObjectMeta;

/// kubectl's copy of the last applied object.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops the managed fields: the API server keeps them as they are when a write omits them.
pub fn drop_managed_fields(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
}

/// Drops the managed fields and kubectl's last-applied copy, for a cache that
/// is read and patched, never written back whole.
pub fn trim_for_read_only_cache(meta: &mut ObjectMeta) {
    drop_managed_fields(meta);
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// What the operator's watch caches keep of each kind: the trim above, and
/// for a kind with more it never reads, less.
pub trait CacheTrim: kube::Resource {
    fn trim_for_cache(&mut self) {
        trim_for_read_only_cache(self.meta_mut());
    }
}

impl CacheTrim for super::BusinessHub {}
impl CacheTrim for super::Team {}
impl CacheTrim for super::User {}
impl CacheTrim for super::AccessGrant {}
impl CacheTrim for super::IdPBinding {}
impl CacheTrim for super::partner::Partner {}

/// An AppAccount's hub label and owner reference (its hub) are for the API
/// server (`kubectl get -l`, garbage collection); the operator reads the hub
/// from the spec. With 50,000 accounts cached, the two are a quarter of what
/// each holds: about 820 of 3,000 bytes (the label map's node alone is 544).
impl CacheTrim for super::app_account::AppAccount {
    fn trim_for_cache(&mut self) {
        trim_for_read_only_cache(&mut self.metadata);
        self.metadata.labels = None;
        self.metadata.owner_references = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    fn meta() -> ObjectMeta {
        ObjectMeta {
            name: Some("u1".into()),
            annotations: Some([(LAST_APPLIED_ANNOTATION.to_string(), "{}".to_string()), ("claim".to_string(), String::new())].into()),
            managed_fields: Some(vec![ManagedFieldsEntry {
                manager: Some("rolecall-scim".into()),
                fields_v1: Some(FieldsV1(serde_json::json!({"f:spec": {"f:userName": {}}}))),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn a_read_only_cache_keeps_what_is_read() {
        let mut m = meta();
        trim_for_read_only_cache(&mut m);
        assert_eq!(m.managed_fields, None);
        assert_eq!(m.annotations, Some([("claim".to_string(), String::new())].into()));
        assert_eq!(m.name.as_deref(), Some("u1"));
    }

    #[test]
    fn a_cached_account_keeps_what_the_operator_reads() {
        use crate::api::app_account::{AppAccount, AppAccountSpec};
        let mut account =
            AppAccount::new("app-1", AppAccountSpec { hub: "app".into(), email: "a@acme.io".into(), match_user: None, exemption: None });
        account.metadata = ObjectMeta {
            labels: Some([("rolecall.dev/hub".to_string(), "app".to_string())].into()),
            owner_references: Some(vec![Default::default()]),
            ..meta()
        };
        account.trim_for_cache();
        assert_eq!((account.metadata.labels, account.metadata.owner_references, account.metadata.managed_fields), (None, None, None));
        assert_eq!(account.metadata.annotations, Some([("claim".to_string(), String::new())].into()));
        assert_eq!(account.spec.hub, "app", "the hub is read from the spec");
    }

    #[test]
    fn a_cache_written_back_keeps_every_annotation() {
        let mut m = meta();
        drop_managed_fields(&mut m);
        assert_eq!(m.managed_fields, None);
        assert_eq!(m.annotations.map(|a| a.len()), Some(2));
    }
}
