//! A `User` as the SCIM core User schema with the enterprise extension, and back.
//!
//! Reading from the IdP is lenient where Entra ID and Okta are known to differ
//! from the RFC (booleans as `"True"`/`"False"` strings, the manager as a bare
//! string), strict where a value would be lost (a missing userName, an email
//! without a value).

use serde_json::{Map, Value, json};

use crate::api::user::{EnterpriseAttributes, PersonName, UserAddress, UserEmail, UserSpec, UserValue};

use super::error::ScimError;
use super::schema::{self, Attribute, ENTERPRISE_ATTRIBUTES, IGNORED_USER_ATTRIBUTES, Mutability, USER_ATTRIBUTES, Unstorable};

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
    put(&mut out, "externalId", &spec.external_id);
    out.insert("userName".into(), json!(spec.user_name));
    if let Some(name) = &spec.name {
        let mut n = Map::new();
        put(&mut n, "formatted", &name.formatted);
        put(&mut n, "familyName", &name.family_name);
        put(&mut n, "givenName", &name.given_name);
        put(&mut n, "middleName", &name.middle_name);
        put(&mut n, "honorificPrefix", &name.honorific_prefix);
        put(&mut n, "honorificSuffix", &name.honorific_suffix);
        if !n.is_empty() {
            out.insert("name".into(), Value::Object(n));
        }
    }
    put(&mut out, "displayName", &spec.display_name);
    put(&mut out, "nickName", &spec.nick_name);
    put(&mut out, "profileUrl", &spec.profile_url);
    put(&mut out, "title", &spec.title);
    put(&mut out, "userType", &spec.user_type);
    put(&mut out, "preferredLanguage", &spec.preferred_language);
    put(&mut out, "locale", &spec.locale);
    put(&mut out, "timezone", &spec.timezone);
    if let Some(active) = spec.active {
        out.insert("active".into(), json!(active));
    }
    if !spec.emails.is_empty() {
        let emails: Vec<Value> = spec
            .emails
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("value".into(), json!(e.value));
                put(&mut m, "display", &e.display);
                put(&mut m, "type", &e.type_);
                m.insert("primary".into(), json!(e.primary));
                Value::Object(m)
            })
            .collect();
        out.insert("emails".into(), Value::Array(emails));
    }
    put_values(&mut out, "phoneNumbers", &spec.phone_numbers);
    put_values(&mut out, "ims", &spec.ims);
    put_values(&mut out, "photos", &spec.photos);
    if !spec.addresses.is_empty() {
        let addresses: Vec<Value> = spec
            .addresses
            .iter()
            .map(|a| {
                let mut m = Map::new();
                put(&mut m, "formatted", &a.formatted);
                put(&mut m, "streetAddress", &a.street_address);
                put(&mut m, "locality", &a.locality);
                put(&mut m, "region", &a.region);
                put(&mut m, "postalCode", &a.postal_code);
                put(&mut m, "country", &a.country);
                put(&mut m, "type", &a.type_);
                if let Some(p) = a.primary {
                    m.insert("primary".into(), json!(p));
                }
                Value::Object(m)
            })
            .collect();
        out.insert("addresses".into(), Value::Array(addresses));
    }
    if !meta.groups.is_empty() {
        let groups: Vec<Value> =
            meta.groups.iter().map(|(id, display)| json!({"value": id, "display": display, "type": "direct"})).collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    put_values(&mut out, "entitlements", &spec.entitlements);
    put_values(&mut out, "roles", &spec.roles);
    put_values(&mut out, "x509Certificates", &spec.x509_certificates);
    if let Some(ent) = &spec.enterprise {
        let mut e = Map::new();
        put(&mut e, "employeeNumber", &ent.employee_number);
        put(&mut e, "costCenter", &ent.cost_center);
        put(&mut e, "organization", &ent.organization);
        put(&mut e, "division", &ent.division);
        put(&mut e, "department", &ent.department);
        let mut manager = Map::new();
        put(&mut manager, "value", &ent.manager);
        put(&mut manager, "displayName", &ent.manager_display_name);
        if !manager.is_empty() {
            e.insert("manager".into(), Value::Object(manager));
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

fn put_values(out: &mut Map<String, Value>, key: &str, values: &[UserValue]) {
    if values.is_empty() {
        return;
    }
    let items = values
        .iter()
        .map(|v| {
            let mut m = Map::new();
            m.insert("value".into(), json!(v.value));
            put(&mut m, "display", &v.display);
            put(&mut m, "type", &v.type_);
            if let Some(p) = v.primary {
                m.insert("primary".into(), json!(p));
            }
            Value::Object(m)
        })
        .collect();
    out.insert(key.into(), Value::Array(items));
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
///
/// An attribute outside the announced schemas is refused rather than dropped
/// (RFC 7644 §3.3 lets a service provider ignore it; an IdP admin who mapped
/// it would then never learn that it goes nowhere). Read-only attributes and a
/// password are accepted and dropped: see `IGNORED_USER_ATTRIBUTES`.
pub fn scim_to_user_spec(value: &Value, keep: Option<&UserSpec>) -> Result<UserSpec, ScimError> {
    let obj = value.as_object().ok_or_else(|| ScimError::bad_request("invalidSyntax", "a User must be a JSON object"))?;
    check_known_attributes(obj)?;
    let user_name =
        string_attr(obj, "userName")?.filter(|u| !u.trim().is_empty()).ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let name = match object_attr(obj, "name")? {
        None => None,
        Some(n) => Some(PersonName {
            formatted: string_attr(n, "formatted")?,
            given_name: string_attr(n, "givenName")?,
            family_name: string_attr(n, "familyName")?,
            middle_name: string_attr(n, "middleName")?,
            honorific_prefix: string_attr(n, "honorificPrefix")?,
            honorific_suffix: string_attr(n, "honorificSuffix")?,
        }),
    };
    let active = match get_ci(obj, "active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(bool_attr(v, "active")?),
    };
    let enterprise = match object_attr(obj, ENTERPRISE_SCHEMA)? {
        None => None,
        Some(e) => {
            let (manager, manager_display_name) = match get_ci(e, "manager") {
                None | Some(Value::Null) => (None, None),
                // Entra sends the manager's id as a bare string.
                Some(Value::String(s)) => (Some(s.clone()).filter(|s| !s.is_empty()), None),
                Some(Value::Object(m)) => (string_attr(m, "value")?.filter(|s| !s.is_empty()), string_attr(m, "displayName")?),
                Some(other) => return Err(ScimError::invalid_value(format!("manager must be an object or a string, got {other}"))),
            };
            let attrs = EnterpriseAttributes {
                employee_number: string_attr(e, "employeeNumber")?,
                department: string_attr(e, "department")?,
                manager,
                manager_display_name,
                cost_center: string_attr(e, "costCenter")?,
                organization: string_attr(e, "organization")?,
                division: string_attr(e, "division")?,
            };
            (attrs != EnterpriseAttributes::default()).then_some(attrs)
        }
    };
    Ok(UserSpec {
        user_name,
        external_id: string_attr(obj, "externalId")?,
        display_name: string_attr(obj, "displayName")?,
        name: name.filter(|n| *n != PersonName::default()),
        emails: elements(obj, "emails", email)?,
        nick_name: string_attr(obj, "nickName")?,
        profile_url: string_attr(obj, "profileUrl")?,
        title: string_attr(obj, "title")?,
        user_type: string_attr(obj, "userType")?,
        preferred_language: string_attr(obj, "preferredLanguage")?,
        locale: string_attr(obj, "locale")?,
        timezone: string_attr(obj, "timezone")?,
        phone_numbers: elements(obj, "phoneNumbers", |i| user_value(i, "phoneNumbers"))?,
        ims: elements(obj, "ims", |i| user_value(i, "ims"))?,
        photos: elements(obj, "photos", |i| user_value(i, "photos"))?,
        addresses: elements(obj, "addresses", address)?.into_iter().filter(|a| *a != UserAddress::default()).collect(),
        entitlements: elements(obj, "entitlements", |i| user_value(i, "entitlements"))?,
        roles: elements(obj, "roles", |i| user_value(i, "roles"))?,
        x509_certificates: elements(obj, "x509Certificates", |i| user_value(i, "x509Certificates"))?,
        enterprise,
        active,
        external: keep.is_some_and(|k| k.external),
        teams: keep.map(|k| k.teams.clone()).unwrap_or_default(),
    })
}

/// Refuses any key of a User that no announced schema defines, and any
/// sub-attribute a complex attribute does not define, naming it.
fn check_known_attributes(obj: &Map<String, Value>) -> Result<(), ScimError> {
    for (key, value) in obj {
        if IGNORED_USER_ATTRIBUTES.iter().any(|(name, _)| name.eq_ignore_ascii_case(key)) {
            continue;
        }
        if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
            if let Value::Object(e) = value {
                // Client libraries that model the extension as its own object send its `schemas` along.
                for (key, value) in e.iter().filter(|(key, _)| !key.eq_ignore_ascii_case("schemas")) {
                    check_attribute(key, value, ENTERPRISE_ATTRIBUTES, &format!("{ENTERPRISE_SCHEMA}:"))?;
                }
            }
            continue;
        }
        check_attribute(key, value, USER_ATTRIBUTES, "")?;
    }
    Ok(())
}

fn check_attribute(key: &str, value: &Value, attributes: &[Attribute], prefix: &str) -> Result<(), ScimError> {
    let Some(attribute) = schema::find(attributes, key) else {
        return Err(ScimError::invalid_value(Unstorable::Unknown(format!("{prefix}{key}")).to_string()));
    };
    // Read-only values a client sends are ignored (RFC 7644 §3.5.1), whatever they hold.
    if attribute.mutability == Mutability::ReadOnly || attribute.sub_attributes.is_empty() {
        return Ok(());
    }
    let elements = match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let prefix = format!("{prefix}{}.", attribute.name);
    for element in elements {
        // Values of the wrong shape are the typed readers' to refuse.
        if let Value::Object(fields) = element {
            for (sub, sub_value) in fields {
                check_attribute(sub, sub_value, attribute.sub_attributes, &prefix)?;
            }
        }
    }
    Ok(())
}

fn object_attr<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(ScimError::invalid_value(format!("{key} must be an object, got {other}"))),
    }
}

/// The elements of a multi-valued attribute; a single object counts as a list of one.
fn elements<T>(obj: &Map<String, Value>, key: &str, read: impl Fn(&Value) -> Result<T, ScimError>) -> Result<Vec<T>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items.iter().map(read).collect(),
        Some(single @ Value::Object(_)) => Ok(vec![read(single)?]),
        Some(other) => Err(ScimError::invalid_value(format!("{key} must be an array, got {other}"))),
    }
}

