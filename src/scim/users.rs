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
use super::handler_kit::{
    check_if_match, indexed_lookup, no_content, parse_body, parse_filter_param, resource_response, scim_json, timestamps,
};
use super::list::{Query, project, respond};
use super::patch::{PatchOperation, apply_patch, parse_patch_request};
use super::schema::check_patch_operations;
use super::state::ScimState;
use super::user_json::{USER_SCHEMA, UserMeta, scim_to_user_spec, user_to_scim};

/// Attributes returned whatever `attributes` asks (RFC 7643 `returned: always`).
pub const USER_ALWAYS: &[&str] = &["userName"];

/// How often a write that raced with another writer is retried on fresh data.
const STALE_RETRIES: usize = 3;

pub fn user_json(st: &ScimState, ws: &Workspace, user: &User) -> Value {
    let id = user.name_any();
    let (created, last_modified, version) = timestamps(&user.metadata);
    let groups = user.spec.teams.iter().filter_map(|t| ws.group(t).map(|team| (t.clone(), team.spec.display_name.clone()))).collect();
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
        candidates(ws, filter)
            .into_iter()
            .map(|u| user_json(st, ws, u))
            .filter(|j| filter.is_none_or(|f| matches(f, j)))
            .collect::<Vec<_>>()
    })
}

/// The users `filter` can match: one index lookup when the filter allows,
/// else all. Must never leave out a user the filter matches.
pub fn candidates<'w>(ws: &'w Workspace, filter: Option<&Filter>) -> Vec<&'w Arc<User>> {
    match filter.and_then(indexed_lookup) {
        Some(("username", v)) => ws.user_by_user_name(v).into_iter().collect(),
        Some(("externalid", v)) => ws.user_by_external_id(v).into_iter().collect(),
        Some(("id", v)) => ws.users.get(v).into_iter().collect(),
        _ => ws.users.values().collect(),
    }
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
    update(&st, &caller, &id, &headers, |current_json, current| patched_spec(current_json, &ops, &current.spec)).await
}

