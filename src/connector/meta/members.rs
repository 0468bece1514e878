//! People and machines of a business as accounts.
//!
//! - A business user (`/{business_id}/business_users`: id, name, email, role) is
//!   an active account with its business role and the asset roles it holds.
//! - A pending invitation (`/{business_id}/pending_users`, Meta's
//!   BusinessRoleRequest: id, email, role, status, expiration_time) is an account
//!   whose invitation is not accepted (`invite_pending`); one Meta reports
//!   expired or declined (or pending past its expiration time) is an account
//!   with `invitation_failed`, which the planner shows as InviteExpired or
//!   InviteFailed and sends again per the hub's invite policy.
//! - A system user (`/{business_id}/system_users`) is a machine: a service
//!   account the planner never adds, changes or removes, under an address no
//!   person holds.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::ids::ExternalId;
use crate::connector::{Access, ExternalAccount};
use crate::plan::InvitationFailure;

/// The business role an invitation asks for when the grant names none.
pub const DEFAULT_ROLE: &str = "EMPLOYEE";

/// A business user as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessUser {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
}

/// An invitation (business role request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Option<String>,
    /// `PENDING`, `EXPIRED`, `DECLINED` ... as Meta words it (upper case).
    pub status: String,
    pub expires_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// A system user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemUser {
    pub id: String,
    pub name: Option<String>,
    pub role: Option<String>,
}

fn text(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty())
}

/// The business users of a listing (entries without an id are skipped).
pub fn business_users_of(items: &[Value]) -> Vec<BusinessUser> {
    items
        .iter()
        .filter_map(|u| {
            Some(BusinessUser {
                id: text(u, "id")?,
                name: text(u, "name"),
                email: text(u, "email").filter(|e| e.contains('@')),
                role: text(u, "role"),
            })
        })
        .collect()
}

/// The invitations of a listing (entries without an id or an email are skipped).
pub fn invitations_of(items: &[Value]) -> Vec<Invitation> {
    items
        .iter()
        .filter_map(|r| {
            Some(Invitation {
                id: text(r, "id")?,
                email: text(r, "email").filter(|e| e.contains('@'))?,
                role: text(r, "role"),
                status: text(r, "status").unwrap_or_else(|| "PENDING".into()).to_ascii_uppercase(),
                expires_at: text(r, "expiration_time").and_then(|t| graph_time(&t)),
                updated_at: text(r, "updated_time").and_then(|t| graph_time(&t)),
            })
        })
        .collect()
}

/// The system users of a listing.
pub fn system_users_of(items: &[Value]) -> Vec<SystemUser> {
    items.iter().filter_map(|u| Some(SystemUser { id: text(u, "id")?, name: text(u, "name"), role: text(u, "role") })).collect()
}

/// A Graph datetime (`2026-12-03T10:00:00+0000`, an offset without a colon, or RFC 3339) as Unix seconds.
pub fn graph_time(text: &str) -> Option<i64> {
    if let Some(t) = crate::api::time::parse_time(text) {
        return Some(t);
    }
    // Insert the colon RFC 3339 wants in a `+hhmm` offset.
    let (head, offset) = text.split_at(text.len().checked_sub(5)?);
    let sign = offset.chars().next()?;
    if (sign == '+' || sign == '-') && offset[1..].bytes().all(|b| b.is_ascii_digit()) {
        return crate::api::time::parse_time(&format!("{head}{}:{}", &offset[..3], &offset[3..]));
    }
    None
}

/// The hub's spelling of a business role Meta reports (the catalog may say
/// `Admin` where Meta says `ADMIN`); Meta's own when the catalog has no such role.
pub fn catalog_role(catalog: &BTreeSet<String>, role: &str) -> String {
    catalog.iter().find(|r| r.eq_ignore_ascii_case(role)).cloned().unwrap_or_else(|| role.to_string())
}

/// The business role to send, from the roles an access holds: Meta gives a
/// person one business role (upper case on the wire); none means `EMPLOYEE`.
pub fn business_role(roles: &BTreeSet<String>) -> Result<String, String> {
    let mut roles = roles.iter();
    match (roles.next(), roles.next()) {
        (None, _) => Ok(DEFAULT_ROLE.into()),
        (Some(role), None) => {
            let role = role.trim().to_ascii_uppercase();
            if role.is_empty() || !role.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                return Err(format!("{role:?} is not a Meta business role (ADMIN, EMPLOYEE, FINANCE_EDITOR, FINANCE_ANALYST, ...)"));
            }
            Ok(role)
        }
        (Some(a), Some(b)) => Err(format!("a Meta business user holds one business role; the access names {a:?} and {b:?}")),
    }
}

