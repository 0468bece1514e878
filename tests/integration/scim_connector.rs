//! The SCIM outbound connector against a real SCIM app (`scim2-server`): every
//! call the executor makes, in both role mappings and both removal modes.

use std::collections::BTreeSet;
use std::sync::Arc;

use rolecall::api::app_account::OperationKind;
use rolecall::api::business_hub::{ScimConnectorSettings, ScimRemoval, ScimRoleMapping};
use rolecall::connector::scim::ScimConnector;
use rolecall::connector::{Access, Connector, ConnectorError, NewAccount, OperationId, Pacer};

use crate::proxy::RecordingProxy;
use crate::scim_app::ScimApp;

fn new_account(email: &str, roles: &[&str]) -> NewAccount {
    NewAccount {
        email: email.into(),
        display_name: Some(format!("{email} display")),
        given_name: Some("Given".into()),
        family_name: Some("Family".into()),
        access: Access { roles: roles.iter().map(|r| r.to_string()).collect(), assets: Default::default() },
    }
}

/// SCIM ignores operation ids; any will do.
fn op() -> OperationId {
    OperationId::of("hub", "ann@acme.io", OperationKind::Invite, "2026-12-02T10:00:00Z")
}

fn roles(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|r| r.to_string()).collect()
}

/// The hub's role catalog in these tests.
const CATALOG: &[&str] = &["admin", "member", "editors", "admins", "viewers"];

fn connector(app: &ScimApp, role_mapping: ScimRoleMapping, removal: ScimRemoval) -> ScimConnector {
    connector_at(&format!("http://{}{}", app.addr, app.base_path), role_mapping, removal)
}

fn connector_at(url: &str, role_mapping: ScimRoleMapping, removal: ScimRemoval) -> ScimConnector {
    ScimConnector::new(
        url,
        "any-token".into(),
        &ScimConnectorSettings { role_mapping, removal },
        roles(CATALOG),
        Arc::new(Pacer::new("test/hub")),
        std::time::Duration::from_secs(30),
    )
    .expect("connector")
}

#[tokio::test]
async fn the_scim_connector_adds_finds_updates_and_deactivates_with_the_roles_attribute() {
    let app = ScimApp::start().await;
    let scim = connector(&app, ScimRoleMapping::RolesAttribute, ScimRemoval::Deactivate);

    let ann = scim.add_account(&new_account("ann@acme.io", &["admin"]), &op()).await.expect("add ann");
    assert_eq!((ann.email.as_str(), ann.active, ann.access.roles.clone()), ("ann@acme.io", true, roles(&["admin"])));
    scim.add_account(&new_account("bob@acme.io", &[]), &op()).await.expect("add bob");
    let again = scim.add_account(&new_account("ann@acme.io", &["admin"]), &op()).await;
    assert!(matches!(again, Err(ConnectorError::AlreadyExists(_))), "{again:?}");

    let found = scim.find_account("ANN@Acme.IO").await.expect("find").expect("ann is there");
    assert_eq!(found.id, ann.id);
    assert!(scim.find_account("nobody@acme.io").await.expect("find").is_none());

    scim.update_access(&ann.id, &Access { roles: roles(&["member"]), assets: Default::default() }, &op()).await.expect("update");
    let listed = scim.list_accounts().await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().find(|a| a.id == ann.id).map(|a| a.access.roles.clone()), Some(roles(&["member"])));

    scim.remove_account(&ann.id, &op()).await.expect("deactivate");
    let ann_now = scim.find_account("ann@acme.io").await.expect("find").expect("still there, deactivated");
    assert!(!ann_now.active);
    // Given the seat back: update_access re-activates.
    scim.update_access(&ann.id, &Access { roles: roles(&["member"]), assets: Default::default() }, &op()).await.expect("reactivate");
    assert!(scim.find_account("ann@acme.io").await.expect("find").expect("ann").active);
    let unknown = scim.update_access("no-such-id", &Access::default(), &op()).await;
    assert!(matches!(unknown, Err(ConnectorError::NotFound(_))), "{unknown:?}");
}

