//! The planner's rules one at a time, on small worlds a reader can check by eye.

use super::*;
use crate::api::access_grant::WorkspaceRole;
use crate::api::app_account::{AccountState, AccountWorkspaceRole, UserTable};
use crate::api::business_hub::{AppAsset, AppRole, HubMode, LoginMethod, RoleModel, UngrantedAccounts};

const NOW: i64 = 1_000_000;

pub(crate) fn hub() -> HubPolicy {
    HubPolicy {
        name: "app".into(),
        mode: HubMode::Enforce,
        role_model: RoleModel::Hierarchical,
        roles: vec![
            AppRole { name: "viewer".into(), weight: 1, admin: false, description: None },
            AppRole { name: "editor".into(), weight: 10, admin: false, description: None },
            AppRole { name: "owner".into(), weight: 100, admin: true, description: None },
        ],
        assets: vec![],
        login_method: LoginMethod::Sso,
        max_removals_per_window: 10,
        removals_in_window: 0,
        removals_approved: false,
        removal_grace_secs: 600,
        invite_expiry_secs: 3600,
        max_invite_resends: 1,
        service_account_email: Some("bot@acme.io".into()),
        workspace_domains: vec!["acme.io".into()],
        ungranted_accounts: UngrantedAccounts::Keep,
        capabilities: Capabilities::ALL,
    }
}

pub(crate) fn user(name: &str, teams: &[&str]) -> DirectoryUser {
    DirectoryUser {
        name: name.into(),
        user_name: format!("{name}@acme.io"),
        emails: vec![format!("{name}@acme.io")],
        display_name: None,
        given_name: None,
        family_name: None,
        active: true,
        external: false,
        teams: teams.iter().map(|t| t.to_string()).collect(),
        claimed: false,
    }
}

fn grant(name: &str, team: &str, role: &str) -> GrantInput {
    GrantInput {
        name: name.into(),
        team: Some(team.into()),
        user: None,
        workspace_role: WorkspaceRole::Collaborator,
        app_roles: vec![role.into()],
        assets: vec![],
        seat: true,
        needs_claim: false,
    }
}

pub(crate) fn in_app(email: &str, roles: &[&str], invite_pending: bool) -> KnownAccount {
    KnownAccount {
        email: email.into(),
        observed: Some(ExternalAccount {
            id: format!("id-{email}"),
            email: email.into(),
            display_name: None,
            access: Access { roles: roles.iter().map(|r| r.to_string()).collect(), assets: Default::default() },
            active: !invite_pending,
            invite_pending,
            login_method: None,
            last_active: None,
            invitation_failed: None,
            note: None,
            service_account: false,
        }),
        match_user: None,
        exemption: None,
        record: AccountRecord::default(),
    }
}

fn input(users: Vec<DirectoryUser>, grants: Vec<GrantInput>, accounts: Vec<KnownAccount>) -> PlanInput {
    PlanInput { now: NOW, hub: hub(), users, grants, accounts, read_back: true }
}

fn entry<'a>(plan: &'a Plan, email: &str) -> &'a AccountPlan {
    plan.accounts.iter().find(|a| a.email == email).expect("planned")
}

/// An account rolecall seated for `user` (its record says so).
fn seated(email: &str, roles: &[&str], user: &str) -> KnownAccount {
    let mut account = in_app(email, roles, false);
    account.record.matched_user = Some(user.into());
    account.record.managed = true;
    account
}

#[test]
fn the_highest_role_over_all_grants_wins() {
    let plan =
        plan(&input(vec![user("ann", &["eng", "design"])], vec![grant("g1", "eng", "viewer"), grant("g2", "design", "editor")], vec![]));
    let [Action::Add { account, .. }] = plan.actions.as_slice() else { panic!("{:?}", plan.actions) };
    assert_eq!(account.access.roles.iter().collect::<Vec<_>>(), ["editor"]);
    assert_eq!(entry(&plan, "ann@acme.io").granted_via, ["g1", "g2"]);
    assert_eq!(entry(&plan, "ann@acme.io").state, Some(AccountState::PendingInvite));
}

