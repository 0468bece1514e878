//! Looking up a referenced Secret. Key names feed the checks; a credential's
//! value goes only to the connector that needs it, never to logs or status.

use k8s_openapi::api::core::v1::Secret;
use std::sync::Arc;

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
    Ok(secret_read(api.get_opt(name).await?.as_ref(), key))
}

/// A Secret's key names and the value of `key`; `Missing` when there is no Secret.
fn secret_read(secret: Option<&Secret>, key: &str) -> SecretRead {
    let Some(secret) = secret else { return SecretRead { lookup: SecretLookup::Missing, value: None } };
    let (data, string_data) = (secret.data.as_ref(), secret.string_data.as_ref());
    let value = data
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .or_else(|| string_data.and_then(|d| d.get(key)).cloned())
        .map(|v| v.trim().to_string());
    let mut keys: Vec<String> =
        data.into_iter().flat_map(|d| d.keys()).chain(string_data.into_iter().flat_map(|d| d.keys())).cloned().collect();
    keys.sort();
    keys.dedup();
    SecretRead { lookup: SecretLookup::Found(keys), value }
}

/// Reads a Secret's key names only.
pub async fn lookup_secret(client: &Client, namespace: &str, name: &str) -> Result<SecretLookup, Error> {
    Ok(read_secret(client, namespace, name, "").await?.lookup)
}

/// The Secrets hubs read, kept between syncs and forgotten when the Secret's
/// watch (names only, `controllers::Wiring::secret_changes`) says it changed.
///
/// A hub read its credential Secret with a GET at every sync: under a busy API
/// server that GET took 350 ms (p50) of a hub's sync in the 5,000-user
/// benchmark, for a value that changes on a rotation. The watch that already
/// replans a hub when its Secret changes now also drops the kept copy, before
/// that replan runs, so a rotated credential is read fresh by the next sync.
/// By (namespace, name); `None` when the Secret did not exist.
type KeptSecrets = std::collections::HashMap<(String, String), Arc<Option<Secret>>>;

#[derive(Default)]
pub struct SecretCache {
    kept: std::sync::Mutex<KeptSecrets>,
}

impl SecretCache {
    /// Like [`read_secret`], from the kept copy when there is one (a missing Secret is kept as missing).
    pub async fn read(&self, client: &Client, namespace: &str, name: &str, key: &str) -> Result<SecretRead, Error> {
        let id = (namespace.to_string(), name.to_string());
        let kept = self.lock().get(&id).cloned();
        let secret = match kept {
            Some(secret) => secret,
            None => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                let secret = Arc::new(api.get_opt(name).await?);
                self.lock().insert(id, secret.clone());
                secret
            }
        };
        Ok(secret_read(secret.as_ref().as_ref(), key))
    }

    /// Drops the kept copy of a Secret that changed (or was created or deleted).
    pub fn forget(&self, namespace: &str, name: &str) {
        self.lock().remove(&(namespace.to_string(), name.to_string()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeptSecrets> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}
