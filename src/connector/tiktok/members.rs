//! Business Center members and invitations as accounts, and member roles.
//!
//! A member's role is its basic role (`user_role`: `ADMIN` or `STANDARD`) with,
//! optionally, a finance role (`ext_user_role.finance_role`: `MANAGER` or
//! `ANALYST`). One hub role names both: `ADMIN`, `STANDARD`,
//! `STANDARD+FINANCE_ANALYST`, `ADMIN+FINANCE_MANAGER`, ... (case-insensitive;
//! the role is reported under the hub catalog's own spelling). `bc/member/get`
//! lists joined members (`relation_status` `BOUND`, with a `user_id`) beside
//! invitations (`PENDING`, or `REJECTED` once the invitee declined), one per email.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Value, json};

use super::ids::ExternalId;
use crate::connector::{Access, ExternalAccount};
use crate::plan::InvitationFailure;

/// The words an account declined on TikTok's side carries (the planner shows them as InviteFailed's reason).
pub const DECLINED: &str = "the invitee declined the invitation to the Business Center (relation_status REJECTED)";

/// A member's basic role in the Business Center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserRole {
    /// Manages the Business Center's members and assets.
    Admin,
    /// Works only on the assets assigned to it.
    Standard,
}

/// A member's finance role (`ext_user_role.finance_role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FinanceRole {
    Manager,
    Analyst,
}

/// The role one hub role names: basic role and finance role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberRole {
    pub user_role: UserRole,
    pub finance: Option<FinanceRole>,
}

impl UserRole {
    pub fn wire(self) -> &'static str {
        match self {
            UserRole::Admin => "ADMIN",
            UserRole::Standard => "STANDARD",
        }
    }

    fn from_wire(text: &str) -> Option<UserRole> {
        match text.to_ascii_uppercase().as_str() {
            "ADMIN" => Some(UserRole::Admin),
            "STANDARD" => Some(UserRole::Standard),
            _ => None,
        }
    }
}

impl FinanceRole {
    pub fn wire(self) -> &'static str {
        match self {
            FinanceRole::Manager => "MANAGER",
            FinanceRole::Analyst => "ANALYST",
        }
    }

    fn from_wire(text: &str) -> Option<FinanceRole> {
        match text.to_ascii_uppercase().as_str() {
            "MANAGER" => Some(FinanceRole::Manager),
            "ANALYST" => Some(FinanceRole::Analyst),
            _ => None,
        }
    }
}

impl MemberRole {
    pub const STANDARD: MemberRole = MemberRole { user_role: UserRole::Standard, finance: None };

    /// A hub role's name: `ADMIN` or `STANDARD`, optionally `+FINANCE_MANAGER` or `+FINANCE_ANALYST`.
    pub fn parse(name: &str) -> Result<MemberRole, String> {
        let refuse = || {
            format!(
                "TikTok Business Center roles are ADMIN or STANDARD, optionally with +FINANCE_MANAGER or +FINANCE_ANALYST; the hub's role {name:?} is none of them"
            )
        };
        let upper = name.trim().to_ascii_uppercase();
        let (basic, finance) = match upper.split_once('+') {
            Some((basic, finance)) => (basic, Some(finance)),
            None => (upper.as_str(), None),
        };
        let user_role = UserRole::from_wire(basic.trim()).ok_or_else(refuse)?;
        let finance = match finance {
            None => None,
            Some(f) => Some(f.trim().strip_prefix("FINANCE_").and_then(FinanceRole::from_wire).ok_or_else(refuse)?),
        };
        Ok(MemberRole { user_role, finance })
    }

    /// The one role an access asks for (`STANDARD` when it names none).
    pub fn of_access(roles: &BTreeSet<String>) -> Result<MemberRole, String> {
        let mut parsed = roles.iter().map(|r| MemberRole::parse(r)).collect::<Result<BTreeSet<_>, _>>()?;
        match parsed.len() {
            0 => Ok(MemberRole::STANDARD),
            1 => Ok(parsed.pop_first().unwrap_or(MemberRole::STANDARD)),
            _ => Err(format!("a TikTok member holds one role; the access names {}", roles.iter().cloned().collect::<Vec<_>>().join(", "))),
        }
    }

    /// This role under the hub catalog's spelling of it, or its canonical name.
    pub fn name_in(&self, catalog: &[String]) -> String {
        catalog.iter().find(|name| MemberRole::parse(name).ok().as_ref() == Some(self)).cloned().unwrap_or_else(|| self.to_string())
    }

    /// `ext_user_role` as `bc/member/invite` and `bc/member/update` take it.
    pub fn ext_user_role(&self) -> Value {
        match self.finance {
            Some(f) => json!({"finance_role": f.wire()}),
            None => json!({}),
        }
    }
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.user_role.wire())?;
        if let Some(finance) = self.finance {
            write!(f, "+FINANCE_{}", finance.wire())?;
        }
        Ok(())
    }
}

/// Where an entry of `bc/member/get` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Joined.
    Bound,
    /// Invited, not answered yet.
    Pending,
    /// The invitee declined.
    Rejected,
}

/// One entry of `bc/member/get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Empty for an invitation.
    pub user_id: String,
    pub name: Option<String>,
    pub email: String,
    pub role: MemberRole,
    pub relation: Relation,
}

impl Member {
    pub fn external_id(&self) -> ExternalId {
        match self.relation {
            Relation::Bound => ExternalId::Member(self.user_id.clone()),
            Relation::Pending | Relation::Rejected => ExternalId::Invitation(self.email.clone()),
        }
    }
}

