//! Nothing the IdP sends is lost silently: every attribute `/Schemas`
//! announces goes through the sidecar into the `User` object and back, by
//! POST, PUT and PATCH in Entra's and Okta's forms; what cannot be stored is
//! refused with a SCIM error and leaves the user as it was.

use kube::Api;
use kube::api::PostParams;
use rolecall::api::User;
use serde_json::{Map, Value, json};

use crate::harness::{Sidecar, client, kubectl_apply, namespace};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A sample for one attribute of a `/Schemas` document, distinct per attribute
/// so a value stored in the wrong field shows.
fn sample(attribute: &Value, path: &str, round: u32) -> Value {
    let canonical = attribute["canonicalValues"].as_array().and_then(|c| c.get(round as usize % c.len().max(1))).cloned();
    match attribute["type"].as_str() {
        Some("boolean") => json!(round.is_multiple_of(2)),
        Some("reference") => json!(format!("https://example.com/{path}/{round}")),
        Some("binary") => json!(if round == 0 { "TUlJQm9qQ0NBVXVnQXdJQkFnSUpB" } else { "TUlJQ3pUQ0NBYldnQXdJQkFnSUpB" }),
        Some("complex") => {
            let fields: Map<String, Value> = attribute["subAttributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|sub| sub["mutability"] != "readOnly")
                .filter_map(|sub| sub["name"].as_str().map(|n| (n.to_string(), sample(sub, &format!("{path}.{n}"), round))))
                .collect();
            if attribute["multiValued"] == true { json!([fields]) } else { Value::Object(fields) }
        }
        _ => canonical.unwrap_or_else(|| json!(format!("{path} {round}"))),
    }
}

/// Every writable attribute of a schema document, with samples.
fn writable(schema: &Value, round: u32) -> Map<String, Value> {
    schema["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter(|a| a["mutability"] != "readOnly")
        .filter_map(|a| a["name"].as_str().map(|n| (n.to_string(), sample(a, n, round))))
        .collect()
}

/// A user carrying every attribute the sidecar announces, built from its own `/Schemas`.
async fn everything_announced(scim: &Sidecar, user_name: &str, round: u32) -> Value {
    let (status, core) = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(status, 200, "{core}");
    let (status, enterprise) = scim.get(&format!("/Schemas/{ENTERPRISE}")).await;
    assert_eq!(status, 200, "{enterprise}");
    let mut user = writable(&core, round);
    user.insert("userName".into(), json!(user_name));
    user.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]));
    user.insert(ENTERPRISE.into(), Value::Object(writable(&enterprise, round)));
    Value::Object(user)
}

/// Every attribute of `sent` (but `schemas`) reads back equal in `got`.
fn assert_all_returned(sent: &Value, got: &Value, when: &str) {
    for (key, value) in sent.as_object().into_iter().flatten().filter(|(k, _)| k.as_str() != "schemas") {
        assert_eq!(&got[key], value, "{when}: {key} came back different in {got}");
    }
}

