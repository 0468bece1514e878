//! Connectors: how rolecall reads and changes who holds a seat in an external
//! app. The planner decides; a connector only carries out one call at a time
//! and says, with a typed error, how a call failed.
//!
//! A connector implements [`Connector`]; `for_hub` picks the implementation a
//! `BusinessHub` names. Every call of one hub goes through that hub's
//! [`Pacer`], which keeps the retry times the app names. Implementations must be idempotent where the app
//! allows (adding an account that exists answers `AlreadyExists`, removing
//! one that is gone answers `NotFound`), because the executor retries.

pub mod conformance;
pub mod error;
mod exchange;
pub mod github;
mod http_client;
pub mod meta;
pub mod operation;
pub mod pacer;
pub mod scim;
pub mod tiktok;
pub mod webhook;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use crate::api::business_hub::AppAsset;
pub use crate::plan::{Access, Capabilities, ExternalAccount, ExternalPartner, NewAccount, RoleSupport};
pub use error::ConnectorError;
pub use operation::OperationId;
pub use pacer::Pacer;

/// One external app, as the executor calls it.
pub trait Connector: Send + Sync {
    /// Every account in the app, with its roles and assets (the read-back of a sync).
    fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>>;

    /// The account with this email (case-insensitive), if the app has one. Used
    /// to read back after a crash before an add is retried.
    fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>>;

    /// Adds (invites) an account with its access; returns the account as the app made it.
    /// An account that exists already answers `ConnectorError::AlreadyExists`.
    /// `operation` is the same for every retry of this call (see [`OperationId`]).
    fn add_account<'a>(
        &'a self,
        account: &'a NewAccount,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>>;

    /// Sets the account's roles and assets to exactly `access` (and re-activates it
    /// if the app had deactivated it).
    fn update_access<'a>(
        &'a self,
        external_id: &'a str,
        access: &'a Access,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>>;

    /// Takes the seat away (deactivate or delete, per the hub's settings), or
    /// cancels a pending invitation.
    fn remove_account<'a>(&'a self, external_id: &'a str, operation: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>>;

    /// The app's assets with the roles each can grant. The read-back imports them
    /// into the hub's status so grants can name them; it calls this before
    /// `list_accounts`, so a connector may refresh its own name-to-id directory
    /// here. Asset names are unique within a hub (a connector disambiguates two
    /// assets of one name, "Brand (act_123)"). Default: the app lists none.
    fn list_assets(&self) -> BoxFuture<'_, Result<Vec<AppAsset>, ConnectorError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Partner businesses holding access to this business's assets, and the asset
    /// role each holds (assets named as `list_assets` names them).
    fn list_partners(&self) -> BoxFuture<'_, Result<Vec<ExternalPartner>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("this connector has no partners".into())) })
    }

    /// Gives partner `partner_id` the role `role` on `asset`: grants the access, or
    /// changes the role it holds.
    fn set_partner_asset<'a>(
        &'a self,
        partner_id: &'a str,
        asset: &'a str,
        role: &'a str,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        let _ = (partner_id, asset, role, operation);
        Box::pin(async { Err(ConnectorError::Unsupported("this connector has no partners".into())) })
    }

    /// Takes partner `partner_id`'s access to `asset` away; access gone already answers `NotFound`.
    fn remove_partner_asset<'a>(
        &'a self,
        partner_id: &'a str,
        asset: &'a str,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        let _ = (partner_id, asset, operation);
        Box::pin(async { Err(ConnectorError::Unsupported("this connector has no partners".into())) })
    }

    /// Invitations this connector held back for the app's invitation cap (GitHub's
    /// 50 or 500 a day), for the hub's status; `None` when none wait or the app has no cap.
    fn invitation_queue(&self) -> Option<crate::api::business_hub::InvitationQueue> {
        None
    }
}

/// What the connector a hub names can read and change in its app. A static
/// declaration, so grants and hubs are checked against it without a call.
pub fn capabilities(spec: &crate::api::business_hub::ConnectorSpec) -> Capabilities {
    use crate::api::business_hub::ConnectorType;
    match spec.type_ {
        // SCIM 2.0 has multi-valued `roles` (or role groups), `active`, and no
        // invitations, assets or last-use time in its core schema.
        ConnectorType::Scim => Capabilities {
            roles: RoleSupport::Many,
            assets: false,
            invitations: false,
            deactivation: true,
            last_activity: false,
            partners: false,
        },
        // One org role (member/admin), teams as assets, email invitations; GitHub
        // has no deactivated members and no last-use time in its REST API.
        ConnectorType::GitHub => Capabilities {
            roles: RoleSupport::One,
            assets: true,
            invitations: true,
            deactivation: false,
            last_activity: false,
            partners: false,
        },
        // One business role per person, assets with their own roles (Meta: ad
        // accounts, pages, catalogs; TikTok: advertisers, catalogs, TikTok
        // accounts), email invitations, partner businesses sharing assets.
        ConnectorType::Meta | ConnectorType::TikTok => Capabilities {
            roles: RoleSupport::One,
            assets: true,
            invitations: true,
            deactivation: false,
            last_activity: false,
            partners: true,
        },
        // What the hub declares (default: everything); the connector is held to it at its first call.
        ConnectorType::Webhook => webhook::declared_capabilities(spec.webhook.as_ref()),
    }
}

/// The connector a hub names, with its credential and its pacer.
///
/// Takes the hub's whole spec (not only `spec.connector`) because a connector
/// also needs the role catalog (`spec.roles[].name`): group-mapped SCIM roles
/// touch only the catalog's groups. `pacer` is the hub's own
/// (`Context::pacer("namespace/name")`), shared by every connector built for
/// the hub, so a retry time the app named outlives this connector.
pub fn for_hub(
    spec: &crate::api::business_hub::BusinessHubSpec,
    credential: String,
    pacer: Arc<Pacer>,
) -> Result<Box<dyn Connector>, ConnectorError> {
    use crate::api::business_hub::ConnectorType;
    let connector = &spec.connector;
    let duration = |field: &str, text: &str| {
        crate::api::duration::parse_duration(text).map_err(|e| ConnectorError::Config(format!("spec.connector.{field}: {e}")))
    };
    let timeout = duration("timeout", &connector.timeout)?;
    pacer.set_max_backoff(duration("maxBackoff", &connector.max_backoff)?);
    match connector.type_ {
        ConnectorType::Scim => {
            let settings = connector.scim.clone().unwrap_or_default();
            let catalog = spec.roles.iter().map(|r| r.name.clone()).collect();
            Ok(Box::new(scim::ScimConnector::new(&connector.url, credential, &settings, catalog, pacer, timeout)?))
        }
        ConnectorType::Webhook => {
            Ok(Box::new(webhook::WebhookConnector::new(&connector.url, credential, connector.webhook.as_ref(), pacer, timeout)?))
        }
        ConnectorType::GitHub => Ok(Box::new(github::GitHubConnector::new(spec, credential, pacer, timeout)?)),
        ConnectorType::Meta => Ok(Box::new(meta::MetaConnector::new(spec, credential, pacer, timeout)?)),
        ConnectorType::TikTok => Ok(Box::new(tiktok::TikTokConnector::new(spec, credential, pacer, timeout)?)),
    }
}