#[test]
fn a_group_move_inside_the_grace_period_is_one_role_update() {
    // ann moved from eng (viewer) to design (editor); her account still says viewer.
    let plan = plan(&input(
        vec![user("ann", &["design"])],
        vec![grant("g1", "eng", "viewer"), grant("g2", "design", "editor")],
        vec![in_app("ann@acme.io", &["viewer"], false)],
    ));
    assert!(matches!(plan.actions.as_slice(), [Action::Update { access, .. }] if access.roles.contains("editor")), "{:?}", plan.actions);
}

#[test]
fn a_leaver_keeps_the_seat_through_the_grace_period_then_loses_it() {
    let world = input(vec![user("ann", &[])], vec![grant("g1", "eng", "viewer")], vec![seated("ann@acme.io", &["viewer"], "ann")]);
    let first = plan(&world);
    assert!(first.actions.is_empty());
    assert_eq!(entry(&first, "ann@acme.io").state, Some(AccountState::Removing));
    assert_eq!(entry(&first, "ann@acme.io").record.access_ended_at, Some(NOW));
    let mut later = world.clone();
    later.now = NOW + 600;
    later.accounts[0].record = entry(&first, "ann@acme.io").record.clone();
    assert!(matches!(plan(&later).actions.as_slice(), [Action::Remove { cancel_invite: false, .. }]));
}

#[test]
fn an_expired_invitation_is_sent_again_then_reported_failed() {
    let mut pending = in_app("ann@acme.io", &["viewer"], true);
    pending.record = AccountRecord { state: Some(AccountState::InviteSent), invite_sent_at: Some(NOW - 3600), ..Default::default() };
    let world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "viewer")], vec![pending]);
    let resend = plan(&world);
    assert!(
        matches!(resend.actions.as_slice(), [Action::Add { resend: true, cancel_first: Some(id), .. }] if id == "id-ann@acme.io"),
        "{:?}",
        resend.actions
    );
    assert_eq!(entry(&resend, "ann@acme.io").state, Some(AccountState::InviteExpired));
    let mut exhausted = world.clone();
    exhausted.accounts[0].record.invite_resends = 1;
    let failed = plan(&exhausted);
    assert!(failed.actions.is_empty());
    assert_eq!(entry(&failed, "ann@acme.io").state, Some(AccountState::InviteFailed));
}

#[test]
fn an_invitation_the_app_reports_failed_or_expired_shows_so_and_is_sent_again_per_the_policy() {
    // GitHub moved the invitation to its failed invitations: neither a member nor pending.
    let failed_at = |expired: bool, at: i64| {
        let mut account = in_app("ann@acme.io", &[], false);
        let observed = account.observed.as_mut().expect("observed");
        observed.active = false;
        let reason = if expired { "Invitation expired" } else { "The email bounced" };
        observed.invitation_failed = Some(InvitationFailure { reason: reason.into(), at: Some(at), expired });
        account.record = AccountRecord { state: Some(AccountState::InviteSent), invite_sent_at: Some(NOW - 60), ..Default::default() };
        account
    };
    for expired in [false, true] {
        let world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "viewer")], vec![failed_at(expired, NOW - 10)]);
        let resend = plan(&world);
        // Nothing pending to cancel: the failed invitation is gone from GitHub's pending list.
        assert!(
            matches!(resend.actions.as_slice(), [Action::Add { resend: true, cancel_first: None, .. }]),
            "{expired}: {:?}",
            resend.actions
        );
        let ann = entry(&resend, "ann@acme.io");
        let shown = if expired { AccountState::InviteExpired } else { AccountState::InviteFailed };
        assert_eq!(ann.state, Some(shown));
        assert!(ann.note.as_deref().is_some_and(|n| n.contains("the app says") && n.contains("1 of at most 1")), "{:?}", ann.note);
        // The policy's resends used up: InviteFailed for good, with the app's reason, nothing sent.
        let mut exhausted = world.clone();
        exhausted.accounts[0].record.invite_resends = 1;
        let failed = plan(&exhausted);
        assert!(failed.actions.is_empty(), "{:?}", failed.actions);
        assert_eq!(entry(&failed, "ann@acme.io").state, Some(AccountState::InviteFailed));
        assert!(entry(&failed, "ann@acme.io").note.as_deref().is_some_and(|n| n.contains("not accepted after 2")));
    }
    // A failure older than the last send is an earlier invitation's: the new one waits its expiry.
    let mut world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "viewer")], vec![failed_at(false, NOW - 120)]);
    world.hub.capabilities.deactivation = false; // as GitHub: an account that is not active is not a deactivated one
    let stale = plan(&world);
    assert!(stale.actions.is_empty(), "{:?}", stale.actions);
    assert_eq!(entry(&stale, "ann@acme.io").state, Some(AccountState::InviteSent));
}

