//! What the planner is given: plain data, built by the operator from its caches.

use std::collections::BTreeSet;

use crate::api::app_account::AccountState;
use crate::api::business_hub::{AppAsset, AppRole, HubMode, LoginMethod, RoleModel};
use crate::connector::ExternalAccount;

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
    /// Email domains of the workspace (lowercase); empty means every domain.
    pub workspace_domains: Vec<String>,
}

/// A `User` of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The `User` object's name.
    pub name: String,
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
}
