//! SCIM PATCH (RFC 7644 §3.5.2): reading the `PatchOp` request body and
//! applying its operations to a resource as JSON, all or nothing.
//!
//! The rules follow RFC 7644 §3.5.2.1–3 plus what Microsoft Entra ID and Okta
//! actually send: capitalized op names, dotted and URN-qualified keys in
//! path-less values, filtered paths that match nothing yet, and the old
//! "remove these members" form that carries a value.

use std::fmt;

use serde_json::{Map, Value};

use super::filter::{AttrPath, CORE_SCHEMA_PREFIX, CompareOp, Filter, get_ci, matches_value};
use super::path::{PatchPath, parse_path};

const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Attributes the service provider owns (RFC 7643 §3.1): clients cannot change them.
const READ_ONLY: &[&str] = &["id", "meta", "schemas"];

/// Extension schemas recognized as whole-object keys even before a resource
/// declares them in `schemas`, so that adding the first enterprise attribute
/// as `{"urn:...:enterprise:2.0:User": {...}}` works.
const KNOWN_EXTENSIONS: &[&str] = &["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// `scim_type` is the RFC 7644 §3.12 `scimType` to answer with (status 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scim_type}: {detail}")]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOperation>, PatchError> {
    let Value::Object(body) = body else {
        return Err(invalid_syntax("the PATCH body must be a JSON object"));
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        let declared =
            schemas.as_array().is_some_and(|s| s.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))));
        if !declared {
            return Err(invalid_syntax(format!("\"schemas\" must list {PATCH_OP_SCHEMA}")));
        }
    }
    let operations = match get_ci(body, "Operations") {
        Some(Value::Array(operations)) if !operations.is_empty() => operations,
        Some(Value::Array(_)) => return Err(invalid_syntax("\"Operations\" is empty; it needs at least one operation")),
        Some(_) => return Err(invalid_syntax("\"Operations\" must be an array of operations")),
        None => return Err(invalid_syntax("the PATCH body has no \"Operations\"")),
    };
    operations.iter().enumerate().map(|(i, op)| parse_operation(op).map_err(|e| e.in_operation(i))).collect()
}

pub fn apply_patch(resource: &Value, ops: &[PatchOperation], core_schema: &str) -> Result<Value, PatchError> {
    // Every change lands in a copy that is returned only if all operations
    // succeed, which is what makes a PATCH atomic (RFC 7644 §3.5.2).
    let mut patched = resource.clone();
    let Value::Object(root) = &mut patched else {
        return Err(invalid_value("the resource to patch is not a JSON object"));
    };
    for (i, op) in ops.iter().enumerate() {
        apply_operation(root, op, core_schema).map_err(|e| e.in_operation(i))?;
    }
    Ok(patched)
}

impl fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        })
    }
}

impl PatchError {
    fn in_operation(self, index: usize) -> PatchError {
        PatchError { detail: format!("Operations[{index}]: {}", self.detail), ..self }
    }
}

fn invalid_syntax(detail: impl Into<String>) -> PatchError {
    PatchError { scim_type: "invalidSyntax", detail: detail.into() }
}

fn invalid_path(detail: impl Into<String>) -> PatchError {
    PatchError { scim_type: "invalidPath", detail: detail.into() }
}

fn no_target(detail: impl Into<String>) -> PatchError {
    PatchError { scim_type: "noTarget", detail: detail.into() }
}

fn invalid_value(detail: impl Into<String>) -> PatchError {
    PatchError { scim_type: "invalidValue", detail: detail.into() }
}

fn mutability(detail: impl Into<String>) -> PatchError {
    PatchError { scim_type: "mutability", detail: detail.into() }
}

fn parse_operation(op: &Value) -> Result<PatchOperation, PatchError> {
    let Value::Object(op) = op else {
        return Err(invalid_syntax("an operation must be a JSON object"));
    };
    let kind = match get_ci(op, "op") {
        Some(Value::String(name)) => [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
            .into_iter()
            .find(|kind| kind.to_string().eq_ignore_ascii_case(name))
            .ok_or_else(|| invalid_syntax(format!("\"op\" is {name:?}; expected add, replace or remove")))?,
        Some(other) => return Err(invalid_syntax(format!("\"op\" must be a string, not {other}"))),
        None => return Err(invalid_syntax("the operation has no \"op\"")),
    };
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) => Some(parse_path(path).map_err(|e| invalid_path(e.to_string()))?),
        Some(other) => return Err(invalid_path(format!("\"path\" must be a string, not {other}"))),
    };
    Ok(PatchOperation { op: kind, path, value: get_ci(op, "value").cloned() })
}

// ---------------------------------------------------------------- dispatch

fn apply_operation(root: &mut Map<String, Value>, op: &PatchOperation, core: &str) -> Result<(), PatchError> {
    if op.op == PatchOpKind::Remove {
        let Some(path) = &op.path else {
            return Err(no_target("remove needs a \"path\" saying what to remove"));
        };
        return remove_at(root, path, op.value.as_ref(), core);
    }
    let Some(value) = &op.value else {
        return Err(invalid_value(format!("{} needs a \"value\"", op.op)));
    };
    match (&op.path, value) {
        (Some(path), value) => write_at(root, path, value, op.op, core),
        (None, Value::Object(attrs)) => write_attrs(root, attrs, op.op, core),
        (None, other) => {
            Err(invalid_value(format!("{} without a \"path\" needs an object of attributes as \"value\", not {other}", op.op)))
        }
    }
}

