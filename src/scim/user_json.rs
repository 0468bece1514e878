//! A `User` as the SCIM core User schema with the enterprise extension, and back.
//!
//! Reading from the IdP is lenient where Entra ID and Okta are known to differ
//! from the RFC (booleans as `"True"`/`"False"` strings, the manager as a bare
//! string), strict where a value would be lost (a missing userName, an email
//! without a value).

use serde_json::{Map, Value, json};

use crate::api::user::{EnterpriseAttributes, PersonName, UserEmail, UserSpec};

use super::error::ScimError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// What the SCIM representation needs beyond the spec.
pub struct UserMeta<'a> {
    pub id: &'a str,
    pub created: Option<String>,
    pub last_modified: Option<String>,
    pub version: Option<String>,
    pub location: String,
    /// (group id, display name) of the groups the user belongs to.
    pub groups: Vec<(String, String)>,
}

pub fn user_to_scim(spec: &UserSpec, meta: UserMeta<'_>) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![json!(USER_SCHEMA)];
    out.insert("id".into(), json!(meta.id));
    if let Some(v) = &spec.external_id {
        out.insert("externalId".into(), json!(v));
    }
    out.insert("userName".into(), json!(spec.user_name));
    if let Some(name) = &spec.name {
        let mut n = Map::new();
        put(&mut n, "formatted", &name.formatted);
        put(&mut n, "givenName", &name.given_name);
        put(&mut n, "familyName", &name.family_name);
        if !n.is_empty() {
            out.insert("name".into(), Value::Object(n));
        }
    }
    put(&mut out, "displayName", &spec.display_name);
    put(&mut out, "title", &spec.title);
    if !spec.emails.is_empty() {
        let emails: Vec<Value> = spec
            .emails
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("value".into(), json!(e.value));
                put(&mut m, "type", &e.type_);
                m.insert("primary".into(), json!(e.primary));
                Value::Object(m)
            })
            .collect();
        out.insert("emails".into(), Value::Array(emails));
    }
    if let Some(active) = spec.active {
        out.insert("active".into(), json!(active));
    }
    if !meta.groups.is_empty() {
        let groups: Vec<Value> =
            meta.groups.iter().map(|(id, display)| json!({"value": id, "display": display, "type": "direct"})).collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    if let Some(ent) = &spec.enterprise {
        let mut e = Map::new();
        put(&mut e, "employeeNumber", &ent.employee_number);
        put(&mut e, "department", &ent.department);
        if let Some(manager) = &ent.manager {
            e.insert("manager".into(), json!({"value": manager}));
        }
        if !e.is_empty() {
            schemas.push(json!(ENTERPRISE_SCHEMA));
            out.insert(ENTERPRISE_SCHEMA.into(), Value::Object(e));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("meta".into(), meta_json("User", meta.created, meta.last_modified, meta.version, meta.location));
    Value::Object(out)
}

/// The `meta` attribute every resource carries.
pub fn meta_json(
    resource_type: &str,
    created: Option<String>,
    last_modified: Option<String>,
    version: Option<String>,
    location: String,
) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), json!(resource_type));
    if let Some(c) = &created {
        m.insert("created".into(), json!(c));
    }
    if let Some(l) = last_modified.or(created) {
        m.insert("lastModified".into(), json!(l));
    }
    m.insert("location".into(), json!(location));
    if let Some(v) = version {
        m.insert("version".into(), json!(v));
    }
    Value::Object(m)
}

fn put(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.into(), json!(v));
    }
}

/// Looks a key up case-insensitively, as SCIM attribute names are.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn string_attr(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ScimError::invalid_value(format!("{key} must be a string, got {other}"))),
    }
}

/// Reads a boolean the way IdPs send it: `true`, or Entra's `"True"` / `"False"` strings.
pub fn bool_attr(value: &Value, key: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!("{key} must be a boolean, got {other}"))),
    }
}

