//! What a webhook connector's refusal means to the operator: its typed error
//! (`{"error": {"type": ...}}`) into a [`ConnectorError`], the HTTP status
//! deciding when the body names no type the operator knows.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::super::ConnectorError;
use super::wire::ErrorBody;

/// The typed error for a refused call. `retry_after` is the `Retry-After`
/// header's time; a `rate_limited` body's `retry_after_seconds` is used when
/// the header is absent.
pub fn error_for(status: StatusCode, retry_after: Option<Duration>, path: &str, body: &Value) -> ConnectorError {
    let typed = serde_json::from_value::<ErrorBody>(body.clone()).ok().map(|b| b.error);
    let message = match (&typed, body) {
        (Some(detail), _) => detail.message.chars().take(300).collect(),
        (None, Value::String(s)) => s.chars().take(200).collect(),
        _ => String::new(),
    };
    let what = format!("{path} answered {} {message}", status.as_u16());
    let by_type = typed.as_ref().map(|d| d.type_.as_str());
    match by_type {
        Some("already_exists") => ConnectorError::AlreadyExists(what),
        Some("not_found") => ConnectorError::NotFound(what),
        Some("unauthorized") => ConnectorError::Auth(what),
        Some("rate_limited") => ConnectorError::RateLimited {
            retry_after: retry_after.or_else(|| typed.as_ref().and_then(|d| d.retry_after_seconds).map(Duration::from_secs)),
        },
        Some("invalid") | Some("permanent") => ConnectorError::Permanent(what),
        Some("transient") => ConnectorError::Transient(what),
        // No type, or one v1 does not define: the status decides.
        _ => ConnectorError::from_status(status, retry_after, what),
    }
}

/// The retry time a `rate_limited` body names, for pacing when the header is absent.
pub fn body_retry_after(body: &Value) -> Option<Duration> {
    let detail = serde_json::from_value::<ErrorBody>(body.clone()).ok()?.error;
    (detail.type_ == "rate_limited").then_some(detail.retry_after_seconds.map(Duration::from_secs)).flatten()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn typed(kind: &str, retry: Option<u64>) -> Value {
        json!({"error": {"type": kind, "message": "why", "retry_after_seconds": retry}})
    }

    #[test]
    fn typed_errors_map_to_what_the_operator_does() {
        let s = |code| StatusCode::from_u16(code).expect("status");
        assert!(
            matches!(error_for(s(409), None, "/v1/accounts", &typed("already_exists", None)), ConnectorError::AlreadyExists(m) if m.contains("why"))
        );
        assert!(matches!(error_for(s(404), None, "/v1/accounts/1", &typed("not_found", None)), ConnectorError::NotFound(_)));
        assert!(matches!(error_for(s(401), None, "/v1/accounts", &typed("unauthorized", None)), ConnectorError::Auth(_)));
        assert!(matches!(error_for(s(400), None, "/v1/accounts", &typed("invalid", None)), ConnectorError::Permanent(_)));
        assert!(matches!(error_for(s(422), None, "/v1/accounts", &typed("permanent", None)), ConnectorError::Permanent(_)));
        assert!(matches!(error_for(s(503), None, "/v1/accounts", &typed("transient", None)), ConnectorError::Transient(_)));
        // A rate limit's time: the header first, else the body's.
        assert_eq!(
            error_for(s(429), None, "/v1/accounts", &typed("rate_limited", Some(7))),
            ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(7)) }
        );
        assert_eq!(
            error_for(s(429), Some(Duration::from_secs(2)), "/v1/accounts", &typed("rate_limited", Some(7))),
            ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(2)) }
        );
        assert_eq!(body_retry_after(&typed("rate_limited", Some(7))), Some(Duration::from_secs(7)));
        assert_eq!(body_retry_after(&typed("transient", Some(7))), None);
        // Without a body the operator knows, the status decides.
        assert!(matches!(error_for(s(502), None, "/v1/accounts", &json!("<html>bad gateway</html>")), ConnectorError::Transient(_)));
        assert!(matches!(error_for(s(403), None, "/v1/accounts", &Value::Null), ConnectorError::Auth(_)));
        assert!(matches!(error_for(s(409), None, "/v1/accounts", &typed("something_new", None)), ConnectorError::AlreadyExists(_)));
        assert!(matches!(error_for(s(418), None, "/v1/accounts", &Value::Null), ConnectorError::Permanent(_)));
        assert_eq!(error_for(s(429), None, "/v1/accounts", &Value::Null), ConnectorError::RateLimited { retry_after: None });
    }
}
