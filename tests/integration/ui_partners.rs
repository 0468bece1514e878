//! `rolecall ui`'s Partners and Assets sections of a hub page: the hub's
//! status (written here as the operator would, by server-side apply of the
//! status subresource) lists two partners and three imported assets, one
//! `Partner` object declares a partner and reports its state, another declares
//! a partner the app does not report yet; headless
//! Chromium loads the page. Then a viewer whom RBAC refuses Partners still
//! gets the page, which says the Partners cannot be read.

use kube::Api;
use kube::api::{Patch, PatchParams};
use rolecall::api::{BusinessHub, Partner};
use serde_json::json;

use crate::browser::{UiServer, dump_dom, element};
use crate::harness::{client, kubeconfig, kubectl_apply, namespace};
use crate::ui::{PLANTED, hub_yaml, plant_secret, reader_kubeconfig};

/// The status the operator's read-back would write: two partners (one declared), three assets of 750 listed.
async fn write_hub_status(ns: &str, hub: &str) {
    let api: Api<BusinessHub> = Api::namespaced(client().await, ns);
    let status = json!({
        "apiVersion": "rolecall.dev/v1alpha1", "kind": "BusinessHub",
        "status": {
            "assets": [
                {"name": "Brand ads", "id": "act_1001", "kind": "adAccount", "roles": ["ANALYZE", "ADVERTISE", "MANAGE"]},
                {"name": "Brand page", "id": "2002", "kind": "page", "roles": ["ANALYZE", "MANAGE"]},
                {"name": "Pixel <main>", "kind": "pixel"},
            ],
            "assetsListed": 750,
            "partners": [
                {"id": "111", "name": "Northwind Media", "assets": 2, "declaredBy": "northwind"},
                {"id": "222", "name": "Southwind <Agency>", "assets": 1},
            ],
        }
    });
    api.patch_status(hub, &PatchParams::apply("rolecall-test").force(), &Patch::Apply(status)).await.expect("hub status applied");
}

async fn write_partner(ns: &str, hub: &str) {
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: Partner\nmetadata: {{name: northwind, namespace: {ns}}}\nspec:\n  hub: {hub}\n  partnerId: \"111\"\n  access: [{{asset: Brand ads, role: ADVERTISE}}, {{asset: Brand page, role: ANALYZE}}]\n"
    ));
    assert!(ok, "{out}");
    let api: Api<Partner> = Api::namespaced(client().await, ns);
    let status = json!({
        "apiVersion": "rolecall.dev/v1alpha1", "kind": "Partner",
        "status": {
            "name": "Northwind Media",
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Resolved", "message": "the hub and the declared assets exist"},
                {"type": "Synced", "status": "False", "reason": "DryRun", "message": "2 changes would be made"},
            ],
            "assets": [{"asset": "Brand ads", "role": "ANALYZE"}],
            "assetCount": 1,
            "pending": [
                {"action": "ChangeRole", "asset": "Brand ads", "role": "ADVERTISE"},
                {"action": "Grant", "asset": "Brand page", "role": "ANALYZE"},
            ],
        }
    });
    api.patch_status("northwind", &PatchParams::apply("rolecall-test").force(), &Patch::Apply(status))
        .await
        .expect("partner status applied");
    // Declared, granted nothing yet: the app does not report it, its object has no status.
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: Partner\nmetadata: {{name: eastwind, namespace: {ns}}}\nspec: {{hub: {hub}, partnerId: \"333\", access: [{{asset: Brand page}}]}}\n"
    ));
    assert!(ok, "{out}");
}

/// The `<tr ...>` of the row whose `attr` is `value`, to its `</tr>`.
fn row<'a>(table: &'a str, attr: &str, value: &str) -> &'a str {
    let at = table.find(&format!("{attr}=\"{value}\"")).unwrap_or_else(|| panic!("no row {attr}={value:?}: {table}"));
    let start = table[..at].rfind("<tr").expect("a row");
    let rest = &table[start..];
    &rest[..rest.find("</tr>").expect("the row's end")]
}

