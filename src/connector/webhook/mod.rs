//! The webhook connector: any app behind a connector of its owner's making that
//! speaks rolecall's HTTP/JSON protocol, version v1 (docs/connector-protocol.md;
//! a reference connector is in examples/webhook-connector/).
//!
//! Every request is signed with the hub's shared secret (see [`signing`]);
//! every write carries the executor's [`OperationId`], so a retry of one call
//! gets the connector's first answer, never a second effect. Every call goes
//! through the hub's [`Pacer`] as the SCIM connector's do: nothing is sent
//! before a `rate_limited` answer's time, and server errors, timeouts and
//! unreadable answers back off.
//!
//! Before its first call the connector asks `GET /v1/capabilities` and refuses
//! to go on (`Config`) when the connector offers less than the hub declares in
//! `spec.connector.webhook.capabilities`: the planner plans by the hub's
//! declaration, and a connector that cannot hold assets, say, would be sent
//! asset changes it drops, again every sync.

pub mod answer;
pub mod paging;
pub mod signing;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::api::business_hub::{WebhookCapabilities, WebhookConnectorSettings, WebhookRoleSupport};
use crate::plan::{Capabilities, RoleSupport};

use super::exchange;
use super::pacer::{Answer, Pacer, retry_time};
use super::{Access, Connector, ConnectorError, ExternalAccount, NewAccount, OperationId};
use wire::{AccountPage, AddRequest, RemoveRequest, UpdateRequest, WireAccount, WireCapabilities};

/// Accounts asked for per page unless the hub says (`spec.connector.webhook.pageSize`).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What a hub declares it relies on its webhook connector for.
pub fn declared_capabilities(settings: Option<&WebhookConnectorSettings>) -> Capabilities {
    let declared = settings.map(|s| s.capabilities.clone()).unwrap_or_default();
    let WebhookCapabilities { roles, assets, invitations, deactivation, last_activity } = declared;
    let roles = match roles {
        WebhookRoleSupport::None => RoleSupport::None,
        WebhookRoleSupport::One => RoleSupport::One,
        WebhookRoleSupport::Many => RoleSupport::Many,
    };
    Capabilities { roles, assets, invitations, deactivation, last_activity, partners: false }
}

pub struct WebhookConnector {
    http: reqwest::Client,
    /// Bounds each call (`spec.connector.timeout`).
    timeout: Duration,
    /// The connector's base URL, without a trailing slash; paths start with `/v1`.
    base: String,
    /// The shared signing secret; never logged (this type has no Debug).
    secret: Vec<u8>,
    page_size: usize,
    /// What the hub declares; checked against the connector's capabilities once.
    declared: Capabilities,
    checked: tokio::sync::OnceCell<()>,
    /// The hub's pacer, shared with every other connector built for the same hub.
    pacer: Arc<Pacer>,
}

