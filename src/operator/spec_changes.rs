//! Which watched changes are news to the controllers that react to a kind
//! whose status only this operator writes and no other controller reads
//! (User, AccessGrant; a BusinessHub's, but for its imported assets): a
//! change of status alone is not. Dropping it keeps a
//! User's status write from replanning every hub of its workspace, and an
//! AccessGrant's member counts from retriggering the grant's members.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::api::ObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};

/// The fingerprint of what the others read, per object.
#[derive(Default)]
pub struct SpecChanges {
    seen: HashMap<(Option<String>, Option<String>), u64>,
}

impl SpecChanges {
    /// Whether a change is news: the object is new, gone, or changed outside its status.
    pub fn is_news(&mut self, meta: &ObjectMeta, gone: bool) -> bool {
        self.is_news_with(meta, gone, ())
    }

    /// Like [`is_news`](Self::is_news), where a change of `also` (a part of
    /// the status that others read) is news too.
    pub fn is_news_with(&mut self, meta: &ObjectMeta, gone: bool, also: impl Hash) -> bool {
        let key = (meta.namespace.clone(), meta.name.clone());
        if gone {
            self.seen.remove(&key);
            return true;
        }
        let mut hasher = DefaultHasher::new();
        (fingerprint(meta), also).hash(&mut hasher);
        let now = hasher.finish();
        self.seen.insert(key, now) != Some(now)
    }
}

/// The items of one subscriber's `changes` that are news to it, for a kind
/// whose other subscribers do need every status change (AppAccounts: the grant
/// controller counts states, the hub controller reads only an admin's spec).
/// Without it, a hub's own AppAccount status writes would trigger the hub again
/// at once: a failing call retried in a loop instead of at the next sync. A
/// deletion is recognised by the object's absence from `store`, which the
/// watch updates first.
pub fn news_only<K, S>(changes: S, store: Store<K>) -> impl Stream<Item = Arc<K>> + Send + 'static
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
    S: Stream<Item = Arc<K>> + Send + 'static,
{
    let mut news = SpecChanges::default();
    changes.filter(move |obj| {
        let gone = store.get(&ObjectRef::from_obj(obj.as_ref())).is_none_or(|cached| cached.meta().uid != obj.meta().uid);
        std::future::ready(news.is_news(obj.meta(), gone))
    })
}

/// The spec's generation and the metadata others read (labels; annotations such as claims).
fn fingerprint(meta: &ObjectMeta) -> u64 {
    let mut hasher = DefaultHasher::new();
    (&meta.uid, meta.generation, &meta.labels, &meta.annotations, meta.deletion_timestamp.is_some()).hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(generation: i64, annotations: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some("ann".into()),
            namespace: Some("ws".into()),
            uid: Some("u1".into()),
            generation: Some(generation),
            annotations: Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn a_status_write_is_no_news_and_everything_else_is() {
        let mut changes = SpecChanges::default();
        assert!(changes.is_news(&meta(1, &[]), false), "a new object");
        let mut status_only = meta(1, &[]);
        status_only.resource_version = Some("42".into());
        assert!(!changes.is_news(&status_only, false), "only the status (and resourceVersion) changed");
        assert!(changes.is_news(&meta(2, &[]), false), "the spec changed");
        assert!(changes.is_news(&meta(2, &[("claim.rolecall.dev/app", "")]), false), "a claim");
        assert!(changes.is_news(&meta(2, &[("claim.rolecall.dev/app", "")]), true), "deleted");
        assert!(changes.is_news(&meta(2, &[("claim.rolecall.dev/app", "")]), false), "created again after the delete");
    }

    #[test]
    fn a_status_part_others_read_is_news_when_it_changes() {
        let mut changes = SpecChanges::default();
        assert!(changes.is_news_with(&meta(1, &[]), false, ["asset-a"]), "a new object");
        assert!(!changes.is_news_with(&meta(1, &[]), false, ["asset-a"]), "the rest of the status changed");
        assert!(changes.is_news_with(&meta(1, &[]), false, ["asset-a", "asset-b"]), "an asset was imported");
    }
}
