//! The SCIM 2.0 outbound connector: any app that accepts SCIM provisioning.
//!
//! Accounts are `/Users`; the account's email is its primary email (else its
//! userName). Roles live either in the user's `roles` attribute or as
//! membership of app groups named after the roles (`scim.roleMapping`). With
//! group-mapped roles only the groups the hub's role catalog names are read as
//! roles and changed; every other app group a user is in is the app's business
//! and is left alone. A removal deactivates (`active: false`) or deletes
//! (`scim.removal`). SCIM has no invitations: an added account is reported as
//! it is, active.
//!
//! Every HTTP call goes through the hub's [`Pacer`]: nothing is sent before
//! the time a 429/503 named, and server errors back off.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::business_hub::{ScimConnectorSettings, ScimRemoval, ScimRoleMapping};

use super::exchange::{self, percent_encode};
use super::pacer::{Answer, Pacer, retry_time};
use super::{Access, Connector, ConnectorError, ExternalAccount, NewAccount, OperationId};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PAGE: usize = 100;
/// A server that keeps promising more pages is cut off here (1,000,000 accounts).
const MAX_PAGES: usize = 10_000;

pub struct ScimConnector {
    http: reqwest::Client,
    /// Bounds each call (`spec.connector.timeout`).
    timeout: Duration,
    base: String,
    /// The bearer token; never logged (this type has no Debug).
    token: String,
    settings: ScimConnectorSettings,
    /// The hub's role catalog: with group-mapped roles, the only app groups read or changed.
    catalog: BTreeSet<String>,
    /// The hub's pacer, shared with every other connector built for the same hub.
    pacer: Arc<Pacer>,
}

/// Role groups: role name → (group id, member ids).
type RoleGroups = BTreeMap<String, (String, BTreeSet<String>)>;

