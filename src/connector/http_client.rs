//! One HTTP client for every connector of the process. A connector is built
//! for each sync, and building a `reqwest::Client` each time read and parsed
//! every root certificate file of the system and started a new connection
//! pool, so each call opened a new connection (a TLS handshake against a real
//! app). Built once, the roots are read once and connections to an app are
//! reused across syncs; each request carries its hub's own timeout.

use std::sync::OnceLock;
use std::time::Duration;

use super::ConnectorError;

/// How long a connection to an app may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The process's connector client (a cheap handle on one shared pool).
pub fn shared() -> Result<reqwest::Client, ConnectorError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| ConnectorError::Config(format!("cannot build the HTTP client: {e}")))
}
