//! `AccessGrant`: a team or a user gets a role, assets and a seat on a hub.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// Who receives the access: exactly one of a team or a user.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.team) != has(self.user)").message("a grant names exactly one subject: set subject.team or subject.user, not both"))]
pub struct GrantSubject {
    /// Name of a `Team` in this namespace; every member receives the access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Name of a `User` in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// The role a grant gives inside rolecall's own workspace model.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, JsonSchema)]
pub enum WorkspaceRole {
    /// Uses the app with the granted role.
    #[default]
    Collaborator,
    /// Also manages who else on the team holds access.
    Manager,
    /// Owns the hub's access; may hold it without taking a seat.
    Owner,
}

/// Hubs chosen by their labels: a collection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HubSelector {
    /// Every hub carrying all these labels is part of the collection.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
}

/// An asset and the role held on it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetGrant {
    /// The asset's name, as listed in the hub's spec.assets.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// The role on the asset; empty means the asset's lowest role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Gives a team or a user access to one hub or to a collection of hubs.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "AccessGrant",
    plural = "accessgrants",
    singular = "accessgrant",
    shortname = "grant",
    category = "rolecall",
    namespaced,
    status = "AccessGrantStatus",
    doc = "Gives a team or a user a seat, an app role and assets on a BusinessHub, or on every hub of a collection chosen by labels. When a user holds several grants on one hub, the highest-weight role wins (hierarchical catalogs) or the roles add up (permission catalogs).",
    printcolumn(name = "Team", type_ = "string", json_path = ".spec.subject.team"),
    printcolumn(name = "User", type_ = "string", json_path = ".spec.subject.user"),
    printcolumn(name = "Hub", type_ = "string", json_path = ".spec.hub"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.appRoles"),
    printcolumn(name = "Accepted", type_ = "string", json_path = ".status.conditions[?(@.type==\"Accepted\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("has(self.hub) != has(self.hubSelector)").message("a grant targets exactly one of spec.hub or spec.hubSelector"))]
#[x_kube(validation = Rule::new("self.seat || self.workspaceRole == 'Owner'").message("only an Owner grant may go without a seat (seat: false)"))]
#[serde(rename_all = "camelCase")]
pub struct AccessGrantSpec {
    /// Who receives the access.
    pub subject: GrantSubject,
    /// Name of the `BusinessHub` in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// A collection: every hub whose labels match. Members claim access before they are invited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_selector: Option<HubSelector>,
    /// The subject's role in rolecall's workspace model.
    #[serde(default)]
    pub workspace_role: WorkspaceRole,
    /// App roles from the hub's catalog. Hierarchical catalogs use the highest-weight one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub app_roles: Vec<String>,
    /// Assets inside the app, each with a role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub assets: Vec<AssetGrant>,
    /// Whether the subject takes a seat (an account) in the app. Only an Owner may go without.
    #[serde(default = "default_true")]
    pub seat: bool,
    /// Invite only after the user claims the access (`rolecall claim`).
    #[serde(default)]
    pub claim_required: bool,
}

fn default_true() -> bool {
    true
}

/// A member whose access failed, with the reason.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailingMember {
    /// The `User`'s name.
    pub user: String,
    /// The hub where it failed.
    pub hub: String,
    /// Why, in a sentence.
    pub reason: String,
}

/// Number of the grant's members per account state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantMemberCounts {
    /// Members holding the seat.
    #[serde(default)]
    pub onboarded: i32,
    /// Members invited, not yet accepted.
    #[serde(default)]
    pub invited: i32,
    /// Members waiting for an invitation (or a claim).
    #[serde(default)]
    pub pending: i32,
    /// Members whose access failed.
    #[serde(default)]
    pub failed: i32,
    /// Members who manage the hub without a seat (an Owner grant with `seat: false`).
    #[serde(default)]
    pub manage_only: i32,
    /// Members whose seat is being removed (they left, or their access ended).
    #[serde(default)]
    pub removing: i32,
}

/// What the operator last observed for this grant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessGrantStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Accepted`: the subject, the hub and the roles it names exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Number of hubs the grant applies to (more than one for a collection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubs: Option<i32>,
    /// Members per account state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<GrantMemberCounts>,
    /// Up to 20 members whose access failed; the counts above are complete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub failing_members: Vec<FailingMember>,
}
