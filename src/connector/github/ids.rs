//! External ids of GitHub accounts: a member and an invitation are different
//! things to remove (a membership, or an invitation to cancel), so the id says
//! which: `member:LOGIN` or `invitation:ID`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalId {
    /// An organisation member, by login.
    Member(String),
    /// An invitation (pending or failed), by GitHub's numeric id.
    Invitation(u64),
}

impl ExternalId {
    pub fn parse(id: &str) -> Option<ExternalId> {
        if let Some(login) = id.strip_prefix("member:") {
            return valid_login(login).then(|| ExternalId::Member(login.to_string()));
        }
        id.strip_prefix("invitation:").and_then(|n| n.parse().ok()).map(ExternalId::Invitation)
    }
}

/// A GitHub login: letters, digits and single hyphens (so it goes into a path unescaped).
fn valid_login(login: &str) -> bool {
    !login.is_empty() && login.len() <= 39 && login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternalId::Member(login) => write!(f, "member:{login}"),
            ExternalId::Invitation(id) => write!(f, "invitation:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_invitations_have_ids_that_say_which() {
        for id in [ExternalId::Member("ann-dev".into()), ExternalId::Invitation(42)] {
            assert_eq!(ExternalId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(ExternalId::Member("ann".into()).to_string(), "member:ann");
        assert_eq!(ExternalId::Invitation(7).to_string(), "invitation:7");
        for bad in ["ann", "member:", "member:a/b", "member:../x", "invitation:x", "invitation:-1", ""] {
            assert_eq!(ExternalId::parse(bad), None, "{bad:?}");
        }
    }
}
