//! The business's assets (ad accounts, pages, product catalogs it owns) and
//! the directory that turns the names grants use into Graph ids.
//!
//! An asset is named by its name in Meta; two assets of one name are told apart
//! as `Name (id)`, so every name is unique within a hub. A grant may also name an
//! asset by its id (`act_123`, a page id). The directory is refreshed by every
//! `list_assets` (the operator calls it first at each read-back) and looked up
//! again when it meets a name it does not know; it outlives one connector (the
//! operator builds one per sync), one per hub.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::asset_roles::AssetKind;
use crate::connector::AppAsset;

/// One asset as Meta lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// The Graph node id (`act_123` for an ad account).
    pub id: String,
    pub kind: AssetKind,
    /// The name grants use (unique in the directory).
    pub name: String,
}

/// The assets of one owned-assets listing (`owned_ad_accounts`, `owned_pages`, `owned_product_catalogs`).
pub fn assets_of(kind: AssetKind, items: &[Value]) -> Vec<Asset> {
    items
        .iter()
        .filter_map(|a| {
            let id = a.get("id")?.as_str()?.to_string();
            if !is_node_id(&id) {
                return None;
            }
            let name =
                a.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()).map(str::to_string).unwrap_or_else(|| id.clone());
            Some(Asset { id, kind, name })
        })
        .collect()
}

/// A Graph node id of an asset: digits, or `act_` and digits (safe in a path unescaped).
pub fn is_node_id(id: &str) -> bool {
    let digits = id.strip_prefix("act_").unwrap_or(id);
    !digits.is_empty() && digits.len() <= 32 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Names made unique: an asset whose name another shares is `Name (id)`.
pub fn unique_names(mut assets: Vec<Asset>) -> Vec<Asset> {
    let mut count: HashMap<String, usize> = HashMap::new();
    for a in &assets {
        *count.entry(a.name.clone()).or_default() += 1;
    }
    for a in &mut assets {
        if count[&a.name] > 1 {
            a.name = format!("{} ({})", a.name, a.id);
        }
    }
    assets
}

/// The asset as the hub's status lists it.
pub fn app_asset(asset: &Asset) -> AppAsset {
    AppAsset {
        name: asset.name.clone(),
        id: Some(asset.id.clone()),
        kind: Some(asset.kind.as_str().to_string()),
        roles: asset.kind.role_names(),
    }
}

/// The name ↔ id directory of one hub.
#[derive(Debug, Default)]
pub struct Directory {
    assets: Vec<Asset>,
    listed: bool,
}

impl Directory {
    /// The shared directory of the hub `key` (its pacer's name, API root and business).
    pub fn of(key: &str) -> Arc<Mutex<Directory>> {
        static DIRECTORIES: OnceLock<Mutex<HashMap<String, Arc<Mutex<Directory>>>>> = OnceLock::new();
        let mut all = DIRECTORIES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        all.entry(key.to_string()).or_default().clone()
    }

    pub fn replace(&mut self, assets: Vec<Asset>) {
        self.assets = assets;
        self.listed = true;
    }

    /// Whether the business's assets were ever listed into it.
    pub fn listed(&self) -> bool {
        self.listed
    }

    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// The asset a grant names: by its (unique) name, else by its id.
    pub fn find(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name).or_else(|| self.assets.iter().find(|a| a.id == name))
    }

    /// Forgets an asset Meta says is gone.
    pub fn forget(&mut self, id: &str) {
        self.assets.retain(|a| a.id != id);
    }

    /// Asset id → name, for reading assignments back.
    pub fn names(&self) -> BTreeMap<String, String> {
        self.assets.iter().map(|a| (a.id.clone(), a.name.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn assets_are_named_uniquely_and_found_by_name_or_id() {
        let ads = assets_of(
            AssetKind::AdAccount,
            json!([{"id": "act_1", "name": "Brand", "account_id": "1"}, {"id": "act_2", "name": "Brand"}, {"id": "act_3"}, {"id": "../x", "name": "bad"}])
                .as_array()
                .expect("list"),
        );
        let pages = assets_of(AssetKind::Page, json!([{"id": "77", "name": "Acme Page"}]).as_array().expect("list"));
        let named = unique_names(ads.into_iter().chain(pages).collect());
        let names: Vec<&str> = named.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Brand (act_1)", "Brand (act_2)", "act_3", "Acme Page"]);
        let mut directory = Directory::default();
        assert!(!directory.listed());
        directory.replace(named);
        assert_eq!(directory.find("Brand (act_2)").map(|a| a.id.as_str()), Some("act_2"));
        assert_eq!(directory.find("77").map(|a| a.name.as_str()), Some("Acme Page"), "an id names its asset too");
        assert!(directory.find("Brand").is_none(), "an ambiguous name is not guessed");
        let page = app_asset(directory.find("Acme Page").expect("page"));
        assert_eq!((page.id.as_deref(), page.kind.as_deref()), (Some("77"), Some("page")));
        assert_eq!(page.roles.first().map(String::as_str), Some("ANALYZE"));
        directory.forget("77");
        assert!(directory.find("Acme Page").is_none());
        assert!(
            Arc::ptr_eq(&Directory::of("hub-a"), &Directory::of("hub-a")) && !Arc::ptr_eq(&Directory::of("hub-a"), &Directory::of("hub-b"))
        );
    }
}
