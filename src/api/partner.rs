//! `Partner`: a partner business (an agency, a media planner) that holds access
//! to this business's assets in a paid-social app (Meta agencies, TikTok
//! Business Center partners).
//!
//! Why a kind of its own rather than a field of the hub or an AccessGrant: a
//! partner is not a person of the directory (no User, no Team, no seat), its
//! access is per asset and decided by a contract, not by IdP groups, and it
//! changes on its own schedule; one object per partner gives it its own RBAC
//! (the media team may edit partners without touching the hub), its own
//! history in Git, and its own status. With no `access` the object only
//! reports what the partner holds; with `access` rolecall grants and revokes
//! to reach exactly that, under the hub's mode and removal limit.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// One asset access of a partner.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerAssetAccess {
    /// The asset, by its name in the hub's catalog (`spec.assets` or the imported
    /// `status.assets`) or the app's id for it.
    #[schemars(length(min = 1, max = 256))]
    pub asset: String,
    /// The asset role the partner holds on it (Meta: `ANALYZE`, `ADVERTISE`,
    /// `MANAGE`; TikTok: `ANALYST`, `OPERATOR`, `ADMIN`); empty means the asset's lowest role.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub role: String,
}

/// A partner business and the access it should hold to this business's assets.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "Partner",
    plural = "partners",
    singular = "partner",
    shortname = "ptnr",
    category = "rolecall",
    namespaced,
    status = "PartnerStatus",
    doc = "A partner business (agency, media planner, consultant) holding access to the assets of a BusinessHub's business (Meta Business Manager agencies, TikTok Business Center partners). Without spec.access it reports what the partner holds; with it, rolecall grants and revokes asset access to reach exactly that, under the hub's mode and removal limit.",
    printcolumn(name = "Hub", type_ = "string", json_path = ".spec.hub"),
    printcolumn(name = "Partner", type_ = "string", json_path = ".spec.partnerId"),
    printcolumn(name = "Name", type_ = "string", json_path = ".status.name"),
    printcolumn(name = "Assets", type_ = "integer", json_path = ".status.assetCount"),
    printcolumn(name = "Synced", type_ = "string", json_path = ".status.conditions[?(@.type==\"Synced\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSpec {
    /// The `BusinessHub` whose business shares its assets with the partner.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.hub is immutable: a partner belongs to one hub"))]
    pub hub: String,
    /// The partner business's id in the app (Meta business id, TikTok Business Center id).
    #[schemars(length(min = 1, max = 128))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.partnerId is immutable: create another Partner for another business"))]
    pub partner_id: String,
    /// Exactly the asset accesses the partner should hold. Absent: rolecall only
    /// reports what it holds. Present (even empty): anything else is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // A list keyed by asset: the API server itself refuses an asset listed twice
    // (a CEL uniqueness rule over 1,000 items would exceed the CEL cost budget).
    #[schemars(length(max = 1000), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["asset"]))]
    pub access: Option<Vec<PartnerAssetAccess>>,
}

/// A change rolecall would make, or holds back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerPendingChange {
    /// `Grant`, `ChangeRole` or `Revoke`.
    pub action: String,
    /// The asset.
    pub asset: String,
    /// The role granted, or held before a revocation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
}

/// What the operator last read back and did for this partner.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (the hub exists and can have partners, the declared assets exist),
    /// `Synced` (the partner holds what is declared), `RemovalsHeld`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The partner's name as the app shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The asset accesses the partner holds, as the app reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<PartnerAssetAccess>,
    /// How many assets it holds (for `kubectl get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_count: Option<i32>,
    /// Changes not made: all of them in DryRun, the failed or held ones in Enforce.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PartnerPendingChange>,
}
