//! `BusinessHub`: one connected external app, its role catalog and its safety rules.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, SecretRef};

/// The connector that talks to the external app.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConnectorType {
    /// Any app that accepts SCIM 2.0 provisioning (outbound SCIM client).
    Scim,
    /// A GitHub organisation: members, invitations, roles, teams as assets.
    GitHub,
    /// A connector of your own behind rolecall's documented HTTP/JSON protocol.
    Webhook,
    /// A Meta Business Manager business (Graph API): business users, invitations,
    /// ad accounts, pages and catalogs as assets, partner agencies.
    Meta,
    /// A TikTok Business Center (Business API): members, invitations, advertiser
    /// accounts, catalogs and TikTok accounts as assets, partners.
    TikTok,
}

/// How the SCIM connector expresses an app role.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ScimRoleMapping {
    /// In the user's `roles` attribute.
    #[default]
    RolesAttribute,
    /// As membership of an app group named after the role.
    GroupMembership,
}

/// How the SCIM connector takes a seat away.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ScimRemoval {
    /// PATCH `active` to false; the app keeps the account's history.
    #[default]
    Deactivate,
    /// DELETE the account.
    Delete,
}

/// Settings only the SCIM connector reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimConnectorSettings {
    /// Where the app role goes in the app.
    #[serde(default)]
    pub role_mapping: ScimRoleMapping,
    /// What a removal does in the app.
    #[serde(default)]
    pub removal: ScimRemoval,
}

/// How many app roles an account can hold, as a webhook connector declares it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum WebhookRoleSupport {
    /// The app has no roles (one kind of seat).
    None,
    /// One role per account.
    One,
    /// Any number of roles per account.
    #[default]
    Many,
}

/// What the hub relies on its webhook connector for. The connector's own
/// `GET /v1/capabilities` must offer at least this, or the hub is not synced
/// (`Connected=False`, reason `Misconfigured`). The planner plans only what is
/// declared here: a hub that declares no assets never sends an asset.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCapabilities {
    /// How many roles an account holds.
    #[serde(default)]
    pub roles: WebhookRoleSupport,
    /// Assets and the role held on each.
    #[serde(default = "yes")]
    pub assets: bool,
    /// Adds are invitations accepted later; pending ones are listed.
    #[serde(default = "yes")]
    pub invitations: bool,
    /// Accounts can be deactivated and re-activated.
    #[serde(default = "yes")]
    pub deactivation: bool,
    /// Accounts report when they were last used.
    #[serde(default = "yes")]
    pub last_activity: bool,
}

impl Default for WebhookCapabilities {
    fn default() -> Self {
        WebhookCapabilities { roles: WebhookRoleSupport::Many, assets: true, invitations: true, deactivation: true, last_activity: true }
    }
}

fn yes() -> bool {
    true
}

/// Settings only the webhook connector reads (see docs/connector-protocol.md).
/// The credentials Secret's key holds the shared signing secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConnectorSettings {
    /// Accounts asked for per page of `GET /v1/accounts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub page_size: Option<i32>,
    /// What the hub relies on the connector for; all of it when absent.
    #[serde(default)]
    pub capabilities: WebhookCapabilities,
}

/// Settings only the GitHub connector reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubConnectorSettings {
    /// Invitations GitHub accepts from the organisation per window: 50 a day, 500
    /// for organisations on a paid plan. Invitations beyond it wait in a queue the
    /// hub's `status.invitationQueue` shows, and go as places free.
    #[serde(default = "default_invitation_cap")]
    #[schemars(range(min = 0, max = 10000))]
    pub invitation_cap: i32,
    /// The window the invitation cap counts over (GitHub's is a day, `24h`).
    #[serde(default = "default_invitation_window")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub invitation_window: String,
    /// Authenticate as a GitHub App installed on the organisation instead of with
    /// a token: the credentials Secret's key then holds the App's private key
    /// (PEM), and rolecall exchanges a JWT signed with it for an installation
    /// token, made anew before each one expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<GitHubAppSettings>,
}

