//! Partners end to end, on the real API server with the operator and the Meta
//! stand-in: the read-back reports every partner business and what it holds
//! (`status.partners` on the hub, `status.assets` on a Partner); a declared
//! access is a plan that DryRun reports without a call, Enforce carries out
//! with exactly one call per changed asset and an Event each, and a declared
//! change grants and revokes exactly what changed; a declaration naming an
//! unknown asset is refused whole; a steady state makes no write.

use std::collections::BTreeMap;

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use rolecall::api::Partner;
use rolecall::api::partner::PartnerStatus;
use serde_json::Value;

use crate::app_tests::{LIMIT, hub, poll, token_secret};
use crate::harness::{Operator, client, kubectl_apply, wait_for};
use crate::meta_connector::{meta_hub, steady_state};
use crate::meta_standin::{Call, MetaStandIn, StandInOptions};
use crate::world::workspace;

fn partner_yaml(ns: &str, name: &str, partner_id: &str, access: Option<&str>) -> String {
    let access = access.map(|a| format!("  access: [{a}]\n")).unwrap_or_default();
    format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: Partner\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  hub: meta\n  partnerId: \"{partner_id}\"\n{access}"
    )
}

fn apply(yaml: &str) {
    let (ok, out) = kubectl_apply(yaml);
    assert!(ok, "{out}");
}

async fn partner_status(ns: &str, name: &str) -> Option<PartnerStatus> {
    let api: Api<Partner> = Api::namespaced(client().await, ns);
    api.get(name).await.ok()?.status
}

fn condition(status: &PartnerStatus, type_: &str) -> Option<(String, String)> {
    status.conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.as_ref().to_string(), c.reason.clone()))
}

fn held(status: &PartnerStatus) -> BTreeMap<String, String> {
    status.assets.iter().map(|a| (a.asset.clone(), a.role.clone())).collect()
}

/// The partner writes the app received (`/{asset}/agencies`), as (method, asset id, tasks).
fn partner_writes(calls: &[Call]) -> Vec<(String, String, String)> {
    calls
        .iter()
        .filter(|c| c.is_write() && c.path.ends_with("/agencies") && c.status < 300)
        .map(|c| {
            let asset = c.path.trim_start_matches('/').trim_end_matches("/agencies").to_string();
            let tasks =
                c.params.get("permitted_tasks").map(|t| t.as_str().map(str::to_string).unwrap_or(t.to_string())).unwrap_or_default();
            (c.method.clone(), asset, tasks)
        })
        .collect()
}

/// Asset id → tasks the partner holds, from the stand-in's own state.
async fn app_holds(meta: &MetaStandIn, partner_id: &str) -> BTreeMap<String, Vec<String>> {
    let state = meta.state().await;
    state["assets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let tasks = a["agencies"].get(partner_id)?.as_array()?.iter().filter_map(Value::as_str).map(str::to_string).collect();
            Some((a["id"].as_str()?.to_string(), tasks))
        })
        .collect()
}

