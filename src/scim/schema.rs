//! The attributes of the schemas the sidecar announces (RFC 7643 §2, §4, §7),
//! as data. One table serves three readers: `/Schemas` renders it, the User
//! reader refuses any attribute outside it, and PATCH paths are checked
//! against it. An attribute is listed here only if the sidecar stores and
//! returns it, which `user_json`'s tests check attribute by attribute.

use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::filter::AttrPath;
use super::group_json::GROUP_SCHEMA;
use super::patch::PatchOperation;
use super::path::{PatchPath, parse_path};
use super::user_json::{ENTERPRISE_SCHEMA, USER_SCHEMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    /// A URI; the reference types say what it points to.
    Reference(&'static [&'static str]),
    /// Base64 text.
    Binary,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub type_: Type,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// Unique within the workspace (`server`), or not at all.
    pub unique: bool,
    pub canonical_values: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
}

const fn string(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        type_: Type::String,
        multi_valued: false,
        description,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        canonical_values: &[],
        sub_attributes: &[],
    }
}

const fn boolean(name: &'static str, description: &'static str) -> Attribute {
    Attribute { type_: Type::Boolean, ..string(name, description) }
}

const fn complex(name: &'static str, description: &'static str, sub_attributes: &'static [Attribute]) -> Attribute {
    Attribute { type_: Type::Complex, sub_attributes, ..string(name, description) }
}

const fn multi(name: &'static str, description: &'static str, sub_attributes: &'static [Attribute]) -> Attribute {
    Attribute { multi_valued: true, ..complex(name, description, sub_attributes) }
}

