//! Business Center assets and the roles each type of asset takes, and the
//! connector's directory of them (asset name ↔ TikTok id).
//!
//! An asset role is one string per asset, TikTok's own value for the asset's
//! type: ad accounts (`ADVERTISER`) `ANALYST`, `OPERATOR` or `ADMIN`
//! (`advertiser_role`); catalogs `AD_PROMOTE` or `ADMIN` (`catalog_role`);
//! TikTok Shops `AD_PROMOTION` (`store_role`); lead form libraries `ADMIN`
//! (`form_library_role`); TikTok accounts (`TT_ACCOUNT`) a set of `POST`,
//! `LIVE`, `DIRECT_MESSAGE` (`tt_account_roles`), written joined by `+` in that
//! order (`POST+LIVE`).
//!
//! Assets are named by their TikTok name; two assets with one name are told
//! apart as `NAME (ID)`; an asset the hub's `spec.assets` names by its id (or
//! lists with `id`) keeps the hub's name. A name the directory does not know is
//! also tried as a raw asset id.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::business_hub::{AppAsset, TikTokAssetType};

/// The asset types the connector manages, in the order it reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssetType {
    Advertiser,
    Catalog,
    TiktokShop,
    Lead,
    TtAccount,
}

/// `TT_ACCOUNT` roles in the order a role string writes them.
pub const TT_ACCOUNT_ROLES: [&str; 3] = ["POST", "LIVE", "DIRECT_MESSAGE"];

impl AssetType {
    pub const ALL: [AssetType; 5] =
        [AssetType::Advertiser, AssetType::Catalog, AssetType::TiktokShop, AssetType::Lead, AssetType::TtAccount];

    /// TikTok's `asset_type`.
    pub fn wire(self) -> &'static str {
        match self {
            AssetType::Advertiser => "ADVERTISER",
            AssetType::Catalog => "CATALOG",
            AssetType::TiktokShop => "TIKTOK_SHOP",
            AssetType::Lead => "LEAD",
            AssetType::TtAccount => "TT_ACCOUNT",
        }
    }

    pub fn parse(text: &str) -> Option<AssetType> {
        AssetType::ALL.into_iter().find(|t| t.wire().eq_ignore_ascii_case(text.trim()))
    }

    /// The type a hub's `spec.connector.tiktok.assetTypes` names.
    pub fn of_setting(setting: TikTokAssetType) -> AssetType {
        match setting {
            TikTokAssetType::Advertiser => AssetType::Advertiser,
            TikTokAssetType::Catalog => AssetType::Catalog,
            TikTokAssetType::TikTokShop => AssetType::TiktokShop,
            TikTokAssetType::Lead => AssetType::Lead,
            TikTokAssetType::TtAccount => AssetType::TtAccount,
        }
    }

    /// The field that carries a holder's role on this type of asset.
    pub fn role_field(self) -> &'static str {
        match self {
            AssetType::Advertiser => "advertiser_role",
            AssetType::Catalog => "catalog_role",
            AssetType::TiktokShop => "store_role",
            AssetType::Lead => "form_library_role",
            AssetType::TtAccount => "tt_account_roles",
        }
    }

    /// The role strings this type takes, lowest first (every `TT_ACCOUNT` combination).
    pub fn roles(self) -> Vec<String> {
        let fixed: &[&str] = match self {
            AssetType::Advertiser => &["ANALYST", "OPERATOR", "ADMIN"],
            AssetType::Catalog => &["AD_PROMOTE", "ADMIN"],
            AssetType::TiktokShop => &["AD_PROMOTION"],
            AssetType::Lead => &["ADMIN"],
            AssetType::TtAccount => {
                return (1u8..8)
                    .map(|bits| {
                        TT_ACCOUNT_ROLES
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| bits & (1 << i) != 0)
                            .map(|(_, r)| *r)
                            .collect::<Vec<_>>()
                            .join("+")
                    })
                    .collect();
            }
        };
        fixed.iter().map(|r| r.to_string()).collect()
    }

    /// A role string as the body field TikTok takes (`advertiser_role: "OPERATOR"`, `tt_account_roles: ["POST"]`).
    pub fn role_value(self, role: &str) -> Result<Value, String> {
        let upper = role.trim().to_ascii_uppercase();
        if self == AssetType::TtAccount {
            let parts: Vec<&str> = upper.split('+').map(str::trim).collect();
            if parts.iter().any(|p| !TT_ACCOUNT_ROLES.contains(p)) || parts.is_empty() {
                return Err(format!("TikTok account roles are POST, LIVE and DIRECT_MESSAGE joined by +; {role:?} is not"));
            }
            let ordered: Vec<&str> = TT_ACCOUNT_ROLES.iter().copied().filter(|r| parts.contains(r)).collect();
            return Ok(json!(ordered));
        }
        let allowed = self.roles();
        if allowed.contains(&upper) {
            Ok(json!(upper))
        } else {
            Err(format!("{} assets take the roles {}; {role:?} is none of them", self.wire(), allowed.join(", ")))
        }
    }

    /// A holder's role as a listing shows it, as one role string.
    pub fn role_of(self, item: &Value) -> Option<String> {
        let value = item.get(self.role_field())?;
        match (self, value) {
            (AssetType::TtAccount, Value::Array(roles)) => {
                let held: Vec<&str> = roles.iter().filter_map(Value::as_str).collect();
                let ordered: Vec<&str> = TT_ACCOUNT_ROLES.iter().copied().filter(|r| held.contains(r)).collect();
                (!ordered.is_empty()).then(|| ordered.join("+"))
            }
            (_, Value::String(role)) if !role.is_empty() => Some(role.clone()),
            _ => None,
        }
    }
}