#[test]
fn an_unmatched_account_carries_the_connectors_note() {
    let mut member = in_app("ann-dev@users.noreply.github.com", &["member"], false);
    member.observed.as_mut().expect("observed").note = Some("GitHub does not show this member's email".into());
    let plan = plan(&input(vec![user("ann", &["eng"])], vec![], vec![member]));
    let entry = entry(&plan, "ann-dev@users.noreply.github.com");
    assert_eq!((entry.table, entry.state), (UserTable::Unmatched, Some(AccountState::ExternalEnrollee)));
    assert_eq!(entry.note.as_deref(), Some("GitHub does not show this member's email"));
}

#[test]
fn an_invitation_is_cancelled_when_access_ends_before_it_is_accepted() {
    let mut invited = in_app("ann@acme.io", &["viewer"], true);
    invited.record.managed = true;
    let mut world = input(vec![user("ann", &[])], vec![], vec![invited]);
    world.hub.removal_grace_secs = 0;
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Remove { cancel_invite: true, .. }]));
}

#[test]
fn collection_grants_wait_for_a_claim() {
    let mut g = grant("g1", "eng", "viewer");
    g.needs_claim = true;
    let mut ann = user("ann", &["eng"]);
    let waiting = plan(&input(vec![ann.clone()], vec![g.clone()], vec![]));
    assert!(waiting.actions.is_empty());
    assert!(entry(&waiting, "ann@acme.io").note.as_deref().is_some_and(|n| n.contains("claim")));
    ann.claimed = true;
    assert!(matches!(plan(&input(vec![ann], vec![g], vec![])).actions.as_slice(), [Action::Add { .. }]));
}

#[test]
fn accounts_land_in_the_four_tables() {
    let mut ext = user("eve", &["eng"]);
    ext.external = true;
    let mut exempt = in_app("old@acme.io", &["viewer"], false);
    exempt.exemption = Some("shared login".into());
    let plan = plan(&input(
        vec![user("ann", &["eng"]), ext],
        vec![grant("g1", "eng", "viewer")],
        vec![
            in_app("ann@acme.io", &["viewer"], false),
            in_app("eve@acme.io", &["viewer"], false),
            in_app("stranger@acme.io", &["viewer"], false),
            in_app("partner@agency.io", &["viewer"], false),
            in_app("bot@acme.io", &["owner"], false),
            exempt,
        ],
    ));
    let table = |email| entry(&plan, email).table;
    assert_eq!(table("ann@acme.io"), UserTable::Onboarded);
    assert_eq!(table("eve@acme.io"), UserTable::Guest);
    assert_eq!(table("stranger@acme.io"), UserTable::Unmatched);
    // Unmatched whatever the domain: a Guest is a matched external collaborator.
    assert_eq!(table("partner@agency.io"), UserTable::Unmatched);
    assert_eq!(entry(&plan, "partner@agency.io").state, Some(AccountState::ExternalEnrollee));
    assert_eq!(table("bot@acme.io"), UserTable::ServiceAccount);
    assert_eq!(table("old@acme.io"), UserTable::Exempted);
    assert_eq!(entry(&plan, "old@acme.io").state, Some(AccountState::Exempt));
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
}

