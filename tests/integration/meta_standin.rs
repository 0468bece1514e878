//! The Meta stand-in (`tests/meta/standin.py`): one Meta business on loopback,
//! speaking the Graph API (v25.0) as Meta's reference shows it, with usage
//! headers, throttling, faults and a record of every call. This file starts it,
//! drives its admin port, holds it to the examples it was written from
//! (`tests/meta/check_examples.py`), and tests the Meta connector against it
//! directly (no operator, no API server): paging, invitations, exact asset
//! changes, partners, the usage headers, throttling and faults.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rolecall::api::business_hub::BusinessHubSpec;
use rolecall::connector::{self, Access, Connector, ConnectorError, NewAccount, OperationId, Pacer};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::standin_process::{StandInProcess, python};

pub const BUSINESS: &str = "1000000000001";

/// How to start a stand-in. `Default`: Meta's hour-long window with room for 10,000 calls.
#[derive(Debug, Clone)]
pub struct StandInOptions {
    pub budget: u32,
    pub window: Duration,
    pub throttle_code: u32,
    /// The most items a page holds, whatever `limit` the connector asks (Meta caps it per edge).
    pub max_page: u32,
}

impl Default for StandInOptions {
    fn default() -> Self {
        StandInOptions { budget: 10_000, window: Duration::from_secs(3600), throttle_code: 4, max_page: 100 }
    }
}

/// One call the stand-in answered on its Graph port.
#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    pub method: String,
    /// The path after the version (`/1000000000001/business_users`).
    pub path: String,
    pub version: String,
    #[serde(default)]
    pub query: serde_json::Map<String, Value>,
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
    pub status: u16,
    pub code: Option<i64>,
    pub fault: Option<String>,
    pub call_count: Option<u32>,
    pub at: f64,
}

impl Call {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }

    pub fn throttled(&self) -> bool {
        self.code.is_some_and(|c| matches!(c, 4 | 17 | 32 | 613 | 80000..=80014))
    }
}

pub struct MetaStandIn {
    pub process: StandInProcess,
    pub token: String,
    pub business: String,
}

impl MetaStandIn {
    pub async fn start(options: StandInOptions) -> MetaStandIn {
        let token = format!("EAAB{}", uuid::Uuid::new_v4().simple());
        let args = [
            "--business",
            BUSINESS,
            "--token",
            &token,
            "--budget",
            &options.budget.to_string(),
            "--window",
            &options.window.as_secs_f64().to_string(),
            "--throttle-code",
            &options.throttle_code.to_string(),
            "--max-page",
            &options.max_page.to_string(),
        ]
        .map(String::from);
        MetaStandIn { process: StandInProcess::start("meta", &args).await, token, business: BUSINESS.into() }
    }

    /// The API's base URL, as a hub names it (like `https://graph.facebook.com`).
    pub fn base_url(&self) -> String {
        self.process.base_url()
    }

    /// Every call on the Graph port so far, in order.
    pub async fn calls(&self) -> Vec<Call> {
        self.process.calls().await
    }

    pub async fn clear_calls(&self) {
        self.process.clear_calls().await;
    }

    /// `{"business_users":[..],"pending_users":[..],"system_users":[..],"assets":[{id,kind,name,users,agencies}],"partners":[..]}`
    pub async fn state(&self) -> Value {
        self.process.state().await
    }

    /// An owned asset: `kind` is `ad_account`, `page` or `catalog`; answers its id.
    pub async fn asset(&self, kind: &str, name: &str) -> String {
        self.process.admin_post("/assets", json!({"kind": kind, "name": name})).await["id"].as_str().expect("asset id").to_string()
    }

    /// A person who was in the business before rolecall; `assets`: asset id → tasks. Answers the user id.
    pub async fn seed_user(&self, name: &str, email: &str, role: &str, assets: &[(&str, &[&str])]) -> String {
        let assets: serde_json::Map<String, Value> = assets.iter().map(|(id, tasks)| (id.to_string(), json!(tasks))).collect();
        let user = self.process.admin_post("/business_users", json!({"name": name, "email": email, "role": role, "assets": assets})).await;
        user["id"].as_str().expect("user id").to_string()
    }