/// Where a path's attribute lives: at the top level for the resource's core
/// schema, in the object under the URN key for an extension.
enum Scope {
    Core,
    Extension(String),
}

fn scope_of(attr: &AttrPath, core: &str) -> Result<Scope, PatchError> {
    match &attr.schema {
        None => Ok(Scope::Core),
        Some(schema) if schema.eq_ignore_ascii_case(core) => Ok(Scope::Core),
        Some(schema) if schema.get(..CORE_SCHEMA_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX)) => {
            Err(invalid_path(format!("{attr}: {schema} is not the schema of this resource ({core})")))
        }
        Some(schema) => Ok(Scope::Extension(schema.clone())),
    }
}

/// Whether `key` names a whole schema rather than an attribute. Both look like
/// `urn:...:User`, so a key counts as a schema only when it is the core
/// schema, a key of the resource, declared in its `schemas`, or well known.
fn schema_named(root: &Map<String, Value>, key: &str, core: &str) -> Option<Scope> {
    if !key.contains(':') {
        return None;
    }
    if key.eq_ignore_ascii_case(core) {
        return Some(Scope::Core);
    }
    let declared = match get_ci(root, "schemas") {
        Some(Value::Array(schemas)) => schemas.iter().filter_map(Value::as_str).any(|s| s.eq_ignore_ascii_case(key)),
        _ => false,
    };
    let known = declared || find_key(root, key).is_some() || KNOWN_EXTENSIONS.iter().any(|s| s.eq_ignore_ascii_case(key));
    known.then(|| Scope::Extension(key.to_string()))
}

/// A path such as `urn:...:enterprise:2.0:User` parses as schema
/// `urn:...:enterprise:2.0` and attribute `User`; this spots that case.
fn whole_schema(root: &Map<String, Value>, path: &PatchPath, core: &str) -> Option<Scope> {
    if path.filter.is_some() || path.attr.sub_attr.is_some() {
        return None;
    }
    let schema = path.attr.schema.as_ref()?;
    schema_named(root, &format!("{schema}:{}", path.attr.attr), core)
}

fn extension_mut<'m>(root: &'m mut Map<String, Value>, urn: &str, create: bool) -> Result<Option<&'m mut Map<String, Value>>, PatchError> {
    let key = match find_key(root, urn) {
        Some(key) => key,
        None if create => urn.to_string(),
        None => return Ok(None),
    };
    if root.get(&key).is_none_or(Value::is_null) {
        if !create {
            return Ok(None);
        }
        root.insert(key.clone(), Value::Object(Map::new()));
    }
    match root.get_mut(&key) {
        Some(Value::Object(extension)) => Ok(Some(extension)),
        _ => Err(invalid_path(format!("{urn} holds something other than an object in this resource"))),
    }
}

fn is_read_only(name: &str) -> bool {
    READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name))
}

// ---------------------------------------------------------------- add / replace

/// A path-less add or replace: every key of the value is itself a path.
fn write_attrs(root: &mut Map<String, Value>, attrs: &Map<String, Value>, kind: PatchOpKind, core: &str) -> Result<(), PatchError> {
    for (key, value) in attrs {
        match schema_named(root, key, core) {
            Some(scope) => write_schema(root, scope, value, kind, core)?,
            None => {
                let path = parse_path(key).map_err(|e| invalid_path(format!("the value's key {key:?}: {e}")))?;
                write_at(root, &path, value, kind, core)?;
            }
        }
    }
    Ok(())
}

fn write_schema(root: &mut Map<String, Value>, scope: Scope, value: &Value, kind: PatchOpKind, core: &str) -> Result<(), PatchError> {
    match (scope, value) {
        (Scope::Core, Value::Object(attrs)) => write_attrs(root, attrs, kind, core),
        (Scope::Extension(urn), Value::Object(attrs)) => {
            let Some(extension) = extension_mut(root, &urn, true)? else {
                return Err(no_target(format!("{urn} could not be created")));
            };
            for (key, value) in attrs {
                let path = parse_path(key).map_err(|e| invalid_path(format!("{urn} key {key:?}: {e}")))?;
                if path.attr.schema.is_some() {
                    return Err(invalid_path(format!("inside the {urn} object, {key:?} must be a plain attribute name")));
                }
                write_in(extension, &path, value, kind)?;
            }
            Ok(())
        }
        (Scope::Extension(urn), Value::Null) => {
            remove_key(root, &urn);
            Ok(())
        }
        (Scope::Core, _) => Err(invalid_value(format!("the value for {core} must be an object of attributes"))),
        (Scope::Extension(urn), _) => Err(invalid_value(format!("the value for {urn} must be an object of attributes"))),
    }
}

fn write_at(root: &mut Map<String, Value>, path: &PatchPath, value: &Value, kind: PatchOpKind, core: &str) -> Result<(), PatchError> {
    if let Some(scope) = whole_schema(root, path, core) {
        return write_schema(root, scope, value, kind, core);
    }
    match scope_of(&path.attr, core)? {
        Scope::Core if is_read_only(&path.attr.attr) => {
            // Okta resends the id it already knows along with real changes;
            // writing a read-only attribute's current value changes nothing.
            let unchanged = path.filter.is_none() && path.attr.sub_attr.is_none() && get_ci(root, &path.attr.attr) == Some(value);
            if unchanged { Ok(()) } else { Err(mutability(format!("{path} is read-only"))) }
        }
        Scope::Core => write_in(root, path, value, kind),
        Scope::Extension(urn) => match extension_mut(root, &urn, !value.is_null())? {
            Some(extension) => write_in(extension, path, value, kind),
            None => Ok(()),
        },
    }
}

