//! External ids of Meta accounts: a business user, an invitation (a business
//! role request) and a system user are different things to change or remove,
//! so the id says which: `user:ID`, `invitation:ID` or `system:ID`, with
//! Meta's numeric id.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalId {
    /// A business user (a person who accepted an invitation).
    User(String),
    /// A business role request: an invitation, pending, expired or declined.
    Invitation(String),
    /// A system user (a machine; never changed by rolecall).
    System(String),
}

impl ExternalId {
    pub fn parse(id: &str) -> Option<ExternalId> {
        let (kind, number) = id.split_once(':')?;
        if !is_graph_id(number) {
            return None;
        }
        let number = number.to_string();
        match kind {
            "user" => Some(ExternalId::User(number)),
            "invitation" => Some(ExternalId::Invitation(number)),
            "system" => Some(ExternalId::System(number)),
            _ => None,
        }
    }
}

/// A Graph node id of digits (safe in a path unescaped).
pub fn is_graph_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternalId::User(id) => write!(f, "user:{id}"),
            ExternalId::Invitation(id) => write!(f, "invitation:{id}"),
            ExternalId::System(id) => write!(f, "system:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_say_what_they_are_and_round_trip() {
        for id in [ExternalId::User("123".into()), ExternalId::Invitation("456".into()), ExternalId::System("789".into())] {
            assert_eq!(ExternalId::parse(&id.to_string()), Some(id));
        }
        for bad in ["123", "user:", "user:12a", "user:../x", "member:1", "invitation:-1", ""] {
            assert_eq!(ExternalId::parse(bad), None, "{bad:?}");
        }
    }
}
