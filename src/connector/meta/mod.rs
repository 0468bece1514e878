//! The Meta Business Manager connector (Graph API, version pinned in
//! [`client::GRAPH_API_VERSION`]): a business's people as accounts, their
//! business role (ADMIN, EMPLOYEE, ...) as the app role, and the business's ad
//! accounts, pages and product catalogs as assets with asset roles (see
//! [`asset_roles`] for each role's tasks). Partner businesses (agencies) and the
//! asset roles they hold are read and changed for `Partner` objects.
//!
//! - Accounts are business users (`user:ID`), invitations (`invitation:ID`,
//!   pending, expired or declined) and system users (`system:ID`, service
//!   accounts rolecall never touches), one per email.
//! - An add is an email invitation with the business role. Meta assigns assets
//!   to people, not to invitations, so the granted assets wait for the
//!   acceptance: the next read-back sees the accepted account without them and
//!   the planner sends one update, which assigns them.
//! - An update sets the business role, then each asset's tasks for exactly the
//!   difference from what the person holds (read first). Removal deletes the
//!   business user (Meta takes their asset access with it) or revokes the invitation.
//! - Every call is paced by the usage headers Meta sends on every answer (see
//!   [`usage`]): spaced out before 100 %, none before the time Meta names.
//!
//! Meta takes no idempotency key: an invitation for an email that has one
//! pending, or that is a member already, answers `AlreadyExists` (the executor
//! adopts it); the operation id is logged with every write.
//!
//! See `docs/meta-connector.md` for setup, permissions and what is not supported.

pub mod asset_roles;
pub mod assets;
pub mod assignments;
mod client;
pub mod credentials;
pub mod errors;
pub mod ids;
pub mod members;
pub mod usage;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use self::asset_roles::{AssetKind, same_tasks, tasks_of};
use self::assets::{Asset, Directory};
use self::assignments::Holder;
pub use self::client::GRAPH_API_VERSION;
use self::client::{Client, json_list};
use self::ids::{ExternalId, is_graph_id};
use crate::api::business_hub::BusinessHubSpec;
use crate::connector::{Access, AppAsset, Connector, ConnectorError, ExternalAccount, ExternalPartner, NewAccount, OperationId, Pacer};

const USER_FIELDS: &str = "id,name,email,role";
const INVITATION_FIELDS: &str = "id,email,role,status,expiration_time,updated_time";

/// Who holds tasks on an asset: people (`assigned_users`, with `tasks`) or
/// partner businesses (`agencies`, with `permitted_tasks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holders {
    People,
    Partners,
}

pub struct MetaConnector {
    client: Client,
    business: String,
    /// The hub's role names, so a role Meta reports is shown in the catalog's spelling.
    catalog: BTreeSet<String>,
    directory: Arc<Mutex<Directory>>,
}

fn permanent(message: String) -> ConnectorError {
    ConnectorError::Permanent(message)
}

impl MetaConnector {
    pub fn new(spec: &BusinessHubSpec, credential: String, pacer: Arc<Pacer>, timeout: Duration) -> Result<Self, ConnectorError> {
        let connector = &spec.connector;
        let business = connector.organization.clone().unwrap_or_default();
        if !is_graph_id(&business) {
            return Err(ConnectorError::Config(format!(
                "spec.connector.organization {business:?} is not a Meta business id (the digits in Business Settings → Business info)"
            )));
        }
        let token = credentials::token_of(credential)?;
        let root = connector.url.trim_end_matches('/').to_string();
        let directory = Directory::of(&format!("{}|{root}|{business}", pacer.hub()));
        let client = Client::new(&root, token, pacer, timeout)?;
        let catalog = spec.roles.iter().map(|r| r.name.clone()).collect();
        Ok(MetaConnector { client, business, catalog, directory })
    }

    fn directory(&self) -> MutexGuard<'_, Directory> {
        self.directory.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn edge(&self, edge: &str) -> String {
        format!("/{}/{edge}", self.business)
    }

    /// `GET /{business_id}`: the business exists, the token sees it and may manage it.
    async fn check_business(&self) -> Result<(), ConnectorError> {
        match self.client.get(&format!("/{}", self.business), &[("fields", "id,name".into())]).await {
            Err(ConnectorError::NotFound(_)) => Err(ConnectorError::NotFound(format!(
                "the business {} does not exist, or the token cannot see it (spec.connector.organization)",
                self.business
            ))),
            other => other.map(|_| ()),
        }
    }

