//! Prometheus metrics worth alerting on: reconciles, errors by reason, latency,
//! API writes (zero at steady state) and leadership.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    /// Call outcomes that could not be recorded because the AppAccount was gone.
    pub outcomes_unrecorded: Counter,
    pub sync_duration: Histogram,
    /// The operator's own time to plan a hub: input built from the caches and
    /// planned, no call to the app or the API server in it.
    pub plan_duration: Histogram,
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
        registry.register(
            "actions_cancelled",
            "Planned calls to an app not made because their hub or grant was deleted first",
            actions_cancelled.clone(),
        );
        registry.register(
            "outcomes_unrecorded",
            "Call outcomes not recorded because the account's AppAccount was gone",
            outcomes_unrecorded.clone(),
        );
        let sync_duration = duration_histogram();
        let plan_duration = duration_histogram();
        registry.register("reconciles", "Reconciles run, by controller", reconciles.clone());
        registry.register("reconcile_errors", "Reconciles that failed, by controller and reason", reconcile_errors.clone());
        registry.register("reconcile_duration_seconds", "Time one reconcile took", reconcile_duration.clone());
        registry.register("api_writes", "Writes to the Kubernetes API (status patches, Events); zero at steady state", api_writes.clone());
        registry.register("leader", "1 while this replica holds the leader Lease", leader.clone());
        registry.register(
            "actions",
            "Changes made in external apps (write calls), by action and outcome; zero at steady state",
            actions.clone(),
        );
        registry.register("connector_reads", "Read-backs of external apps, by outcome", calls.clone());
        registry.register(
            "hub_last_sync_timestamp_seconds",
            "When each hub's app was last read back (Unix time); alert when it falls behind",
            hub_last_sync.clone(),
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
}