    pub async fn seed_system_user(&self, name: &str) -> String {
        self.process.admin_post("/system_users", json!({"name": name, "role": "ADMIN"})).await["id"].as_str().expect("id").to_string()
    }

    /// A partner business with access to assets (asset id → permitted tasks). Answers its id.
    pub async fn partner(&self, name: &str, assets: &[(&str, &[&str])]) -> String {
        let assets: serde_json::Map<String, Value> = assets.iter().map(|(id, tasks)| (id.to_string(), json!(tasks))).collect();
        self.process.admin_post("/partners", json!({"name": name, "assets": assets})).await["id"].as_str().expect("id").to_string()
    }

    /// The pending invitation of `email`, if any.
    pub async fn invitation(&self, email: &str) -> Option<Value> {
        let state = self.state().await;
        state["pending_users"].as_array()?.iter().find(|i| i["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email))).cloned()
    }

    /// The invitee accepts (`decline`, `expire`: the other ends). Answers the new business user.
    pub async fn settle_invitation(&self, id: &str, action: &str) -> Value {
        self.process.admin_post(&format!("/pending_users/{id}/{action}"), json!({})).await
    }

    pub async fn asset_disappears(&self, id: &str) {
        self.process.admin_post(&format!("/assets/{id}/disappear"), json!({})).await;
    }

    pub async fn set_permissions(&self, permissions: &[&str]) {
        self.process.admin_post("/token", json!({"permissions": permissions})).await;
    }

    /// `{"kind": "500|503|timeout|throttle", "count": N, "method": .., "path_contains": .., "code": 4, "regain_seconds": s, "delay": s}`
    pub async fn inject_fault(&self, fault: Value) -> Value {
        self.process.admin_post("/faults", fault).await
    }

    /// `{"budget": N, "window": s, "baseline": percent, "throttle_code": c, "clear": true}`; answers the usage.
    pub async fn set_usage(&self, usage: Value) -> Value {
        self.process.admin_post("/usage", usage).await
    }

    /// The user id of the business user with `email`.
    pub async fn user_id(&self, email: &str) -> Option<String> {
        let state = self.state().await;
        state["business_users"]
            .as_array()?
            .iter()
            .find(|u| u["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .and_then(|u| u["id"].as_str().map(str::to_string))
    }

    /// Asset id → tasks the user `user_id` holds on it.
    pub async fn user_assets(&self, user_id: &str) -> std::collections::BTreeMap<String, Vec<String>> {
        let state = self.state().await;
        state["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let tasks = a["users"].get(user_id)?.as_array()?.iter().filter_map(Value::as_str).map(str::to_string).collect();
                Some((a["id"].as_str()?.to_string(), tasks))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The stand-in against its examples, and the connector against the stand-in.
// ---------------------------------------------------------------------------

#[test]
fn meta_standin_answers_keep_the_shapes_of_meta_s_examples() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(python()).arg(format!("{root}/tests/meta/check_examples.py")).output().expect("the check runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the stand-in's answers differ from Meta's examples:\n{text}");
    let checked = text.lines().filter(|l| l.starts_with("same shape")).count();
    assert!(checked >= 16, "every example was checked: {checked}");
}

/// A hub spec for a Meta connector on `standin`.
pub fn hub_spec(standin: &MetaStandIn, extra: Value) -> BusinessHubSpec {
    let mut spec = json!({
        "connector": {"type": "Meta", "url": standin.base_url(), "organization": standin.business,
                      "credentialsSecretRef": {"name": "meta-token"}, "timeout": "2s", "maxBackoff": "2s"},
        "roles": [{"name": "EMPLOYEE", "weight": 1}, {"name": "ADMIN", "weight": 10, "admin": true}]
    });
    if let (Value::Object(spec), Value::Object(extra)) = (&mut spec, extra) {
        spec.extend(extra);
    }
    serde_json::from_value(spec).expect("a hub spec")
}

fn connector_for(standin: &MetaStandIn, hub: &str) -> Box<dyn Connector> {
    connector::for_hub(&hub_spec(standin, json!({})), standin.token.clone(), Arc::new(Pacer::new(hub))).expect("a Meta connector")
}

fn operation(n: u32) -> OperationId {
    OperationId::of("uid", "x@acme.io", rolecall::api::app_account::OperationKind::Invite, &format!("2026-12-03T00:00:{n:02}Z"))
}

fn access(role: &str, assets: &[(&str, &str)]) -> Access {
    Access { roles: [role.to_string()].into(), assets: assets.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect() }
}

#[tokio::test]
async fn the_meta_connector_invites_assigns_exactly_what_changed_and_removes() {
    let meta = MetaStandIn::start(StandInOptions { max_page: 2, ..Default::default() }).await;
    let brand = meta.asset("ad_account", "Brand US").await;
    let twin_a = meta.asset("ad_account", "Twin").await;
    let twin_b = meta.asset("ad_account", "Twin").await;
    let page = meta.asset("page", "Acme Page").await;
    let catalog = meta.asset("catalog", "Shop").await;
    // Five people before rolecall: lists of two a page make three pages.
    for i in 0..5 {
        meta.seed_user(&format!("P{i}"), &format!("p{i}@partner.io"), "EMPLOYEE", &[]).await;
    }
    let bot = meta.seed_system_user("rolecall-bot").await;
    let c = connector_for(&meta, "ns/meta-direct");

    // Assets: every kind, with unique names and the roles each kind allows.
    let assets = c.list_assets().await.expect("assets");
    let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
    println!("assets: {names:?}");
    assert_eq!(names.len(), 5);
    assert!(names.contains(&format!("Twin ({twin_a})").as_str()) && names.contains(&format!("Twin ({twin_b})").as_str()));
    let page_asset = assets.iter().find(|a| a.name == "Acme Page").expect("page");
    assert_eq!((page_asset.kind.as_deref(), page_asset.id.as_deref()), (Some("page"), Some(page.as_str())));
    assert_eq!(page_asset.roles, ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"], "lowest first");

    // Accounts: five people over three pages, and the system user as a service account.
    let accounts = c.list_accounts().await.expect("accounts");
    assert_eq!(accounts.iter().filter(|a| a.active && !a.service_account).count(), 5);
    let machine = accounts.iter().find(|a| a.service_account).expect("the system user");
    assert_eq!(machine.id, format!("system:{bot}"));
    let paged = meta.calls().await.iter().filter(|c| c.path.ends_with("/business_users") && c.query.contains_key("after")).count();
    assert_eq!(paged, 2, "pages two and three were read by their cursor");

    // An invitation with the business role; the assets wait for the acceptance.
    meta.clear_calls().await;
    let ann = NewAccount {
        email: "ann@acme.io".into(),
        display_name: None,
        given_name: None,
        family_name: None,
        access: access("ADMIN", &[("Brand US", "ADVERTISE"), ("Acme Page", "MODERATE")]),
    };
    let made = c.add_account(&ann, &operation(1)).await.expect("invited");
    assert!(made.invite_pending && made.id.starts_with("invitation:"), "{made:?}");
    let invitation = meta.invitation("ann@acme.io").await.expect("pending");
    assert_eq!((invitation["role"].as_str(), invitation["status"].as_str()), (Some("ADMIN"), Some("PENDING")));
    let again = c.add_account(&ann, &operation(2)).await;
    assert!(matches!(again, Err(ConnectorError::AlreadyExists(_))), "{again:?}");
    let writes: Vec<Call> = meta.calls().await.into_iter().filter(Call::is_write).collect();
    assert_eq!(writes.len(), 1, "one invitation, and nothing sent the second time: {writes:?}");

    // Accepted: a business user without assets; one update assigns exactly the two.
    meta.settle_invitation(invitation["id"].as_str().expect("id"), "accept").await;
    let listed = c.list_accounts().await.expect("accounts");
    let ann_account = listed.iter().find(|a| a.email == "ann@acme.io").expect("ann");
    assert!(ann_account.active && ann_account.access.assets.is_empty(), "{ann_account:?}");
    meta.clear_calls().await;
    c.update_access(&ann_account.id, &ann.access, &operation(3)).await.expect("updated");
    let ann_id = meta.user_id("ann@acme.io").await.expect("ann's id");
    let held = meta.user_assets(&ann_id).await;
    assert_eq!(held.get(&brand).map(Vec::len), Some(2), "ADVERTISE = ADVERTISE, ANALYZE: {held:?}");
    assert_eq!(held.get(&page).map(Vec::len), Some(3), "MODERATE = MODERATE, ADVERTISE, ANALYZE: {held:?}");
    let writes: Vec<String> = meta.calls().await.iter().filter(|c| c.is_write()).map(|c| format!("{} {}", c.method, c.path)).collect();
    println!("update after acceptance: {writes:?}");
    assert_eq!(writes.len(), 2, "one assignment per asset, no role write (ADMIN already): {writes:?}");
    let read = c.list_accounts().await.expect("accounts");
    let ann_read = read.iter().find(|a| a.email == "ann@acme.io").expect("ann");
    assert_eq!(ann_read.access, Access { roles: ["ADMIN".to_string()].into(), assets: ann.access.assets.clone() });

    // A role change is one write; an asset change touches only that asset.
    meta.clear_calls().await;
    c.update_access(&ann_read.id, &access("EMPLOYEE", &[("Brand US", "ADVERTISE"), ("Acme Page", "MODERATE")]), &operation(4))
        .await
        .expect("role");
    let writes: Vec<Call> = meta.calls().await.into_iter().filter(Call::is_write).collect();
    assert_eq!(writes.iter().map(|c| c.path.clone()).collect::<Vec<_>>(), [format!("/{ann_id}")], "one role write");
    meta.clear_calls().await;
    let catalog_by_id = access("EMPLOYEE", &[("Brand US", "MANAGE"), (catalog.as_str(), "ADVERTISE")]);
    c.update_access(&ann_read.id, &catalog_by_id, &operation(5)).await.expect("assets");
    let writes: Vec<String> = meta.calls().await.iter().filter(|c| c.is_write()).map(|c| format!("{} {}", c.method, c.path)).collect();
    println!("asset change: {writes:?}");
    assert_eq!(writes.len(), 3, "Brand US changed, the catalog (named by id) added, the page taken away: {writes:?}");
    assert!(writes.contains(&format!("DELETE /{page}/assigned_users")));
    let held = meta.user_assets(&ann_id).await;
    assert_eq!(held.keys().cloned().collect::<Vec<_>>(), {
        let mut ids = vec![brand.clone(), catalog.clone()];
        ids.sort();
        ids
    });

    // Removal deletes the business user, and Meta takes the asset access with it.
    c.remove_account(&ann_read.id, &operation(6)).await.expect("removed");
    assert!(meta.user_id("ann@acme.io").await.is_none());
    assert!(meta.user_assets(&ann_id).await.is_empty());
    let gone = c.remove_account(&ann_read.id, &operation(7)).await;
    assert!(matches!(gone, Err(ConnectorError::NotFound(_))), "{gone:?}");
    assert!(
        matches!(c.remove_account(&machine.id, &operation(8)).await, Err(ConnectorError::Permanent(_))),
        "system users are never removed"
    );
}

#[tokio::test]
async fn invitations_expire_or_are_declined_and_are_sent_again_in_place_of_the_old_one() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let c = connector_for(&meta, "ns/meta-invitations");
    let person = |email: &str| NewAccount {
        email: email.into(),
        display_name: None,
        given_name: None,
        family_name: None,
        access: access("EMPLOYEE", &[]),
    };
    for email in ["cy@acme.io", "dee@acme.io"] {
        c.add_account(&person(email), &operation(1)).await.expect("invited");
    }
    let cy = meta.invitation("cy@acme.io").await.expect("cy");
    let dee = meta.invitation("dee@acme.io").await.expect("dee");
    meta.settle_invitation(cy["id"].as_str().expect("id"), "expire").await;
    meta.settle_invitation(dee["id"].as_str().expect("id"), "decline").await;
    let accounts = c.list_accounts().await.expect("accounts");
    let failure = |email: &str| accounts.iter().find(|a| a.email == email).and_then(|a| a.invitation_failed.clone()).expect("failed");
    assert!(failure("cy@acme.io").expired);
    let declined = failure("dee@acme.io");
    assert!(!declined.expired && declined.reason.contains("declined"), "{declined:?}");
    // Sent again: the old invitation is revoked and a new one pending.
    c.add_account(&person("cy@acme.io"), &operation(2)).await.expect("invited again");
    let state = meta.state().await;
    let cys: Vec<&Value> = state["pending_users"].as_array().expect("list").iter().filter(|i| i["email"] == "cy@acme.io").collect();
    assert_eq!(cys.len(), 1, "{cys:?}");
    assert_eq!((cys[0]["status"].as_str(), cys[0]["id"] != cy["id"]), (Some("PENDING"), true));
    // Revoking a pending invitation is removing its account.
    let pending = c.list_accounts().await.expect("accounts").into_iter().find(|a| a.email == "cy@acme.io").expect("cy");
    assert!(pending.invite_pending);
    c.remove_account(&pending.id, &operation(3)).await.expect("revoked");
    assert!(meta.invitation("cy@acme.io").await.is_none());
}

#[tokio::test]
async fn partners_are_read_back_and_changed_asset_by_asset() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let brand = meta.asset("ad_account", "Brand US").await;
    let page = meta.asset("page", "Acme Page").await;
    let agency = meta.partner("Agency One", &[(&brand, &["ADVERTISE", "ANALYZE"])]).await;
    let c = connector_for(&meta, "ns/meta-partners");
    let partners = c.list_partners().await.expect("partners");
    assert_eq!(partners.len(), 1);
    assert_eq!((partners[0].id.as_str(), partners[0].name.as_deref()), (agency.as_str(), Some("Agency One")));
    assert_eq!(partners[0].assets, [("Brand US".to_string(), "ADVERTISE".to_string())].into());

    meta.clear_calls().await;
    c.set_partner_asset(&agency, "Brand US", "ADVERTISE", &operation(1)).await.expect("unchanged");
    c.set_partner_asset(&agency, "Acme Page", "ANALYZE", &operation(2)).await.expect("granted");
    c.set_partner_asset(&agency, "Brand US", "ANALYZE", &operation(3)).await.expect("changed");
    c.remove_partner_asset(&agency, "Acme Page", &operation(4)).await.expect("revoked");
    let gone = c.remove_partner_asset(&agency, "Acme Page", &operation(5)).await;
    assert!(matches!(gone, Err(ConnectorError::NotFound(_))), "{gone:?}");
    let writes: Vec<String> = meta.calls().await.iter().filter(|c| c.is_write()).map(|c| format!("{} {}", c.method, c.path)).collect();
    assert_eq!(writes, [format!("POST /{page}/agencies"), format!("POST /{brand}/agencies"), format!("DELETE /{page}/agencies")]);
    let partners = c.list_partners().await.expect("partners");
    assert_eq!(partners[0].assets, [("Brand US".to_string(), "ANALYZE".to_string())].into());
    let refused = c.set_partner_asset(&agency, "Nope", "ANALYZE", &operation(6)).await;
    assert!(matches!(refused, Err(ConnectorError::Permanent(m)) if m.contains("Nope")));
}

#[tokio::test]
async fn usage_near_100_percent_spaces_calls_and_a_throttle_stops_them_until_the_named_time() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let other = MetaStandIn::start(StandInOptions::default()).await;
    for i in 0..3 {
        meta.asset("ad_account", &format!("A{i}")).await;
    }
    let c = connector_for(&meta, "ns/meta-usage");
    let o = connector_for(&other, "ns/meta-usage-other");

    // Calm: a read-back's calls follow each other at once.
    c.list_accounts().await.expect("read");
    let calm = meta.calls().await;
    let calm_gap = calm.windows(2).map(|w| w[1].at - w[0].at).fold(0.0, f64::max);

    // Near 100 % (97): every call waits for the one before to be spaced out.
    meta.set_usage(json!({"baseline": 97})).await;
    meta.clear_calls().await;
    c.list_accounts().await.expect("read");
    let slow = meta.calls().await;
    let gaps: Vec<f64> = slow.windows(2).map(|w| w[1].at - w[0].at).collect();
    let least = gaps.iter().copied().fold(f64::MAX, f64::min);
    println!("calm: largest gap {calm_gap:.3}s; at 97 %: {} calls, smallest gap {least:.3}s", slow.len());
    assert!(slow.iter().all(|c| c.call_count >= Some(97)), "the stand-in reported 97 % and more");
    assert!(least >= 1.5, "at 97 % each call waits about 1.8 s after the last: {gaps:?}");
    assert!(calm_gap < 0.5, "{calm_gap}");

    // Throttled: code 80004 and a minute to regain access: nothing is sent before it.
    meta.set_usage(json!({"baseline": 0})).await;
    meta.inject_fault(json!({"kind": "throttle", "code": 80004, "regain_seconds": 30})).await;
    meta.clear_calls().await;
    let refused = c.list_accounts().await;
    let Err(ConnectorError::RateLimited { retry_after: Some(wait) }) = refused else { panic!("{refused:?}") };
    assert_eq!(wait, Duration::from_secs(60), "estimated_time_to_regain_access is in minutes: 30 s is 1 minute");
    let refused_call = meta.calls().await.last().cloned().expect("the refused call");
    assert!(refused_call.throttled() && refused_call.code == Some(80004), "{refused_call:?}");
    let throttled_at = refused_call.at;
    let started = Instant::now();
    let mut refusals = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let again = c.list_accounts().await;
        assert!(matches!(again, Err(ConnectorError::RateLimited { .. })), "{again:?}");
        refusals += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after: Vec<Call> = meta.calls().await.into_iter().filter(|c| c.at > throttled_at).collect();
    println!("throttled (80004): wait {wait:?}; {refusals} read-backs refused without a call; calls inside the wait: {}", after.len());
    assert!(after.is_empty(), "no call while Meta says to wait: {after:?}");
    // Another hub, on another business, is not held.
    o.list_accounts().await.expect("the other hub reads");
    assert!(!other.calls().await.is_empty());
}

#[tokio::test]
async fn faults_are_typed_and_a_token_without_business_management_says_so() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let brand = meta.asset("ad_account", "Brand US").await;
    let page = meta.asset("page", "Acme Page").await;
    meta.seed_user("Ann", "ann@acme.io", "EMPLOYEE", &[(&brand, &["ANALYZE"]), (&page, &["ANALYZE"])]).await;
    let c = connector_for(&meta, "ns/meta-faults");
    c.list_assets().await.expect("assets");

    meta.inject_fault(json!({"kind": "500", "count": 1})).await;
    let failed = c.list_accounts().await;
    assert!(matches!(failed, Err(ConnectorError::BackingOff { .. })), "{failed:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    meta.inject_fault(json!({"kind": "timeout", "count": 1, "delay": 3})).await;
    let timed_out = c.list_accounts().await;
    assert!(matches!(&timed_out, Err(ConnectorError::BackingOff { last, .. }) if last.contains("timed out")), "{timed_out:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // An asset that disappears: dropped from the assets, the read-back goes on.
    meta.asset_disappears(&page).await;
    let accounts = c.list_accounts().await.expect("read despite the gone page");
    let ann = accounts.iter().find(|a| a.email == "ann@acme.io").expect("ann");
    assert_eq!(ann.access.assets.keys().cloned().collect::<Vec<_>>(), ["Brand US"]);
    let assets = c.list_assets().await.expect("assets");
    assert_eq!(assets.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Brand US"]);

    // A token without business_management: Auth, naming the permission.
    meta.set_permissions(&["ads_management"]).await;
    let refused = c.list_accounts().await;
    println!("without business_management: {refused:?}");
    assert!(matches!(&refused, Err(ConnectorError::Auth(m)) if m.contains("business_management")), "{refused:?}");
    // A wrong token: Auth, saying the token is not taken.
    let wrong =
        connector::for_hub(&hub_spec(&meta, json!({})), "EAAB-wrong".into(), Arc::new(Pacer::new("ns/meta-wrong"))).expect("connector");
    let refused = wrong.list_accounts().await;
    assert!(matches!(&refused, Err(ConnectorError::Auth(m)) if m.contains("invalid, expired or revoked")), "{refused:?}");
}