impl Default for GitHubConnectorSettings {
    fn default() -> Self {
        GitHubConnectorSettings { invitation_cap: default_invitation_cap(), invitation_window: default_invitation_window(), app: None }
    }
}

/// Which GitHub App, and which of its installations, the connector acts as.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubAppSettings {
    /// The App's id (or its client id): the JWT's issuer.
    #[schemars(length(min = 1, max = 64))]
    pub app_id: String,
    /// The installation of the App on the organisation (Settings → GitHub Apps → Configure: the number in the URL).
    #[schemars(range(min = 1))]
    pub installation_id: i64,
}

fn default_invitation_cap() -> i32 {
    50
}

fn default_invitation_window() -> String {
    "24h".into()
}

/// Settings only the Meta Business Manager connector reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetaConnectorSettings {}

/// Settings only the TikTok Business Center connector reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TikTokConnectorSettings {
    /// The asset types the connector reads, imports and assigns (TikTok's
    /// `asset_type`): `ADVERTISER` (ad accounts), `CATALOG`, `TIKTOK_SHOP`, `LEAD`
    /// (lead form libraries), `TT_ACCOUNT` (TikTok accounts). Each type costs a
    /// call per read-back and each asset one more; list only the ones you grant.
    #[serde(default = "default_tiktok_asset_types")]
    #[schemars(length(max = 5))]
    pub asset_types: Vec<TikTokAssetType>,
    /// Requests per second this hub sends at most: TikTok limits each developer
    /// app (10 a second unless TikTok raised it) and answers code 40100 beyond.
    /// Hubs sharing one app share its budget: split it between them.
    #[serde(default = "default_tiktok_requests_per_second")]
    #[schemars(range(min = 1, max = 1000))]
    pub requests_per_second: i32,
}

impl Default for TikTokConnectorSettings {
    fn default() -> Self {
        TikTokConnectorSettings { asset_types: default_tiktok_asset_types(), requests_per_second: default_tiktok_requests_per_second() }
    }
}

/// A TikTok Business Center asset type the connector manages (TikTok's `asset_type`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TikTokAssetType {
    /// Ad accounts (`advertiser_role`: ANALYST, OPERATOR, ADMIN).
    #[serde(rename = "ADVERTISER")]
    Advertiser,
    /// Catalogs (`catalog_role`: AD_PROMOTE, ADMIN).
    #[serde(rename = "CATALOG")]
    Catalog,
    /// TikTok Shops (`store_role`: AD_PROMOTION).
    #[serde(rename = "TIKTOK_SHOP")]
    TikTokShop,
    /// Lead form libraries (`form_library_role`: ADMIN).
    #[serde(rename = "LEAD")]
    Lead,
    /// TikTok accounts (`tt_account_roles`: POST, LIVE, DIRECT_MESSAGE, joined by `+`).
    #[serde(rename = "TT_ACCOUNT")]
    TtAccount,
}

fn default_tiktok_asset_types() -> Vec<TikTokAssetType> {
    vec![TikTokAssetType::Advertiser, TikTokAssetType::Catalog, TikTokAssetType::TtAccount]
}

fn default_tiktok_requests_per_second() -> i32 {
    10
}

