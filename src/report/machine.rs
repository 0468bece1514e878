//! `status -o json|yaml`: the same report as the human tables, as one document
//! a script can read (`kubectl rolecall status HUB -o json | jq ...`). Field
//! names are camelCase like the API's; every table is present, empty or not.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use serde::Serialize;

use crate::api::app_account::{AppAccount, UserTable};
use crate::api::business_hub::BusinessHub;
use crate::api::condition::Condition;

#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub hub: HubSummary,
    /// One list per user table, by the table's name (`Onboarded`, `Unmatched`, `Guest`, `Exempted`, `ServiceAccount`).
    pub tables: BTreeMap<String, Vec<AccountRow>>,
    /// The newest first.
    pub latest_actions: Vec<ActionRow>,
}

#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HubSummary {
    pub name: String,
    pub namespace: String,
    pub connector: String,
    pub mode: String,
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_removals: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_actions: Option<i32>,
}

/// One account, with the human table's columns.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountRow {
    /// The AppAccount's object name.
    pub name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_role: Option<String>,
    pub app_roles: Vec<String>,
    pub assets: Vec<String>,
    pub shared_via: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActionRow {
    pub time: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub account: String,
    pub message: String,
}

/// The tables every report lists, in the human report's order.
pub const TABLES: [UserTable; 5] =
    [UserTable::Onboarded, UserTable::Unmatched, UserTable::Guest, UserTable::Exempted, UserTable::ServiceAccount];

pub fn table_name(table: UserTable) -> String {
    format!("{table:?}")
}

pub fn build(hub: &BusinessHub, accounts: &[AppAccount], latest: &[&Event], event_time: impl Fn(&Event) -> String) -> StatusReport {
    let status = hub.status.clone().unwrap_or_default();
    let mut tables: BTreeMap<String, Vec<AccountRow>> = TABLES.iter().map(|t| (table_name(*t), Vec::new())).collect();
    let mut sorted: Vec<&AppAccount> = accounts.iter().collect();
    sorted.sort_by_key(|a| a.spec.email.to_lowercase());
    for account in sorted {
        let table = account.status.as_ref().and_then(|s| s.table).unwrap_or(UserTable::Unmatched);
        tables.entry(table_name(table)).or_default().push(row(account));
    }
    StatusReport {
        hub: HubSummary {
            name: hub.name_any(),
            namespace: hub.namespace().unwrap_or_default(),
            connector: format!("{:?}", hub.spec.connector.type_),
            mode: format!("{:?}", hub.spec.mode),
            conditions: status.conditions,
            last_sync_time: status.last_sync_time,
            held_removals: status.held_removals,
            pending_actions: status.pending_actions,
        },
        tables,
        latest_actions: latest
            .iter()
            .map(|e| ActionRow {
                time: event_time(e),
                type_: e.type_.clone().unwrap_or_default(),
                reason: e.reason.clone().unwrap_or_default(),
                account: e.involved_object.name.clone().unwrap_or_default(),
                message: e.message.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn row(account: &AppAccount) -> AccountRow {
    let s = account.status.clone().unwrap_or_default();
    let user = match (&s.display_name, &s.user_name, &s.matched_user) {
        (Some(display), Some(user), _) => Some(format!("{display} <{user}>")),
        (None, Some(user), _) => Some(user.clone()),
        (_, None, Some(name)) => Some(name.clone()),
        _ => None,
    };
    AccountRow {
        name: account.name_any(),
        email: account.spec.email.clone(),
        user,
        workspace_role: s.workspace_role.map(|r| format!("{r:?}")),
        app_roles: s.app_roles,
        assets: s.assets,
        shared_via: s.granted_via,
        last_used: s.last_used,
        state: s.state.map(|st| format!("{st:?}")),
        note: s.last_error.or(s.note).or(account.spec.exemption.as_ref().map(|e| e.reason.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_listed_and_accounts_land_in_theirs() {
        let hub: BusinessHub = serde_json::from_value(serde_json::json!({
            "apiVersion": "rolecall.dev/v1alpha1", "kind": "BusinessHub",
            "metadata": {"name": "crm", "namespace": "acme"},
            "spec": {"connector": {"type": "Scim", "url": "https://127.0.0.1:1/scim/v2", "credentialsSecretRef": {"name": "s"}}, "roles": [{"name": "user"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": ""}], "heldRemovals": 2}
        }))
        .unwrap_or_else(|e| panic!("hub: {e}"));
        let account: AppAccount = serde_json::from_value(serde_json::json!({
            "apiVersion": "rolecall.dev/v1alpha1", "kind": "AppAccount",
            "metadata": {"name": "crm-ada", "namespace": "acme"},
            "spec": {"hub": "crm", "email": "ada@acme.test"},
            "status": {"table": "Onboarded", "state": "Onboarded", "userName": "ada@acme.test", "displayName": "Ada", "appRoles": ["user"]}
        }))
        .unwrap_or_else(|e| panic!("account: {e}"));
        let report = build(&hub, &[account], &[], |_| String::new());
        assert_eq!(report.tables.len(), 5);
        assert_eq!(report.tables["Onboarded"].len(), 1);
        assert_eq!(report.tables["Onboarded"][0].user.as_deref(), Some("Ada <ada@acme.test>"));
        assert!(report.tables["Guest"].is_empty());
        assert_eq!(report.hub.held_removals, Some(2));
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["tables"]["Onboarded"][0]["appRoles"][0], "user");
        assert_eq!(json["hub"]["conditions"][0]["type"], "Ready");
    }
}
