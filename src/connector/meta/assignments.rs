//! Who holds which tasks on an asset: `/{asset_id}/assigned_users?business=`
//! (people and system users, with `tasks`) and `/{asset_id}/agencies`
//! (partner businesses, with `permitted_tasks`), read back into asset roles.

use std::collections::BTreeMap;

use serde_json::Value;

use super::asset_roles::{AssetKind, role_of};

/// One holder of tasks on an asset: a user's or a partner business's id, and the tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub name: Option<String>,
    pub tasks: Vec<String>,
}

/// The holders of a listing; `tasks_key` is `tasks` (assigned users) or `permitted_tasks` (agencies).
pub fn holders_of(items: &[Value], tasks_key: &str) -> Vec<Holder> {
    items
        .iter()
        .filter_map(|h| {
            let id = h.get("id")?.as_str()?.to_string();
            let name = h.get("name").and_then(Value::as_str).map(str::to_string);
            let tasks = h.get(tasks_key)?.as_array()?.iter().filter_map(Value::as_str).map(str::to_string).collect();
            Some(Holder { id, name, tasks })
        })
        .collect()
}

/// Adds one asset's holders to `roles` (holder id → asset name → asset role).
pub fn add_roles(roles: &mut BTreeMap<String, BTreeMap<String, String>>, kind: AssetKind, asset_name: &str, holders: &[Holder]) {
    for holder in holders.iter().filter(|h| !h.tasks.is_empty()) {
        roles.entry(holder.id.clone()).or_default().insert(asset_name.to_string(), role_of(kind, &holder.tasks));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn assignments_read_back_as_asset_roles_per_holder() {
        let assigned = json!([
            {"id": "11", "name": "Ann", "tasks": ["ANALYZE", "ADVERTISE"], "user_type": "BUSINESS_USER"},
            {"id": "31", "name": "bot", "tasks": ["MANAGE", "ADVERTISE", "ANALYZE"], "user_type": "SYSTEM_USER"},
            {"id": "12", "tasks": []},
            {"name": "no id", "tasks": ["ANALYZE"]}
        ]);
        let holders = holders_of(assigned.as_array().expect("list"), "tasks");
        assert_eq!(holders.len(), 3);
        let mut roles = BTreeMap::new();
        add_roles(&mut roles, AssetKind::AdAccount, "Brand US", &holders);
        let agencies = json!([{"id": "555", "name": "Agency", "permitted_tasks": ["ADVERTISE"], "access_status": "CONFIRMED"}]);
        add_roles(&mut roles, AssetKind::Catalog, "Shop", &holders_of(agencies.as_array().expect("list"), "permitted_tasks"));
        assert_eq!(roles["11"]["Brand US"], "ADVERTISE");
        assert_eq!(roles["31"]["Brand US"], "MANAGE");
        assert_eq!(roles["555"]["Shop"], "ADVERTISE");
        assert!(!roles.contains_key("12"), "no tasks: no role");
    }
}
