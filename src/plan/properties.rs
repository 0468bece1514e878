//! Property tests of the planner, over random directories, grants, hubs and apps.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::access::holds_admin;
use super::decide::{LAST_ADMIN_KEEPS_ROLE_NOTE, LAST_ADMIN_NOTE};
use super::*;
use crate::api::access_grant::WorkspaceRole;
use crate::api::app_account::AccountState;
use crate::api::business_hub::{AppAsset, AppRole, HubMode, LoginMethod, RoleModel, UngrantedAccounts};
use crate::scim::filter::tests::check_property;

const EMAILS: &[&str] =
    &["ann@acme.io", "ANN@acme.io", "bob@acme.io", "cy@acme.io", "dee@acme.io", "eve@other.com", "fay@acme.io", "svc@acme.io"];
const ROLES: &[&str] = &["viewer", "editor", "admin", "billing"];
const NOW: i64 = 1_000_000;

fn catalog() -> Vec<AppRole> {
    ROLES
        .iter()
        .enumerate()
        .map(|(i, r)| AppRole { name: r.to_string(), weight: i as i32 * 10, admin: *r == "admin", description: None })
        .collect()
}

fn access() -> impl Strategy<Value = Access> {
    (prop::collection::btree_set(prop::sample::select(ROLES), 0..3), prop::option::of(prop::sample::select(vec!["read", "write"])))
        .prop_map(|(roles, asset)| Access {
            roles: roles.into_iter().map(str::to_string).collect(),
            assets: asset.map(|r| ("repo".to_string(), r.to_string())).into_iter().collect(),
        })
}

fn user() -> impl Strategy<Value = DirectoryUser> {
    (
        prop::sample::select(vec!["u1", "u2", "u3", "u4", "u5"]),
        prop::collection::vec(prop::sample::select(EMAILS), 0..3),
        any::<bool>(),
        any::<bool>(),
        prop::collection::btree_set(prop::sample::select(vec!["t1", "t2"]), 0..3),
        any::<bool>(),
    )
        .prop_map(|(name, emails, inactive, external, teams, claimed)| DirectoryUser {
            name: name.into(),
            user_name: format!("{name}@idp"),
            emails: emails.into_iter().map(str::to_string).collect(),
            display_name: None,
            given_name: None,
            family_name: None,
            // Mostly active, mostly internal: the interesting cases.
            active: !inactive || name == "u1",
            external: external && name == "u5",
            teams: teams.into_iter().map(str::to_string).collect(),
            claimed,
        })
}

fn grant() -> impl Strategy<Value = GrantInput> {
    (
        prop::sample::select(vec!["g1", "g2", "g3", "g4"]),
        prop::sample::select(vec!["t1", "t2", "u1", "u2", "u3"]),
        prop::collection::vec(prop::sample::select(ROLES), 0..3),
        prop::option::of(prop::option::of(prop::sample::select(vec!["read", "write", "nope"]))),
        prop::sample::select(vec![true, true, true, false]),
        prop::sample::select(vec![false, false, true]),
        prop::sample::select(vec![WorkspaceRole::Collaborator, WorkspaceRole::Manager, WorkspaceRole::Owner]),
    )
        .prop_map(|(name, subject, roles, asset, seat, needs_claim, workspace_role)| GrantInput {
            name: name.into(),
            team: subject.starts_with('t').then(|| subject.to_string()),
            user: subject.starts_with('u').then(|| subject.to_string()),
            // Only an Owner grant may go without a seat (the CRD's rule).
            workspace_role: if seat { workspace_role } else { WorkspaceRole::Owner },
            app_roles: roles.into_iter().map(str::to_string).collect(),
            assets: asset.map(|role| ("repo".to_string(), role.map(str::to_string))).into_iter().collect(),
            seat,
            needs_claim,
        })
}