/// One asset of the Business Center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub id: String,
    pub kind: AssetType,
    /// TikTok's name for it.
    pub tiktok_name: String,
    /// The name grants and read-backs use (unique in the directory).
    pub name: String,
}

/// The assets of a `bc/asset/get` list of one type.
pub fn assets_of(items: &[Value], kind: AssetType) -> Vec<Asset> {
    items
        .iter()
        .filter_map(|a| {
            let id = a.get("asset_id").and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))?;
            let tiktok_name = a.get("asset_name").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or(&id).to_string();
            Some(Asset { id, kind, name: tiktok_name.clone(), tiktok_name })
        })
        .collect()
}

/// The connector's name ↔ id directory of the Business Center's assets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    assets: Vec<Asset>,
}

impl Directory {
    /// The directory of `assets`, named: the hub's name for an asset its
    /// `spec.assets` names by id, else TikTok's name, made unique with the id
    /// where two assets share it.
    pub fn new(mut assets: Vec<Asset>, hub_assets: &[AppAsset]) -> Directory {
        let hub_name = |id: &str| hub_assets.iter().find(|a| a.answers_to(id)).map(|a| a.name.clone());
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for asset in &assets {
            *counts.entry(asset.tiktok_name.clone()).or_default() += 1;
        }
        for asset in &mut assets {
            asset.name = match hub_name(&asset.id) {
                Some(name) => name,
                None if counts.get(&asset.tiktok_name).copied().unwrap_or(0) > 1 => format!("{} ({})", asset.tiktok_name, asset.id),
                None => asset.tiktok_name.clone(),
            };
        }
        Directory { assets }
    }

    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// The asset a grant names: by its name, else by its raw id.
    pub fn find(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name).or_else(|| self.assets.iter().find(|a| a.id == name))
    }

    pub fn by_id(&self, id: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.id == id)
    }

    /// The assets as the hub's status imports them.
    pub fn app_assets(&self) -> Vec<AppAsset> {
        self.assets
            .iter()
            .map(|a| AppAsset {
                name: a.name.clone(),
                kind: Some(a.kind.wire().to_string()),
                roles: a.kind.roles(),
                id: Some(a.id.clone()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_asset_type_takes_its_own_roles() {
        assert_eq!(AssetType::Advertiser.role_value("operator"), Ok(json!("OPERATOR")));
        assert!(AssetType::Advertiser.role_value("AD_PROMOTE").is_err());
        assert_eq!(AssetType::Catalog.role_value("AD_PROMOTE"), Ok(json!("AD_PROMOTE")));
        assert_eq!(AssetType::TiktokShop.roles(), ["AD_PROMOTION"]);
        assert_eq!(AssetType::TtAccount.role_value("LIVE+POST"), Ok(json!(["POST", "LIVE"])));
        assert!(AssetType::TtAccount.role_value("POST+ADMIN").is_err());
        let tt = AssetType::TtAccount.roles();
        assert_eq!(tt.len(), 7);
        assert!(tt.contains(&"POST+LIVE+DIRECT_MESSAGE".to_string()) && tt[0] == "POST");
        assert_eq!(AssetType::TtAccount.role_of(&json!({"tt_account_roles": ["LIVE", "POST"]})).as_deref(), Some("POST+LIVE"));
        assert_eq!(AssetType::Advertiser.role_of(&json!({"advertiser_role": "ADMIN"})).as_deref(), Some("ADMIN"));
        assert_eq!(AssetType::Advertiser.role_of(&json!({"catalog_role": "ADMIN"})), None);
        assert_eq!(AssetType::parse("tiktok_shop"), Some(AssetType::TiktokShop));
        assert_eq!(AssetType::parse("PIXEL"), None);
    }

    #[test]
    fn the_directory_names_assets_uniquely_and_finds_them_by_name_or_id() {
        let mut assets = assets_of(
            json!([{"asset_id": "11", "asset_name": "Brand"}, {"asset_id": "12", "asset_name": "Brand"}, {"asset_id": "13", "asset_name": "Solo"}, {"asset_name": "no id"}])
                .as_array()
                .expect("list"),
            AssetType::Advertiser,
        );
        assets.extend(assets_of(json!([{"asset_id": 21, "asset_name": "Spring"}]).as_array().expect("list"), AssetType::Catalog));
        let hub = vec![AppAsset { name: "main-catalog".into(), kind: None, roles: vec![], id: Some("21".into()) }];
        let directory = Directory::new(assets, &hub);
        let names: Vec<&str> = directory.assets().iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Brand (11)", "Brand (12)", "Solo", "main-catalog"]);
        assert_eq!(directory.find("Solo").map(|a| a.id.as_str()), Some("13"));
        assert_eq!(directory.find("12").map(|a| a.name.as_str()), Some("Brand (12)"), "a raw id");
        assert_eq!(directory.find("main-catalog").map(|a| a.kind), Some(AssetType::Catalog));
        assert!(directory.find("Brand").is_none(), "an ambiguous name is no name");
        let imported = directory.app_assets();
        assert_eq!(imported[2].kind.as_deref(), Some("ADVERTISER"));
        assert_eq!(imported[2].roles, ["ANALYST", "OPERATOR", "ADMIN"]);
        assert_eq!(imported[3].id.as_deref(), Some("21"));
    }
}
