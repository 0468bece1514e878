//! The planner's value types for accounts: what an account holds, what the
//! app reports about one, and what a connector is asked to make. They live in
//! the pure core; connectors translate their app's wire format into them.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::business_hub::LoginMethod;

use super::input::Time;

/// App roles and asset roles, the part of an account rolecall manages.
/// Sorted collections, so two equal accesses compare equal whatever the order
/// in which grants or the app listed them.
#[derive(Debug, Clone, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Access {
    /// App roles (one for hierarchical catalogs, any number for permission catalogs).
    pub roles: BTreeSet<String>,
    /// Asset name → role held on it.
    pub assets: BTreeMap<String, String>,
}

/// An invitation the app reports as failed: never delivered, or expired
/// unaccepted (GitHub's `failed_invitations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationFailure {
    /// The app's words (`failed_reason`).
    pub reason: String,
    /// When it failed (`failed_at`).
    pub at: Option<Time>,
    /// It expired unaccepted, rather than failed to be delivered.
    pub expired: bool,
}

/// An account as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalAccount {
    /// The app's own id for the account.
    pub id: String,
    /// The account's email (its identity for matching).
    pub email: String,
    /// The name the app shows.
    pub display_name: Option<String>,
    /// Roles and assets the account holds now.
    pub access: Access,
    /// False when the app keeps the account but it holds no seat (deactivated).
    pub active: bool,
    /// True while the invitation is not accepted yet.
    pub invite_pending: bool,
    /// How the account signs in, when the app says.
    pub login_method: Option<LoginMethod>,
    /// When the account was last used, for connectors that report it.
    pub last_active: Option<Time>,
    /// The app's last invitation for this email failed (then the account is
    /// neither active nor pending): shown as InviteFailed or InviteExpired and
    /// sent again per the hub's invite policy.
    pub invitation_failed: Option<InvitationFailure>,
    /// What the connector has to say about the account when nothing else does
    /// (a member the app shows without an email, say: how to match it).
    pub note: Option<String>,
    /// The app says the account is a machine (a Meta system user): never added,
    /// changed or removed by a plan, reported like an exempted account.
    pub service_account: bool,
}

impl ExternalAccount {
    /// The account holds a seat: active, or invited and not accepted yet.
    pub fn holds_seat(&self) -> bool {
        self.active || self.invite_pending
    }
}

/// An account to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub email: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub access: Access,
}
