//! What a trigger mapper last saw of each object it maps. A change must also
//! reach the objects the old version named: a user who leaves a team no longer
//! names it, and a grant moved to another team no longer names the first.

use std::collections::HashMap;
use std::sync::Mutex;

/// The last value a mapper took from each object, by `namespace/name`.
pub struct LastSeen<V> {
    seen: Mutex<HashMap<String, V>>,
}

impl<V> Default for LastSeen<V> {
    fn default() -> Self {
        LastSeen { seen: Mutex::default() }
    }
}

impl<V: Clone + PartialEq> LastSeen<V> {
    /// Records `now` (`None`: the object is gone) and returns what was seen
    /// before when it differs, `None` when nothing changed.
    pub fn changed(&self, key: String, now: Option<V>) -> Option<Option<V>> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let before = match &now {
            Some(v) => seen.insert(key, v.clone()),
            None => seen.remove(&key),
        };
        (before != now).then_some(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_old_value_once_per_change() {
        let seen = LastSeen::<u8>::default();
        assert_eq!(seen.changed("ws/a".into(), Some(1)), Some(None), "new");
        assert_eq!(seen.changed("ws/a".into(), Some(1)), None, "unchanged");
        assert_eq!(seen.changed("ws/a".into(), Some(2)), Some(Some(1)), "changed");
        assert_eq!(seen.changed("ws/a".into(), None), Some(Some(2)), "gone");
        assert_eq!(seen.changed("ws/a".into(), None), None, "gone twice");
        assert!(seen.seen.lock().map(|m| m.is_empty()).unwrap_or(false), "nothing kept for a gone object");
    }
}
