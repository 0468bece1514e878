//! Step 4 of a plan: the removal limit. When more seats would go in this
//! window than the hub allows, every seat removal waits for an admin's
//! approval (`RemovalsHeld`), like an IdP's accidental-deletion prevention.
//! Cancelling an invitation frees no seat anyone uses, so it is never held.

use super::action::{AccountPlan, Action, HeldRemoval};
use super::decide::RemovalCandidate;
use super::input::HubPolicy;

/// Splits the candidates into removals to make and removals held; notes each held one on its entry.
pub fn apply_removal_limit(
    hub: &HubPolicy,
    candidates: Vec<RemovalCandidate>,
    entries: &mut [AccountPlan],
) -> (Vec<Action>, Vec<HeldRemoval>) {
    let seat_removals = candidates.iter().filter(|c| !c.cancel_invite).count() as u32;
    let allowed = hub.max_removals_per_window.saturating_sub(hub.removals_in_window);
    let hold = seat_removals > allowed && !hub.removals_approved;
    let mut removals = Vec::new();
    let mut held = Vec::new();
    for c in candidates {
        if hold && !c.cancel_invite {
            if let Some(entry) = entries.get_mut(c.entry) {
                entry.note = Some(format!(
                    "removal held: {seat_removals} removals exceed the hub's limit of {} per window; approve with the {} annotation",
                    hub.max_removals_per_window,
                    crate::api::wire::APPROVE_REMOVALS_ANNOTATION
                ));
            }
            held.push(HeldRemoval { email: c.email, external_id: c.external_id });
        } else {
            removals.push(Action::Remove { email: c.email, external_id: c.external_id, cancel_invite: c.cancel_invite });
        }
    }
    (removals, held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::UserTable;
    use crate::plan::input::AccountRecord;
    use crate::plan::scenarios::hub;

    fn candidate(i: usize, cancel_invite: bool) -> RemovalCandidate {
        RemovalCandidate { entry: i, email: format!("u{i}@acme.io"), external_id: format!("id{i}"), cancel_invite }
    }

    #[test]
    fn past_the_limit_every_seat_removal_is_held_but_cancelled_invitations_go() {
        let mut hub = hub();
        hub.max_removals_per_window = 2;
        hub.removals_in_window = 1;
        let mut entries: Vec<AccountPlan> =
            (0..3).map(|i| AccountPlan::new(&format!("u{i}@acme.io"), UserTable::Onboarded, AccountRecord::default())).collect();
        let (removals, held) = apply_removal_limit(&hub, vec![candidate(0, false), candidate(1, false), candidate(2, true)], &mut entries);
        assert_eq!(held.len(), 2);
        assert!(matches!(removals.as_slice(), [Action::Remove { cancel_invite: true, .. }]));
        assert!(entries[0].note.as_deref().is_some_and(|n| n.contains("removal held")));
        hub.removals_approved = true;
        let (removals, held) = apply_removal_limit(&hub, vec![candidate(0, false), candidate(1, false)], &mut entries);
        assert_eq!((removals.len(), held.len()), (2, 0));
    }
}
