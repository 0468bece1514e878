//! List queries (RFC 7644 §3.4.2): pagination, sorting and the
//! `attributes` / `excludedAttributes` projection, on SCIM JSON values.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::discovery::MAX_RESULTS;
use super::error::ScimError;
use super::user_json::get_ci;

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The query parameters of a list or a GET, read case-insensitively.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub filter: Option<String>,
    pub start_index: usize,
    pub count: usize,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Query {
    pub fn parse(params: &HashMap<String, String>) -> Result<Query, ScimError> {
        let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let number = |name: &str, default: usize| -> Result<usize, ScimError> {
            match get(name) {
                None => Ok(default),
                // RFC 7644: a negative or zero startIndex means 1, a negative count means 0.
                Some(v) => match v.trim().parse::<i64>() {
                    Ok(n) => Ok(usize::try_from(n.max(0)).unwrap_or(0)),
                    Err(_) => Err(ScimError::invalid_value(format!("{name} must be an integer, got {v:?}"))),
                },
            }
        };
        let list = |name: &str| {
            get(name).map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
        };
        let descending = match get("sortOrder").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => return Err(ScimError::invalid_value(format!("sortOrder must be ascending or descending, got {other:?}"))),
        };
        Ok(Query {
            filter: get("filter").filter(|f| !f.trim().is_empty()),
            start_index: number("startIndex", 1)?.max(1),
            count: number("count", MAX_RESULTS)?.min(MAX_RESULTS),
            sort_by: get("sortBy"),
            descending,
            attributes: list("attributes"),
            excluded: list("excludedAttributes"),
        })
    }

    /// True when the caller asked to leave `attr` out (e.g. `excludedAttributes=members`).
    pub fn excludes(&self, attr: &str) -> bool {
        self.excluded.iter().any(|e| short_name(e).eq_ignore_ascii_case(attr))
            || (!self.attributes.is_empty() && !self.attributes.iter().any(|a| top_level(a).eq_ignore_ascii_case(attr)))
    }
}

/// `urn:...:User:userName` → `userName`; `name.givenName` stays.
fn short_name(path: &str) -> &str {
    for prefix in ["urn:ietf:params:scim:schemas:core:2.0:User:", "urn:ietf:params:scim:schemas:core:2.0:Group:"] {
        if path.len() > prefix.len() && path[..prefix.len()].eq_ignore_ascii_case(prefix) {
            return &path[prefix.len()..];
        }
    }
    path
}

fn top_level(path: &str) -> &str {
    let short = short_name(path);
    if short.to_ascii_lowercase().starts_with("urn:") {
        return short;
    }
    short.split('.').next().unwrap_or(short)
}

/// The parameters of a SearchRequest body, as query parameters.
pub fn search_params(body: &Value) -> Result<HashMap<String, String>, ScimError> {
    let obj = body.as_object().ok_or_else(|| ScimError::bad_request("invalidSyntax", "a SearchRequest must be a JSON object"))?;
    let mut params = HashMap::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            Value::Null => continue,
            other => return Err(ScimError::invalid_value(format!("{key} must be a string, a number or a list of strings, got {other}"))),
        };
        params.insert(key.clone(), text);
    }
    Ok(params)
}

/// Sorts, pages and projects the matching resources into a ListResponse.
pub fn respond(mut resources: Vec<Value>, query: &Query, always_returned: &[&str]) -> Value {
    if let Some(sort_by) = &query.sort_by {
        let path = short_name(sort_by).to_string();
        resources.sort_by(|a, b| {
            let order = compare(sort_key(a, &path), sort_key(b, &path));
            if query.descending { order.reverse() } else { order }
        });
    }
    let total = resources.len();
    let page: Vec<Value> =
        resources.into_iter().skip(query.start_index - 1).take(query.count).map(|r| project(r, query, always_returned)).collect();
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": query.start_index,
        "itemsPerPage": page.len(),
        "Resources": page,
    })
}

