//! The SCIM 2.0 outbound connector: any app that accepts SCIM provisioning.
//!
//! Accounts are `/Users`; the account's email is its primary email (else its
//! userName). Roles live either in the user's `roles` attribute or as
//! membership of app groups named after the roles (`scim.roleMapping`). A
//! removal deactivates (`active: false`) or deletes (`scim.removal`). SCIM has
//! no invitations: an added account is reported as it is, active.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::business_hub::{ScimConnectorSettings, ScimRemoval, ScimRoleMapping};

use super::{Access, Connector, ConnectorError, ExternalAccount, NewAccount};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PAGE: usize = 100;
/// A server that keeps promising more pages is cut off here (1,000,000 accounts).
const MAX_PAGES: usize = 10_000;

pub struct ScimConnector {
    http: reqwest::Client,
    base: String,
    /// The bearer token; never logged (this type has no Debug).
    token: String,
    settings: ScimConnectorSettings,
}

impl ScimConnector {
    pub fn new(base_url: &str, token: String, settings: &ScimConnectorSettings) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ConnectorError::Config(format!("cannot build the HTTP client: {e}")))?;
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConnectorError::Config(format!("the SCIM base URL {base:?} must start with http:// or https://")));
        }
        Ok(ScimConnector { http, base, token, settings: settings.clone() })
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), ConnectorError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/scim+json, application/json");
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/scim+json").body(body.to_string());
        }
        let response = request.send().await.map_err(|e| ConnectorError::Transient(format!("{path}: {}", without_url(e))))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| ConnectorError::Transient(format!("{path}: {}", without_url(e))))?;
        let body: Value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if status.is_success() {
            return Ok((status, body));
        }
        Err(error_for(status, retry_after, path, &body))
    }

    /// Every resource of a collection, page by page (RFC 7644 §3.4.2.4).
    async fn list_all(&self, collection: &str, filter: Option<&str>) -> Result<Vec<Value>, ConnectorError> {
        let mut all = Vec::new();
        let mut start = 1usize;
        for _ in 0..MAX_PAGES {
            let mut path = format!("/{collection}?startIndex={start}&count={PAGE}");
            if let Some(f) = filter {
                path.push_str(&format!("&filter={}", percent_encode(f)));
            }
            let (_, page) = self.call(Method::GET, &path, None).await?;
            let resources = page.get("Resources").and_then(Value::as_array).cloned().unwrap_or_default();
            let total = page.get("totalResults").and_then(Value::as_u64).unwrap_or(0) as usize;
            let got = resources.len();
            all.extend(resources);
            if got == 0 || all.len() >= total {
                return Ok(all);
            }
            start += got;
        }
        Err(ConnectorError::Permanent(format!("/{collection} kept announcing more pages after {MAX_PAGES}")))
    }

    /// Role groups: displayName → (group id, member ids).
    async fn role_groups(&self) -> Result<BTreeMap<String, (String, BTreeSet<String>)>, ConnectorError> {
        let groups = self.list_all("Groups", None).await?;
        Ok(groups
            .iter()
            .filter_map(|g| {
                let name = g.get("displayName")?.as_str()?.to_string();
                let id = g.get("id")?.as_str()?.to_string();
                let members = g
                    .get("members")
                    .and_then(Value::as_array)
                    .map(|m| m.iter().filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_string)).collect())
                    .unwrap_or_default();
                Some((name, (id, members)))
            })
            .collect())
    }

    /// PATCH, or GET + PUT for apps that do not implement PATCH.
    async fn patch_user(&self, id: &str, operations: Vec<Value>, apply: impl Fn(&mut Value)) -> Result<(), ConnectorError> {
        let path = format!("/Users/{}", percent_encode(id));
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": operations});
        match self.call(Method::PATCH, &path, Some(&body)).await {
            Err(ConnectorError::Permanent(detail)) if detail.contains("(501)") || detail.contains("(405)") => {
                let (_, mut user) = self.call(Method::GET, &path, None).await?;
                apply(&mut user);
                if let Some(obj) = user.as_object_mut() {
                    obj.remove("meta");
                }
                self.call(Method::PUT, &path, Some(&user)).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    async fn set_group_membership(&self, group_id: &str, user_id: &str, member: bool) -> Result<(), ConnectorError> {
        let op = if member {
            json!({"op": "add", "path": "members", "value": [{"value": user_id}]})
        } else {
            json!({"op": "remove", "path": format!("members[value eq \"{}\"]", escape_filter_value(user_id))})
        };
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [op]});
        self.call(Method::PATCH, &format!("/Groups/{}", percent_encode(group_id)), Some(&body)).await.map(|_| ())
    }

    /// Puts the user in exactly the role groups `roles` names (creating missing ones).
    async fn sync_role_groups(&self, user_id: &str, roles: &BTreeSet<String>, current: &BTreeSet<String>) -> Result<(), ConnectorError> {
        let mut groups = self.role_groups().await?;
        for role in roles {
            if current.contains(role) {
                continue;
            }
            let group_id = match groups.get(role) {
                Some((id, _)) => id.clone(),
                None => {
                    let (_, made) = self
                        .call(Method::POST, "/Groups", Some(&json!({"schemas": [GROUP_SCHEMA], "displayName": role, "members": []})))
                        .await?;
                    let id = made.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                    groups.insert(role.clone(), (id.clone(), BTreeSet::new()));
                    id
                }
            };
            self.set_group_membership(&group_id, user_id, true).await?;
        }
        for role in current.difference(roles) {
            if let Some((group_id, _)) = groups.get(role) {
                self.set_group_membership(group_id, user_id, false).await?;
            }
        }
        Ok(())
    }

    fn roles_value(roles: &BTreeSet<String>) -> Value {
        Value::Array(roles.iter().map(|r| json!({"value": r})).collect())
    }
}

