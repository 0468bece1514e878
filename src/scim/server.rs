//! The HTTP side of the SCIM sidecar: routes, bearer authentication, rate
//! limiting, body limits, and the helpers every handler shares.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, body::Bytes};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector::Store as Reflector;
use serde_json::{Value, json};

use crate::api::IdPBinding;

use super::auth::Tokens;
use super::directory::Directory;
use super::discovery;
use super::error::ScimError;
use super::filter::{CompareOp, Filter, parse_filter};
use super::list::Query;
use super::rate_limit::RateLimiter;
use super::store::{LAST_MODIFIED_ANNOTATION, Store};
use super::{SCIM_CONTENT_TYPE, activity::Activity, groups, users};

pub struct ScimState {
    pub store: Store,
    pub directory: Arc<Directory>,
    pub tokens: Arc<Tokens>,
    pub bindings: Reflector<IdPBinding>,
    pub limiter: RateLimiter,
    pub activity: Arc<Activity>,
    /// The externally visible base URL, ending in `/scim/v2`.
    pub base_url: String,
    /// Serialises writes that claim the same unique name (userName, group
    /// displayName), so two of them cannot both pass the uniqueness check;
    /// writes of different names proceed in parallel.
    pub name_locks: NameLocks,
}

pub struct NameLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for NameLocks {
    fn default() -> Self {
        // Enough stripes that concurrent requests for different names rarely share one.
        NameLocks((0..4096).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl NameLocks {
    /// The lock for a unique name of a kind, compared case-insensitively.
    pub fn of(&self, kind: &str, name: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        kind.hash(&mut h);
        name.to_lowercase().hash(&mut h);
        &self.0[(h.finish() % self.0.len() as u64) as usize]
    }
}

pub fn router(state: Arc<ScimState>, max_body_bytes: usize) -> Router {
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(users::list).post(users::create))
        .route("/.search", post(search_all))
        .route("/Users/.search", post(users::search))
        .route("/Groups/.search", post(groups::search))
        .route("/Users/{id}", get(users::get).put(users::replace).patch(users::patch).delete(users::delete))
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/{id}", get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete))
        .fallback(|| async { ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint") })
        // Inside authentication, so an oversized request is counted as the caller's failed request.
        .layer(middleware::from_fn(move |request: Request, next: Next| refuse_declared_oversize(request, next, max_body_bytes)))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(max_body_bytes));
    Router::new().nest("/scim/v2", scim).route("/healthz", get(|| async { "ok" })).route("/readyz", get(readyz)).with_state(state)
}

async fn readyz(State(st): State<Arc<ScimState>>) -> Response {
    if st.directory.synced() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "directory not loaded yet").into_response()
    }
}

/// A body whose declared length is over the limit is refused before a byte of
/// it is read (the extractor's limit still guards chunked bodies).
async fn refuse_declared_oversize(request: Request, next: Next, max_body_bytes: usize) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body_bytes as u64) {
        let detail = format!("the request body is over the limit of {max_body_bytes} bytes");
        return ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, detail).into_response();
    }
    next.run(request).await
}

/// Bearer token → the caller's workspace; then the caller's rate limit.
async fn authenticate(State(st): State<Arc<ScimState>>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim().to_string()));
    let Some(presented) = presented else { return ScimError::unauthorized().into_response() };
    let Some(caller) = st.tokens.authenticate_or_refresh(&presented, &st.store.client, &st.bindings).await else {
        return ScimError::unauthorized().into_response();
    };
    if let Err(wait) = st.limiter.check(&caller.token_name) {
        return ScimError::too_many_requests(wait).into_response();
    }
    if !st.directory.synced() {
        return ScimError::unavailable("the directory is still loading").into_response();
    }
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(caller.clone());
    let response = as_scim_error(next.run(request).await).await;
    let status = response.status();
    tracing::info!(workspace = %caller.namespace, binding = %caller.binding, %method, %path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "scim request");
    st.activity.record(&caller, status, &method, &path);
    response
}

/// Rejections made by the HTTP layer (a body over the size limit, a body that
/// is not UTF-8...) become SCIM error bodies too, with their status kept.
async fn as_scim_error(response: Response) -> Response {
    let status = response.status();
    let is_scim = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(SCIM_CONTENT_TYPE.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_scim {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096).await.map(|b| String::from_utf8_lossy(&b).to_string()).unwrap_or_default();
    let detail = if text.trim().is_empty() { status.canonical_reason().unwrap_or("request refused").to_string() } else { text };
    ScimError::new(status, None, detail).into_response()
}

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

/// `POST /.search` at the root: users and groups together (RFC 7644 §3.4.3).
async fn search_all(
    State(st): State<Arc<ScimState>>,
    axum::Extension(caller): axum::Extension<super::auth::Caller>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let query = Query::parse(&super::list::search_params(&parse_body(&body)?)?)?;
    let filter = parse_filter_param(&query)?;
    let mut resources = users::matching(&st, &caller, filter.as_ref());
    resources.extend(groups::matching(&st, &caller, filter.as_ref(), !query.excludes("members")));
    let always: Vec<&str> = users::USER_ALWAYS.iter().chain(groups::GROUP_ALWAYS).copied().collect();
    Ok(scim_json(StatusCode::OK, super::list::respond(resources, &query, &always)))
}

async fn service_provider_config(State(st): State<Arc<ScimState>>) -> Response {
    scim_json(StatusCode::OK, discovery::service_provider_config(&st.base_url))
}

fn list_of(resources: Vec<Value>) -> Value {
    json!({"schemas": [super::list::LIST_SCHEMA], "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(), "Resources": resources})
}

async fn resource_types(State(st): State<Arc<ScimState>>) -> Response {
    scim_json(StatusCode::OK, list_of(discovery::resource_types(&st.base_url)))
}

async fn resource_type(
    State(st): State<Arc<ScimState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ScimError> {
    discovery::resource_types(&st.base_url)
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(|r| scim_json(StatusCode::OK, r))
        .ok_or_else(|| ScimError::not_found("ResourceType", &id))
}

async fn schemas(State(st): State<Arc<ScimState>>) -> Response {
    scim_json(StatusCode::OK, list_of(discovery::schemas(&st.base_url)))
}

async fn schema(State(st): State<Arc<ScimState>>, axum::extract::Path(id): axum::extract::Path<String>) -> Result<Response, ScimError> {
    discovery::schemas(&st.base_url)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id.as_str()))
        .map(|s| scim_json(StatusCode::OK, s))
        .ok_or_else(|| ScimError::not_found("Schema", &id))
}
