//! The JSON bodies of the webhook protocol, version v1 (docs/connector-protocol.md),
//! and their translation into the planner's types.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::plan::{Capabilities, ExternalAccount, RoleSupport};

use super::super::{Access, NewAccount};

/// The protocol version rolecall speaks; in every path (`/v1/...`) and in the capabilities.
pub const PROTOCOL_VERSION: &str = "v1";

/// `GET /v1/capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCapabilities {
    pub protocol_version: String,
    /// `none`, `one` or `many`.
    pub roles: String,
    pub assets: bool,
    pub invitations: bool,
    pub deactivation: bool,
    pub last_activity: bool,
}

impl WireCapabilities {
    /// The capabilities as the planner sees them; `None` for an unknown `roles` word.
    pub fn to_capabilities(&self) -> Option<Capabilities> {
        let roles = match self.roles.as_str() {
            "none" => RoleSupport::None,
            "one" => RoleSupport::One,
            "many" => RoleSupport::Many,
            _ => return None,
        };
        Some(Capabilities {
            roles,
            assets: self.assets,
            invitations: self.invitations,
            deactivation: self.deactivation,
            last_activity: self.last_activity,
            // Protocol v1 has no partner calls.
            partners: false,
        })
    }
}

/// What the hub declares and the connector does not offer, in words; empty when it offers enough.
pub fn shortfall(declared: &Capabilities, offered: &Capabilities) -> Vec<String> {
    let rank = |r: RoleSupport| match r {
        RoleSupport::None => 0,
        RoleSupport::One => 1,
        RoleSupport::Many => 2,
    };
    let mut missing = Vec::new();
    if rank(declared.roles) > rank(offered.roles) {
        missing.push(format!("roles {:?} (offers {:?})", declared.roles, offered.roles));
    }
    for (name, wanted, has) in [
        ("assets", declared.assets, offered.assets),
        ("invitations", declared.invitations, offered.invitations),
        ("deactivation", declared.deactivation, offered.deactivation),
        ("lastActivity", declared.last_activity, offered.last_activity),
    ] {
        if wanted && !has {
            missing.push(name.to_string());
        }
    }
    missing
}

/// An account as a connector reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireAccount {
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Asset name → role held on it.
    #[serde(default)]
    pub assets: BTreeMap<String, String>,
    /// `active`, `invited`, `invite_failed` or `deactivated`.
    pub status: String,
    /// RFC 3339, when the account was last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active: Option<String>,
    /// With `invite_failed`: why and when the invitation failed, and whether it expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_failure: Option<WireInviteFailure>,
}

/// Why an invitation failed, as the app says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireInviteFailure {
    pub reason: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The invitation expired unaccepted (rather than failed to be delivered).
    #[serde(default)]
    pub expired: bool,
}

impl WireAccount {
    /// The account as the planner sees it; `Err` says what is wrong with it.
    pub fn to_account(&self) -> Result<ExternalAccount, String> {
        if self.id.is_empty() {
            return Err(format!("an account ({}) has an empty id", self.email));
        }
        let (active, invite_pending) = match self.status.as_str() {
            "active" => (true, false),
            "invited" => (false, true),
            "deactivated" | "invite_failed" => (false, false),
            other => return Err(format!("account {} has the unknown status {other:?}", self.id)),
        };
        let time = |field: &str, text: &Option<String>| -> Result<Option<i64>, String> {
            text.as_ref()
                .map(|t| {
                    t.parse::<k8s_openapi::jiff::Timestamp>()
                        .map(|at| at.as_second())
                        .map_err(|e| format!("account {}: {field} {t:?} is not RFC 3339: {e}", self.id))
                })
                .transpose()
        };
        let invitation_failed = match (self.status.as_str(), &self.invite_failure) {
            ("invite_failed", failure) => {
                let failure = failure.clone().unwrap_or(WireInviteFailure {
                    reason: "the app says the invitation failed".into(),
                    at: None,
                    expired: false,
                });
                let at = time("invite_failure.at", &failure.at)?;
                Some(crate::plan::InvitationFailure { reason: failure.reason, at, expired: failure.expired })
            }
            _ => None,
        };
        let last_active = time("last_active", &self.last_active)?;
        Ok(ExternalAccount {
            id: self.id.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            access: Access { roles: self.roles.iter().cloned().collect::<BTreeSet<_>>(), assets: self.assets.clone() },
            active,
            invite_pending,
            login_method: None,
            last_active,
            invitation_failed,
            note: None,
            service_account: false,
        })
    }
}

