//! Step 3 of a plan: for each account, by its standing, what it should hold
//! and what to do about it. Removals are only proposed here; the removal limit
//! (step 4) decides which are made.

use crate::api::app_account::{AccountState, UserTable};
use crate::api::business_hub::UngrantedAccounts;

use super::access::{DesiredSeat, holds_admin};
use super::account::ExternalAccount;
use super::action::{AccountPlan, Action, Member};
use super::classify::{Standing, matched_table};
use super::input::{AccountRecord, DirectoryUser, KnownAccount};
use super::invitation::{after_failed_invitation, failure_is_current, invite_or_wait, resend_or_fail};
use super::world::World;

/// Why a removal waits: it would leave the app without an active admin.
pub const LAST_ADMIN_NOTE: &str = "the app's last admin is never removed; it goes once another admin holds a seat";

/// Why a demotion waits: it would leave the app without an active admin.
pub const LAST_ADMIN_KEEPS_ROLE_NOTE: &str = "the app's last admin keeps the admin role until another admin holds a seat";

/// A removal the rules allow, before the hub's limit is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalCandidate {
    /// Index of its entry in `Decisions::entries`.
    pub entry: usize,
    pub email: String,
    pub external_id: String,
    pub cancel_invite: bool,
}

/// Everything decided so far, account by account.
#[derive(Debug, Default)]
pub struct Decisions {
    pub entries: Vec<AccountPlan>,
    pub adds: Vec<Action>,
    pub updates: Vec<Action>,
    pub removals: Vec<RemovalCandidate>,
    /// Granted users who cannot be given an account.
    pub cannot_invite: Vec<AccountPlan>,
    /// Active admin accounts left in the app after the removals and demotions decided so far.
    pub admins_left: usize,
}

impl Decisions {
    pub fn new(world: &World) -> Decisions {
        let admins_left =
            world.accounts.iter().filter_map(|a| a.observed.as_ref()).filter(|o| o.active && holds_admin(world.hub, &o.access)).count();
        Decisions { admins_left, ..Default::default() }
    }
}

/// Decides one account (the `index`th of `world.accounts`).
pub fn decide_account(world: &World, index: usize, account: &KnownAccount, standing: Standing, decisions: &mut Decisions) {
    let observed = account.observed.as_ref();
    let mut entry = AccountPlan::new(&account.email, UserTable::Unmatched, AccountRecord { in_flight: None, ..account.record.clone() });
    entry.access = observed.map(|o| o.access.clone());
    entry.login_method = observed.and_then(|o| o.login_method);
    entry.last_used = observed.and_then(|o| o.last_active).filter(|_| world.hub.capabilities.last_activity);
    match standing {
        Standing::ServiceAccount => {
            entry.table = UserTable::ServiceAccount;
            entry.record = AccountRecord::default();
            entry.note = Some(if world.hub.is_service_account(&account.email) {
                "the hub's service account: rolecall signs in with it and never changes it".into()
            } else {
                "a machine account of the app's own (a system user): never changed by rolecall".into()
            });
        }
        Standing::Exempted(reason) => {
            entry.table = UserTable::Exempted;
            entry.state = Some(AccountState::Exempt);
            entry.record = AccountRecord::default();
            entry.note = Some(reason.to_string());
        }
        Standing::Unmatched => unmatched(&mut entry, account),
        Standing::Departed(name) => match observed.filter(|o| o.holds_seat()) {
            Some(o) => {
                entry.table = UserTable::Onboarded;
                entry.member = Some(Member { name: name.to_string(), ..Default::default() });
                let reason = format!("user {name} no longer exists in the directory");
                return propose_removal(world, entry, o, &reason, decisions);
            }
            None => unmatched(&mut entry, account),
        },
        Standing::Matched(user) => return decide_matched(world, index, account, user, entry, decisions),
    }
    decisions.entries.push(entry);
}

