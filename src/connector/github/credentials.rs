//! What the hub's Secret holds for GitHub, and whether the token may manage members.
//!
//! Either a token (classic with `admin:org`, fine-grained with the
//! organisation's Members permission set to read and write, or an installation
//! token made elsewhere) under the Secret's key (`token` unless
//! `credentialsSecretRef.key` says otherwise), or, with
//! `spec.connector.github.app`, a GitHub App's private key (PEM, PKCS#1 as
//! GitHub hands it out, or PKCS#8): the connector then signs a JWT with it
//! (RS256, ten minutes at most, as GitHub requires) and exchanges it for an
//! installation token.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use crate::api::business_hub::GitHubAppSettings;
use crate::connector::ConnectorError;

/// How the connector authenticates.
#[derive(Clone)]
pub enum Credential {
    Token(String),
    App(AppCredential),
}

/// A GitHub App's identity: never logged (no Debug).
#[derive(Clone)]
pub struct AppCredential {
    pub app_id: String,
    pub installation_id: i64,
    key: Arc<RsaKeyPair>,
}

impl AppCredential {
    /// A JWT for the App: issued a minute in the past (GitHub's advice against
    /// clock drift), expiring nine minutes later (GitHub refuses more than ten).
    pub fn jwt(&self, now: i64) -> Result<String, ConnectorError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": self.app_id});
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signed.as_bytes(), &mut signature)
            .map_err(|_| ConnectorError::Config("cannot sign the GitHub App's JWT with its private key".into()))?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The credential the Secret's value and the hub's settings make.
pub fn credential_of(secret_value: String, app: Option<&GitHubAppSettings>) -> Result<Credential, ConnectorError> {
    match app {
        Some(app) => {
            let key = private_key(&secret_value)?;
            Ok(Credential::App(AppCredential { app_id: app.app_id.clone(), installation_id: app.installation_id, key: Arc::new(key) }))
        }
        None => token_of(secret_value).map(Credential::Token),
    }
}

/// An RSA private key from PEM: `RSA PRIVATE KEY` (PKCS#1, what GitHub's App
/// settings download) or `PRIVATE KEY` (PKCS#8).
fn private_key(pem: &str) -> Result<RsaKeyPair, ConnectorError> {
    let refuse = |why: &str| {
        ConnectorError::Config(format!(
            "spec.connector.github.app is set, so the hub's Secret must hold the App's private key (PEM): {why}"
        ))
    };
    let label = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        "RSA PRIVATE KEY"
    } else if pem.contains("-----BEGIN PRIVATE KEY-----") {
        "PRIVATE KEY"
    } else {
        return Err(refuse("no PEM private key found"));
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem
        .split_once(&begin)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(body, _)| body)
        .ok_or_else(|| refuse("the PEM block has no end"))?;
    let der =
        STANDARD.decode(body.split_whitespace().collect::<String>()).map_err(|e| refuse(&format!("its base64 does not decode: {e}")))?;
    let key = if label == "RSA PRIVATE KEY" { RsaKeyPair::from_der(&der) } else { RsaKeyPair::from_pkcs8(&der) };
    key.map_err(|e| refuse(&format!("not a usable RSA key ({e})")))
}

/// The scope a classic token needs to invite, change and remove members.
pub const NEEDED_SCOPE: &str = "admin:org";

/// The bearer token from the Secret's value.
fn token_of(secret_value: String) -> Result<String, ConnectorError> {
    let token = secret_value.trim().to_string();
    if token.is_empty() {
        return Err(ConnectorError::Config("the hub's Secret holds an empty GitHub token".into()));
    }
    if token.contains("PRIVATE KEY") {
        return Err(ConnectorError::Config(
            "the hub's Secret holds a private key: to act as a GitHub App, set spec.connector.github.app (appId, installationId); else put a token with admin:org under the Secret's key".into(),
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConnectorError::Config("the GitHub token in the hub's Secret contains whitespace".into()));
    }
    Ok(token)
}

/// Why the token cannot manage members, from `X-OAuth-Scopes` (sent for classic
/// tokens only; fine-grained and App tokens carry permissions GitHub checks per call).
pub fn missing_scope(scopes: Option<&str>) -> Option<String> {
    let scopes = scopes?;
    let has = scopes.split(',').map(str::trim).any(|s| s == NEEDED_SCOPE);
    (!has).then(|| {
        let shown = if scopes.trim().is_empty() { "none" } else { scopes.trim() };
        format!("the token lacks the {NEEDED_SCOPE} scope that inviting and removing members needs (its scopes: {shown}); give it {NEEDED_SCOPE} or use a fine-grained token with Members: read and write")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classic_token_needs_admin_org_and_other_tokens_are_not_judged_by_scopes() {
        assert_eq!(missing_scope(None), None);
        assert_eq!(missing_scope(Some("repo, admin:org")), None);
        let missing = missing_scope(Some("repo, read:org")).expect("missing");
        assert!(missing.contains("admin:org") && missing.contains("repo, read:org"), "{missing}");
        assert!(missing_scope(Some("")).is_some_and(|m| m.contains("none")));
    }

    #[test]
    fn an_app_needs_a_pem_rsa_key_and_says_what_is_wrong() {
        let app = GitHubAppSettings { app_id: "1".into(), installation_id: 2 };
        let refused = |value: &str| match credential_of(value.into(), Some(&app)) {
            Err(ConnectorError::Config(m)) => m,
            Ok(_) => panic!("{value:?} was taken as a key"),
            Err(e) => panic!("{e}"),
        };
        assert!(refused("ghp_token").contains("no PEM private key"));
        assert!(refused("-----BEGIN RSA PRIVATE KEY-----\nMII").contains("no end"));
        assert!(refused("-----BEGIN RSA PRIVATE KEY-----\n!!!\n-----END RSA PRIVATE KEY-----").contains("base64"));
        assert!(refused("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").contains("not a usable RSA key"));
        // Without `app`, a token is a token.
        assert!(matches!(credential_of("ghp_abc".into(), None), Ok(Credential::Token(t)) if t == "ghp_abc"));
    }

    #[test]
    fn the_secret_holds_a_token() {
        assert_eq!(token_of(" ghp_abc\n".into()), Ok("ghp_abc".into()));
        assert!(matches!(token_of("".into()), Err(ConnectorError::Config(_))));
        assert!(
            matches!(token_of("-----BEGIN RSA PRIVATE KEY-----\nMII".into()), Err(ConnectorError::Config(m)) if m.contains("spec.connector.github.app"))
        );
        assert!(matches!(token_of("a b".into()), Err(ConnectorError::Config(_))));
    }
}
