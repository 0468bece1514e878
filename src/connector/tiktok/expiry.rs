//! Expired invitations. TikTok documents no expired status for a Business
//! Center member: an invitation past its time is simply no longer listed by
//! `bc/member/get`. The connector remembers the invitations it saw pending
//! (per hub, for the life of the process), and reports one that is gone
//! without its invitee having joined as an expired invitation, so the planner
//! shows InviteExpired and sends it again per the hub's `spec.invites`. One
//! rolecall revoked itself, or sent again, is forgotten. After a restart the
//! memory is empty, and the planner's own `invites.expireAfter` takes over.

use std::collections::BTreeMap;

use super::ids::ExternalId;
use super::members::{Member, Relation};
use crate::connector::{Access, ExternalAccount};
use crate::plan::InvitationFailure;

/// The words an invitation TikTok stopped listing carries.
pub const EXPIRED: &str = "TikTok no longer lists the invitation and the invitee has not joined: it expired (or was withdrawn in TikTok)";

/// Brings the memory (lower-case email → (invitation, when it went missing)) up
/// to the member list `listed` read at `now`, and answers the invitations to
/// report as expired (the ones remembered that the list no longer has).
pub fn expired(memory: &mut BTreeMap<String, (Member, Option<i64>)>, listed: &[Member], now: i64) -> Vec<(Member, i64)> {
    let listed_emails: BTreeMap<String, Relation> = listed.iter().map(|m| (m.email.to_lowercase(), m.relation)).collect();
    memory.retain(|email, _| !matches!(listed_emails.get(email), Some(Relation::Bound) | Some(Relation::Rejected)));
    for member in listed.iter().filter(|m| m.relation == Relation::Pending) {
        memory.insert(member.email.to_lowercase(), (member.clone(), None));
    }
    let mut out = Vec::new();
    for (email, (member, missing_since)) in memory.iter_mut() {
        if !listed_emails.contains_key(email) {
            let since = *missing_since.get_or_insert(now);
            out.push((member.clone(), since));
        }
    }
    out
}

/// An expired invitation as an account: neither active nor pending, its invitation expired.
pub fn account_of(member: &Member, since: i64, role: String) -> ExternalAccount {
    ExternalAccount {
        id: ExternalId::Invitation(member.email.clone()).to_string(),
        email: member.email.clone(),
        access: Access { roles: [role].into(), assets: Default::default() },
        invitation_failed: Some(InvitationFailure { reason: EXPIRED.into(), at: Some(since), expired: true }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::members::MemberRole;
    use super::*;

    fn member(email: &str, relation: Relation) -> Member {
        Member { user_id: String::new(), name: None, email: email.into(), role: MemberRole::STANDARD, relation }
    }

    #[test]
    fn an_invitation_no_longer_listed_is_reported_expired_until_resent_or_joined() {
        let mut memory = BTreeMap::new();
        let pending = [member("ann@acme.io", Relation::Pending), member("bob@acme.io", Relation::Pending)];
        assert!(expired(&mut memory, &pending, 100).is_empty());
        // Ann's invitation is gone, Bob joined.
        let later = [Member { user_id: "7".into(), ..member("bob@acme.io", Relation::Bound) }];
        let gone = expired(&mut memory, &later, 200);
        assert_eq!(gone.iter().map(|(m, at)| (m.email.as_str(), *at)).collect::<Vec<_>>(), [("ann@acme.io", 200)]);
        // Still gone a read-back later: the same time.
        assert_eq!(expired(&mut memory, &later, 300)[0].1, 200);
        let account = account_of(&gone[0].0, 200, "STANDARD".into());
        assert_eq!(account.id, "invitation:ann@acme.io");
        assert!(!account.active && !account.invite_pending);
        assert!(account.invitation_failed.is_some_and(|f| f.expired && f.at == Some(200)));
        // Sent again: pending once more, nothing expired.
        assert!(expired(&mut memory, &[member("ann@acme.io", Relation::Pending)], 400).is_empty());
        // Forgotten on request (revoked by rolecall): nothing expired.
        memory.remove("ann@acme.io");
        assert!(expired(&mut memory, &[], 500).is_empty());
    }
}
