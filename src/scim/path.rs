//! The `path` of a SCIM PATCH operation (RFC 7644 §3.5.2):
//! `PATH = attrPath / valuePath [subAttr]`, e.g. `members`, `name.familyName`,
//! `emails[type eq "work"].value` or an attribute qualified by its schema URN.

use std::fmt;

use super::filter::{self, AttrPath, Filter, parse_filter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub_attr_after_filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid PATCH path: {message}")]
pub struct PathError {
    pub message: String,
}

pub fn parse_path(input: &str) -> Result<PatchPath, PathError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(path_error("the path is empty"));
    }
    // The attribute part cannot contain '[' (nor quotes), so the first '[' is
    // where a filter starts even if the filter's strings contain brackets.
    let Some(open) = text.find('[') else {
        if text.contains(']') {
            return Err(path_error(format!("a ']' appears in '{text}' without a '[' before it")));
        }
        let attr = attr_path(text)?;
        return Ok(PatchPath { attr, filter: None, sub_attr_after_filter: None });
    };
    let attr = attr_path(text[..open].trim_end())?;
    if attr.sub_attr.is_some() {
        return Err(path_error(format!("in '{text}' the '[' must follow an attribute name, not a sub-attribute")));
    }
    let close = closing_bracket(text, open).ok_or_else(|| path_error(format!("the '[' in '{text}' is never closed by a ']'")))?;
    let inner = &text[open + 1..close];
    let filter = parse_filter(inner).map_err(|e| path_error(format!("the filter inside '[...]' of '{text}': {e}")))?;
    let rest = &text[close + 1..];
    let sub_attr_after_filter = if rest.is_empty() {
        None
    } else {
        let Some(name) = rest.strip_prefix('.') else {
            return Err(path_error(format!("after ']' in '{text}' only '.' and a sub-attribute name may follow")));
        };
        Some(sub_attr_name(name, text)?)
    };
    Ok(PatchPath { attr, filter: Some(filter), sub_attr_after_filter })
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr_after_filter {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

fn path_error(message: impl Into<String>) -> PathError {
    PathError { message: message.into() }
}

fn attr_path(text: &str) -> Result<AttrPath, PathError> {
    AttrPath::parse(text).map_err(|e| path_error(e.message))
}

/// The name after `].` is a bare attribute name: no schema, no further dots.
fn sub_attr_name(name: &str, whole: &str) -> Result<String, PathError> {
    match AttrPath::parse(name) {
        Ok(AttrPath { schema: None, attr, sub_attr: None }) => Ok(attr),
        _ => Err(path_error(format!("'{name}' after ']' in '{whole}' is not a sub-attribute name"))),
    }
}

/// Byte offset of the ']' closing the '[' at `open`, skipping string literals.
fn closing_bracket(text: &str, open: usize) -> Option<usize> {
    let mut i = open + 1;
    while let Some(c) = text.get(i..)?.chars().next() {
        match c {
            ']' => return Some(i),
            '"' => i = filter::string_end(text, i)?,
            _ => i += c.len_utf8(),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::CompareOp;
    use crate::scim::filter::tests::check_property;
    use proptest::prelude::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn attr(schema: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath { schema: schema.map(str::to_string), attr: name.to_string(), sub_attr: sub.map(str::to_string) }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare { path: attr(None, name, None), op: CompareOp::Eq, value: json!(value) }
    }

    fn parse(s: &str) -> PatchPath {
        parse_path(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn plain_attribute() {
        assert_eq!(parse("members"), PatchPath { attr: attr(None, "members", None), filter: None, sub_attr_after_filter: None });
    }

    #[test]
    fn sub_attribute() {
        assert_eq!(
            parse("name.familyName"),
            PatchPath { attr: attr(None, "name", Some("familyName")), filter: None, sub_attr_after_filter: None }
        );
    }

    #[test]
    fn filter_with_sub_attribute() {
        assert_eq!(
            parse("emails[type eq \"work\"].value"),
            PatchPath { attr: attr(None, "emails", None), filter: Some(eq("type", "work")), sub_attr_after_filter: Some("value".into()) }
        );
        assert_eq!(
            parse("addresses[type eq \"work\"].streetAddress"),
            PatchPath {
                attr: attr(None, "addresses", None),
                filter: Some(eq("type", "work")),
                sub_attr_after_filter: Some("streetAddress".into())
            }
        );
    }

    #[test]
    fn filter_without_sub_attribute() {
        assert_eq!(
            parse("members[value eq \"2819c223\"]"),
            PatchPath { attr: attr(None, "members", None), filter: Some(eq("value", "2819c223")), sub_attr_after_filter: None }
        );
    }

    #[test]
    fn urn_qualified_attribute() {
        assert_eq!(
            parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            PatchPath { attr: attr(Some(ENTERPRISE), "manager", None), filter: None, sub_attr_after_filter: None }
        );
        assert_eq!(
            parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").attr,
            attr(Some("urn:ietf:params:scim:schemas:core:2.0:User"), "name", Some("givenName"))
        );
        assert_eq!(
            parse(&format!("{ENTERPRISE}:manager.value")).attr,
            attr(Some(ENTERPRISE), "manager", Some("value")),
            "the dot in 2.0 must not split the path"
        );
        let filtered = parse("urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value");
        assert_eq!(filtered.attr, attr(Some("urn:ietf:params:scim:schemas:core:2.0:User"), "emails", None));
        assert_eq!(filtered.sub_attr_after_filter.as_deref(), Some("value"));
    }

    #[test]
    fn brackets_inside_filter_strings() {
        let p = parse(r#"emails[value eq "a]b[c\"]"].display"#);
        assert_eq!(p.filter, Some(eq("value", "a]b[c\"]")));
        assert_eq!(p.sub_attr_after_filter.as_deref(), Some("display"));
    }

    #[test]
    fn complex_filters_and_whitespace() {
        let p = parse("  emails[type eq \"work\" and not (primary eq false)].value ");
        assert!(matches!(p.filter, Some(Filter::And(..))));
    }

    #[test]
    fn display_round_trips() {
        for text in ["members", "name.familyName", "emails[type eq \"work\"].value", "members[value eq \"2819c223\"]"] {
            assert_eq!(parse(text).to_string(), text);
        }
        let urn = format!("{ENTERPRISE}:manager");
        assert_eq!(parse(&urn).to_string(), urn);
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "emails[",
            "]",
            "",
            "   ",
            "name..x",
            "emails[]",
            "emails[type eq]",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"]value",
            "emails[type eq \"work\"].",
            "emails[type eq \"work\"].a.b",
            "emails[type eq \"work\"].urn:x:y",
            "emails[type eq \"work\"][primary pr]",
            "emails.value[type eq \"work\"]",
            "[type eq \"work\"]",
            "emails[type eq \"wo]rk",
            "emails]",
            "na me",
            "urn:x:",
        ] {
            let err = parse_path(bad).expect_err(bad);
            assert!(err.to_string().starts_with("invalid PATCH path: "), "{err}");
        }
    }

    const TOKENS: &[&str] = &[
        "emails",
        "members",
        "value",
        "name",
        "givenName",
        "$ref",
        "eq",
        "and",
        "or",
        "not",
        "pr",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\"work\"",
        "\\",
        "\\\"",
        ".",
        "..",
        ":",
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
        "é",
        " ",
    ];

    #[test]
    fn prop_parse_path_never_panics_on_any_string() {
        check_property("parse_path(\".*\") never panics", ".*", |s| {
            let _ = parse_path(&s);
            Ok(())
        });
    }

    #[test]
    fn prop_parse_path_never_panics_on_token_soup() {
        let soup = prop::collection::vec(prop::sample::select(TOKENS), 0..30).prop_map(|parts| parts.concat());
        check_property("parse_path(token soup) never panics", soup, |s| {
            let _ = parse_path(&s);
            Ok(())
        });
    }
}
