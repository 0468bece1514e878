//! Invitations: sending one, waiting for it, sending it again when it expires,
//! and giving up after the hub's policy. Also step 3b of a plan: users who
//! must hold a seat (or manage the hub) and have no account yet.

use crate::api::app_account::AccountState;

use super::access::DesiredSeat;
use super::account::{InvitationFailure, NewAccount};
use super::action::{AccountPlan, Action, Member};
use super::classify::matched_table;
use super::decide::Decisions;
use super::input::{AccountRecord, DirectoryUser, InFlight, KnownAccount};
use super::world::World;

/// Users with a grant and no account: an invitation for a seat, a row for an
/// Owner who manages without one, or a report of why neither can be made.
pub fn users_without_account(world: &World, seated: &std::collections::BTreeSet<String>, decisions: &mut Decisions) {
    for user in &world.users {
        let Some(entitlement) = world.entitlements.get(user.name.as_str()) else { continue };
        if seated.contains(&user.name) {
            continue;
        }
        let manages = entitlement.manages_without_seat() && user.active;
        if entitlement.seat.is_none() && !manages {
            continue;
        }
        let mut entry = AccountPlan::new("", matched_table(world.hub, user), AccountRecord::default());
        entry.member =
            Some(Member { name: user.name.clone(), user_name: Some(user.user_name.clone()), display_name: user.display_name.clone() });
        entry.granted_via = entitlement.granted_via.clone();
        entry.workspace_role = entitlement.workspace_role;
        entry.login_method = Some(world.hub.login_method);
        entry.access = entitlement.seat.as_ref().map(|s| s.access.clone());
        let Some(email) = user.emails.first() else {
            if entitlement.seat.is_some() {
                entry.state = Some(AccountState::InviteFailed);
                entry.note = Some("the user has no email to invite".into());
                decisions.cannot_invite.push(entry);
            }
            continue;
        };
        // Another user's account, or another user's email: inviting would hand that seat to the wrong person.
        let owner = world.matcher.owner_of(email).map(|u| u.name.as_str());
        if owner != Some(user.name.as_str()) || world.email_taken(email) || world.hub.is_service_account(email) {
            if entitlement.seat.is_some() {
                entry.state = Some(AccountState::InviteFailed);
                entry.note = Some(format!("{email} is another user's email or account; match an account to {} by hand", user.user_name));
                decisions.cannot_invite.push(entry);
            }
            continue;
        }
        entry.email = email.clone();
        entry.record.matched_user = Some(user.name.clone());
        match &entitlement.seat {
            Some(seat) => {
                entry.record.managed = true;
                let account = KnownAccount {
                    email: email.clone(),
                    observed: None,
                    match_user: None,
                    exemption: None,
                    record: AccountRecord::default(),
                };
                invite_or_wait(world, &mut entry, &mut decisions.adds, &account, user, seat);
            }
            None => {
                entry.state = Some(AccountState::ManageOnly);
                entry.note = Some("manages the hub without a seat in the app (an Owner grant with seat: false)".into());
            }
        }
        decisions.entries.push(entry);
    }
}

/// A user who must hold a seat and whose account the app does not list.
pub fn invite_or_wait(
    world: &World,
    entry: &mut AccountPlan,
    adds: &mut Vec<Action>,
    account: &KnownAccount,
    user: &DirectoryUser,
    seat: &DesiredSeat,
) {
    let hub = world.hub;
    let record = &account.record;
    match (record.state, record.invite_sent_at) {
        // Sent, and the app (which may not list invitations) has not shown the
        // account yet. An app without invitations lists an added account at
        // once: there, an account it does not list is gone and is added again.
        (Some(AccountState::InviteSent) | Some(AccountState::InviteExpired), Some(sent)) if hub.capabilities.invitations => {
            entry.state = Some(AccountState::InviteSent);
            if world.now - sent >= hub.invite_expiry_secs {
                resend_or_fail(world, entry, adds, account, user, seat);
            }
        }
        (Some(AccountState::InviteFailed), Some(_)) if record.invite_resends >= hub.max_invite_resends => {
            entry.state = Some(AccountState::InviteFailed);
            entry.note = Some(format!("not accepted after {} invitations", record.invite_resends + 1));
        }
        _ if !seat.claimed => {
            entry.state = Some(AccountState::PendingInvite);
            entry.note = Some("waiting for the user to claim access (rolecall claim)".into());
        }
        _ => {
            entry.state = Some(AccountState::PendingInvite);
            adds.push(invite(world, account, user, seat, None));
        }
    }
}