impl ScimConnector {
    /// `catalog` is the hub's role names (`spec.roles[].name`); `pacer` is the
    /// hub's; `timeout` bounds each call (`spec.connector.timeout`).
    pub fn new(
        base_url: &str,
        token: String,
        settings: &ScimConnectorSettings,
        catalog: BTreeSet<String>,
        pacer: Arc<Pacer>,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        if timeout.is_zero() {
            return Err(ConnectorError::Config("spec.connector.timeout must be longer than zero".into()));
        }
        let http = super::http_client::shared()?;
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConnectorError::Config(format!("the SCIM base URL {base:?} must start with http:// or https://")));
        }
        Ok(ScimConnector { http, timeout, base, token, settings: settings.clone(), catalog, pacer })
    }

    /// One call, paced and read whole (see [`exchange`]); a refusal is read as SCIM's error.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), ConnectorError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/scim+json, application/json");
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/scim+json").body(body.to_string());
        }
        let answered = exchange::send(&self.pacer, request, path).await?;
        let status = answered.status;
        if status.is_success() {
            return exchange::success_json(&self.pacer, &answered, path).map(|body| (status, body));
        }
        let retry_after = retry_time(status, |name| answered.header(name), SystemTime::now());
        let body = answered.json().unwrap_or_else(|_| Value::String(answered.text.clone()));
        Err(exchange::refused(&self.pacer, error_for(status, retry_after, path, &body), Answer::of(status, retry_after)))
    }

    /// Every resource of a collection, page by page (RFC 7644 §3.4.2.4). A page
    /// that is not a list response, or pages that end before the announced
    /// total, fail the listing: a partial list taken as whole would make
    /// accounts look missing (and be invited again) or gone.
    async fn list_all(&self, collection: &str, filter: Option<&str>) -> Result<Vec<Value>, ConnectorError> {
        let mut all = Vec::new();
        let mut start = 1usize;
        for _ in 0..MAX_PAGES {
            let mut path = format!("/{collection}?startIndex={start}&count={PAGE}");
            if let Some(f) = filter {
                path.push_str(&format!("&filter={}", percent_encode(f)));
            }
            let (_, page) = self.call(Method::GET, &path, None).await?;
            let (resources, total) = list_page(&page, &path)?;
            let got = resources.len();
            all.extend(resources);
            if all.len() >= total {
                return Ok(all);
            }
            if got == 0 {
                return Err(ConnectorError::Transient(format!(
                    "/{collection} announced {total} resources but its pages ended after {}",
                    all.len()
                )));
            }
            start += got;
        }
        Err(ConnectorError::Permanent(format!("/{collection} kept announcing more pages after {MAX_PAGES}")))
    }

    /// The app groups the role catalog names: displayName → (group id, member ids).
    /// Other groups are not roles and are never returned.
    async fn role_groups(&self) -> Result<RoleGroups, ConnectorError> {
        let groups = self.list_all("Groups", None).await?;
        Ok(catalog_groups(&groups, &self.catalog))
    }

    /// PATCH, or GET + PUT for apps that do not implement PATCH.
    async fn patch_user(&self, id: &str, operations: Vec<Value>, apply: impl Fn(&mut Value)) -> Result<(), ConnectorError> {
        let path = format!("/Users/{}", percent_encode(id));
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": operations});
        match self.call(Method::PATCH, &path, Some(&body)).await {
            Err(ConnectorError::Unsupported(_)) => {
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

    /// Puts the user in exactly the role groups `roles` names (creating missing
    /// ones), among the catalog's groups; the user's other groups are not touched.
    async fn sync_role_groups(&self, user_id: &str, roles: &BTreeSet<String>) -> Result<(), ConnectorError> {
        let mut groups = self.role_groups().await?;
        let current = roles_of(&groups, user_id);
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
                    let id = made
                        .get("id")
                        .and_then(Value::as_str)
                        .filter(|id| !id.is_empty())
                        .ok_or_else(|| ConnectorError::Permanent(format!("the app made the group {role:?} but returned no id")))?
                        .to_string();
                    groups.insert(role.clone(), (id.clone(), BTreeSet::new()));
                    id
                }
            };
            self.set_group_membership(&group_id, user_id, true).await?;
        }
        for role in current.difference(roles) {
            // `current` holds catalog groups only (see `role_groups`).
            if let Some((group_id, _)) = groups.get(role) {
                self.set_group_membership(group_id, user_id, false).await?;
            }
        }
        Ok(())
    }

    /// With group-mapped roles, a role outside the catalog is refused before any call:
    /// its group is not rolecall's to make or fill.
    fn check_catalog(&self, roles: &BTreeSet<String>) -> Result<(), ConnectorError> {
        match roles.iter().find(|r| !self.catalog.contains(*r)) {
            Some(outside) if self.settings.role_mapping == ScimRoleMapping::GroupMembership => Err(ConnectorError::Permanent(format!(
                "the role {outside:?} is not in the hub's role catalog; only catalog groups are managed"
            ))),
            _ => Ok(()),
        }
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
                    account.access.roles = roles_of(&groups, &account.id);
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
                account.access.roles = roles_of(&groups, &account.id);
            }
            Ok(account)
        })
    }

    // SCIM has no operation ids: a repeated add answers 409 (uniqueness of userName).
    fn add_account<'a>(&'a self, account: &'a NewAccount, _: &'a OperationId) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
        Box::pin(async move {
            self.check_catalog(&account.access.roles)?;
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
            let mut made = match account_of(&made) {
                Some(made) => made,
                // Made, but not said how: look it up rather than leave a made account unrecorded.
                None => self.find_account(&account.email).await?.ok_or_else(|| {
                    ConnectorError::Transient(format!("the app accepted {} but neither returned nor lists it", account.email))
                })?,
            };
            if self.settings.role_mapping == ScimRoleMapping::GroupMembership {
                self.sync_role_groups(&made.id, &account.access.roles).await?;
                made.access.roles = account.access.roles.clone();
            }
            Ok(made)
        })
    }

    fn update_access<'a>(
        &'a self,
        external_id: &'a str,
        access: &'a Access,
        _: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.check_catalog(&access.roles)?;
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
                    self.sync_role_groups(external_id, &access.roles).await
                }
            }
        })
    }

    fn remove_account<'a>(&'a self, external_id: &'a str, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
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