    /// Lists the business's owned assets into the directory, and answers them.
    async fn refresh_assets(&self) -> Result<Vec<Asset>, ConnectorError> {
        let mut all = Vec::new();
        for kind in AssetKind::ALL {
            let listed = self.client.get_all(&self.edge(kind.owned_edge()), &[("fields", "id,name".into())]).await?;
            all.extend(assets::assets_of(kind, &listed));
        }
        let named = assets::unique_names(all);
        self.directory().replace(named.clone());
        Ok(named)
    }

    /// The directory's assets, listed first if this hub never listed them.
    async fn known_assets(&self) -> Result<Vec<Asset>, ConnectorError> {
        let known = {
            let directory = self.directory();
            directory.listed().then(|| directory.assets().to_vec())
        };
        match known {
            Some(assets) => Ok(assets),
            None => self.refresh_assets().await,
        }
    }

    /// The asset a grant names (by name or id), listing the assets again if the name is new.
    async fn resolve(&self, name: &str) -> Result<Asset, ConnectorError> {
        if let Some(asset) = self.directory().find(name).cloned() {
            return Ok(asset);
        }
        self.refresh_assets().await?;
        self.directory()
            .find(name)
            .cloned()
            .ok_or_else(|| permanent(format!("the business {} owns no ad account, page or catalog named {name:?}", self.business)))
    }

