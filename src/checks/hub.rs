//! Is a `BusinessHub` usable: its credentials resolve and its settings parse?

use crate::api::business_hub::BusinessHubSpec;
use crate::api::condition::{Condition, ConditionStatus};
use crate::api::duration::parse_duration;

use super::SecretLookup;

/// The key read from the credentials Secret when the hub names none.
pub const DEFAULT_CREDENTIALS_KEY: &str = "token";

/// Condition type reported on every hub.
pub use crate::api::wire::condition::READY;

/// Reasons a hub is not ready; stable words users can search for.
pub mod reason {
    pub const READY: &str = "Ready";
    pub const SECRET_NOT_FOUND: &str = "CredentialsSecretNotFound";
    pub const SECRET_KEY_MISSING: &str = "CredentialsKeyMissing";
    pub const INVALID_SETTING: &str = "InvalidSetting";
}

/// Checks a hub against the lookup of its credentials Secret.
pub fn check_hub(spec: &BusinessHubSpec, credentials: &SecretLookup) -> Condition {
    let secret = &spec.connector.credentials_secret_ref;
    let key = secret.key.as_deref().unwrap_or(DEFAULT_CREDENTIALS_KEY);
    match credentials {
        SecretLookup::Missing => {
            return Condition::new(
                READY,
                ConditionStatus::False,
                reason::SECRET_NOT_FOUND,
                format!(
                    "credentials Secret {:?} does not exist in this namespace; create it with the app's API credential under key {key:?}",
                    secret.name
                ),
            );
        }
        SecretLookup::Found(keys) if !keys.iter().any(|k| k == key) => {
            return Condition::new(
                READY,
                ConditionStatus::False,
                reason::SECRET_KEY_MISSING,
                format!("credentials Secret {:?} has no key {key:?}", secret.name),
            );
        }
        SecretLookup::Found(_) => {}
    }
    let durations = [
        ("spec.syncInterval", &spec.sync_interval),
        ("spec.safety.removalWindow", &spec.safety.removal_window),
        ("spec.safety.removalGracePeriod", &spec.safety.removal_grace_period),
        ("spec.invites.expireAfter", &spec.invites.expire_after),
        ("spec.connector.timeout", &spec.connector.timeout),
        ("spec.connector.maxBackoff", &spec.connector.max_backoff),
    ];
    for (field, value) in durations {
        if let Err(e) = parse_duration(value) {
            return Condition::new(READY, ConditionStatus::False, reason::INVALID_SETTING, format!("{field}: {e}"));
        }
    }
    Condition::new(
        READY,
        ConditionStatus::True,
        reason::READY,
        format!("credentials resolve; {} roles and {} assets in the catalog", spec.roles.len(), spec.assets.len()),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::business_hub::*;
    use crate::api::refs::SecretRef;

    pub(crate) fn hub_spec() -> BusinessHubSpec {
        BusinessHubSpec {
            connector: ConnectorSpec {
                type_: ConnectorType::Scim,
                url: "https://127.0.0.1:1/scim/v2".into(),
                organization: None,
                credentials_secret_ref: SecretRef { name: "app-creds".into(), key: None },
                scim: None,
                webhook: None,
                github: None,
                meta: None,
                tiktok: None,
                timeout: "30s".into(),
                max_backoff: "5m".into(),
            },
            role_model: RoleModel::Hierarchical,
            roles: vec![],
            assets: vec![],
            login_method: LoginMethod::Sso,
            sync_interval: "5m".into(),
            mode: HubMode::DryRun,
            safety: SafetySpec::default(),
            ungranted_accounts: Default::default(),
            invites: InvitePolicy::default(),
        }
    }

    #[test]
    fn missing_secret_is_named_in_the_message() {
        let c = check_hub(&hub_spec(), &SecretLookup::Missing);
        assert_eq!(c.status, ConditionStatus::False);
        assert_eq!(c.reason, reason::SECRET_NOT_FOUND);
        assert!(c.message.contains("app-creds"));
    }

    #[test]
    fn missing_key_is_reported() {
        let c = check_hub(&hub_spec(), &SecretLookup::Found(vec!["password".into()]));
        assert_eq!(c.reason, reason::SECRET_KEY_MISSING);
    }

    #[test]
    fn bad_duration_is_an_invalid_setting() {
        let mut spec = hub_spec();
        spec.safety.removal_grace_period = "ten minutes".into();
        let c = check_hub(&spec, &SecretLookup::Found(vec!["token".into()]));
        assert_eq!(c.reason, reason::INVALID_SETTING);
        assert!(c.message.contains("removalGracePeriod"));
    }

    #[test]
    fn resolvable_hub_is_ready() {
        let c = check_hub(&hub_spec(), &SecretLookup::Found(vec!["token".into()]));
        assert_eq!(c.status, ConditionStatus::True);
    }
}
