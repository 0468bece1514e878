//! The TikTok Business Center connector (Business API v1.3): members and
//! invitations as accounts, the member role (basic role and finance role) as
//! the app role, the Business Center's assets (ad accounts, catalogs, TikTok
//! Shops, lead form libraries, TikTok accounts) with their asset roles, and the
//! partner businesses the assets are shared with.
//!
//! - Accounts are `bc/member/get`'s entries: joined members (`user:USER_ID`),
//!   pending invitations and declined ones (`invitation:EMAIL`).
//! - An add is `bc/member/invite` with the role and, when every granted ad
//!   account asks for one role (TikTok's invitation takes ad accounts and one
//!   `advertiser_role`), those ad accounts; every other asset follows by
//!   `update_access` once the invitee has joined.
//! - An update sets the role (`bc/member/update`) and assigns or unassigns
//!   exactly the assets that differ (`bc/asset/assign`, `bc/asset/unassign`).
//! - A removal is `bc/member/delete`, by user id for a member (TikTok takes its
//!   asset access with it) and by email for an invitation (revoked).
//! - Every call goes through the hub's pacer, under its requests-per-second
//!   budget; TikTok's 40100 holds the hub's calls (see `limits`).
//!
//! See `docs/tiktok-connector.md` for settings, permissions and what is not supported.

pub mod assets;
pub mod assignment;
mod client;
pub mod expiry;
pub mod ids;
pub mod limits;
pub mod members;
pub mod partners;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::time::Instant;

use self::assets::{Asset, AssetType, Directory};
use self::client::{Client, HubState};
use self::ids::ExternalId;
use self::members::{Member, MemberRole, Relation};
use crate::api::business_hub::{AppAsset, BusinessHubSpec};
use crate::connector::{Access, Connector, ConnectorError, ExternalAccount, ExternalPartner, NewAccount, OperationId, Pacer};

/// `bc/member/get` and `bc/asset/member/get` take at most 20 a page; the other lists 50.
const MEMBER_PAGE: u64 = 20;
const ASSET_PAGE: u64 = 50;
/// A directory or Business Center check this recent is reused within one connector (one sync).
const FRESH: Duration = Duration::from_secs(5);

pub struct TikTokConnector {
    client: Client,
    /// The Business Center id (`spec.connector.organization`).
    bc_id: String,
    /// The hub's role catalog: roles are reported under its spelling.
    catalog: Vec<String>,
    /// The hub's declared assets (`spec.assets`): an asset they name by id keeps their name.
    hub_assets: Vec<AppAsset>,
    asset_types: Vec<AssetType>,
    directory: Mutex<Option<(Instant, Directory)>>,
    checked: Mutex<Option<Instant>>,
}

