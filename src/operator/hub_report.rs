//! The hub's conditions after a sync, as pure functions of the plan and of
//! how its calls went.

use crate::api::business_hub::HubMode;
use crate::api::condition::{Condition, ConditionStatus};
use crate::api::wire::APPROVE_REMOVALS_ANNOTATION;
use crate::api::wire::condition::{REMOVALS_HELD, SYNCED};
use crate::plan::AccountPlan;

/// `RemovalsHeld`: True while removals wait for an admin's approval.
pub fn removals_held(held: usize, max_per_window: i32, window: &str) -> Condition {
    if held > 0 {
        Condition::new(
            REMOVALS_HELD,
            ConditionStatus::True,
            "RemovalLimitExceeded",
            format!(
                "{held} removals exceed the limit of {max_per_window} per {window}; nothing is removed until an admin sets the {APPROVE_REMOVALS_ANNOTATION} annotation"
            ),
        )
    } else {
        Condition::new(REMOVALS_HELD, ConditionStatus::False, "WithinLimit", "no removal is waiting for approval")
    }
}

/// Changes the plan holds that were not made: every one in DryRun, the failed or cancelled ones in Enforce.
pub fn pending_actions(mode: HubMode, planned: usize, not_done: usize) -> usize {
    match mode {
        HubMode::Enforce => not_done,
        HubMode::DryRun => planned,
        HubMode::Observe => 0,
    }
}

/// `Synced`: whether the app now matches the grants, and if not, why.
pub fn synced(mode: HubMode, pending: usize, cannot_invite: &[AccountPlan]) -> Condition {
    match (mode, pending) {
        (HubMode::Observe, _) => {
            Condition::new(SYNCED, ConditionStatus::True, "Observed", "Observe mode: the app is read back and reported, never changed")
        }
        (HubMode::DryRun, 0) => Condition::new(SYNCED, ConditionStatus::True, "InSync", "DryRun: the app already matches the grants"),
        (HubMode::DryRun, n) => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "DryRun",
            format!("DryRun: {n} changes would be made in Enforce mode; see the accounts' notes"),
        ),
        (_, 0) if !cannot_invite.is_empty() => {
            let stuck: Vec<String> = cannot_invite
                .iter()
                .take(5)
                .map(|e| {
                    let who = e.member.as_ref().map(|m| m.user_name.clone().unwrap_or_else(|| m.name.clone())).unwrap_or_default();
                    format!("{who}: {}", e.note.as_deref().unwrap_or(""))
                })
                .collect();
            Condition::new(
                SYNCED,
                ConditionStatus::False,
                "CannotInvite",
                format!("{} granted users cannot be invited: {}", cannot_invite.len(), stuck.join("; ")),
            )
        }
        (_, 0) => Condition::new(SYNCED, ConditionStatus::True, "InSync", "every planned change was made"),
        (_, n) => Condition::new(
            SYNCED,
            ConditionStatus::False,
            "ActionsFailed",
            format!("{n} changes failed or were not made; see the accounts' lastError and Warning Events"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::UserTable;
    use crate::plan::{AccountRecord, Member};

    #[test]
    fn synced_says_why_the_app_does_not_match() {
        assert_eq!(synced(HubMode::Enforce, 0, &[]).reason, "InSync");
        assert_eq!(synced(HubMode::Enforce, 2, &[]).reason, "ActionsFailed");
        assert_eq!(synced(HubMode::DryRun, 3, &[]).reason, "DryRun");
        assert_eq!(synced(HubMode::Observe, 3, &[]).status, ConditionStatus::True);
        let mut stuck = AccountPlan::new("", UserTable::Onboarded, AccountRecord::default());
        stuck.member = Some(Member { name: "0b1c".into(), user_name: Some("ann@acme.io".into()), display_name: None });
        stuck.note = Some("the user has no email to invite".into());
        let c = synced(HubMode::Enforce, 0, &[stuck]);
        assert_eq!((c.status, c.reason.as_str()), (ConditionStatus::False, "CannotInvite"));
        assert!(c.message.contains("ann@acme.io: the user has no email"), "{}", c.message);
    }

    #[test]
    fn pending_counts_what_the_mode_left_undone() {
        assert_eq!(pending_actions(HubMode::Enforce, 5, 1), 1);
        assert_eq!(pending_actions(HubMode::DryRun, 5, 0), 5);
        assert_eq!(pending_actions(HubMode::Observe, 5, 0), 0);
        assert_eq!(removals_held(0, 10, "1h").status, ConditionStatus::False);
        assert!(removals_held(3, 2, "1h").message.contains("3 removals exceed the limit of 2 per 1h"));
    }
}