fn email(item: &Value) -> Result<UserEmail, ScimError> {
    let obj = item.as_object().ok_or_else(|| ScimError::invalid_value(format!("an email must be an object, got {item}")))?;
    let value = string_attr(obj, "value")?.filter(|v| !v.is_empty()).ok_or_else(|| ScimError::invalid_value("an email needs a value"))?;
    let primary = match get_ci(obj, "primary") {
        None | Some(Value::Null) => false,
        Some(v) => bool_attr(v, "emails.primary")?,
    };
    Ok(UserEmail { value, type_: string_attr(obj, "type")?, primary, display: string_attr(obj, "display")? })
}

fn optional_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => bool_attr(v, key).map(Some),
    }
}

/// A value without its `value` could not be told apart from the next one, nor
/// matched by a filter: it is refused rather than stored half.
fn user_value(item: &Value, attr: &str) -> Result<UserValue, ScimError> {
    let obj = item.as_object().ok_or_else(|| ScimError::invalid_value(format!("an element of {attr} must be an object, got {item}")))?;
    let value = string_attr(obj, "value")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ScimError::invalid_value(format!("an element of {attr} needs a value")))?;
    Ok(UserValue {
        value,
        type_: string_attr(obj, "type")?,
        primary: optional_bool(obj, "primary")?,
        display: string_attr(obj, "display")?,
    })
}