/// The entries of a member list. An entry without an email, an unknown role or
/// status, or a joined member without a user id is skipped: it cannot be
/// matched or changed.
pub fn members_of(items: &[Value]) -> Vec<Member> {
    items
        .iter()
        .filter_map(|m| {
            let email = m.get("user_email")?.as_str().filter(|e| e.contains('@'))?.to_string();
            let relation = match m.get("relation_status").and_then(Value::as_str).unwrap_or("BOUND") {
                "BOUND" => Relation::Bound,
                "PENDING" => Relation::Pending,
                "REJECTED" => Relation::Rejected,
                _ => return None,
            };
            let user_id = m.get("user_id").and_then(Value::as_str).unwrap_or_default().to_string();
            if relation == Relation::Bound && user_id.is_empty() {
                return None;
            }
            let user_role = UserRole::from_wire(m.get("user_role").and_then(Value::as_str).unwrap_or("STANDARD"))?;
            let finance = m.pointer("/ext_user_role/finance_role").and_then(Value::as_str).and_then(FinanceRole::from_wire);
            let name = m.get("user_name").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
            Some(Member { user_id, name, email, role: MemberRole { user_role, finance }, relation })
        })
        .collect()
}

/// A member or invitation as an account, with its role under the catalog's
/// spelling and `assets` (asset name → asset role) it holds or was invited with.
pub fn account_of(member: &Member, catalog: &[String], assets: BTreeMap<String, String>) -> ExternalAccount {
    let access = Access { roles: [member.role.name_in(catalog)].into(), assets };
    let mut account = ExternalAccount {
        id: member.external_id().to_string(),
        email: member.email.clone(),
        display_name: member.name.clone(),
        access,
        ..Default::default()
    };
    match member.relation {
        Relation::Bound => account.active = true,
        Relation::Pending => account.invite_pending = true,
        Relation::Rejected => {
            account.invitation_failed = Some(InvitationFailure { reason: DECLINED.into(), at: None, expired: false });
        }
    }
    account
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_name_the_basic_role_and_the_finance_role() {
        let admin = MemberRole { user_role: UserRole::Admin, finance: None };
        assert_eq!(MemberRole::parse("ADMIN"), Ok(admin));
        assert_eq!(MemberRole::parse("admin"), Ok(admin));
        let analyst = MemberRole { user_role: UserRole::Standard, finance: Some(FinanceRole::Analyst) };
        assert_eq!(MemberRole::parse("STANDARD+FINANCE_ANALYST"), Ok(analyst));
        assert_eq!(analyst.to_string(), "STANDARD+FINANCE_ANALYST");
        assert_eq!(analyst.ext_user_role(), json!({"finance_role": "ANALYST"}));
        assert_eq!(admin.ext_user_role(), json!({}));
        for bad in ["OWNER", "STANDARD+MANAGER", "ADMIN+FINANCE_BOSS", ""] {
            assert!(MemberRole::parse(bad).is_err(), "{bad:?}");
        }
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(MemberRole::of_access(&roles(&[])), Ok(MemberRole::STANDARD));
        assert_eq!(MemberRole::of_access(&roles(&["admin"])), Ok(admin));
        assert!(MemberRole::of_access(&roles(&["ADMIN", "STANDARD"])).is_err());
        // Reported under the catalog's spelling, so a grant and the read-back compare equal.
        let catalog = vec!["standard".to_string(), "admin".to_string()];
        assert_eq!(admin.name_in(&catalog), "admin");
        assert_eq!(analyst.name_in(&catalog), "STANDARD+FINANCE_ANALYST");
    }

    #[test]
    fn members_pending_and_declined_invitations_read_back_as_accounts() {
        let page = json!([
            {"user_id": "71", "user_name": "ann", "user_email": "ann@acme.io", "user_role": "ADMIN", "relation_status": "BOUND", "ext_user_role": {}},
            {"user_id": "", "user_name": "", "user_email": "bob@acme.io", "user_role": "STANDARD", "relation_status": "PENDING", "ext_user_role": {"finance_role": "ANALYST"}},
            {"user_id": "", "user_email": "cy@acme.io", "user_role": "STANDARD", "relation_status": "REJECTED"},
            {"user_id": "", "user_email": "no-id@acme.io", "user_role": "STANDARD", "relation_status": "BOUND"},
            {"user_id": "72", "user_name": "x", "user_role": "STANDARD"}
        ]);
        let members = members_of(page.as_array().expect("list"));
        assert_eq!(members.len(), 3);
        let catalog = vec!["ADMIN".to_string(), "STANDARD".to_string()];
        let ann = account_of(&members[0], &catalog, [("Brand US".to_string(), "OPERATOR".to_string())].into());
        assert_eq!((ann.id.as_str(), ann.active, ann.invite_pending), ("user:71", true, false));
        assert_eq!(ann.access.roles.iter().collect::<Vec<_>>(), ["ADMIN"]);
        let bob = account_of(&members[1], &catalog, BTreeMap::new());
        assert_eq!((bob.id.as_str(), bob.active, bob.invite_pending), ("invitation:bob@acme.io", false, true));
        assert_eq!(bob.access.roles.iter().collect::<Vec<_>>(), ["STANDARD+FINANCE_ANALYST"]);
        let cy = account_of(&members[2], &catalog, BTreeMap::new());
        assert!(!cy.active && !cy.invite_pending);
        assert!(cy.invitation_failed.is_some_and(|f| !f.expired && f.reason.contains("declined")));
    }
}
