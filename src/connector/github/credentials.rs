//! What the hub's Secret holds for GitHub, and whether the token may manage members.
//!
//! A token (classic with `admin:org`, fine-grained with the organisation's
//! Members permission set to read and write, or an installation token made
//! elsewhere) under the Secret's key (`token` unless `credentialsSecretRef.key`
//! says otherwise). GitHub App credentials (an app id and private key, exchanged
//! for an installation token) are not read yet: a Secret holding a private key
//! is refused with a message that says so.

use crate::connector::ConnectorError;

/// The scope a classic token needs to invite, change and remove members.
pub const NEEDED_SCOPE: &str = "admin:org";

/// The bearer token from the Secret's value.
pub fn token_of(secret_value: String) -> Result<String, ConnectorError> {
    let token = secret_value.trim().to_string();
    if token.is_empty() {
        return Err(ConnectorError::Config("the hub's Secret holds an empty GitHub token".into()));
    }
    if token.contains("PRIVATE KEY") {
        return Err(ConnectorError::Config(
            "the hub's Secret holds a private key: GitHub App credentials are not supported yet; put a token with admin:org (or an installation token) under the Secret's key".into(),
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
    fn the_secret_holds_a_token() {
        assert_eq!(token_of(" ghp_abc\n".into()), Ok("ghp_abc".into()));
        assert!(matches!(token_of("".into()), Err(ConnectorError::Config(_))));
        assert!(
            matches!(token_of("-----BEGIN RSA PRIVATE KEY-----\nMII".into()), Err(ConnectorError::Config(m)) if m.contains("not supported"))
        );
        assert!(matches!(token_of("a b".into()), Err(ConnectorError::Config(_))));
    }
}
