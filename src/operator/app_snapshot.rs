//! What one read-back of an app lists: its assets (imported into the hub's
//! status so grants can name them), its accounts, and its partners — each only
//! for a connector that declares it. Assets come first: a connector refreshes
//! its own name-to-id directory there, which the accounts' assets are named by.

use crate::connector::{AppAsset, Capabilities, Connector, ConnectorError, ExternalAccount, ExternalPartner};

/// One read-back's findings.
#[derive(Debug, Default)]
pub struct AppSnapshot {
    pub accounts: Vec<ExternalAccount>,
    /// `None` for a connector without assets.
    pub assets: Option<Vec<AppAsset>>,
    /// `None` for a connector without partners.
    pub partners: Option<Vec<ExternalPartner>>,
}

/// Reads the app back. Any list that fails fails the read-back: a hub whose
/// token may read members but not partners is not Connected, and says why.
pub async fn read_app(connector: &dyn Connector, capabilities: Capabilities) -> Result<AppSnapshot, ConnectorError> {
    let assets = if capabilities.assets { Some(connector.list_assets().await?) } else { None };
    let accounts = connector.list_accounts().await?;
    let partners = if capabilities.partners { Some(connector.list_partners().await?) } else { None };
    Ok(AppSnapshot { accounts, assets, partners })
}
