//! `/Groups`: IdP groups become `Team`s; their members live on the `User`s, so a
//! membership change writes only the users it concerns.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, body::Bytes};
use kube::ResourceExt;
use serde_json::Value;

use crate::api::Team;
use crate::api::team::TeamSpec;

use super::auth::Caller;
use super::directory::Workspace;
use super::error::ScimError;
use super::filter::{Filter, matches};
use super::group_json::{GROUP_SCHEMA, GroupMeta, group_to_scim, scim_to_group};
use super::handler_kit::{
    check_if_match, indexed_lookup, no_content, parse_body, parse_filter_param, resource_response, scim_json, timestamps,
};
use super::list::{Query, project, respond};
use super::member_patch::MemberDelta;
use super::patch::{PatchOperation, apply_patch, parse_patch_request};
use super::schema::check_patch_operations;
use super::state::ScimState;
use super::unfinished::is_unfinished;

/// Attributes returned whatever `attributes` asks (RFC 7643 `returned: always`).
pub const GROUP_ALWAYS: &[&str] = &["displayName"];

pub fn group_json(st: &ScimState, ws: &Workspace, team: &Team, with_members: bool) -> Value {
    let id = team.name_any();
    let (created, last_modified, version) = timestamps(&team.metadata);
    let members = with_members.then(|| ws.members_of(&id).filter(|u| ws.users.contains_key(*u)).cloned().collect());
    group_to_scim(
        &team.spec,
        GroupMeta {
            id: &id,
            created,
            last_modified,
            version,
            location: format!("{}/Groups/{id}", st.base_url),
            users_url: format!("{}/Users", st.base_url),
            members,
        },
    )
}

/// Whether evaluating the filter needs the member list (costly for big groups).
fn mentions_members(filter: &Filter) -> bool {
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) | Filter::ValuePath { path, .. } => path.attr.eq_ignore_ascii_case("members"),
        Filter::And(a, b) | Filter::Or(a, b) => mentions_members(a) || mentions_members(b),
        Filter::Not(f) => mentions_members(f),
    }
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
    let with_members = !query.excludes("members") || filter.as_ref().is_some_and(mentions_members);
    Ok(scim_json(StatusCode::OK, respond(matching(st, caller, filter.as_ref(), with_members), &query, GROUP_ALWAYS)))
}

/// The groups that match `filter`, as SCIM JSON; an indexed lookup when the filter allows.
pub fn matching(st: &ScimState, caller: &Caller, filter: Option<&Filter>, with_members: bool) -> Vec<Value> {
    st.directory.read(&caller.namespace, |ws| {
        candidates(ws, filter)
            .into_iter()
            .filter(|t| !is_unfinished(t))
            .map(|t| group_json(st, ws, t, with_members))
            .filter(|j| filter.is_none_or(|f| matches(f, j)))
            .collect::<Vec<_>>()
    })
}

/// The teams `filter` can match: one index lookup when the filter allows,
/// else all. Must never leave out a team the filter matches.
pub fn candidates<'w>(ws: &'w Workspace, filter: Option<&Filter>) -> Vec<&'w Arc<Team>> {
    match filter.and_then(indexed_lookup) {
        Some(("displayname", v)) => ws.team_by_display_name(v).into_iter().collect(),
        Some(("externalid", v)) => ws.team_by_external_id(v).into_iter().collect(),
        Some(("id", v)) => ws.teams.get(v).into_iter().collect(),
        _ => ws.teams.values().collect(),
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
        .read(&caller.namespace, |ws| ws.group(&id).map(|t| group_json(&st, ws, t, !query.excludes("members"))))
        .ok_or_else(|| ScimError::not_found("Group", &id))?;
    Ok(resource_response(StatusCode::OK, project(body, &query, GROUP_ALWAYS)))
}