fn write_in(map: &mut Map<String, Value>, path: &PatchPath, value: &Value, kind: PatchOpKind) -> Result<(), PatchError> {
    let name = &path.attr.attr;
    match (&path.filter, &path.attr.sub_attr) {
        (None, None) => {
            set_attr(map, name, value, kind);
            Ok(())
        }
        (None, Some(sub)) => set_sub_attr(map, name, sub, value, kind),
        (Some(filter), None) => set_filtered(map, name, filter, path.sub_attr_after_filter.as_deref(), value, kind),
        (Some(_), Some(_)) => Err(invalid_path(format!("{path}: a filter must follow the attribute name, not a sub-attribute"))),
    }
}

/// Sets one attribute: multi-valued ones get the values appended (add) or are
/// replaced wholesale (replace), complex ones are merged sub-attribute by
/// sub-attribute, anything else is overwritten. A null value unassigns
/// (RFC 7643 §2.5 treats null and absent alike).
fn set_attr(map: &mut Map<String, Value>, name: &str, value: &Value, kind: PatchOpKind) {
    if value.is_null() {
        remove_key(map, name);
        return;
    }
    let Some(key) = find_key(map, name) else {
        map.insert(name.to_string(), value.clone());
        prune(map, name);
        return;
    };
    match (map.get_mut(&key), value) {
        (Some(Value::Array(items)), _) if kind == PatchOpKind::Add => append(items, value, name),
        (Some(Value::Array(items)), Value::Array(new)) => items.clone_from(new),
        (Some(Value::Array(items)), single) => *items = vec![single.clone()],
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (sub, sub_value) in new {
                set_attr(existing, sub, sub_value, kind);
            }
        }
        (Some(slot), _) => *slot = value.clone(),
        (None, _) => {}
    }
    prune(map, &key);
}

fn append(items: &mut Vec<Value>, value: &Value, name: &str) {
    let new = match value {
        Value::Array(new) => new.as_slice(),
        single => std::slice::from_ref(single),
    };
    for element in new {
        if !items.iter().any(|existing| same_element(existing, element, name)) {
            items.push(element.clone());
        }
    }
}

/// Exact duplicates are skipped everywhere; group members are also the same
/// member when their ids agree, whatever `display` or `$ref` came along.
fn same_element(a: &Value, b: &Value, name: &str) -> bool {
    a == b || (name.eq_ignore_ascii_case("members") && value_sub_attr(a).is_some() && value_sub_attr(a) == value_sub_attr(b))
}

fn set_sub_attr(map: &mut Map<String, Value>, name: &str, sub: &str, value: &Value, kind: PatchOpKind) -> Result<(), PatchError> {
    let key = match find_key(map, name) {
        Some(key) => key,
        None if value.is_null() => return Ok(()),
        None => name.to_string(),
    };
    if map.get(&key).is_none_or(Value::is_null) {
        map.insert(key.clone(), Value::Object(Map::new()));
    }
    match map.get_mut(&key) {
        Some(Value::Object(parent)) => set_attr(parent, sub, value, kind),
        // Without a filter, `emails.display` means that sub-attribute of every element.
        Some(Value::Array(items)) => {
            if items.is_empty() && !value.is_null() {
                items.push(Value::Object(Map::from_iter([(sub.to_string(), value.clone())])));
            }
            for item in items.iter_mut() {
                let Value::Object(element) = item else {
                    return Err(invalid_path(format!("{name} holds simple values, so {name}.{sub} does not exist")));
                };
                set_attr(element, sub, value, kind);
            }
        }
        _ => return Err(invalid_path(format!("{name} is not a complex attribute, so {name}.{sub} does not exist"))),
    }
    prune(map, &key);
    Ok(())
}

fn set_filtered(
    map: &mut Map<String, Value>,
    name: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: &Value,
    kind: PatchOpKind,
) -> Result<(), PatchError> {
    let key = find_key(map, name).unwrap_or_else(|| name.to_string());
    let hits = matching_indices(map, &key, name, filter)?;
    if hits.is_empty() {
        if value.is_null() {
            return Ok(());
        }
        let element = new_element(filter, sub, value).ok_or_else(|| {
            no_target(format!("no element of {name} matches [{filter}], and only an `attribute eq value` filter says what to add"))
        })?;
        match map.get_mut(&key) {
            Some(Value::Array(items)) => items.push(element),
            _ => {
                map.insert(key, Value::Array(vec![element]));
            }
        }
        return Ok(());
    }
    let Some(Value::Array(items)) = map.get_mut(&key) else { return Ok(()) };
    match sub {
        Some(sub) => {
            for &i in &hits {
                let Some(Value::Object(element)) = items.get_mut(i) else {
                    return Err(invalid_path(format!("the elements of {name} matching [{filter}] have no sub-attributes")));
                };
                set_attr(element, sub, value, kind);
            }
        }
        None if value.is_null() => {
            let mut index = 0;
            items.retain(|_| {
                index += 1;
                !hits.contains(&(index - 1))
            });
        }
        None => {
            for &i in &hits {
                match (items.get_mut(i), value) {
                    (Some(Value::Object(element)), Value::Object(fields)) => {
                        for (field, field_value) in fields {
                            set_attr(element, field, field_value, kind);
                        }
                    }
                    (Some(element), _) => *element = value.clone(),
                    (None, _) => {}
                }
            }
        }
    }
    prune(map, &key);
    Ok(())
}

