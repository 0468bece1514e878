//! Looking up a referenced Secret. Key names feed the checks; a credential's
//! value goes only to the connector that needs it, never to logs or status.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::checks::SecretLookup;

use super::error::Error;

/// A Secret's key names and, when asked for, one key's value.
pub struct SecretRead {
    pub lookup: SecretLookup,
    /// The value of the requested key, as UTF-8 text; `None` when absent or not text.
    pub value: Option<String>,
}

/// Reads a Secret once: its key names, and the value of `key`.
pub async fn read_secret(client: &Client, namespace: &str, name: &str, key: &str) -> Result<SecretRead, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    Ok(match api.get_opt(name).await? {
        None => SecretRead { lookup: SecretLookup::Missing, value: None },
        Some(secret) => {
            let data = secret.data.unwrap_or_default();
            let string_data = secret.string_data.unwrap_or_default();
            let value = data
                .get(key)
                .and_then(|v| String::from_utf8(v.0.clone()).ok())
                .or_else(|| string_data.get(key).cloned())
                .map(|v| v.trim().to_string());
            let mut keys: Vec<String> = data.into_keys().chain(string_data.into_keys()).collect();
            keys.sort();
            keys.dedup();
            SecretRead { lookup: SecretLookup::Found(keys), value }
        }
    })
}

/// Reads a Secret's key names only.
pub async fn lookup_secret(client: &Client, namespace: &str, name: &str) -> Result<SecretLookup, Error> {
    Ok(read_secret(client, namespace, name, "").await?.lookup)
}
