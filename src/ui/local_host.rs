//! The page holds the caller's Kubernetes credentials' view, so only the
//! browser on this machine may read it: a request whose Host is not
//! `localhost` or a loopback address is refused (another site's page,
//! DNS-rebound to 127.0.0.1, would otherwise read it, as `kubectl proxy`'s
//! `--accept-hosts` guards against).

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn only_local_hosts(request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if is_local(host) {
        return next.run(request).await;
    }
    (StatusCode::FORBIDDEN, "rolecall ui answers only requests to localhost or 127.0.0.1\n").into_response()
}

/// `localhost`, `127.0.0.1` or `[::1]`, with any port.
fn is_local(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    matches!(name.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_names_pass() {
        for ok in ["localhost", "localhost:8001", "127.0.0.1:8001", "[::1]:8001", "LOCALHOST"] {
            assert!(super::is_local(ok), "{ok}");
        }
        for bad in ["", "evil.example", "evil.example:8001", "127.0.0.1.evil.example", "localhost.evil:80"] {
            assert!(!super::is_local(bad), "{bad}");
        }
    }
}