#[tokio::test]
async fn the_scim_connector_pages_through_every_account_and_deletes() {
    let app = ScimApp::start().await;
    let scim = connector(&app, ScimRoleMapping::RolesAttribute, ScimRemoval::Delete);
    for i in 0..130 {
        scim.add_account(&new_account(&format!("user{i:03}@acme.io"), &["member"]), &op()).await.expect("add");
    }
    let listed = scim.list_accounts().await.expect("list");
    let emails: BTreeSet<String> = listed.iter().map(|a| a.email.clone()).collect();
    assert_eq!(emails.len(), 130, "every account over two pages of 100");

    let first = listed.iter().find(|a| a.email == "user000@acme.io").expect("user000");
    scim.remove_account(&first.id, &op()).await.expect("delete");
    assert!(scim.find_account("user000@acme.io").await.expect("find").is_none());
    assert!(matches!(scim.remove_account(&first.id, &op()).await, Err(ConnectorError::NotFound(_))), "deleting twice is NotFound");
    assert_eq!(scim.list_accounts().await.expect("list").len(), 129);
}

#[tokio::test]
async fn the_scim_connector_maps_roles_to_app_groups() {
    let app = ScimApp::start().await;
    let scim = connector(&app, ScimRoleMapping::GroupMembership, ScimRemoval::Deactivate);
    let ann = scim.add_account(&new_account("ann@acme.io", &["editors"]), &op()).await.expect("add");
    assert_eq!(scim.find_account("ann@acme.io").await.expect("find").expect("ann").access.roles, roles(&["editors"]));

    scim.update_access(&ann.id, &Access { roles: roles(&["admins", "viewers"]), assets: Default::default() }, &op()).await.expect("update");
    let listed = scim.list_accounts().await.expect("list");
    assert_eq!(listed.iter().find(|a| a.id == ann.id).map(|a| a.access.roles.clone()), Some(roles(&["admins", "viewers"])));
}

#[tokio::test]
async fn group_mapped_roles_touch_only_the_catalog_groups() {
    let app = ScimApp::start().await;
    let proxy = RecordingProxy::start(app.addr);
    let scim = connector_at(&format!("http://{}{}", proxy.addr, app.base_path), ScimRoleMapping::GroupMembership, ScimRemoval::Deactivate);
    let ann = scim.add_account(&new_account("ann@acme.io", &["editors"]), &op()).await.expect("add");
    // The app's own groups, made by an app admin: not in the hub's catalog.
    let everyone = app.create_group("Everyone", &[&ann.id]).await;
    let billing = app.create_group("Billing", &[&ann.id]).await;
    let before = proxy.seen().len();

    // Read back: only catalog groups are roles.
    let listed = scim.list_accounts().await.expect("list");
    assert_eq!(listed.iter().find(|a| a.id == ann.id).map(|a| a.access.roles.clone()), Some(roles(&["editors"])));
    assert_eq!(scim.find_account("ann@acme.io").await.expect("find").expect("ann").access.roles, roles(&["editors"]));

    // A role change moves ann between catalog groups and nowhere else.
    scim.update_access(&ann.id, &Access { roles: roles(&["admins"]), assets: Default::default() }, &op()).await.expect("update");
    let groups = app.groups().await;
    println!("the app's groups after the role change: {groups:?}");
    for name in ["Everyone", "Billing", "admins"] {
        assert_eq!(groups.get(name), Some(&vec![ann.id.clone()]), "ann is in {name}: {groups:?}");
    }
    assert_eq!(groups.get("editors"), Some(&vec![]), "ann left the old role group: {groups:?}");
    // A role outside the catalog is refused, not made into a group.
    let outside = scim.update_access(&ann.id, &Access { roles: roles(&["Everyone"]), assets: Default::default() }, &op()).await;
    assert!(matches!(outside, Err(ConnectorError::Permanent(_))), "{outside:?}");

    println!("what the app received after its own groups were made:");
    for s in &proxy.seen()[before..] {
        println!("  {} {} -> {} {}", s.method, s.path, s.status, s.body);
    }
    let group_writes: Vec<_> = proxy.writes().into_iter().filter(|s| s.route().contains("/Groups")).collect();
    assert!(
        group_writes.iter().all(|s| !s.path.contains(&everyone) && !s.path.contains(&billing) && !s.body.contains("Everyone")),
        "no write touches the app's own groups: {group_writes:?}"
    );
    assert_eq!(
        group_writes.iter().filter(|s| s.method == "PATCH").count(),
        3,
        "add to editors, add to admins, remove from editors: {group_writes:?}"
    );
}
