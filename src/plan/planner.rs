//! `plan`: the decision for one hub. Pure: the clock is an input, the result is
//! sorted, and every rule is applied account by account in email order so the
//! outcome does not depend on the order of the inputs.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::app_account::{AccountState, UserTable};
use crate::api::business_hub::HubMode;
use crate::connector::{ExternalAccount, NewAccount};

use super::access::{DesiredSeat, holds_admin, resolve_seat};
use super::action::{AccountPlan, Action, HeldRemoval, Plan};
use super::input::{AccountRecord, DirectoryUser, InFlight, KnownAccount, PlanInput};
use super::matching::{Matcher, in_workspace};

/// A removal the rules allow, before the hub's limit is applied.
struct Candidate {
    plan_index: usize,
    email: String,
    external_id: String,
    cancel_invite: bool,
}

/// Why a removal waits: it would leave the app without an active admin.
pub const LAST_ADMIN_NOTE: &str = "the app's last admin is never removed; it goes once another admin holds a seat";

/// Why a demotion waits: it would leave the app without an active admin.
pub const LAST_ADMIN_KEEPS_ROLE_NOTE: &str = "the app's last admin keeps the admin role until another admin holds a seat";

pub fn plan(input: &PlanInput) -> Plan {
    let hub = &input.hub;
    let now = input.now;

    let mut users: Vec<&DirectoryUser> = input.users.iter().collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users.dedup_by(|a, b| a.name == b.name);
    let matcher = Matcher::new(&users);
    let seats: BTreeMap<&str, DesiredSeat> =
        users.iter().filter_map(|u| resolve_seat(hub, u, &input.grants).map(|s| (u.name.as_str(), s))).collect();

    // One entry per email (case-insensitive); when the inputs repeat an email the first by exact text wins.
    let mut accounts: Vec<&KnownAccount> = input.accounts.iter().collect();
    accounts.sort_by(|a, b| a.email.to_lowercase().cmp(&b.email.to_lowercase()).then_with(|| a.email.cmp(&b.email)));
    accounts.dedup_by(|a, b| a.email.eq_ignore_ascii_case(&b.email));

    // A user with several accounts has one managed account: the manual match,
    // else one the app has, under their earliest-listed email.
    let mut managed: BTreeMap<&str, ((usize, usize), usize)> = BTreeMap::new();
    for (i, account) in accounts.iter().enumerate() {
        let Some(user) = matcher.match_account(account) else { continue };
        if account.exemption.is_some() || is_service_account(hub.service_account_email.as_deref(), &account.email) {
            continue;
        }
        let preference = match &account.match_user {
            Some(_) => (0, 0),
            None => (
                if account.observed.is_some() { 1 } else { 2 },
                user.emails.iter().position(|e| e.eq_ignore_ascii_case(&account.email)).unwrap_or(usize::MAX),
            ),
        };
        let entry = managed.entry(user.name.as_str()).or_insert((preference, i));
        if preference < entry.0 {
            *entry = (preference, i);
        }
    }

    // Active admin accounts in the app, for the last-admin rule.
    let mut admins_left = accounts.iter().filter_map(|a| a.observed.as_ref()).filter(|o| o.active && holds_admin(hub, &o.access)).count();

    let mut plans: Vec<AccountPlan> = Vec::new();
    let mut adds = Vec::new();
    let mut updates = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut has_account: BTreeSet<&str> = BTreeSet::new();

    for (i, account) in accounts.iter().enumerate() {
        let user = matcher.match_account(account);
        let observed = account.observed.as_ref();
        let holds_seat = observed.is_some_and(|o| o.active || o.invite_pending);
        let mut entry = AccountPlan {
            email: account.email.clone(),
            table: UserTable::Unmatched,
            state: observed.and_then(observed_state),
            matched_user: user.map(|u| u.name.clone()),
            access: observed.map(|o| o.access.clone()),
            granted_via: vec![],
            login_method: observed.and_then(|o| o.login_method).or(user.map(|_| hub.login_method)),
            record: AccountRecord { in_flight: None, ..account.record.clone() },
            note: None,
            forget: false,
        };

        if is_service_account(hub.service_account_email.as_deref(), &account.email) {
            entry.table = UserTable::Exempted;
            entry.note = Some("the hub's service account: rolecall never changes it".into());
            plans.push(entry);
            continue;
        }
        if let Some(reason) = &account.exemption {
            entry.table = UserTable::Exempted;
            entry.note = Some(reason.clone());
            plans.push(entry);
            continue;
        }
        let Some(user) = user else {
            entry.table = if in_workspace(&account.email, &hub.workspace_domains) { UserTable::Unmatched } else { UserTable::Guest };
            // Not rolecall's to manage: no lifecycle state, the table says it all.
            entry.state = None;
            // A record of an account the app no longer has, that no one matched by hand: nothing left to show.
            entry.forget = observed.is_none() && account.match_user.is_none();
            plans.push(entry);
            continue;
        };
        entry.table =
            if user.external || !in_workspace(&account.email, &hub.workspace_domains) { UserTable::Guest } else { UserTable::Onboarded };
        // A user with a seat has one managed account; a user without one loses every seat they hold.
        if seats.contains_key(user.name.as_str()) && managed.get(user.name.as_str()).map(|(_, index)| *index) != Some(i) {
            entry.note = Some(format!("another account of user {:?} is the managed one; this one is left as it is", user.name));
            plans.push(entry);
            continue;
        }
        has_account.insert(user.name.as_str());

        match seats.get(user.name.as_str()) {
            Some(seat) => {
                entry.granted_via = seat.granted_via.clone();
                entry.access = Some(seat.access.clone());
                entry.record.access_ended_at = None;
                match observed {
                    // In the app and active: bring its access in line.
                    Some(o) if o.active => {
                        entry.state = Some(AccountState::Onboarded);
                        if o.access != seat.access {
                            if holds_admin(hub, &o.access) && !holds_admin(hub, &seat.access) && admins_left <= 1 {
                                entry.access = Some(o.access.clone());
                                entry.note = Some(LAST_ADMIN_KEEPS_ROLE_NOTE.into());
                            } else {
                                if holds_admin(hub, &o.access) && !holds_admin(hub, &seat.access) {
                                    admins_left -= 1;
                                }
                                updates.push(Action::Update {
                                    email: account.email.clone(),
                                    external_id: o.id.clone(),
                                    access: seat.access.clone(),
                                });
                            }
                        }
                    }
                    // Invited, not accepted yet.
                    Some(o) if o.invite_pending => {
                        let sent = *entry.record.invite_sent_at.get_or_insert(now);
                        entry.state = Some(AccountState::InviteSent);
                        if now - sent >= hub.invite_expiry_secs {
                            resend_or_fail(hub, &mut entry, &mut adds, account, user, seat);
                        }
                    }
                    // Deactivated in the app: give the seat back.
                    Some(o) => {
                        if seat.claimed {
                            entry.state = Some(AccountState::PendingInvite);
                            updates.push(Action::Update {
                                email: account.email.clone(),
                                external_id: o.id.clone(),
                                access: seat.access.clone(),
                            });
                        } else {
                            entry.state = Some(AccountState::PendingInvite);
                            entry.note = Some("waiting for the user to claim access".into());
                        }
                    }
                    // Not in the app (yet).
                    None => not_in_app(hub, now, &mut entry, &mut adds, account, user, seat),
                }
            }
            None if holds_seat => {
                let Some(o) = observed else { continue };
                let ended = *entry.record.access_ended_at.get_or_insert(now);
                entry.state = Some(AccountState::Removing);
                if now - ended < hub.removal_grace_secs {
                    entry.note =
                        Some(format!("access ended; the seat is removed after the grace period, at {}", ended + hub.removal_grace_secs));
                } else if o.active && holds_admin(hub, &o.access) && admins_left <= 1 {
                    entry.note = Some(LAST_ADMIN_NOTE.into());
                } else {
                    if o.active && holds_admin(hub, &o.access) {
                        admins_left -= 1;
                    }
                    candidates.push(Candidate {
                        plan_index: plans.len(),
                        email: account.email.clone(),
                        external_id: o.id.clone(),
                        cancel_invite: !o.active,
                    });
                }
            }
            None => {
                // No seat held and none wanted: keep a manual match, forget the rest once the app has no account.
                entry.state = None;
                entry.record = AccountRecord::default();
                entry.forget = observed.is_none() && account.match_user.is_none();
            }
        }
        plans.push(entry);
    }

    // Users who must hold a seat and have no account yet.
    for user in &users {
        let Some(seat) = seats.get(user.name.as_str()) else { continue };
        if has_account.contains(user.name.as_str()) {
            continue;
        }
        let Some(email) = user.emails.first() else {
            plans.push(cannot_invite(hub, user, seat, "the user has no email to invite".into()));
            continue;
        };
        // Another user's account, or another user's email: inviting would hand that seat to the wrong person.
        let owner = matcher.owner_of(email).map(|u| u.name.as_str());
        let taken = accounts
            .iter()
            .any(|a| a.email.eq_ignore_ascii_case(email) && (a.observed.is_some() || a.match_user.is_some() || a.exemption.is_some()));
        if owner != Some(user.name.as_str()) || taken || is_service_account(hub.service_account_email.as_deref(), email) {
            let note = format!("{email} is another user's email or account; match an account to {} by hand", user.name);
            plans.push(cannot_invite(hub, user, seat, note));
            continue;
        }
        let account =
            KnownAccount { email: email.clone(), observed: None, match_user: None, exemption: None, record: AccountRecord::default() };
        let mut entry = AccountPlan {
            email: email.clone(),
            table: if user.external || !in_workspace(email, &hub.workspace_domains) { UserTable::Guest } else { UserTable::Onboarded },
            state: None,
            matched_user: Some(user.name.clone()),
            access: Some(seat.access.clone()),
            granted_via: seat.granted_via.clone(),
            login_method: Some(hub.login_method),
            record: AccountRecord::default(),
            note: None,
            forget: false,
        };
        not_in_app(hub, now, &mut entry, &mut adds, &account, user, seat);
        plans.push(entry);
    }

    // The removal limit: past it, every seat removal waits for an admin.
    let seat_removals = candidates.iter().filter(|c| !c.cancel_invite).count() as u32;
    let allowed = hub.max_removals_per_window.saturating_sub(hub.removals_in_window);
    let hold = seat_removals > allowed && !hub.removals_approved;
    let mut removals = Vec::new();
    let mut held = Vec::new();
    for c in candidates {
        if hold && !c.cancel_invite {
            plans[c.plan_index].note = Some(format!(
                "removal held: {seat_removals} removals exceed the hub's limit of {} per window; approve with the rolecall.dev/approve-removals annotation",
                hub.max_removals_per_window
            ));
            held.push(HeldRemoval { email: c.email, external_id: c.external_id });
        } else {
            removals.push(Action::Remove { email: c.email, external_id: c.external_id, cancel_invite: c.cancel_invite });
        }
    }

    plans.sort_by_key(|a| a.email.to_lowercase());
    for list in [&mut adds, &mut updates, &mut removals] {
        list.sort_by_key(|a| a.email().to_lowercase());
    }
    let mut actions: Vec<Action> = adds.into_iter().chain(updates).chain(removals).collect();
    if hub.mode == HubMode::Observe {
        // Observe only reads back: nothing to do, nothing held, records as they were.
        actions.clear();
        held.clear();
        for entry in &mut plans {
            entry.note.get_or_insert_with(|| "Observe mode: rolecall only reports".into());
        }
    }
    Plan { accounts: plans, actions, held }
}

