//! What the planner decides: actions for the executor, and for every account
//! its table, state and the record to keep.

use crate::api::app_account::{AccountState, UserTable};
use crate::api::business_hub::LoginMethod;
use crate::connector::{Access, NewAccount};

use super::input::AccountRecord;

/// One change to make in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Add (invite) an account. A `resend` of an expired invitation first
    /// cancels the old one when the app lists it (`cancel_first`);
    /// `read_back_first` says an earlier add may have happened before a crash,
    /// so the executor looks the account up before adding it again.
    Add { email: String, user: String, account: NewAccount, resend: bool, cancel_first: Option<String>, read_back_first: bool },
    /// Set an existing account's roles and assets (re-activating it if needed).
    Update { email: String, external_id: String, access: Access },
    /// Take a seat away, or cancel an invitation not accepted yet.
    Remove { email: String, external_id: String, cancel_invite: bool },
}

impl Action {
    pub fn email(&self) -> &str {
        match self {
            Action::Add { email, .. } | Action::Update { email, .. } | Action::Remove { email, .. } => email,
        }
    }

    /// A short verb for Events, metrics and `rolecall status`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Add { resend: true, .. } => "ResendInvite",
            Action::Add { .. } => "Invite",
            Action::Update { .. } => "UpdateAccess",
            Action::Remove { cancel_invite: true, .. } => "CancelInvite",
            Action::Remove { .. } => "Remove",
        }
    }
}

/// A removal the hub's limit holds until an admin approves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRemoval {
    pub email: String,
    pub external_id: String,
}

/// One account's place in the user tables and what rolecall keeps about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPlan {
    pub email: String,
    pub table: UserTable,
    /// `None` for accounts rolecall does not manage and that hold no seat.
    pub state: Option<AccountState>,
    pub matched_user: Option<String>,
    /// What the account holds, or will hold once the actions are done.
    pub access: Option<Access>,
    pub granted_via: Vec<String>,
    pub login_method: Option<LoginMethod>,
    /// The record to keep (invitation times, when access ended).
    pub record: AccountRecord,
    /// Why nothing happens, or what waits: exemption reason, held removal, last admin, claim.
    pub note: Option<String>,
    /// The account is gone from the app and nobody needs it: drop its record.
    pub forget: bool,
}

/// The whole decision for one hub.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// One entry per account, sorted by email.
    pub accounts: Vec<AccountPlan>,
    /// Changes to make, in a stable order (adds, updates, removals; each by email).
    pub actions: Vec<Action>,
    /// Removals held by the hub's limit (`RemovalsHeld=True` while not empty).
    pub held: Vec<HeldRemoval>,
}
