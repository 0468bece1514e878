//! Which seat, roles and assets a user must hold on one hub, over all their grants.
//!
//! Hierarchical catalogs give the single highest-weight role granted;
//! permission catalogs give the union. Each asset gets the highest of its
//! granted asset roles (an asset lists its roles lowest first). Grants are
//! folded through sorted sets and maxima, so their order cannot matter.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::access_grant::WorkspaceRole;
use crate::api::app_account::AccountWorkspaceRole;
use crate::api::business_hub::{AppRole, RoleModel};

use super::account::Access;
use super::input::{DirectoryUser, GrantInput, HubPolicy};

/// The seat a user must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSeat {
    pub access: Access,
    /// Names of the grants the seat comes from, sorted.
    pub granted_via: Vec<String>,
    /// False while every seat-giving grant waits for the user to claim access.
    pub claimed: bool,
}

/// Everything a user's grants on the hub give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    /// The seat they must hold; `None` for a deactivated user or one whose grants give no seat.
    pub seat: Option<DesiredSeat>,
    /// Every grant of theirs on this hub, seat-giving or not, sorted ("shared via").
    pub granted_via: Vec<String>,
    /// Their workspace role over those grants (`Mixed` when the grants disagree).
    pub workspace_role: Option<AccountWorkspaceRole>,
}

impl Entitlement {
    /// Manages the hub without a seat: an Owner grant with `seat: false` (the reference's "Cerby only").
    pub fn manages_without_seat(&self) -> bool {
        self.seat.is_none() && self.workspace_role == Some(AccountWorkspaceRole::Owner)
    }
}

/// What `user`'s grants give them on the hub; `None` when no grant applies.
pub fn entitlement(hub: &HubPolicy, user: &DirectoryUser, grants: &[GrantInput]) -> Option<Entitlement> {
    let applying: Vec<&GrantInput> = grants.iter().filter(|g| grant_applies(g, user)).collect();
    if applying.is_empty() {
        return None;
    }
    let mut granted_via: Vec<String> = applying.iter().map(|g| g.name.clone()).collect();
    granted_via.sort();
    granted_via.dedup();
    let roles: std::collections::BTreeSet<WorkspaceRole> = applying.iter().map(|g| g.workspace_role).collect();
    let workspace_role = match roles.len() {
        0 => None,
        1 => roles.into_iter().next().map(|r| match r {
            WorkspaceRole::Owner => AccountWorkspaceRole::Owner,
            WorkspaceRole::Manager => AccountWorkspaceRole::Manager,
            WorkspaceRole::Collaborator => AccountWorkspaceRole::Collaborator,
        }),
        _ => Some(AccountWorkspaceRole::Mixed),
    };
    Some(Entitlement { seat: resolve_seat(hub, user, grants), granted_via, workspace_role })
}

/// Whether `grant` applies to `user` (directly or through one of the user's teams).
pub fn grant_applies(grant: &GrantInput, user: &DirectoryUser) -> bool {
    grant.user.as_deref() == Some(user.name.as_str()) || grant.team.as_ref().is_some_and(|t| user.teams.contains(t))
}

/// The seat `user` must hold on the hub, or `None` when they must hold none.
pub fn resolve_seat(hub: &HubPolicy, user: &DirectoryUser, grants: &[GrantInput]) -> Option<DesiredSeat> {
    if !user.active {
        return None;
    }
    let seat_grants: Vec<&GrantInput> = grants.iter().filter(|g| g.seat && grant_applies(g, user)).collect();
    if seat_grants.is_empty() {
        return None;
    }
    let claimed: Vec<&GrantInput> = seat_grants.iter().copied().filter(|g| !g.needs_claim || user.claimed).collect();
    // Until a claim, show what the seat would be; once claimed (or when no
    // grant needs a claim), only the grants in force count.
    let (effective, is_claimed) = if claimed.is_empty() { (seat_grants.clone(), false) } else { (claimed, true) };
    let mut granted_via: Vec<String> = effective.iter().map(|g| g.name.clone()).collect();
    granted_via.sort();
    granted_via.dedup();
    let access = hub.capabilities.settable(&access_of(hub, &effective));
    Some(DesiredSeat { access, granted_via, claimed: is_claimed })
}

/// Roles and assets from a set of grants.
pub fn access_of(hub: &HubPolicy, grants: &[&GrantInput]) -> Access {
    let named: BTreeSet<&str> = grants.iter().flat_map(|g| g.app_roles.iter().map(String::as_str)).collect();
    let catalog: Vec<&AppRole> = hub.roles.iter().filter(|r| named.contains(r.name.as_str())).collect();
    let roles: BTreeSet<String> = match hub.role_model {
        RoleModel::Permissions => catalog.iter().map(|r| r.name.clone()).collect(),
        RoleModel::Hierarchical => {
            // No role named: the catalog's lowest role, the app's default seat.
            let pick = if catalog.is_empty() { hub.roles.iter().min_by(rank) } else { catalog.into_iter().max_by(rank) };
            pick.map(|r| r.name.clone()).into_iter().collect()
        }
    };
    let mut assets: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (asset_name, role) in grants.iter().flat_map(|g| g.assets.iter()) {
        // Named by the catalog's name or the app's id; held under the name.
        let Some(asset) = hub.assets.iter().find(|a| a.answers_to(asset_name)) else { continue };
        let (rank, name) = match role {
            Some(role) => match asset.roles.iter().position(|r| r == role) {
                Some(i) => (i, role.clone()),
                None => continue,
            },
            None => (0, asset.roles.first().cloned().unwrap_or_default()),
        };
        let entry = assets.entry(asset.name.clone()).or_insert((rank, name.clone()));
        if rank > entry.0 {
            *entry = (rank, name);
        }
    }
    Access { roles, assets: assets.into_iter().map(|(asset, (_, role))| (asset, role)).collect() }
}

/// Higher weight wins; equal weights are ordered by name so the pick is stable.
fn rank(a: &&AppRole, b: &&AppRole) -> std::cmp::Ordering {
    a.weight.cmp(&b.weight).then_with(|| b.name.cmp(&a.name))
}

/// Whether an access holds one of the catalog's admin roles.
pub fn holds_admin(hub: &HubPolicy, access: &Access) -> bool {
    hub.roles.iter().any(|r| r.admin && access.roles.contains(&r.name))
}