#[test]
fn a_batch_over_the_limit_holds_every_removal() {
    let mut world = input(vec![], vec![], vec![]);
    world.hub.removal_grace_secs = 0;
    world.hub.max_removals_per_window = 2;
    for name in ["a", "b", "c"] {
        world.users.push(user(name, &[]));
        world.accounts.push(seated(&format!("{name}@acme.io"), &["viewer"], name));
    }
    let held = plan(&world);
    assert!(held.actions.is_empty());
    assert_eq!(held.held.len(), 3);
    world.hub.removals_approved = true;
    assert_eq!(plan(&world).actions.len(), 3);
}

#[test]
fn a_deleted_user_loses_the_seat_like_a_deactivated_one() {
    // ann was seated for a grant; her User is gone (SCIM DELETE, kubectl delete, a GitOps prune).
    let world = input(vec![], vec![grant("g1", "eng", "viewer")], vec![seated("ann@acme.io", &["viewer"], "ann")]);
    let first = plan(&world);
    let ann = entry(&first, "ann@acme.io");
    assert_eq!((ann.table, ann.state, ann.matched_user()), (UserTable::Onboarded, Some(AccountState::Removing), Some("ann")));
    assert!(ann.note.as_deref().is_some_and(|n| n.contains("no longer exists")), "{:?}", ann.note);
    assert!(first.actions.is_empty(), "the grace period first: {:?}", first.actions);
    let mut later = world.clone();
    later.now = NOW + 600;
    later.accounts[0].record = ann.record.clone();
    assert!(matches!(plan(&later).actions.as_slice(), [Action::Remove { cancel_invite: false, .. }]));
    // The removal limit holds it like any other.
    later.hub.max_removals_per_window = 1;
    later.hub.removals_in_window = 1;
    let held = plan(&later);
    assert!(held.actions.is_empty() && held.held.len() == 1, "{held:?}");
}

#[test]
fn a_deleted_users_kept_account_goes_too_because_offboarding_ignores_the_keep_policy() {
    let mut kept = in_app("ann@acme.io", &["viewer"], false);
    kept.record.matched_user = Some("ann".into());
    let mut world = input(vec![], vec![], vec![kept]);
    world.hub.removal_grace_secs = 0;
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Remove { .. }]));
    // A deactivated user's kept account too.
    let mut ann = user("ann", &[]);
    ann.active = false;
    world.users = vec![ann];
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Remove { .. }]));
}

#[test]
fn switching_a_hub_on_keeps_matched_accounts_without_a_grant() {
    // rolecall meets an app where ann, bob and a stranger already have accounts; only ann is granted.
    let world = input(
        vec![user("ann", &["eng"]), user("bob", &[])],
        vec![grant("g1", "eng", "viewer")],
        vec![in_app("ann@acme.io", &["viewer"], false), in_app("bob@acme.io", &["editor"], false), in_app("zed@acme.io", &[], false)],
    );
    let first = plan(&world);
    assert!(first.actions.is_empty(), "{:?}", first.actions);
    let bob = entry(&first, "bob@acme.io");
    assert_eq!((bob.table, bob.state), (UserTable::Onboarded, Some(AccountState::KeptWithoutGrant)));
    assert!(!bob.record.managed);
    assert!(entry(&first, "ann@acme.io").record.managed, "a granted account becomes managed");
    assert_eq!(entry(&first, "zed@acme.io").state, Some(AccountState::ExternalEnrollee));
    // Remove: the grace period and the limit, then removal.
    let mut strict = world.clone();
    strict.hub.ungranted_accounts = UngrantedAccounts::Remove;
    let first = plan(&strict);
    assert_eq!(entry(&first, "bob@acme.io").state, Some(AccountState::Removing));
    assert!(first.actions.is_empty());
    strict.now = NOW + 600;
    strict.accounts[1].record = entry(&first, "bob@acme.io").record.clone();
    let removal = plan(&strict);
    assert!(matches!(removal.actions.as_slice(), [Action::Remove { email, .. }] if email == "bob@acme.io"), "{:?}", removal.actions);
}

