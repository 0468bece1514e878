//! Prometheus metrics worth alerting on: reconciles, errors by reason, latency,
//! API writes (zero at steady state) and leadership.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::announced_family::Announced;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub controller: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub controller: &'static str,
    /// `status` or `event`.
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// `Invite`, `ResendInvite`, `UpdateAccess`, `Remove`, `CancelInvite`.
    pub action: &'static str,
    /// `ok`, `adopted`, or the connector error's reason.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `list` (reads; every write is counted by `actions`).
    pub call: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HubLabels {
    /// `namespace/name`.
    pub hub: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CancelLabels {
    pub action: &'static str,
    /// `hub_gone` or `grant_gone`.
    pub reason: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<ControllerLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Family<ControllerLabels, Histogram>,
    pub api_writes: Family<WriteLabels, Counter>,
    pub leader: Gauge,
    pub actions: Family<ActionLabels, Counter>,
    pub calls: Family<CallLabels, Counter>,
    pub hub_last_sync: Family<HubLabels, Gauge>,
    /// Planned calls not made because their hub or grant went away first.
    pub actions_cancelled: Family<CancelLabels, Counter>,
    /// Call outcomes not recorded: the AppAccount was gone, or every write of it failed.
    pub outcomes_unrecorded: Counter,
    pub sync_duration: Histogram,
    /// The operator's own time to plan a hub: input built from the caches and
    /// planned, no call to the app or the API server in it.
    pub plan_duration: Histogram,
    /// Removals each hub holds for an admin's approval; above zero exactly while
    /// its `RemovalsHeld` condition is True.
    pub hub_removals_held: Family<HubLabels, Gauge>,
    /// Each hub's `spec.syncInterval`, so an alert can tell a late read-back
    /// from a hub that is read back rarely on purpose.
    pub hub_sync_interval: Family<HubLabels, Gauge>,
    /// Calls to a hub's app refused for its credential (401/403), reads and writes.
    pub connector_auth_failures: Family<HubLabels, Counter>,
    /// Objects whose last reconcile (or last call to their app) failed and wait
    /// out an exponential backoff before the next try.
    pub objects_in_backoff: Gauge,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rolecall");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let reconcile_duration = Family::<ControllerLabels, Histogram>::new_with_constructor(duration_histogram as fn() -> Histogram);
        let api_writes = Family::<WriteLabels, Counter>::default();
        let leader = Gauge::default();
        let actions = Family::<ActionLabels, Counter>::default();
        let calls = Family::<CallLabels, Counter>::default();
        let hub_last_sync = Family::<HubLabels, Gauge>::default();
        let actions_cancelled = Family::<CancelLabels, Counter>::default();
        let outcomes_unrecorded = Counter::default();
        let hub_removals_held = Family::<HubLabels, Gauge>::default();
        let hub_sync_interval = Family::<HubLabels, Gauge>::default();
        let connector_auth_failures = Family::<HubLabels, Counter>::default();
        let objects_in_backoff = Gauge::default();
        registry.register(
            "hub_removals_held",
            "Removals a hub holds until an admin approves them (its RemovalsHeld condition is True while above zero)",
            Announced(hub_removals_held.clone()),
        );
        registry.register(
            "hub_sync_interval_seconds",
            "Each hub's spec.syncInterval: how often its app is read back",
            Announced(hub_sync_interval.clone()),
        );
        registry.register(
            "connector_auth_failures",
            "Calls to a hub's app refused for its credential (401/403), reads and writes",
            Announced(connector_auth_failures.clone()),
        );
        registry.register(
            "objects_in_backoff",
            "Objects (and hubs' app calls) waiting out an exponential backoff after a failure",
            objects_in_backoff.clone(),
        );
        registry.register(
            "actions_cancelled",
            "Planned calls to an app not made because their hub or grant was deleted first",
            Announced(actions_cancelled.clone()),
        );
        registry.register(
            "outcomes_unrecorded",
            "Call outcomes not recorded: the account's AppAccount was gone, or every write of it failed",
            outcomes_unrecorded.clone(),
        );
        let sync_duration = duration_histogram();
        let plan_duration = duration_histogram();
        registry.register("reconciles", "Reconciles run, by controller", Announced(reconciles.clone()));
        registry.register("reconcile_errors", "Reconciles that failed, by controller and reason", Announced(reconcile_errors.clone()));
        registry.register("reconcile_duration_seconds", "Time one reconcile took", Announced(reconcile_duration.clone()));
        registry.register(
            "api_writes",
            "Writes to the Kubernetes API (status patches, Events); zero at steady state",
            Announced(api_writes.clone()),
        );
        registry.register("leader", "1 while this replica holds the leader Lease", leader.clone());
        registry.register(
            "actions",
            "Changes made in external apps (write calls), by action and outcome; zero at steady state",
            Announced(actions.clone()),
        );
        registry.register("connector_reads", "Read-backs of external apps, by outcome", Announced(calls.clone()));
        registry.register(
            "hub_last_sync_timestamp_seconds",
            "When each hub's app was last read back (Unix time); alert when it falls behind",
            Announced(hub_last_sync.clone()),
        );
        registry.register("hub_sync_duration_seconds", "Time one read-back of an app took", sync_duration.clone());
        registry.register(
            "hub_plan_duration_seconds",
            "The operator's own time to plan one hub from its caches (no app or API call in it)",
            plan_duration.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            api_writes,
            leader,
            actions,
            calls,
            hub_last_sync,
            sync_duration,
            plan_duration,
            actions_cancelled,
            outcomes_unrecorded,
            hub_removals_held,
            hub_sync_interval,
            connector_auth_failures,
            objects_in_backoff,
        }
    }
}

