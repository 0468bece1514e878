//! Partner businesses: the Business Centers this one shares assets with, and
//! the role each holds on each shared asset (`bc/partner/get`,
//! `bc/partner/asset/get` with `share_type=SHARING`). Sharing an asset, or
//! changing the role a partner holds on it, is `bc/partner/add` with the asset
//! and the role; taking it back is `bc/partner/asset/delete`.
//!
//! TikTok's `bc/partner/add` names a role only for ad accounts
//! (`advertiser_role`, ANALYST by default) and catalogs (`catalog_role`); an
//! asset of another type is shared with its type's one role.

use serde_json::{Value, json};

use super::assets::{Asset, AssetType};

/// One partner as `bc/partner/get` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: String,
    pub name: Option<String>,
}

pub fn partners_of(items: &[Value]) -> Vec<Partner> {
    items
        .iter()
        .filter_map(|p| {
            let id = p.get("bc_id").and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))?;
            let name = p.get("bc_name").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
            Some(Partner { id, name })
        })
        .collect()
}

/// The body of `bc/partner/add` sharing `asset` with `partner_id` under `role`.
pub fn share_body(bc_id: &str, partner_id: &str, asset: &Asset, role: &str) -> Result<Value, String> {
    let mut body = json!({"bc_id": bc_id, "partner_id": partner_id, "asset_type": asset.kind.wire(), "asset_ids": [asset.id]});
    match asset.kind {
        AssetType::Advertiser | AssetType::Catalog => body[asset.kind.role_field()] = asset.kind.role_value(role)?,
        other => {
            let only = other.roles();
            if !only.iter().any(|r| r.eq_ignore_ascii_case(role)) || only.len() != 1 {
                return Err(format!(
                    "TikTok shares a {} asset with a partner under its one role {}; {role:?} cannot be asked for",
                    other.wire(),
                    only.first().map(String::as_str).unwrap_or("?")
                ));
            }
        }
    }
    Ok(body)
}

/// The body of `bc/partner/asset/delete` taking `asset` back from `partner_id`.
pub fn unshare_body(bc_id: &str, partner_id: &str, asset: &Asset) -> Value {
    json!({"bc_id": bc_id, "partner_id": partner_id, "asset_type": asset.kind.wire(), "asset_ids": [asset.id]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_are_read_and_assets_shared_with_their_role() {
        let listed = partners_of(json!([{"bc_id": "99", "bc_name": "Agency One"}, {"bc_name": "no id"}]).as_array().expect("list"));
        assert_eq!(listed, vec![Partner { id: "99".into(), name: Some("Agency One".into()) }]);
        let ad = Asset { id: "1".into(), kind: AssetType::Advertiser, tiktok_name: "Brand".into(), name: "Brand".into() };
        assert_eq!(
            share_body("9", "99", &ad, "OPERATOR"),
            Ok(json!({"bc_id": "9", "partner_id": "99", "asset_type": "ADVERTISER", "asset_ids": ["1"], "advertiser_role": "OPERATOR"}))
        );
        assert!(share_body("9", "99", &ad, "AD_PROMOTE").is_err());
        let shop = Asset { id: "2".into(), kind: AssetType::TiktokShop, tiktok_name: "Shop".into(), name: "Shop".into() };
        assert!(share_body("9", "99", &shop, "AD_PROMOTION").is_ok_and(|b| b.get("store_role").is_none()));
        let tt = Asset { id: "3".into(), kind: AssetType::TtAccount, tiktok_name: "tt".into(), name: "tt".into() };
        assert!(share_body("9", "99", &tt, "POST").is_err(), "TikTok names no role for a shared TikTok account");
        assert_eq!(unshare_body("9", "99", &ad)["asset_ids"], json!(["1"]));
    }
}