    /// Who holds tasks on an asset (people or partners); `None` when Meta says
    /// the asset is gone (it is dropped from the directory).
    async fn holders(&self, asset: &Asset, who: Holders) -> Result<Option<Vec<Holder>>, ConnectorError> {
        let (edge, params, key): (&str, Vec<(&str, String)>, &str) = match who {
            Holders::People => ("assigned_users", vec![("business", self.business.clone()), ("fields", "id,name,tasks".into())], "tasks"),
            Holders::Partners => ("agencies", vec![("fields", "id,name,permitted_tasks".into())], "permitted_tasks"),
        };
        match self.client.get_all(&format!("/{}/{edge}", asset.id), &params).await {
            Ok(listed) => Ok(Some(assignments::holders_of(&listed, key))),
            Err(ConnectorError::NotFound(why)) => {
                tracing::info!(business = %self.business, asset = %asset.id, %why, "a Meta asset is gone; it is dropped from the hub's assets");
                self.directory().forget(&asset.id);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Holder id → asset name → asset role, over every asset.
    async fn roles_on_assets(&self, who: Holders) -> Result<BTreeMap<String, BTreeMap<String, String>>, ConnectorError> {
        let mut roles = BTreeMap::new();
        for asset in self.known_assets().await? {
            if let Some(holders) = self.holders(&asset, who).await? {
                assignments::add_roles(&mut roles, asset.kind, &asset.name, &holders);
            }
        }
        Ok(roles)
    }

    async fn invitations(&self, email: Option<&str>) -> Result<Vec<members::Invitation>, ConnectorError> {
        let mut params = vec![("fields", INVITATION_FIELDS.to_string())];
        if let Some(email) = email {
            params.push(("email", email.to_string()));
        }
        Ok(members::invitations_of(&self.client.get_all(&self.edge("pending_users"), &params).await?))
    }

    /// Every account: business users, invitations and system users, one per email.
    async fn read_all(&self) -> Result<Vec<ExternalAccount>, ConnectorError> {
        self.check_business().await?;
        let users =
            members::business_users_of(&self.client.get_all(&self.edge("business_users"), &[("fields", USER_FIELDS.into())]).await?);
        let invitations = self.invitations(None).await?;
        let machines =
            members::system_users_of(&self.client.get_all(&self.edge("system_users"), &[("fields", "id,name,role".into())]).await?);
        let mut roles = self.roles_on_assets(Holders::People).await?;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let mut accounts = Vec::new();
        for user in &users {
            accounts.push(members::user_account(user, &self.catalog, roles.remove(&user.id).unwrap_or_default()));
        }
        for invitation in &invitations {
            accounts.push(members::invitation_account(invitation, &self.catalog, now));
        }
        for machine in &machines {
            accounts.push(members::system_account(machine, &self.catalog, roles.remove(&machine.id).unwrap_or_default()));
        }
        Ok(members::one_per_email(accounts))
    }

    /// Sets a business user's business role and asset tasks to exactly `access`.
    async fn update_user(&self, user_id: &str, access: &Access, operation: &OperationId) -> Result<(), ConnectorError> {
        let role = members::business_role(&access.roles).map_err(permanent)?;
        let current = self.client.get(&format!("/{user_id}"), &[("fields", "id,role".into())]).await?;
        let held = current.get("role").and_then(serde_json::Value::as_str).unwrap_or_default();
        if !held.eq_ignore_ascii_case(&role) {
            tracing::info!(business = %self.business, user = %user_id, %role, %operation, "setting a Meta business role");
            self.client.post(&format!("/{user_id}"), &[("role", role)]).await?;
        }
        let mut wanted: BTreeMap<String, (Asset, Vec<String>)> = BTreeMap::new();
        for (name, asset_role) in &access.assets {
            let asset = self.resolve(name).await?;
            let tasks = tasks_of(asset.kind, asset_role).map_err(permanent)?;
            wanted.insert(asset.id.clone(), (asset, tasks));
        }
        // `resolve` listed any asset the directory lacked, so the known assets include every wanted one.
        for asset in self.known_assets().await? {
            let Some(holders) = self.holders(&asset, Holders::People).await? else {
                if wanted.contains_key(&asset.id) {
                    return Err(permanent(format!("the {} {:?} ({}) no longer exists in Meta", asset.kind.as_str(), asset.name, asset.id)));
                }
                continue;
            };
            let has = holders.iter().find(|h| h.id == user_id).map(|h| h.tasks.clone()).filter(|t| !t.is_empty());
            let path = format!("/{}/assigned_users", asset.id);
            match (wanted.get(&asset.id), has) {
                (Some((_, tasks)), Some(has)) if same_tasks(tasks, &has) => {}
                (Some((_, tasks)), _) => {
                    tracing::info!(business = %self.business, user = %user_id, asset = %asset.id, ?tasks, %operation, "assigning a Meta asset");
                    self.client.post(&path, &[("user", user_id.to_string()), ("tasks", json_list(tasks))]).await?;
                }
                (None, Some(_)) => {
                    tracing::info!(business = %self.business, user = %user_id, asset = %asset.id, %operation, "taking a Meta asset away");
                    self.client.delete(&path, &[("user", user_id.to_string())]).await?;
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// A partner business's holding on an asset, after checking the partner id.
    async fn partner_holding(&self, partner_id: &str, asset: &str) -> Result<(Asset, Option<Holder>), ConnectorError> {
        if !is_graph_id(partner_id) {
            return Err(permanent(format!("{partner_id:?} is not a Meta business id")));
        }
        let asset = self.resolve(asset).await?;
        let holders = self.holders(&asset, Holders::Partners).await?.ok_or_else(|| {
            ConnectorError::NotFound(format!("the {} {:?} ({}) no longer exists in Meta", asset.kind.as_str(), asset.name, asset.id))
        })?;
        let holding = holders.into_iter().find(|h| h.id == partner_id);
        Ok((asset, holding))
    }
}

impl Connector for MetaConnector {
    fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
        Box::pin(self.read_all())
    }

    fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
        Box::pin(async move { Ok(self.read_all().await?.into_iter().find(|a| a.email.eq_ignore_ascii_case(email))) })
    }

    fn add_account<'a>(
        &'a self,
        account: &'a NewAccount,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
        Box::pin(async move {
            let role = members::business_role(&account.access.roles).map_err(permanent)?;
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            // An expired or declined invitation is revoked first: the new one replaces it.
            for earlier in self.invitations(Some(&account.email)).await? {
                let was = members::invitation_account(&earlier, &self.catalog, now);
                if was.invite_pending {
                    return Err(ConnectorError::AlreadyExists(format!("{} has a pending invitation ({})", account.email, was.id)));
                }
                match self.client.delete(&format!("/{}", earlier.id), &[]).await {
                    Ok(_) | Err(ConnectorError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            tracing::info!(business = %self.business, email = %account.email, %role, %operation, "inviting to a Meta business");
            let made = self.client.post(&self.edge("business_users"), &[("email", account.email.clone()), ("role", role.clone())]).await?;
            let id = match made.get("id").and_then(serde_json::Value::as_str).filter(|id| is_graph_id(id)) {
                Some(id) => id.to_string(),
                None => {
                    return self.find_account(&account.email).await?.ok_or_else(|| {
                        ConnectorError::Transient(format!(
                            "Meta accepted the invitation of {} but neither returned nor lists it",
                            account.email
                        ))
                    });
                }
            };
            let invitation = members::Invitation {
                id,
                email: account.email.clone(),
                role: Some(role),
                status: "PENDING".into(),
                expires_at: None,
                updated_at: None,
            };
            Ok(members::invitation_account(&invitation, &self.catalog, now))
        })
    }

    fn update_access<'a>(
        &'a self,
        external_id: &'a str,
        access: &'a Access,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            match ExternalId::parse(external_id) {
                Some(ExternalId::User(id)) => self.update_user(&id, access, operation).await,
                Some(ExternalId::Invitation(id)) => {
                    // An invitation holds a business role only; its assets wait for the acceptance.
                    let role = members::business_role(&access.roles).map_err(permanent)?;
                    self.client.post(&format!("/{id}"), &[("role", role)]).await.map(|_| ())
                }
                Some(ExternalId::System(_)) => {
                    Err(permanent("a Meta system user is a machine of the business; rolecall never changes one".into()))
                }
                None => Err(ConnectorError::NotFound(format!("{external_id:?} is not a Meta business user or invitation id"))),
            }
        })
    }

    fn remove_account<'a>(&'a self, external_id: &'a str, operation: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            let id = match ExternalId::parse(external_id) {
                // Deleting the business user takes their access to the business's assets with it.
                Some(ExternalId::User(id) | ExternalId::Invitation(id)) => id,
                Some(ExternalId::System(_)) => {
                    return Err(permanent("a Meta system user is a machine of the business; rolecall never removes one".into()));
                }
                None => return Err(ConnectorError::NotFound(format!("{external_id:?} is not a Meta business user or invitation id"))),
            };
            tracing::info!(business = %self.business, account = %external_id, %operation, "removing from a Meta business");
            self.client.delete(&format!("/{id}"), &[]).await.map(|_| ())
        })
    }

    fn list_assets(&self) -> BoxFuture<'_, Result<Vec<AppAsset>, ConnectorError>> {
        Box::pin(async move { Ok(self.refresh_assets().await?.iter().map(assets::app_asset).collect()) })
    }

    fn list_partners(&self) -> BoxFuture<'_, Result<Vec<ExternalPartner>, ConnectorError>> {
        Box::pin(async move {
            let mut partners: BTreeMap<String, ExternalPartner> = BTreeMap::new();
            for agency in self.client.get_all(&self.edge("agencies"), &[("fields", "id,name".into())]).await? {
                if let Some(id) = agency.get("id").and_then(serde_json::Value::as_str) {
                    let name = agency.get("name").and_then(serde_json::Value::as_str).map(str::to_string);
                    partners.insert(id.to_string(), ExternalPartner { id: id.to_string(), name, assets: BTreeMap::new() });
                }
            }
            for asset in self.known_assets().await? {
                for holder in self.holders(&asset, Holders::Partners).await?.unwrap_or_default() {
                    if holder.tasks.is_empty() {
                        continue;
                    }
                    let partner = partners.entry(holder.id.clone()).or_insert_with(|| ExternalPartner {
                        id: holder.id.clone(),
                        name: holder.name.clone(),
                        assets: BTreeMap::new(),
                    });
                    partner.assets.insert(asset.name.clone(), asset_roles::role_of(asset.kind, &holder.tasks));
                }
            }
            Ok(partners.into_values().collect())
        })
    }

    fn set_partner_asset<'a>(
        &'a self,
        partner_id: &'a str,
        asset: &'a str,
        role: &'a str,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            let (asset, holding) = self.partner_holding(partner_id, asset).await?;
            let tasks = tasks_of(asset.kind, role).map_err(permanent)?;
            if holding.is_some_and(|h| same_tasks(&h.tasks, &tasks)) {
                return Ok(());
            }
            tracing::info!(business = %self.business, partner = %partner_id, asset = %asset.id, ?tasks, %operation, "sharing a Meta asset with a partner");
            let params = [("business", partner_id.to_string()), ("permitted_tasks", json_list(&tasks))];
            self.client.post(&format!("/{}/agencies", asset.id), &params).await.map(|_| ())
        })
    }

    fn remove_partner_asset<'a>(
        &'a self,
        partner_id: &'a str,
        asset: &'a str,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            let (asset, holding) = self.partner_holding(partner_id, asset).await?;
            if holding.is_none() {
                return Err(ConnectorError::NotFound(format!("partner {partner_id} holds no access to {:?}", asset.name)));
            }
            tracing::info!(business = %self.business, partner = %partner_id, asset = %asset.id, %operation, "taking a Meta asset from a partner");
            self.client.delete(&format!("/{}/agencies", asset.id), &[("business", partner_id.to_string())]).await.map(|_| ())
        })
    }
}