/// Where the external app is and how to authenticate to it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type != 'GitHub' || (has(self.organization) && self.organization != '')").message("a GitHub connector needs spec.connector.organization"))]
#[x_kube(validation = Rule::new("!(self.type in ['Meta', 'TikTok']) || (has(self.organization) && self.organization != '')").message("Meta and TikTok connectors need spec.connector.organization: the business id (Meta) or Business Center id (TikTok)"))]
pub struct ConnectorSpec {
    /// Which connector to use.
    #[serde(rename = "type")]
    pub type_: ConnectorType,
    /// Base URL of the app's API (for SCIM, the SCIM base URL ending before `/Users`).
    #[schemars(length(min = 1, max = 2048))]
    pub url: String,
    /// The organisation, business or account id inside the app (GitHub organisation login, Meta business id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The Secret holding the API credential. Read only at call time; never logged or copied into status.
    pub credentials_secret_ref: SecretRef,
    /// SCIM connector settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimConnectorSettings>,
    /// Webhook connector settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConnectorSettings>,
    /// GitHub connector settings (the API URL is `url`: `https://api.github.com`,
    /// or `https://HOST/api/v3` for GitHub Enterprise Server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GitHubConnectorSettings>,
    /// Meta Business Manager connector settings (the API URL is `url`: `https://graph.facebook.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<MetaConnectorSettings>,
    /// TikTok Business Center connector settings (the API URL is `url`:
    /// `https://business-api.tiktok.com/open_api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiktok: Option<TikTokConnectorSettings>,
    /// How long one call to the app may take before it is given up. A call that
    /// timed out may still have happened: an add is looked up before it is sent again.
    #[serde(default = "default_call_timeout")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub timeout: String,
    /// The longest wait between calls while the app keeps failing (server errors,
    /// timeouts, dropped connections, unreadable answers, 429s that name no time):
    /// each failure in a row doubles the wait, with jitter, up to this.
    #[serde(default = "default_max_backoff")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub max_backoff: String,
}

fn default_call_timeout() -> String {
    "30s".into()
}
fn default_max_backoff() -> String {
    "5m".into()
}

/// How roles of this app combine when a user holds several grants.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum RoleModel {
    /// One role per account: the highest-weight role over all grants wins.
    #[default]
    Hierarchical,
    /// Roles are permissions: the account gets the union of all granted roles.
    Permissions,
}

/// One role of the app's catalog.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    /// The role's name as the app knows it.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// Rank among hierarchical roles: higher wins when grants disagree.
    #[serde(default)]
    pub weight: i32,
    /// True for roles that administer the app; the last holder is never removed.
    #[serde(default)]
    pub admin: bool,
    /// What the role allows, for admins choosing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One asset inside the app (a repository, an ad account, a page, a project).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppAsset {
    /// The asset's name in the app (or its id): what grants name.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// The app's own id for the asset, when it differs from the name (a Meta ad
    /// account's `act_...`, a TikTok advertiser id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What kind of asset it is (`repository`, `adAccount`, `page`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Roles that can be held on this asset, lowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub roles: Vec<String>,
}

impl AppAsset {
    /// Whether a grant naming `name` means this asset: its name, or the app's id for it.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.id.as_deref() == Some(name)
    }
}

/// How many imported assets the hub's status keeps (etcd objects are limited to
/// 1.5 MB; a business with thousands of ad accounts declares the ones it grants).
pub const IMPORTED_ASSETS_KEPT: usize = 500;

impl BusinessHub {
    /// The assets grants may name: the declared ones (`spec.assets`), then the
    /// ones the last read-back imported that are not declared (declared wins: an
    /// admin may narrow an imported asset's roles).
    pub fn asset_catalog(&self) -> Vec<AppAsset> {
        let mut catalog = self.spec.assets.clone();
        let imported = self.status.as_ref().map(|s| s.assets.as_slice()).unwrap_or_default();
        for asset in imported {
            let declared = catalog.iter().any(|d| d.answers_to(&asset.name) || asset.id.as_deref().is_some_and(|id| d.answers_to(id)));
            if !declared {
                catalog.push(asset.clone());
            }
        }
        catalog
    }
}

/// How people sign in to the app; shown in the user tables.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum LoginMethod {
    /// Single sign-on through the IdP.
    #[default]
    Sso,
    /// A password kept by the app.
    Password,
    /// Sign-in is managed outside rolecall.
    ManagedOutside,
}

/// What the operator is allowed to do in the app.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum HubMode {
    /// Invite, update and remove to match the grants.
    Enforce,
    /// Plan and report what Enforce would do; call nothing that writes.
    #[default]
    DryRun,
    /// Only read back who is in the app and report it.
    Observe,
}

/// What to do with accounts that are in the app, match a directory user, hold no
/// grant and were never given their seat by rolecall.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum UngrantedAccounts {
    /// Leave them as they are and list them in the Onboarded table as
    /// `KeptWithoutGrant`: switching a hub to Enforce removes nobody an admin did
    /// not decide to remove.
    #[default]
    Keep,
    /// Remove them, after the grace period and within the removal limit.
    Remove,
}

