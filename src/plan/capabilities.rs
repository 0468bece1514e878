//! What a hub's connector can read and change in its app. The planner compares
//! and plans only what the connector declares: an app that never reports
//! assets is never sent an asset update (it would be sent again every sync),
//! and a single-role app never gets a role update.

use super::account::Access;

/// How many app roles an account can hold in the app, as the connector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSupport {
    /// The app has no roles the connector can read or set (one kind of seat).
    None,
    /// One role per account.
    One,
    /// Any number of roles per account (permissions).
    Many,
}

/// The connector's declaration of what it can observe and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub roles: RoleSupport,
    /// Assets (repositories, ad accounts, pages) and the role held on each.
    pub assets: bool,
    /// Adds are invitations the person accepts later; pending ones are listed.
    pub invitations: bool,
    /// Accounts can be deactivated (kept without a seat) and re-activated.
    pub deactivation: bool,
    /// The app reports when an account was last used.
    pub last_activity: bool,
    /// Partner businesses hold access to assets (Meta agencies, TikTok Business
    /// Center partners): read back and changed per `Partner` objects.
    pub partners: bool,
}

impl Capabilities {
    /// Everything: the planner's default for tests and for connectors that manage it all.
    pub const ALL: Capabilities =
        Capabilities { roles: RoleSupport::Many, assets: true, invitations: true, deactivation: true, last_activity: true, partners: true };

    /// The part of a granted `access` the connector can set: what is sent on an
    /// add and shown as the account's access.
    pub fn settable(&self, access: &Access) -> Access {
        let roles = if self.roles == RoleSupport::None { Default::default() } else { access.roles.clone() };
        let assets = if self.assets { access.assets.clone() } else { Default::default() };
        Access { roles, assets }
    }

    /// The part of `access` compared between what is granted and what the app
    /// reports: two accesses with equal comparables need no update.
    /// `catalog_roles` is the size of the hub's role catalog, because an app
    /// with one role has no role to change (the reference: "some apps only
    /// support one role").
    pub fn comparable(&self, access: &Access, catalog_roles: usize) -> Access {
        let mut access = self.settable(access);
        if catalog_roles <= 1 {
            access.roles.clear();
        }
        access
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(roles: &[&str], assets: &[(&str, &str)]) -> Access {
        Access {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            assets: assets.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect(),
        }
    }

    #[test]
    fn a_connector_compares_only_what_it_can_read_and_set() {
        let held = access(&["editor"], &[("repo", "write")]);
        let scim = Capabilities { assets: false, ..Capabilities::ALL };
        assert_eq!(scim.comparable(&held, 3), access(&["editor"], &[]));
        assert_eq!(scim.settable(&held), access(&["editor"], &[]));
        assert_eq!(Capabilities::ALL.comparable(&held, 3), held);
        let no_roles = Capabilities { roles: RoleSupport::None, ..Capabilities::ALL };
        assert_eq!(no_roles.comparable(&held, 3), access(&[], &[("repo", "write")]));
        // A catalog of one role: the role is still sent on an add, never compared.
        assert_eq!(Capabilities::ALL.settable(&held), held);
        assert_eq!(Capabilities::ALL.comparable(&held, 1), access(&[], &[("repo", "write")]));
    }
}