/// An account nobody matches: reported, never changed, forgotten once the app
/// no longer has it. It is an external enrollee while it holds a seat; a
/// deactivated one (a removed leaver's, say) holds nothing and has no state.
fn unmatched(entry: &mut AccountPlan, account: &KnownAccount) {
    entry.table = UserTable::Unmatched;
    entry.state = account.observed.as_ref().filter(|o| o.holds_seat()).map(|_| AccountState::ExternalEnrollee);
    // The connector's word on it (how to match a member the app shows without an email, say).
    entry.note = account.observed.as_ref().and_then(|o| o.note.clone());
    entry.record = AccountRecord::default();
    entry.forget = account.observed.is_none() && account.match_user.is_none();
}

fn decide_matched(
    world: &World,
    index: usize,
    account: &KnownAccount,
    user: &DirectoryUser,
    mut entry: AccountPlan,
    decisions: &mut Decisions,
) {
    let hub = world.hub;
    let observed = account.observed.as_ref();
    entry.table = matched_table(hub, user);
    entry.member =
        Some(Member { name: user.name.clone(), user_name: Some(user.user_name.clone()), display_name: user.display_name.clone() });
    entry.login_method = entry.login_method.or(Some(hub.login_method));
    entry.record.matched_user = Some(user.name.clone());
    let entitlement = world.entitlements.get(user.name.as_str());
    if let Some(e) = entitlement {
        entry.granted_via = e.granted_via.clone();
        entry.workspace_role = e.workspace_role;
    }
    let seat = entitlement.and_then(|e| e.seat.as_ref());

    // A user with a seat holds it in one account; their other accounts are left as they are.
    if seat.is_some() && world.seat_accounts.get(user.name.as_str()) != Some(&index) {
        entry.state =
            observed.filter(|o| o.holds_seat()).map(|o| if o.active { AccountState::Onboarded } else { AccountState::InviteSent });
        entry.note = Some(format!("another account of user {:?} holds the seat; this one is left as it is", user.user_name));
        decisions.entries.push(entry);
        return;
    }
    match seat {
        Some(seat) => seat_account(world, account, user, seat, entry, decisions),
        None => match observed.filter(|o| o.holds_seat()) {
            Some(o) => match removal_reason(world, user, &entry.record) {
                Some(reason) => propose_removal(world, entry, o, &reason, decisions),
                None => {
                    entry.state = Some(AccountState::KeptWithoutGrant);
                    entry.record.access_ended_at = None;
                    entry.note = Some("in the app without a grant; kept as it is (the hub's ungrantedAccounts: Keep)".into());
                    decisions.entries.push(entry);
                }
            },
            None => {
                // No seat held and none wanted: managing the hub, or an account the app
                // keeps deactivated (a removed leaver's), which no grant shares any more.
                let manages = entitlement.is_some_and(|e| e.manages_without_seat()) && user.active;
                entry.state = if manages {
                    Some(AccountState::ManageOnly)
                } else {
                    entry.granted_via.clear();
                    entry.workspace_role = None;
                    observed.map(|_| AccountState::Removed)
                };
                entry.record = AccountRecord { matched_user: entry.record.matched_user.take(), ..Default::default() };
                entry.forget = observed.is_none() && account.match_user.is_none() && !manages;
                decisions.entries.push(entry);
            }
        },
    }
}

/// Why a matched account holding a seat with no seat granted must go, or
/// `None` when it stays: offboarding always removes; an ended grant removes
/// what rolecall manages; anything else follows `ungrantedAccounts`.
fn removal_reason(world: &World, user: &DirectoryUser, record: &AccountRecord) -> Option<String> {
    if !user.active {
        Some(format!("user {} is deactivated", user.user_name))
    } else if record.managed {
        Some(format!("user {} holds no grant on this hub any more", user.user_name))
    } else if world.hub.ungranted_accounts == UngrantedAccounts::Remove {
        Some(format!("user {} holds no grant and the hub removes ungranted accounts", user.user_name))
    } else {
        None
    }
}

