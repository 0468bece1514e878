//! Partners: other businesses (agencies, media planners) that hold access to
//! this business's assets in a paid-social app. The read-back reports what
//! each holds; a `Partner` object may declare exactly what it should hold, and
//! this planner says which asset accesses to grant, change and revoke to get
//! there. Pure: the operator carries the changes out under the hub's mode.

use std::collections::BTreeMap;

/// A partner business as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalPartner {
    /// The app's id for the partner business.
    pub id: String,
    /// The name the app shows for it.
    pub name: Option<String>,
    /// Asset name (as `list_assets` names it) → the asset role the partner holds.
    pub assets: BTreeMap<String, String>,
}

/// One partner an admin declared (a `Partner` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPartner {
    /// The object's `namespace/name`, for reports.
    pub key: String,
    /// The partner business's id in the app.
    pub partner_id: String,
    /// Exactly the asset accesses it should hold; `None` only reports what it holds.
    pub access: Option<BTreeMap<String, String>>,
}

/// One change of a partner's access to one asset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartnerChange {
    /// Give the partner `role` on `asset` (`from`: the role it holds now, if any).
    Grant { partner_id: String, asset: String, role: String, from: Option<String> },
    /// Take the partner's access to `asset` (holding `role`) away.
    Revoke { partner_id: String, asset: String, role: String },
}

impl PartnerChange {
    pub fn partner_id(&self) -> &str {
        match self {
            PartnerChange::Grant { partner_id, .. } | PartnerChange::Revoke { partner_id, .. } => partner_id,
        }
    }

    pub fn asset(&self) -> &str {
        match self {
            PartnerChange::Grant { asset, .. } | PartnerChange::Revoke { asset, .. } => asset,
        }
    }

    /// Revocations take access away: they count against the hub's removal limit.
    pub fn is_revocation(&self) -> bool {
        matches!(self, PartnerChange::Revoke { .. })
    }
}

/// Why a declared partner's access is not planned at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerRefusal {
    /// It names assets the hub's catalog does not have (nothing is changed for
    /// it: a half-applied declaration would be worse than none).
    UnknownAssets(Vec<String>),
    /// It names a role an asset cannot be given.
    UnknownAssetRole { asset: String, role: String },
    /// Two `Partner` objects declare the same partner business.
    DeclaredTwice { other: String },
}

/// The plan for one declared partner.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartnerPlan {
    /// What the app says the partner holds now (empty when the app has no such partner yet).
    pub observed: Option<ExternalPartner>,
    /// Changes to make now.
    pub changes: Vec<PartnerChange>,
    /// Revocations held back by the hub's removal limit.
    pub held: Vec<PartnerChange>,
    /// Set when the declaration cannot be planned.
    pub refused: Option<PartnerRefusal>,
}

/// The catalog an asset access must come from: asset name → the roles it can be given.
pub type AssetRoles = BTreeMap<String, Vec<String>>;

/// Plans every declared partner against what the app reports. `removals_left`
/// is what the hub's removal limit still allows in this window (shared with
/// account removals); revocations beyond it are held. Plans come back in the
/// order of `declared`.
pub fn plan_partners(
    declared: &[DeclaredPartner],
    observed: &[ExternalPartner],
    catalog: &AssetRoles,
    removals_left: usize,
) -> Vec<PartnerPlan> {
    let by_id: BTreeMap<&str, &ExternalPartner> = observed.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut first_declaration: BTreeMap<&str, &str> = BTreeMap::new();
    let mut left = removals_left;
    declared
        .iter()
        .map(|partner| {
            let observed = by_id.get(partner.partner_id.as_str()).map(|p| (*p).clone());
            let mut plan = PartnerPlan { observed, ..Default::default() };
            if let Some(other) = first_declaration.insert(partner.partner_id.as_str(), partner.key.as_str()) {
                // The first declaration (in the caller's sorted order) keeps the partner.
                first_declaration.insert(partner.partner_id.as_str(), other);
                plan.refused = Some(PartnerRefusal::DeclaredTwice { other: other.to_string() });
                return plan;
            }
            let Some(wanted) = &partner.access else { return plan };
            if let Some(refusal) = refuse(wanted, catalog) {
                plan.refused = Some(refusal);
                return plan;
            }
            let held_now = plan.observed.as_ref().map(|p| p.assets.clone()).unwrap_or_default();
            for (asset, role) in wanted {
                match held_now.get(asset) {
                    Some(current) if current == role => {}
                    current => plan.changes.push(PartnerChange::Grant {
                        partner_id: partner.partner_id.clone(),
                        asset: asset.clone(),
                        role: role.clone(),
                        from: current.cloned(),
                    }),
                }
            }
            for (asset, role) in &held_now {
                if wanted.contains_key(asset) {
                    continue;
                }
                let revoke = PartnerChange::Revoke { partner_id: partner.partner_id.clone(), asset: asset.clone(), role: role.clone() };
                if left > 0 {
                    left -= 1;
                    plan.changes.push(revoke);
                } else {
                    plan.held.push(revoke);
                }
            }
            plan
        })
        .collect()
}

