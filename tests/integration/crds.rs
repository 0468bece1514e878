//! The CRDs install on a real API server and teach the API through `kubectl explain`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;

use crate::harness::{client, kubectl_output};

#[tokio::test]
async fn every_crd_installs_and_is_established() {
    let client = client().await;
    let api: Api<CustomResourceDefinition> = Api::all(client);
    for plural in ["accessgrants", "appaccounts", "businesshubs", "idpbindings", "partners", "teams", "users"] {
        let crd = api.get(&format!("{plural}.rolecall.dev")).await.expect("CRD exists");
        let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        assert!(conditions.iter().any(|c| c.type_ == "Established" && c.status == "True"), "{plural} not established: {conditions:?}");
    }
}

#[tokio::test]
async fn kubectl_explain_prints_field_descriptions() {
    client().await;
    let (ok, out) = kubectl_output(&["explain", "businesshub.spec"]);
    assert!(ok, "{out}");
    assert!(out.contains("Where the app is and how to call it."), "{out}");
    assert!(out.contains("What the operator may do in the app."), "{out}");
    let (ok, out) = kubectl_output(&["explain", "accessgrant.spec.seat"]);
    assert!(ok, "{out}");
    assert!(out.contains("Whether the subject takes a seat"), "{out}");
}

#[tokio::test]
async fn the_rolecall_category_lists_every_kind() {
    client().await;
    let (ok, out) = kubectl_output(&["api-resources", "--categories", "rolecall", "-o", "name"]);
    assert!(ok, "{out}");
    for plural in ["accessgrants", "appaccounts", "businesshubs", "idpbindings", "partners", "teams", "users"] {
        assert!(out.contains(&format!("{plural}.rolecall.dev")), "{plural} missing from the category: {out}");
    }
}