#[tokio::test]
async fn a_hub_page_lists_its_partners_with_their_declared_state_and_its_imported_assets() {
    let c = client().await;
    let ns = namespace(&c, "ui-partners").await;
    for hub in ["meta", "plain"] {
        let (ok, out) = kubectl_apply(&hub_yaml(&ns, hub));
        assert!(ok, "{out}");
    }
    write_hub_status(&ns, "meta").await;
    write_partner(&ns, "meta").await;
    plant_secret(&ns).await;

    let ui = UiServer::start(&kubeconfig(), &["--namespace", &ns]).await;
    let page = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/meta")));
    // The section itself: its heading counts the partners; without it this fails.
    assert!(page.contains("<h2 id=\"partners-h\">Partners (3)</h2>"), "the Partners section:\n{page}");
    let partners = element(&page, "table", "partners");
    assert_eq!(partners.matches("<tr data-partner=").count(), 3, "one row per partner: {partners}");
    assert!(partners.contains("<caption>") && partners.contains("<th scope=\"row\">"), "table semantics: {partners}");

    let north = row(partners, "data-partner", "111");
    for needle in [
        "data-assets=\"2\"",
        "data-declared-by=\"northwind\"",
        "data-pending=\"2\"",
        "Northwind Media",
        "Partner northwind",
        "data-condition=\"Ready\" data-status=\"True\"",
        "data-condition=\"Synced\" data-status=\"False\"",
        "(DryRun)",
    ] {
        assert!(north.contains(needle), "the declared partner's row lacks {needle:?}: {north}");
    }
    let south = row(partners, "data-partner", "222");
    assert!(south.contains("data-assets=\"1\"") && south.contains("Southwind &lt;Agency&gt;"), "escaped, counted: {south}");
    assert!(!south.contains("data-pending") && !south.contains("data-condition") && south.contains("only the app knows it"), "{south}");
    let east = row(partners, "data-partner", "333");
    assert!(east.contains("data-reported=\"false\"") && east.contains("none reported by the app yet"), "{east}");
    assert!(east.contains("data-pending=\"0\"") && east.contains("data-condition=\"Synced\" data-status=\"Unknown\""), "{east}");
    assert!(north.contains("data-reported=\"true\""), "{north}");
    assert!(!page.contains("id=\"partners-error\""), "the admin may read Partners");
    println!(
        "ui partners: 3 rows; 111 Northwind Media (2 assets, Partner northwind, Ready True, Synced False, 2 pending); 222 undeclared; 333 declared by eastwind, not reported"
    );

    assert!(page.contains("<h2 id=\"assets-h\">Assets (3 of 750)</h2>"), "the Assets section and its count:\n{page}");
    let assets = element(&page, "table", "assets");
    assert_eq!(assets.matches("<tr data-asset=").count(), 3, "one row per imported asset: {assets}");
    let ads = row(assets, "data-asset", "Brand ads");
    assert!(ads.contains("adAccount") && ads.contains("act_1001") && ads.contains("ANALYZE, ADVERTISE, MANAGE"), "{ads}");
    let pixel = row(assets, "data-asset", "Pixel &lt;main&gt;");
    assert!(pixel.contains("pixel") && pixel.contains("<td>-</td>"), "no id, no roles: {pixel}");
    assert!(element(&page, "p", "assets-more").contains("750"), "the page says more were listed than kept");
    println!("ui partners: assets 3 rows of 750 listed, with kind, id and roles lowest first");

    // A hub with neither shows neither section.
    let plain = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/plain")));
    assert!(plain.contains("id=\"hub-name\"") && !plain.contains("id=\"partners\"") && !plain.contains("id=\"assets\""), "{plain}");
    for p in [&page, &plain] {
        assert!(!p.contains(PLANTED), "a Secret's value on a page");
    }
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_eq!(ui.fetch(method, &format!("/ns/{ns}/hubs/meta")).0, 405, "{method} is refused");
    }
    drop(ui);

    // A viewer who may read hubs and accounts but not Partners: the page still answers, and says so.
    let viewer = reader_kubeconfig(&ns, &["businesshubs", "appaccounts"]);
    let ui = UiServer::start(&viewer, &[]).await;
    let (status, _) = ui.fetch("GET", &format!("/ns/{ns}/hubs/meta"));
    assert_eq!(status, 200, "Partners refused by RBAC do not break the hub page");
    let refused = dump_dom(&ui.url(&format!("/ns/{ns}/hubs/meta")));
    let why = element(&refused, "p", "partners-error");
    assert!(why.contains("cannot be read") && why.contains("RBAC") && why.contains("forbidden"), "{why}");
    let partners = element(&refused, "table", "partners");
    assert_eq!(partners.matches("<tr data-partner=").count(), 2, "the hub's own report still lists both: {partners}");
    let north = row(partners, "data-partner", "111");
    assert!(north.contains("Partner northwind") && !north.contains("data-pending") && !north.contains("data-condition"), "{north}");
    assert_eq!(element(&refused, "table", "assets").matches("<tr data-asset=").count(), 3);
    println!("ui partners: a viewer refused Partners gets 200, the rows without state, and a line naming RBAC");
}
