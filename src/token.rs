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

/// The Secret key for a token rotated at `now`: `token-` and the time to the
/// nanosecond, so keys sort by age and `keys_to_retire` retires the oldest.
/// Two rotations can still read the same clock (or a clock behind the one that
/// wrote the newest key), so a key that would not sort after every rotated key
/// already in the Secret is moved past the newest one: a rotation never
/// overwrites another's token, and the newest token always sorts last.
pub fn new_key(now: k8s_openapi::jiff::Timestamp, existing: &[String]) -> String {
    let candidate = format!("{ROTATED_KEY_PREFIX}{}n{:09}", now.strftime("%Y%m%dt%H%M%S"), now.subsec_nanosecond());
    match existing.iter().filter(|k| k.starts_with(ROTATED_KEY_PREFIX)).max() {
        // A longer key with the newest as its prefix sorts right after it.
        Some(newest) if *newest >= candidate => format!("{newest}a"),
        _ => candidate,
    }
}

/// A token with 244 random bits, in a form every IdP accepts.
fn new_token() -> String {
    format!("rc_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// How often a rotation that raced with another one is retried.
const WRITE_ATTEMPTS: usize = 5;

/// Adds `token` to the Secret under a fresh key and retires the oldest rotated
/// keys beyond `keep`, in one write conditional on what was read; returns the
/// key and the retired keys.
async fn write_token(secrets: &Api<Secret>, secret_name: &str, token: &str, keep: usize) -> Result<(String, Vec<String>), kube::Error> {
    match secrets.get_opt(secret_name).await? {
        None => {
            let key = new_key(k8s_openapi::jiff::Timestamp::now(), &[]);
            let secret = Secret {
                metadata: kube::api::ObjectMeta { name: Some(secret_name.to_string()), ..Default::default() },
                string_data: Some([(key.clone(), token.to_string())].into()),
                ..Default::default()
            };
            // Two first rotations: the loser gets 409 AlreadyExists and retries as an update.
            secrets.create(&PostParams::default(), &secret).await?;
            Ok((key, vec![]))
        }
        Some(secret) => {
            let existing: Vec<String> = secret.data.unwrap_or_default().into_keys().collect();
            let key = new_key(k8s_openapi::jiff::Timestamp::now(), &existing);
            let retired = keys_to_retire(&existing, &key, keep);
            let mut data = Map::new();
            for old in &retired {
                data.insert(old.clone(), Value::Null);
            }
            // resourceVersion: a concurrent rotation fails (409) instead of being overwritten.
            let patch = json!({
                "metadata": {"resourceVersion": secret.metadata.resource_version},
                "stringData": {key.clone(): token},
                "data": data,
            });
            secrets.patch(secret_name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            Ok((key, retired))
        }
    }
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
    let mut attempt = 0;
    let (key, retired) = loop {
        attempt += 1;
        match write_token(&secrets, &secret_name, &token, args.keep.max(1)).await {
            // Another rotation wrote the Secret between our read and our write:
            // read it again so that its token is kept and ours sorts after it.
            Err(kube::Error::Api(e)) if e.code == 409 && attempt < WRITE_ATTEMPTS => continue,
            other => break other?,
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

    fn at(text: &str) -> k8s_openapi::jiff::Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn keys_of_one_second_differ_and_sort_by_age() {
        let first = new_key(at("2026-03-01T10:00:00.100Z"), &[]);
        let second = new_key(at("2026-03-01T10:00:00.200Z"), std::slice::from_ref(&first));
        assert_ne!(first, second);
        assert!(first < second, "{first} < {second}");
        assert_eq!(first, "token-20260301t100000n100000000");
        // The old one-second keys sort before any later key of the same second.
        assert!("token-20260301t100000" < first.as_str());
    }

    #[test]
    fn a_key_never_repeats_nor_sorts_before_an_existing_one() {
        let now = at("2026-03-01T10:00:00Z");
        let taken = new_key(now, &[]);
        let again = new_key(now, std::slice::from_ref(&taken));
        assert!(again > taken, "{again} > {taken}");
        // A clock behind the machine that wrote the newest key.
        let ahead = vec!["token-20270101t000000n000000000".to_string(), "entra-original".to_string()];
        let behind = new_key(now, &ahead);
        assert!(behind > ahead[0], "{behind}");
        assert!(secret_key_is_valid(&behind), "{behind}");
        // Retiring by sort order removes the older keys, never the new one.
        let mut existing = ahead.clone();
        existing.push(behind.clone());
        assert_eq!(keys_to_retire(&existing, &behind, 1), vec![ahead[0].clone()]);
    }

    /// Secret keys must consist of alphanumerics, '-', '_' or '.'.
    fn secret_key_is_valid(key: &str) -> bool {
        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
    }
}