impl WebhookConnector {
    pub fn new(
        base_url: &str,
        secret: String,
        settings: Option<&WebhookConnectorSettings>,
        pacer: Arc<Pacer>,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        if timeout.is_zero() {
            return Err(ConnectorError::Config("spec.connector.timeout must be longer than zero".into()));
        }
        if secret.is_empty() {
            return Err(ConnectorError::Config("the credentials Secret's signing secret is empty".into()));
        }
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConnectorError::Config(format!("the webhook connector URL {base:?} must start with http:// or https://")));
        }
        let page_size = settings.and_then(|s| s.page_size).map(|n| n.clamp(1, 1000) as usize).unwrap_or(DEFAULT_PAGE_SIZE);
        Ok(WebhookConnector {
            http: super::http_client::shared()?,
            timeout,
            base,
            secret: secret.into_bytes(),
            page_size,
            declared: declared_capabilities(settings),
            checked: tokio::sync::OnceCell::new(),
            pacer,
        })
    }

    /// One signed call, paced. A success must come with its whole body, and
    /// JSON when there is one: an answer that breaks off or does not parse is a
    /// failure like a 5xx (a write may well have happened; its retry carries
    /// the same operation id), never an empty result.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<(StatusCode, Value), ConnectorError> {
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let timestamp = signing::now_unix();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
            .header(signing::SIGNATURE_HEADER, signing::signature(&self.secret, timestamp, payload.as_bytes()));
        if !payload.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(payload);
        }
        let answered = exchange::send(&self.pacer, request, path).await?;
        let status = answered.status;
        if status.is_success() {
            return exchange::success_json(&self.pacer, &answered, path).map(|body| (status, body));
        }
        let header_time = retry_time(status, |name| answered.header(name), SystemTime::now());
        let body = answered.json().unwrap_or_else(|_| Value::String(answered.text.clone()));
        let retry_after = header_time.or_else(|| answer::body_retry_after(&body));
        let error = answer::error_for(status, retry_after, path, &body);
        let pacing = match &error {
            // A typed rate limit on any status holds the hub like a 429.
            ConnectorError::RateLimited { retry_after } => Answer::Throttled { retry_after: *retry_after },
            ConnectorError::Transient(_) => Answer::ServerError,
            _ => Answer::of(status, retry_after),
        };
        Err(exchange::refused(&self.pacer, error, pacing))
    }

    /// A 2xx body that is not the shape the protocol says: the connector's
    /// answer is unreadable, a failure that backs off like a 5xx.
    fn unreadable(&self, path: &str, what: &str, e: impl std::fmt::Display) -> ConnectorError {
        self.pacer.after_failure(&ConnectorError::Transient(format!("{path} answered a body that is not {what}: {e}")))
    }

    /// Once per connector (so once per sync): the connector speaks v1 and offers what the hub declares.
    async fn ensure_capabilities(&self) -> Result<(), ConnectorError> {
        self.checked
            .get_or_try_init(|| async {
                let path = "/v1/capabilities";
                let body = match self.call(Method::GET, path, None).await {
                    Ok((_, body)) => body,
                    Err(ConnectorError::NotFound(m) | ConnectorError::Unsupported(m)) => {
                        return Err(ConnectorError::Config(format!("the connector does not speak protocol v1 ({m})")));
                    }
                    Err(e) => return Err(e),
                };
                let offered: WireCapabilities =
                    serde_json::from_value(body).map_err(|e| self.unreadable(path, "the v1 capabilities", e))?;
                if offered.protocol_version != wire::PROTOCOL_VERSION {
                    return Err(ConnectorError::Config(format!(
                        "the connector speaks protocol {:?}; rolecall speaks {}",
                        offered.protocol_version,
                        wire::PROTOCOL_VERSION
                    )));
                }
                let offered = offered.to_capabilities().ok_or_else(|| {
                    ConnectorError::Config(format!("the connector's capabilities name an unknown roles value {:?}", offered.roles))
                })?;
                let missing = wire::shortfall(&self.declared, &offered);
                if !missing.is_empty() {
                    return Err(ConnectorError::Config(format!(
                        "the connector does not offer what spec.connector.webhook.capabilities declares: {}",
                        missing.join(", ")
                    )));
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Every account of a listing (all, or those with `email`), page by page.
    async fn list(&self, email: Option<&str>) -> Result<Vec<ExternalAccount>, ConnectorError> {
        self.ensure_capabilities().await?;
        let mut pages = paging::Pages::default();
        let mut accounts = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/accounts?limit={}", self.page_size);
            if let Some(email) = email {
                path.push_str(&format!("&email={}", percent_encode(email)));
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", percent_encode(c)));
            }
            let (_, body) = self.call(Method::GET, &path, None).await?;
            let page: AccountPage = serde_json::from_value(body).map_err(|e| self.unreadable(&path, "a page of accounts", e))?;
            let next = pages.next(&page)?;
            for account in &page.accounts {
                accounts.push(account.to_account().map_err(|e| ConnectorError::Permanent(format!("{path}: {e}")))?);
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(accounts),
            }
        }
    }

    fn account_path(id: &str) -> String {
        format!("/v1/accounts/{}", percent_encode(id))
    }
}

impl Connector for WebhookConnector {
    fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
        Box::pin(self.list(None))
    }

    fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
        Box::pin(async move { Ok(self.list(Some(email)).await?.into_iter().find(|a| a.email.eq_ignore_ascii_case(email))) })
    }

    fn add_account<'a>(
        &'a self,
        account: &'a NewAccount,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
        Box::pin(async move {
            self.ensure_capabilities().await?;
            let path = "/v1/accounts";
            let request = serde_json::to_value(AddRequest::of(account, operation.as_str()))
                .map_err(|e| ConnectorError::Permanent(format!("cannot encode the add: {e}")))?;
            let (_, body) = self.call(Method::POST, path, Some(request)).await?;
            let made: WireAccount = serde_json::from_value(body).map_err(|e| self.unreadable(path, "an account", e))?;
            made.to_account().map_err(|e| ConnectorError::Permanent(format!("{path}: {e}")))
        })
    }

    fn update_access<'a>(
        &'a self,
        external_id: &'a str,
        access: &'a Access,
        operation: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.ensure_capabilities().await?;
            let request = UpdateRequest {
                operation_id: operation.as_str(),
                roles: access.roles.iter().map(String::as_str).collect(),
                assets: &access.assets,
            };
            let request = serde_json::to_value(request).map_err(|e| ConnectorError::Permanent(format!("cannot encode the update: {e}")))?;
            self.call(Method::PUT, &Self::account_path(external_id), Some(request)).await.map(|_| ())
        })
    }

    fn remove_account<'a>(&'a self, external_id: &'a str, operation: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.ensure_capabilities().await?;
            let request = serde_json::to_value(RemoveRequest { operation_id: operation.as_str() })
                .map_err(|e| ConnectorError::Permanent(format!("cannot encode the removal: {e}")))?;
            self.call(Method::DELETE, &Self::account_path(external_id), Some(request)).await.map(|_| ())
        })
    }
}

