//! Is an `AccessGrant` acceptable: do its subject, hub(s), roles and assets exist?

use crate::api::access_grant::AccessGrantSpec;
use crate::api::business_hub::BusinessHub;
use crate::api::condition::{Condition, ConditionStatus};

/// Condition type reported on every grant.
pub use crate::api::wire::condition::ACCEPTED;

/// Reasons a grant is not accepted; stable words users can search for.
pub mod reason {
    pub const ACCEPTED: &str = "Accepted";
    pub const TEAM_NOT_FOUND: &str = "TeamNotFound";
    pub const USER_NOT_FOUND: &str = "UserNotFound";
    pub const HUB_NOT_FOUND: &str = "HubNotFound";
    pub const UNKNOWN_ROLE: &str = "UnknownAppRole";
    pub const UNKNOWN_ASSET: &str = "UnknownAsset";
    pub use crate::api::wire::reason::ASSETS_NOT_SUPPORTED;
}

/// The hubs a grant resolved to, sorted by name.
pub type ResolvedHubs<'a> = Vec<&'a BusinessHub>;

/// Checks a grant. `subject_exists` says whether its team or user exists;
/// `hubs` holds the hubs it targets that exist (for a single `hub`, at most one).
pub fn check_grant(spec: &AccessGrantSpec, subject_exists: bool, hubs: &ResolvedHubs<'_>) -> Condition {
    let fail = |reason: &str, message: String| Condition::new(ACCEPTED, ConditionStatus::False, reason, message);
    if !subject_exists {
        return match (&spec.subject.team, &spec.subject.user) {
            (Some(team), _) => fail(
                reason::TEAM_NOT_FOUND,
                format!("team {team:?} does not exist in this namespace; the grant applies once it is created"),
            ),
            (None, Some(user)) => fail(
                reason::USER_NOT_FOUND,
                format!("user {user:?} does not exist in this namespace; the grant applies once it is created"),
            ),
            // The CRD's CEL rule makes this unreachable through the API server.
            (None, None) => fail(reason::USER_NOT_FOUND, "the grant names no subject".into()),
        };
    }
    if let Some(hub) = &spec.hub
        && hubs.is_empty()
    {
        return fail(reason::HUB_NOT_FOUND, format!("BusinessHub {hub:?} does not exist in this namespace"));
    }
    for full in hubs {
        let hub_name = full.metadata.name.as_deref().unwrap_or_default();
        let hub = &full.spec;
        let catalog = full.asset_catalog();
        if !spec.assets.is_empty() && !crate::connector::capabilities(&hub.connector).assets {
            return fail(
                reason::ASSETS_NOT_SUPPORTED,
                format!(
                    "hub {hub_name:?} uses the {:?} connector, which cannot manage assets: the seat and app roles are granted, the assets {:?} are not",
                    hub.connector.type_,
                    spec.assets.iter().map(|a| a.name.as_str()).collect::<Vec<_>>()
                ),
            );
        }
        for role in &spec.app_roles {
            if !hub.roles.iter().any(|r| &r.name == role) {
                let known: Vec<&str> = hub.roles.iter().map(|r| r.name.as_str()).collect();
                return fail(reason::UNKNOWN_ROLE, format!("hub {hub_name:?} has no app role {role:?}; its catalog has {known:?}"));
            }
        }
        for asset in &spec.assets {
            match catalog.iter().find(|a| a.answers_to(&asset.name)) {
                None => {
                    return fail(reason::UNKNOWN_ASSET, format!("hub {hub_name:?} has no asset {:?}", asset.name));
                }
                Some(known) => {
                    if let Some(role) = &asset.role
                        && !known.roles.iter().any(|r| r == role)
                    {
                        return fail(reason::UNKNOWN_ASSET, format!("asset {:?} of hub {hub_name:?} has no role {role:?}", asset.name));
                    }
                }
            }
        }
    }
    let target = match &spec.hub {
        Some(hub) => format!("hub {hub:?}"),
        None => format!("{} hub(s) of the collection", hubs.len()),
    };
    Condition::new(ACCEPTED, ConditionStatus::True, reason::ACCEPTED, format!("subject and {target} resolve"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::access_grant::*;
    use crate::api::business_hub::{AppAsset, AppRole, BusinessHub};
    use crate::checks::hub::tests::hub_spec;

    fn grant() -> AccessGrantSpec {
        AccessGrantSpec {
            subject: GrantSubject { team: Some("eng".into()), user: None },
            hub: Some("github".into()),
            hub_selector: None,
            workspace_role: WorkspaceRole::Collaborator,
            app_roles: vec!["member".into()],
            assets: vec![AssetGrant { name: "api".into(), role: Some("write".into()) }],
            seat: true,
            claim_required: false,
        }
    }

    fn hub() -> BusinessHub {
        let mut spec = hub_spec();
        // A connector that manages assets, so the asset checks are reached.
        spec.connector.type_ = crate::api::business_hub::ConnectorType::GitHub;
        spec.roles = vec![AppRole { name: "member".into(), weight: 1, admin: false, description: None }];
        spec.assets = vec![AppAsset { name: "api".into(), id: None, kind: None, roles: vec!["read".into(), "write".into()] }];
        BusinessHub::new("github", spec)
    }

    #[test]
    fn missing_team_is_named() {
        let hub = hub();
        let c = check_grant(&grant(), false, &vec![&hub]);
        assert_eq!(c.reason, reason::TEAM_NOT_FOUND);
        assert!(c.message.contains("\"eng\""));
    }

    #[test]
    fn missing_hub_is_reported() {
        assert_eq!(check_grant(&grant(), true, &vec![]).reason, reason::HUB_NOT_FOUND);
    }

    #[test]
    fn unknown_role_and_asset_role_are_reported() {
        let hub = hub();
        let mut g = grant();
        g.app_roles = vec!["admin".into()];
        assert_eq!(check_grant(&g, true, &vec![&hub]).reason, reason::UNKNOWN_ROLE);
        let mut g = grant();
        g.assets[0].role = Some("maintain".into());
        assert_eq!(check_grant(&g, true, &vec![&hub]).reason, reason::UNKNOWN_ASSET);
    }

    #[test]
    fn assets_on_a_connector_without_assets_are_refused_with_a_reason() {
        let mut hub = hub();
        hub.spec.connector.type_ = crate::api::business_hub::ConnectorType::Scim;
        let c = check_grant(&grant(), true, &vec![&hub]);
        assert_eq!((c.status, c.reason.as_str()), (ConditionStatus::False, reason::ASSETS_NOT_SUPPORTED));
        assert!(c.message.contains("\"api\""), "{}", c.message);
        let mut seat_only = grant();
        seat_only.assets.clear();
        assert_eq!(check_grant(&seat_only, true, &vec![&hub]).status, ConditionStatus::True);
    }

    #[test]
    fn an_asset_the_read_back_imported_can_be_granted_by_name_or_id() {
        let mut hub = hub();
        let mut g = grant();
        g.assets = vec![AssetGrant { name: "Brand US".into(), role: Some("ADVERTISE".into()) }];
        assert_eq!(check_grant(&g, true, &vec![&hub]).reason, reason::UNKNOWN_ASSET);
        hub.status = Some(crate::api::business_hub::BusinessHubStatus {
            assets: vec![AppAsset {
                name: "Brand US".into(),
                id: Some("act_1".into()),
                kind: Some("adAccount".into()),
                roles: vec!["ANALYZE".into(), "ADVERTISE".into(), "MANAGE".into()],
            }],
            ..Default::default()
        });
        assert_eq!(check_grant(&g, true, &vec![&hub]).status, ConditionStatus::True);
        g.assets[0].name = "act_1".into();
        assert_eq!(check_grant(&g, true, &vec![&hub]).status, ConditionStatus::True);
        g.assets[0].role = Some("OWN".into());
        assert_eq!(check_grant(&g, true, &vec![&hub]).reason, reason::UNKNOWN_ASSET);
    }

    #[test]
    fn resolvable_grant_is_accepted() {
        let hub = hub();
        assert_eq!(check_grant(&grant(), true, &vec![&hub]).status, ConditionStatus::True);
    }
}
