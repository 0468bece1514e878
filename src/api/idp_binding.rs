//! `IdPBinding`: which identity provider may write into this namespace (workspace).

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, SecretRef};

/// The identity provider on the other end of the SCIM connection. It selects the
/// small differences in what each provider sends (for example Entra ID's string
/// booleans) and is shown to admins.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum IdentityProvider {
    /// Microsoft Entra ID (formerly Azure AD) provisioning service.
    Entra,
    /// Okta lifecycle management.
    Okta,
    /// Any other SCIM 2.0 client.
    #[default]
    Generic,
}

/// What happens to a `User` when the IdP deactivates or deletes it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum DeprovisionPolicy {
    /// Keep the `User` with `active: false`; its seats are removed, its history stays.
    #[default]
    Deactivate,
    /// Delete the `User` object; its seats are removed.
    Delete,
}

/// Connects one identity provider to this namespace, which becomes its workspace.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "IdPBinding",
    plural = "idpbindings",
    singular = "idpbinding",
    shortname = "idpb",
    category = "rolecall",
    namespaced,
    status = "IdPBindingStatus",
    doc = "Connects an identity provider (Entra ID, Okta, any SCIM client) to this namespace. The SCIM sidecar accepts the bearer tokens held in the named Secret and writes the provider's users and groups as User and Team objects here.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Users", type_ = "integer", json_path = ".status.users"),
    printcolumn(name = "Groups", type_ = "integer", json_path = ".status.groups"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct IdPBindingSpec {
    /// The identity provider that will call the SCIM endpoint.
    #[serde(default)]
    pub provider: IdentityProvider,
    /// The Secret whose every data key holds one valid bearer token. Several keys
    /// may hold tokens at once, so a token is rotated by adding the new one before
    /// removing the old one.
    pub token_secret_ref: SecretRef,
    /// What a deactivation or deletion from the IdP does to the `User`.
    #[serde(default)]
    pub deprovision: DeprovisionPolicy,
    /// Email domains that belong to this workspace. A `User` with no email in them
    /// is an external collaborator: accounts matched to them are Guests. Empty
    /// means every domain belongs. (An account that matches no user is Unmatched
    /// whatever its domain.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub workspace_domains: Vec<String>,
    /// Only IdP groups whose display name starts with one of these prefixes
    /// (ignoring ASCII case) become `Team`s; the SCIM sidecar refuses any other
    /// group, whole, with a 400 `invalidValue` error the IdP shows in its
    /// provisioning log. Teams made before a prefix was set stay. Empty accepts
    /// every group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub group_name_prefixes: Vec<String>,
}

/// What the SCIM sidecar and the operator last observed for this binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdPBindingStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: the token Secret exists and holds at least one token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The SCIM base URL to enter in the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_base_url: Option<String>,
    /// Number of `User`s in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<i32>,
    /// Number of `Team`s in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<i32>,
    /// When the identity provider last called (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_request_time: Option<String>,
    /// The last request that failed, for the admin who wonders why provisioning stalls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