const fn typed(description: &'static str, canonical_values: &'static [&'static str]) -> Attribute {
    Attribute { canonical_values, ..string("type", description) }
}

const PRIMARY: Attribute = boolean("primary", "Whether this is the preferred value");
const DISPLAY: Attribute = string("display", "A human-readable label for the value");

/// The sub-attributes of the plain multi-valued attributes (RFC 7643 §2.4):
/// value, display, type, primary.
const fn value_type_primary(value: Attribute, type_: Attribute) -> [Attribute; 4] {
    [value, DISPLAY, type_, PRIMARY]
}

const EMAIL: [Attribute; 4] = value_type_primary(string("value", "The address"), typed("work, home or other", &["work", "home", "other"]));
const PHONE: [Attribute; 4] = value_type_primary(
    string("value", "The number"),
    typed("work, home, mobile, fax, pager or other", &["work", "home", "mobile", "fax", "pager", "other"]),
);
const IM: [Attribute; 4] = value_type_primary(
    string("value", "The messaging address"),
    typed("The messaging service", &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
);
const PHOTO: [Attribute; 4] = value_type_primary(
    Attribute { type_: Type::Reference(&["external"]), case_exact: true, ..string("value", "URL of the photo") },
    typed("photo or thumbnail", &["photo", "thumbnail"]),
);
const ENTITLEMENT: [Attribute; 4] = value_type_primary(string("value", "The entitlement"), string("type", "The kind of entitlement"));
const ROLE: [Attribute; 4] = value_type_primary(string("value", "The role"), string("type", "The kind of role"));
const CERTIFICATE: [Attribute; 4] = value_type_primary(
    Attribute { type_: Type::Binary, case_exact: true, ..string("value", "The certificate, base64 DER") },
    string("type", "The kind of certificate"),
);
const ADDRESS: [Attribute; 8] = [
    string("formatted", "The full address, formatted for display"),
    string("streetAddress", "Street, house number, P.O. box"),
    string("locality", "City or locality"),
    string("region", "State or region"),
    string("postalCode", "Zip or postal code"),
    string("country", "Country (ISO 3166-1 alpha-2, e.g. US)"),
    typed("work, home or other", &["work", "home", "other"]),
    PRIMARY,
];
const NAME: [Attribute; 6] = [
    string("formatted", "Full name"),
    string("familyName", "Family (last) name"),
    string("givenName", "Given (first) name"),
    string("middleName", "Middle name(s)"),
    string("honorificPrefix", "Title before the name, e.g. Ms."),
    string("honorificSuffix", "Suffix after the name, e.g. III"),
];
const READ_ONLY_GROUP: [Attribute; 3] = [
    Attribute { case_exact: true, mutability: Mutability::ReadOnly, ..string("value", "Group id") },
    Attribute { mutability: Mutability::ReadOnly, ..string("display", "Group name") },
    Attribute { mutability: Mutability::ReadOnly, canonical_values: &["direct"], ..string("type", "direct") },
];

const ID: Attribute = Attribute {
    case_exact: true,
    mutability: Mutability::ReadOnly,
    returned: Returned::Always,
    unique: true,
    ..string("id", "Unique identifier assigned by rolecall")
};
const EXTERNAL_ID: Attribute = Attribute { case_exact: true, ..string("externalId", "The identity provider's id") };

/// The core User schema, RFC 7643 §4.1, as the sidecar stores it. Left out:
/// `password` (rolecall never signs anyone in; see `IGNORED_USER_ATTRIBUTES`).
pub const USER_ATTRIBUTES: &[Attribute] = &[
    ID,
    EXTERNAL_ID,
    Attribute {
        required: true,
        returned: Returned::Always,
        unique: true,
        ..string("userName", "Unique sign-in name, usually the work email")
    },
    complex("name", "The parts of the user's name", &NAME),
    string("displayName", "Name to show"),
    string("nickName", "Casual name, e.g. Bob for Robert"),
    Attribute { type_: Type::Reference(&["external"]), ..string("profileUrl", "URL of the user's online profile") },
    string("title", "Job title"),
    string("userType", "The organisation's kind of user, e.g. Employee or Contractor"),
    string("preferredLanguage", "Preferred language, e.g. en-US"),
    string("locale", "Locale for dates, numbers and currency, e.g. en-US"),
    string("timezone", "Time zone, e.g. Europe/Paris"),
    boolean("active", "False once the IdP deactivated the user"),
    multi("emails", "Email addresses", &EMAIL),
    multi("phoneNumbers", "Phone numbers", &PHONE),
    multi("ims", "Instant messaging addresses", &IM),
    multi("photos", "URLs of photos of the user", &PHOTO),
    multi("addresses", "Postal addresses", &ADDRESS),
    Attribute { mutability: Mutability::ReadOnly, ..multi("groups", "Groups the user belongs to", &READ_ONLY_GROUP) },
    multi("entitlements", "Entitlements recorded by the IdP", &ENTITLEMENT),
    multi("roles", "Roles assigned by the IdP", &ROLE),
    multi("x509Certificates", "X.509 certificates", &CERTIFICATE),
];

/// The enterprise extension, RFC 7643 §4.3. `manager.$ref` is left out: the
/// manager's id says all it would.
pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    string("employeeNumber", "Employee number"),
    string("costCenter", "Cost center"),
    string("organization", "Organization"),
    string("division", "Division"),
    string("department", "Department"),
    complex(
        "manager",
        "The user's manager",
        &[
            Attribute { case_exact: true, ..string("value", "The manager's id") },
            string("displayName", "The manager's name, as the IdP sends it"),
        ],
    ),
];

/// Attributes a User may carry that are accepted and dropped, with the reason
/// (RFC 7644 §3.5.1: readOnly values a client sends are ignored).
pub const IGNORED_USER_ATTRIBUTES: &[(&str, &str)] = &[
    ("schemas", "the sidecar sets it"),
    ("meta", "the sidecar sets it"),
    // Okta sends one when password sync is on; a secret never lands in etcd.
    ("password", "rolecall never signs users in, so it never stores a password"),
];

/// The Group schema, RFC 7643 §4.2, without nested groups.
pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    ID,
    EXTERNAL_ID,
    Attribute { required: true, returned: Returned::Always, unique: true, ..string("displayName", "The group's name") },
    multi(
        "members",
        "Members of the group",
        &[
            Attribute { case_exact: true, mutability: Mutability::Immutable, ..string("value", "Member id") },
            Attribute { type_: Type::Reference(&["User"]), mutability: Mutability::Immutable, ..string("$ref", "URI of the member") },
            Attribute { mutability: Mutability::ReadOnly, ..string("display", "Member name") },
            Attribute { mutability: Mutability::Immutable, canonical_values: &["User"], ..string("type", "The kind of member") },
        ],
    ),
];

/// The attribute called `name` among `attributes` (names are case-insensitive, RFC 7643 §2.1).
pub fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The attributes of `schema` for a resource whose core schema is `core`;
/// None for a schema the sidecar does not announce for it.
pub fn attributes_of(core: &str, schema: &str) -> Option<&'static [Attribute]> {
    match core {
        USER_SCHEMA if schema.eq_ignore_ascii_case(USER_SCHEMA) => Some(USER_ATTRIBUTES),
        USER_SCHEMA if schema.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) => Some(ENTERPRISE_ATTRIBUTES),
        GROUP_SCHEMA if schema.eq_ignore_ascii_case(GROUP_SCHEMA) => Some(GROUP_ATTRIBUTES),
        _ => None,
    }
}