#[test]
fn a_managed_account_whose_grant_ends_is_removed_whatever_the_keep_policy() {
    let mut world = input(vec![user("ann", &[])], vec![], vec![seated("ann@acme.io", &["viewer"], "ann")]);
    world.hub.removal_grace_secs = 0;
    assert_eq!(world.hub.ungranted_accounts, UngrantedAccounts::Keep);
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Remove { .. }]));
}

#[test]
fn an_asset_grant_on_a_connector_without_assets_plans_no_update_ever() {
    let mut world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "viewer")], vec![in_app("ann@acme.io", &["viewer"], false)]);
    world.hub.assets = vec![AppAsset { name: "repo".into(), id: None, kind: None, roles: vec!["read".into(), "write".into()] }];
    world.grants[0].assets = vec![("repo".into(), Some("write".into()))];
    // A connector that manages assets would add the asset...
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Update { access, .. }] if access.assets.contains_key("repo")));
    // ...one that cannot never sends an update for it (the app never reports it back).
    world.hub.capabilities = Capabilities { assets: false, ..Capabilities::ALL };
    let steady = plan(&world);
    assert!(steady.actions.is_empty(), "{:?}", steady.actions);
    assert_eq!(entry(&steady, "ann@acme.io").access.as_ref().map(|a| a.assets.len()), Some(0));
}

#[test]
fn a_single_role_app_never_gets_a_role_update() {
    // The app lists no roles at all; the catalog has one role.
    let mut world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "member")], vec![in_app("ann@acme.io", &[], false)]);
    world.hub.roles = vec![AppRole { name: "member".into(), weight: 1, admin: false, description: None }];
    assert!(plan(&world).actions.is_empty());
    // A connector that declares no roles: neither compared nor sent.
    let mut no_roles = input(vec![user("bob", &["eng"])], vec![grant("g1", "eng", "editor")], vec![]);
    no_roles.hub.capabilities = Capabilities { roles: RoleSupport::None, ..Capabilities::ALL };
    let actions = plan(&no_roles).actions;
    assert!(matches!(actions.as_slice(), [Action::Add { account, .. }] if account.access.roles.is_empty()), "{actions:?}");
}

#[test]
fn a_hand_match_makes_an_account_onboarded_and_names_the_person() {
    let mut matched = in_app("a.smith@old.example", &["viewer"], false);
    matched.match_user = Some("ann".into());
    let mut ann = user("ann", &["eng"]);
    ann.display_name = Some("Ann Smith".into());
    let plan = plan(&input(vec![ann], vec![grant("g1", "eng", "viewer")], vec![matched]));
    let e = entry(&plan, "a.smith@old.example");
    assert_eq!((e.table, e.state), (UserTable::Onboarded, Some(AccountState::Onboarded)));
    let member = e.member.clone().expect("member");
    assert_eq!((member.user_name.as_deref(), member.display_name.as_deref()), (Some("ann@acme.io"), Some("Ann Smith")));
    assert!(plan.actions.is_empty(), "the hand-matched account is her seat: {:?}", plan.actions);
}

#[test]
fn an_email_rename_in_the_idp_keeps_the_account_and_sends_no_second_invitation() {
    let mut ann = user("ann", &["eng"]);
    ann.emails = vec!["ann.jones@acme.io".into()];
    let plan = plan(&input(vec![ann], vec![grant("g1", "eng", "viewer")], vec![seated("ann.smith@acme.io", &["viewer"], "ann")]));
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(entry(&plan, "ann.smith@acme.io").state, Some(AccountState::Onboarded));
}

