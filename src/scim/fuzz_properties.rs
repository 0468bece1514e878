//! The properties the fuzz targets in `fuzz/` hold the SCIM parsers to: one
//! function per target, taking the bytes libFuzzer makes up and panicking when
//! a property fails (a panic is how libFuzzer learns of a bug).
//!
//! They live in the crate rather than in `fuzz/` so that the corpus replay in
//! `make test` (stable toolchain, no libFuzzer) checks exactly what the fuzzer
//! checked. Each calls the same functions the request handlers call, on a
//! user and a group shaped like what Entra ID provisions.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use axum::http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::api::team::TeamSpec;
use crate::api::user::UserSpec;
use crate::api::{Team, User};

use super::directory::Directory;
use super::error::ScimError;
use super::filter::{matches, matches_value, parse_filter};
use super::group_json::{GROUP_SCHEMA, GroupMeta, group_to_scim, scim_to_group};
use super::member_patch::MemberDelta;
use super::patch::{PatchOpKind, PatchOperation, apply_patch, parse_patch_request};
use super::path::parse_path;
use super::schema::{check_patch_operations, check_patch_path};
use super::user_json::{ENTERPRISE_SCHEMA, USER_SCHEMA, UserMeta, scim_to_user_spec, user_to_scim};
use super::{groups, users};

/// One target's check of one input: it returns, or panics when a property fails.
pub type Check = fn(&[u8]);

/// Every target: its name (the binary in `fuzz/` and the folder of its
/// corpus under `fuzz/corpus/`) and the check it runs on one input.
pub const TARGETS: &[(&str, Check)] =
    &[("filter", filter), ("path", path), ("patch", patch), ("user_json", user_json), ("group_json", group_json)];

const NAMESPACE: &str = "ws";
const USER_ID: &str = "u1";
const GROUP_ID: &str = "g1";
const BASE_URL: &str = "https://scim.example/scim/v2";

/// What the handlers see for one user and one group: the directory holding
/// them, and their SCIM JSON as a GET returns it.
struct Fixture {
    directory: Directory,
    user: UserSpec,
    user_json: Value,
    team: TeamSpec,
    /// Ids of the group's members.
    members: BTreeSet<String>,
    group_json: Value,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    // What Entra ID creates (string booleans, the enterprise extension), plus
    // the typed values its default mapping and Okta's add later.
    let created = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@testuser.com",
        "active": "True",
        "displayName": "BobIsAmazing",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}, {"type": "home", "value": "bob@home.example"}],
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0101"}],
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "country": "US", "primary": true}],
        "roles": [{"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}],
        ENTERPRISE_SCHEMA: {"department": "Eng", "manager": "boss-id", "employeeNumber": "42"}
    });
    let mut user = scim_to_user_spec(&created, None).unwrap_or_else(|e| panic!("the fixture user does not map: {e}"));
    user.teams = vec![GROUP_ID.to_string()];
    let team = TeamSpec { display_name: "Group1".into(), external_id: Some("g-ext".into()), description: Some("kept by PATCH".into()) };
    let other = UserSpec { user_name: "kate.libby@example.com".into(), teams: vec![GROUP_ID.into()], ..Default::default() };

    let directory = Directory::default();
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NAMESPACE.into()),
        resource_version: Some("1".into()),
        ..Default::default()
    };
    let mut object = User::new(USER_ID, user.clone());
    object.metadata = meta(USER_ID);
    directory.put_user(object);
    let mut object = User::new("u2", other);
    object.metadata = meta("u2");
    directory.put_user(object);
    let mut object = Team::new(GROUP_ID, team.clone());
    object.metadata = meta(GROUP_ID);
    directory.put_team(object);

    let members: BTreeSet<String> = directory.read(NAMESPACE, |ws| ws.members_of(GROUP_ID).cloned().collect());
    let user_json = user_scim(&user, USER_ID);
    let group_json = group_scim(&team, members.iter().cloned().collect());
    Fixture { directory, user, user_json, team, members, group_json }
});

/// The user as `users::user_json` renders it.
fn user_scim(spec: &UserSpec, id: &str) -> Value {
    let groups = spec.teams.iter().map(|t| (t.clone(), "Group1".to_string())).collect();
    user_to_scim(
        spec,
        UserMeta {
            id,
            created: Some("2026-01-01T00:00:00Z".into()),
            last_modified: None,
            version: Some("W/\"1\"".into()),
            location: format!("{BASE_URL}/Users/{id}"),
            groups,
        },
    )
}