/// The resources and `totalResults` of one page of a list response. A page
/// without `totalResults` is taken as the whole list (some apps leave it out).
fn list_page(page: &Value, path: &str) -> Result<(Vec<Value>, usize), ConnectorError> {
    let not_a_list = || ConnectorError::Transient(format!("{path} answered something that is not a SCIM list response"));
    let object = page.as_object().ok_or_else(not_a_list)?;
    let resources = match object.get("Resources") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(not_a_list()),
    };
    let total = match object.get("totalResults") {
        None => resources.len(),
        Some(t) => t.as_u64().ok_or_else(not_a_list)? as usize,
    };
    Ok((resources, total))
}

/// The groups of a `/Groups` listing that the catalog names, as role groups.
fn catalog_groups(groups: &[Value], catalog: &BTreeSet<String>) -> RoleGroups {
    groups
        .iter()
        .filter_map(|g| {
            let name = g.get("displayName")?.as_str()?;
            if !catalog.contains(name) {
                return None;
            }
            let id = g.get("id")?.as_str()?.to_string();
            let members = g
                .get("members")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_string)).collect())
                .unwrap_or_default();
            Some((name.to_string(), (id, members)))
        })
        .collect()
}

/// The roles (catalog groups) `user_id` is a member of.
fn roles_of(groups: &RoleGroups, user_id: &str) -> BTreeSet<String> {
    groups.iter().filter(|(_, (_, members))| members.contains(user_id)).map(|(name, _)| name.clone()).collect()
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
        invitation_failed: None,
        note: None,
        service_account: false,
    })
}

/// The typed error for a refused call, with the app's SCIM `detail` when it sent one.
pub fn error_for(status: StatusCode, retry_after: Option<Duration>, path: &str, body: &Value) -> ConnectorError {
    let detail = body.get("detail").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| match body {
        Value::String(s) => s.chars().take(200).collect(),
        _ => String::new(),
    });
    let what = format!("{path} answered {} ({}) {detail}", status.canonical_reason().unwrap_or(""), status.as_u16());
    ConnectorError::from_status(status, retry_after, what)
}