#[test]
fn workspace_roles_reach_the_tables_and_owners_may_manage_without_a_seat() {
    let mut owner = grant("owners", "it", "viewer");
    owner.workspace_role = WorkspaceRole::Owner;
    owner.seat = false;
    let mut manager = grant("managers", "eng", "editor");
    manager.workspace_role = WorkspaceRole::Manager;
    let plan = plan(&input(
        vec![user("ann", &["it"]), user("bob", &["it", "eng"]), user("cy", &["eng"])],
        vec![owner, manager, grant("viewers", "eng", "viewer")],
        vec![],
    ));
    let ann = entry(&plan, "ann@acme.io");
    assert_eq!((ann.state, ann.workspace_role), (Some(AccountState::ManageOnly), Some(AccountWorkspaceRole::Owner)));
    assert_eq!(ann.granted_via, ["owners"]);
    let bob = entry(&plan, "bob@acme.io");
    assert_eq!((bob.state, bob.workspace_role), (Some(AccountState::PendingInvite), Some(AccountWorkspaceRole::Mixed)));
    assert_eq!(bob.granted_via, ["managers", "owners", "viewers"]);
    assert_eq!(entry(&plan, "cy@acme.io").workspace_role, Some(AccountWorkspaceRole::Mixed));
    let invited: Vec<&str> = plan.actions.iter().map(|a| a.email()).collect();
    assert_eq!(invited, ["bob@acme.io", "cy@acme.io"], "an Owner without a seat is never invited");
}

#[test]
fn dry_run_notes_say_what_enforce_would_do() {
    let mut world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "viewer")], vec![]);
    world.hub.mode = HubMode::DryRun;
    let plan = plan(&world);
    assert_eq!(entry(&plan, "ann@acme.io").note.as_deref(), Some("DryRun: would Invite"));
}

#[test]
fn an_add_announced_before_a_crash_is_looked_up_only_when_no_read_back_has_shown_the_app_since() {
    let mut announced = KnownAccount { observed: None, ..in_app("ann@acme.io", &[], false) };
    announced.record = AccountRecord { state: Some(AccountState::PendingInvite), in_flight: Some(InFlight::Add), ..Default::default() };
    let mut world = input(vec![user("ann", &["eng"])], vec![grant("g1", "eng", "viewer")], vec![announced]);
    // This sync read the app back after the announcement: the app has no such account, the add did not happen.
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Add { read_back_first: false, .. }]));
    // No read-back since: the executor looks the account up before adding it.
    world.read_back = false;
    assert!(matches!(plan(&world).actions.as_slice(), [Action::Add { read_back_first: true, .. }]));
}

#[test]
fn a_removed_leavers_account_holds_nothing_and_no_grant_shares_it() {
    // ann was deactivated in the IdP and her seat removed; the app keeps her account deactivated.
    let mut ann = user("ann", &["eng"]);
    ann.active = false;
    let mut kept = seated("ann@acme.io", &[], "ann");
    kept.record.managed = false;
    if let Some(o) = kept.observed.as_mut() {
        o.active = false;
    }
    let kept_plan = plan(&input(vec![ann.clone()], vec![grant("g1", "eng", "viewer")], vec![kept]));
    let row = entry(&kept_plan, "ann@acme.io");
    assert!(kept_plan.actions.is_empty(), "{:?}", kept_plan.actions);
    assert_eq!((row.table, row.state, row.forget), (UserTable::Onboarded, Some(AccountState::Removed), false));
    assert!(row.granted_via.is_empty(), "a deactivated user's team grant shares no seat: {:?}", row.granted_via);

    // An app that deleted the account: the row goes at this read-back.
    let mut gone = seated("ann@acme.io", &[], "ann");
    gone.observed = None;
    gone.record.managed = false;
    let gone_plan = plan(&input(vec![ann], vec![grant("g1", "eng", "viewer")], vec![gone]));
    assert!(entry(&gone_plan, "ann@acme.io").forget);
}