fn account() -> impl Strategy<Value = KnownAccount> {
    (
        prop::sample::select(EMAILS),
        prop::option::of((access(), prop::sample::select(vec![(true, false), (true, false), (false, true), (false, false)]))),
        prop::option::of(prop::sample::select(vec!["u1", "u4", "ghost"])),
        prop::sample::select(vec![None, None, None, Some("contractor keeps it")]),
        prop::option::of(prop::sample::select(vec![
            AccountState::InviteSent,
            AccountState::InviteFailed,
            AccountState::Onboarded,
            AccountState::Removing,
        ])),
        prop::option::of(NOW - 2000..NOW),
        0u32..4,
        prop::option::of(NOW - 2000..NOW),
        // Who rolecall matched it to before, if anyone; "ghost" no longer exists.
        (prop::option::of(prop::sample::select(vec!["u1", "u2", "u5", "ghost"])), any::<bool>()),
    )
        .prop_map(|(email, observed, match_user, exemption, state, sent, resends, ended, (matched_user, managed))| KnownAccount {
            email: email.into(),
            observed: observed.map(|(access, (active, invite_pending))| ExternalAccount {
                id: format!("id-{}", email.to_lowercase()),
                email: email.into(),
                display_name: None,
                access,
                active,
                invite_pending,
                login_method: None,
                last_active: None,
                invitation_failed: None,
                note: None,
                service_account: false,
            }),
            match_user: match_user.map(str::to_string),
            exemption: exemption.map(str::to_string),
            record: AccountRecord {
                state,
                invite_sent_at: sent,
                invite_resends: resends,
                access_ended_at: ended,
                in_flight: None,
                matched_user: matched_user.map(str::to_string),
                managed,
            },
        })
}

fn hub() -> impl Strategy<Value = HubPolicy> {
    (
        prop::sample::select(vec![HubMode::Enforce, HubMode::Enforce, HubMode::DryRun, HubMode::Observe]),
        prop::sample::select(vec![RoleModel::Hierarchical, RoleModel::Permissions]),
        1u32..4,
        0u32..4,
        prop::sample::select(vec![false, false, true]),
        prop::sample::select(vec![0i64, 600, 5000]),
        prop::sample::select(vec![None, Some("svc@acme.io")]),
        prop::sample::select(vec![vec![], vec!["acme.io".to_string()]]),
        (prop::sample::select(vec![UngrantedAccounts::Keep, UngrantedAccounts::Remove]), capabilities()),
    )
        .prop_map(|(mode, role_model, max, used, approved, grace, service, domains, (ungranted, capabilities))| HubPolicy {
            name: "hub".into(),
            mode,
            role_model,
            roles: catalog(),
            assets: vec![AppAsset { name: "repo".into(), id: None, kind: None, roles: vec!["read".into(), "write".into()] }],
            login_method: LoginMethod::Sso,
            max_removals_per_window: max,
            removals_in_window: used,
            removals_approved: approved,
            removal_grace_secs: grace,
            invite_expiry_secs: 1000,
            max_invite_resends: 2,
            service_account_email: service.map(str::to_string),
            workspace_domains: domains,
            ungranted_accounts: ungranted,
            capabilities,
        })
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    (prop::sample::select(vec![RoleSupport::Many, RoleSupport::One, RoleSupport::None]), any::<bool>(), any::<bool>(), any::<bool>())
        .prop_map(|(roles, assets, invitations, deactivation)| Capabilities {
            roles,
            assets,
            invitations,
            deactivation,
            last_activity: false,
            partners: false,
        })
}

fn input() -> impl Strategy<Value = PlanInput> {
    // Shuffled, so no rule can lean on the order the caches happen to list things in.
    (
        hub(),
        prop::collection::vec(user(), 0..6).prop_shuffle(),
        prop::collection::vec(grant(), 0..5).prop_shuffle(),
        prop::collection::vec(account(), 0..7).prop_shuffle(),
        any::<bool>(),
    )
        .prop_map(|(hub, mut users, mut grants, mut accounts, read_back)| {
            // Kubernetes names are unique, and so are AppAccounts per (lowercase) email.
            let mut seen = BTreeSet::new();
            users.retain(|u| seen.insert(u.name.clone()));
            grants.retain(|g| seen.insert(g.name.clone()));
            accounts.retain(|a| seen.insert(a.email.to_lowercase()));
            PlanInput { now: NOW, hub, users, grants, accounts, read_back }
        })
}

