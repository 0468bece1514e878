//! What the hub's Secret holds for Meta: a system user access token (Business
//! Settings → Users → System users → Generate new token, with the
//! `business_management` permission), sent as `Authorization: Bearer`.

use crate::connector::ConnectorError;

/// The token from the Secret's value.
pub fn token_of(secret_value: String) -> Result<String, ConnectorError> {
    let token = secret_value.trim().to_string();
    if token.is_empty() {
        return Err(ConnectorError::Config("the hub's Secret holds an empty Meta access token".into()));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConnectorError::Config(
            "the Meta access token in the hub's Secret contains whitespace: put the system user token alone under the Secret's key".into(),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_holds_one_token() {
        assert_eq!(token_of(" EAAB123\n".into()), Ok("EAAB123".into()));
        assert!(matches!(token_of("".into()), Err(ConnectorError::Config(_))));
        assert!(matches!(token_of("EAAB 123".into()), Err(ConnectorError::Config(m)) if m.contains("whitespace")));
    }
}
