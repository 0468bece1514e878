//! The toolkit the resource handlers share: reading a request (JSON body,
//! filter), answering in SCIM's media type (with ETag and Location), and the
//! versioning rules (ETag from resourceVersion, If-Match).

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::SCIM_CONTENT_TYPE;
use super::error::ScimError;
use super::filter::{CompareOp, Filter, parse_filter};
use super::list::{LIST_SCHEMA, Query};
use super::store::LAST_MODIFIED_ANNOTATION;

pub fn scim_json(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)], body.to_string()).into_response()
}

/// A single resource, with its ETag and (when created) its Location.
pub fn resource_response(status: StatusCode, body: Value) -> Response {
    let version = body.pointer("/meta/version").and_then(Value::as_str).map(str::to_string);
    let location = body.pointer("/meta/location").and_then(Value::as_str).map(str::to_string);
    let mut response = scim_json(status, body);
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok())
    {
        response.headers_mut().insert(header::LOCATION, l);
    }
    response
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub fn parse_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| ScimError::bad_request("invalidSyntax", format!("the request body is not valid JSON: {e}")))
}

pub fn parse_filter_param(query: &Query) -> Result<Option<Filter>, ScimError> {
    query.filter.as_deref().map(parse_filter).transpose().map_err(|e| ScimError::invalid_filter(e.to_string()))
}

/// `attr eq "value"` on an indexed attribute: (lower-case attribute, value).
/// The caller still evaluates the whole filter on what the index returns.
pub fn indexed_lookup(filter: &Filter) -> Option<(&'static str, &str)> {
    let Filter::Compare { path, op: CompareOp::Eq, value: Value::String(v) } = filter else { return None };
    if path.sub_attr.is_some() || path.schema.as_deref().is_some_and(|s| s.to_ascii_lowercase().contains("extension")) {
        return None;
    }
    ["userName", "externalId", "id", "displayName"].into_iter().find(|a| path.attr.eq_ignore_ascii_case(a)).map(|a| {
        (
            match a {
                "userName" => "username",
                "externalId" => "externalid",
                "id" => "id",
                _ => "displayname",
            },
            v.as_str(),
        )
    })
}

/// The weak ETag of an object: its resourceVersion.
pub fn etag(meta: &ObjectMeta) -> Option<String> {
    meta.resource_version.as_ref().map(|rv| format!("W/\"{rv}\""))
}

/// (created, lastModified, version) for `meta`.
pub fn timestamps(meta: &ObjectMeta) -> (Option<String>, Option<String>, Option<String>) {
    let created = meta.creation_timestamp.as_ref().map(|t| t.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let modified = meta.annotations.as_ref().and_then(|a| a.get(LAST_MODIFIED_ANNOTATION)).cloned();
    (created, modified, etag(meta))
}

/// 412 when the caller's If-Match names another version.
pub fn check_if_match(headers: &HeaderMap, meta: &ObjectMeta) -> Result<(), ScimError> {
    let Some(wanted) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let current = etag(meta).unwrap_or_default();
    let strip = |t: &str| t.trim().trim_start_matches("W/").trim_matches('"').to_string();
    if wanted.trim() == "*" || wanted.split(',').any(|w| strip(w) == strip(&current)) {
        Ok(())
    } else {
        Err(ScimError::precondition_failed(format!("If-Match {wanted} does not match the current version {current}")))
    }
}

/// A list response that holds every resource at once (the discovery endpoints).
pub fn list_of(resources: Vec<Value>) -> Value {
    json!({"schemas": [LIST_SCHEMA], "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(), "Resources": resources})
}
