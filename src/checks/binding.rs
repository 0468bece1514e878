//! Is an `IdPBinding` usable: does its token Secret hold at least one token?

use crate::api::condition::{Condition, ConditionStatus};
use crate::api::idp_binding::IdPBindingSpec;

use super::SecretLookup;

/// Condition type reported on every binding.
pub use crate::api::wire::condition::READY;

/// Checks a binding against the lookup of its token Secret.
pub fn check_binding(spec: &IdPBindingSpec, tokens: &SecretLookup) -> Condition {
    let name = &spec.token_secret_ref.name;
    match tokens {
        SecretLookup::Missing => Condition::new(
            READY,
            ConditionStatus::False,
            "TokenSecretNotFound",
            format!("token Secret {name:?} does not exist in this namespace; the identity provider cannot authenticate"),
        ),
        SecretLookup::Found(keys) if keys.is_empty() => Condition::new(
            READY,
            ConditionStatus::False,
            "NoTokens",
            format!("token Secret {name:?} holds no keys; add one key per valid bearer token"),
        ),
        SecretLookup::Found(keys) => {
            Condition::new(READY, ConditionStatus::True, "Ready", format!("{} bearer token(s) accepted from Secret {name:?}", keys.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::refs::SecretRef;

    fn spec() -> IdPBindingSpec {
        IdPBindingSpec {
            provider: Default::default(),
            token_secret_ref: SecretRef { name: "scim-tokens".into(), key: None },
            deprovision: Default::default(),
            workspace_domains: vec![],
            group_name_prefixes: vec![],
        }
    }

    #[test]
    fn counts_tokens_without_showing_them() {
        let c = check_binding(&spec(), &SecretLookup::Found(vec!["a".into(), "b".into()]));
        assert_eq!(c.status, ConditionStatus::True);
        assert!(c.message.starts_with("2 bearer"));
    }

    #[test]
    fn empty_or_missing_secret_is_not_ready() {
        assert_eq!(check_binding(&spec(), &SecretLookup::Found(vec![])).reason, "NoTokens");
        assert_eq!(check_binding(&spec(), &SecretLookup::Missing).reason, "TokenSecretNotFound");
    }
}