/// What a perfect executor and app would make of a plan: the next input.
fn apply(input: &PlanInput, plan: &Plan) -> PlanInput {
    let mut originals: Vec<&KnownAccount> = input.accounts.iter().collect();
    originals.sort_by(|a, b| a.email.to_lowercase().cmp(&b.email.to_lowercase()).then_with(|| a.email.cmp(&b.email)));
    let mut accounts: BTreeMap<String, KnownAccount> = BTreeMap::new();
    for entry in plan.accounts.iter().filter(|e| !e.forget) {
        let original = originals.iter().find(|a| a.email.eq_ignore_ascii_case(&entry.email));
        accounts.insert(
            entry.email.to_lowercase(),
            KnownAccount {
                email: entry.email.clone(),
                observed: original.and_then(|a| a.observed.clone()),
                match_user: original.and_then(|a| a.match_user.clone()),
                exemption: original.and_then(|a| a.exemption.clone()),
                record: entry.record.clone(),
            },
        );
    }
    if input.hub.mode == HubMode::Enforce {
        for action in &plan.actions {
            let Some(account) = accounts.get_mut(&action.email().to_lowercase()) else {
                panic!("an action for an account the plan does not list: {action:?}")
            };
            match action {
                Action::Add { account: new, resend, .. } => {
                    account.observed = Some(ExternalAccount {
                        id: format!("new-{}", new.email),
                        email: new.email.clone(),
                        display_name: None,
                        access: new.access.clone(),
                        active: true,
                        invite_pending: false,
                        login_method: None,
                        last_active: None,
                        invitation_failed: None,
                        note: None,
                        service_account: false,
                    });
                    account.record.state = Some(AccountState::InviteSent);
                    account.record.invite_sent_at = Some(input.now);
                    if *resend {
                        account.record.invite_resends += 1;
                    }
                }
                Action::Update { access, .. } => {
                    let o = account.observed.as_mut().expect("an update of an account the app has");
                    o.access = access.clone();
                    o.active = true;
                }
                Action::Remove { .. } => {
                    account.observed = None;
                    account.record = AccountRecord::default();
                }
            }
        }
    }
    PlanInput { accounts: accounts.into_values().collect(), ..input.clone() }
}

fn managed_by_rule(input: &PlanInput, email: &str) -> bool {
    let exempted = input.accounts.iter().any(|a| a.email.eq_ignore_ascii_case(email) && a.exemption.is_some());
    let service = input.hub.service_account_email.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(email));
    !(exempted || service)
}

fn active_admins(input: &PlanInput) -> usize {
    let mut seen = BTreeSet::new();
    input
        .accounts
        .iter()
        .filter(|a| seen.insert(a.email.to_lowercase()))
        .filter_map(|a| a.observed.as_ref())
        .filter(|o| o.active && holds_admin(&input.hub, &o.access))
        .count()
}

#[test]
fn applying_a_plan_then_planning_again_yields_nothing() {
    check_property("plan ∘ apply is idempotent", input(), |input| {
        let first = plan(&input);
        let next = apply(&input, &first);
        let second = plan(&next);
        if input.hub.mode == HubMode::Enforce {
            // The one thing a plan can unlock for the next: a removal or demotion
            // the last-admin rule deferred, once the first plan seated another admin.
            let deferred: BTreeSet<&str> = first
                .accounts
                .iter()
                .filter(|a| matches!(a.note.as_deref(), Some(LAST_ADMIN_NOTE | LAST_ADMIN_KEEPS_ROLE_NOTE)))
                .map(|a| a.email.as_str())
                .collect();
            let unlocked = second.actions.iter().all(|a| !matches!(a, Action::Add { .. }) && deferred.contains(a.email()));
            prop_assert!(unlocked, "first plan: {:?}\nsecond plan: {:?}", first.actions, second.actions);
            let third = plan(&apply(&next, &second));
            prop_assert!(third.actions.is_empty(), "third plan: {:?}", third.actions);
        } else {
            prop_assert_eq!(&second.actions, &first.actions, "DryRun and Observe change nothing, so they plan the same again");
        }
        Ok(())
    });
}

#[test]
fn the_order_of_users_grants_and_accounts_never_changes_the_plan() {
    check_property("plan is order-independent", (input(), any::<u64>()), |(input, seed)| {
        let mut shuffled = input.clone();
        let rotate = |n: usize| if n == 0 { 0 } else { (seed as usize) % n };
        shuffled.users.reverse();
        let n = shuffled.users.len();
        shuffled.users.rotate_left(rotate(n));
        shuffled.grants.reverse();
        let n = shuffled.grants.len();
        shuffled.grants.rotate_left(rotate(n));
        for g in &mut shuffled.grants {
            g.app_roles.reverse();
        }
        // Accounts whose emails differ only in case are one account; which spelling wins is fixed by the sort, so keep those in place.
        shuffled.accounts.sort_by_key(|a| std::cmp::Reverse(a.email.to_lowercase()));
        let stable = |mut p: Plan| {
            p.accounts.sort_by_key(|a| (a.email.to_lowercase(), a.matched_user().map(str::to_string)));
            p
        };
        let (a, b) = (stable(plan(&input)), stable(plan(&shuffled)));
        prop_assert_eq!(a, b);
        Ok(())
    });
}

