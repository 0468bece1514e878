//! `AppAccount`: one account inside an external app, as rolecall sees it.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;
use super::business_hub::LoginMethod;

/// An admin's decision to leave an account alone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exemption {
    /// Why the account is exempted; shown in the Exempted table and the audit trail.
    #[schemars(length(min = 1, max = 1024))]
    pub reason: String,
}

/// Which of the user tables an account appears in.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum UserTable {
    /// Matched to a directory user of the workspace (automatically by email, or by hand).
    Onboarded,
    /// In the app, but matching no directory user, whatever its email domain.
    Unmatched,
    /// Matched to a directory user who is an external collaborator (a User marked
    /// `external`, or one with no email in the workspace's domains).
    Guest,
    /// Left alone by an admin's decision.
    Exempted,
    /// The hub's own service account (`safety.serviceAccountEmail`): rolecall signs in with it and never changes it.
    ServiceAccount,
}

/// Where an account stands in its lifecycle.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum AccountState {
    /// Granted, invitation not sent yet (or waiting for a claim).
    PendingInvite,
    /// Invitation sent, not accepted yet.
    InviteSent,
    /// Invitation not accepted in time; it is sent again per the hub's policy.
    InviteExpired,
    /// The invitation could not be sent; see lastError.
    InviteFailed,
    /// The account exists in the app and holds its seat.
    Onboarded,
    /// Access ended (grant gone, user deactivated or deleted); the seat is removed after the grace period.
    Removing,
    /// The account holds no seat: rolecall removed it (a deleted account's row goes at
    /// the next read-back), or the app keeps it deactivated. Nothing is held, nothing is due.
    Removed,
    /// In the app and matched to a user who holds no grant; the hub's
    /// `ungrantedAccounts: Keep` leaves it as it is.
    KeptWithoutGrant,
    /// The user manages the hub (an Owner grant without a seat) and holds no seat in the app.
    ManageOnly,
    /// Found in the app, matched to nobody (the reference's "external enrollee").
    ExternalEnrollee,
    /// Exempted by an admin: never invited, updated or removed.
    Exempt,
}

/// The user's role in rolecall's workspace model over all their grants on the hub.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum AccountWorkspaceRole {
    /// Logs in to the app.
    Collaborator,
    /// Shares access and logs in.
    Manager,
    /// Manages the hub; may hold no seat.
    Owner,
    /// The user's grants give different workspace roles.
    Mixed,
}

/// A call to the app, as announced before it is made and named in Events.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum OperationKind {
    /// Add the account (send the invitation).
    Invite,
    /// Send an expired invitation again.
    ResendInvite,
    /// Set the account's roles and assets (re-activating it if needed).
    UpdateAccess,
    /// Take the seat away.
    Remove,
    /// Withdraw an invitation not accepted yet.
    CancelInvite,
}

impl OperationKind {
    pub const ALL: [OperationKind; 5] = [
        OperationKind::Invite,
        OperationKind::ResendInvite,
        OperationKind::UpdateAccess,
        OperationKind::Remove,
        OperationKind::CancelInvite,
    ];

    /// Whether `name` is one of the calls' names (an Event's `action`).
    pub fn is_call_name(name: &str) -> bool {
        OperationKind::ALL.iter().any(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Invite => "Invite",
            OperationKind::ResendInvite => "ResendInvite",
            OperationKind::UpdateAccess => "UpdateAccess",
            OperationKind::Remove => "Remove",
            OperationKind::CancelInvite => "CancelInvite",
        }
    }
}

impl std::fmt::Display for OperationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One account inside an external app.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "AppAccount",
    plural = "appaccounts",
    singular = "appaccount",
    shortname = "acct",
    category = "rolecall",
    namespaced,
    status = "AppAccountStatus",
    doc = "One account inside an external app: which user table it is in, its lifecycle state, role and assets, and how it was granted. The operator writes it; an admin may match it to a User by hand or exempt it from management.",
    printcolumn(name = "Hub", type_ = "string", json_path = ".spec.hub"),
    printcolumn(name = "Email", type_ = "string", json_path = ".spec.email"),
    printcolumn(name = "User", type_ = "string", json_path = ".status.userName"),
    printcolumn(name = "Table", type_ = "string", json_path = ".status.table"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Role", type_ = "string", json_path = ".status.appRoles"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct AppAccountSpec {
    /// The `BusinessHub` this account lives in. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.hub is immutable: an account belongs to one hub"))]
    pub hub: String,
    /// The account's email inside the app, its identity for matching. Immutable.
    #[schemars(length(min = 1, max = 320))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.email is immutable: create a new AppAccount for another address"))]
    pub email: String,
    /// Match this account to this `User` by hand, whatever the emails say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_user: Option<String>,
    /// Leave this account alone: never invite, update or remove it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
}

/// What the operator last observed and did for this account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppAccountStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The user table the account is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<UserTable>,
    /// The lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AccountState>,
    /// The app's own id for the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// App roles the account holds, or will hold once the planned change is made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_roles: Vec<String>,
    /// Assets and the role on each, as `asset=role`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
    /// The grants that give this access.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted_via: Vec<String>,
    /// The `User` this account is matched to (the object's name). Kept while the
    /// account holds a seat, so a User deleted even while the operator was down
    /// still loses the seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_user: Option<String>,
    /// The matched user's userName, as people know them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The matched user's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// rolecall gave or holds this seat for a grant; removed when the grants
    /// end. Unmanaged accounts found in the app follow the hub's `ungrantedAccounts`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed: bool,
    /// The user's workspace role over their grants on this hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_role: Option<AccountWorkspaceRole>,
    /// When the account was last used, where the app reports it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    /// How the account signs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_method: Option<LoginMethod>,
    /// When the invitation was last sent (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_sent_at: Option<String>,
    /// How many times the invitation was sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_resends: Option<i32>,
    /// When the matched user lost access (RFC 3339); the seat goes after the hub's grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_ended_at: Option<String>,
    /// The account as the app last reported it; absent when the app has no such account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<InAppState>,
    /// A call announced before it was made. Still here after a restart, it
    /// means the call may have happened: the operator reads the app back before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<PendingOperation>,
    /// What the hub would do in Enforce mode (DryRun), or what waits and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The last failure, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The account as the app reported it at the last read-back or call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InAppState {
    /// The account holds a seat (false: the app deactivated it).
    pub active: bool,
    /// The invitation is not accepted yet.
    #[serde(default)]
    pub invite_pending: bool,
    /// App roles the account holds in the app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_roles: Vec<String>,
    /// Assets it holds in the app, as `asset=role`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
    /// The app reports the account's last invitation failed (GitHub's failed invitations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_failed: Option<InvitationFailedState>,
}

/// An invitation the app reports as failed, as the last read-back saw it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationFailedState {
    /// The app's words.
    pub reason: String,
    /// When it failed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// It expired unaccepted (rather than failed to be delivered).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
}

/// A call to the app that was announced and not yet confirmed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingOperation {
    /// Which call.
    pub action: OperationKind,
    /// When it was announced (RFC 3339).
    pub started_at: String,
}
