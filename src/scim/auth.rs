//! Bearer tokens: each valid token belongs to one `IdPBinding` and so to one
//! namespace. Tokens are read from the Secret each binding names (every data
//! key is one token), compared in constant time, and never logged.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use subtle::ConstantTimeEq;

use crate::api::IdPBinding;
use crate::api::idp_binding::{DeprovisionPolicy, IdentityProvider};

/// Who is calling, once its token is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub namespace: String,
    pub binding: String,
    pub provider: IdentityProvider,
    pub deprovision: DeprovisionPolicy,
    /// `namespace/binding/secret-key`: names the token without revealing it (rate limits, logs).
    pub token_name: String,
    /// The binding's `groupNamePrefixes`: the only group names it accepts (empty: any).
    pub group_name_prefixes: Vec<String>,
}

struct Entry {
    token: Vec<u8>,
    caller: Caller,
}

pub struct Tokens {
    entries: RwLock<Vec<Entry>>,
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

/// How often an unknown token may trigger a re-read of the Secrets.
const REFRESH_ON_MISS_EVERY: Duration = Duration::from_secs(1);

impl Tokens {
    pub fn new() -> Arc<Self> {
        Arc::new(Tokens { entries: RwLock::new(vec![]), last_refresh: tokio::sync::Mutex::new(None) })
    }

    /// The caller a presented token belongs to. Every entry is compared, in constant time each.
    pub fn authenticate(&self, presented: &str) -> Option<Caller> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let mut found = None;
        for entry in entries.iter() {
            if bool::from(entry.token.ct_eq(presented.as_bytes())) {
                found = Some(entry.caller.clone());
            }
        }
        found
    }

    /// Like [`authenticate`](Self::authenticate), but an unknown token first
    /// re-reads the Secrets, so a token added for rotation works at once.
    pub async fn authenticate_or_refresh(&self, presented: &str, client: &Client, bindings: &Store<IdPBinding>) -> Option<Caller> {
        if let Some(caller) = self.authenticate(presented) {
            return Some(caller);
        }
        // Misses wait in line and re-read at most once a second: a new token
        // works at once, a flood of wrong ones cannot flood the API server.
        let mut last = self.last_refresh.lock().await;
        if let Some(at) = *last
            && at.elapsed() < REFRESH_ON_MISS_EVERY
        {
            tokio::time::sleep(REFRESH_ON_MISS_EVERY - at.elapsed()).await;
            if let Some(caller) = self.authenticate(presented) {
                return Some(caller);
            }
        }
        *last = Some(Instant::now());
        drop(last);
        self.refresh(client, bindings).await;
        self.authenticate(presented)
    }

    /// Re-reads every binding's token Secret. A Secret that cannot be read
    /// keeps its binding's previous tokens rather than locking the IdP out.
    pub async fn refresh(&self, client: &Client, bindings: &Store<IdPBinding>) {
        let mut fresh = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for binding in bindings.state() {
            let ns = binding.namespace().unwrap_or_default();
            let name = binding.name_any();
            let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
            match api.get_opt(&binding.spec.token_secret_ref.name).await {
                Ok(Some(secret)) => {
                    for (key, value) in secret.data.unwrap_or_default() {
                        if value.0.is_empty() {
                            continue;
                        }
                        let caller = Caller {
                            namespace: ns.clone(),
                            binding: name.clone(),
                            provider: binding.spec.provider,
                            deprovision: binding.spec.deprovision,
                            token_name: format!("{ns}/{name}/{key}"),
                            group_name_prefixes: binding.spec.group_name_prefixes.clone(),
                        };
                        fresh.push(Entry { token: trim_newline(value.0), caller });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(binding = %format!("{ns}/{name}"), error = %e, "cannot read the token Secret; keeping its previous tokens");
                    failed.push(format!("{ns}/{name}"));
                }
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let kept = entries.drain(..).filter(|e| failed.contains(&format!("{}/{}", e.caller.namespace, e.caller.binding)));
        let mut next: Vec<Entry> = kept.collect();
        next.extend(fresh);
        *entries = next;
    }
}

/// `kubectl create secret --from-file` keeps a trailing newline that no IdP sends.
fn trim_newline(mut token: Vec<u8>) -> Vec<u8> {
    while token.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        token.pop();
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(list: &[(&str, &str)]) -> Tokens {
        let entries = list
            .iter()
            .map(|(token, ns)| Entry {
                token: token.as_bytes().to_vec(),
                caller: Caller {
                    namespace: ns.to_string(),
                    binding: "b".into(),
                    provider: IdentityProvider::Entra,
                    deprovision: DeprovisionPolicy::Deactivate,
                    token_name: format!("{ns}/b/k"),
                    group_name_prefixes: vec![],
                },
            })
            .collect();
        Tokens { entries: RwLock::new(entries), last_refresh: tokio::sync::Mutex::new(None) }
    }

    #[test]
    fn a_token_reaches_only_its_namespace() {
        let t = tokens(&[("alpha-token", "ws-a"), ("beta-token", "ws-b"), ("alpha-token-2", "ws-a")]);
        assert_eq!(t.authenticate("beta-token").map(|c| c.namespace), Some("ws-b".into()));
        assert_eq!(t.authenticate("alpha-token-2").map(|c| c.namespace), Some("ws-a".into()));
        assert!(t.authenticate("alpha").is_none());
        assert!(t.authenticate("").is_none());
    }

    #[test]
    fn trailing_newlines_are_not_part_of_a_token() {
        assert_eq!(trim_newline(b"abc\n".to_vec()), b"abc".to_vec());
    }
}
