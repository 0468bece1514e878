//! `Team`: a group of users, usually an IdP group pushed over SCIM.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// A group of users that access is granted to.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "Team",
    plural = "teams",
    singular = "team",
    shortname = "rcteam",
    category = "rolecall",
    namespaced,
    status = "TeamStatus",
    doc = "A group of users, written by the SCIM sidecar from an identity-provider group or by an admin. Members are the Users whose spec.teams names this team.",
    printcolumn(name = "DisplayName", type_ = "string", json_path = ".spec.displayName"),
    printcolumn(name = "Members", type_ = "integer", json_path = ".status.memberCount"),
    printcolumn(name = "Grants", type_ = "string", json_path = ".status.grants", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct TeamSpec {
    /// The group's name as the IdP shows it. Unique per workspace.
    #[schemars(length(min = 1, max = 256))]
    pub display_name: String,
    /// The identity provider's own id for this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// What the team is for, for admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What the operator last observed for this team.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Number of Users in this namespace whose spec.teams names this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i32>,
    /// Names of the AccessGrants whose subject is this team, sorted; the first 100 when there are more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub grants: Vec<String>,
}
