//! A User's status as a pure function of what the caches say about it: the
//! hubs where it holds a seat, and the `Seated` condition saying why when it
//! holds none.

use std::collections::BTreeSet;

use crate::api::app_account::AccountState;
use crate::api::condition::{Condition, ConditionStatus};
use crate::api::wire::condition::SEATED;
use crate::api::wire::reason::{DEACTIVATED, HOLDS_SEATS, INVITE_FAILED, NO_GRANT, NO_INVITABLE_EMAIL, PENDING, WAITING_FOR_CLAIM};

/// Names listed in a condition message at most; the count is always complete.
const MAX_NAMED: usize = 5;

/// An AppAccount matched to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedAccount {
    /// The AppAccount's name, to point an admin at it.
    pub name: String,
    pub hub: String,
    pub state: Option<AccountState>,
}

/// One hub on which one grant gives the user a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatGrant {
    pub grant: String,
    pub hub: String,
    /// False while the grant waits for the user's claim on this hub.
    pub in_force: bool,
}

/// Everything the User's status depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeatFacts {
    pub active: bool,
    /// The user has an address the planner can invite (an email, or a userName with `@`).
    pub invitable: bool,
    pub grants: Vec<SeatGrant>,
    pub accounts: Vec<MatchedAccount>,
}

/// Whether an account in this state occupies a seat in the app.
pub fn holds_seat(state: Option<AccountState>) -> bool {
    matches!(
        state,
        Some(
            AccountState::Onboarded
                | AccountState::InviteSent
                | AccountState::InviteExpired
                | AccountState::Removing
                | AccountState::KeptWithoutGrant
        )
    )
}

/// The hubs where the user holds a seat, sorted, each once.
pub fn seat_hubs(accounts: &[MatchedAccount]) -> Vec<String> {
    let hubs: BTreeSet<&str> = accounts.iter().filter(|a| holds_seat(a.state)).map(|a| a.hub.as_str()).collect();
    hubs.into_iter().map(str::to_string).collect()
}

/// `Seated`: True with the number of hubs; False with the first reason that
/// keeps the user from a seat, in the order an admin would fix them.
pub fn seated(facts: &SeatFacts) -> Condition {
    let hubs = seat_hubs(&facts.accounts);
    if !hubs.is_empty() {
        let what = if hubs.len() == 1 { "1 hub".to_string() } else { format!("{} hubs", hubs.len()) };
        return Condition::new(SEATED, ConditionStatus::True, HOLDS_SEATS, format!("holds a seat in {what}: {}", named(&hubs)));
    }
    let not = |reason: &str, message: String| Condition::new(SEATED, ConditionStatus::False, reason, message);
    if !facts.active {
        return not(DEACTIVATED, "the identity provider deactivated the user (spec.active is false): every seat is removed".into());
    }
    if facts.grants.is_empty() {
        return not(NO_GRANT, "no AccessGrant gives the user a seat on an existing hub, directly or through one of spec.teams".into());
    }
    let grants: BTreeSet<&str> = facts.grants.iter().map(|g| g.grant.as_str()).collect();
    if !facts.invitable {
        return not(
            NO_INVITABLE_EMAIL,
            format!(
                "granted through {}, but the user has no email and its userName has no @: the IdP must send an email before anyone can invite the user",
                named(&grants)
            ),
        );
    }
    let in_force: BTreeSet<&str> = facts.grants.iter().filter(|g| g.in_force).map(|g| g.hub.as_str()).collect();
    if in_force.is_empty() {
        let hubs: BTreeSet<&str> = facts.grants.iter().map(|g| g.hub.as_str()).collect();
        return not(WAITING_FOR_CLAIM, format!("granted on {} once the user claims access (rolecall claim)", named(&hubs)));
    }
    let failed: Vec<&str> = facts
        .accounts
        .iter()
        .filter(|a| a.state == Some(AccountState::InviteFailed) && in_force.contains(a.hub.as_str()))
        .map(|a| a.name.as_str())
        .collect();
    if !failed.is_empty() {
        return not(INVITE_FAILED, format!("the invitation failed; see the lastError of AppAccount {}", named(&failed)));
    }
    not(
        PENDING,
        format!(
            "granted a seat on {}; no account holds it yet (not invited yet, or the hub is in DryRun or Observe mode)",
            named(&in_force)
        ),
    )
}

