//! What the service provider says about itself: `/ServiceProviderConfig`,
//! `/ResourceTypes`, `/Schemas` (RFC 7643 §5–7). Clients such as scim2-tester
//! generate their test data from these documents, so they list exactly the
//! attributes the sidecar stores.

use serde_json::{Value, json};

use super::group_json::GROUP_SCHEMA;
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

fn attr(name: &str, type_: &str, required: bool, case_exact: bool, mutability: &str, uniqueness: &str, description: &str) -> Value {
    json!({
        "name": name, "type": type_, "multiValued": false, "description": description, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": "default", "uniqueness": uniqueness
    })
}

fn string(name: &str, description: &str) -> Value {
    attr(name, "string", false, false, "readWrite", "none", description)
}

pub fn schemas(base: &str) -> Vec<Value> {
    let mut id = attr("id", "string", false, true, "readOnly", "server", "Unique identifier assigned by rolecall");
    id["returned"] = json!("always");
    let mut user_name = attr("userName", "string", true, false, "readWrite", "server", "Unique sign-in name, usually the work email");
    user_name["returned"] = json!("always");
    let mut name = attr("name", "complex", false, false, "readWrite", "none", "The parts of the user's name");
    name["subAttributes"] =
        json!([string("formatted", "Full name"), string("givenName", "Given name"), string("familyName", "Family name")]);
    let mut emails = attr("emails", "complex", false, false, "readWrite", "none", "Email addresses");
    emails["multiValued"] = json!(true);
    let mut primary = attr("primary", "boolean", false, false, "readWrite", "none", "The primary address");
    primary["returned"] = json!("default");
    let mut email_type = string("type", "work, home or other");
    email_type["canonicalValues"] = json!(["work", "home", "other"]);
    emails["subAttributes"] = json!([string("value", "The address"), email_type, primary]);
    let mut groups = attr("groups", "complex", false, false, "readOnly", "none", "Groups the user belongs to");
    groups["multiValued"] = json!(true);
    groups["subAttributes"] = json!([
        attr("value", "string", false, true, "readOnly", "none", "Group id"),
        attr("display", "string", false, false, "readOnly", "none", "Group name"),
        attr("type", "string", false, false, "readOnly", "none", "direct")
    ]);
    let active = attr("active", "boolean", false, false, "readWrite", "none", "False once the IdP deactivated the user");
    let external_id = attr("externalId", "string", false, true, "readWrite", "none", "The identity provider's id");

    let mut manager = attr("manager", "complex", false, false, "readWrite", "none", "The user's manager");
    manager["subAttributes"] = json!([attr("value", "string", false, true, "readWrite", "none", "The manager's id")]);

    // Members are users only: nested groups are not supported.
    let mut member_ref = attr("$ref", "reference", false, false, "immutable", "none", "URI of the member");
    member_ref["referenceTypes"] = json!(["User"]);
    let mut member_type = attr("type", "string", false, false, "immutable", "none", "The kind of member");
    member_type["canonicalValues"] = json!(["User"]);
    let mut members = attr("members", "complex", false, false, "readWrite", "none", "Members of the group");
    members["multiValued"] = json!(true);
    members["subAttributes"] = json!([
        attr("value", "string", false, true, "immutable", "none", "Member id"),
        member_ref,
        attr("display", "string", false, false, "readOnly", "none", "Member name"),
        member_type
    ]);
    let mut display_name = attr("displayName", "string", true, false, "readWrite", "server", "The group's name");
    display_name["returned"] = json!("always");

    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": USER_SCHEMA, "name": "User", "description": "User account",
            "attributes": [id.clone(), external_id.clone(), user_name, name, string("displayName", "Name to show"), string("title", "Job title"), emails, active, groups],
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")}
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser", "description": "Enterprise user attributes",
            "attributes": [string("employeeNumber", "Employee number"), string("department", "Department"), manager],
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{ENTERPRISE_SCHEMA}")}
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
            "attributes": [id, external_id, display_name, members],
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}")}
        }),
    ]
}
