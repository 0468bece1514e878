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
    fn a_cache_written_back_keeps_every_annotation() {
        let mut m = meta();
        drop_managed_fields(&mut m);
        assert_eq!(m.managed_fields, None);
        assert_eq!(m.annotations.map(|a| a.len()), Some(2));
    }
}
