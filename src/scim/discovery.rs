//! What the service provider says about itself: `/ServiceProviderConfig`,
//! `/ResourceTypes`, `/Schemas` (RFC 7643 §5–7). Clients such as scim2-tester
//! generate their test data from these documents, so they list exactly the
//! attributes the sidecar stores (`schema` holds the tables).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::ScimError;
use super::handler_kit::{list_of, scim_json};
use super::state::ScimState;

use super::group_json::GROUP_SCHEMA;
use super::schema::{ENTERPRISE_ATTRIBUTES, GROUP_ATTRIBUTES, USER_ATTRIBUTES, schema_json};
use super::user_json::{ENTERPRISE_SCHEMA, USER_SCHEMA};

/// The largest page a list answers, whatever `count` asks for.
pub const MAX_RESULTS: usize = 1000;

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://rolecall.dev/docs/scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token from the Secret named by the workspace's IdPBinding",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "A person of the workspace directory",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "A team of the workspace",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}
        }),
    ]
}

/// The three schemas, rendered from the attribute tables of `schema`: what is
/// announced here is exactly what the User and Group readers accept and store.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema_json(base, USER_SCHEMA, "User", "User account", USER_ATTRIBUTES),
        schema_json(base, ENTERPRISE_SCHEMA, "EnterpriseUser", "Enterprise user attributes", ENTERPRISE_ATTRIBUTES),
        schema_json(base, GROUP_SCHEMA, "Group", "Group", GROUP_ATTRIBUTES),
    ]
}

// ---------------------------------------------------------------- endpoints

pub async fn get_service_provider_config(State(st): State<Arc<ScimState>>) -> Response {
    scim_json(StatusCode::OK, service_provider_config(&st.base_url))
}

pub async fn list_resource_types(State(st): State<Arc<ScimState>>) -> Response {
    scim_json(StatusCode::OK, list_of(resource_types(&st.base_url)))
}

pub async fn get_resource_type(State(st): State<Arc<ScimState>>, Path(id): Path<String>) -> Result<Response, ScimError> {
    resource_types(&st.base_url)
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(|r| scim_json(StatusCode::OK, r))
        .ok_or_else(|| ScimError::not_found("ResourceType", &id))
}

pub async fn list_schemas(State(st): State<Arc<ScimState>>) -> Response {
    scim_json(StatusCode::OK, list_of(schemas(&st.base_url)))
}

pub async fn get_schema(State(st): State<Arc<ScimState>>, Path(id): Path<String>) -> Result<Response, ScimError> {
    schemas(&st.base_url)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id.as_str()))
        .map(|s| scim_json(StatusCode::OK, s))
        .ok_or_else(|| ScimError::not_found("Schema", &id))
}