fn sort_key(resource: &Value, path: &str) -> Option<String> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut current = get_ci(resource.as_object()?, first)?;
    for part in parts {
        current = get_ci(current.as_object()?, part)?;
    }
    match current {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Array(items) => items.first().and_then(|i| i.get("value")).and_then(Value::as_str).map(str::to_lowercase),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Missing values sort last (RFC 7644 §3.4.2.3).
fn compare(a: Option<String>, b: Option<String>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Applies `attributes` / `excludedAttributes`. `id`, `schemas` and the
/// resource's own `always` attributes (userName, a group's displayName) stay.
pub fn project(resource: Value, query: &Query, always_returned: &[&str]) -> Value {
    let Value::Object(mut obj) = resource else { return resource };
    let always = |k: &str| k == "id" || k == "schemas" || always_returned.iter().any(|a| a.eq_ignore_ascii_case(k));
    if !query.attributes.is_empty() {
        let mut kept = Map::new();
        for (key, value) in obj {
            if always(&key) {
                kept.insert(key, value);
                continue;
            }
            let wanted: Vec<&str> = query
                .attributes
                .iter()
                .map(|a| short_name(a))
                .filter_map(|a| {
                    if a.eq_ignore_ascii_case(&key) {
                        Some("")
                    } else if a.len() > key.len()
                        && a[..key.len()].eq_ignore_ascii_case(&key)
                        && matches!(a.as_bytes()[key.len()], b'.' | b':')
                    {
                        Some(&a[key.len() + 1..])
                    } else {
                        None
                    }
                })
                .collect();
            if wanted.contains(&"") {
                kept.insert(key, value);
            } else if !wanted.is_empty() {
                kept.insert(key, keep_sub(value, &wanted));
            }
        }
        obj = kept;
    }
    for excluded in &query.excluded {
        let name = short_name(excluded);
        if let Some((parent, sub)) = name.split_once('.').filter(|_| !name.to_ascii_lowercase().starts_with("urn:")) {
            if let Some(key) = obj.keys().find(|k| k.eq_ignore_ascii_case(parent)).cloned()
                && let Some(v) = obj.get_mut(&key)
            {
                drop_sub(v, sub);
            }
        } else if let Some(key) = obj.keys().find(|k| k.eq_ignore_ascii_case(name) && !always(k)).cloned() {
            obj.remove(&key);
        }
    }
    Value::Object(obj)
}

fn keep_sub(value: Value, subs: &[&str]) -> Value {
    match value {
        Value::Object(o) => Value::Object(o.into_iter().filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(|i| keep_sub(i, subs)).collect()),
        other => other,
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(o) => o.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
        Value::Array(items) => items.iter_mut().for_each(|i| drop_sub(i, sub)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        Query::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap()
    }

    #[test]
    fn pages_are_one_based_and_bounded() {
        let all: Vec<Value> = (0..5).map(|i| json!({"id": i.to_string()})).collect();
        let page = respond(all.clone(), &q(&[("startIndex", "2"), ("count", "2")]), &[]);
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["itemsPerPage"], 2);
        assert_eq!(page["Resources"][0]["id"], "1");
        let none = respond(all, &q(&[("COUNT", "0")]), &[]);
        assert_eq!(none["itemsPerPage"], 0);
        assert_eq!(none["totalResults"], 5);
        assert_eq!(q(&[("startIndex", "-4")]).start_index, 1);
        assert!(Query::parse(&[("count".to_string(), "ten".to_string())].into()).is_err());
    }

    #[test]
    fn projection_keeps_id_and_honours_sub_attributes() {
        let user = json!({"id": "1", "schemas": ["s"], "userName": "a", "name": {"givenName": "A", "familyName": "B"}, "emails": [{"value": "x", "type": "work"}]});
        let only = project(user.clone(), &q(&[("attributes", "name.givenName,urn:ietf:params:scim:schemas:core:2.0:User:userName")]), &[]);
        assert_eq!(only, json!({"id": "1", "schemas": ["s"], "userName": "a", "name": {"givenName": "A"}}));
        let without = project(user, &q(&[("excludedAttributes", "emails.type,name")]), &[]);
        assert_eq!(without, json!({"id": "1", "schemas": ["s"], "userName": "a", "emails": [{"value": "x"}]}));
        assert!(q(&[("excludedAttributes", "members")]).excludes("members"));
    }

    #[test]
    fn sorting_puts_missing_last() {
        let all = vec![json!({"id": "1", "userName": "b"}), json!({"id": "2"}), json!({"id": "3", "userName": "A"})];
        let sorted = respond(all, &q(&[("sortBy", "userName")]), &[]);
        let ids: Vec<&str> = sorted["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["3", "1", "2"]);
    }
}
