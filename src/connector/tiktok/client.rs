//! The Business API client of one hub: every call through the hub's [`Pacer`]
//! and under its requests-per-second budget, TikTok's envelope
//! (`{code, message, request_id, data}`, HTTP 200 whatever the code) read into
//! data or a typed [`ConnectorError`], and lists followed page by page
//! (`page`, `page_size`, `page_info.total_page`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::limits;
use super::members::Member;
use crate::connector::pacer::{Answer, Pacer};
use crate::connector::{ConnectorError, exchange};

/// The API version every path is under.
pub const API_VERSION: &str = "v1.3";
/// A list that keeps announcing more pages is cut off here.
const MAX_PAGES: u64 = 1000;

/// TikTok's return codes the connector tells apart.
pub mod code {
    pub const OK: i64 = 0;
    /// "No permission to operate": the app or the token's user lacks a permission.
    pub const NO_PERMISSION: i64 = 40001;
    /// A parameter TikTok refused (an id that does not exist among them).
    pub const BAD_PARAMETER: i64 = 40002;
    /// The object does not exist.
    pub const NOT_FOUND: i64 = 40007;
    pub const TOKEN_EMPTY: i64 = 40104;
    pub const TOKEN_INVALID: i64 = 40105;
}

/// What one hub's TikTok calls remember between connectors (the operator builds one per sync).
#[derive(Debug, Default)]
pub struct HubState {
    /// When the last calls were sent, oldest first (the last second).
    sent: Mutex<VecDeque<Instant>>,
    /// The invitations this process last saw pending (lower-case email → the
    /// invitation as listed, and when it went missing, Unix seconds): TikTok
    /// stops listing an invitation once it expires, so one gone without its
    /// invitee joining is reported expired (see `expiry`).
    pub invitations: Mutex<BTreeMap<String, (Member, Option<i64>)>>,
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl HubState {
    /// The state of the hub `key` (its pacer's name, base URL and Business Center), shared by its connectors.
    pub fn of(key: &str) -> Arc<HubState> {
        static STATES: OnceLock<Mutex<HashMap<String, Arc<HubState>>>> = OnceLock::new();
        lock(STATES.get_or_init(Default::default)).entry(key.to_string()).or_default().clone()
    }
}

pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    /// The API base up to `/open_api` (`https://business-api.tiktok.com/open_api`).
    pub base: String,
    /// Never logged (this type has no Debug).
    token: String,
    pacer: Arc<Pacer>,
    pub state: Arc<HubState>,
    /// Requests per second this hub keeps under (0: none).
    per_second: usize,
}

