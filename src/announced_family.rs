//! A metric family that /metrics lists before its first series.
//!
//! prometheus-client leaves a `Family` with no series out of the exposition
//! entirely, so a fresh operator would show no `rolecall_reconcile_errors`,
//! no `rolecall_connector_auth_failures`... until the first one happens. Alerts
//! and dashboards then cannot tell "none yet" from "not exported", and a test
//! that checks every metric they name against a real scrape could not either.
//! Registered through [`Announced`], a family always has its HELP and TYPE
//! lines (a family with no samples is valid in both text formats).

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;

#[derive(Debug)]
pub struct Announced<M>(pub M);

impl<M: EncodeMetric> EncodeMetric for Announced<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::registry::Registry;

    #[test]
    fn an_empty_family_is_listed_and_a_plain_one_is_not() {
        let mut registry = Registry::with_prefix("x");
        let plain = Family::<Vec<(String, String)>, Counter>::default();
        let announced = Family::<Vec<(String, String)>, Counter>::default();
        registry.register("plain", "Plain", plain.clone());
        registry.register("announced", "Announced", Announced(announced.clone()));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap_or_default();
        assert!(text.contains("# TYPE x_announced counter"), "{text}");
        assert!(!text.contains("x_plain"), "{text}");
        announced.get_or_create(&vec![("a".into(), "b".into())]).inc();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap_or_default();
        assert!(text.contains("x_announced_total{a=\"b\"} 1"), "{text}");
    }
}