fn matching_indices(map: &Map<String, Value>, key: &str, name: &str, filter: &Filter) -> Result<Vec<usize>, PatchError> {
    match map.get(key) {
        Some(Value::Array(items)) => {
            Ok(items.iter().enumerate().filter(|(_, item)| matches_value(filter, item, name)).map(|(i, _)| i).collect())
        }
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(invalid_path(format!("{name} is not multi-valued, so it cannot take a filter"))),
    }
}

/// Entra writes `emails[type eq "work"].value` before any work email exists;
/// when the filter is a single `attr eq literal` it describes the element to
/// create. Any other filter leaves no way to know what to add.
fn new_element(filter: &Filter, sub: Option<&str>, value: &Value) -> Option<Value> {
    let Filter::Compare { path: AttrPath { schema: None, attr, sub_attr: None }, op: CompareOp::Eq, value: literal } = filter else {
        return None;
    };
    if literal.is_null() {
        return None;
    }
    let mut element = match (sub, value) {
        (Some(sub), value) => Map::from_iter([(sub.to_string(), value.clone())]),
        (None, Value::Object(fields)) => fields.clone(),
        (None, _) => return None,
    };
    if find_key(&element, attr).is_none() {
        element.insert(attr.clone(), literal.clone());
    }
    Some(Value::Object(element))
}

// ---------------------------------------------------------------- remove

fn remove_at(root: &mut Map<String, Value>, path: &PatchPath, value: Option<&Value>, core: &str) -> Result<(), PatchError> {
    match whole_schema(root, path, core) {
        Some(Scope::Core) => return Err(mutability(format!("{path} is the resource's core schema and cannot be removed"))),
        Some(Scope::Extension(urn)) => {
            remove_key(root, &urn);
            return Ok(());
        }
        None => {}
    }
    match scope_of(&path.attr, core)? {
        Scope::Core if is_read_only(&path.attr.attr) => Err(mutability(format!("{path} is read-only"))),
        Scope::Core => remove_in(root, path, value),
        Scope::Extension(urn) => match extension_mut(root, &urn, false)? {
            Some(extension) => remove_in(extension, path, value),
            None => Ok(()),
        },
    }
}

/// Removing what is not there succeeds: the resource already is as asked.
fn remove_in(map: &mut Map<String, Value>, path: &PatchPath, value: Option<&Value>) -> Result<(), PatchError> {
    let name = &path.attr.attr;
    let Some(key) = find_key(map, name) else { return Ok(()) };
    match (&path.filter, &path.attr.sub_attr, map.get_mut(&key)) {
        (Some(_), Some(_), _) => return Err(invalid_path(format!("{path}: a filter must follow the attribute name, not a sub-attribute"))),
        (Some(filter), None, Some(Value::Array(items))) => match path.sub_attr_after_filter.as_deref() {
            None => items.retain(|item| !matches_value(filter, item, name)),
            Some(sub) => {
                for item in items.iter_mut() {
                    if matches_value(filter, item, name)
                        && let Value::Object(element) = item
                    {
                        remove_key(element, sub);
                    }
                }
            }
        },
        (Some(_), None, None | Some(Value::Null)) => {}
        (Some(_), None, Some(_)) => return Err(invalid_path(format!("{name} is not multi-valued, so it cannot take a filter"))),
        (None, Some(sub), Some(Value::Object(parent))) => remove_key(parent, sub),
        (None, Some(sub), Some(Value::Array(items))) => {
            for item in items.iter_mut() {
                if let Value::Object(element) = item {
                    remove_key(element, sub);
                }
            }
        }
        (None, Some(_), _) => {}
        // Entra's older way to remove group members names them in the value
        // instead of a filter; only those elements go.
        (None, None, Some(Value::Array(items))) if value.is_some_and(|v| !v.is_null()) => {
            let listed = match value {
                Some(Value::Array(listed)) => listed.as_slice(),
                Some(single) => std::slice::from_ref(single),
                None => &[],
            };
            items.retain(|item| !listed.iter().any(|l| is_listed(item, l)));
        }
        (None, None, _) => {
            map.remove(&key);
        }
    }
    prune(map, &key);
    Ok(())
}

/// A listed `{"value": id}` names the element with that `value`, whatever
/// else either side carries; anything else must match exactly.
fn is_listed(element: &Value, listed: &Value) -> bool {
    match (value_sub_attr(element), value_sub_attr(listed)) {
        (Some(a), Some(b)) => a == b,
        _ => element == listed,
    }
}

// ---------------------------------------------------------------- maps

fn value_sub_attr(element: &Value) -> Option<&Value> {
    element.as_object().and_then(|o| get_ci(o, "value"))
}

/// The existing key that `name` designates (attribute names are
/// case-insensitive, RFC 7643 §2.1), or None when there is none.
fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn remove_key(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = find_key(map, name) {
        map.remove(&key);
    }
}

