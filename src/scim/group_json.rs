//! A `Team` as the SCIM core Group schema, and back. Members are not stored on
//! the Team (they live on each User's `spec.teams`); they are passed in.

use serde_json::{Map, Value, json};

use crate::api::team::TeamSpec;

use super::error::ScimError;
use super::user_json::{get_ci, meta_json};

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub struct GroupMeta<'a> {
    pub id: &'a str,
    pub created: Option<String>,
    pub last_modified: Option<String>,
    pub version: Option<String>,
    pub location: String,
    /// Base URL for the members' `$ref`.
    pub users_url: String,
    /// Ids of every member; `None` when members were excluded. Members carry no
    /// `display`: it would be a second copy of each user's name to keep current,
    /// and a client that round-trips a group would see it differ from what it sent.
    pub members: Option<Vec<String>>,
}

pub fn group_to_scim(spec: &TeamSpec, meta: GroupMeta<'_>) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    out.insert("id".into(), json!(meta.id));
    if let Some(v) = &spec.external_id {
        out.insert("externalId".into(), json!(v));
    }
    out.insert("displayName".into(), json!(spec.display_name));
    if let Some(members) = meta.members {
        let list: Vec<Value> =
            members.iter().map(|id| json!({"value": id, "type": "User", "$ref": format!("{}/{id}", meta.users_url)})).collect();
        out.insert("members".into(), Value::Array(list));
    }
    out.insert("meta".into(), meta_json("Group", meta.created, meta.last_modified, meta.version, meta.location));
    Value::Object(out)
}

/// The Team spec and the member ids of a SCIM Group. `keep` carries the
/// admin-owned description over from the stored object.
pub fn scim_to_group(value: &Value, keep: Option<&TeamSpec>) -> Result<(TeamSpec, Vec<String>), ScimError> {
    let obj = value.as_object().ok_or_else(|| ScimError::bad_request("invalidSyntax", "a Group must be a JSON object"))?;
    let display_name = match get_ci(obj, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(ScimError::invalid_value("displayName is required")),
    };
    let external_id = match get_ci(obj, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(ScimError::invalid_value(format!("externalId must be a string, got {other}"))),
    };
    let members = match get_ci(obj, "members") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| match m.as_object().and_then(|o| get_ci(o, "value")) {
                Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
                _ => Err(ScimError::invalid_value(format!("a member needs a string value (the user id), got {m}"))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(ScimError::invalid_value(format!("members must be an array, got {other}"))),
    };
    let spec = TeamSpec { display_name, external_id, description: keep.and_then(|k| k.description.clone()) };
    Ok((spec, members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_round_trips_with_members() {
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng", "externalId": "e1", "members": [{"value": "u1"}, {"value": "u2", "display": "B"}]});
        let (spec, members) = scim_to_group(&body, None).unwrap();
        assert_eq!(members, vec!["u1", "u2"]);
        let out = group_to_scim(
            &spec,
            GroupMeta {
                id: "g1",
                created: None,
                last_modified: None,
                version: None,
                location: "https://x/Groups/g1".into(),
                users_url: "https://x/Users".into(),
                members: Some(vec!["u1".into()]),
            },
        );
        assert_eq!(out["members"][0]["$ref"], "https://x/Users/u1");
        assert_eq!(out["displayName"], "Eng");
    }

    #[test]
    fn a_member_without_value_is_rejected() {
        let err = scim_to_group(&json!({"displayName": "Eng", "members": [{"display": "x"}]}), None).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidValue"));
        assert!(scim_to_group(&json!({"displayName": " "}), None).is_err());
    }
}