impl Connector for ScimConnector {
    fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
        Box::pin(async move {
            let users = self.list_all("Users", None).await?;
            let mut accounts: Vec<ExternalAccount> = users.iter().filter_map(account_of).collect();
            if self.settings.role_mapping == ScimRoleMapping::GroupMembership {
                let groups = self.role_groups().await?;
                for account in &mut accounts {
                    account.access.roles =
                        groups.iter().filter(|(_, (_, members))| members.contains(&account.id)).map(|(name, _)| name.clone()).collect();
                }
            }
            Ok(accounts)
        })
    }

    fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
        Box::pin(async move {
            let filter = format!("userName eq \"{}\"", escape_filter_value(email));
            let mut found = self.list_all("Users", Some(&filter)).await?;
            // Some apps key userName differently from the email: fall back to a full listing.
            if found.is_empty() {
                found = self.list_all("Users", None).await?;
            }
            let mut account = found.iter().filter_map(account_of).find(|a| a.email.eq_ignore_ascii_case(email));
            if let Some(account) = account.as_mut()
                && self.settings.role_mapping == ScimRoleMapping::GroupMembership
            {
                let groups = self.role_groups().await?;
                account.access.roles = groups.iter().filter(|(_, (_, m))| m.contains(&account.id)).map(|(n, _)| n.clone()).collect();
            }
            Ok(account)
        })
    }

    fn add_account<'a>(&'a self, account: &'a NewAccount) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
        Box::pin(async move {
            let mut user = json!({
                "schemas": [USER_SCHEMA],
                "userName": account.email,
                "active": true,
                "emails": [{"value": account.email, "type": "work", "primary": true}],
            });
            if let Some(obj) = user.as_object_mut() {
                if let Some(name) = &account.display_name {
                    obj.insert("displayName".into(), json!(name));
                }
                if account.given_name.is_some() || account.family_name.is_some() {
                    obj.insert("name".into(), json!({"givenName": account.given_name, "familyName": account.family_name}));
                }
                if self.settings.role_mapping == ScimRoleMapping::RolesAttribute && !account.access.roles.is_empty() {
                    obj.insert("roles".into(), Self::roles_value(&account.access.roles));
                }
            }
            let (_, made) = self.call(Method::POST, "/Users", Some(&user)).await?;
            let mut made = account_of(&made)
                .ok_or_else(|| ConnectorError::Permanent(format!("the app accepted {} but returned no id", account.email)))?;
            if self.settings.role_mapping == ScimRoleMapping::GroupMembership {
                self.sync_role_groups(&made.id, &account.access.roles, &BTreeSet::new()).await?;
                made.access.roles = account.access.roles.clone();
            }
            Ok(made)
        })
    }

    fn update_access<'a>(&'a self, external_id: &'a str, access: &'a Access) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            match self.settings.role_mapping {
                ScimRoleMapping::RolesAttribute => {
                    let roles = Self::roles_value(&access.roles);
                    let ops = vec![
                        json!({"op": "replace", "path": "roles", "value": roles}),
                        json!({"op": "replace", "path": "active", "value": true}),
                    ];
                    self.patch_user(external_id, ops, |user| {
                        user["roles"] = roles.clone();
                        user["active"] = json!(true);
                    })
                    .await
                }
                ScimRoleMapping::GroupMembership => {
                    let ops = vec![json!({"op": "replace", "path": "active", "value": true})];
                    self.patch_user(external_id, ops, |user| user["active"] = json!(true)).await?;
                    let groups = self.role_groups().await?;
                    let current = groups.iter().filter(|(_, (_, m))| m.contains(external_id)).map(|(n, _)| n.clone()).collect();
                    self.sync_role_groups(external_id, &access.roles, &current).await
                }
            }
        })
    }

    fn remove_account<'a>(&'a self, external_id: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            match self.settings.removal {
                ScimRemoval::Delete => {
                    self.call(Method::DELETE, &format!("/Users/{}", percent_encode(external_id)), None).await.map(|_| ())
                }
                ScimRemoval::Deactivate => {
                    let ops = vec![json!({"op": "replace", "path": "active", "value": false})];
                    self.patch_user(external_id, ops, |user| user["active"] = json!(false)).await
                }
            }
        })
    }
}