/// A user who must hold a seat but cannot be invited; reported, never recorded as an account.
fn cannot_invite(hub: &super::input::HubPolicy, user: &DirectoryUser, seat: &DesiredSeat, note: String) -> AccountPlan {
    AccountPlan {
        email: String::new(),
        table: UserTable::Onboarded,
        state: Some(AccountState::InviteFailed),
        matched_user: Some(user.name.clone()),
        access: Some(seat.access.clone()),
        granted_via: seat.granted_via.clone(),
        login_method: Some(hub.login_method),
        record: AccountRecord::default(),
        note: Some(note),
        forget: true,
    }
}

fn is_service_account(service_account: Option<&str>, email: &str) -> bool {
    service_account.is_some_and(|s| s.eq_ignore_ascii_case(email))
}

/// The state an account's presence in the app implies by itself.
fn observed_state(o: &ExternalAccount) -> Option<AccountState> {
    if o.active {
        Some(AccountState::Onboarded)
    } else if o.invite_pending {
        Some(AccountState::InviteSent)
    } else {
        None
    }
}

fn new_account(user: &DirectoryUser, email: &str, seat: &DesiredSeat) -> NewAccount {
    NewAccount {
        email: email.to_string(),
        display_name: user.display_name.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        access: seat.access.clone(),
    }
}

