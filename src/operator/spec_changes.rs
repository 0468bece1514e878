//! Which changes of a watched kind concern a controller that only reads its
//! spec: a new generation (an admin changed the spec) or a deletion. Status
//! writes, including the operator's own, pass by. Without this filter a hub's
//! own AppAccount and grant status writes would trigger the hub again at once:
//! a failing call retried in a loop instead of at the next sync.

use std::collections::HashMap;
use std::hash::Hash;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

/// Keeps the items of `changes` that are a new spec generation or a deletion
/// (the object is no longer in `store`, which the watch updates first).
pub fn spec_changes<K, S>(changes: S, store: Store<K>) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
    S: Stream<Item = Result<K, watcher::Error>> + Send + 'static,
{
    let mut generations: HashMap<ObjectRef<K>, Option<i64>> = HashMap::new();
    changes.filter(move |change| {
        let keep = match change {
            Ok(obj) => {
                let key = ObjectRef::from_obj(obj);
                let current = store.get(&key);
                let seen = current.is_some_and(|c| c.meta().uid == obj.meta().uid);
                if seen {
                    generations.insert(key, obj.meta().generation) != Some(obj.meta().generation)
                } else {
                    generations.remove(&key);
                    true
                }
            }
            Err(_) => true,
        };
        std::future::ready(keep)
    })
}