#[test]
fn users_no_grant_or_account_concerns_never_change_the_plan() {
    check_property("plan ignores unconcerned users", input(), |input| {
        let mut relevant = input.clone();
        let users: Vec<&DirectoryUser> = input.users.iter().collect();
        relevant.users = relevance::relevant_users(&input.grants, &input.accounts, &users).into_iter().cloned().collect();
        prop_assert_eq!(plan(&input), plan(&relevant));
        Ok(())
    });
}

#[test]
fn exempted_accounts_and_the_service_account_are_never_touched() {
    check_property("exempted accounts untouched", input(), |input| {
        for action in plan(&input).actions {
            prop_assert!(managed_by_rule(&input, action.email()), "{action:?} touches an exempted or service account");
        }
        Ok(())
    });
}

#[test]
fn the_last_admin_is_never_removed_or_demoted() {
    check_property("last admin kept", input(), |input| {
        let before = active_admins(&input);
        let after = active_admins(&apply(&input, &plan(&input)));
        prop_assert!(before == 0 || after >= 1, "{before} active admins before, {after} after");
        Ok(())
    });
}

#[test]
fn removals_never_exceed_the_limit_unless_approved() {
    check_property("removal limit", input(), |input| {
        let result = plan(&input);
        let removals = result.actions.iter().filter(|a| matches!(a, Action::Remove { cancel_invite: false, .. })).count() as u32;
        if !input.hub.removals_approved {
            prop_assert!(
                removals <= input.hub.max_removals_per_window.saturating_sub(input.hub.removals_in_window),
                "{removals} removals with {} of {} used",
                input.hub.removals_in_window,
                input.hub.max_removals_per_window
            );
        }
        prop_assert!(removals == 0 || result.held.is_empty(), "removals both made and held");
        Ok(())
    });
}

#[test]
fn a_deactivated_or_deleted_user_keeps_no_seat_past_the_grace_period() {
    check_property("offboarding removes every seat", input(), |mut input| {
        input.hub.mode = HubMode::Enforce;
        input.hub.removal_grace_secs = 0;
        input.hub.removals_approved = true;
        let first = plan(&input);
        let next = apply(&input, &first);
        let users: BTreeMap<&str, &DirectoryUser> = input.users.iter().map(|u| (u.name.as_str(), u)).collect();
        for entry in &first.accounts {
            let Some(name) = entry.matched_user() else { continue };
            let offboarded = users.get(name).is_none_or(|u| !u.active);
            if !offboarded || entry.note.as_deref() == Some(LAST_ADMIN_NOTE) {
                continue;
            }
            let still = next.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(&entry.email)).and_then(|a| a.observed.as_ref());
            prop_assert!(
                still.is_none_or(|o| !o.holds_seat()),
                "{} of offboarded user {name} still holds a seat: {entry:?}\nactions: {:?}",
                entry.email,
                first.actions
            );
        }
        Ok(())
    });
}

#[test]
fn accounts_rolecall_never_seated_are_kept_when_the_hub_says_keep() {
    check_property("keep means keep", input(), |input| {
        let result = plan(&input);
        let users: BTreeMap<&str, &DirectoryUser> = input.users.iter().map(|u| (u.name.as_str(), u)).collect();
        for entry in result.accounts.iter().filter(|e| e.state == Some(AccountState::KeptWithoutGrant)) {
            prop_assert_eq!(input.hub.ungranted_accounts, UngrantedAccounts::Keep);
            prop_assert!(!entry.record.managed, "{:?}", entry);
            prop_assert!(entry.matched_user().and_then(|n| users.get(n)).is_some_and(|u| u.active), "{:?}", entry);
            prop_assert!(result.actions.iter().all(|a| !a.email().eq_ignore_ascii_case(&entry.email)), "a kept account is touched");
        }
        Ok(())
    });
}