/// A business user as an account; `assets` is asset name → asset role.
pub fn user_account(user: &BusinessUser, catalog: &BTreeSet<String>, assets: BTreeMap<String, String>) -> ExternalAccount {
    let note = user.email.is_none().then(|| {
        format!(
            "Meta does not show the email of business user {}, so it matches no user: match it by hand (set spec.matchUser on this AppAccount)",
            user.id
        )
    });
    ExternalAccount {
        id: ExternalId::User(user.id.clone()).to_string(),
        email: user.email.clone().unwrap_or_else(|| format!("business-user-{}@meta.invalid", user.id)),
        display_name: user.name.clone(),
        access: Access { roles: user.role.iter().map(|r| catalog_role(catalog, r)).collect(), assets },
        active: true,
        note,
        ..Default::default()
    }
}

/// An invitation as an account: pending, or failed (expired or declined) as of `now`.
pub fn invitation_account(invitation: &Invitation, catalog: &BTreeSet<String>, now: i64) -> ExternalAccount {
    let expired = invitation.status == "EXPIRED" || (invitation.status == "PENDING" && invitation.expires_at.is_some_and(|t| t <= now));
    let failed = if expired {
        Some(InvitationFailure {
            reason: "the invitation to the business expired unaccepted".into(),
            at: invitation.expires_at.filter(|t| *t <= now).or(invitation.updated_at),
            expired: true,
        })
    } else if invitation.status != "PENDING" {
        let words = invitation.status.to_ascii_lowercase().replace('_', " ");
        Some(InvitationFailure { reason: format!("the invitation to the business was {words}"), at: invitation.updated_at, expired: false })
    } else {
        None
    };
    ExternalAccount {
        id: ExternalId::Invitation(invitation.id.clone()).to_string(),
        email: invitation.email.clone(),
        access: Access { roles: invitation.role.iter().map(|r| catalog_role(catalog, r)).collect(), assets: BTreeMap::new() },
        active: false,
        invite_pending: failed.is_none(),
        invitation_failed: failed,
        ..Default::default()
    }
}

/// A system user as a service account, under an address no person holds.
pub fn system_account(user: &SystemUser, catalog: &BTreeSet<String>, assets: BTreeMap<String, String>) -> ExternalAccount {
    ExternalAccount {
        id: ExternalId::System(user.id.clone()).to_string(),
        email: format!("system-user-{}@meta.invalid", user.id),
        display_name: user.name.clone(),
        access: Access { roles: user.role.iter().map(|r| catalog_role(catalog, r)).collect(), assets },
        active: true,
        service_account: true,
        note: Some("a Meta system user: a machine identity of the business, never changed by rolecall".into()),
        ..Default::default()
    }
}

/// One account per email: a business user wins over an invitation; a pending
/// invitation over a failed one; of failed ones the latest. System users (no
/// person's email) are all kept.
pub fn one_per_email(accounts: Vec<ExternalAccount>) -> Vec<ExternalAccount> {
    let rank = |a: &ExternalAccount| {
        if a.active {
            2
        } else if a.invite_pending {
            1
        } else {
            0
        }
    };
    let mut by_email: BTreeMap<String, ExternalAccount> = BTreeMap::new();
    for account in accounts {
        let key = account.email.to_lowercase();
        let keep_old = by_email.get(&key).is_some_and(|old| {
            let (r_old, r_new) = (rank(old), rank(&account));
            r_old > r_new || (r_old == r_new && r_old == 0 && failed_at(old) > failed_at(&account))
        });
        if !keep_old {
            by_email.insert(key, account);
        }
    }
    by_email.into_values().collect()
}