/// The group as `groups::group_json` renders it.
fn group_scim(spec: &TeamSpec, members: Vec<String>) -> Value {
    group_to_scim(
        spec,
        GroupMeta {
            id: GROUP_ID,
            created: Some("2026-01-01T00:00:00Z".into()),
            last_modified: None,
            version: Some("W/\"1\"".into()),
            location: format!("{BASE_URL}/Groups/{GROUP_ID}"),
            users_url: format!("{BASE_URL}/Users"),
            members: Some(members),
        },
    )
}

/// A request the parsers refuse must be the client's fault, said as a 400
/// with a scimType, never a 500 or a missing reason.
fn assert_client_error(e: &ScimError, input: &dyn std::fmt::Display) {
    assert!(e.status == StatusCode::BAD_REQUEST && e.scim_type.is_some(), "{input} was refused as {e}, not as a 400 with a scimType");
}

/// `filter` (the `filter` query parameter and `.search` body, RFC 7644 §3.4.2.2):
/// - a refusal points at a character inside the input;
/// - what parses renders as text that parses back to the same filter
///   (the service renders filters in errors and PATCH messages);
/// - evaluating it against a user, a group and their elements returns;
/// - the index lookup the list handlers start with never hides a resource
///   that the filter matches (else an IdP would not find a user and create it twice).
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = match parse_filter(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(e.position <= text.chars().count(), "{text:?}: error position {} is past the end", e.position);
            return;
        }
    };
    let rendered = parsed.to_string();
    assert_eq!(parse_filter(&rendered).as_ref(), Ok(&parsed), "{text:?} rendered as {rendered:?}");

    let fixture = &*FIXTURE;
    if matches(&parsed, &fixture.user_json) {
        let found = fixture
            .directory
            .read(NAMESPACE, |ws| users::candidates(ws, Some(&parsed)).iter().any(|u| u.metadata.name.as_deref() == Some(USER_ID)));
        assert!(found, "{text:?} matches the user but the index lookup leaves it out");
    }
    if matches(&parsed, &fixture.group_json) {
        let found = fixture
            .directory
            .read(NAMESPACE, |ws| groups::candidates(ws, Some(&parsed)).iter().any(|t| t.metadata.name.as_deref() == Some(GROUP_ID)));
        assert!(found, "{text:?} matches the group but the index lookup leaves it out");
    }
    // PATCH filters are evaluated one element at a time, with the parent deciding case-exactness.
    for (parent, resource) in [("emails", &fixture.user_json), ("addresses", &fixture.user_json), ("members", &fixture.group_json)] {
        for element in resource[parent].as_array().into_iter().flatten() {
            let _ = matches_value(&parsed, element, parent);
        }
    }
}

/// `path` (the `path` of a PATCH operation, RFC 7644 §3.5.2):
/// - what parses renders as text that parses back to the same path;
/// - checking it against the announced schemas returns;
/// - removing or replacing at it, on the user and on the group, returns.
pub fn path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = parse_path(text) else { return };
    let rendered = parsed.to_string();
    assert_eq!(parse_path(&rendered).as_ref(), Ok(&parsed), "{text:?} rendered as {rendered:?}");

    let fixture = &*FIXTURE;
    for (core, resource) in [(USER_SCHEMA, &fixture.user_json), (GROUP_SCHEMA, &fixture.group_json)] {
        let _ = check_patch_path(core, &parsed);
        for (op, value) in
            [(PatchOpKind::Remove, None), (PatchOpKind::Replace, Some(json!("x"))), (PatchOpKind::Add, Some(json!({"value": "x"})))]
        {
            let ops = [PatchOperation { op, path: Some(parsed.clone()), value }];
            let _ = apply_patch(resource, &ops, core);
        }
    }
}

/// `patch` (a PATCH request body, RFC 7644 §3.5.2), through what the handlers run:
/// - on the user (`users::patched_spec`): either a 400 with a scimType, or a
///   spec that has a userName, keeps what SCIM does not own, and maps to
///   SCIM JSON and back unchanged (and through the CRD's serialization);
/// - on the group: the same; and when the member fast path takes the
///   request, the general engine accepts it too and ends with the same
///   members and the same spec.
pub fn patch(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(ops) = parse_patch_request(&body) else { return };
    assert!(!ops.is_empty(), "{body}: a PATCH without operations was accepted");
    let fixture = &*FIXTURE;

    match users::patched_spec(&fixture.user_json, &ops, &fixture.user) {
        Err(e) => assert_client_error(&e, &body),
        Ok(spec) => {
            assert!(!spec.user_name.trim().is_empty(), "{body}: the patched user has no userName");
            assert_eq!(
                (&spec.teams, spec.external),
                (&fixture.user.teams, fixture.user.external),
                "{body}: PATCH changed what SCIM does not own"
            );
            assert_user_round_trips(&spec, &body);
        }
    }

    if check_patch_operations(GROUP_SCHEMA, &ops).is_err() {
        return;
    }
    let general = groups::patched_group(&fixture.group_json, &ops, &fixture.team);
    match &general {
        Err(e) => assert_client_error(e, &body),
        Ok((spec, members)) => {
            assert!(!spec.display_name.trim().is_empty(), "{body}: the patched group has no displayName");
            assert_eq!(spec.description, fixture.team.description, "{body}: PATCH dropped the admin's description");
            assert!(members.iter().all(|m| !m.is_empty()), "{body}: an empty member id");
            assert_group_round_trips(spec, members, &body);
        }
    }
    if let Some(delta) = MemberDelta::from_ops(&ops) {
        let (added, removed) = delta.resolve(|id| fixture.members.contains(id));
        let mut fast = fixture.members.clone();
        fast.extend(added);
        for id in &removed {
            fast.remove(id);
        }
        let Ok((spec, members)) = general else {
            panic!("{body}: the member fast path takes it but the general engine refuses it: {general:?}")
        };
        assert_eq!(
            fast,
            members.into_iter().collect::<BTreeSet<_>>(),
            "{body}: the fast path and the general engine disagree on the members"
        );
        assert_eq!(spec, fixture.team, "{body}: a members-only PATCH changed the group itself");
    }
}

