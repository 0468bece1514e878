//! An AppAccount's status, as pure functions: what a plan entry says about the
//! account, and what a call's outcome changes in it. The writer only compares
//! and writes what these return.

use crate::api::app_account::{AccountState, AppAccountStatus, InAppState};
use crate::api::time::format_time;
use crate::connector::{ConnectorError, ExternalAccount};
use crate::plan::{AccountPlan, Action};

use super::executor::Effect;
use super::plan_input::{asset_strings, in_app_state};

/// The status an account gets from its plan entry. `previous` keeps the last error.
pub fn planned_status(entry: &AccountPlan, in_app: Option<&ExternalAccount>, previous: Option<&AppAccountStatus>) -> AppAccountStatus {
    let member = entry.member.as_ref();
    AppAccountStatus {
        observed_generation: None,
        conditions: vec![],
        table: Some(entry.table),
        state: entry.state,
        external_id: in_app.map(|a| a.id.clone()).filter(|id| !id.is_empty()),
        app_roles: entry.access.as_ref().map(|a| a.roles.iter().cloned().collect()).unwrap_or_default(),
        assets: entry.access.as_ref().map(|a| asset_strings(&a.assets)).unwrap_or_default(),
        granted_via: entry.granted_via.clone(),
        matched_user: entry.record.matched_user.clone().or_else(|| member.map(|m| m.name.clone())),
        user_name: member.and_then(|m| m.user_name.clone()),
        display_name: member.and_then(|m| m.display_name.clone()),
        managed: entry.record.managed,
        workspace_role: entry.workspace_role,
        last_used: entry.last_used.map(format_time),
        login_method: entry.login_method,
        invite_sent_at: entry.record.invite_sent_at.map(format_time),
        invite_resends: (entry.record.invite_resends > 0).then_some(entry.record.invite_resends as i32),
        access_ended_at: entry.record.access_ended_at.map(format_time),
        in_app: in_app.map(in_app_state),
        operation: None,
        note: entry.note.clone(),
        last_error: previous.and_then(|p| p.last_error.clone()),
    }
}