/// A filter string value with its quotes and backslashes escaped (RFC 7644 §3.4.2.2, JSON string rules).
pub fn escape_filter_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SCIM ignores operation ids; any will do.
    fn op() -> OperationId {
        OperationId::of("hub", "ann@acme.io", crate::api::app_account::OperationKind::Invite, "2026-12-02T10:00:00Z")
    }

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
        for status in [StatusCode::NOT_IMPLEMENTED, StatusCode::METHOD_NOT_ALLOWED] {
            assert!(matches!(error_for(status, None, "/Users/1", &Value::Null), ConnectorError::Unsupported(_)), "{status}");
        }
        assert_eq!(
            error_for(StatusCode::SERVICE_UNAVAILABLE, Some(Duration::from_secs(2)), "/Users", &Value::Null),
            ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(2)) }
        );
        assert!(matches!(error_for(StatusCode::SERVICE_UNAVAILABLE, None, "/Users", &Value::Null), ConnectorError::Transient(_)));
    }

    #[test]
    fn only_catalog_groups_are_roles() {
        let groups = vec![
            json!({"id": "g1", "displayName": "admin", "members": [{"value": "u1"}]}),
            json!({"id": "g2", "displayName": "Everyone", "members": [{"value": "u1"}, {"value": "u2"}]}),
            json!({"id": "g3", "displayName": "member", "members": [{"value": "u2"}]}),
            json!({"displayName": "no id"}),
        ];
        let catalog: BTreeSet<String> = ["admin", "member", "viewer"].into_iter().map(String::from).collect();
        let roles = catalog_groups(&groups, &catalog);
        assert_eq!(roles.keys().collect::<Vec<_>>(), ["admin", "member"], "Everyone is not a role");
        assert_eq!(roles_of(&roles, "u1").into_iter().collect::<Vec<_>>(), ["admin"]);
        assert_eq!(roles_of(&roles, "u2").into_iter().collect::<Vec<_>>(), ["member"]);
        assert!(catalog_groups(&groups, &BTreeSet::new()).is_empty(), "an empty catalog manages no group");
    }

    /// A scripted SCIM app on loopback: answers requests in order from `script`
    /// (then 200 `{}`), and records what it received and when.
    mod scripted {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::{SocketAddr, TcpListener};
        use std::sync::{Arc, Mutex};
        use std::time::{Duration, Instant};

        #[derive(Debug, Clone)]
        pub struct Received {
            pub method: String,
            pub path: String,
            pub body: String,
            pub at: Instant,
        }

        pub struct Answer {
            pub status: u16,
            pub headers: Vec<(&'static str, &'static str)>,
            pub body: String,
        }

        pub struct App {
            pub addr: SocketAddr,
            pub received: Arc<Mutex<Vec<Received>>>,
        }

        impl App {
            pub fn start(script: Vec<Answer>) -> App {
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
                let addr = listener.local_addr().expect("addr");
                let received = Arc::new(Mutex::new(Vec::new()));
                let log = received.clone();
                let script = Arc::new(Mutex::new(script.into_iter()));
                std::thread::spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut reader = BufReader::new(stream);
                        let (mut request_line, mut length) = (String::new(), 0usize);
                        for _ in 0..100 {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                                break;
                            }
                            if request_line.is_empty() {
                                request_line = line.trim_end().to_string();
                            }
                            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        let mut parts = request_line.split(' ');
                        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
                        let at = Instant::now();
                        let body = String::from_utf8_lossy(&body).to_string();
                        log.lock().expect("log").push(Received { method, path, body, at });
                        let next = script.lock().expect("script").next();
                        let answer = next.unwrap_or(Answer { status: 200, headers: vec![], body: "{}".into() });
                        let mut out = format!(
                            "HTTP/1.1 {} X\r\nContent-Type: application/scim+json\r\nConnection: close\r\nContent-Length: {}\r\n",
                            answer.status,
                            answer.body.len()
                        );
                        for (name, value) in &answer.headers {
                            out.push_str(&format!("{name}: {value}\r\n"));
                        }
                        out.push_str("\r\n");
                        out.push_str(&answer.body);
                        let _ = reader.into_inner().write_all(out.as_bytes());
                    }
                });
                App { addr, received }
            }

            pub fn received(&self) -> Vec<Received> {
                self.received.lock().expect("log").clone()
            }
        }
    }

    fn answer(status: u16, headers: Vec<(&'static str, &'static str)>, body: Value) -> scripted::Answer {
        scripted::Answer { status, headers, body: if body.is_null() { String::new() } else { body.to_string() } }
    }

    fn scim_at(app: &scripted::App, settings: ScimConnectorSettings, pacer: Arc<Pacer>) -> ScimConnector {
        let catalog = ["admin", "member"].into_iter().map(String::from).collect();
        ScimConnector::new(&format!("http://{}/v2", app.addr), "t".into(), &settings, catalog, pacer, Duration::from_secs(5))
            .expect("connector")
    }

    #[tokio::test]
    async fn an_app_without_patch_gets_get_and_put() {
        for refusal in [501, 405] {
            let user = json!({"id": "1", "userName": "ann@acme.io", "active": true, "meta": {"version": "W/1"}});
            let app = scripted::App::start(vec![
                answer(refusal, vec![], json!({"detail": "PATCH is not supported"})),
                answer(200, vec![], user),
                answer(200, vec![], json!({})),
            ]);
            let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
            scim.remove_account("1", &op()).await.expect("deactivated by GET + PUT");
            let got: Vec<(String, String)> = app.received().into_iter().map(|r| (r.method, r.path)).collect();
            assert_eq!(
                got,
                [("PATCH", "/v2/Users/1"), ("GET", "/v2/Users/1"), ("PUT", "/v2/Users/1")].map(|(m, p)| (m.to_string(), p.to_string())),
                "{refusal}"
            );
            let put: Value = serde_json::from_str(&app.received()[2].body).expect("json");
            assert_eq!((put["active"].clone(), put.get("meta")), (json!(false), None), "{refusal}");
        }
        // Any other refusal is not a reason to fall back.
        let app = scripted::App::start(vec![answer(400, vec![], json!({"detail": "bad"}))]);
        let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
        assert!(matches!(scim.remove_account("1", &op()).await, Err(ConnectorError::Permanent(_))));
        assert_eq!(app.received().len(), 1);
    }

    #[tokio::test]
    async fn a_retry_time_holds_every_later_call_of_the_hub_even_from_a_new_connector() {
        let list = json!({"totalResults": 0, "Resources": []});
        let app = scripted::App::start(vec![
            answer(429, vec![("Retry-After", "1")], Value::Null),
            answer(200, vec![], list.clone()),
            answer(200, vec![], list),
            answer(503, vec![("Retry-After", "1")], Value::Null),
        ]);
        let pacer = Arc::new(Pacer::new("ns/hub"));
        let first = scim_at(&app, ScimConnectorSettings::default(), pacer.clone());
        assert_eq!(first.list_accounts().await, Err(ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(1)) }));
        // The next sync builds a new connector; it shares the hub's pacer.
        let second = scim_at(&app, ScimConnectorSettings::default(), pacer.clone());
        assert_eq!(second.find_account("ann@acme.io").await.map(|a| a.is_none()), Ok(true));
        let third = scim_at(&app, ScimConnectorSettings::default(), pacer);
        let refused = third.update_access("1", &Access::default(), &op()).await;
        assert_eq!(refused, Err(ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(1)) }));
        third.remove_account("1", &op()).await.expect("sent after the 503's retry time");
        let got = app.received();
        for r in &got {
            println!("{:>6} ms  {} {}", r.at.duration_since(got[0].at).as_millis(), r.method, r.path);
        }
        assert_eq!(got.len(), 5, "list (429), lookup by filter, full listing, PATCH (503), PATCH: {got:?}");
        assert!(got[1].at.duration_since(got[0].at) >= Duration::from_secs(1), "nothing before the 429's retry time");
        assert!(got[4].at.duration_since(got[3].at) >= Duration::from_secs(1), "nothing before the 503's retry time");
    }

    fn raw(status: u16, body: &str) -> scripted::Answer {
        scripted::Answer { status, headers: vec![], body: body.into() }
    }

    #[tokio::test]
    async fn a_broken_list_is_a_failure_never_an_empty_or_partial_list() {
        let first_page = json!({"totalResults": 3, "Resources": [{"id": "1", "userName": "ann@acme.io"}]});
        let cases = [
            vec![raw(200, r#"{"totalResults": 3, "Resources": [{"id": "1""#)],
            vec![answer(200, vec![], json!(["not", "a", "list response"]))],
            vec![answer(200, vec![], json!({"totalResults": 3, "Resources": "none"}))],
            vec![answer(200, vec![], first_page), answer(200, vec![], json!({"totalResults": 3, "Resources": []}))],
        ];
        for (i, script) in cases.into_iter().enumerate() {
            let app = scripted::App::start(script);
            let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
            let listed = scim.list_accounts().await;
            assert!(matches!(&listed, Err(e) if e.is_retryable()), "case {i}: {listed:?}");
        }
        // A list without totalResults is taken as whole, as before.
        let app = scripted::App::start(vec![answer(200, vec![], json!({"Resources": [{"id": "1", "userName": "ann@acme.io"}]}))]);
        let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
        assert_eq!(scim.list_accounts().await.map(|l| l.len()), Ok(1));
    }

    fn new_account() -> NewAccount {
        NewAccount { email: "ann@acme.io".into(), display_name: None, given_name: None, family_name: None, access: Access::default() }
    }

    #[tokio::test]
    async fn a_create_whose_answer_is_unreadable_may_have_happened_and_one_without_an_id_is_looked_up() {
        let app = scripted::App::start(vec![raw(201, r#"{"id": "7", "userName": "ann@ac"#)]);
        let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
        let added = scim.add_account(&new_account(), &op()).await;
        // Retryable: the executor keeps the add announced and reads back before sending it again.
        assert!(matches!(&added, Err(ConnectorError::BackingOff { failures: 1, last, .. }) if last.contains("not JSON")), "{added:?}");

        let listed = json!({"totalResults": 1, "Resources": [{"id": "7", "userName": "ann@acme.io"}]});
        let app = scripted::App::start(vec![raw(201, ""), answer(200, vec![], listed)]);
        let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
        assert_eq!(scim.add_account(&new_account(), &op()).await.map(|a| a.id), Ok("7".to_string()));
        let got: Vec<String> = app.received().into_iter().map(|r| r.method).collect();
        assert_eq!(got, ["POST", "GET"], "one create, then a look-up by email");
    }

    #[tokio::test]
    async fn a_call_the_app_never_answers_ends_at_the_hubs_timeout_and_backs_off() {
        // Accepts connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(2).collect();
            std::thread::sleep(Duration::from_secs(10));
            drop(held);
        });
        let pacer = Arc::new(Pacer::new("ns/hub"));
        let catalog = BTreeSet::new();
        let scim = ScimConnector::new(
            &format!("http://{addr}/v2"),
            "t".into(),
            &ScimConnectorSettings::default(),
            catalog,
            pacer,
            Duration::from_millis(300),
        )
        .expect("connector");
        let started = std::time::Instant::now();
        let listed = scim.list_accounts().await;
        assert!(started.elapsed() < Duration::from_secs(3), "ended by the timeout: {:?}", started.elapsed());
        assert!(matches!(&listed, Err(ConnectorError::BackingOff { last, .. }) if last.contains("timed out")), "{listed:?}");
        let zero = ScimConnector::new(
            "http://127.0.0.1:1",
            "t".into(),
            &ScimConnectorSettings::default(),
            BTreeSet::new(),
            Arc::new(Pacer::new("h")),
            Duration::ZERO,
        );
        assert!(matches!(zero, Err(ConnectorError::Config(_))));
    }

    #[tokio::test]
    async fn a_429_naming_its_time_in_a_reset_header_holds_the_next_call() {
        let list = json!({"totalResults": 0, "Resources": []});
        let app = scripted::App::start(vec![answer(429, vec![("RateLimit-Reset", "1")], Value::Null), answer(200, vec![], list)]);
        let scim = scim_at(&app, ScimConnectorSettings::default(), Arc::new(Pacer::new("ns/hub")));
        assert_eq!(scim.list_accounts().await, Err(ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(1)) }));
        assert_eq!(scim.list_accounts().await, Ok(vec![]));
        let got = app.received();
        assert!(got[1].at.duration_since(got[0].at) >= Duration::from_secs(1), "nothing before the reset");
    }

    #[test]
    fn filter_values_and_paths_are_escaped() {
        assert_eq!(escape_filter_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(percent_encode("userName eq \"a@b.io\""), "userName%20eq%20%22a%40b.io%22");
    }
}
