//! What the planner decides: actions for the executor, and for every account
//! its table, state and the record to keep.

use crate::api::app_account::{AccountState, AccountWorkspaceRole, OperationKind, UserTable};
use crate::api::business_hub::LoginMethod;

use super::account::{Access, NewAccount};
use super::input::{AccountRecord, Time};

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

    /// Which call it is, for the announcement, Events, metrics and `rolecall status`.
    pub fn kind(&self) -> OperationKind {
        match self {
            Action::Add { resend: true, .. } => OperationKind::ResendInvite,
            Action::Add { .. } => OperationKind::Invite,
            Action::Update { .. } => OperationKind::UpdateAccess,
            Action::Remove { cancel_invite: true, .. } => OperationKind::CancelInvite,
            Action::Remove { .. } => OperationKind::Remove,
        }
    }
}

/// A removal the hub's limit holds until an admin approves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRemoval {
    pub email: String,
    pub external_id: String,
}

/// The directory user an account belongs to, as people know them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Member {
    /// The `User` object's name.
    pub name: String,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
}

/// One account's place in the user tables and what rolecall keeps about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPlan {
    pub email: String,
    pub table: UserTable,
    /// `None` for accounts that hold no seat and need nothing.
    pub state: Option<AccountState>,
    /// The user the account belongs to (or belonged to, while an offboarded user's seat is removed).
    pub member: Option<Member>,
    /// What the account holds, or will hold once the actions are done.
    pub access: Option<Access>,
    /// Every grant of the user on this hub, seat-giving or not ("shared via").
    pub granted_via: Vec<String>,
    /// The user's workspace role over those grants.
    pub workspace_role: Option<AccountWorkspaceRole>,
    pub login_method: Option<LoginMethod>,
    /// When the app says the account was last used.
    pub last_used: Option<Time>,
    /// The record to keep (invitation times, when access ended, who it is managed for).
    pub record: AccountRecord,
    /// Why nothing happens, or what waits: exemption reason, held removal, last admin, claim.
    pub note: Option<String>,
    /// The account is gone from the app and nobody needs it: drop its record.
    pub forget: bool,
}

impl AccountPlan {
    /// An entry for `email` in `table`, with nothing decided yet.
    pub fn new(email: &str, table: UserTable, record: AccountRecord) -> AccountPlan {
        AccountPlan {
            email: email.to_string(),
            table,
            state: None,
            member: None,
            access: None,
            granted_via: vec![],
            workspace_role: None,
            login_method: None,
            last_used: None,
            record,
            note: None,
            forget: false,
        }
    }

    pub fn matched_user(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.name.as_str())
    }
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
    /// Granted users the plan cannot give an account (no email, an email another user holds).
    pub cannot_invite: Vec<AccountPlan>,
}
