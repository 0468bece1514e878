//! Organisation invitations, pending and failed, as accounts.
//!
//! A pending invitation is an account whose invitation is not accepted
//! (`invite_pending`); a failed one (GitHub moves an invitation there when it
//! cannot be delivered, and when it expires after 7 days) is an account with
//! `invitation_failed`, which the planner shows as InviteFailed or
//! InviteExpired and sends again per the hub's policy.

use serde_json::Value;

use super::ids::ExternalId;
use super::members::{ADMIN, MEMBER};
use crate::api::time::parse_time;
use crate::connector::{Access, ExternalAccount};
use crate::plan::InvitationFailure;

/// One invitation as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: u64,
    pub email: String,
    /// `member` or `admin` (GitHub's `direct_member` is `member`).
    pub role: String,
    pub created_at: Option<i64>,
    pub failed: Option<InvitationFailure>,
}

/// The invitations of a list (`/orgs/{org}/invitations` or `/failed_invitations`).
/// An invitation by login only (no email) cannot be matched and is skipped.
pub fn invitations_of(items: &[Value]) -> Vec<Invitation> {
    items
        .iter()
        .filter_map(|i| {
            let id = i.get("id")?.as_u64()?;
            let email = i.get("email")?.as_str()?.to_string();
            let role = match i.get("role").and_then(Value::as_str) {
                Some("admin") => ADMIN.to_string(),
                _ => MEMBER.to_string(),
            };
            let created_at = i.get("created_at").and_then(Value::as_str).and_then(parse_time);
            let failed_at = i.get("failed_at").and_then(Value::as_str).and_then(parse_time);
            let reason = i.get("failed_reason").and_then(Value::as_str).map(str::to_string);
            let failed = (failed_at.is_some() || reason.is_some()).then(|| {
                let reason = reason.unwrap_or_else(|| "the invitation failed".into());
                let expired = reason.to_ascii_lowercase().contains("expire");
                InvitationFailure { reason, at: failed_at, expired }
            });
            Some(Invitation { id, email, role, created_at, failed })
        })
        .collect()
}

/// An invitation as an account.
pub fn account_of(invitation: &Invitation) -> ExternalAccount {
    ExternalAccount {
        id: ExternalId::Invitation(invitation.id).to_string(),
        email: invitation.email.clone(),
        access: Access { roles: [invitation.role.clone()].into(), assets: Default::default() },
        active: false,
        invite_pending: invitation.failed.is_none(),
        invitation_failed: invitation.failed.clone(),
        ..Default::default()
    }
}

/// The body of `POST /orgs/{org}/invitations`.
pub fn invitation_body(email: &str, org_role: &str, team_ids: &[u64]) -> Value {
    let role = if org_role == ADMIN { "admin" } else { "direct_member" };
    serde_json::json!({"email": email, "role": role, "team_ids": team_ids})
}

/// GitHub's answer when the organisation's daily invitations are used up.
pub fn is_over_cap(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("over invitation rate limit") || m.contains("invitation rate limit")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pending_and_failed_invitations_read_back_as_accounts() {
        let pending = json!([{"id": 7, "email": "ann@acme.io", "role": "direct_member", "created_at": "2026-12-01T10:00:00Z"},
                             {"id": 8, "login": "no-email", "role": "admin"}]);
        let listed = invitations_of(pending.as_array().expect("list"));
        assert_eq!(listed.len(), 1);
        let ann = account_of(&listed[0]);
        assert_eq!((ann.id.as_str(), ann.invite_pending, ann.active), ("invitation:7", true, false));
        assert_eq!(ann.access.roles.iter().collect::<Vec<_>>(), ["member"]);
        let failed = json!([
            {"id": 9, "email": "bob@acme.io", "role": "admin", "failed_at": "2026-12-02T10:00:00Z", "failed_reason": "Invitation expired"},
            {"id": 10, "email": "cy@acme.io", "role": "direct_member", "failed_at": "2026-12-02T11:00:00Z", "failed_reason": "The email bounced"}
        ]);
        let failed = invitations_of(failed.as_array().expect("list"));
        let bob = account_of(&failed[0]);
        assert!(!bob.invite_pending && !bob.active);
        let failure = bob.invitation_failed.expect("failed");
        assert!(failure.expired && failure.at == parse_time("2026-12-02T10:00:00Z"));
        assert!(failed[1].failed.as_ref().is_some_and(|f| !f.expired && f.reason == "The email bounced"));
    }

    #[test]
    fn an_invitation_asks_for_the_org_role_and_the_teams() {
        assert_eq!(invitation_body("a@b.io", ADMIN, &[3]), json!({"email": "a@b.io", "role": "admin", "team_ids": [3]}));
        assert_eq!(invitation_body("a@b.io", MEMBER, &[]), json!({"email": "a@b.io", "role": "direct_member", "team_ids": []}));
        assert!(is_over_cap("Over invitation rate limit"));
        assert!(!is_over_cap("Validation Failed"));
    }
}
