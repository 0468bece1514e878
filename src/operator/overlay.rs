//! Read-your-writes over a watch cache. A reconcile that just wrote an object
//! may run again before the watch delivers that write; planning from the stale
//! copy could repeat a call the app already received (a second invitation).
//! The overlay keeps what this process last wrote, until the cache catches up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::{Resource, ResourceExt};

pub struct Overlay<K> {
    written: Mutex<HashMap<String, Written<K>>>,
}

enum Written<K> {
    Object(Arc<K>),
    Deleted,
}

impl<K> Default for Overlay<K> {
    fn default() -> Self {
        Overlay { written: Mutex::default() }
    }
}

fn key<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// resourceVersions are opaque, but the API server issues them from etcd's
/// revision, so a newer write of the same object never has a smaller one.
fn version<K: Resource>(obj: &K) -> Option<u64> {
    obj.resource_version().and_then(|v| v.parse().ok())
}

impl<K: Resource + Clone> Overlay<K> {
    /// Keeps `obj` as written, trimmed like the cache's objects (it is read, never written back whole).
    pub fn wrote(&self, mut obj: K) {
        crate::api::cache_trim::trim_for_read_only_cache(obj.meta_mut());
        self.lock().insert(key(&obj), Written::Object(Arc::new(obj)));
    }

    pub fn deleted(&self, namespace: &str, name: &str) {
        self.lock().insert(format!("{namespace}/{name}"), Written::Deleted);
    }

    /// The cached objects with this process's newer writes laid over them, plus
    /// objects it created that the cache has not seen yet (those `belongs` accepts).
    pub fn apply(&self, cached: Vec<Arc<K>>, belongs: impl Fn(&K) -> bool) -> Vec<Arc<K>> {
        let mut written = self.lock();
        let mut out = Vec::with_capacity(cached.len());
        let mut seen = std::collections::HashSet::new();
        for obj in cached {
            let k = key(obj.as_ref());
            seen.insert(k.clone());
            match written.get(&k) {
                Some(Written::Object(mine)) if version(mine.as_ref()) > version(obj.as_ref()) => out.push(mine.clone()),
                Some(Written::Deleted) => {}
                Some(Written::Object(_)) => {
                    // The cache caught up.
                    written.remove(&k);
                    out.push(obj);
                }
                None => out.push(obj),
            }
        }
        written.retain(|k, w| match w {
            Written::Deleted => seen.contains(k),
            Written::Object(_) => true,
        });
        for (k, w) in written.iter() {
            if let Written::Object(mine) = w
                && !seen.contains(k)
                && belongs(mine)
            {
                out.push(mine.clone());
            }
        }
        out
    }

    /// The newer of the cached object and this process's last write of it.
    pub fn newest(&self, cached: Arc<K>) -> Arc<K> {
        match self.lock().get(&key(cached.as_ref())) {
            Some(Written::Object(mine)) if version(mine.as_ref()) > version(cached.as_ref()) => mine.clone(),
            _ => cached,
        }
    }

    /// One object by name: this process's write when newer than `cached`.
    pub fn get(&self, namespace: &str, name: &str, cached: Option<Arc<K>>) -> Option<Arc<K>> {
        match (self.lock().get(&format!("{namespace}/{name}")), cached) {
            (Some(Written::Deleted), _) => None,
            (Some(Written::Object(mine)), Some(c)) if version(c.as_ref()) >= version(mine.as_ref()) => Some(c),
            (Some(Written::Object(mine)), _) => Some(mine.clone()),
            (None, cached) => cached,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Written<K>>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }
}