/// `GET /v1/accounts`: one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPage {
    pub accounts: Vec<WireAccount>,
    /// Absent or null on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `POST /v1/accounts`.
#[derive(Debug, Clone, Serialize)]
pub struct AddRequest<'a> {
    pub operation_id: &'a str,
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub roles: Vec<&'a str>,
    pub assets: &'a BTreeMap<String, String>,
}

impl<'a> AddRequest<'a> {
    pub fn of(account: &'a NewAccount, operation_id: &'a str) -> Self {
        AddRequest {
            operation_id,
            email: &account.email,
            display_name: account.display_name.as_deref(),
            given_name: account.given_name.as_deref(),
            family_name: account.family_name.as_deref(),
            roles: account.access.roles.iter().map(String::as_str).collect(),
            assets: &account.access.assets,
        }
    }
}

/// `PUT /v1/accounts/{id}`: the roles and assets to hold, exactly.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateRequest<'a> {
    pub operation_id: &'a str,
    pub roles: Vec<&'a str>,
    pub assets: &'a BTreeMap<String, String>,
}

/// `DELETE /v1/accounts/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveRequest<'a> {
    pub operation_id: &'a str,
}

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// One of [`ERROR_TYPES`].
    #[serde(rename = "type")]
    pub type_: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// The error types of v1 and the HTTP status each comes with.
pub const ERROR_TYPES: [(&str, u16); 7] = [
    ("invalid", 400),
    ("unauthorized", 401),
    ("not_found", 404),
    ("already_exists", 409),
    ("permanent", 422),
    ("rate_limited", 429),
    ("transient", 503),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(roles: RoleSupport, flags: bool) -> Capabilities {
        Capabilities { roles, assets: flags, invitations: flags, deactivation: flags, last_activity: flags, partners: false }
    }

    #[test]
    fn a_connector_must_offer_what_the_hub_declares() {
        assert!(shortfall(&Capabilities::ALL, &Capabilities::ALL).is_empty());
        assert!(shortfall(&caps(RoleSupport::One, false), &Capabilities::ALL).is_empty(), "offering more is fine");
        assert_eq!(
            shortfall(&Capabilities::ALL, &caps(RoleSupport::One, false)),
            ["roles Many (offers One)", "assets", "invitations", "deactivation", "lastActivity"]
        );
        assert!(shortfall(&caps(RoleSupport::None, false), &caps(RoleSupport::None, false)).is_empty());
    }

    #[test]
    fn accounts_translate_with_their_status() {
        let wire: WireAccount = serde_json::from_value(serde_json::json!({
            "id": "7", "email": "ann@acme.io", "roles": ["admin"], "assets": {"repo": "write"},
            "status": "invited", "last_active": "2026-12-02T10:00:00Z"
        }))
        .expect("parses");
        let account = wire.to_account().expect("valid");
        assert_eq!((account.active, account.invite_pending, account.last_active), (false, true, Some(1_796_205_600)));
        assert_eq!(account.access.assets.get("repo").map(String::as_str), Some("write"));
        let bad = WireAccount { status: "gone".into(), ..wire.clone() };
        assert!(bad.to_account().is_err());
        let no_id = WireAccount { id: String::new(), ..wire.clone() };
        assert!(no_id.to_account().is_err());
        let failed: WireAccount = serde_json::from_value(serde_json::json!({
            "id": "8", "email": "bob@acme.io", "status": "invite_failed",
            "invite_failure": {"reason": "the mailbox does not exist", "at": "2026-12-02T10:00:00Z", "expired": false}
        }))
        .expect("parses");
        let account = failed.to_account().expect("valid");
        assert_eq!((account.active, account.invite_pending), (false, false));
        let failure = account.invitation_failed.expect("failed");
        assert_eq!((failure.reason.as_str(), failure.at, failure.expired), ("the mailbox does not exist", Some(1_796_205_600), false));
        assert!(wire.to_account().expect("valid").invitation_failed.is_none());
    }
}