/// An empty multi-valued attribute is the same as an unassigned one
/// (RFC 7643 §2.5), and clients expect it gone rather than `[]`.
fn prune(map: &mut Map<String, Value>, key: &str) {
    if map.get(key).is_some_and(|v| v.as_array().is_some_and(Vec::is_empty)) {
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::tests::check_property;
    use proptest::prelude::*;
    use serde_json::json;

    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": [USER, ENTERPRISE],
            "id": "2819c223",
            "userName": "bjensen",
            "displayName": "Babs Jensen",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "babs@work.example", "type": "work", "primary": true},
                {"value": "babs@home.example", "type": "home"}
            ],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            ENTERPRISE: {"department": "Tour Operations", "manager": {"value": "26118915"}}
        })
    }

    fn group() -> Value {
        json!({
            "schemas": [GROUP],
            "id": "e9e30dba",
            "displayName": "Tour Guides",
            "members": [{"value": "id1", "display": "One"}, {"value": "id2"}, {"value": "ID3"}]
        })
    }

    fn body(ops: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
    }

    fn try_patch(resource: &Value, core: &str, ops: Value) -> Result<Value, PatchError> {
        let ops = parse_patch_request(&body(ops))?;
        apply_patch(resource, &ops, core)
    }

    fn patch_user(ops: Value) -> Value {
        try_patch(&user(), USER, ops).unwrap_or_else(|e| panic!("patch should apply: {e}"))
    }

    fn patch_group(ops: Value) -> Value {
        try_patch(&group(), GROUP, ops).unwrap_or_else(|e| panic!("patch should apply: {e}"))
    }

    fn user_error(ops: Value) -> PatchError {
        try_patch(&user(), USER, ops).expect_err("patch should fail")
    }

    fn members(group: &Value) -> Vec<&str> {
        group["members"].as_array().map(|m| m.iter().filter_map(|m| m["value"].as_str()).collect()).unwrap_or_default()
    }

    // ------------------------------------------------------------ parsing

    #[test]
    fn parses_entra_request() {
        let ops = parse_patch_request(&json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@b.c"},
                {"op": "Replace", "path": "displayName", "value": "X"},
                {"op": "Remove", "path": "members", "value": [{"value": "id1"}]}
            ]
        }))
        .unwrap();
        assert_eq!(ops.iter().map(|o| o.op).collect::<Vec<_>>(), [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]);
        assert_eq!(ops[0].path.as_ref().map(ToString::to_string).as_deref(), Some("emails[type eq \"work\"].value"));
        assert_eq!(ops[0].value, Some(json!("a@b.c")));
    }

    #[test]
    fn operations_key_and_fields_are_case_insensitive() {
        let ops = parse_patch_request(&json!({"operations": [{"OP": "rEpLaCe", "Path": "active", "Value": false}]})).unwrap();
        assert_eq!(
            ops,
            [PatchOperation { op: PatchOpKind::Replace, path: Some(parse_path("active").unwrap()), value: Some(json!(false)) }]
        );
        let ops = parse_patch_request(&body(json!([{"op": "ADD", "value": {"active": true}}]))).unwrap();
        assert_eq!((ops[0].op, &ops[0].path), (PatchOpKind::Add, &None));
    }

    #[test]
    fn missing_or_invalid_op_is_invalid_syntax() {
        for op in [json!({"path": "x", "value": 1}), json!({"op": "copy", "path": "x"}), json!({"op": 1}), json!("add")] {
            let e = parse_patch_request(&body(json!([op]))).unwrap_err();
            assert_eq!(e.scim_type, "invalidSyntax", "{e}");
            assert!(e.detail.starts_with("Operations[0]: "), "{e}");
        }
    }

    #[test]
    fn malformed_bodies_are_invalid_syntax() {
        for bad in [
            json!([]),
            json!({}),
            json!({"Operations": {}}),
            json!({"Operations": []}),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "add", "value": {}}]}),
        ] {
            assert_eq!(parse_patch_request(&bad).unwrap_err().scim_type, "invalidSyntax", "{bad}");
        }
    }

    #[test]
    fn bad_path_is_invalid_path() {
        for path in [json!("emails["), json!(""), json!("name..x"), json!(7)] {
            let e = parse_patch_request(&body(json!([{"op": "remove", "path": path}]))).unwrap_err();
            assert_eq!(e.scim_type, "invalidPath", "{e}");
        }
    }

    // ------------------------------------------------------------ names and read-only

    #[test]
    fn attribute_names_match_existing_keys_case_insensitively() {
        let u = patch_user(json!([{"op": "replace", "path": "displayname", "value": "Babs"}]));
        assert_eq!(u["displayName"], "Babs");
        assert!(u.get("displayname").is_none());
        let u = patch_user(json!([{"op": "replace", "value": {"USERNAME": "b2", "Name.GivenName": "B"}}]));
        assert_eq!((u["userName"].as_str(), u["name"]["givenName"].as_str()), (Some("b2"), Some("B")));
        let u = patch_user(json!([{"op": "add", "path": "nickName", "value": "Babs"}]));
        assert_eq!(u["nickName"], "Babs", "a new key is written as the path spells it");
    }

    #[test]
    fn read_only_attributes_are_refused() {
        for op in [
            json!({"op": "replace", "path": "id", "value": "other"}),
            json!({"op": "add", "path": "meta", "value": {"version": "W/\"2\""}}),
            json!({"op": "replace", "path": "meta.version", "value": "W/\"2\""}),
            json!({"op": "remove", "path": "schemas"}),
            json!({"op": "remove", "path": "ID"}),
            json!({"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:id", "value": "other"}),
            json!({"op": "replace", "value": {"meta": {"resourceType": "Group"}}}),
            json!({"op": "add", "value": {"schemas": [USER]}}),
        ] {
            assert_eq!(user_error(json!([op])).scim_type, "mutability", "{op}");
        }
    }

    #[test]
    fn replacing_id_with_its_current_value_is_ignored() {
        let u = patch_user(json!([{"op": "replace", "path": "id", "value": "2819c223"}]));
        assert_eq!(u, user());
        // Okta's group rename carries the id along.
        let g = patch_group(json!([{"op": "replace", "value": {"id": "e9e30dba", "displayName": "Guides"}}]));
        assert_eq!((g["id"].as_str(), g["displayName"].as_str()), (Some("e9e30dba"), Some("Guides")));
    }

    // ------------------------------------------------------------ add / replace without path

    #[test]
    fn add_without_path_takes_entra_dotted_and_urn_keys() {
        let u = patch_user(json!([{"op": "add", "value": {
            "name.givenName": "Babs",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Tour Guide"
        }}]));
        assert_eq!(u["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
        assert_eq!(u[ENTERPRISE]["department"], "Sales");
        assert_eq!(u[ENTERPRISE]["employeeNumber"], "701984");
        assert_eq!(u[ENTERPRISE]["manager"], json!({"value": "26118915"}));
        assert_eq!(u["title"], "Tour Guide");
    }

    #[test]
    fn add_without_path_creates_the_extension_object() {
        let bare = json!({"schemas": [USER], "id": "1", "userName": "a"});
        let ops = parse_patch_request(&body(json!([{"op": "add", "value": {format!("{ENTERPRISE}:department"): "Sales"}}]))).unwrap();
        assert_eq!(apply_patch(&bare, &ops, USER).unwrap()[ENTERPRISE], json!({"department": "Sales"}));
        let ops = parse_patch_request(&body(json!([{"op": "add", "value": {ENTERPRISE: {"costCenter": "4130"}}}]))).unwrap();
        assert_eq!(apply_patch(&bare, &ops, USER).unwrap()[ENTERPRISE], json!({"costCenter": "4130"}));
    }

    #[test]
    fn add_without_path_merges_nested_objects() {
        let u = patch_user(json!([{"op": "add", "value": {
            "name": {"givenName": "Babs", "middleName": "J"},
            ENTERPRISE: {"division": "Theme Park"}
        }}]));
        assert_eq!(u["name"], json!({"givenName": "Babs", "middleName": "J", "familyName": "Jensen"}));
        assert_eq!(u[ENTERPRISE]["division"], "Theme Park");
        assert_eq!(u[ENTERPRISE]["department"], "Tour Operations");
    }

    #[test]
    fn add_without_path_appends_multi_valued_skipping_duplicates() {
        let u = patch_user(json!([{"op": "add", "value": {"emails": [
            {"value": "babs@work.example", "type": "work", "primary": true},
            {"value": "babs@other.example", "type": "other"}
        ]}}]));
        let emails: Vec<&str> = u["emails"].as_array().unwrap().iter().map(|e| e["value"].as_str().unwrap()).collect();
        assert_eq!(emails, ["babs@work.example", "babs@home.example", "babs@other.example"]);
    }

    #[test]
    fn add_without_path_replaces_simple_values() {
        let u = patch_user(json!([{"op": "add", "value": {"displayName": "B. Jensen", "active": false}}]));
        assert_eq!((u["displayName"].as_str(), u["active"].as_bool()), (Some("B. Jensen"), Some(false)));
    }

    #[test]
    fn replace_without_path_sets_values_without_coercion() {
        let u = patch_user(json!([{"op": "replace", "value": {"active": false}}]));
        assert_eq!(u["active"], json!(false));
        let u = patch_user(json!([{"op": "Replace", "value": {"active": "False"}}]));
        assert_eq!(u["active"], json!("False"), "the caller converts types, not the patcher");
    }

    #[test]
    fn replace_without_path_replaces_multi_valued_wholesale() {
        let u = patch_user(json!([{"op": "replace", "value": {"emails": [{"value": "new@example.com", "type": "work"}]}}]));
        assert_eq!(u["emails"], json!([{"value": "new@example.com", "type": "work"}]));
    }

    #[test]
    fn okta_members_value_without_path_is_an_add() {
        let g = patch_group(json!([{"op": "add", "value": {"members": [{"value": "id4", "display": "Four"}, {"value": "id1"}]}}]));
        assert_eq!(members(&g), ["id1", "id2", "ID3", "id4"]);
    }

    // ------------------------------------------------------------ add / replace with path

    #[test]
    fn add_with_path_appends_to_multi_valued() {
        let g = patch_group(json!([{"op": "Add", "path": "members", "value": [{"value": "id4"}, {"value": "id2", "display": "Two"}]}]));
        assert_eq!(members(&g), ["id1", "id2", "ID3", "id4"], "id2 is already a member");
        let g = patch_group(json!([{"op": "add", "path": "members", "value": {"value": "id5"}}]));
        assert_eq!(members(&g), ["id1", "id2", "ID3", "id5"]);
        let g = patch_group(json!([{"op": "add", "path": "members", "value": [{"value": "id3"}]}]));
        assert_eq!(members(&g), ["id1", "id2", "ID3", "id3"], "member ids are case-exact");
        let empty = json!({"schemas": [GROUP], "id": "g", "displayName": "G"});
        let ops = parse_patch_request(&body(json!([{"op": "add", "path": "members", "value": [{"value": "id1"}]}]))).unwrap();
        assert_eq!(apply_patch(&empty, &ops, GROUP).unwrap()["members"], json!([{"value": "id1"}]));
    }

    #[test]
    fn replace_with_path_overwrites() {
        let g = patch_group(json!([{"op": "replace", "path": "members", "value": [{"value": "id9"}]}]));
        assert_eq!(members(&g), ["id9"]);
        let u = patch_user(json!([{"op": "replace", "path": "displayName", "value": "B"}]));
        assert_eq!(u["displayName"], "B");
        let u = patch_user(json!([{"op": "replace", "path": "name", "value": {"familyName": "J"}}]));
        assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "J"}), "complex values merge (RFC 7644 §3.5.2.3)");
    }

    #[test]
    fn replace_with_null_or_empty_array_unassigns() {
        let u = patch_user(json!([{"op": "replace", "path": "displayName", "value": null}]));
        assert!(u.get("displayName").is_none());
        let u = patch_user(json!([{"op": "replace", "path": "emails", "value": []}]));
        assert!(u.get("emails").is_none());
    }

    #[test]
    fn sub_attribute_path_creates_the_parent() {
        let bare = json!({"schemas": [USER], "id": "1", "userName": "a"});
        let ops = parse_patch_request(&body(json!([{"op": "add", "path": "name.familyName", "value": "Jensen"}]))).unwrap();
        assert_eq!(apply_patch(&bare, &ops, USER).unwrap()["name"], json!({"familyName": "Jensen"}));
        let u = patch_user(json!([{"op": "replace", "path": "name.familyName", "value": "J"}]));
        assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "J"}));
        let ops = parse_patch_request(&body(json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "26118915"}]))).unwrap();
        assert_eq!(apply_patch(&bare, &ops, USER).unwrap()[ENTERPRISE], json!({"manager": "26118915"}));
    }

    #[test]
    fn sub_attribute_of_a_simple_attribute_is_invalid_path() {
        assert_eq!(user_error(json!([{"op": "add", "path": "userName.x", "value": "y"}])).scim_type, "invalidPath");
    }

    #[test]
    fn urn_qualified_core_path_means_top_level() {
        let u = patch_user(json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "b2"}]));
        assert_eq!(u["userName"], "b2");
        let e = user_error(json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}]));
        assert_eq!(e.scim_type, "invalidPath");
    }

    // ------------------------------------------------------------ filtered paths

    #[test]
    fn filtered_path_updates_every_matching_element() {
        let mut resource = user();
        resource["emails"].as_array_mut().unwrap().push(json!({"value": "second@work.example", "type": "Work"}));
        let ops = parse_patch_request(&body(json!([{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "W"}]))).unwrap();
        let u = apply_patch(&resource, &ops, USER).unwrap();
        let displays: Vec<Option<&str>> = u["emails"].as_array().unwrap().iter().map(|e| e["display"].as_str()).collect();
        assert_eq!(displays, [Some("W"), None, Some("W")]);
        let u = patch_user(json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@new.example"}]));
        assert_eq!(u["emails"][0], json!({"value": "b@new.example", "type": "work", "primary": true}));
    }

    #[test]
    fn replace_filtered_without_match_appends_for_a_single_eq() {
        let u = patch_user(json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x.example"}]));
        assert_eq!(u["emails"][2], json!({"type": "other", "value": "o@x.example"}));
        let u = patch_user(json!([{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}]));
        assert_eq!(u["addresses"], json!([{"type": "work", "streetAddress": "1 Main St"}]));
    }

    #[test]
    fn add_filtered_without_match_appends_like_replace() {
        let u = patch_user(json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}]));
        assert_eq!(u["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555"}]));
    }

    #[test]
    fn filtered_without_match_and_other_filter_is_no_target() {
        for path in ["emails[type eq \"x\" and primary eq true].value", "emails[type co \"x\"].value", "emails[type eq null].value"] {
            let e = user_error(json!([{"op": "replace", "path": path, "value": "v"}]));
            assert_eq!(e.scim_type, "noTarget", "{path}");
        }
    }

    #[test]
    fn filtered_without_sub_attribute_merges_matching_elements() {
        let u = patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "b@new.example"}}]));
        assert_eq!(u["emails"][0], json!({"value": "b@new.example", "type": "work", "primary": true}));
        assert_eq!(u["emails"][1], user()["emails"][1]);
        let u = patch_user(json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x.example"}}]));
        assert_eq!(u["emails"][2], json!({"type": "other", "value": "o@x.example"}));
    }

    #[test]
    fn filter_on_a_simple_attribute_is_invalid_path() {
        assert_eq!(user_error(json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "y"}])).scim_type, "invalidPath");
    }

    // ------------------------------------------------------------ remove

    #[test]
    fn remove_without_path_is_no_target() {
        assert_eq!(user_error(json!([{"op": "remove", "value": {"displayName": "x"}}])).scim_type, "noTarget");
    }

    #[test]
    fn remove_with_path_deletes_the_attribute() {
        let u = patch_user(json!([{"op": "remove", "path": "displayName"}]));
        assert!(u.get("displayName").is_none());
        let u = patch_user(json!([{"op": "Remove", "path": "name.familyName"}]));
        assert_eq!(u["name"], json!({"givenName": "Barbara"}));
        let u = patch_user(json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]));
        assert_eq!(u[ENTERPRISE], json!({"department": "Tour Operations"}));
        let u = patch_user(json!([{"op": "remove", "path": ENTERPRISE}]));
        assert!(u.get(ENTERPRISE).is_none());
        let g = patch_group(json!([{"op": "remove", "path": "members"}]));
        assert!(g.get("members").is_none());
    }

    #[test]
    fn remove_with_filter_removes_matching_elements() {
        let g = patch_group(json!([{"op": "remove", "path": "members[value eq \"id2\"]"}]));
        assert_eq!(members(&g), ["id1", "ID3"]);
        let u = patch_user(json!([{"op": "remove", "path": "emails[type eq \"WORK\"]"}]));
        assert_eq!(u["emails"], json!([{"value": "babs@home.example", "type": "home"}]));
        let u = patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
        assert_eq!(u["emails"][0], json!({"value": "babs@work.example", "type": "work"}));
    }

    #[test]
    fn remove_with_filter_matching_nothing_succeeds_unchanged() {
        assert_eq!(patch_group(json!([{"op": "remove", "path": "members[value eq \"nope\"]"}])), group());
        assert_eq!(
            patch_group(
                json!([{"op": "remove", "path": "members[value eq \"id1\"]"}, {"op": "remove", "path": "members[value eq \"id1\"]"}])
            ),
            {
                let mut g = group();
                g["members"].as_array_mut().unwrap().remove(0);
                g
            }
        );
        assert_eq!(patch_group(json!([{"op": "remove", "path": "members[value eq \"id3\"]"}])), group(), "member ids are case-exact");
    }

    #[test]
    fn entra_member_removal_with_value_removes_only_listed() {
        let g = patch_group(json!([{"op": "Remove", "path": "members", "value": [{"value": "id1"}, {"value": "ID3"}]}]));
        assert_eq!(g["members"], json!([{"value": "id2"}]));
        let g = patch_group(json!([{"op": "Remove", "path": "members", "value": {"value": "id2"}}]));
        assert_eq!(members(&g), ["id1", "ID3"]);
    }

    #[test]
    fn removing_an_absent_attribute_succeeds() {
        assert_eq!(patch_user(json!([{"op": "remove", "path": "nickName"}])), user());
        assert_eq!(patch_user(json!([{"op": "remove", "path": "addresses[type eq \"work\"]"}])), user());
        assert_eq!(patch_user(json!([{"op": "remove", "path": "x509Certificates.value"}])), user());
        let bare = json!({"schemas": [USER], "id": "1"});
        let ops = parse_patch_request(&body(json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")}]))).unwrap();
        assert_eq!(apply_patch(&bare, &ops, USER).unwrap(), bare);
    }

    #[test]
    fn an_array_left_empty_is_removed() {
        let g = patch_group(json!([{"op": "remove", "path": "members", "value": [{"value": "id1"}, {"value": "id2"}, {"value": "ID3"}]}]));
        assert!(g.get("members").is_none(), "{g}");
        let g = patch_group(json!([{"op": "remove", "path": "members[value pr]"}]));
        assert!(g.get("members").is_none(), "{g}");
        let u = patch_user(json!([
            {"op": "remove", "path": "emails[type eq \"work\"]"},
            {"op": "remove", "path": "emails[type eq \"home\"]"}
        ]));
        assert!(u.get("emails").is_none(), "{u}");
    }

    // ------------------------------------------------------------ values and atomicity

    #[test]
    fn missing_value_is_invalid_value() {
        for op in [
            json!({"op": "add", "path": "displayName"}),
            json!({"op": "replace", "path": "displayName"}),
            json!({"op": "add"}),
            json!({"op": "replace", "value": "not an object"}),
            json!({"op": "add", "value": null}),
            json!({"op": "add", "path": ENTERPRISE, "value": "x"}),
        ] {
            assert_eq!(user_error(json!([op])).scim_type, "invalidValue", "{op}");
        }
    }

    #[test]
    fn a_failing_operation_leaves_the_input_unchanged() {
        let original = user();
        let ops = parse_patch_request(&body(json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "id", "value": "other"}
        ])))
        .unwrap();
        let e = apply_patch(&original, &ops, USER).unwrap_err();
        assert_eq!(e.scim_type, "mutability");
        assert!(e.detail.starts_with("Operations[1]: "), "{e}");
        assert_eq!(original, user());
        let applied = apply_patch(&original, &ops[..1], USER).unwrap();
        assert_eq!(applied["displayName"], "Changed");
        assert_eq!(original, user(), "success does not touch the input either");
    }

    #[test]
    fn non_object_resource_is_refused() {
        assert_eq!(apply_patch(&json!([1]), &[], USER).unwrap_err().scim_type, "invalidValue");
    }

    const PATHS: &[&str] = &[
        "members",
        "members[value eq \"id1\"]",
        "members[value eq \"id1\"].display",
        "emails[type eq \"work\"].value",
        "emails[type co \"o\" or primary eq true]",
        "emails.value",
        "name",
        "name.givenName",
        "userName",
        "userName.x",
        "id",
        "meta.version",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"home\"]",
    ];

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), "[a-z0-9]{0,3}".prop_map(Value::String)];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(prop::sample::select(&["value", "type", "display", "givenName", "id"][..]), inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    fn arb_op() -> impl Strategy<Value = PatchOperation> {
        let kind = prop::sample::select(&[PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove][..]);
        let path = prop::option::of(prop::sample::select(PATHS).prop_map(|p| parse_path(p).unwrap()));
        (kind, path, prop::option::of(arb_value())).prop_map(|(op, path, value)| PatchOperation { op, path, value })
    }

    #[test]
    fn prop_apply_patch_never_panics_and_never_mutates() {
        let fixtures = [(user(), USER), (group(), GROUP)];
        check_property("apply_patch never panics nor mutates its input", prop::collection::vec(arb_op(), 1..4), |ops| {
            for (resource, core) in &fixtures {
                let before = resource.clone();
                let _ = apply_patch(resource, &ops, core);
                prop_assert_eq!(resource, &before);
            }
            Ok(())
        });
    }
}
