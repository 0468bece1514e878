//! Events (events.k8s.io/v1), published as kube-runtime's `Recorder` does,
//! with a bounded memory of the series.
//!
//! Like the `Recorder`, a repeat of the same type, action and reason about the
//! same object within six minutes is folded into the first Event's `series`
//! (a patch of its count) instead of a new Event. The `Recorder` kept every
//! Event it published whole (about 4.7 KB each, with two copies of the object
//! reference) and let go of old ones only when it published the next, scanning
//! them all each time: a rollout that seats 5,000 accounts left 23.6 MB of
//! Events in the operator after the rollout ended (heaptrack, whole-loop
//! benchmark at 1,000 users), and a 50,000-account one would have kept ten
//! times that and scanned it 50,000 times. This recorder keeps, per series,
//! only what a repeat needs (the Event's name and count, when it was last
//! seen), drops old ones once the memory has doubled since the last sweep (so
//! a sweep's cost is spread over the publishes that grew it), and never keeps
//! more than [`MAX_SERIES`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};

/// How long a repeat still joins the first Event's series (kube-runtime's and client-go's value).
const SERIES_TTL: SignedDuration = SignedDuration::from_mins(6);
/// The most series remembered at once; past it the older half is forgotten (a
/// repeat of one of those starts a new Event instead of counting on).
pub const MAX_SERIES: usize = 20_000;
/// No sweep while the memory holds fewer series than this.
const SWEEP_FLOOR: usize = 256;

/// What makes two Events the same series (kube-runtime's key: the note is not part of it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    warning: bool,
    action: String,
    reason: String,
    /// `kind/namespace/name/uid` of the object the Event is about.
    regarding: String,
    related: Option<String>,
}

/// What a repeat needs to count on an Event.
#[derive(Clone, Debug)]
struct SeriesEntry {
    namespace: String,
    name: String,
    count: i32,
    last_seen: Timestamp,
}

#[derive(Default)]
struct Series {
    entries: HashMap<SeriesKey, SeriesEntry>,
    /// How many entries were left by the last sweep.
    after_last_sweep: usize,
}

impl Series {
    /// Forgets the series too old to join, once the memory doubled since the
    /// last sweep or passed `MAX_SERIES`; past that, the older half too, so the
    /// next sweep is again many publishes away.
    fn sweep(&mut self, now: Timestamp) {
        if self.entries.len() < SWEEP_FLOOR.max(2 * self.after_last_sweep) && self.entries.len() <= MAX_SERIES {
            return;
        }
        self.entries.retain(|_, e| e.last_seen + SERIES_TTL > now);
        if self.entries.len() > MAX_SERIES {
            let mut seen: Vec<Timestamp> = self.entries.values().map(|e| e.last_seen).collect();
            let cut = seen.len() - MAX_SERIES / 2;
            let (_, oldest_kept, _) = seen.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            self.entries.retain(|_, e| e.last_seen >= oldest_kept);
        }
        self.after_last_sweep = self.entries.len();
    }

    /// The series this Event joins: its entry with the count and time moved on.
    fn join(&mut self, key: &SeriesKey, now: Timestamp) -> Option<SeriesEntry> {
        self.sweep(now);
        let entry = self.entries.get_mut(key).filter(|e| e.last_seen + SERIES_TTL > now)?;
        entry.count += 1;
        entry.last_seen = now;
        Some(entry.clone())
    }
}

/// Events published beside the work at once, at most (each is an API connection).
const BESIDE_AT_ONCE: usize = 8;

#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    reporter: Reporter,
    series: Arc<Mutex<Series>>,
    beside: Arc<tokio::sync::Semaphore>,
}