fn permanent(message: String) -> ConnectorError {
    ConnectorError::Permanent(message)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TikTokConnector {
    pub fn new(spec: &BusinessHubSpec, credential: String, pacer: Arc<Pacer>, timeout: Duration) -> Result<Self, ConnectorError> {
        let connector = &spec.connector;
        let bc_id = connector.organization.clone().unwrap_or_default();
        if bc_id.is_empty() || bc_id.len() > 64 || !bc_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::Config(format!(
                "spec.connector.organization {bc_id:?} is not a TikTok Business Center id (digits, as Business Center settings show it)"
            )));
        }
        let settings = connector.tiktok.clone().unwrap_or_default();
        let mut asset_types: Vec<AssetType> = settings.asset_types.iter().map(|t| AssetType::of_setting(*t)).collect();
        asset_types.sort();
        asset_types.dedup();
        let base = connector.url.trim_end_matches('/');
        let state = HubState::of(&format!("{}|{base}|{bc_id}", pacer.hub()));
        let per_second = settings.requests_per_second.max(1) as usize;
        let client = Client::new(base, credential, pacer, timeout, state, per_second)?;
        Ok(TikTokConnector {
            client,
            bc_id,
            catalog: spec.roles.iter().map(|r| r.name.clone()).collect(),
            hub_assets: spec.assets.clone(),
            asset_types,
            directory: Mutex::default(),
            checked: Mutex::default(),
        })
    }

    fn bc(&self) -> (&'static str, String) {
        ("bc_id", self.bc_id.clone())
    }

    /// `bc/get`: the Business Center exists, the token's user has access to it, and is an admin of it.
    async fn check_bc(&self) -> Result<(), ConnectorError> {
        if lock(&self.checked).is_some_and(|at| at.elapsed() < FRESH) {
            return Ok(());
        }
        let listed = self.client.get_all("bc/get/", &[self.bc()], 10).await?;
        let Some(entry) = listed.iter().find(|e| e.pointer("/bc_info/bc_id").and_then(Value::as_str) == Some(self.bc_id.as_str())) else {
            return Err(ConnectorError::NotFound(format!(
                "the Business Center {} is not among those the token's user can access at {} (spec.connector.organization)",
                self.bc_id, self.client.base
            )));
        };
        let role = entry.get("user_role").and_then(Value::as_str).unwrap_or("STANDARD");
        if !role.eq_ignore_ascii_case("ADMIN") {
            return Err(ConnectorError::Auth(format!(
                "the token's user is {role} in Business Center {}: managing members, assets and partners needs an ADMIN",
                self.bc_id
            )));
        }
        *lock(&self.checked) = Some(Instant::now());
        Ok(())
    }

    async fn members(&self) -> Result<Vec<Member>, ConnectorError> {
        Ok(members::members_of(&self.client.get_all("bc/member/get/", &[self.bc()], MEMBER_PAGE).await?))
    }

    /// The Business Center's assets of the managed types, read anew.
    async fn read_directory(&self) -> Result<Directory, ConnectorError> {
        let mut all = Vec::new();
        for kind in &self.asset_types {
            let query = [self.bc(), ("asset_type", kind.wire().to_string())];
            all.extend(assets::assets_of(&self.client.get_all("bc/asset/get/", &query, ASSET_PAGE).await?, *kind));
        }
        let directory = Directory::new(all, &self.hub_assets);
        *lock(&self.directory) = Some((Instant::now(), directory.clone()));
        Ok(directory)
    }

    /// The directory as this connector last read it (when recent), else read anew.
    async fn directory(&self) -> Result<Directory, ConnectorError> {
        if let Some((at, directory)) = lock(&self.directory).as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(directory.clone());
        }
        self.read_directory().await
    }

    /// The asset a grant names; a name the directory does not know is looked up again once.
    async fn resolve(&self, name: &str) -> Result<Option<Asset>, ConnectorError> {
        if let Some(asset) = self.directory().await?.find(name) {
            return Ok(Some(asset.clone()));
        }
        Ok(self.read_directory().await?.find(name).cloned())
    }

    async fn resolve_all(&self, wanted: &BTreeMap<String, String>) -> Result<BTreeMap<String, (Asset, String)>, ConnectorError> {
        let mut out = BTreeMap::new();
        for (name, role) in wanted {
            let asset = self.resolve(name).await?.ok_or_else(|| {
                let types: Vec<&str> = self.asset_types.iter().map(|t| t.wire()).collect();
                permanent(format!(
                    "Business Center {} has no asset {name:?} of the types the hub manages ({})",
                    self.bc_id,
                    types.join(", ")
                ))
            })?;
            asset.kind.role_value(role).map_err(permanent)?;
            out.insert(asset.id.clone(), (asset, role.to_ascii_uppercase()));
        }
        Ok(out)
    }

    /// User id → (asset name → role) for every asset of the directory (`bc/asset/member/get`).
    /// An asset gone since the directory was read holds nobody.
    async fn holdings(&self, directory: &Directory) -> Result<BTreeMap<String, BTreeMap<String, String>>, ConnectorError> {
        let mut held: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for asset in directory.assets() {
            let query = [self.bc(), ("asset_type", asset.kind.wire().to_string()), ("asset_id", asset.id.clone())];
            let listed = match self.client.get_all("bc/asset/member/get/", &query, MEMBER_PAGE).await {
                Err(ConnectorError::NotFound(_)) => continue,
                other => other?,
            };
            for item in &listed {
                let (Some(user_id), Some(role)) = (item.get("user_id").and_then(Value::as_str), asset.kind.role_of(item)) else { continue };
                held.entry(user_id.to_string()).or_default().insert(asset.name.clone(), role);
            }
        }
        Ok(held)
    }

    /// The ad accounts a pending invitation carries (`bc/asset/get` filtered by `user_email`).
    async fn invited_assets(&self, email: &str, directory: &Directory) -> Result<BTreeMap<String, String>, ConnectorError> {
        if !self.asset_types.contains(&AssetType::Advertiser) {
            return Ok(BTreeMap::new());
        }
        let filtering = json!({"user_email": email}).to_string();
        let query = [self.bc(), ("asset_type", "ADVERTISER".to_string()), ("filtering", filtering)];
        let listed = self.client.get_all("bc/asset/get/", &query, ASSET_PAGE).await?;
        Ok(listed
            .iter()
            .filter_map(|item| {
                let id = item.get("asset_id").and_then(Value::as_str)?;
                let name = directory.by_id(id)?.name.clone();
                Some((name, AssetType::Advertiser.role_of(item)?))
            })
            .collect())
    }

    /// Every account: members with the assets they hold, invitations with the ad accounts they carry.
    async fn read_all(&self) -> Result<Vec<ExternalAccount>, ConnectorError> {
        self.check_bc().await?;
        let members = self.members().await?;
        let directory = self.directory().await?;
        let mut held = self.holdings(&directory).await?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let expired = expiry::expired(&mut client::lock(&self.client.state.invitations), &members, now);
        let mut accounts: Vec<ExternalAccount> =
            expired.iter().map(|(member, since)| expiry::account_of(member, *since, member.role.name_in(&self.catalog))).collect();
        for member in &members {
            let assets = match member.relation {
                Relation::Bound => held.remove(&member.user_id).unwrap_or_default(),
                Relation::Pending => self.invited_assets(&member.email, &directory).await?,
                Relation::Rejected => BTreeMap::new(),
            };
            accounts.push(members::account_of(member, &self.catalog, assets));
        }
        Ok(accounts)
    }

    /// The assets `user_id` holds now, of the managed types (`bc/asset/get` filtered by `user_id`).
    async fn held_by(&self, user_id: &str, directory: &Directory) -> Result<BTreeMap<String, (Asset, String)>, ConnectorError> {
        let mut held = BTreeMap::new();
        let filtering = json!({"user_id": user_id}).to_string();
        for kind in &self.asset_types {
            let query = [self.bc(), ("asset_type", kind.wire().to_string()), ("filtering", filtering.clone())];
            for item in self.client.get_all("bc/asset/get/", &query, ASSET_PAGE).await? {
                let Some(role) = kind.role_of(&item) else { continue };
                let Some(listed) = assets::assets_of(std::slice::from_ref(&item), *kind).pop() else { continue };
                let asset = directory.by_id(&listed.id).cloned().unwrap_or(listed);
                held.insert(asset.id.clone(), (asset, role));
            }
        }
        Ok(held)
    }

    async fn update(&self, user_id: &str, access: &Access) -> Result<(), ConnectorError> {
        let role = MemberRole::of_access(&access.roles).map_err(permanent)?;
        let members = self.members().await?;
        let current = members
            .iter()
            .find(|m| m.relation == Relation::Bound && m.user_id == user_id)
            .ok_or_else(|| ConnectorError::NotFound(format!("user {user_id} is not a member of Business Center {}", self.bc_id)))?;
        let wanted = self.resolve_all(&access.assets).await?;
        if current.role != role {
            let body =
                json!({"bc_id": self.bc_id, "user_id": user_id, "user_role": role.user_role.wire(), "ext_user_role": role.ext_user_role()});
            self.client.post("bc/member/update/", &body).await?;
        }
        let directory = self.directory().await?;
        let held = self.held_by(user_id, &directory).await?;
        for change in assignment::changes(&held, &wanted) {
            let (endpoint, body) = change.request(&self.bc_id, user_id).map_err(permanent)?;
            match self.client.post(endpoint, &body).await {
                // Taken away already (by someone else, or with the asset): the wanted state holds.
                Err(ConnectorError::NotFound(_)) if matches!(change, assignment::Change::Unassign { .. }) => {}
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    async fn add(&self, account: &NewAccount) -> Result<ExternalAccount, ConnectorError> {
        let role = MemberRole::of_access(&account.access.roles).map_err(permanent)?;
        let email = account.email.trim();
        let existing = self.members().await?.into_iter().find(|m| m.email.eq_ignore_ascii_case(email));
        match existing.as_ref().map(|m| m.relation) {
            Some(Relation::Bound) => {
                return Err(ConnectorError::AlreadyExists(format!("{email} is a member of Business Center {}", self.bc_id)));
            }
            Some(Relation::Pending) => {
                return Err(ConnectorError::AlreadyExists(format!("{email} is invited to Business Center {} already", self.bc_id)));
            }
            // TikTok ignores an invitation to an email it invited before: the declined one goes first.
            Some(Relation::Rejected) => {
                self.client.post("bc/member/delete/", &json!({"bc_id": self.bc_id, "user_email": email})).await?;
            }
            None => {}
        }
        let wanted = self.resolve_all(&account.access.assets).await?;
        let mut body = json!({"bc_id": self.bc_id, "emails": [email], "user_role": role.user_role.wire()});
        if role.finance.is_some() {
            body["ext_user_role"] = role.ext_user_role();
        }
        if let Some((ids, advertiser_role)) = invitation_assets(&wanted) {
            body["asset_ids"] = json!(ids);
            body["advertiser_role"] = json!(advertiser_role);
        }
        // A new invitation replaces one remembered as expired.
        self.forget_invitation(email);
        self.client.post("bc/member/invite/", &body).await?;
        let made = self.members().await?.into_iter().find(|m| m.email.eq_ignore_ascii_case(email) && m.relation != Relation::Rejected);
        let Some(made) = made else {
            return Err(ConnectorError::Transient(format!(
                "TikTok accepted the invitation of {email} to Business Center {} but does not list it",
                self.bc_id
            )));
        };
        let mut made = members::account_of(&made, &self.catalog, BTreeMap::new());
        made.access = account.access.clone();
        Ok(made)
    }

    async fn remove(&self, external_id: &str) -> Result<(), ConnectorError> {
        let body = match ExternalId::parse(external_id) {
            Some(ExternalId::Member(user_id)) => json!({"bc_id": self.bc_id, "user_id": user_id}),
            Some(ExternalId::Invitation(email)) => {
                // Revoked (or expired already): no longer an invitation to report expired.
                self.forget_invitation(&email);
                json!({"bc_id": self.bc_id, "user_email": email})
            }
            None => return Err(ConnectorError::NotFound(format!("{external_id:?} is not a TikTok member or invitation id"))),
        };
        self.client.post("bc/member/delete/", &body).await.map(|_| ())
    }

    fn forget_invitation(&self, email: &str) {
        client::lock(&self.client.state.invitations).remove(&email.to_lowercase());
    }

    async fn partners(&self) -> Result<Vec<ExternalPartner>, ConnectorError> {
        let listed = partners::partners_of(&self.client.get_all("bc/partner/get/", &[self.bc()], ASSET_PAGE).await?);
        let directory = self.directory().await?;
        let mut out = Vec::new();
        for partner in listed {
            let mut assets = BTreeMap::new();
            for kind in &self.asset_types {
                let query = [
                    self.bc(),
                    ("partner_id", partner.id.clone()),
                    ("asset_type", kind.wire().to_string()),
                    ("share_type", "SHARING".to_string()),
                ];
                for item in self.client.get_all("bc/partner/asset/get/", &query, ASSET_PAGE).await? {
                    let Some(role) = kind.role_of(&item) else { continue };
                    let Some(listed) = assets::assets_of(std::slice::from_ref(&item), *kind).pop() else { continue };
                    let name = directory.by_id(&listed.id).map(|a| a.name.clone()).unwrap_or(listed.name);
                    assets.insert(name, role);
                }
            }
            out.push(ExternalPartner { id: partner.id, name: partner.name, assets });
        }
        Ok(out)
    }
}

/// The ad accounts an invitation can carry: TikTok's `bc/member/invite` takes
/// ad account ids with one `advertiser_role`, so every granted ad account goes
/// with the invitation when they all ask for one role; otherwise none do, and
/// all follow by assignment once the invitee has joined.
fn invitation_assets(wanted: &BTreeMap<String, (Asset, String)>) -> Option<(Vec<String>, String)> {
    let ads: Vec<(&String, &String)> =
        wanted.iter().filter(|(_, (a, _))| a.kind == AssetType::Advertiser).map(|(id, (_, r))| (id, r)).collect();
    let roles: BTreeSet<&String> = ads.iter().map(|(_, r)| *r).collect();
    match (roles.len(), roles.first()) {
        (1, Some(role)) if ads.len() <= 50 => Some((ads.iter().map(|(id, _)| (*id).clone()).collect(), (*role).clone())),
        _ => None,
    }
}

impl Connector for TikTokConnector {
    fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
        Box::pin(self.read_all())
    }

    fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
        Box::pin(async move { Ok(self.read_all().await?.into_iter().find(|a| a.email.eq_ignore_ascii_case(email))) })
    }

    // TikTok takes no idempotency key, and ignores an invitation to an email it
    // invited already: the add looks first and answers AlreadyExists, which the
    // executor adopts.
    fn add_account<'a>(&'a self, account: &'a NewAccount, _: &'a OperationId) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
        Box::pin(self.add(account))
    }

    fn update_access<'a>(
        &'a self,
        external_id: &'a str,
        access: &'a Access,
        _: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            match ExternalId::parse(external_id) {
                Some(ExternalId::Member(user_id)) => self.update(&user_id, access).await,
                Some(ExternalId::Invitation(_)) => {
                    Err(permanent("a TikTok invitation cannot be changed; the invitee's access follows once they have joined".into()))
                }
                None => Err(ConnectorError::NotFound(format!("{external_id:?} is not a TikTok member id"))),
            }
        })
    }

    fn remove_account<'a>(&'a self, external_id: &'a str, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(self.remove(external_id))
    }

    fn list_assets(&self) -> BoxFuture<'_, Result<Vec<AppAsset>, ConnectorError>> {
        Box::pin(async move {
            self.check_bc().await?;
            Ok(self.read_directory().await?.app_assets())
        })
    }

    fn list_partners(&self) -> BoxFuture<'_, Result<Vec<ExternalPartner>, ConnectorError>> {
        Box::pin(async move {
            self.check_bc().await?;
            self.partners().await
        })
    }

    fn set_partner_asset<'a>(
        &'a self,
        partner_id: &'a str,
        asset: &'a str,
        role: &'a str,
        _: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            let found =
                self.resolve(asset).await?.ok_or_else(|| permanent(format!("Business Center {} has no asset {asset:?}", self.bc_id)))?;
            let body = partners::share_body(&self.bc_id, partner_id, &found, role).map_err(permanent)?;
            self.client.post("bc/partner/add/", &body).await.map(|_| ())
        })
    }

    fn remove_partner_asset<'a>(
        &'a self,
        partner_id: &'a str,
        asset: &'a str,
        _: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            let found = self
                .resolve(asset)
                .await?
                .ok_or_else(|| ConnectorError::NotFound(format!("Business Center {} has no asset {asset:?}", self.bc_id)))?;
            self.client.post("bc/partner/asset/delete/", &partners::unshare_body(&self.bc_id, partner_id, &found)).await.map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(entries: &[(&str, AssetType, &str)]) -> BTreeMap<String, (Asset, String)> {
        entries
            .iter()
            .map(|(id, kind, role)| {
                (
                    id.to_string(),
                    (Asset { id: id.to_string(), kind: *kind, tiktok_name: id.to_string(), name: id.to_string() }, role.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn an_invitation_carries_the_ad_accounts_when_they_ask_for_one_role() {
        let same = wanted(&[
            ("1", AssetType::Advertiser, "OPERATOR"),
            ("2", AssetType::Advertiser, "OPERATOR"),
            ("3", AssetType::Catalog, "ADMIN"),
        ]);
        assert_eq!(invitation_assets(&same), Some((vec!["1".to_string(), "2".to_string()], "OPERATOR".to_string())));
        let mixed = wanted(&[("1", AssetType::Advertiser, "OPERATOR"), ("2", AssetType::Advertiser, "ADMIN")]);
        assert_eq!(invitation_assets(&mixed), None, "two roles: all follow after joining");
        assert_eq!(invitation_assets(&wanted(&[("3", AssetType::Catalog, "ADMIN")])), None);
    }
}