/// A user who must hold a seat and whose account the app does not list.
fn not_in_app(
    hub: &super::input::HubPolicy,
    now: i64,
    entry: &mut AccountPlan,
    adds: &mut Vec<Action>,
    account: &KnownAccount,
    user: &DirectoryUser,
    seat: &DesiredSeat,
) {
    let record = &account.record;
    match (record.state, record.invite_sent_at) {
        // Sent, and the app (which may not list invitations) has not shown the account yet.
        (Some(AccountState::InviteSent) | Some(AccountState::InviteExpired), Some(sent)) => {
            entry.state = Some(AccountState::InviteSent);
            if now - sent >= hub.invite_expiry_secs {
                resend_or_fail(hub, entry, adds, account, user, seat);
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
            adds.push(Action::Add {
                email: account.email.clone(),
                user: user.name.clone(),
                account: new_account(user, &account.email, seat),
                resend: false,
                cancel_first: None,
                read_back_first: record.in_flight == Some(InFlight::Add),
            });
        }
    }
}

/// An invitation past its expiry: send it again while the policy allows, else report it failed.
fn resend_or_fail(
    hub: &super::input::HubPolicy,
    entry: &mut AccountPlan,
    adds: &mut Vec<Action>,
    account: &KnownAccount,
    user: &DirectoryUser,
    seat: &DesiredSeat,
) {
    let pending_invite = account.observed.as_ref().filter(|o| o.invite_pending).map(|o| o.id.clone());
    if entry.record.invite_resends >= hub.max_invite_resends {
        entry.state = Some(AccountState::InviteFailed);
        entry.note = Some(format!("not accepted after {} invitations", entry.record.invite_resends + 1));
        return;
    }
    entry.state = Some(AccountState::InviteExpired);
    adds.push(Action::Add {
        email: account.email.clone(),
        user: user.name.clone(),
        account: new_account(user, &account.email, seat),
        resend: true,
        cancel_first: pending_invite,
        read_back_first: account.record.in_flight == Some(InFlight::Add),
    });
}
