//! How a connector call failed; the executor's retry, backoff and conditions follow from the kind.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The credential was refused (401/403). Not retried until the Secret changes or the next sync.
    #[error("the app refused the credential: {0}")]
    Auth(String),
    /// The account (or the app endpoint) does not exist.
    #[error("not found in the app: {0}")]
    NotFound(String),
    /// The account already exists: the executor adopts it instead of adding it again.
    #[error("already exists in the app: {0}")]
    AlreadyExists(String),
    /// The app asked us to slow down.
    #[error("rate limited by the app{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// A failure worth retrying with backoff (5xx, timeouts, connection errors).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The app failed `failures` calls in a row (server errors, timeouts, dropped
    /// connections, unreadable answers): the hub's calls wait, for a backoff that
    /// doubles with each failure up to `ceiling`. Says why a hub is waiting.
    #[error("the app failed {failures} call(s) in a row, the last: {last}; calls wait up to {ceiling:?} before the next")]
    BackingOff { failures: u32, ceiling: Duration, last: String },
    /// The app refused the request as it is; retrying the same call will not help.
    #[error("the app refused the request: {0}")]
    Permanent(String),
    /// The app does not implement this call (501 Not Implemented, 405 Method Not
    /// Allowed); a connector may fall back to another way of doing it.
    #[error("the app does not support this call: {0}")]
    Unsupported(String),
    /// The hub's settings or Secret do not let the connector be built.
    #[error("connector misconfigured: {0}")]
    Config(String),
}

impl ConnectorError {
    /// What an HTTP status alone says about a refused call (`what` describes it):
    /// the common reading of SCIM, webhook and most REST apps. A connector whose
    /// app says more (a typed error body, a 403 that means a rate limit) reads
    /// that first.
    pub fn from_status(status: reqwest::StatusCode, retry_after: Option<Duration>, what: String) -> ConnectorError {
        use reqwest::StatusCode;
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::Auth(what),
            StatusCode::NOT_FOUND => ConnectorError::NotFound(what),
            StatusCode::CONFLICT => ConnectorError::AlreadyExists(what),
            StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after },
            StatusCode::SERVICE_UNAVAILABLE if retry_after.is_some() => ConnectorError::RateLimited { retry_after },
            StatusCode::NOT_IMPLEMENTED | StatusCode::METHOD_NOT_ALLOWED => ConnectorError::Unsupported(what),
            s if s.is_server_error() => ConnectorError::Transient(what),
            _ => ConnectorError::Permanent(what),
        }
    }

    /// A short CamelCase reason for conditions, Events and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            ConnectorError::Auth(_) => "AuthFailed",
            ConnectorError::NotFound(_) => "NotFound",
            ConnectorError::AlreadyExists(_) => "AlreadyExists",
            ConnectorError::RateLimited { .. } => "RateLimited",
            ConnectorError::Transient(_) => "Transient",
            ConnectorError::BackingOff { .. } => "BackingOff",
            ConnectorError::Permanent(_) => "Permanent",
            ConnectorError::Config(_) => "Misconfigured",
            ConnectorError::Unsupported(_) => "Unsupported",
        }
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConnectorError::RateLimited { .. } | ConnectorError::Transient(_) | ConnectorError::BackingOff { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_stable() {
        let cases = [
            (ConnectorError::Auth(String::new()), "AuthFailed"),
            (ConnectorError::NotFound(String::new()), "NotFound"),
            (ConnectorError::AlreadyExists(String::new()), "AlreadyExists"),
            (ConnectorError::RateLimited { retry_after: None }, "RateLimited"),
            (ConnectorError::Transient(String::new()), "Transient"),
            (ConnectorError::BackingOff { failures: 1, ceiling: Duration::ZERO, last: String::new() }, "BackingOff"),
            (ConnectorError::Permanent(String::new()), "Permanent"),
            (ConnectorError::Config(String::new()), "Misconfigured"),
            (ConnectorError::Unsupported(String::new()), "Unsupported"),
        ];
        for (error, reason) in cases {
            assert_eq!(error.reason(), reason, "{error:?}");
        }
        assert!(!ConnectorError::Unsupported(String::new()).is_retryable());
        assert!(ConnectorError::BackingOff { failures: 1, ceiling: Duration::ZERO, last: String::new() }.is_retryable());
    }
}
