//! The id of one announced call to an app, sent with every write so an app
//! (or a webhook connector) can make the call idempotent on its side.
//!
//! A call is announced in its account's status (`status.operation`: the kind
//! and when it was first announced) before it is made, and a retry of the same
//! call keeps that announcement, after a crash too. The id is derived from the
//! announcement, so every retry of one call carries the same id, and the next
//! call of the same kind for the same account (announced later) a new one.

use std::fmt;

use crate::api::app_account::OperationKind;

/// A stable, opaque id: 32 hex digits of a SHA-256 over the hub's uid, the
/// account's email (lower case), the call's kind and when it was announced.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationId(String);

impl OperationId {
    pub fn of(hub_uid: &str, email: &str, kind: OperationKind, announced_at: &str) -> Self {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [hub_uid, &email.to_lowercase(), kind.as_str(), announced_at] {
            // Length-prefixed, so no two different tuples hash the same bytes.
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part.as_bytes());
        }
        let digest = context.finish();
        OperationId(digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The id of a step inside this call (a resend first cancels the old invitation).
    pub fn step(&self, name: &str) -> Self {
        OperationId(format!("{}-{name}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_keeps_the_id_and_the_next_call_gets_a_new_one() {
        let first = OperationId::of("uid-1", "Ann@Acme.io", OperationKind::Invite, "2026-12-02T10:00:00Z");
        assert_eq!(first, OperationId::of("uid-1", "ann@acme.io", OperationKind::Invite, "2026-12-02T10:00:00Z"));
        assert_eq!(first.as_str().len(), 32);
        assert_ne!(first, OperationId::of("uid-1", "ann@acme.io", OperationKind::Invite, "2026-12-02T11:00:00Z"));
        assert_ne!(first, OperationId::of("uid-1", "ann@acme.io", OperationKind::Remove, "2026-12-02T10:00:00Z"));
        assert_ne!(first, OperationId::of("uid-2", "ann@acme.io", OperationKind::Invite, "2026-12-02T10:00:00Z"));
        assert_ne!(first.step("cancel"), first);
    }
}
