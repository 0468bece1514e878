//! SCIM error responses (RFC 7644 §3.12): the status, a `scimType` where the
//! RFC defines one, and a sentence saying what was wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Seconds to wait, for 429 and 503 answers.
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.scim_type.unwrap_or("-"), self.detail)
    }
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into(), retry_after: None }
    }
    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidFilter", detail)
    }
    pub fn not_found(resource: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, format!("{resource} {id:?} not found"))
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, "a valid bearer token is required")
    }
    pub fn too_many_requests(retry_after: u64) -> Self {
        ScimError { retry_after: Some(retry_after), ..Self::new(StatusCode::TOO_MANY_REQUESTS, None, "rate limit exceeded for this token") }
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, detail)
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        ScimError { retry_after: Some(5), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail) }
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl From<kube::Error> for ScimError {
    fn from(e: kube::Error) -> Self {
        match &e {
            kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists" => ScimError::uniqueness(s.message.clone()),
            kube::Error::Api(s) if s.code == 409 => {
                ScimError::precondition_failed(format!("the resource changed meanwhile: {}", s.message))
            }
            kube::Error::Api(s) if s.code == 404 => ScimError::new(StatusCode::NOT_FOUND, None, s.message.clone()),
            kube::Error::Api(s) if s.code == 422 || s.code == 400 => ScimError::invalid_value(s.message.clone()),
            kube::Error::Api(s) if s.code == 429 => ScimError::unavailable(s.message.clone()),
            _ => ScimError::unavailable(format!("the directory store is unavailable: {e}")),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = (self.status, [(header::CONTENT_TYPE, super::SCIM_CONTENT_TYPE)], self.body().to_string()).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
