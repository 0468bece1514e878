//! Teams as assets: a team slug is an asset, `member` or `maintainer` the role held on it.
//! Only the teams the hub's asset catalog names are read or changed; the
//! organisation's other teams are its own business.

use std::collections::BTreeMap;

use serde_json::Value;

/// Team roles, lowest first.
pub const TEAM_ROLES: [&str; 2] = ["member", "maintainer"];

/// Team slug → numeric id, from `/orgs/{org}/teams`.
pub fn team_ids(items: &[Value]) -> BTreeMap<String, u64> {
    items.iter().filter_map(|t| Some((t.get("slug")?.as_str()?.to_string(), t.get("id")?.as_u64()?))).collect()
}

/// The logins of a team member list.
pub fn logins(items: &[Value]) -> Vec<String> {
    items.iter().filter_map(|m| m.get("login").and_then(Value::as_str).map(str::to_string)).collect()
}

/// The role to ask for on a team: a granted asset role, or `member` when the grant names none.
pub fn team_role(role: &str) -> Result<&'static str, String> {
    match role {
        "" | "member" => Ok("member"),
        "maintainer" => Ok("maintainer"),
        other => Err(format!("GitHub team roles are member and maintainer; {other:?} is neither")),
    }
}

/// Whether a team membership answer says the membership waits for the org invitation.
pub fn is_pending(answer: &Value) -> bool {
    answer.get("state").and_then(Value::as_str) == Some("pending")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn teams_are_read_by_slug() {
        let teams = json!([{"id": 1, "slug": "engineering"}, {"id": 2, "slug": "design"}, {"slug": "no-id"}]);
        let ids = team_ids(teams.as_array().expect("list"));
        assert_eq!(ids.get("engineering"), Some(&1));
        assert_eq!(ids.len(), 2);
        assert_eq!(logins(json!([{"login": "ann"}, {}]).as_array().expect("list")), ["ann"]);
        assert_eq!(team_role(""), Ok("member"));
        assert_eq!(team_role("maintainer"), Ok("maintainer"));
        assert!(team_role("admin").is_err());
        assert!(is_pending(&json!({"state": "pending", "role": "member"})));
        assert!(!is_pending(&json!({"state": "active"})));
    }
}