/// Up to `MAX_NAMED` names, then how many more.
fn named<I, S>(names: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let all: Vec<S> = names.into_iter().collect();
    let mut text = all.iter().take(MAX_NAMED).map(AsRef::as_ref).collect::<Vec<&str>>().join(", ");
    if all.len() > MAX_NAMED {
        text.push_str(&format!(" and {} more", all.len() - MAX_NAMED));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(hub: &str, state: Option<AccountState>) -> MatchedAccount {
        MatchedAccount { name: format!("{hub}-acct"), hub: hub.into(), state }
    }

    fn grant(hub: &str, in_force: bool) -> SeatGrant {
        SeatGrant { grant: format!("g-{hub}"), hub: hub.into(), in_force }
    }

    fn facts() -> SeatFacts {
        SeatFacts { active: true, invitable: true, grants: vec![grant("app", true)], accounts: vec![] }
    }

    fn reason(f: &SeatFacts) -> (ConditionStatus, String) {
        let c = seated(f);
        assert_eq!(c.type_, SEATED);
        (c.status, c.reason)
    }

    #[test]
    fn seats_are_the_hubs_of_seat_holding_accounts_sorted_and_once() {
        let accounts = vec![
            account("slack", Some(AccountState::Onboarded)),
            account("asana", Some(AccountState::InviteSent)),
            account("slack", Some(AccountState::Removing)),
            account("github", Some(AccountState::InviteFailed)),
            account("jira", Some(AccountState::PendingInvite)),
            account("meta", Some(AccountState::KeptWithoutGrant)),
            account("zoom", Some(AccountState::InviteExpired)),
            account("figma", Some(AccountState::ManageOnly)),
            account("miro", None),
        ];
        assert_eq!(seat_hubs(&accounts), vec!["asana", "meta", "slack", "zoom"]);
        let c = seated(&SeatFacts { accounts, ..facts() });
        assert_eq!((c.status, c.reason.as_str()), (ConditionStatus::True, HOLDS_SEATS));
        assert_eq!(c.message, "holds a seat in 4 hubs: asana, meta, slack, zoom");
    }

    #[test]
    fn a_seat_is_reported_even_while_it_is_being_removed() {
        let f = SeatFacts { active: false, grants: vec![], accounts: vec![account("app", Some(AccountState::Removing))], ..facts() };
        assert_eq!(reason(&f), (ConditionStatus::True, HOLDS_SEATS.into()));
    }

    #[test]
    fn without_a_seat_the_reason_is_the_first_thing_to_fix() {
        assert_eq!(reason(&SeatFacts { active: false, invitable: false, ..facts() }), (ConditionStatus::False, DEACTIVATED.into()));
        assert_eq!(reason(&SeatFacts { grants: vec![], invitable: false, ..facts() }), (ConditionStatus::False, NO_GRANT.into()));
        assert_eq!(
            reason(&SeatFacts { invitable: false, grants: vec![grant("app", false)], ..facts() }),
            (ConditionStatus::False, NO_INVITABLE_EMAIL.into())
        );
        assert_eq!(reason(&SeatFacts { grants: vec![grant("app", false)], ..facts() }), (ConditionStatus::False, WAITING_FOR_CLAIM.into()));
        assert_eq!(reason(&facts()), (ConditionStatus::False, PENDING.into()));
        let failed = SeatFacts { accounts: vec![account("app", Some(AccountState::InviteFailed))], ..facts() };
        assert_eq!(reason(&failed), (ConditionStatus::False, INVITE_FAILED.into()));
        assert!(seated(&failed).message.contains("app-acct"), "{}", seated(&failed).message);
    }

    #[test]
    fn a_claim_on_one_hub_of_a_collection_is_enough_to_be_pending() {
        let f = SeatFacts { grants: vec![grant("a", false), grant("b", true)], ..facts() };
        let c = seated(&f);
        assert_eq!(c.reason, PENDING);
        assert!(c.message.contains("granted a seat on b;"), "{}", c.message);
        // A failure on a hub still waiting for a claim is old news, not the reason.
        let stale = SeatFacts { accounts: vec![account("a", Some(AccountState::InviteFailed))], ..f };
        assert_eq!(seated(&stale).reason, PENDING);
    }

    #[test]
    fn messages_name_a_few_and_count_the_rest() {
        let hubs: Vec<String> = (0..8).map(|i| format!("h{i}")).collect();
        assert_eq!(named(&hubs), "h0, h1, h2, h3, h4 and 3 more");
        let accounts = hubs.iter().map(|h| account(h, Some(AccountState::Onboarded))).collect();
        assert!(seated(&SeatFacts { accounts, ..facts() }).message.starts_with("holds a seat in 8 hubs: h0"));
    }

    #[test]
    fn the_same_facts_give_the_same_condition() {
        // Status is compared before writing: a reconcile of unchanged facts must be a no-op.
        let f = SeatFacts { grants: vec![grant("b", true), grant("a", true)], ..facts() };
        assert_eq!(seated(&f), seated(&f.clone()));
        assert!(seated(&f).message.contains("a, b"), "{}", seated(&f).message);
    }
}