/// Builds the `User` spec from a SCIM User. `keep` carries what SCIM does not
/// own (team membership, the external flag) over from the stored object.
pub fn scim_to_user_spec(value: &Value, keep: Option<&UserSpec>) -> Result<UserSpec, ScimError> {
    let obj = value.as_object().ok_or_else(|| ScimError::bad_request("invalidSyntax", "a User must be a JSON object"))?;
    let user_name =
        string_attr(obj, "userName")?.filter(|u| !u.trim().is_empty()).ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let name = match get_ci(obj, "name") {
        None | Some(Value::Null) => None,
        Some(Value::Object(n)) => Some(PersonName {
            formatted: string_attr(n, "formatted")?,
            given_name: string_attr(n, "givenName")?,
            family_name: string_attr(n, "familyName")?,
        }),
        Some(other) => return Err(ScimError::invalid_value(format!("name must be an object, got {other}"))),
    };
    let emails = match get_ci(obj, "emails") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.iter().map(email).collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(ScimError::invalid_value(format!("emails must be an array, got {other}"))),
    };
    let active = match get_ci(obj, "active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(bool_attr(v, "active")?),
    };
    let enterprise = match get_ci(obj, ENTERPRISE_SCHEMA) {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => {
            let manager = match get_ci(e, "manager") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(m)) => string_attr(m, "value")?.filter(|s| !s.is_empty()),
                Some(other) => return Err(ScimError::invalid_value(format!("manager must be an object or a string, got {other}"))),
            };
            let attrs = EnterpriseAttributes {
                employee_number: string_attr(e, "employeeNumber")?,
                department: string_attr(e, "department")?,
                manager,
            };
            (attrs != EnterpriseAttributes::default()).then_some(attrs)
        }
        Some(other) => return Err(ScimError::invalid_value(format!("{ENTERPRISE_SCHEMA} must be an object, got {other}"))),
    };
    Ok(UserSpec {
        user_name,
        external_id: string_attr(obj, "externalId")?,
        display_name: string_attr(obj, "displayName")?,
        name: name.filter(|n| *n != PersonName::default()),
        emails,
        title: string_attr(obj, "title")?,
        enterprise,
        active,
        external: keep.is_some_and(|k| k.external),
        teams: keep.map(|k| k.teams.clone()).unwrap_or_default(),
    })
}

fn email(item: &Value) -> Result<UserEmail, ScimError> {
    let obj = item.as_object().ok_or_else(|| ScimError::invalid_value(format!("an email must be an object, got {item}")))?;
    let value = string_attr(obj, "value")?.filter(|v| !v.is_empty()).ok_or_else(|| ScimError::invalid_value("an email needs a value"))?;
    let primary = match get_ci(obj, "primary") {
        None | Some(Value::Null) => false,
        Some(v) => bool_attr(v, "emails.primary")?,
    };
    Ok(UserEmail { value, type_: string_attr(obj, "type")?, primary })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> UserMeta<'_> {
        UserMeta {
            id,
            created: Some("2026-01-01T00:00:00Z".into()),
            last_modified: None,
            version: Some("W/\"1\"".into()),
            location: format!("https://x/Users/{id}"),
            groups: vec![],
        }
    }

    #[test]
    fn entra_create_round_trips() {
        let body = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@testuser.com",
            "active": "True",
            "displayName": "BobIsAmazing",
            "emails": [{"Primary": "true", "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "name": {"familyName": "familyName", "givenName": "givenName"},
            ENTERPRISE_SCHEMA: {"department": "Eng", "manager": "m-1", "employeeNumber": "42"},
            "password": "never stored",
        });
        let spec = scim_to_user_spec(&body, None).unwrap();
        assert!(spec.is_active());
        assert!(spec.emails[0].primary);
        assert_eq!(spec.enterprise.as_ref().unwrap().manager.as_deref(), Some("m-1"));
        let back = user_to_scim(&spec, meta("u1"));
        assert_eq!(back["userName"], "Test_User_ab6490ee@testuser.com");
        assert_eq!(back[ENTERPRISE_SCHEMA]["manager"]["value"], "m-1");
        assert_eq!(back["meta"]["lastModified"], "2026-01-01T00:00:00Z");
        assert!(back.get("password").is_none());
        assert_eq!(scim_to_user_spec(&back, None).unwrap(), spec);
    }

    #[test]
    fn string_false_deactivates() {
        let spec = scim_to_user_spec(&json!({"userName": "a", "active": "False"}), None).unwrap();
        assert!(!spec.is_active());
        assert!(scim_to_user_spec(&json!({"userName": "a", "active": "maybe"}), None).is_err());
    }

    #[test]
    fn user_name_is_required_and_membership_is_kept() {
        assert_eq!(scim_to_user_spec(&json!({"displayName": "x"}), None).unwrap_err().scim_type, Some("invalidValue"));
        let keep = UserSpec { teams: vec!["t1".into()], ..scim_to_user_spec(&json!({"userName": "a"}), None).unwrap() };
        assert_eq!(scim_to_user_spec(&json!({"userName": "b"}), Some(&keep)).unwrap().teams, vec!["t1".to_string()]);
    }
}