#[tokio::test]
async fn every_announced_attribute_round_trips_by_post_put_and_patch() {
    let client = client().await;
    let ns = namespace(&client, "it-scim-attributes").await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    let secret = k8s_openapi::api::core::v1::Secret {
        metadata: kube::api::ObjectMeta { name: Some("scim-tokens".into()), ..Default::default() },
        string_data: Some([("current".to_string(), "attributes-token".to_string())].into()),
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &secret).await.expect("token secret");
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: idp, namespace: {ns}}}\nspec: {{provider: Okta, deprovision: Deactivate, tokenSecretRef: {{name: scim-tokens}}}}\n"
    ));
    assert!(ok, "{out}");
    let scim = Sidecar::start(&ns, "attributes-token").await;
    let users: Api<User> = Api::namespaced(client.clone(), &ns);

    // POST everything /Schemas announces, then GET it back.
    let sent = everything_announced(&scim, "every.attribute@example.com", 0).await;
    for attr in ["nickName", "x509Certificates", "addresses", "phoneNumbers", "ims", "photos", "entitlements", "roles", "timezone"] {
        assert!(sent.get(attr).is_some(), "/Schemas does not announce {attr}: {sent}");
    }
    let (status, created) = scim.send("POST", "/Users", sent.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let (_, got) = scim.get(&format!("/Users/{id}")).await;
    assert_all_returned(&sent, &got, "after POST");
    // The values live in the User object itself, not in the sidecar's memory.
    let stored = users.get(&id).await.expect("User object");
    assert_eq!(stored.spec.nick_name.as_deref(), sent["nickName"].as_str());
    assert_eq!(stored.spec.name.as_ref().and_then(|n| n.middle_name.as_deref()), sent["name"]["middleName"].as_str());
    assert_eq!(stored.spec.enterprise.as_ref().and_then(|e| e.cost_center.as_deref()), sent[ENTERPRISE]["costCenter"].as_str());

    // PUT every attribute with other values (Okta's full replace).
    let mut replaced = everything_announced(&scim, "every.attribute@example.com", 1).await;
    replaced["id"] = json!(id);
    let (status, body) = scim.send("PUT", &format!("/Users/{id}"), replaced.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = scim.get(&format!("/Users/{id}")).await;
    assert_all_returned(&replaced, &got, "after PUT");
    assert_ne!(got["nickName"], sent["nickName"], "the samples of both rounds differ");

    // PATCH, Entra's way: capitalised ops, paths with filters and URNs.
    let (status, body) = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "path": "nickName", "value": "Bobby"},
                {"op": "Replace", "path": "name.middleName", "value": "Quincy"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0101"},
                {"op": "Add", "path": "addresses[type eq \"home\"].postalCode", "value": "62701"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:costCenter"), "value": "CC-7"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": "boss-id"},
                {"op": "Remove", "path": "title"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Okta's way: lower-case ops and path-less value objects.
    let (status, body) = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "value": {"id": id, "locale": "fr-FR", "name": {"honorificPrefix": "Dr."}, "userType": "Contractor"}},
                {"op": "add", "value": {"roles": [{"value": "auditor", "type": "app"}]}},
                {"op": "replace", "value": {ENTERPRISE: {"division": "Rides", "manager": {"displayName": "The Boss"}}}}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(got["nickName"], "Bobby");
    assert_eq!(got["name"]["middleName"], "Quincy");
    assert_eq!(got["name"]["honorificPrefix"], "Dr.");
    assert_eq!(got["name"]["familyName"], replaced["name"]["familyName"], "untouched parts stay");
    assert!(got.get("title").is_none(), "{got}");
    assert_eq!((got["locale"].as_str(), got["userType"].as_str()), (Some("fr-FR"), Some("Contractor")));
    let mobile: Vec<&Value> = got["phoneNumbers"].as_array().expect("phones").iter().filter(|p| p["type"] == "mobile").collect();
    assert_eq!(mobile.len(), 1, "{got}");
    assert_eq!(mobile[0]["value"], "+1 555 0101");
    let home: Vec<&Value> = got["addresses"].as_array().expect("addresses").iter().filter(|a| a["type"] == "home").collect();
    assert_eq!(home[0]["postalCode"], "62701", "{got}");
    assert!(got["roles"].as_array().expect("roles").iter().any(|r| r["value"] == "auditor"), "{got}");
    assert_eq!(got[ENTERPRISE]["costCenter"], "CC-7");
    assert_eq!(got[ENTERPRISE]["division"], "Rides");
    assert_eq!(got[ENTERPRISE]["manager"], json!({"value": "boss-id", "displayName": "The Boss"}));

    // Removes, with and without filters.
    let (status, body) = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Remove", "path": "name.middleName"},
                {"op": "Remove", "path": "phoneNumbers[type eq \"mobile\"]"},
                {"op": "remove", "path": "x509Certificates"},
                {"op": "remove", "path": format!("{ENTERPRISE}:manager")}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = scim.get(&format!("/Users/{id}")).await;
    assert!(got["name"].get("middleName").is_none(), "{got}");
    assert!(!got["phoneNumbers"].as_array().into_iter().flatten().any(|p| p["type"] == "mobile"), "{got}");
    assert!(got.get("x509Certificates").is_none() && got[ENTERPRISE].get("manager").is_none(), "{got}");
    assert_eq!(got["nickName"], "Bobby");

    // What cannot be stored is refused with a SCIM error, and changes nothing.
    let before = users.get(&id).await.expect("user").spec;
    for (method, body, scim_type, named) in [
        (
            "PATCH",
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "badgeNumber", "value": "7"}]}),
            "invalidPath",
            "badgeNumber",
        ),
        (
            "PATCH",
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"nickName": "Lost", "badgeNumber": "7"}}]}),
            "invalidPath",
            "badgeNumber",
        ),
        (
            "PATCH",
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": format!("{ENTERPRISE}:badgeNumber"), "value": "7"}]}),
            "invalidPath",
            "badgeNumber",
        ),
        (
            "PATCH",
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "groups", "value": [{"value": "g"}]}]}),
            "mutability",
            "groups",
        ),
        ("PUT", json!({"userName": "every.attribute@example.com", "nickName": "Lost", "badgeNumber": "7"}), "invalidValue", "badgeNumber"),
        (
            "PUT",
            json!({"userName": "every.attribute@example.com", "name": {"givenName": "Lost", "nickName": "x"}}),
            "invalidValue",
            "name.nickName",
        ),
    ] {
        let (status, err) = scim.send(method, &format!("/Users/{id}"), body.clone()).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some(scim_type)), "{body}: {err}");
        assert!(err["detail"].as_str().is_some_and(|d| d.contains(named)), "{err}");
        assert_eq!(err["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    }
    let (status, err) = scim.send("POST", "/Users", json!({"userName": "someone.else@example.com", "badgeNumber": "7"})).await;
    assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
    assert_eq!(users.get(&id).await.expect("user").spec, before, "a refused request changes nothing");
    let (_, found) = scim.get("/Users?filter=userName%20eq%20%22someone.else%40example.com%22").await;
    assert_eq!(found["totalResults"], 0, "{found}");

    // A password is accepted and never stored.
    let (status, body) =
        scim.send("PATCH", &format!("/Users/{id}"), json!({"Operations": [{"op": "replace", "value": {"password": "hunter2-x9"}}]})).await;
    assert_eq!(status, 200, "{body}");
    let raw = serde_json::to_string(&users.get(&id).await.expect("user")).unwrap_or_default();
    assert!(!raw.contains("hunter2-x9"));
}