fn failed_at(account: &ExternalAccount) -> Option<i64> {
    account.invitation_failed.as_ref().and_then(|f| f.at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn catalog() -> BTreeSet<String> {
        ["Admin".to_string(), "Employee".to_string()].into()
    }

    #[test]
    fn business_users_are_active_accounts_in_the_catalog_s_spelling() {
        let listed =
            json!([{"id": "11", "name": "Ann", "email": "ann@acme.io", "role": "ADMIN"}, {"id": "12", "name": "Bob"}, {"name": "no id"}]);
        let users = business_users_of(listed.as_array().expect("list"));
        assert_eq!(users.len(), 2);
        let ann = user_account(&users[0], &catalog(), [("Brand US".to_string(), "ADVERTISE".to_string())].into());
        assert_eq!((ann.id.as_str(), ann.email.as_str(), ann.active), ("user:11", "ann@acme.io", true));
        assert_eq!(ann.access.roles.iter().collect::<Vec<_>>(), ["Admin"]);
        let bob = user_account(&users[1], &catalog(), BTreeMap::new());
        assert!(bob.email.ends_with("@meta.invalid") && bob.note.as_deref().is_some_and(|n| n.contains("matchUser")));
    }

    #[test]
    fn invitations_are_pending_or_failed_and_expiry_is_read_from_meta_s_times() {
        assert_eq!(graph_time("2026-12-03T10:00:00+0000"), Some(1_796_292_000));
        assert_eq!(graph_time("2026-12-03T10:00:00Z"), Some(1_796_292_000));
        assert_eq!(graph_time("2026-12-03T11:00:00+0100"), Some(1_796_292_000));
        assert_eq!(graph_time("yesterday"), None);
        let listed = json!([
            {"id": "21", "email": "cy@acme.io", "role": "EMPLOYEE", "status": "PENDING", "expiration_time": "2026-12-10T10:00:00+0000"},
            {"id": "22", "email": "dee@acme.io", "role": "EMPLOYEE", "status": "EXPIRED", "expiration_time": "2026-12-01T10:00:00+0000"},
            {"id": "23", "email": "eve@acme.io", "role": "ADMIN", "status": "DECLINED", "updated_time": "2026-12-02T10:00:00+0000"},
            {"id": "24", "email": "fay@acme.io", "status": "PENDING", "expiration_time": "2026-12-02T10:00:00+0000"},
            {"id": "25", "role": "ADMIN"}
        ]);
        let now = 1_796_292_000; // 2026-12-03T10:00:00Z
        let invitations = invitations_of(listed.as_array().expect("list"));
        assert_eq!(invitations.len(), 4, "one without an email is skipped");
        let accounts: Vec<ExternalAccount> = invitations.iter().map(|i| invitation_account(i, &catalog(), now)).collect();
        assert!(accounts[0].invite_pending && accounts[0].invitation_failed.is_none());
        assert_eq!(accounts[0].access.roles.iter().collect::<Vec<_>>(), ["Employee"]);
        let expired = accounts[1].invitation_failed.clone().expect("expired");
        assert!(expired.expired && !accounts[1].invite_pending && expired.at == graph_time("2026-12-01T10:00:00+0000"));
        let declined = accounts[2].invitation_failed.clone().expect("declined");
        assert!(!declined.expired && declined.reason.contains("declined"));
        assert!(accounts[3].invitation_failed.as_ref().is_some_and(|f| f.expired), "pending past its expiration time: expired");
    }

    #[test]
    fn system_users_are_service_accounts_and_a_member_wins_over_its_invitations() {
        let system = system_users_of(json!([{"id": "31", "name": "rolecall-bot", "role": "ADMIN"}]).as_array().expect("list"));
        let bot = system_account(&system[0], &catalog(), BTreeMap::new());
        assert!(bot.service_account && bot.active && bot.id == "system:31");
        let member = ExternalAccount { id: "user:1".into(), email: "Ann@acme.io".into(), active: true, ..Default::default() };
        let pending =
            ExternalAccount { id: "invitation:2".into(), email: "ann@acme.io".into(), invite_pending: true, ..Default::default() };
        let failed = |id: &str, at| ExternalAccount {
            id: id.into(),
            email: "cy@acme.io".into(),
            invitation_failed: Some(InvitationFailure { reason: "expired".into(), at: Some(at), expired: true }),
            ..Default::default()
        };
        let kept =
            one_per_email(vec![pending, member, failed("invitation:3", 5), failed("invitation:4", 9), failed("invitation:5", 7), bot]);
        let ids: Vec<&str> = kept.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["user:1", "invitation:4", "system:31"]);
    }

    #[test]
    fn one_business_role_is_sent_in_meta_s_case() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(business_role(&roles(&[])), Ok("EMPLOYEE".into()));
        assert_eq!(business_role(&roles(&["Admin"])), Ok("ADMIN".into()));
        assert_eq!(business_role(&roles(&["finance_editor"])), Ok("FINANCE_EDITOR".into()));
        assert!(business_role(&roles(&["ADMIN", "EMPLOYEE"])).is_err());
        assert!(business_role(&roles(&["ad-admin"])).is_err());
    }
}
