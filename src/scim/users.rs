//! `/Users`: list with filters, create, read, replace, patch, delete.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, body::Bytes};
use kube::ResourceExt;
use serde_json::Value;

use crate::api::User;
use crate::api::idp_binding::DeprovisionPolicy;
use crate::api::user::UserSpec;

use super::auth::Caller;
use super::directory::Workspace;
use super::error::ScimError;
use super::filter::{Filter, matches};
use super::list::{Query, project, respond};
use super::patch::{apply_patch, parse_patch_request};
use super::server::{ScimState, check_if_match, parse_body, parse_filter_param, resource_response, scim_json, timestamps};
use super::user_json::{USER_SCHEMA, UserMeta, scim_to_user_spec, user_to_scim};

/// Attributes returned whatever `attributes` asks (RFC 7643 `returned: always`).
pub const USER_ALWAYS: &[&str] = &["userName"];

/// How often a write that raced with another writer is retried on fresh data.
const STALE_RETRIES: usize = 3;

pub fn user_json(st: &ScimState, ws: &Workspace, user: &User) -> Value {
    let id = user.name_any();
    let (created, last_modified, version) = timestamps(&user.metadata);
    let groups = user.spec.teams.iter().filter_map(|t| ws.teams.get(t).map(|team| (t.clone(), team.spec.display_name.clone()))).collect();
    user_to_scim(&user.spec, UserMeta { id: &id, created, last_modified, version, location: format!("{}/Users/{id}", st.base_url), groups })
}

pub async fn list(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    list_with(&st, &caller, &params)
}

/// `POST .search` (RFC 7644 §3.4.3): the same query, in the body.
pub async fn search(State(st): State<Arc<ScimState>>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ScimError> {
    let params = super::list::search_params(&parse_body(&body)?)?;
    list_with(&st, &caller, &params)
}

fn list_with(st: &ScimState, caller: &Caller, params: &HashMap<String, String>) -> Result<Response, ScimError> {
    let query = Query::parse(params)?;
    let filter = parse_filter_param(&query)?;
    Ok(scim_json(StatusCode::OK, respond(matching(st, caller, filter.as_ref()), &query, USER_ALWAYS)))
}

/// The users that match `filter`, as SCIM JSON; an indexed lookup when the filter allows.
pub fn matching(st: &ScimState, caller: &Caller, filter: Option<&Filter>) -> Vec<Value> {
    st.directory.read(&caller.namespace, |ws| {
        let lookup = filter.and_then(super::server::indexed_lookup);
        let candidates: Vec<&Arc<User>> = match lookup {
            Some(("username", v)) => ws.user_by_user_name(v).into_iter().collect(),
            Some(("externalid", v)) => ws.user_by_external_id(v).into_iter().collect(),
            Some(("id", v)) => ws.users.get(v).into_iter().collect(),
            _ => ws.users.values().collect(),
        };
        candidates.into_iter().map(|u| user_json(st, ws, u)).filter(|j| filter.is_none_or(|f| matches(f, j))).collect::<Vec<_>>()
    })
}

pub async fn get(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let query = Query::parse(&params)?;
    let body = st
        .directory
        .read(&caller.namespace, |ws| ws.users.get(&id).map(|u| user_json(&st, ws, u)))
        .ok_or_else(|| ScimError::not_found("User", &id))?;
    Ok(resource_response(StatusCode::OK, project(body, &query, USER_ALWAYS)))
}

pub async fn create(State(st): State<Arc<ScimState>>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ScimError> {
    let value = parse_body(&body)?;
    let spec = scim_to_user_spec(&value, None)?;
    let _guard = st.name_locks.of("User", &spec.user_name).lock().await;
    check_unique_user_name(&st, &caller, &spec, None)?;
    let created = st.store.create_user(&caller, spec).await?;
    let body = st.directory.read(&caller.namespace, |ws| user_json(&st, ws, &created));
    Ok(resource_response(StatusCode::CREATED, body))
}

pub async fn replace(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let value = parse_body(&body)?;
    update(&st, &caller, &id, &headers, |_, current| scim_to_user_spec(&value, Some(&current.spec))).await
}

pub async fn patch(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let value = parse_body(&body)?;
    let ops = parse_patch_request(&value).map_err(|e| ScimError::bad_request(e.scim_type, e.detail))?;
    update(&st, &caller, &id, &headers, |current_json, current| {
        let patched = apply_patch(current_json, &ops, USER_SCHEMA).map_err(|e| ScimError::bad_request(e.scim_type, e.detail))?;
        scim_to_user_spec(&patched, Some(&current.spec))
    })
    .await
}

/// The shared path of PUT and PATCH: compute the new spec from the current
/// state, check it, write it, and retry on fresh data if another writer won.
async fn update(
    st: &ScimState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    next_spec: impl Fn(&Value, &User) -> Result<UserSpec, ScimError>,
) -> Result<Response, ScimError> {
    let mut last_error = None;
    for _ in 0..STALE_RETRIES {
        let (current, current_json) = st
            .directory
            .read(&caller.namespace, |ws| ws.users.get(id).map(|u| (u.clone(), user_json(st, ws, u))))
            .ok_or_else(|| ScimError::not_found("User", id))?;
        check_if_match(headers, &current.metadata)?;
        let spec = next_spec(&current_json, &current)?;
        let _guard = st.name_locks.of("User", &spec.user_name).lock().await;
        check_unique_user_name(st, caller, &spec, Some(id))?;
        if !spec.is_active() && current.spec.is_active() && caller.deprovision == DeprovisionPolicy::Delete {
            st.store.delete_user(caller, id).await?;
            let mut gone = (*current).clone();
            gone.spec = spec;
            let body = st.directory.read(&caller.namespace, |ws| user_json(st, ws, &gone));
            return Ok(scim_json(StatusCode::OK, body));
        }
        match st.store.replace_user(caller, &current, spec).await {
            Ok(updated) => {
                let body = st.directory.read(&caller.namespace, |ws| user_json(st, ws, &updated));
                return Ok(resource_response(StatusCode::OK, body));
            }
            Err(e) if e.status == StatusCode::PRECONDITION_FAILED => {
                st.store.reload_user(&caller.namespace, id).await?;
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ScimError::unavailable("the user kept changing; try again")))
}

pub async fn delete(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let current = st.directory.read(&caller.namespace, |ws| ws.users.get(&id).cloned()).ok_or_else(|| ScimError::not_found("User", &id))?;
    check_if_match(&headers, &current.metadata)?;
    st.store.delete_user(&caller, &id).await?;
    Ok(super::server::no_content())
}

/// userName is unique per workspace, compared case-insensitively.
fn check_unique_user_name(st: &ScimState, caller: &Caller, spec: &UserSpec, except: Option<&str>) -> Result<(), ScimError> {
    let holder = st.directory.read(&caller.namespace, |ws| ws.user_by_user_name(&spec.user_name).map(|u| u.name_any()));
    match holder {
        Some(other) if Some(other.as_str()) != except => {
            Err(ScimError::uniqueness(format!("userName {:?} is already taken in this workspace", spec.user_name)))
        }
        _ => Ok(()),
    }
}
