//! The planner's rules one at a time, on small worlds a reader can check by eye.

use super::*;
use crate::api::app_account::{AccountState, UserTable};
use crate::api::business_hub::{AppRole, HubMode, LoginMethod, RoleModel};
use crate::connector::{Access, ExternalAccount};

const NOW: i64 = 1_000_000;

fn hub() -> HubPolicy {
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
    }
}

fn user(name: &str, teams: &[&str]) -> DirectoryUser {
    DirectoryUser {
        name: name.into(),
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
        app_roles: vec![role.into()],
        assets: vec![],
        seat: true,
        needs_claim: false,
    }
}

fn in_app(email: &str, roles: &[&str], invite_pending: bool) -> KnownAccount {
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
        }),
        match_user: None,
        exemption: None,
        record: AccountRecord::default(),
    }
}

fn input(users: Vec<DirectoryUser>, grants: Vec<GrantInput>, accounts: Vec<KnownAccount>) -> PlanInput {
    PlanInput { now: NOW, hub: hub(), users, grants, accounts }
}

fn entry<'a>(plan: &'a Plan, email: &str) -> &'a AccountPlan {
    plan.accounts.iter().find(|a| a.email == email).expect("planned")
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
    let world = input(vec![user("ann", &[])], vec![grant("g1", "eng", "viewer")], vec![in_app("ann@acme.io", &["viewer"], false)]);
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
fn an_invitation_is_cancelled_when_access_ends_before_it_is_accepted() {
    let mut world = input(vec![user("ann", &[])], vec![], vec![in_app("ann@acme.io", &["viewer"], true)]);
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
    assert_eq!(table("partner@agency.io"), UserTable::Guest);
    assert_eq!(table("bot@acme.io"), UserTable::Exempted);
    assert_eq!(table("old@acme.io"), UserTable::Exempted);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
}

#[test]
fn a_batch_over_the_limit_holds_every_removal() {
    let mut world = input(vec![], vec![], vec![]);
    world.hub.removal_grace_secs = 0;
    world.hub.max_removals_per_window = 2;
    for name in ["a", "b", "c"] {
        world.users.push(user(name, &[]));
        world.accounts.push(in_app(&format!("{name}@acme.io"), &["viewer"], false));
    }
    let held = plan(&world);
    assert!(held.actions.is_empty());
    assert_eq!(held.held.len(), 3);
    world.hub.removals_approved = true;
    assert_eq!(plan(&world).actions.len(), 3);
}