impl Metrics {
    /// The text exposition format served on /metrics.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        out
    }

    pub fn count_call(&self, call: &'static str, error: Option<&crate::connector::ConnectorError>) {
        self.calls.get_or_create(&CallLabels { call, outcome: error.map_or("ok", |e| e.reason()) }).inc();
    }

    pub fn record_sync(&self, hub: &str, took: std::time::Duration) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        self.hub_last_sync.get_or_create(&HubLabels { hub: hub.to_string() }).set(now as i64);
        self.sync_duration.observe(took.as_secs_f64());
    }

    /// How often `hub`'s app is meant to be read back.
    pub fn record_interval(&self, hub: &str, interval: std::time::Duration) {
        self.hub_sync_interval.get_or_create(&HubLabels { hub: hub.to_string() }).set(interval.as_secs() as i64);
    }

    /// How many removals `hub`'s last plan held for approval.
    pub fn record_held(&self, hub: &str, held_removals: usize) {
        self.hub_removals_held.get_or_create(&HubLabels { hub: hub.to_string() }).set(held_removals as i64);
    }

    /// Counts a call to `hub`'s app that its credential did not pass.
    pub fn count_auth_failure(&self, hub: &str, error: Option<&crate::connector::ConnectorError>) {
        if matches!(error, Some(crate::connector::ConnectorError::Auth(_))) {
            self.connector_auth_failures.get_or_create(&HubLabels { hub: hub.to_string() }).inc();
        }
    }

    /// Drops a deleted hub's series, so that no alert fires for a hub that is gone.
    pub fn forget_hub(&self, hub: &str) {
        let labels = HubLabels { hub: hub.to_string() };
        self.hub_last_sync.remove(&labels);
        self.hub_sync_interval.remove(&labels);
        self.hub_removals_held.remove(&labels);
        self.connector_auth_failures.remove(&labels);
    }

    pub fn count_write(&self, controller: &'static str, kind: &'static str) {
        self.api_writes.get_or_create(&WriteLabels { controller, kind }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_family() {
        let m = Metrics::default();
        m.count_write("hub", "status");
        m.reconciles.get_or_create(&ControllerLabels { controller: "hub" }).inc();
        let text = m.encode();
        assert!(text.contains("rolecall_api_writes_total{controller=\"hub\",kind=\"status\"} 1"), "{text}");
        assert!(text.contains("rolecall_reconciles_total{controller=\"hub\"} 1"));
        assert!(text.contains("rolecall_leader 0"));
    }

    #[test]
    fn a_hub_reports_its_policy_auth_failures_and_is_forgotten_when_deleted() {
        let m = Metrics::default();
        // Families with no series yet still announce themselves, so a scrape names them.
        let empty = m.encode();
        for family in ["rolecall_hub_removals_held", "rolecall_hub_sync_interval_seconds", "rolecall_connector_auth_failures_total"] {
            assert!(
                empty.contains(&format!("# TYPE {family}")) || empty.contains(&format!("# TYPE {}", family.trim_end_matches("_total"))),
                "{family}: {empty}"
            );
        }
        assert!(empty.contains("rolecall_objects_in_backoff 0"), "{empty}");

        m.record_interval("ns/hub", std::time::Duration::from_secs(300));
        m.record_held("ns/hub", 3);
        m.record_sync("ns/hub", std::time::Duration::from_millis(5));
        m.count_auth_failure("ns/hub", Some(&crate::connector::ConnectorError::Auth("401".into())));
        m.count_auth_failure("ns/hub", Some(&crate::connector::ConnectorError::Transient("503".into())));
        m.count_auth_failure("ns/hub", None);
        let text = m.encode();
        assert!(text.contains("rolecall_hub_sync_interval_seconds{hub=\"ns/hub\"} 300"), "{text}");
        assert!(text.contains("rolecall_hub_removals_held{hub=\"ns/hub\"} 3"), "{text}");
        assert!(text.contains("rolecall_connector_auth_failures_total{hub=\"ns/hub\"} 1"), "{text}");

        m.forget_hub("ns/hub");
        let text = m.encode();
        assert!(!text.contains("hub=\"ns/hub\""), "{text}");
    }
}
