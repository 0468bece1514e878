//! What the planner is given: plain data, built by the operator from its caches.

use std::collections::BTreeSet;

use crate::api::access_grant::WorkspaceRole;
use crate::api::app_account::AccountState;
use crate::api::business_hub::{AppAsset, AppRole, HubMode, LoginMethod, RoleModel, UngrantedAccounts};

use super::account::ExternalAccount;
use super::capabilities::Capabilities;

/// Seconds since the Unix epoch; the planner never reads a clock.
pub type Time = i64;

/// The hub's rules, durations already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct HubPolicy {
    pub name: String,
    pub mode: HubMode,
    pub role_model: RoleModel,
    pub roles: Vec<AppRole>,
    pub assets: Vec<AppAsset>,
    pub login_method: LoginMethod,
    /// Removals allowed per window before the hub holds them all.
    pub max_removals_per_window: u32,
    /// Removals already made in the current window.
    pub removals_in_window: u32,
    /// An admin approved the removals now held: carry them out past the limit.
    pub removals_approved: bool,
    pub removal_grace_secs: i64,
    pub invite_expiry_secs: i64,
    pub max_invite_resends: u32,
    /// rolecall's own account in the app: never touched.
    pub service_account_email: Option<String>,
    /// Email domains of the workspace (lowercase); a user with no email in them
    /// is a guest. Empty means every domain belongs.
    pub workspace_domains: Vec<String>,
    /// What happens to accounts that match a user, hold no grant and were never
    /// given a seat by rolecall (found in the app when the hub was connected).
    pub ungranted_accounts: UngrantedAccounts,
    /// What the hub's connector can read and change.
    pub capabilities: Capabilities,
}

impl HubPolicy {
    /// rolecall's own account in the app.
    pub fn is_service_account(&self, email: &str) -> bool {
        self.service_account_email.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(email))
    }
}

/// A `User` of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The `User` object's name (a SCIM-made User is named by a UUID).
    pub name: String,
    /// The name people know the user by (the IdP's userName).
    pub user_name: String,
    /// Every email of the user, the primary one first.
    pub emails: Vec<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Deactivated users hold no access.
    pub active: bool,
    /// A person outside the company (contractor, agency): their account is a Guest.
    pub external: bool,
    /// Teams the user is a member of.
    pub teams: BTreeSet<String>,
    /// The user claimed access to this hub (`rolecall claim`).
    pub claimed: bool,
}

/// An `AccessGrant` that applies to this hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantInput {
    pub name: String,
    pub team: Option<String>,
    pub user: Option<String>,
    /// The subject's role in rolecall's workspace model (Owner, Manager, Collaborator).
    pub workspace_role: WorkspaceRole,
    pub app_roles: Vec<String>,
    /// `(asset, role)`; no role means the asset's lowest.
    pub assets: Vec<(String, Option<String>)>,
    /// Whether the subject takes a seat.
    pub seat: bool,
    /// Invite only after the user claims (collections and `claimRequired`).
    pub needs_claim: bool,
}

/// An operation the executor announced and may not have finished (it crashed, or is running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    Add,
    Update,
    Remove,
}

/// What rolecall recorded about an account (its `AppAccount` status).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountRecord {
    pub state: Option<AccountState>,
    pub invite_sent_at: Option<Time>,
    pub invite_resends: u32,
    /// When the matched user lost access; the seat goes once the grace period has passed.
    pub access_ended_at: Option<Time>,
    pub in_flight: Option<InFlight>,
    /// The user the account was last matched to. When that user no longer
    /// exists (deleted in the IdP, by `kubectl` or a GitOps prune, even while the
    /// operator was down), the account is offboarded like a deactivated user's.
    pub matched_user: Option<String>,
    /// rolecall gave or holds this seat for a grant; kept until the seat is gone.
    /// A managed account whose grant ends is removed; an unmanaged one found in
    /// the app follows the hub's `ungrantedAccounts` policy.
    pub managed: bool,
}

/// An account rolecall knows of: an `AppAccount` object and/or an account the app listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAccount {
    /// Its email, the identity it is matched by.
    pub email: String,
    /// The account as the app last reported it; `None` when the app has no such account.
    pub observed: Option<ExternalAccount>,
    /// An admin's manual match (`AppAccount.spec.matchUser`).
    pub match_user: Option<String>,
    /// An admin's exemption reason.
    pub exemption: Option<String>,
    pub record: AccountRecord,
}

/// Everything one hub's plan depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    pub now: Time,
    pub hub: HubPolicy,
    pub users: Vec<DirectoryUser>,
    pub grants: Vec<GrantInput>,
    pub accounts: Vec<KnownAccount>,
    /// The accounts' `observed` comes from a read-back of the app made in this
    /// sync, after every announcement recorded in them: an announced add whose
    /// account the read-back does not list did not happen, and needs no look-up.
    pub read_back: bool,
}