/// Why an attribute named in a request cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unstorable {
    #[error("{0} is not an attribute of a schema this service provider announces (see /Schemas), so it cannot be stored")]
    Unknown(String),
    #[error("{0} is read-only")]
    ReadOnly(String),
}

impl Unstorable {
    /// The SCIM error (RFC 7644 §3.12) for a PATCH whose operation `index` names this.
    pub fn in_patch(self, index: usize) -> ScimError {
        let scim_type = match self {
            Unstorable::Unknown(_) => "invalidPath",
            Unstorable::ReadOnly(_) => "mutability",
        };
        ScimError::bad_request(scim_type, format!("Operations[{index}]: {self}"))
    }
}

/// Checks that a PATCH path names an announced attribute of the resource whose
/// core schema is `core` (and a sub-attribute of it, when it names one), and
/// that the attribute can be written.
pub fn check_patch_path(core: &str, path: &PatchPath) -> Result<(), Unstorable> {
    let AttrPath { schema, attr, sub_attr } = &path.attr;
    let shown = || path.to_string();
    // `urn:...:enterprise:2.0:User` alone parses as schema `urn:...:enterprise:2.0`, attribute `User`.
    if let Some(schema) = schema
        && path.filter.is_none()
        && sub_attr.is_none()
        && attributes_of(core, &format!("{schema}:{attr}")).is_some()
    {
        return Ok(());
    }
    let in_core = schema.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(core));
    if in_core && ["meta", "schemas"].iter().any(|n| attr.eq_ignore_ascii_case(n)) {
        return Err(Unstorable::ReadOnly(shown()));
    }
    if in_core && core == USER_SCHEMA && attr.eq_ignore_ascii_case("password") && sub_attr.is_none() {
        // Accepted and dropped, as in a POST or PUT (see IGNORED_USER_ATTRIBUTES).
        return Ok(());
    }
    let attributes = attributes_of(core, schema.as_deref().unwrap_or(core)).ok_or_else(|| Unstorable::Unknown(shown()))?;
    let attribute = find(attributes, attr).ok_or_else(|| Unstorable::Unknown(shown()))?;
    let sub = sub_attr.as_deref().or(path.sub_attr_after_filter.as_deref());
    let target = match sub {
        Some(sub) => find(attribute.sub_attributes, sub).ok_or_else(|| Unstorable::Unknown(shown()))?,
        None => attribute,
    };
    // `id` keeps its own rule in the patcher: resending its current value is harmless.
    if (attribute.mutability == Mutability::ReadOnly || target.mutability == Mutability::ReadOnly) && attribute.name != "id" {
        return Err(Unstorable::ReadOnly(shown()));
    }
    Ok(())
}

/// Checks every operation of a PATCH with `check_patch_path`: its path, or for
/// a path-less operation each key of its value (Entra and Okta send keys such
/// as `name.givenName` or `urn:...:enterprise:2.0:User:department` there).
/// Keys that do not parse as paths are left to the patcher to report.
pub fn check_patch_operations(core: &str, ops: &[PatchOperation]) -> Result<(), (usize, Unstorable)> {
    for (i, op) in ops.iter().enumerate() {
        match (&op.path, &op.value) {
            (Some(path), _) => check_patch_path(core, path).map_err(|e| (i, e))?,
            (None, Some(Value::Object(attrs))) => check_value_keys(core, None, attrs).map_err(|e| (i, e))?,
            (None, _) => {}
        }
    }
    Ok(())
}

fn check_value_keys(core: &str, schema: Option<&str>, attrs: &Map<String, Value>) -> Result<(), Unstorable> {
    for (key, value) in attrs {
        if schema.is_none()
            && let Some(known) =
                [core, ENTERPRISE_SCHEMA].into_iter().find(|s| s.eq_ignore_ascii_case(key) && attributes_of(core, s).is_some())
        {
            // A whole schema as the key: its object's keys are its attributes.
            if let Value::Object(inner) = value {
                check_value_keys(core, Some(known), inner)?;
            }
            continue;
        }
        // Client libraries that model an extension as its own object send its `schemas` along.
        if schema.is_some() && key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let qualified = match schema {
            Some(s) if !s.eq_ignore_ascii_case(core) => format!("{s}:{key}"),
            _ => key.clone(),
        };
        if let Ok(path) = parse_path(&qualified) {
            check_patch_path(core, &path)?;
        }
    }
    Ok(())
}

/// The schema document (RFC 7643 §7) of `attributes`.
pub fn schema_json(base: &str, id: &str, name: &str, description: &str, attributes: &[Attribute]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id, "name": name, "description": description,
        "attributes": attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}
    })
}