/// The status after a call: what the app answered, on top of the status the call was announced in.
pub fn outcome_status(
    mut status: AppAccountStatus,
    action: &Action,
    result: &Result<Effect, ConnectorError>,
    entry: Option<&AccountPlan>,
    now: i64,
) -> AppAccountStatus {
    match result {
        Ok(effect) => {
            status.operation = None;
            status.last_error = None;
            match effect {
                Effect::Added(a) | Effect::Adopted(a) => {
                    status.external_id = Some(a.id.clone()).filter(|id| !id.is_empty());
                    status.in_app = Some(in_app_state(a));
                    // An account the app reports active (an app without invitations, or an adopted
                    // account) holds its seat now; an invitation waits to be accepted. Recording it
                    // here saves the write the next read-back would otherwise make.
                    let accepted = a.active && !a.invite_pending;
                    status.state = Some(if accepted { AccountState::Onboarded } else { AccountState::InviteSent });
                    if matches!(effect, Effect::Added(_)) {
                        status.invite_sent_at = Some(format_time(now));
                        if matches!(action, Action::Add { resend: true, .. }) {
                            status.invite_resends = Some(status.invite_resends.unwrap_or(0) + 1);
                        }
                    }
                }
                Effect::Updated => {
                    if let Action::Update { access, .. } = action {
                        status.in_app = Some(InAppState {
                            active: true,
                            invite_pending: false,
                            app_roles: access.roles.iter().cloned().collect(),
                            assets: asset_strings(&access.assets),
                            invitation_failed: None,
                        });
                    }
                    status.state = Some(AccountState::Onboarded);
                }
                Effect::Removed => {
                    // Deactivated or deleted: the next read-back tells which; either way no
                    // seat, and nothing left for rolecall to manage.
                    status.in_app = Some(InAppState::default());
                    status.state = Some(AccountState::Removed);
                    status.granted_via = vec![];
                    status.access_ended_at = None;
                    status.app_roles = vec![];
                    status.assets = vec![];
                    status.managed = false;
                }
            }
            status.note = entry.and_then(|e| e.note.clone()).filter(|_| !matches!(action, Action::Remove { .. }));
        }
        Err(e) => {
            // A retryable failure (a timeout) may have reached the app: keep the
            // announcement so the next attempt reads back first.
            // A rate-limited call was refused before it was made (by the app, or by
            // the connector keeping under the app's limits): this attempt made
            // nothing. But an earlier attempt of the same add (a retry, which reads
            // back first) may have: its announcement stays, or the next attempt
            // would add without looking and invite the person twice.
            let rate_limited = matches!(e, ConnectorError::RateLimited { .. });
            let earlier_attempt = matches!(action, Action::Add { read_back_first: true, .. });
            if !e.is_retryable() || (rate_limited && !earlier_attempt) {
                status.operation = None;
            }
            status.last_error = Some(format!("{} failed: {e}", action.kind()));
            // An invitation held for a rate limit or the app's invitation cap waits its turn; it has not failed.
            if matches!(action, Action::Add { .. }) && !rate_limited {
                status.state = Some(AccountState::InviteFailed);
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::{OperationKind, PendingOperation};
    use crate::plan::Access;

    fn remove() -> Action {
        Action::Remove { email: "ann@acme.io".into(), external_id: "7".into(), cancel_invite: false }
    }

    #[test]
    fn a_removal_ends_management_and_clears_the_announcement() {
        let before = AppAccountStatus {
            managed: true,
            state: Some(AccountState::Removing),
            operation: Some(PendingOperation { action: OperationKind::Remove, started_at: "2026-12-01T00:00:00Z".into() }),
            app_roles: vec!["member".into()],
            ..Default::default()
        };
        let after = outcome_status(before, &remove(), &Ok(Effect::Removed), None, 0);
        assert!(!after.managed);
        assert_eq!((after.state, after.operation, after.app_roles.len()), (Some(AccountState::Removed), None, 0));
        assert!(after.granted_via.is_empty(), "a removed seat is shared via no grant");
        assert_eq!(after.in_app.map(|i| i.active), Some(false));
    }

    #[test]
    fn a_timeout_keeps_the_announcement_so_the_retry_reads_back_first() {
        let before = AppAccountStatus {
            operation: Some(PendingOperation { action: OperationKind::Remove, started_at: "2026-12-01T00:00:00Z".into() }),
            ..Default::default()
        };
        let after = outcome_status(before.clone(), &remove(), &Err(ConnectorError::Transient("timed out".into())), None, 0);
        assert!(after.operation.is_some());
        assert!(after.last_error.as_deref().is_some_and(|e| e.starts_with("Remove failed")));
        let refused = outcome_status(before, &remove(), &Err(ConnectorError::Permanent("no".into())), None, 0);
        assert!(refused.operation.is_none());
    }

    fn add(read_back_first: bool) -> Action {
        Action::Add {
            email: "ann@acme.io".into(),
            user: "ann".into(),
            account: crate::plan::NewAccount {
                email: "ann@acme.io".into(),
                display_name: None,
                given_name: None,
                family_name: None,
                access: Access::default(),
            },
            resend: false,
            cancel_first: None,
            read_back_first,
        }
    }

    #[test]
    fn a_rate_limited_add_drops_its_own_announcement_and_a_retry_keeps_the_earlier_one() {
        let before = AppAccountStatus {
            state: Some(AccountState::PendingInvite),
            operation: Some(PendingOperation { action: OperationKind::Invite, started_at: "2026-12-01T00:00:00Z".into() }),
            ..Default::default()
        };
        let limited = Err(ConnectorError::RateLimited { retry_after: None });
        let first = outcome_status(before.clone(), &add(false), &limited, None, 0);
        assert_eq!((first.operation, first.state), (None, Some(AccountState::PendingInvite)), "refused unmade, waiting its turn");
        // A retry after a timeout that may have made the account: the next attempt must still look first.
        let retry = outcome_status(before, &add(true), &limited, None, 0);
        assert!(retry.operation.is_some(), "the earlier attempt's announcement was dropped");
        assert_eq!(retry.state, Some(AccountState::PendingInvite));
    }

    #[test]
    fn an_add_the_app_answers_active_is_onboarded_and_an_invitation_waits() {
        let add = add(false);
        let made = |active: bool, invite_pending: bool| ExternalAccount {
            id: "7".into(),
            email: "ann@acme.io".into(),
            display_name: None,
            access: Access::default(),
            active,
            invite_pending,
            login_method: None,
            last_active: None,
            invitation_failed: None,
            note: None,
            service_account: false,
        };
        let scim = outcome_status(AppAccountStatus::default(), &add, &Ok(Effect::Added(made(true, false))), None, 60);
        assert_eq!((scim.state, scim.invite_sent_at.as_deref()), (Some(AccountState::Onboarded), Some("1970-01-01T00:01:00Z")));
        let invited = outcome_status(AppAccountStatus::default(), &add, &Ok(Effect::Added(made(false, true))), None, 60);
        assert_eq!(invited.state, Some(AccountState::InviteSent));
    }

    #[test]
    fn an_update_records_what_the_account_now_holds() {
        let access = Access { roles: ["admin".to_string()].into(), assets: Default::default() };
        let update = Action::Update { email: "ann@acme.io".into(), external_id: "7".into(), access };
        let after = outcome_status(AppAccountStatus::default(), &update, &Ok(Effect::Updated), None, 0);
        assert_eq!(after.state, Some(AccountState::Onboarded));
        assert_eq!(after.in_app.map(|i| i.app_roles), Some(vec!["admin".to_string()]));
    }
}