/// POST: a new group, or the finishing of an earlier create of the same name
/// that never got to answer (see `unfinished`). With members, the Team stays
/// marked unfinished, and invisible to the IdP, until every member is written.
pub async fn create(State(st): State<Arc<ScimState>>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ScimError> {
    let value = parse_body(&body)?;
    let (spec, members) = scim_to_group(&value, None)?;
    let members: BTreeSet<String> = members.into_iter().collect();
    let _guard = st.name_locks.of("Group", &spec.display_name).lock().await;
    let earlier =
        st.directory.read(&caller.namespace, |ws| ws.team_by_display_name(&spec.display_name).filter(|t| is_unfinished(t)).cloned());
    check_group(&st, &caller, &spec, &members, earlier.as_ref().map(|t| t.name_any()).as_deref())?;
    let team = match earlier {
        // Never answered, so this request's fields and members are the ones that count.
        Some(earlier) => replace_spec(&st, &caller, &earlier, spec).await?,
        None => st.store.create_team(&caller, spec, !members.is_empty()).await?,
    };
    let id = team.name_any();
    let current: BTreeSet<String> = st.directory.read(&caller.namespace, |ws| ws.members_of(&id).cloned().collect());
    let add: Vec<String> = members.difference(&current).cloned().collect();
    let remove: Vec<String> = current.difference(&members).cloned().collect();
    st.store.set_membership(&caller, &id, &add, &remove).await?;
    let team = if is_unfinished(&team) { st.store.finish_team(&caller, &id).await? } else { team };
    let body = st.directory.read(&caller.namespace, |ws| group_json(&st, ws, &team, true));
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
    let team = update(&st, &caller, &id, &headers, |_, current| scim_to_group(&value, Some(&current.spec))).await?;
    let body = st.directory.read(&caller.namespace, |ws| group_json(&st, ws, &team, true));
    Ok(resource_response(StatusCode::OK, body))
}

pub async fn patch(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let query = Query::parse(&params)?;
    let value = parse_body(&body)?;
    let ops = parse_patch_request(&value).map_err(|e| ScimError::bad_request(e.scim_type, e.detail))?;
    // An attribute the schemas do not announce would be patched in and then dropped: refuse it instead.
    check_patch_operations(GROUP_SCHEMA, &ops).map_err(|(i, e)| e.in_patch(i))?;
    let team = match MemberDelta::from_ops(&ops) {
        Some(delta) => change_members(&st, &caller, &id, &headers, &delta).await?,
        None => update(&st, &caller, &id, &headers, |current_json, current| patched_group(current_json, &ops, &current.spec)).await?,
    };
    // Entra ID and Okta accept 204; a caller that names attributes gets them.
    if query.attributes.is_empty() {
        return Ok(no_content());
    }
    let body = st.directory.read(&caller.namespace, |ws| group_json(&st, ws, &team, !query.excludes("members")));
    Ok(resource_response(StatusCode::OK, project(body, &query, GROUP_ALWAYS)))
}

/// The spec and member ids a PATCH leads to on the general path (anything
/// [`MemberDelta`] does not take): the operations, already checked against the
/// announced schemas, are applied to the group's SCIM form and read back.
pub fn patched_group(current_json: &Value, ops: &[PatchOperation], current: &TeamSpec) -> Result<(TeamSpec, Vec<String>), ScimError> {
    let patched = apply_patch(current_json, ops, GROUP_SCHEMA).map_err(|e| ScimError::bad_request(e.scim_type, e.detail))?;
    scim_to_group(&patched, Some(current))
}

/// A PATCH that only adds or removes named members: the membership of just
/// those users is looked up and written; the group's member list is never built.
async fn change_members(
    st: &ScimState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    delta: &MemberDelta,
) -> Result<Arc<Team>, ScimError> {
    let (team, added, removed) = st
        .directory
        .read(&caller.namespace, |ws| {
            ws.group(id).map(|team| {
                let (added, removed) = delta.resolve(|user| ws.is_member(id, user));
                (team.clone(), added, removed)
            })
        })
        .ok_or_else(|| ScimError::not_found("Group", id))?;
    check_if_match(headers, &team.metadata)?;
    check_group(st, caller, &team.spec, &added.iter().cloned().collect(), Some(id))?;
    st.store.set_membership(caller, id, &added, &removed).await?;
    Ok(team)
}

/// PUT and PATCH: the new spec and member set from the current state; the
/// Team is rewritten only if its own fields changed, and only the users whose
/// membership changed are written.
async fn update(
    st: &ScimState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    next: impl Fn(&Value, &Team) -> Result<(TeamSpec, Vec<String>), ScimError>,
) -> Result<Arc<Team>, ScimError> {
    let (current, current_json, old_members) = st
        .directory
        .read(&caller.namespace, |ws| {
            ws.group(id).map(|t| (t.clone(), group_json(st, ws, t, true), ws.members_of(id).cloned().collect::<BTreeSet<String>>()))
        })
        .ok_or_else(|| ScimError::not_found("Group", id))?;
    check_if_match(headers, &current.metadata)?;
    let (spec, members) = next(&current_json, &current)?;
    let members: BTreeSet<String> = members.into_iter().collect();
    let _guard = st.name_locks.of("Group", &spec.display_name).lock().await;
    let added: Vec<String> = members.difference(&old_members).cloned().collect();
    check_group(st, caller, &spec, &added.iter().cloned().collect(), Some(id))?;
    let removed: Vec<String> = old_members.difference(&members).cloned().collect();
    let team = replace_spec(st, caller, &current, spec).await?;
    st.store.set_membership(caller, id, &added, &removed).await?;
    Ok(team)
}

/// A binding with `groupNamePrefixes` takes only groups named with one of them
/// (compared ignoring ASCII case, as Entra ID and Okta compare group names).
/// Any other group is refused whole, with a SCIM error the IdP shows in its
/// provisioning log: a Team that is only half there (made, but its members
/// dropped) would be a silent loss. Teams made before the prefixes were set
/// stay; they take no new name or members that the prefixes refuse.
fn check_group_name(name: &str, prefixes: &[String]) -> Result<(), ScimError> {
    let accepted = prefixes.is_empty()
        || prefixes.iter().any(|p| name.len() >= p.len() && name.is_char_boundary(p.len()) && name[..p.len()].eq_ignore_ascii_case(p));
    if accepted {
        return Ok(());
    }
    Err(ScimError::invalid_value(format!(
        "this workspace takes only groups whose name starts with {} (IdPBinding spec.groupNamePrefixes); {name:?} does not: assign only those groups to the app in the identity provider",
        prefixes.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(" or ")
    )))
}

/// Writes the Team's spec; if someone else changed the Team meanwhile (the
/// operator's status), once more on a fresh copy: the IdP-owned fields are ours.
async fn replace_spec(st: &ScimState, caller: &Caller, current: &Team, spec: TeamSpec) -> Result<Arc<Team>, ScimError> {
    match st.store.replace_team(caller, current, spec.clone()).await {
        Err(e) if e.status == StatusCode::PRECONDITION_FAILED => {
            let fresh = st.store.reload_team(&caller.namespace, &current.name_any()).await?;
            st.store.replace_team(caller, &fresh, spec).await
        }
        other => other,
    }
}

pub async fn delete(
    State(st): State<Arc<ScimState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let current = st.directory.read(&caller.namespace, |ws| ws.group(&id).cloned()).ok_or_else(|| ScimError::not_found("Group", &id))?;
    check_if_match(&headers, &current.metadata)?;
    st.store.delete_team(&caller, &id).await?;
    Ok(no_content())
}

/// The group's name is one the binding accepts (`groupNamePrefixes`), unique
/// per workspace (case-insensitively), and every new member is a user of it.
fn check_group(
    st: &ScimState,
    caller: &Caller,
    spec: &TeamSpec,
    new_members: &BTreeSet<String>,
    except: Option<&str>,
) -> Result<(), ScimError> {
    check_group_name(&spec.display_name, &caller.group_name_prefixes)?;
    st.directory.read(&caller.namespace, |ws| {
        if let Some(other) = ws.team_by_display_name(&spec.display_name)
            && Some(other.name_any().as_str()) != except
        {
            return Err(ScimError::uniqueness(format!("a group named {:?} already exists in this workspace", spec.display_name)));
        }
        let unknown: Vec<&String> = new_members.iter().filter(|m| !ws.users.contains_key(*m)).take(10).collect();
        if !unknown.is_empty() {
            return Err(ScimError::invalid_value(format!("members {unknown:?} are not users of this workspace")));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_with_prefixes_takes_only_groups_named_with_one() {
        let prefixes = vec!["rc-".to_string(), "Team ".to_string()];
        assert!(check_group_name("rc-engineering", &prefixes).is_ok());
        assert!(check_group_name("RC-Design", &prefixes).is_ok(), "case is ignored, as the IdPs do");
        assert!(check_group_name("team sales", &prefixes).is_ok());
        let refused = check_group_name("All Staff", &prefixes).expect_err("no prefix");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.detail.contains("\"rc-\" or \"Team \"") && refused.detail.contains("All Staff"), "{}", refused.detail);
        assert!(check_group_name("rc", &prefixes).is_err(), "shorter than the prefix");
        assert!(check_group_name("ré-x", &["r\u{e9}".to_string()]).is_ok());
        assert!(check_group_name("é", &["e".to_string()]).is_err(), "a prefix cut inside a character is no match");
        assert!(check_group_name("anything", &[]).is_ok(), "no prefixes: every group");
    }
}