/// A SCIM User as an account; `None` without an id.
pub fn account_of(user: &Value) -> Option<ExternalAccount> {
    let id = user.get("id")?.as_str()?.to_string();
    let emails = user.get("emails").and_then(Value::as_array);
    let email = emails
        .and_then(|e| e.iter().find(|e| e.get("primary").and_then(Value::as_bool) == Some(true)).or_else(|| e.first()))
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .or_else(|| user.get("userName").and_then(Value::as_str))?
        .to_string();
    let roles = user
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(|r| r.get("value").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let active = match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    };
    Some(ExternalAccount {
        id,
        email,
        display_name: user.get("displayName").and_then(Value::as_str).map(str::to_string),
        access: Access { roles, assets: BTreeMap::new() },
        active,
        invite_pending: false,
        login_method: None,
        last_active: None,
    })
}

/// The typed error for a refused call, with the app's SCIM `detail` when it sent one.
pub fn error_for(status: StatusCode, retry_after: Option<Duration>, path: &str, body: &Value) -> ConnectorError {
    let detail = body.get("detail").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| match body {
        Value::String(s) => s.chars().take(200).collect(),
        _ => String::new(),
    });
    let what = format!("{path} answered {} ({}) {detail}", status.canonical_reason().unwrap_or(""), status.as_u16());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::Auth(what),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(what),
        StatusCode::CONFLICT => ConnectorError::AlreadyExists(what),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after },
        s if s.is_server_error() && s != StatusCode::NOT_IMPLEMENTED => ConnectorError::Transient(what),
        _ => ConnectorError::Permanent(what),
    }
}

/// A filter string value with its quotes and backslashes escaped (RFC 7644 §3.4.2.2, JSON string rules).
pub fn escape_filter_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// What went wrong with a request, without reqwest's URL (the base URL is in the hub's spec already).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scim_user_becomes_an_account() {
        let user = json!({"id": "42", "userName": "ann", "active": "False", "displayName": "Ann",
            "emails": [{"value": "home@x.io"}, {"value": "Ann@Acme.io", "primary": true}], "roles": [{"value": "admin"}]});
        let account = account_of(&user).expect("account");
        assert_eq!((account.id.as_str(), account.email.as_str(), account.active), ("42", "Ann@Acme.io", false));
        assert_eq!(account.access.roles.iter().collect::<Vec<_>>(), ["admin"]);
        let bare = account_of(&json!({"id": "7", "userName": "bob@acme.io"})).expect("account");
        assert_eq!((bare.email.as_str(), bare.active), ("bob@acme.io", true));
        assert!(account_of(&json!({"userName": "no id"})).is_none());
    }

    #[test]
    fn refusals_map_to_typed_errors() {
        let body = json!({"detail": "userName taken", "status": "409"});
        assert!(
            matches!(error_for(StatusCode::CONFLICT, None, "/Users", &body), ConnectorError::AlreadyExists(d) if d.contains("userName taken"))
        );
        assert!(matches!(error_for(StatusCode::UNAUTHORIZED, None, "/Users", &Value::Null), ConnectorError::Auth(_)));
        assert!(matches!(error_for(StatusCode::NOT_FOUND, None, "/Users/1", &Value::Null), ConnectorError::NotFound(_)));
        assert_eq!(
            error_for(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3)), "/Users", &Value::Null),
            ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(3)) }
        );
        assert!(matches!(error_for(StatusCode::BAD_GATEWAY, None, "/Users", &Value::Null), ConnectorError::Transient(_)));
        assert!(matches!(error_for(StatusCode::BAD_REQUEST, None, "/Users", &Value::Null), ConnectorError::Permanent(_)));
        assert!(
            matches!(error_for(StatusCode::NOT_IMPLEMENTED, None, "/Users", &Value::Null), ConnectorError::Permanent(d) if d.contains("(501)"))
        );
    }

    #[test]
    fn filter_values_and_paths_are_escaped() {
        assert_eq!(escape_filter_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(percent_encode("userName eq \"a@b.io\""), "userName%20eq%20%22a%40b.io%22");
    }
}
