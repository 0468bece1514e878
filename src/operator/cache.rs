//! Caches of the kinds that reconciles read, each fed by one watch and driven
//! by its own task.
//!
//! Every change is also passed to the controller that must react to it,
//! through an unbounded channel. Driving the watch in its own task matters: a
//! reconcile that waits for a cache to be loaded must never depend on another
//! controller's stream being polled, or two controllers can wait on each other.

use std::fmt::Debug;
use std::hash::Hash;

use futures::{Stream, StreamExt};
use kube::Api;
use kube::Resource;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// What the watch said happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Applied,
    Deleted,
}

/// Starts the watch of `api` into a cache; returns the cache and `subscribers`
/// streams of its changes (applied and deleted objects), one per controller that reacts to them.
pub fn spawn_cache<K>(
    api: Api<K>,
    config: watcher::Config,
    subscribers: usize,
) -> (Store<K>, Vec<impl Stream<Item = Result<K, watcher::Error>> + Send + 'static>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    spawn_cache_with(api, config, subscribers, |_: &K, _: Change| true)
}

/// Like [`spawn_cache`], and `observe` sees every change first, in the cache's
/// own task: an index it keeps is complete before the cache counts as loaded.
/// Subscribers hear of a change only when `observe` returns true.
pub fn spawn_cache_with<K, F>(
    api: Api<K>,
    config: watcher::Config,
    subscribers: usize,
    mut observe: F,
) -> (Store<K>, Vec<impl Stream<Item = Result<K, watcher::Error>> + Send + 'static>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
    F: FnMut(&K, Change) -> bool + Send + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..subscribers).map(|_| mpsc::unbounded_channel::<K>()).unzip();
    let changes = reflector::reflector(writer, watcher(api, config)).default_backoff();
    tokio::spawn(changes.for_each(move |event| {
        let change = match event {
            Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => Some((obj, Change::Applied)),
            Ok(watcher::Event::Delete(obj)) => Some((obj, Change::Deleted)),
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            Err(e) => {
                tracing::warn!(kind = %K::kind(&Default::default()), error = %e, "watch failed; retrying with backoff");
                None
            }
        };
        if let Some((obj, change)) = change
            && observe(&obj, change)
        {
            for tx in &senders {
                // A closed receiver means its controller stopped; nothing to deliver.
                let _ = tx.send(obj.clone());
            }
        }
        std::future::ready(())
    }));
    let streams = receivers
        .into_iter()
        .map(|rx| futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|obj| (Ok(obj), rx)) }))
        .collect();
    (store, streams)
}
