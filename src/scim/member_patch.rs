//! The fast path for the PATCH every IdP sends most: "add these members",
//! "remove this member". Such a PATCH is answered from the operations alone,
//! without building the group's JSON with every member in it, so adding one
//! user to a 50,000-member group costs one small read and one User write.
//!
//! Anything else (replace, remove-all, filters other than `value eq`, other
//! attributes) returns `None` and takes the general PATCH engine; a property
//! test holds both paths to the same result.

use std::collections::BTreeMap;

use serde_json::Value;

use super::filter::{CompareOp, Filter, get_ci};
use super::group_json::GROUP_SCHEMA;
use super::patch::{PatchOpKind, PatchOperation};
use super::path::PatchPath;

/// Member ids added or removed, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDelta {
    changes: Vec<(String, bool)>,
}

impl MemberDelta {
    /// The delta the operations make, when they only add or remove named members.
    pub fn from_ops(ops: &[PatchOperation]) -> Option<MemberDelta> {
        let mut changes = Vec::new();
        for op in ops {
            match (op.op, &op.path) {
                (PatchOpKind::Add, Some(path)) if is_members(path) => add_listed(&mut changes, op.value.as_ref()?)?,
                (PatchOpKind::Add, None) => {
                    let object = op.value.as_ref()?.as_object()?;
                    if object.len() != 1 {
                        return None;
                    }
                    add_listed(&mut changes, get_ci(object, "members")?)?;
                }
                (PatchOpKind::Remove, Some(path)) if is_members(path) => {
                    // `path: members` with no value removes every member: the general path does that.
                    let listed = op.value.as_ref().filter(|v| !v.is_null())?;
                    for id in listed_ids(listed)? {
                        changes.push((id, false));
                    }
                }
                (PatchOpKind::Remove, Some(path)) => changes.push((member_named_by_filter(path)?, false)),
                _ => return None,
            }
        }
        Some(MemberDelta { changes })
    }

    /// `(added, removed)`: the users whose membership actually changes, given who is a member now.
    pub fn resolve(&self, is_member: impl Fn(&str) -> bool) -> (Vec<String>, Vec<String>) {
        let mut last: BTreeMap<&str, bool> = BTreeMap::new();
        for (id, member) in &self.changes {
            last.insert(id, *member);
        }
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for (id, member) in last {
            match (member, is_member(id)) {
                (true, false) => added.push(id.to_string()),
                (false, true) => removed.push(id.to_string()),
                _ => {}
            }
        }
        (added, removed)
    }
}

/// `members`, or `urn:...:core:2.0:Group:members`, with nothing after it.
fn is_members(path: &PatchPath) -> bool {
    path.filter.is_none()
        && path.attr.sub_attr.is_none()
        && path.attr.attr.eq_ignore_ascii_case("members")
        && path.attr.schema.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
}

/// `members[value eq "id"]` names one member.
fn member_named_by_filter(path: &PatchPath) -> Option<String> {
    if !path.attr.attr.eq_ignore_ascii_case("members")
        || path.attr.sub_attr.is_some()
        || path.sub_attr_after_filter.is_some()
        || path.attr.schema.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case(GROUP_SCHEMA))
    {
        return None;
    }
    match path.filter.as_ref()? {
        Filter::Compare { path: attr, op: CompareOp::Eq, value: Value::String(id) }
            if attr.attr.eq_ignore_ascii_case("value") && attr.sub_attr.is_none() && attr.schema.is_none() =>
        {
            Some(id.clone())
        }
        _ => None,
    }
}

fn add_listed(changes: &mut Vec<(String, bool)>, listed: &Value) -> Option<()> {
    for id in listed_ids(listed)? {
        if id.is_empty() {
            return None;
        }
        changes.push((id, true));
    }
    Some(())
}