async fn partner_events(ns: &str, name: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client().await, ns);
    let events = api.list(&ListParams::default()).await.expect("events");
    events
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().is_some_and(|r| r.kind.as_deref() == Some("Partner") && r.name.as_deref() == Some(name)))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn partners_are_reported_and_a_declared_change_grants_and_revokes_exactly_what_changed() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let brand_us = meta.asset("ad_account", "Brand US").await;
    let brand_eu = meta.asset("ad_account", "Brand EU").await;
    let page = meta.asset("page", "Acme Page").await;
    // Two agencies before rolecall: one runs Brand US's campaigns, one reads the page.
    let northwind = meta.partner("Northwind Media", &[(&brand_us, &["ADVERTISE", "ANALYZE"])]).await;
    let southwind = meta.partner("Southwind Analytics", &[(&page, &["ANALYZE"])]).await;
    let w = workspace("partners", "").await;
    token_secret(&w, "meta-token", &meta.token).await;
    meta_hub(&w, "meta", &meta, "meta-token", "DryRun", "");
    // Northwind should hold Brand US at ANALYZE only and Brand EU at ADVERTISE; Southwind is only reported.
    apply(&partner_yaml(&w.ns, "northwind", &northwind, Some("{asset: Brand US, role: ANALYZE}, {asset: Brand EU, role: ADVERTISE}")));
    apply(&partner_yaml(&w.ns, "southwind", &southwind, None));
    let _operator = Operator::start(&w.ns, "rolecall", "op-partners", &["--resync", "2s"]);

    // 1. Reported: the hub lists both partners, each Partner what it holds.
    let listed = poll("both partners on the hub", || async {
        hub(&w, "meta").await.status.map(|s| s.partners).filter(|p| p.len() == 2 && p.iter().all(|p| p.declared_by.is_some()))
    })
    .await;
    println!("hub status.partners: {listed:?}");
    let south =
        poll("southwind's access reported", || async { partner_status(&w.ns, "southwind").await.filter(|s| !s.assets.is_empty()) }).await;
    assert_eq!(held(&south), BTreeMap::from([("Acme Page".to_string(), "ANALYZE".to_string())]));
    assert_eq!(south.name.as_deref(), Some("Southwind Analytics"));
    assert!(south.pending.is_empty());

    // 2. DryRun: Northwind's change is listed, not made.
    let north =
        poll("northwind's pending changes", || async { partner_status(&w.ns, "northwind").await.filter(|s| s.pending.len() == 2) }).await;
    let pending: Vec<(&str, &str, &str)> = north.pending.iter().map(|p| (p.action.as_str(), p.asset.as_str(), p.role.as_str())).collect();
    println!("DryRun pending: {pending:?}");
    assert_eq!(pending, [("ChangeRole", "Brand US", "ANALYZE"), ("Grant", "Brand EU", "ADVERTISE")]);
    assert_eq!(condition(&north, "Synced"), Some(("False".into(), "DryRun".into())));
    assert_eq!(held(&north), BTreeMap::from([("Brand US".to_string(), "ADVERTISE".to_string())]));
    let dry = steady_state(&meta, 2).await;
    assert!(partner_writes(&dry).is_empty() && dry.iter().all(|c| !c.is_write()), "DryRun wrote: {:?}", partner_writes(&dry));
    println!("DryRun: {} calls over 2 read-backs, 0 writes", dry.len());

    // 3. Enforce: exactly the two changes, one call each, an Event each.
    meta.clear_calls().await;
    meta_hub(&w, "meta", &meta, "meta-token", "Enforce", "");
    let north = poll("northwind synced", || async {
        partner_status(&w.ns, "northwind").await.filter(|s| condition(s, "Synced").is_some_and(|c| c.0 == "True") && s.pending.is_empty())
    })
    .await;
    let writes = partner_writes(&meta.calls().await);
    println!("Enforce: partner writes {writes:?}");
    assert_eq!(writes.len(), 2, "one call per changed asset: {writes:?}");
    assert!(writes.contains(&("POST".into(), brand_us.clone(), r#"["ANALYZE"]"#.into())), "{writes:?}");
    assert!(writes.contains(&("POST".into(), brand_eu.clone(), r#"["ADVERTISE","ANALYZE"]"#.into())), "{writes:?}");
    assert_eq!(
        held(&north),
        BTreeMap::from([("Brand US".to_string(), "ANALYZE".to_string()), ("Brand EU".to_string(), "ADVERTISE".to_string())])
    );
    let in_app = app_holds(&meta, &northwind).await;
    assert_eq!(in_app.get(&brand_us).map(Vec::len), Some(1));
    assert_eq!(in_app.get(&brand_eu).map(Vec::len), Some(2));
    assert_eq!(app_holds(&meta, &southwind).await.len(), 1, "the undeclared partner is untouched");
    wait_for(LIMIT, "an Event per change", || async { partner_events(&w.ns, "northwind").await.len() >= 2 }).await;
    let events = partner_events(&w.ns, "northwind").await;
    println!("northwind's Events: {events:?}");
    assert!(events.iter().any(|(r, n)| r == "PartnerRoleChanged" && n.contains("ADVERTISE to ANALYZE")), "{events:?}");
    assert!(events.iter().any(|(r, _)| r == "PartnerAccessGranted"), "{events:?}");

    // 4. A declared change: Brand US dropped. Exactly one revocation.
    meta.clear_calls().await;
    apply(&partner_yaml(&w.ns, "northwind", &northwind, Some("{asset: Brand EU, role: ADVERTISE}")));
    wait_for(LIMIT, "Brand US revoked in the app", || async { !app_holds(&meta, &northwind).await.contains_key(&brand_us) }).await;
    let writes = partner_writes(&meta.calls().await);
    println!("declared change: partner writes {writes:?}");
    assert_eq!(writes, [("DELETE".to_string(), brand_us.clone(), String::new())]);
    // The sync writes the hub's status after its calls: wait for it, then hold it to one removal.
    let removals = || async { hub(&w, "meta").await.status.and_then(|s| s.removal_window).map(|r| r.removals) };
    wait_for(LIMIT, "the hub's status counts the revocation", || async { removals().await.is_some() }).await;
    assert_eq!(removals().await, Some(1), "a revocation counts against the hub's removal limit");

    // 5. An unknown asset refuses the whole declaration; nothing is called.
    apply(&partner_yaml(&w.ns, "northwind", &northwind, Some("{asset: Brand EU, role: ANALYZE}, {asset: Brand Mars, role: ANALYZE}")));
    let refused = poll("northwind not ready", || async {
        partner_status(&w.ns, "northwind").await.filter(|s| condition(s, "Ready").is_some_and(|c| c.1 == "UnknownAsset"))
    })
    .await;
    println!("unknown asset: {:?}", refused.conditions.iter().find(|c| c.type_ == "Ready").map(|c| &c.message));
    let steady = steady_state(&meta, 3).await;
    let writes: Vec<&Call> = steady.iter().filter(|c| c.is_write()).collect();
    println!("steady state (declaration refused): {} calls over 3 read-backs, {} writes", steady.len(), writes.len());
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(app_holds(&meta, &northwind).await.get(&brand_eu).map(Vec::len), Some(2), "nothing half applied");
}

#[tokio::test]
async fn revocations_beyond_the_removal_limit_are_held_until_an_admin_approves() {
    let meta = MetaStandIn::start(StandInOptions::default()).await;
    let mut assets = Vec::new();
    for name in ["Brand US", "Brand EU", "Brand APAC"] {
        assets.push(meta.asset("ad_account", name).await);
    }
    let tasks: &[&str] = &["ANALYZE"];
    let holds: Vec<(&str, &[&str])> = assets.iter().map(|a| (a.as_str(), tasks)).collect();
    let agency = meta.partner("Northwind Media", &holds).await;
    let w = workspace("partners-held", "").await;
    token_secret(&w, "meta-token", &meta.token).await;
    let hub_yaml = |annotations: &str| {
        format!(
            r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: meta, namespace: {ns}{annotations}}}
spec:
  connector: {{type: Meta, url: "{url}", organization: "{business}", credentialsSecretRef: {{name: meta-token}}, timeout: 2s, maxBackoff: 2s}}
  mode: Enforce
  syncInterval: 2s
  roles: [{{name: EMPLOYEE, weight: 1}}]
  safety: {{maxRemovalsPerWindow: 1, removalWindow: 1h}}
"#,
            ns = w.ns,
            url = meta.base_url(),
            business = meta.business,
        )
    };
    apply(&hub_yaml(""));
    // The contract ended: the agency should hold nothing.
    apply(&partner_yaml(&w.ns, "northwind", &agency, Some("")));
    let _operator = Operator::start(&w.ns, "rolecall", "op-partners-held", &["--resync", "2s"]);

    let held_status = poll("two revocations held", || async {
        partner_status(&w.ns, "northwind").await.filter(|s| condition(s, "RemovalsHeld").is_some_and(|c| c.0 == "True"))
    })
    .await;
    println!("held: {:?}", held_status.pending);
    assert_eq!(held_status.pending.len(), 2);
    assert!(held_status.pending.iter().all(|p| p.action == "Revoke"));
    // Three more read-backs: still one revocation made, two held.
    let steady = steady_state(&meta, 3).await;
    assert!(partner_writes(&steady).is_empty(), "{:?}", partner_writes(&steady));
    assert_eq!(app_holds(&meta, &agency).await.len(), 2, "one revocation within the limit of 1");

    apply(&hub_yaml(", annotations: {rolecall.dev/approve-removals: \"ticket-42\"}"));
    wait_for(LIMIT, "the held revocations made once approved", || async { app_holds(&meta, &agency).await.is_empty() }).await;
    let approved = poll("northwind synced", || async {
        partner_status(&w.ns, "northwind").await.filter(|s| condition(s, "Synced").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert!(approved.pending.is_empty() && approved.assets.is_empty());
    println!("approved: every revocation made; the partner holds nothing");
}

#[tokio::test]
async fn a_partner_without_a_hub_or_on_a_hub_without_partners_says_why() {
    let w = workspace("partners-refused", "").await;
    let _operator = Operator::start(&w.ns, "rolecall", "op-partners-refused", &["--resync", "2s"]);
    apply(&partner_yaml(&w.ns, "orphan", "77", None).replace("hub: meta", "hub: nowhere"));
    let orphan = poll("the orphan's reason", || async {
        partner_status(&w.ns, "orphan").await.and_then(|s| condition(&s, "Ready")).filter(|c| c.0 == "False")
    })
    .await;
    assert_eq!(orphan.1, "HubNotFound");
    apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: BusinessHub\nmetadata: {{name: crm, namespace: {ns}}}\nspec:\n  connector: {{type: Scim, url: \"http://127.0.0.1:9/scim/v2\", credentialsSecretRef: {{name: none}}}}\n",
        ns = w.ns
    ));
    apply(&partner_yaml(&w.ns, "on-scim", "77", None).replace("hub: meta", "hub: crm"));
    let on_scim = poll("the SCIM hub partner's reason", || async {
        partner_status(&w.ns, "on-scim").await.and_then(|s| condition(&s, "Ready")).filter(|c| c.0 == "False")
    })
    .await;
    assert_eq!(on_scim.1, "PartnersNotSupported");
    // The hub made under the orphan's name: the orphan is told again.
    apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: BusinessHub\nmetadata: {{name: nowhere, namespace: {ns}}}\nspec:\n  connector: {{type: Scim, url: \"http://127.0.0.1:9/scim/v2\", credentialsSecretRef: {{name: none}}}}\n",
        ns = w.ns
    ));
    poll("the orphan's hub found", || async {
        partner_status(&w.ns, "orphan").await.and_then(|s| condition(&s, "Ready")).filter(|c| c.1 == "PartnersNotSupported")
    })
    .await;
    println!("a partner without a hub: HubNotFound; on a SCIM hub: PartnersNotSupported");
}