/// The spec a PATCH leads to: the operations are checked against the announced
/// schemas (an attribute they do not define would be patched in and then
/// dropped, so it is refused), applied to the user's SCIM form, and read back.
pub fn patched_spec(current_json: &Value, ops: &[PatchOperation], current: &UserSpec) -> Result<UserSpec, ScimError> {
    check_patch_operations(USER_SCHEMA, ops).map_err(|(i, e)| e.in_patch(i))?;
    let patched = apply_patch(current_json, ops, USER_SCHEMA).map_err(|e| ScimError::bad_request(e.scim_type, e.detail))?;
    scim_to_user_spec(&patched, Some(current))
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
    Ok(no_content())
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::user_json::ENTERPRISE_SCHEMA;

    fn as_scim(spec: &UserSpec) -> Value {
        let meta =
            UserMeta { id: "u1", created: None, last_modified: None, version: None, location: "https://x/Users/u1".into(), groups: vec![] };
        user_to_scim(spec, meta)
    }

    fn created(body: Value) -> UserSpec {
        scim_to_user_spec(&body, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// PATCHes `spec` with `ops` as the handler does, then reads it back as a GET would.
    fn try_patch(spec: &UserSpec, ops: Value) -> Result<(UserSpec, Value), ScimError> {
        let ops = parse_patch_request(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}))
            .map_err(|e| ScimError::bad_request(e.scim_type, e.detail))?;
        let next = patched_spec(&as_scim(spec), &ops, spec)?;
        let got = as_scim(&next);
        Ok((next, got))
    }

    fn patch(spec: &UserSpec, ops: Value) -> (UserSpec, Value) {
        try_patch(spec, ops.clone()).unwrap_or_else(|e| panic!("{ops}: {e}"))
    }

    fn bare() -> UserSpec {
        created(json!({"userName": "bjensen@example.com"}))
    }

    #[test]
    fn simple_attributes_add_replace_remove_with_and_without_path() {
        for attr in ["nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone", "displayName", "externalId"]
        {
            let (spec, got) = patch(&bare(), json!([{"op": "Add", "path": attr, "value": "first"}]));
            assert_eq!(got[attr], "first", "add {attr}");
            let (spec, got) = patch(&spec, json!([{"op": "Replace", "path": attr, "value": "second"}]));
            assert_eq!(got[attr], "second", "replace {attr}");
            // Okta and Entra's path-less form, lower-case op, differently cased key.
            let (spec, got) = patch(&spec, json!([{"op": "replace", "value": {attr.to_uppercase(): "third"}}]));
            assert_eq!(got[attr], "third", "path-less replace {attr}");
            let (_, got) = patch(&spec, json!([{"op": "Remove", "path": attr}]));
            assert!(got.get(attr).is_none(), "remove {attr}: {got}");
        }
    }

    #[test]
    fn name_parts_add_replace_remove() {
        let parts = ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"];
        let mut spec = bare();
        for part in parts {
            (spec, _) = patch(&spec, json!([{"op": "Add", "path": format!("name.{part}"), "value": part}]));
        }
        let got = as_scim(&spec);
        for part in parts {
            assert_eq!(got["name"][part], part, "{got}");
        }
        // A PUT-like no-path value merges; Entra's dotted key too.
        let (spec, got) = patch(
            &spec,
            json!([{"op": "replace", "value": {"name": {"middleName": "Q"}}}, {"op": "Replace", "value": {"name.honorificSuffix": "III"}}]),
        );
        assert_eq!((got["name"]["middleName"].as_str(), got["name"]["honorificSuffix"].as_str()), (Some("Q"), Some("III")));
        assert_eq!(got["name"]["givenName"], "givenName", "the other parts stay");
        let (_, got) = patch(&spec, json!([{"op": "remove", "path": "name.middleName"}, {"op": "remove", "path": "name.honorificPrefix"}]));
        assert!(got["name"].get("middleName").is_none() && got["name"].get("honorificPrefix").is_none(), "{got}");
        assert_eq!(got["name"]["familyName"], "familyName");
    }

    #[test]
    fn entra_typed_values_add_replace_remove() {
        // What Entra's default mapping sends for phones and the work address.
        let (spec, got) = patch(
            &bare(),
            json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0101"},
                {"op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "+1 555 0102"},
                {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
                {"op": "Add", "path": "addresses[type eq \"work\"].region", "value": "IL"},
                {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "62701"},
                {"op": "Add", "path": "addresses[type eq \"work\"].country", "value": "US"},
                {"op": "Add", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St, Springfield"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "b@work.example"}
            ]),
        );
        assert_eq!(
            got["phoneNumbers"],
            json!([{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0101"}, {"type": "fax", "value": "+1 555 0102"}])
        );
        assert_eq!(
            got["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "region": "IL", "postalCode": "62701", "country": "US", "formatted": "1 Main St, Springfield"}])
        );
        let (spec, got) = patch(
            &spec,
            json!([
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0199"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": "62702"}
            ]),
        );
        assert_eq!(got["phoneNumbers"][1]["value"], "+1 555 0199");
        assert_eq!(got["addresses"][0]["postalCode"], "62702");
        let (_, got) = patch(
            &spec,
            json!([
                {"op": "Remove", "path": "phoneNumbers[type eq \"fax\"]"},
                {"op": "Remove", "path": "addresses[type eq \"work\"].region"}
            ]),
        );
        assert_eq!(got["phoneNumbers"].as_array().map(Vec::len), Some(2), "{got}");
        assert!(got["addresses"][0].get("region").is_none(), "{got}");
    }

    #[test]
    fn multi_valued_families_add_replace_remove() {
        for attr in ["emails", "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates"] {
            let one = json!({"value": format!("{attr}-1"), "type": "work", "primary": true});
            let two = json!({"value": format!("{attr}-2"), "display": "Two"});
            let (spec, got) = patch(&bare(), json!([{"op": "add", "path": attr, "value": [one.clone()]}]));
            assert_eq!(got[attr], json!([one.clone()]), "add {attr}");
            // Okta's path-less add appends.
            let (spec, got) = patch(&spec, json!([{"op": "add", "value": {attr: [two.clone()]}}]));
            let mut two_back = two.clone();
            if attr == "emails" {
                two_back["primary"] = json!(false); // an email's primary is always stated
            }
            assert_eq!(got[attr], json!([one.clone(), two_back.clone()]), "path-less add {attr}");
            let (spec, got) = patch(&spec, json!([{"op": "Remove", "path": format!("{attr}[value eq \"{attr}-1\"]")}]));
            assert_eq!(got[attr], json!([two_back.clone()]), "remove {attr}");
            let (spec, got) = patch(&spec, json!([{"op": "Replace", "path": attr, "value": [one.clone()]}]));
            assert_eq!(got[attr], json!([one.clone()]), "replace {attr}");
            let (_, got) = patch(&spec, json!([{"op": "remove", "path": attr}]));
            assert!(got.get(attr).is_none(), "remove all {attr}");
        }
    }

    #[test]
    fn enterprise_attributes_add_replace_remove() {
        let urn = ENTERPRISE_SCHEMA;
        let mut spec = bare();
        for attr in ["employeeNumber", "costCenter", "organization", "division", "department"] {
            (spec, _) = patch(&spec, json!([{"op": "Add", "path": format!("{urn}:{attr}"), "value": attr}]));
        }
        (spec, _) = patch(&spec, json!([{"op": "Add", "path": format!("{urn}:manager"), "value": "boss-id"}]));
        let got = as_scim(&spec);
        assert_eq!(
            got[urn],
            json!({"employeeNumber": "employeeNumber", "costCenter": "costCenter", "organization": "organization",
                   "division": "division", "department": "department", "manager": {"value": "boss-id"}})
        );
        assert!(got["schemas"].as_array().is_some_and(|s| s.contains(&json!(urn))));
        // Okta's path-less form, with the manager's display name.
        let (spec, got) = patch(
            &spec,
            json!([{"op": "replace", "value": {urn: {"costCenter": "4130", "manager": {"value": "boss-2", "displayName": "Boss Two"}}}}]),
        );
        assert_eq!((got[urn]["costCenter"].as_str(), got[urn]["division"].as_str()), (Some("4130"), Some("division")));
        assert_eq!(got[urn]["manager"], json!({"value": "boss-2", "displayName": "Boss Two"}));
        let (spec, got) = patch(&spec, json!([{"op": "Replace", "path": format!("{urn}:manager.displayName"), "value": "B2"}]));
        assert_eq!(got[urn]["manager"], json!({"value": "boss-2", "displayName": "B2"}));
        let (spec, got) =
            patch(&spec, json!([{"op": "Remove", "path": format!("{urn}:manager")}, {"op": "remove", "path": format!("{urn}:division")}]));
        assert!(got[urn].get("manager").is_none() && got[urn].get("division").is_none(), "{got}");
        let (_, got) = patch(&spec, json!([{"op": "remove", "path": urn}]));
        assert!(got.get(urn).is_none() && !got["schemas"].as_array().is_some_and(|s| s.contains(&json!(urn))), "{got}");
    }

    #[test]
    fn what_cannot_be_stored_is_refused_not_dropped() {
        let spec = created(json!({"userName": "a", "nickName": "A"}));
        for (ops, scim_type) in [
            (json!([{"op": "add", "path": "badge", "value": "7"}]), "invalidPath"),
            (json!([{"op": "Replace", "value": {"nickName": "B", "badge": "7"}}]), "invalidPath"),
            (json!([{"op": "add", "path": "name.nickName", "value": "x"}]), "invalidPath"),
            (json!([{"op": "add", "path": "emails[type eq \"work\"].label", "value": "x"}]), "invalidPath"),
            (json!([{"op": "add", "path": format!("{ENTERPRISE_SCHEMA}:badge"), "value": "7"}]), "invalidPath"),
            (json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge", "value": "7"}]), "invalidPath"),
            (json!([{"op": "remove", "path": "badge"}]), "invalidPath"),
            (json!([{"op": "add", "path": "name", "value": {"givenName": "A", "nickName": "x"}}]), "invalidValue"),
            (json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]), "mutability"),
            (json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].display", "value": "desk"}]), "invalidValue"),
        ] {
            let e = try_patch(&spec, ops.clone()).expect_err("refused");
            assert_eq!(e.scim_type, Some(scim_type), "{ops}: {e}");
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        }
        // And a refused PATCH changes nothing: the nickName from before is still there.
        let (_, got) = patch(&spec, json!([{"op": "replace", "path": "title", "value": "T"}]));
        assert_eq!(got["nickName"], "A");
    }

    #[test]
    fn a_password_in_a_patch_is_accepted_and_never_stored() {
        let (spec, got) = patch(&bare(), json!([{"op": "replace", "value": {"password": "p4ss", "nickName": "B"}}]));
        assert_eq!(got["nickName"], "B");
        assert!(got.get("password").is_none());
        assert!(!serde_json::to_string(&spec).unwrap_or_default().contains("p4ss"));
    }
}
