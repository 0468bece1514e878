//! Organisation members with their org role, as accounts.
//!
//! GitHub's member list carries an `email` only where the organisation makes
//! it visible (verified-domain or SAML-linked emails). A member without one is
//! reported under a stand-in address no directory user holds
//! (`LOGIN@users.noreply.github.com`), so it is Unmatched, with a note that says
//! why and how to match it by hand.

use std::collections::BTreeMap;

use serde_json::Value;

use super::ids::ExternalId;
use crate::connector::{Access, ExternalAccount};

/// GitHub's org roles as the hub's role catalog names them.
pub const MEMBER: &str = "member";
pub const ADMIN: &str = "admin";

/// One member as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub login: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// `member` or `admin`.
    pub role: &'static str,
}

/// The members of one page list (`/orgs/{org}/members?role=...`), with the role it was listed for.
pub fn members_of(items: &[Value], role: &'static str) -> Vec<Member> {
    items
        .iter()
        .filter_map(|m| {
            let login = m.get("login")?.as_str()?.to_string();
            let email = m.get("email").and_then(Value::as_str).filter(|e| e.contains('@')).map(str::to_string);
            let name = m.get("name").and_then(Value::as_str).map(str::to_string);
            Some(Member { login, email, name, role })
        })
        .collect()
}

/// The address a member without a visible email is reported under.
pub fn stand_in_email(login: &str) -> String {
    format!("{}@users.noreply.github.com", login.to_lowercase())
}

/// A member as an account; `teams` is team slug → role (member/maintainer).
pub fn account_of(member: &Member, teams: BTreeMap<String, String>) -> ExternalAccount {
    let note = member.email.is_none().then(|| {
        format!(
            "GitHub does not show the email of member {login}, so it matches no user: make the organisation's verified-domain \
             or SAML emails visible to the token, or match it by hand (set spec.matchUser on this AppAccount)",
            login = member.login
        )
    });
    ExternalAccount {
        id: ExternalId::Member(member.login.clone()).to_string(),
        email: member.email.clone().unwrap_or_else(|| stand_in_email(&member.login)),
        display_name: Some(member.name.clone().unwrap_or_else(|| member.login.clone())),
        access: Access { roles: [member.role.to_string()].into(), assets: teams },
        active: true,
        invite_pending: false,
        note,
        ..Default::default()
    }
}

/// The org role to ask for, from the roles an access holds: `admin` if it holds admin, else `member`.
pub fn org_role(roles: &std::collections::BTreeSet<String>) -> Result<&'static str, String> {
    if let Some(other) = roles.iter().find(|r| r.as_str() != MEMBER && r.as_str() != ADMIN) {
        return Err(format!("GitHub organisation roles are {MEMBER} and {ADMIN}; the hub's role {other:?} is neither"));
    }
    Ok(if roles.contains(ADMIN) { ADMIN } else { MEMBER })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_member_with_an_email_is_matched_by_it_and_one_without_is_unmatched_with_a_note() {
        let page = json!([
            {"login": "ann-dev", "id": 1, "email": "Ann@acme.io"},
            {"login": "bob", "id": 2, "email": null},
            {"id": 3}
        ]);
        let members = members_of(page.as_array().expect("list"), ADMIN);
        assert_eq!(members.len(), 2, "an entry without a login is skipped");
        let ann = account_of(&members[0], [("engineering".to_string(), "maintainer".to_string())].into());
        assert_eq!((ann.id.as_str(), ann.email.as_str(), ann.note.as_deref()), ("member:ann-dev", "Ann@acme.io", None));
        assert_eq!(ann.access.roles.iter().collect::<Vec<_>>(), ["admin"]);
        assert_eq!(ann.access.assets.get("engineering").map(String::as_str), Some("maintainer"));
        let bob = account_of(&members[1], BTreeMap::new());
        assert_eq!(bob.email, "bob@users.noreply.github.com");
        assert!(bob.note.as_deref().is_some_and(|n| n.contains("bob") && n.contains("matchUser")), "{:?}", bob.note);
    }

    #[test]
    fn org_roles_are_member_and_admin() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect();
        assert_eq!(org_role(&roles(&[])), Ok(MEMBER));
        assert_eq!(org_role(&roles(&["member"])), Ok(MEMBER));
        assert_eq!(org_role(&roles(&["admin"])), Ok(ADMIN));
        assert!(org_role(&roles(&["owner"])).is_err());
    }
}