fn attribute_json(a: &Attribute) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    let type_ = match a.type_ {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::Reference(_) => "reference",
        Type::Binary => "binary",
        Type::Complex => "complex",
    };
    m.insert("type".into(), json!(type_));
    m.insert("multiValued".into(), json!(a.multi_valued));
    m.insert("description".into(), json!(a.description));
    m.insert("required".into(), json!(a.required));
    m.insert("caseExact".into(), json!(a.case_exact));
    if !a.canonical_values.is_empty() {
        m.insert("canonicalValues".into(), json!(a.canonical_values));
    }
    if let Type::Reference(types) = a.type_ {
        m.insert("referenceTypes".into(), json!(types));
    }
    let mutability = match a.mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
    };
    m.insert("mutability".into(), json!(mutability));
    m.insert("returned".into(), json!(if a.returned == Returned::Always { "always" } else { "default" }));
    m.insert("uniqueness".into(), json!(if a.unique { "server" } else { "none" }));
    if !a.sub_attributes.is_empty() {
        m.insert("subAttributes".into(), a.sub_attributes.iter().map(attribute_json).collect());
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::path::parse_path;

    fn check(path: &str) -> Result<(), Unstorable> {
        check_patch_path(USER_SCHEMA, &parse_path(path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    #[test]
    fn announced_paths_pass() {
        for path in [
            "nickName",
            "NAME.middleName",
            "name.honorificPrefix",
            "emails[type eq \"work\"].value",
            "addresses[type eq \"work\"].postalCode",
            "phoneNumbers[type eq \"mobile\"]",
            "roles",
            "x509Certificates.value",
            "urn:ietf:params:scim:schemas:core:2.0:User:timezone",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
            "id",
        ] {
            assert_eq!(check(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn unknown_paths_are_named() {
        for path in [
            "nickname2",
            "name.nickName",
            "emails[type eq \"work\"].label",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badge",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge",
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
            "password.x",
        ] {
            assert!(matches!(check(path), Err(Unstorable::Unknown(p)) if p.eq_ignore_ascii_case(path)), "{path}");
        }
    }

    #[test]
    fn path_less_values_are_checked_key_by_key() {
        let ops = |value: Value| {
            let body = json!({"Operations": [{"op": "add", "path": "title", "value": "x"}, {"op": "Replace", "value": value}]});
            crate::scim::patch::parse_patch_request(&body).unwrap_or_else(|e| panic!("{e}"))
        };
        for fine in [
            json!({"nickName": "Bob", "name.middleName": "J", "id": "1", "password": "p"}),
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "4130"}),
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"division": "D", "manager": {"value": "m"}}}),
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"schemas": [ENTERPRISE_SCHEMA], "division": "D"}}),
            json!({"urn:ietf:params:scim:schemas:core:2.0:User": {"timezone": "Europe/Paris"}}),
        ] {
            assert_eq!(check_patch_operations(USER_SCHEMA, &ops(fine.clone())), Ok(()), "{fine}");
        }
        for (bad, named) in [
            (json!({"nickName": "Bob", "badge": "7"}), "badge"),
            (json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"badge": "7"}}), "badge"),
            (json!({"urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge": "7"}), "acme"),
        ] {
            match check_patch_operations(USER_SCHEMA, &ops(bad.clone())) {
                Err((1, Unstorable::Unknown(path))) => assert!(path.contains(named), "{path}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(check_patch_operations(USER_SCHEMA, &ops(json!({"groups": []}))), Err((1, Unstorable::ReadOnly(_)))));
    }

    #[test]
    fn read_only_paths_are_refused() {
        assert!(matches!(check("groups"), Err(Unstorable::ReadOnly(_))));
        assert!(matches!(check("meta.version"), Err(Unstorable::ReadOnly(_))));
        assert!(matches!(check("groups[value eq \"g\"].display"), Err(Unstorable::ReadOnly(_))));
    }

    #[test]
    fn every_rfc_user_attribute_an_idp_maps_is_announced() {
        let names: Vec<&str> = USER_ATTRIBUTES.iter().map(|a| a.name).collect();
        for wanted in [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
            "x509Certificates",
        ] {
            assert!(names.contains(&wanted), "{wanted}");
        }
        let enterprise: Vec<&str> = ENTERPRISE_ATTRIBUTES.iter().map(|a| a.name).collect();
        assert_eq!(enterprise, ["employeeNumber", "costCenter", "organization", "division", "department", "manager"]);
    }
}
