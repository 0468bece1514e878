//! The HTTP front of the SCIM sidecar: which handler answers which route, and
//! the layers every SCIM request passes first (body limits, bearer
//! authentication, rate limiting, SCIM error bodies for HTTP-layer refusals).
//! The handlers' shared toolkit is `handler_kit`; their shared state is `state`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::ScimError;
use super::state::ScimState;
use super::{SCIM_CONTENT_TYPE, discovery, groups, search, users};

pub fn router(state: Arc<ScimState>, max_body_bytes: usize) -> Router {
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(discovery::get_service_provider_config))
        .route("/ResourceTypes", get(discovery::list_resource_types))
        .route("/ResourceTypes/{id}", get(discovery::get_resource_type))
        .route("/Schemas", get(discovery::list_schemas))
        .route("/Schemas/{id}", get(discovery::get_schema))
        .route("/Users", get(users::list).post(users::create))
        .route("/.search", post(search::search_all))
        .route("/Users/.search", post(users::search))
        .route("/Groups/.search", post(groups::search))
        .route("/Users/{id}", get(users::get).put(users::replace).patch(users::patch).delete(users::delete))
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/{id}", get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete))
        .fallback(|| async { ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint") })
        // Inside authentication, so an oversized request is counted as the caller's failed request.
        .layer(middleware::from_fn(move |request: Request, next: Next| refuse_declared_oversize(request, next, max_body_bytes)))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Outermost, so refusals by authentication, rate limit and body size are counted too.
        .layer(middleware::from_fn_with_state(state.metrics.clone(), super::metrics::count_requests));
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