impl Client {
    pub fn new(
        base: &str,
        token: String,
        pacer: Arc<Pacer>,
        timeout: Duration,
        state: Arc<HubState>,
        per_second: usize,
    ) -> Result<Client, ConnectorError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConnectorError::Config(format!("the TikTok API URL {base:?} must start with http:// or https://")));
        }
        if timeout.is_zero() {
            return Err(ConnectorError::Config("spec.connector.timeout must be longer than zero".into()));
        }
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(ConnectorError::Config("the hub's Secret holds no TikTok access token".into()));
        }
        Ok(Client { http: crate::connector::http_client::shared()?, timeout, base, token, pacer, state, per_second })
    }

    /// `GET /v1.3/{endpoint}` with `query`: the answer's `data`.
    pub async fn get(&self, endpoint: &str, query: &[(&str, String)]) -> Result<Value, ConnectorError> {
        let url = format!("{}/{API_VERSION}/{endpoint}", self.base);
        let request = self.http.request(Method::GET, url).query(query);
        self.send(request, endpoint).await
    }

    /// `POST /v1.3/{endpoint}` with a JSON body: the answer's `data`.
    pub async fn post(&self, endpoint: &str, body: &Value) -> Result<Value, ConnectorError> {
        let url = format!("{}/{API_VERSION}/{endpoint}", self.base);
        let request = self.http.request(Method::POST, url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        self.send(request, endpoint).await
    }

    /// Every item of a list (`data.list`), page by page. A page that fails or is
    /// not a list fails the whole listing: a partial list taken as whole would
    /// make accounts look gone.
    pub async fn get_all(&self, endpoint: &str, query: &[(&str, String)], page_size: u64) -> Result<Vec<Value>, ConnectorError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut paged = query.to_vec();
            paged.push(("page", page.to_string()));
            paged.push(("page_size", page_size.to_string()));
            let data = self.get(endpoint, &paged).await?;
            let Some(items) = data.get("list").and_then(Value::as_array) else {
                return Err(ConnectorError::Transient(format!("{endpoint} answered a page without a list")));
            };
            all.extend(items.iter().cloned());
            let total_pages = data.pointer("/page_info/total_page").and_then(Value::as_u64).unwrap_or(page);
            if page >= total_pages || items.is_empty() {
                return Ok(all);
            }
        }
        Err(ConnectorError::Permanent(format!("{endpoint} kept announcing more pages after {MAX_PAGES}")))
    }

    /// Waits for a place in the hub's requests-per-second budget, and takes it.
    async fn pace(&self) {
        // Bounded: each round either takes a place or sleeps until the oldest call is a second old.
        for _ in 0..100 {
            let wait = {
                let now = Instant::now();
                let mut sent = lock(&self.state.sent);
                limits::forget_old(&mut sent, now);
                match limits::qps_wait(&sent, now, self.per_second) {
                    None => {
                        sent.push_back(now);
                        return;
                    }
                    Some(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, endpoint: &str) -> Result<Value, ConnectorError> {
        let path = format!("/{API_VERSION}/{endpoint}");
        self.pace().await;
        let request = request.timeout(self.timeout).header("Access-Token", &self.token).header(reqwest::header::USER_AGENT, "rolecall");
        let answered = exchange::send(&self.pacer, request, &path).await?;
        let status = answered.status;
        if status.is_server_error() {
            let error = ConnectorError::Transient(format!("{path} answered {status}"));
            return Err(self.pacer.after_failure(&error));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = answered.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
            self.pacer.after_answer(Answer::Throttled { retry_after });
            return Err(ConnectorError::RateLimited { retry_after });
        }
        let body = match answered.json() {
            Ok(body) if body.is_object() => body,
            _ => {
                let start: String = answered.text.chars().take(80).collect();
                if !status.is_success() {
                    self.pacer.after_answer(Answer::Fine);
                    return Err(ConnectorError::from_status(status, None, format!("{path} answered {}: {start:?}", status.as_u16())));
                }
                let unreadable = format!("{path} answered {} with a body that is not TikTok's JSON envelope: {start:?}", status.as_u16());
                return Err(self.pacer.after_failure(&ConnectorError::Transient(unreadable)));
            }
        };
        let code = body.get("code").and_then(Value::as_i64);
        let message = body.get("message").and_then(Value::as_str).unwrap_or_default().to_string();
        match code {
            Some(code::OK) if status.is_success() => {
                self.pacer.after_answer(Answer::Fine);
                Ok(body.get("data").cloned().unwrap_or(Value::Null))
            }
            Some(limits::TOO_MANY_REQUESTS) => {
                let retry_after = limits::throttle_wait(&message);
                self.pacer.after_answer(Answer::Throttled { retry_after });
                tracing::info!(path = %path, "TikTok's request limit (40100): no call to the hub's app until the pacer's wait is over");
                Err(ConnectorError::RateLimited { retry_after })
            }
            Some(code) if code >= 50000 => {
                let error = ConnectorError::Transient(format!("{path} answered code {code}: {message}"));
                Err(self.pacer.after_failure(&error))
            }
            Some(code) => {
                self.pacer.after_answer(Answer::Fine);
                Err(error_for(code, endpoint, &message))
            }
            None => {
                self.pacer.after_answer(Answer::Fine);
                Err(ConnectorError::from_status(status, None, format!("{path} answered {} without a code: {message}", status.as_u16())))
            }
        }
    }
}

/// The permission an endpoint needs, as TikTok's developer portal names the app's permission scopes.
pub fn permission_for(endpoint: &str) -> &'static str {
    if endpoint.starts_with("bc/member/") {
        "BC Member Management"
    } else if endpoint.starts_with("bc/asset/") {
        "BC Asset Management"
    } else if endpoint.starts_with("bc/partner/") {
        "BC Partner Management"
    } else {
        "Business Center Management"
    }
}

/// How a refused call failed, by TikTok's code and message (limits and server errors are read before this).
pub fn error_for(code: i64, endpoint: &str, message: &str) -> ConnectorError {
    let said = format!("/{API_VERSION}/{endpoint} answered code {code}: {message}");
    let lower = message.to_ascii_lowercase();
    match code {
        code::NO_PERMISSION => ConnectorError::Auth(format!(
            "{said} (the app needs the {} permission, and the token's user must be an admin of the Business Center)",
            permission_for(endpoint)
        )),
        code::TOKEN_EMPTY | code::TOKEN_INVALID => {
            ConnectorError::Auth(format!("{said} (the access token in the hub's Secret is wrong, expired or revoked)"))
        }
        code::NOT_FOUND => ConnectorError::NotFound(said),
        code::BAD_PARAMETER
            if lower.contains("not exist")
                || lower.contains("not found")
                || lower.contains("no access")
                || lower.contains("not shared") =>
        {
            ConnectorError::NotFound(said)
        }
        code::BAD_PARAMETER if lower.contains("already") => ConnectorError::AlreadyExists(said),
        _ => ConnectorError::Permanent(said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_what_the_operator_does_next() {
        let e = |code, m: &str| error_for(code, "bc/member/invite/", m);
        let permission = e(40001, "No permission to operate.");
        assert!(matches!(&permission, ConnectorError::Auth(m) if m.contains("BC Member Management")), "{permission:?}");
        assert!(
            matches!(e(40105, "Access token is incorrect or has been revoked."), ConnectorError::Auth(m) if m.contains("wrong, expired or revoked"))
        );
        assert_eq!(e(40104, "Access token is null").reason(), "AuthFailed");
        assert_eq!(e(40007, "").reason(), "NotFound");
        assert_eq!(e(40002, "The user 7 does not exist in the Business Center.").reason(), "NotFound");
        assert_eq!(e(40002, "The user 7 has no access to the asset 9.").reason(), "NotFound");
        assert_eq!(e(40002, "emails must be a list").reason(), "Permanent");
        assert_eq!(e(40002, "The member is already in the Business Center").reason(), "AlreadyExists");
        assert!(matches!(error_for(40001, "bc/asset/assign/", ""), ConnectorError::Auth(m) if m.contains("BC Asset Management")));
        assert!(matches!(error_for(40001, "bc/partner/add/", ""), ConnectorError::Auth(m) if m.contains("BC Partner Management")));
        assert!(matches!(error_for(40001, "bc/get/", ""), ConnectorError::Auth(m) if m.contains("Business Center Management")));
    }
}