pub use super::exchange::percent_encode;

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    use super::*;

    /// When each request came, and its request line and headers.
    type Seen = Arc<std::sync::Mutex<Vec<(Instant, String)>>>;

    /// A connector on loopback that answers each request with the next of `answers`
    /// (status, body) and records when each came and its signature headers.
    fn scripted(answers: Vec<(u16, &'static str)>) -> (String, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for ((status, body), stream) in answers.into_iter().zip(listener.incoming().flatten()) {
                let mut reader = BufReader::new(stream);
                let (mut head, mut length) = (String::new(), 0usize);
                for _ in 0..100 {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut rest = vec![0; length];
                let _ = reader.read_exact(&mut rest);
                log.lock().expect("log").push((Instant::now(), head));
                let out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = reader.into_inner().write_all(out.as_bytes());
            }
        });
        (url, seen)
    }

    const CAPABILITIES: &str =
        r#"{"protocol_version": "v1", "roles": "many", "assets": true, "invitations": true, "deactivation": true, "last_activity": true}"#;

    #[tokio::test]
    async fn a_rate_limit_named_only_in_the_body_holds_the_next_call_and_every_call_is_signed() {
        let (url, seen) = scripted(vec![
            (200, CAPABILITIES),
            (429, r#"{"error": {"type": "rate_limited", "message": "slow down", "retry_after_seconds": 1}}"#),
            (200, r#"{"accounts": [], "next_cursor": null}"#),
        ]);
        let pacer = Arc::new(Pacer::new("ns/hub"));
        let hook = WebhookConnector::new(&url, "s3cret".into(), None, pacer, Duration::from_secs(5)).expect("connector");
        assert_eq!(hook.list_accounts().await, Err(ConnectorError::RateLimited { retry_after: Some(Duration::from_secs(1)) }));
        assert_eq!(hook.list_accounts().await, Ok(vec![]), "capabilities are asked once per connector");
        let seen = seen.lock().expect("log").clone();
        assert_eq!(seen.len(), 3);
        assert!(seen[2].0.duration_since(seen[1].0) >= Duration::from_secs(1), "nothing before the body's retry time");
        for (_, head) in &seen {
            let head = head.to_ascii_lowercase();
            assert!(head.contains("x-rolecall-timestamp: ") && head.contains("x-rolecall-signature: sha256="), "{head}");
        }
    }

    #[tokio::test]
    async fn a_connector_offering_less_than_declared_or_another_version_is_a_config_error() {
        let settings = WebhookConnectorSettings { page_size: None, capabilities: WebhookCapabilities::default() };
        let (url, _) = scripted(vec![(
            200,
            r#"{"protocol_version": "v1", "roles": "one", "assets": false, "invitations": true, "deactivation": true, "last_activity": true}"#,
        )]);
        let hook = WebhookConnector::new(&url, "s".into(), Some(&settings), Arc::new(Pacer::new("h")), Duration::from_secs(5)).expect("c");
        let listed = hook.list_accounts().await;
        assert!(matches!(&listed, Err(ConnectorError::Config(m)) if m.contains("roles Many (offers One), assets")), "{listed:?}");

        let (url, _) = scripted(vec![(
            200,
            r#"{"protocol_version": "v2", "roles": "many", "assets": true, "invitations": true, "deactivation": true, "last_activity": true}"#,
        )]);
        let hook = WebhookConnector::new(&url, "s".into(), None, Arc::new(Pacer::new("h")), Duration::from_secs(5)).expect("c");
        assert!(matches!(hook.list_accounts().await, Err(ConnectorError::Config(m)) if m.contains("\"v2\"")));

        let (url, _) = scripted(vec![(404, r#"{"error": {"type": "not_found", "message": "no route"}}"#)]);
        let hook = WebhookConnector::new(&url, "s".into(), None, Arc::new(Pacer::new("h")), Duration::from_secs(5)).expect("c");
        assert!(matches!(hook.list_accounts().await, Err(ConnectorError::Config(m)) if m.contains("does not speak protocol v1")));

        for (url, secret) in [("ftp://x", "s"), ("http://127.0.0.1:1", "")] {
            assert!(matches!(
                WebhookConnector::new(url, secret.into(), None, Arc::new(Pacer::new("h")), Duration::from_secs(5)),
                Err(ConnectorError::Config(_))
            ));
        }
    }
}
