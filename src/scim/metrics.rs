//! The SCIM sidecar's Prometheus metrics: every request by method, resource and
//! status code (a burst of 401s says an IdP holds a revoked token, 429s an IdP
//! pushing faster than the rate limit, 5xx the API server or the sidecar
//! failing), and how long requests take. Served on `--metrics-addr` when given.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::announced_family::Announced;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The HTTP method, or `OTHER` (a bounded set, whatever a caller sends).
    pub method: &'static str,
    /// `Users`, `Groups`, `.search`, the discovery endpoints, or `other`.
    pub resource: &'static str,
    /// The response's status code.
    pub code: u16,
}

pub struct ScimMetrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Histogram,
}

impl Default for ScimMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rolecall_scim");
        let requests = Family::<RequestLabels, Counter>::default();
        // 0.5 ms to ~16 s: a directory read is sub-millisecond, a write waits for the API server.
        let request_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("requests", "SCIM requests answered, by method, resource and status code", Announced(requests.clone()));
        registry.register("request_duration_seconds", "Time the sidecar took to answer one SCIM request", request_duration.clone());
        ScimMetrics { registry, requests, request_duration }
    }
}

impl ScimMetrics {
    /// The text exposition format served on /metrics.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        out
    }

    pub fn record(&self, method: &Method, path: &str, code: u16, took: std::time::Duration) {
        self.requests.get_or_create(&RequestLabels { method: method_label(method), resource: resource_of(path), code }).inc();
        self.request_duration.observe(took.as_secs_f64());
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// The SCIM resource a path (below `/scim/v2`) addresses, from a fixed list so
/// that the label's values stay few whatever paths callers send.
pub fn resource_of(path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or("");
    let first = path.trim_start_matches("/scim/v2").trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "Users" => "Users",
        "Groups" => "Groups",
        ".search" => ".search",
        "ServiceProviderConfig" => "ServiceProviderConfig",
        "ResourceTypes" => "ResourceTypes",
        "Schemas" => "Schemas",
        _ => "other",
    }
}

/// The outermost layer of the SCIM routes: counts every answer, refusals by
/// authentication, rate limit and body size included.
pub async fn count_requests(State(metrics): State<Arc<ScimMetrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    metrics.record(&method, &path, response.status().as_u16(), started.elapsed());
    response
}

/// Binds the address now (so a port clash fails at start-up) and serves /metrics in the background.
pub async fn serve(addr: SocketAddr, metrics: Arc<ScimMetrics>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new().route("/metrics", get(metrics_handler)).with_state(metrics);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "SCIM metrics server stopped");
        }
    });
    Ok(bound)
}

async fn metrics_handler(State(metrics): State<Arc<ScimMetrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_method_resource_and_code() {
        let m = ScimMetrics::default();
        assert!(m.encode().contains("# TYPE rolecall_scim_requests counter"), "{}", m.encode());
        m.record(&Method::PATCH, "/Users/abc", 200, std::time::Duration::from_millis(3));
        m.record(&Method::GET, "/scim/v2/Groups?filter=x", 401, std::time::Duration::from_millis(1));
        m.record(&Method::from_bytes(b"BREW").unwrap_or(Method::GET), "/../etc", 404, std::time::Duration::ZERO);
        let text = m.encode();
        assert!(text.contains("rolecall_scim_requests_total{method=\"PATCH\",resource=\"Users\",code=\"200\"} 1"), "{text}");
        assert!(text.contains("rolecall_scim_requests_total{method=\"GET\",resource=\"Groups\",code=\"401\"} 1"), "{text}");
        assert!(text.contains("rolecall_scim_requests_total{method=\"OTHER\",resource=\"other\",code=\"404\"} 1"), "{text}");
        assert!(text.contains("rolecall_scim_request_duration_seconds_count 3"), "{text}");
    }

    #[test]
    fn resources_come_from_a_fixed_list() {
        assert_eq!(resource_of("/Users/.search"), "Users");
        assert_eq!(resource_of("/.search"), ".search");
        assert_eq!(resource_of("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"), "Schemas");
        assert_eq!(resource_of("/Bulk"), "other");
        assert_eq!(resource_of(""), "other");
    }
}