/// An account that must hold `seat`: bring what the app has in line with it.
fn seat_account(
    world: &World,
    account: &KnownAccount,
    user: &DirectoryUser,
    seat: &DesiredSeat,
    mut entry: AccountPlan,
    decisions: &mut Decisions,
) {
    let hub = world.hub;
    entry.access = Some(seat.access.clone());
    entry.record.access_ended_at = None;
    entry.record.managed = true;
    match account.observed.as_ref() {
        // In the app and active: bring its access in line, as far as the connector can see and change it.
        Some(o) if o.active => {
            entry.state = Some(AccountState::Onboarded);
            let caps = &hub.capabilities;
            if caps.comparable(&o.access, hub.roles.len()) != caps.comparable(&seat.access, hub.roles.len()) {
                let demotes_admin = holds_admin(hub, &o.access) && !holds_admin(hub, &seat.access);
                if demotes_admin && decisions.admins_left <= 1 {
                    entry.access = Some(o.access.clone());
                    entry.note = Some(LAST_ADMIN_KEEPS_ROLE_NOTE.into());
                } else {
                    if demotes_admin {
                        decisions.admins_left -= 1;
                    }
                    decisions.updates.push(Action::Update {
                        email: account.email.clone(),
                        external_id: o.id.clone(),
                        access: seat.access.clone(),
                    });
                }
            }
        }
        // Invited, not accepted yet.
        Some(o) if o.invite_pending => {
            let sent = *entry.record.invite_sent_at.get_or_insert(world.now);
            entry.state = Some(AccountState::InviteSent);
            if world.now - sent >= hub.invite_expiry_secs {
                resend_or_fail(world, &mut entry, &mut decisions.adds, account, user, seat);
            }
        }
        // The app's last invitation failed or expired (and nothing newer is pending): say so, send it again per the policy.
        Some(o) if !o.invite_pending && o.invitation_failed.as_ref().is_some_and(|f| failure_is_current(f, &entry.record)) => {
            if let Some(failure) = &o.invitation_failed {
                after_failed_invitation(world, &mut entry, &mut decisions.adds, account, user, seat, failure);
            }
        }
        // Deactivated in the app: give the seat back once claimed.
        Some(o) if hub.capabilities.deactivation => {
            entry.state = Some(AccountState::PendingInvite);
            if seat.claimed {
                decisions.updates.push(Action::Update {
                    email: account.email.clone(),
                    external_id: o.id.clone(),
                    access: seat.access.clone(),
                });
            } else {
                entry.note = Some("waiting for the user to claim access (rolecall claim)".into());
            }
        }
        // Not in the app (yet).
        _ => invite_or_wait(world, &mut entry, &mut decisions.adds, account, user, seat),
    }
    decisions.entries.push(entry);
}

/// Access ended for an account that holds a seat: Removing, through the grace
/// period, never the last admin; then a candidate for the removal limit.
fn propose_removal(world: &World, mut entry: AccountPlan, o: &ExternalAccount, reason: &str, decisions: &mut Decisions) {
    let hub = world.hub;
    let ended = *entry.record.access_ended_at.get_or_insert(world.now);
    entry.state = Some(AccountState::Removing);
    let is_admin = o.active && holds_admin(hub, &o.access);
    if world.now - ended < hub.removal_grace_secs {
        entry.note = Some(format!(
            "{reason}; the seat is removed after the grace period, at {}",
            crate::api::time::format_time(ended + hub.removal_grace_secs)
        ));
    } else if is_admin && decisions.admins_left <= 1 {
        entry.note = Some(LAST_ADMIN_NOTE.into());
    } else {
        if is_admin {
            decisions.admins_left -= 1;
        }
        entry.note = Some(format!("{reason}; removing the seat"));
        decisions.removals.push(RemovalCandidate {
            entry: decisions.entries.len(),
            email: entry.email.clone(),
            external_id: o.id.clone(),
            cancel_invite: !o.active,
        });
    }
    decisions.entries.push(entry);
}