impl EventRecorder {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        EventRecorder { client, reporter, series: Arc::default(), beside: Arc::new(tokio::sync::Semaphore::new(BESIDE_AT_ONCE)) }
    }

    /// Publishes `event` in a task of its own, a few at a time, so the work it
    /// reports does not wait for it; `alone`: a new Event even if it repeats a
    /// recent one (its note says something the first one's does not).
    pub fn publish_beside(&self, event: Event, regarding: ObjectReference, alone: bool, metrics: Arc<super::metrics::Metrics>) {
        let recorder = self.clone();
        tokio::spawn(async move {
            // The semaphore is never closed; were it, the Event would go out unbounded.
            let _permit = recorder.beside.clone().acquire_owned().await.ok();
            let published = if alone { recorder.publish_new(&event, &regarding).await } else { recorder.publish(&event, &regarding).await };
            match published {
                Ok(()) => metrics.count_write(super::hub_controller::NAME, "event"),
                Err(e) => tracing::warn!(error = %e, reason = %event.reason, "cannot publish Event"),
            }
        });
    }

    /// Publishes `event` as a new Event, never a count on an earlier one.
    pub async fn publish_new(&self, event: &Event, regarding: &ObjectReference) -> Result<(), kube::Error> {
        let made = self.new_event(event, regarding, Timestamp::now());
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        Api::<K8sEvent>::namespaced(self.client.clone(), &namespace).create(&PostParams::default(), &made).await.map(|_| ())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Series> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes `event` about `regarding`: a new Event, or a count more on the series it repeats.
    pub async fn publish(&self, event: &Event, regarding: &ObjectReference) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = SeriesKey {
            warning: event.type_ == EventType::Warning,
            action: event.action.clone(),
            reason: event.reason.clone(),
            regarding: reference_key(regarding),
            related: event.secondary.as_ref().map(reference_key),
        };
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        let joined = self.lock().join(&key, now);
        if let Some(entry) = joined {
            let series = EventSeries { count: entry.count, last_observed_time: MicroTime(now) };
            let patch = serde_json::json!({ "series": series });
            let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &entry.namespace);
            match api.patch(&entry.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => return Ok(()),
                // The API server let the Event expire (its TTL is an hour by default): start anew.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let made = self.new_event(event, regarding, now);
        let name = made.metadata.name.clone().unwrap_or_default();
        Api::<K8sEvent>::namespaced(self.client.clone(), &namespace).create(&PostParams::default(), &made).await?;
        self.lock().entries.insert(key, SeriesEntry { namespace, name, count: 1, last_seen: now });
        Ok(())
    }

    /// The Event as kube-runtime's `Recorder` makes it.
    fn new_event(&self, event: &Event, regarding: &ObjectReference, now: Timestamp) -> K8sEvent {
        let controller = self.reporter.controller.clone();
        K8sEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!("{}.{:x}", regarding.name.as_ref().unwrap_or(&controller), now.as_nanosecond())),
                ..Default::default()
            },
            reporting_instance: Some(self.reporter.instance.clone().unwrap_or_else(|| controller.clone())),
            reporting_controller: Some(controller),
            type_: Some(if event.type_ == EventType::Warning { "Warning" } else { "Normal" }.into()),
            related: event.secondary.clone(),
            ..Default::default()
        }
    }
}

fn reference_key(r: &ObjectReference) -> String {
    let part = |p: &Option<String>| p.clone().unwrap_or_default();
    format!("{}/{}/{}/{}", part(&r.kind), part(&r.namespace), part(&r.name), part(&r.uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> SeriesKey {
        SeriesKey {
            warning: false,
            action: "Invite".into(),
            reason: "Invite".into(),
            regarding: format!("AppAccount/ns/{name}/uid"),
            related: None,
        }
    }

    fn entry(at: Timestamp) -> SeriesEntry {
        SeriesEntry { namespace: "ns".into(), name: "e".into(), count: 1, last_seen: at }
    }

    #[test]
    fn a_repeat_within_six_minutes_counts_on_and_a_later_one_starts_anew() {
        let start = Timestamp::from_second(1_800_000_000).expect("time");
        let mut series = Series::default();
        series.entries.insert(key("a"), entry(start));
        let joined = series.join(&key("a"), start + SignedDuration::from_mins(5)).expect("joins");
        assert_eq!(joined.count, 2);
        assert!(series.join(&key("b"), start).is_none(), "another object is another series");
        assert!(series.join(&key("a"), start + SignedDuration::from_mins(12)).is_none(), "too late to join");
    }

    #[test]
    fn the_memory_stays_bounded_and_sweeps_are_spread_out() {
        let start = Timestamp::from_second(1_800_000_000).expect("time");
        let mut series = Series::default();
        // A rollout: one Event per account, a second apart.
        for i in 0..(MAX_SERIES + 5_000) {
            let now = start + SignedDuration::from_secs(i as i64 / 100);
            series.join(&key(&i.to_string()), now);
            series.entries.insert(key(&i.to_string()), entry(now));
        }
        assert!(series.entries.len() <= MAX_SERIES + 1, "{}", series.entries.len());
        // Six minutes after the last Event, the next publish's sweep (when due) empties it.
        let later = start + SignedDuration::from_mins(60);
        series.after_last_sweep = 0;
        series.join(&key("new"), later);
        assert_eq!(series.entries.len(), 0);
    }

    #[test]
    fn past_the_cap_the_oldest_series_are_forgotten() {
        let start = Timestamp::from_second(1_800_000_000).expect("time");
        let mut series = Series::default();
        for i in 0..(MAX_SERIES + 10) {
            series.entries.insert(key(&i.to_string()), entry(start + SignedDuration::from_millis(i as i64)));
        }
        series.sweep(start + SignedDuration::from_secs(30));
        assert_eq!(series.entries.len(), MAX_SERIES / 2);
        assert!(!series.entries.contains_key(&key("0")), "the oldest went first");
        assert!(series.entries.contains_key(&key(&(MAX_SERIES + 9).to_string())));
    }
}
