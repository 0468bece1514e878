//! Looking up a referenced Secret without keeping its values.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::checks::SecretLookup;

use super::error::Error;

/// Reads a Secret and returns only its key names; the values are dropped here.
pub async fn lookup_secret(client: &Client, namespace: &str, name: &str) -> Result<SecretLookup, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    Ok(match api.get_opt(name).await? {
        None => SecretLookup::Missing,
        Some(secret) => {
            let mut keys: Vec<String> = secret.data.unwrap_or_default().into_keys().collect();
            keys.extend(secret.string_data.unwrap_or_default().into_keys());
            keys.sort();
            keys.dedup();
            SecretLookup::Found(keys)
        }
    })
}
