//! `rolecall token rotate BINDING`: a new SCIM bearer token for an IdP binding,
//! without downtime and without a support ticket.
//!
//! The new token is added to the binding's Secret beside the current one, so
//! the identity provider keeps working until an admin pastes the new token in;
//! the oldest rotated tokens beyond `--keep` are removed in the same write.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Map, Value, json};

use crate::api::IdPBinding;
use crate::cli::TokenRotateArgs;

/// Keys written by `rotate` start with this; other keys of the Secret are left alone.
pub const ROTATED_KEY_PREFIX: &str = "token-";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("IdPBinding {namespace}/{name} does not exist")]
    NoBinding { namespace: String, name: String },
}

/// The keys to delete so that at most `keep` rotated keys remain, `new_key` included.
pub fn keys_to_retire(existing: &[String], new_key: &str, keep: usize) -> Vec<String> {
    let mut rotated: Vec<&String> = existing.iter().filter(|k| k.starts_with(ROTATED_KEY_PREFIX) && k.as_str() != new_key).collect();
    rotated.sort();
    let room = keep.saturating_sub(1);
    let excess = rotated.len().saturating_sub(room);
    rotated.into_iter().take(excess).cloned().collect()
}

/// A token with 244 random bits, in a form every IdP accepts.
fn new_token() -> String {
    format!("rc_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

pub async fn rotate(args: TokenRotateArgs) -> Result<(), TokenError> {
    let client = Client::try_default().await?;
    let namespace = match &args.namespace {
        Some(ns) => ns.clone(),
        None => client.default_namespace().to_string(),
    };
    let bindings: Api<IdPBinding> = Api::namespaced(client.clone(), &namespace);
    let binding = bindings
        .get_opt(&args.binding)
        .await?
        .ok_or_else(|| TokenError::NoBinding { namespace: namespace.clone(), name: args.binding.clone() })?;
    let secret_name = binding.spec.token_secret_ref.name.clone();
    let secrets: Api<Secret> = Api::namespaced(client, &namespace);
    let token = new_token();
    let key = format!("{ROTATED_KEY_PREFIX}{}", k8s_openapi::jiff::Timestamp::now().strftime("%Y%m%dt%H%M%S"));

    let retired = match secrets.get_opt(&secret_name).await? {
        None => {
            let secret = Secret {
                metadata: kube::api::ObjectMeta { name: Some(secret_name.clone()), ..Default::default() },
                string_data: Some([(key.clone(), token.clone())].into()),
                ..Default::default()
            };
            secrets.create(&PostParams::default(), &secret).await?;
            vec![]
        }
        Some(secret) => {
            let existing: Vec<String> = secret.data.unwrap_or_default().into_keys().collect();
            let retired = keys_to_retire(&existing, &key, args.keep.max(1));
            let mut data = Map::new();
            for old in &retired {
                data.insert(old.clone(), Value::Null);
            }
            // resourceVersion: a concurrent rotation fails instead of being overwritten.
            let patch = json!({
                "metadata": {"resourceVersion": secret.metadata.resource_version},
                "stringData": {key.clone(): token.clone()},
                "data": data,
            });
            secrets.patch(&secret_name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            retired
        }
    };
    eprintln!("added token {key:?} to Secret {namespace}/{secret_name}; enter it in the identity provider's provisioning settings.");
    if retired.is_empty() {
        eprintln!("earlier tokens stay valid until the next rotation.");
    } else {
        eprintln!("retired tokens: {}", retired.join(", "));
    }
    println!("{token}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_rotated_keys_and_leaves_others_alone() {
        let existing: Vec<String> =
            ["token-20260101t000000", "token-20260201t000000", "entra-original"].iter().map(|s| s.to_string()).collect();
        assert_eq!(keys_to_retire(&existing, "token-20260301t000000", 2), vec!["token-20260101t000000".to_string()]);
        assert_eq!(keys_to_retire(&existing, "token-20260301t000000", 1).len(), 2);
        assert!(keys_to_retire(&existing, "token-20260301t000000", 5).is_empty());
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
    }
}
