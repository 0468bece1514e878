//! Asset assignment: the calls that bring a member's assets from what it holds
//! to what it should hold, and nothing more. `bc/asset/assign` gives an asset
//! with a role (and, on an asset held already, sets the new role: one call per
//! role change); `bc/asset/unassign` takes it away.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::assets::Asset;

/// One call of an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Give the asset with this role, or change the role held on it.
    Assign { asset: Asset, role: String },
    /// Take the asset away.
    Unassign { asset: Asset },
}

/// The changes from `held` to `wanted` (asset id → (asset, role)), in asset id
/// order, assigns and role changes before unassigns: exactly the difference.
pub fn changes(held: &BTreeMap<String, (Asset, String)>, wanted: &BTreeMap<String, (Asset, String)>) -> Vec<Change> {
    let mut out = Vec::new();
    for (id, (asset, role)) in wanted {
        if held.get(id).is_none_or(|(_, has)| has != role) {
            out.push(Change::Assign { asset: asset.clone(), role: role.clone() });
        }
    }
    for (id, (asset, _)) in held {
        if !wanted.contains_key(id) {
            out.push(Change::Unassign { asset: asset.clone() });
        }
    }
    out
}

impl Change {
    /// The endpoint and body of the call, for the member `user_id` of Business Center `bc_id`.
    pub fn request(&self, bc_id: &str, user_id: &str) -> Result<(&'static str, Value), String> {
        match self {
            Change::Assign { asset, role } => {
                let mut body = json!({"bc_id": bc_id, "user_id": user_id, "asset_type": asset.kind.wire(), "asset_id": asset.id});
                body[asset.kind.role_field()] = asset.kind.role_value(role)?;
                Ok(("bc/asset/assign/", body))
            }
            Change::Unassign { asset } => Ok((
                "bc/asset/unassign/",
                json!({"bc_id": bc_id, "user_id": user_id, "asset_type": asset.kind.wire(), "asset_id": asset.id}),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::assets::AssetType;
    use super::*;

    fn asset(id: &str, kind: AssetType) -> Asset {
        Asset { id: id.into(), kind, tiktok_name: format!("n{id}"), name: format!("n{id}") }
    }

    fn map(entries: &[(&str, AssetType, &str)]) -> BTreeMap<String, (Asset, String)> {
        entries.iter().map(|(id, kind, role)| (id.to_string(), (asset(id, *kind), role.to_string()))).collect()
    }

    #[test]
    fn only_the_difference_is_sent() {
        let held =
            map(&[("1", AssetType::Advertiser, "ANALYST"), ("2", AssetType::Catalog, "ADMIN"), ("3", AssetType::Advertiser, "ADMIN")]);
        let wanted =
            map(&[("1", AssetType::Advertiser, "OPERATOR"), ("2", AssetType::Catalog, "ADMIN"), ("4", AssetType::TtAccount, "POST+LIVE")]);
        let calls = changes(&held, &wanted);
        assert_eq!(
            calls,
            vec![
                Change::Assign { asset: asset("1", AssetType::Advertiser), role: "OPERATOR".into() },
                Change::Assign { asset: asset("4", AssetType::TtAccount), role: "POST+LIVE".into() },
                Change::Unassign { asset: asset("3", AssetType::Advertiser) },
            ]
        );
        assert!(changes(&wanted, &wanted).is_empty(), "nothing to do: no call");
        let (endpoint, body) = calls[1].request("9", "71").expect("request");
        assert_eq!(endpoint, "bc/asset/assign/");
        assert_eq!(
            body,
            json!({"bc_id": "9", "user_id": "71", "asset_type": "TT_ACCOUNT", "asset_id": "4", "tt_account_roles": ["POST", "LIVE"]})
        );
        let (endpoint, body) = calls[2].request("9", "71").expect("request");
        assert_eq!((endpoint, body["asset_id"].as_str()), ("bc/asset/unassign/", Some("3")));
        let bad = Change::Assign { asset: asset("5", AssetType::Catalog), role: "OPERATOR".into() };
        assert!(bad.request("9", "71").is_err());
    }
}