/// `user_json` (the body of POST and PUT /Users): either a 400 with a
/// scimType, or a spec that has a userName, takes what SCIM does not own from
/// the stored user, and maps to SCIM JSON and back unchanged.
pub fn user_json(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let spec = match scim_to_user_spec(&body, None) {
        Ok(spec) => spec,
        Err(e) => return assert_client_error(&e, &body),
    };
    assert!(!spec.user_name.trim().is_empty(), "{body}: a user without a userName was accepted");
    assert_user_round_trips(&spec, &body);
    // A PUT keeps membership and the external flag from the stored user.
    let keep = UserSpec { teams: vec![GROUP_ID.into()], external: true, ..spec.clone() };
    let replaced = scim_to_user_spec(&body, Some(&keep)).unwrap_or_else(|e| panic!("{body}: accepted without keep, refused with it: {e}"));
    assert_eq!(replaced, UserSpec { teams: keep.teams.clone(), external: true, ..spec }, "{body}: a PUT mapped differently");
}

/// `group_json` (the body of POST and PUT /Groups): either a 400 with a
/// scimType, or a spec with a displayName and non-empty member ids that maps
/// to SCIM JSON and back unchanged and keeps the admin's description.
pub fn group_json(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let (spec, members) = match scim_to_group(&body, Some(&FIXTURE.team)) {
        Ok(mapped) => mapped,
        Err(e) => return assert_client_error(&e, &body),
    };
    assert!(!spec.display_name.trim().is_empty(), "{body}: a group without a displayName was accepted");
    assert!(members.iter().all(|m| !m.is_empty()), "{body}: an empty member id was accepted");
    assert_eq!(spec.description, FIXTURE.team.description, "{body}: a PUT dropped the admin's description");
    assert_group_round_trips(&spec, &members, &body);
}

/// What is stored reads back the same through SCIM (a GET, then the IdP's
/// PUT of it) and through the CRD's serialization (the API server).
fn assert_user_round_trips(spec: &UserSpec, input: &Value) {
    let rendered = user_scim(spec, USER_ID);
    match scim_to_user_spec(&rendered, Some(spec)) {
        Ok(back) => assert_eq!(&back, spec, "{input}: stored, rendered as {rendered}, read back differently"),
        Err(e) => panic!("{input}: stored, rendered as {rendered}, refused on the way back: {e}"),
    }
    let stored = serde_json::to_value(spec).unwrap_or_else(|e| panic!("{input}: the spec does not serialize: {e}"));
    let back: UserSpec = serde_json::from_value(stored).unwrap_or_else(|e| panic!("{input}: the stored spec does not deserialize: {e}"));
    assert_eq!(&back, spec, "{input}: the spec changed through the CRD's serialization");
}

fn assert_group_round_trips(spec: &TeamSpec, members: &[String], input: &Value) {
    let rendered = group_scim(spec, members.to_vec());
    match scim_to_group(&rendered, Some(spec)) {
        Ok((back, back_members)) => {
            assert_eq!((&back, back_members.as_slice()), (spec, members), "{input}: stored, rendered as {rendered}, read back differently")
        }
        Err(e) => panic!("{input}: stored, rendered as {rendered}, refused on the way back: {e}"),
    }
    let stored = serde_json::to_value(spec).unwrap_or_else(|e| panic!("{input}: the spec does not serialize: {e}"));
    let back: TeamSpec = serde_json::from_value(stored).unwrap_or_else(|e| panic!("{input}: the stored spec does not deserialize: {e}"));
    assert_eq!(&back, spec, "{input}: the spec changed through the CRD's serialization");
}
