//! `POST /.search` at the root (RFC 7644 §3.4.3): users and groups in one list.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::Caller;
use super::error::ScimError;
use super::handler_kit::{parse_body, parse_filter_param, scim_json};
use super::list::{Query, respond, search_params};
use super::state::ScimState;
use super::{groups, users};

/// Users and groups together, filtered, sorted and paged as one list.
pub async fn search_all(
    State(st): State<Arc<ScimState>>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let query = Query::parse(&search_params(&parse_body(&body)?)?)?;
    let filter = parse_filter_param(&query)?;
    let mut resources = users::matching(&st, &caller, filter.as_ref());
    resources.extend(groups::matching(&st, &caller, filter.as_ref(), !query.excludes("members")));
    let always: Vec<&str> = users::USER_ALWAYS.iter().chain(groups::GROUP_ALWAYS).copied().collect();
    Ok(scim_json(StatusCode::OK, respond(resources, &query, &always)))
}
