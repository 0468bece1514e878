//! What a connector reports about an account and what it is asked to make.

use std::collections::BTreeMap;

use crate::api::business_hub::LoginMethod;

/// App roles and asset roles, the part of an account rolecall manages.
/// Sorted collections, so two equal accesses compare equal whatever the order
/// in which grants or the app listed them.
#[derive(Debug, Clone, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Access {
    /// App roles (one for hierarchical catalogs, any number for permission catalogs).
    pub roles: std::collections::BTreeSet<String>,
    /// Asset name → role held on it.
    pub assets: BTreeMap<String, String>,
}

/// An account as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