/// Why a declaration cannot be planned, if it cannot.
fn refuse(wanted: &BTreeMap<String, String>, catalog: &AssetRoles) -> Option<PartnerRefusal> {
    let unknown: Vec<String> = wanted.keys().filter(|a| !catalog.contains_key(*a)).cloned().collect();
    if !unknown.is_empty() {
        return Some(PartnerRefusal::UnknownAssets(unknown));
    }
    wanted.iter().find_map(|(asset, role)| {
        let roles = catalog.get(asset)?;
        (!roles.is_empty() && !roles.contains(role)).then(|| PartnerRefusal::UnknownAssetRole { asset: asset.clone(), role: role.clone() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect()
    }

    fn catalog() -> AssetRoles {
        [("Brand US", vec!["ANALYZE", "ADVERTISE", "MANAGE"]), ("Brand EU", vec!["ANALYZE", "ADVERTISE", "MANAGE"]), ("Shop", vec![])]
            .into_iter()
            .map(|(a, roles)| (a.to_string(), roles.into_iter().map(String::from).collect()))
            .collect()
    }

    fn declared(key: &str, id: &str, access: Option<&[(&str, &str)]>) -> DeclaredPartner {
        DeclaredPartner { key: key.into(), partner_id: id.into(), access: access.map(map) }
    }

    fn agency(assets: &[(&str, &str)]) -> ExternalPartner {
        ExternalPartner { id: "77".into(), name: Some("Agency".into()), assets: map(assets) }
    }

    #[test]
    fn a_declared_change_grants_changes_and_revokes_exactly_the_difference() {
        let observed = [agency(&[("Brand US", "ANALYZE"), ("Brand EU", "ADVERTISE")])];
        let wanted = declared("ns/agency", "77", Some(&[("Brand US", "ADVERTISE"), ("Shop", "")]));
        let plans = plan_partners(&[wanted], &observed, &catalog(), 10);
        let mut changes = plans[0].changes.clone();
        changes.sort();
        assert_eq!(
            changes,
            vec![
                PartnerChange::Grant {
                    partner_id: "77".into(),
                    asset: "Brand US".into(),
                    role: "ADVERTISE".into(),
                    from: Some("ANALYZE".into())
                },
                PartnerChange::Grant { partner_id: "77".into(), asset: "Shop".into(), role: "".into(), from: None },
                PartnerChange::Revoke { partner_id: "77".into(), asset: "Brand EU".into(), role: "ADVERTISE".into() },
            ]
        );
        assert!(plans[0].held.is_empty() && plans[0].refused.is_none());
    }

    #[test]
    fn a_partner_at_its_declared_access_or_only_reported_gets_no_change() {
        let observed = [agency(&[("Brand US", "ANALYZE")])];
        let same = declared("ns/a", "77", Some(&[("Brand US", "ANALYZE")]));
        assert!(plan_partners(&[same], &observed, &catalog(), 10)[0].changes.is_empty());
        let reported = declared("ns/a", "77", None);
        let plan = &plan_partners(&[reported], &observed, &catalog(), 10)[0];
        assert!(plan.changes.is_empty() && plan.held.is_empty());
        assert_eq!(plan.observed.as_ref().map(|p| p.assets.len()), Some(1));
    }

    #[test]
    fn a_partner_not_in_the_app_yet_is_granted_its_access() {
        let plan = &plan_partners(&[declared("ns/new", "99", Some(&[("Brand EU", "ANALYZE")]))], &[], &catalog(), 10)[0];
        assert_eq!(plan.observed, None);
        assert_eq!(plan.changes.len(), 1);
        assert!(!plan.changes[0].is_revocation());
    }

    #[test]
    fn revocations_beyond_the_removal_limit_are_held_across_partners() {
        let mut second = agency(&[("Brand US", "ANALYZE"), ("Brand EU", "ANALYZE")]);
        second.id = "78".into();
        let observed = [agency(&[("Brand US", "ANALYZE"), ("Brand EU", "ANALYZE")]), second];
        let none: &[(&str, &str)] = &[];
        let plans = plan_partners(&[declared("ns/a", "77", Some(none)), declared("ns/b", "78", Some(none))], &observed, &catalog(), 3);
        assert_eq!((plans[0].changes.len(), plans[0].held.len()), (2, 0));
        assert_eq!((plans[1].changes.len(), plans[1].held.len()), (1, 1));
    }

    #[test]
    fn an_unknown_asset_or_role_refuses_the_whole_declaration() {
        let observed = [agency(&[("Brand EU", "ANALYZE")])];
        let plan =
            &plan_partners(&[declared("ns/a", "77", Some(&[("Brand US", "ADVERTISE"), ("Nope", "MANAGE")]))], &observed, &catalog(), 10)[0];
        assert_eq!(plan.refused, Some(PartnerRefusal::UnknownAssets(vec!["Nope".into()])));
        assert!(plan.changes.is_empty(), "nothing half-applied: {:?}", plan.changes);
        let plan = &plan_partners(&[declared("ns/a", "77", Some(&[("Brand US", "OWN")]))], &observed, &catalog(), 10)[0];
        assert_eq!(plan.refused, Some(PartnerRefusal::UnknownAssetRole { asset: "Brand US".into(), role: "OWN".into() }));
    }

    #[test]
    fn a_partner_declared_twice_is_planned_once() {
        let observed = [agency(&[])];
        let plans = plan_partners(
            &[declared("ns/a", "77", Some(&[("Brand US", "ANALYZE")])), declared("ns/b", "77", Some(&[("Brand EU", "ANALYZE")]))],
            &observed,
            &catalog(),
            10,
        );
        assert_eq!(plans[0].changes.len(), 1);
        assert_eq!(plans[1].refused, Some(PartnerRefusal::DeclaredTwice { other: "ns/a".into() }));
        assert!(plans[1].changes.is_empty());
    }
}