/// Limits that keep a mistake from emptying an app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SafetySpec {
    /// At most this many removals per window; beyond it the hub holds every
    /// removal (`RemovalsHeld=True`) until an admin approves with the
    /// `rolecall.dev/approve-removals` annotation.
    #[serde(default = "default_max_removals")]
    #[x_kube(validation = Rule::new("self > 0").message("maxRemovalsPerWindow must be positive; use mode Observe to stop removals altogether"))]
    pub max_removals_per_window: i32,
    /// The window the removal limit counts over (Go-style duration, e.g. `1h`).
    #[serde(default = "default_removal_window")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub removal_window: String,
    /// How long a user who lost access keeps the seat before removal, so a move
    /// between groups that the IdP sends as remove-then-add becomes a role update.
    #[serde(default = "default_grace")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub removal_grace_period: String,
    /// The app account rolecall itself signs in with; never removed or changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_email: Option<String>,
}

impl Default for SafetySpec {
    fn default() -> Self {
        SafetySpec {
            max_removals_per_window: default_max_removals(),
            removal_window: default_removal_window(),
            removal_grace_period: default_grace(),
            service_account_email: None,
        }
    }
}

fn default_max_removals() -> i32 {
    10
}
fn default_removal_window() -> String {
    "1h".into()
}
fn default_grace() -> String {
    "10m".into()
}

/// When invitations are sent again.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePolicy {
    /// An invitation not accepted within this time counts as expired (e.g. `168h`).
    #[serde(default = "default_invite_expiry")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub expire_after: String,
    /// How many times an expired invitation is sent again before it is reported as failed.
    #[serde(default = "default_max_resends")]
    #[schemars(range(min = 0, max = 20))]
    pub max_resends: i32,
}

impl Default for InvitePolicy {
    fn default() -> Self {
        InvitePolicy { expire_after: default_invite_expiry(), max_resends: default_max_resends() }
    }
}

fn default_invite_expiry() -> String {
    "168h".into()
}
fn default_max_resends() -> i32 {
    2
}

fn default_sync_interval() -> String {
    "5m".into()
}

