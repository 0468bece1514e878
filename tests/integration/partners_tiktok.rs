//! Partners end to end on TikTok Business Center (the stand-in), as
//! `partners.rs` shows them on Meta: a partner the Business Center already has
//! is reported with its shared assets; a declared change is one
//! `bc/partner/...` call per changed asset in Enforce, none in DryRun.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use rolecall::api::{BusinessHub, Partner};
use serde_json::Value;

use crate::harness::{Operator, client, kubectl_apply, wait_for};
use crate::tiktok_standin::{StandInOptions, TikTokStandIn};
use crate::world::workspace;

const LIMIT: Duration = Duration::from_secs(120);
const AD: &str = "7200000000000000001";
const CATALOG: &str = "7200000000000000002";
const AGENCY: &str = "7000000000000000099";

fn apply(yaml: &str) {
    let (ok, out) = kubectl_apply(yaml);
    assert!(ok, "{out}");
}

fn hub_yaml(ns: &str, url: &str, bc_id: &str, mode: &str) -> String {
    format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: tiktok, namespace: {ns}}}
spec:
  connector: {{type: TikTok, url: "{url}", organization: "{bc_id}", credentialsSecretRef: {{name: tiktok-token}}, timeout: 2s, maxBackoff: 2s, tiktok: {{assetTypes: [ADVERTISER, CATALOG]}}}}
  mode: {mode}
  syncInterval: 2s
  roles: [{{name: STANDARD, weight: 1}}]
  safety: {{maxRemovalsPerWindow: 10, removalWindow: 1h}}
"#
    )
}

async fn partner(ns: &str) -> Option<Partner> {
    Api::<Partner>::namespaced(client().await, ns).get("agency-one").await.ok()
}

/// The partner writes TikTok answered as done, as (endpoint, body).
async fn partner_writes(tiktok: &TikTokStandIn) -> Vec<(String, Value)> {
    tiktok
        .calls()
        .await
        .into_iter()
        .filter(|c| c.is_write() && c.fine() && c.endpoint.as_deref().is_some_and(|e| e.starts_with("bc/partner")))
        .map(|c| (c.endpoint.unwrap_or_default(), c.request_body.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn a_tiktok_partner_is_reported_and_its_declared_access_granted_changed_and_revoked() {
    let tiktok = TikTokStandIn::start(StandInOptions::default()).await;
    tiktok.add_asset("ADVERTISER", "Brand US", AD).await;
    tiktok.add_asset("CATALOG", "Spring catalog", CATALOG).await;
    tiktok.add_partner(AGENCY, "Agency One", &[(AD, "ANALYST")]).await;
    let w = workspace("partners-tiktok", "").await;
    let secret = Secret {
        metadata: ObjectMeta { name: Some("tiktok-token".into()), ..Default::default() },
        string_data: Some([("token".to_string(), tiktok.token.clone())].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client().await, &w.ns).create(&PostParams::default(), &secret).await.expect("secret");
    let url = tiktok.base_url();
    apply(&hub_yaml(&w.ns, &url, crate::tiktok_standin::BC_ID, "DryRun"));
    let declared = |access: &str| {
        format!(
            "apiVersion: rolecall.dev/v1alpha1\nkind: Partner\nmetadata: {{name: agency-one, namespace: {ns}}}\nspec:\n  hub: tiktok\n  partnerId: \"{AGENCY}\"\n  access: [{access}]\n",
            ns = w.ns
        )
    };
    // The agency should run Brand US (OPERATOR) and promote the catalog.
    apply(&declared("{asset: Brand US, role: OPERATOR}, {asset: Spring catalog, role: AD_PROMOTE}"));
    let _operator = Operator::start(&w.ns, "rolecall", "op-partners-tiktok", &["--resync", "2s"]);

    // Reported, and in DryRun two pending changes and no call.
    wait_for(LIMIT, "the agency reported with two pending changes", || async {
        partner(&w.ns).await.and_then(|p| p.status).is_some_and(|s| s.pending.len() == 2 && s.assets.len() == 1)
    })
    .await;
    let status = partner(&w.ns).await.and_then(|p| p.status).expect("status");
    println!("reported: {:?} holds {:?}; DryRun pending {:?}", status.name, status.assets, status.pending);
    assert_eq!(status.name.as_deref(), Some("Agency One"));
    assert_eq!((status.assets[0].asset.as_str(), status.assets[0].role.as_str()), ("Brand US", "ANALYST"));
    let hub = Api::<BusinessHub>::namespaced(client().await, &w.ns).get("tiktok").await.expect("hub");
    let listed = hub.status.map(|s| s.partners).unwrap_or_default();
    assert_eq!(listed.iter().map(|p| (p.id.as_str(), p.declared_by.as_deref())).collect::<Vec<_>>(), [(AGENCY, Some("agency-one"))]);
    assert!(partner_writes(&tiktok).await.is_empty(), "DryRun made a partner call");

    // Enforce: one call per changed asset.
    tiktok.clear_calls().await;
    apply(&hub_yaml(&w.ns, &url, crate::tiktok_standin::BC_ID, "Enforce"));
    wait_for(LIMIT, "the agency synced", || async {
        partner(&w.ns)
            .await
            .and_then(|p| p.status)
            .is_some_and(|s| s.pending.is_empty() && s.conditions.iter().any(|c| c.type_ == "Synced" && c.status.as_ref() == "True"))
    })
    .await;
    let writes = partner_writes(&tiktok).await;
    println!("Enforce: {writes:?}");
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes.iter().any(|(_, b)| b["advertiser_role"] == "OPERATOR"), "{writes:?}");
    assert!(writes.iter().any(|(_, b)| b["catalog_role"] == "AD_PROMOTE"), "{writes:?}");

    // A declared change: the catalog is no longer shared. One revocation.
    tiktok.clear_calls().await;
    apply(&declared("{asset: Brand US, role: OPERATOR}"));
    wait_for(LIMIT, "the catalog revoked", || async { partner_writes(&tiktok).await.len() == 1 }).await;
    let writes = partner_writes(&tiktok).await;
    println!("declared change: {writes:?}");
    assert_eq!(writes[0].0, "bc/partner/asset/delete/");
    wait_for(LIMIT, "the agency holds only Brand US", || async {
        partner(&w.ns).await.and_then(|p| p.status).is_some_and(|s| s.assets.len() == 1 && s.pending.is_empty())
    })
    .await;
}