fn address(item: &Value) -> Result<UserAddress, ScimError> {
    let obj = item.as_object().ok_or_else(|| ScimError::invalid_value(format!("an address must be an object, got {item}")))?;
    Ok(UserAddress {
        formatted: string_attr(obj, "formatted")?,
        street_address: string_attr(obj, "streetAddress")?,
        locality: string_attr(obj, "locality")?,
        region: string_attr(obj, "region")?,
        postal_code: string_attr(obj, "postalCode")?,
        country: string_attr(obj, "country")?,
        type_: string_attr(obj, "type")?,
        primary: optional_bool(obj, "primary")?,
    })
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

    /// A value of the attribute's type, different for every attribute so a
    /// value landing in the wrong field shows.
    fn sample(attribute: &Attribute, path: &str) -> Value {
        match attribute.type_ {
            schema::Type::Boolean => json!(true),
            schema::Type::Reference(_) => json!(format!("https://example.com/{path}")),
            schema::Type::Binary => json!("TUlJQm9qQ0NBVXVnQXdJQkFnSUpB"),
            schema::Type::String if !attribute.canonical_values.is_empty() => json!(attribute.canonical_values[0]),
            schema::Type::String => json!(format!("{path} sample")),
            schema::Type::Complex => {
                let fields: Map<String, Value> = attribute
                    .sub_attributes
                    .iter()
                    .map(|sub| (sub.name.to_string(), sample(sub, &format!("{path}.{}", sub.name))))
                    .collect();
                if attribute.multi_valued { json!([Value::Object(fields)]) } else { Value::Object(fields) }
            }
        }
    }

    /// Every writable attribute and sub-attribute of the announced schemas, with a sample value.
    fn everything_announced() -> Value {
        let writable = |attrs: &[Attribute], prefix: &str| -> Map<String, Value> {
            attrs
                .iter()
                .filter(|a| a.mutability != Mutability::ReadOnly)
                .map(|a| (a.name.to_string(), sample(a, &format!("{prefix}{}", a.name))))
                .collect()
        };
        let mut user = writable(USER_ATTRIBUTES, "");
        user.insert(ENTERPRISE_SCHEMA.into(), Value::Object(writable(ENTERPRISE_ATTRIBUTES, "enterprise.")));
        Value::Object(user)
    }

    #[test]
    fn every_announced_attribute_is_stored_and_returned() {
        let sent = everything_announced();
        let spec = scim_to_user_spec(&sent, None).unwrap_or_else(|e| panic!("{e}"));
        let back = user_to_scim(&spec, meta("u1"));
        for (key, value) in sent.as_object().into_iter().flatten() {
            assert_eq!(&back[key], value, "{key} went in and came back different");
        }
        // And through the CRD: what the API server stores reads back the same.
        let stored: UserSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored, spec);
    }

    #[test]
    fn announced_attributes_are_the_rfc_ones_an_idp_maps() {
        let sent = everything_announced();
        let paths = [
            "/name/formatted",
            "/name/familyName",
            "/name/givenName",
            "/name/middleName",
            "/name/honorificPrefix",
            "/name/honorificSuffix",
            "/displayName",
            "/nickName",
            "/profileUrl",
            "/title",
            "/userType",
            "/preferredLanguage",
            "/locale",
            "/timezone",
            "/active",
            "/emails/0/value",
            "/phoneNumbers/0/value",
            "/ims/0/value",
            "/photos/0/value",
            "/addresses/0/formatted",
            "/addresses/0/streetAddress",
            "/addresses/0/locality",
            "/addresses/0/region",
            "/addresses/0/postalCode",
            "/addresses/0/country",
            "/addresses/0/type",
            "/addresses/0/primary",
            "/entitlements/0/value",
            "/roles/0/value",
            "/x509Certificates/0/value",
        ];
        for path in paths {
            assert!(sent.pointer(path).is_some(), "{path} is not announced");
        }
        for attr in ["employeeNumber", "costCenter", "organization", "division", "department", "manager/value", "manager/displayName"] {
            let path = format!("/{}/{attr}", ENTERPRISE_SCHEMA.replace('/', "~1"));
            assert!(sent.pointer(&path).is_some(), "{path} is not announced");
        }
    }

    #[test]
    fn attributes_outside_the_schemas_are_refused_by_name() {
        for (body, named) in [
            (json!({"userName": "a", "badge": "7"}), "badge"),
            (json!({"userName": "a", "name": {"givenName": "A", "nickName": "x"}}), "name.nickName"),
            (json!({"userName": "a", "emails": [{"value": "a@x", "label": "x"}]}), "emails.label"),
            (json!({"userName": "a", ENTERPRISE_SCHEMA: {"badge": "7"}}), "enterprise:2.0:User:badge"),
            (json!({"userName": "a", ENTERPRISE_SCHEMA: {"manager": {"value": "m", "$ref": "../Users/m"}}}), "manager.$ref"),
            (json!({"userName": "a", "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": "7"}}), "acme"),
        ] {
            let e = scim_to_user_spec(&body, None).expect_err("refused");
            assert_eq!(e.scim_type, Some("invalidValue"), "{body}");
            assert!(e.detail.contains(named) && e.detail.contains("/Schemas"), "{body}: {}", e.detail);
        }
    }

    #[test]
    fn read_only_attributes_and_a_password_are_accepted_and_dropped() {
        let body = json!({
            "schemas": [USER_SCHEMA], "id": "x", "userName": "a", "password": "secret",
            "groups": [{"value": "g", "display": "G", "$ref": "../Groups/g"}],
            "meta": {"resourceType": "User", "version": "W/\"9\""},
            ENTERPRISE_SCHEMA: {"schemas": [ENTERPRISE_SCHEMA], "division": "D"}
        });
        let back = user_to_scim(&scim_to_user_spec(&body, None).unwrap_or_else(|e| panic!("{e}")), meta("u1"));
        assert_eq!(back["id"], "u1");
        assert!(back.get("password").is_none() && back.get("groups").is_none(), "{back}");
        assert_eq!(back[ENTERPRISE_SCHEMA], json!({"division": "D"}), "scim2-models sends the extension's own schemas");
    }

    #[test]
    fn entra_app_roles_and_okta_addresses_round_trip() {
        let body = json!({
            "userName": "a",
            "roles": [{"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}],
            "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "region": "IL", "postalCode": "62701", "country": "US", "primary": true}],
            "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}]
        });
        let back = user_to_scim(&scim_to_user_spec(&body, None).unwrap_or_else(|e| panic!("{e}")), meta("u1"));
        assert_eq!(
            back["roles"],
            json!([{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}])
        );
        assert_eq!(back["addresses"], body["addresses"]);
        assert_eq!(back["phoneNumbers"], body["phoneNumbers"], "no primary is invented");
    }

    #[test]
    fn a_value_without_its_value_is_refused() {
        for body in [
            json!({"userName": "a", "phoneNumbers": [{"type": "work"}]}),
            json!({"userName": "a", "roles": ["Admin"]}),
            json!({"userName": "a", "nickName": {"x": 1}}),
            json!({"userName": "a", "addresses": [{"primary": "perhaps"}]}),
        ] {
            assert_eq!(scim_to_user_spec(&body, None).map_err(|e| e.scim_type), Err(Some("invalidValue")), "{body}");
        }
    }
}