/// A connected external app: its connector, role catalog, assets and safety rules.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "BusinessHub",
    plural = "businesshubs",
    singular = "businesshub",
    shortname = "hub",
    category = "rolecall",
    namespaced,
    status = "BusinessHubStatus",
    doc = "A connected external app (GitHub, any SCIM app, a webhook connector): where it is, the Secret to call it with, its role catalog and assets, and the safety rules for changing who holds a seat in it.",
    printcolumn(name = "Connector", type_ = "string", json_path = ".spec.connector.type"),
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Synced", type_ = "string", json_path = ".status.conditions[?(@.type==\"Synced\")].status"),
    printcolumn(name = "Onboarded", type_ = "integer", json_path = ".status.accounts.onboarded"),
    printcolumn(name = "Invited", type_ = "integer", json_path = ".status.accounts.invited"),
    printcolumn(name = "Failed", type_ = "integer", json_path = ".status.accounts.failed"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHubSpec {
    /// Where the app is and how to call it.
    pub connector: ConnectorSpec,
    /// How roles combine when a user holds several grants.
    #[serde(default)]
    pub role_model: RoleModel,
    /// The app's roles that grants may name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    #[x_kube(validation = Rule::new("self.all(r, self.exists_one(o, o.name == r.name))").message("role names must be unique"))]
    pub roles: Vec<AppRole>,
    /// The app's assets that grants may name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 512))]
    pub assets: Vec<AppAsset>,
    /// How people sign in to the app.
    #[serde(default)]
    pub login_method: LoginMethod,
    /// How often to read back who is in the app (Go-style duration, e.g. `5m`).
    #[serde(default = "default_sync_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub sync_interval: String,
    /// What the operator may do in the app. Defaults to DryRun: nothing is
    /// changed until an admin says Enforce.
    #[serde(default)]
    pub mode: HubMode,
    /// Limits on removals.
    #[serde(default)]
    pub safety: SafetySpec,
    /// Accounts in the app that match a user with no grant and that rolecall
    /// never seated. Offboarding (a user deactivated or deleted) removes seats
    /// whatever this says.
    #[serde(default)]
    pub ungranted_accounts: UngrantedAccounts,
    /// When invitations are sent again.
    #[serde(default)]
    pub invites: InvitePolicy,
}

/// Number of app accounts per user table and state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountCounts {
    /// Accounts matched to a directory user and holding the granted seat.
    #[serde(default)]
    pub onboarded: i32,
    /// Invitations sent and not yet accepted.
    #[serde(default)]
    pub invited: i32,
    /// Users granted a seat whose invitation is not sent yet.
    #[serde(default)]
    pub pending: i32,
    /// Invitations or changes that failed.
    #[serde(default)]
    pub failed: i32,
    /// Accounts in the app that match no directory user.
    #[serde(default)]
    pub unmatched: i32,
    /// Accounts of people outside the workspace.
    #[serde(default)]
    pub guests: i32,
    /// Accounts an admin exempted from management.
    #[serde(default)]
    pub exempted: i32,
    /// Accounts of users without a grant, kept per `ungrantedAccounts: Keep`.
    #[serde(default)]
    pub kept_without_grant: i32,
    /// Users who manage the hub without a seat.
    #[serde(default)]
    pub manage_only: i32,
    /// Accounts being removed (access ended, grace period running, or held).
    #[serde(default)]
    pub removing: i32,
    /// Accounts whose seat is removed: deleted (until the next read-back) or deactivated in the app.
    #[serde(default)]
    pub removed: i32,
}

/// What the operator last observed for this hub.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHubStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (the hub's references resolve and its spec is usable), `Connected`,
    /// `Synced`, `RemovalsHeld`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// When a read-back of the app last found something new (RFC 3339). A sync
    /// that finds nothing changed writes nothing, so a steady state is quiet;
    /// the time of every sync is in the `rolecall_hub_last_sync_timestamp_seconds` metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// How long that read-back took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_duration_ms: Option<i64>,
    /// The last on-demand sync handled (the value of the `rolecall.dev/sync` annotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_request: Option<String>,
    /// Accounts per user table and state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<AccountCounts>,
    /// Removals made in the current removal window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_window: Option<RemovalWindow>,
    /// Removals waiting for an admin's approval (`RemovalsHeld=True`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_removals: Option<i32>,
    /// Changes the plan holds that were not made: every one in DryRun, the failed ones in Enforce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_actions: Option<i32>,
    /// Invitations waiting for a place under the app's invitation cap (GitHub's
    /// 50 or 500 a day); absent when none wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_queue: Option<InvitationQueue>,
    /// The app's assets as the last read-back listed them, for connectors that
    /// list assets (Meta, TikTok, GitHub teams): grants may name these as well as
    /// `spec.assets`. At most 500 are kept here; `assetsListed` counts them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AppAsset>,
    /// How many assets the last read-back listed (more than `assets` holds when over 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets_listed: Option<i32>,
    /// The partner businesses the app reports holding access to this business's
    /// assets (at most 100), and which `Partner` object declares each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<PartnerSummary>,
}

/// A partner business as the hub's status lists it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSummary {
    /// The partner business's id in the app.
    pub id: String,
    /// Its name as the app shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many of this business's assets it holds access to.
    pub assets: i32,
    /// The `Partner` object that declares it; absent for a partner only the app knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<String>,
}

/// Invitations the app's cap holds back, and when they are expected to have gone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationQueue {
    /// Invitations waiting for a place under the cap.
    pub waiting: i32,
    /// When the last of them is expected to be sent, if each goes as soon as a place frees (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drains_at: Option<String>,
    /// The cap: invitations per window.
    pub cap: i32,
    /// The window the cap counts over.
    pub window: String,
}

/// The removal limit's bookkeeping.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemovalWindow {
    /// When the window started (RFC 3339).
    pub start: String,
    /// Seats removed since.
    pub removals: i32,
}