/// An invitation past its expiry: send it again while the policy allows, else report it failed.
pub fn resend_or_fail(
    world: &World,
    entry: &mut AccountPlan,
    adds: &mut Vec<Action>,
    account: &KnownAccount,
    user: &DirectoryUser,
    seat: &DesiredSeat,
) {
    if entry.record.invite_resends >= world.hub.max_invite_resends {
        entry.state = Some(AccountState::InviteFailed);
        entry.note = Some(format!("not accepted after {} invitations", entry.record.invite_resends + 1));
        return;
    }
    entry.state = Some(AccountState::InviteExpired);
    let pending_invite = account.observed.as_ref().filter(|o| o.invite_pending).map(|o| o.id.clone());
    adds.push(invite(world, account, user, seat, Some(pending_invite)));
}

/// Whether the app's failure is about rolecall's latest invitation: a failure
/// from before the last send is an older invitation's, and says nothing of the new one.
pub fn failure_is_current(failure: &InvitationFailure, record: &AccountRecord) -> bool {
    match (failure.at, record.invite_sent_at) {
        (Some(failed), Some(sent)) => failed >= sent,
        _ => true,
    }
}

/// The app reports the account's last invitation failed (not delivered) or
/// expired: InviteFailed or InviteExpired with the app's words, and sent again
/// while the hub's `invites.maxResends` allows; after that, InviteFailed for good.
pub fn after_failed_invitation(
    world: &World,
    entry: &mut AccountPlan,
    adds: &mut Vec<Action>,
    account: &KnownAccount,
    user: &DirectoryUser,
    seat: &DesiredSeat,
    failure: &InvitationFailure,
) {
    let said = match failure.at {
        Some(at) => format!("{} (at {})", failure.reason, crate::api::time::format_time(at)),
        None => failure.reason.clone(),
    };
    let resends = entry.record.invite_resends;
    if resends >= world.hub.max_invite_resends {
        entry.state = Some(AccountState::InviteFailed);
        entry.note = Some(format!("not accepted after {} invitation(s); the app says: {said}", resends + 1));
        return;
    }
    entry.state = Some(if failure.expired { AccountState::InviteExpired } else { AccountState::InviteFailed });
    entry.note = Some(format!("the app says: {said}; sent again ({} of at most {} resends)", resends + 1, world.hub.max_invite_resends));
    adds.push(invite(world, account, user, seat, Some(None)));
}

/// The add of `account` for `user`'s seat. `resend` holds the pending invitation
/// to cancel first, if the app lists one. An add announced before a crash is
/// looked up before it is sent again, unless this sync's read-back already
/// showed the app without it: after a restart with thousands of announced adds,
/// that look-up per add was the cost that kept recovery at one invitation a second.
fn invite(world: &World, account: &KnownAccount, user: &DirectoryUser, seat: &DesiredSeat, resend: Option<Option<String>>) -> Action {
    Action::Add {
        email: account.email.clone(),
        user: user.name.clone(),
        account: NewAccount {
            email: account.email.clone(),
            display_name: user.display_name.clone(),
            given_name: user.given_name.clone(),
            family_name: user.family_name.clone(),
            access: seat.access.clone(),
        },
        resend: resend.is_some(),
        cancel_first: resend.flatten(),
        read_back_first: account.record.in_flight == Some(InFlight::Add) && !world.read_back,
    }
}