/// The ids of `[{"value": id}, ...]` (or one such object); `None` if any element is anything else.
fn listed_ids(listed: &Value) -> Option<Vec<String>> {
    let items = match listed {
        Value::Array(items) => items.as_slice(),
        single @ Value::Object(_) => std::slice::from_ref(single),
        _ => return None,
    };
    items.iter().map(|item| get_ci(item.as_object()?, "value")?.as_str().map(str::to_string)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::scim::filter::tests::check_property;
    use crate::scim::group_json::scim_to_group;
    use crate::scim::patch::{apply_patch, parse_patch_request};

    fn ops(operations: Value) -> Vec<PatchOperation> {
        parse_patch_request(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}))
            .expect("valid PATCH")
    }

    fn delta(operations: Value, members: &[&str]) -> Option<(Vec<String>, Vec<String>)> {
        MemberDelta::from_ops(&ops(operations)).map(|d| d.resolve(|id| members.contains(&id)))
    }

    #[test]
    fn entra_and_okta_member_changes_take_the_fast_path() {
        let added = delta(json!([{"op": "Add", "path": "members", "value": [{"value": "u2"}]}]), &["u1"]);
        assert_eq!(added, Some((vec!["u2".into()], vec![])));
        let removed_new_form = delta(json!([{"op": "Remove", "path": "members[value eq \"u1\"]"}]), &["u1"]);
        assert_eq!(removed_new_form, Some((vec![], vec!["u1".into()])));
        let removed_old_form = delta(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]), &["u1"]);
        assert_eq!(removed_old_form, Some((vec![], vec!["u1".into()])));
        let okta_push = delta(
            json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}]}, {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u3"}]}]),
            &["u1"],
        );
        assert_eq!(okta_push, Some((vec!["u3".into()], vec![])));
        let no_path = delta(json!([{"op": "add", "value": {"members": [{"value": "u4"}]}}]), &[]);
        assert_eq!(no_path, Some((vec!["u4".into()], vec![])));
    }

    #[test]
    fn anything_else_takes_the_general_path() {
        for operations in [
            json!([{"op": "replace", "path": "members", "value": [{"value": "u1"}]}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
            json!([{"op": "add", "value": {"members": [{"value": "u1"}], "displayName": "x"}}]),
            json!([{"op": "remove", "path": "members[display eq \"A\"]"}]),
            json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}]),
            json!([{"op": "add", "path": "members", "value": [{"value": 7}]}]),
        ] {
            assert_eq!(delta(operations.clone(), &["u1"]), None, "{operations}");
        }
    }

    fn member_op() -> impl Strategy<Value = Value> {
        let id = prop::sample::select(vec!["u0", "u1", "u2", "u3", "u4"]);
        let ids =
            prop::collection::vec(id.clone(), 0..3).prop_map(|ids| json!(ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()));
        prop_oneof![
            ids.clone().prop_map(|v| json!({"op": "add", "path": "members", "value": v})),
            ids.clone().prop_map(|v| json!({"op": "Add", "value": {"members": v}})),
            ids.clone().prop_map(|v| json!({"op": "remove", "path": "members", "value": v})),
            id.clone().prop_map(|i| json!({"op": "Remove", "path": format!("members[value eq \"{i}\"]")})),
            ids.clone().prop_map(|v| json!({"op": "replace", "path": "members", "value": v})),
            Just(json!({"op": "remove", "path": "members"})),
        ]
    }

    /// The fast path and the general PATCH engine agree on every member change.
    #[test]
    fn the_fast_path_agrees_with_the_general_engine() {
        let strategy = (
            prop::collection::btree_set(prop::sample::select(vec!["u0", "u1", "u2", "u3", "u4"]), 0..5),
            prop::collection::vec(member_op(), 1..5),
        );
        check_property("member fast path == general PATCH", strategy, |(current, operations)| {
            let current: BTreeSet<&str> = current;
            let ops = ops(Value::Array(operations));
            let group = json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G", "members": current.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()});
            let general = apply_patch(&group, &ops, GROUP_SCHEMA).ok().and_then(|patched| scim_to_group(&patched, None).ok());
            if let Some(fast) = MemberDelta::from_ops(&ops) {
                let (added, removed) = fast.resolve(|id| current.contains(id));
                let mut after: BTreeSet<String> = current.iter().map(|s| s.to_string()).collect();
                after.extend(added);
                for r in removed {
                    after.remove(&r);
                }
                let general: BTreeSet<String> =
                    general.expect("the general engine accepts what the fast path accepts").1.into_iter().collect();
                prop_assert_eq!(after, general);
            }
            Ok(())
        });
    }
}
