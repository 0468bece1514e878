//! What a refused Graph API call means. Graph answers errors as
//! `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` and the
//! code says more than the HTTP status (Meta's "Handling Errors" guide), so the
//! code is read first: throttling (see [`super::usage`]) is handled before this;
//! here 190 is a token Meta does not take, 10 and 200-299 a permission the
//! token lacks (named in the message), 100 with subcode 33 an object that is
//! gone or hidden, 1 and 2 a passing fault on Meta's side.

use serde_json::Value;

use crate::connector::ConnectorError;

/// The permission a system user token needs to manage people, invitations and assets.
pub const NEEDED_PERMISSION: &str = "business_management";

/// A Graph error body, as far as the connector reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphError {
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
}

impl GraphError {
    /// The `error` object of an answer's body, if it has one.
    pub fn of(body: &Value) -> Option<GraphError> {
        let error = body.get("error")?;
        Some(GraphError {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            subcode: error.get("error_subcode").and_then(Value::as_i64),
            message: error.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        })
    }
}

/// How a refused call failed: by Graph's code when the body has one, else by the HTTP status.
pub fn error_for(status: u16, error: Option<&GraphError>, path: &str) -> ConnectorError {
    let Some(error) = error else {
        let what = format!("{path} answered {status} without a Graph error");
        return ConnectorError::from_status(reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::BAD_GATEWAY), None, what);
    };
    let said = format!("{path} answered {status}, code {}: {}", error.code, error.message);
    match error.code {
        190 => ConnectorError::Auth(format!(
            "{said} (the access token in the hub's Secret is invalid, expired or revoked: make a new system user token)"
        )),
        10 | 200..=299 => ConnectorError::Auth(format!(
            "{said} (the system user token lacks the {NEEDED_PERMISSION} permission, or the system user has no access to this \
             business or asset: generate the token with {NEEDED_PERMISSION} and make the system user an admin of the business)"
        )),
        100 if error.subcode == Some(33) => ConnectorError::NotFound(said),
        100 if error.message.to_ascii_lowercase().contains("already") => ConnectorError::AlreadyExists(said),
        1 | 2 => ConnectorError::Transient(said),
        _ if status >= 500 => ConnectorError::Transient(said),
        _ => ConnectorError::Permanent(said),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(status: u16, body: Value) -> ConnectorError {
        error_for(status, GraphError::of(&body).as_ref(), "/1/business_users")
    }

    fn error(code: i64, subcode: Option<i64>, message: &str) -> Value {
        let mut e = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"});
        if let Some(s) = subcode {
            e["error_subcode"] = json!(s);
        }
        json!({"error": e})
    }

    #[test]
    fn the_code_decides_and_a_missing_permission_is_named() {
        let auth = refused(400, error(190, Some(460), "Error validating access token"));
        assert!(matches!(&auth, ConnectorError::Auth(m) if m.contains("invalid, expired or revoked")), "{auth}");
        let permission = refused(403, error(200, None, "(#200) Requires business_management permission to manage the object"));
        assert!(matches!(&permission, ConnectorError::Auth(m) if m.contains("lacks the business_management permission")), "{permission}");
        assert_eq!(refused(400, error(10, None, "(#10) Application does not have permission")).reason(), "AuthFailed");
        let gone = refused(400, error(100, Some(33), "Unsupported get request. Object with ID 'act_1' does not exist"));
        assert_eq!(gone.reason(), "NotFound");
        assert_eq!(refused(400, error(100, None, "(#100) The user has already been invited to this business")).reason(), "AlreadyExists");
        assert_eq!(refused(400, error(100, None, "(#100) Param role must be one of {ADMIN, EMPLOYEE}")).reason(), "Permanent");
        assert_eq!(refused(500, error(2, None, "An unexpected error has occurred")).reason(), "Transient");
        assert_eq!(refused(500, error(1, None, "An unknown error occurred")).reason(), "Transient");
        // No Graph error in the body: the status alone.
        assert_eq!(refused(404, json!("<html>")).reason(), "NotFound");
        assert_eq!(refused(502, Value::Null).reason(), "Transient");
    }
}
