//! External ids of TikTok accounts: a member (joined, with TikTok's `user_id`)
//! and an invitation (pending or declined, known only by its email: TikTok
//! lists it without a user id, and `bc/member/delete` revokes it by
//! `user_email`) are different things to change or remove, so the id says
//! which: `user:USER_ID` or `invitation:EMAIL`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalId {
    /// A member of the Business Center, by TikTok's user id.
    Member(String),
    /// An invitation, by the invitee's email.
    Invitation(String),
}

impl ExternalId {
    pub fn parse(id: &str) -> Option<ExternalId> {
        if let Some(user_id) = id.strip_prefix("user:") {
            return (!user_id.is_empty() && user_id.len() <= 64 && user_id.bytes().all(|b| b.is_ascii_digit()))
                .then(|| ExternalId::Member(user_id.to_string()));
        }
        id.strip_prefix("invitation:").filter(|e| e.contains('@') && e.len() <= 320).map(|e| ExternalId::Invitation(e.to_string()))
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternalId::Member(user_id) => write!(f, "user:{user_id}"),
            ExternalId::Invitation(email) => write!(f, "invitation:{email}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_invitations_have_ids_that_say_which() {
        for id in [ExternalId::Member("7100000000000000002".into()), ExternalId::Invitation("ann@acme.io".into())] {
            assert_eq!(ExternalId::parse(&id.to_string()), Some(id));
        }
        for bad in ["7100", "user:", "user:12a", "invitation:", "invitation:ann", "member:1", ""] {
            assert_eq!(ExternalId::parse(bad), None, "{bad:?}");
        }
    }
}
