//! The GitHub REST client of one hub: every call through the hub's [`Pacer`],
//! GitHub's limits read from every answer, reads made conditional with the
//! ETag of the last answer (a 304 costs nothing against the primary limit),
//! lists followed page by page through `Link`, and writes paced to GitHub's
//! content-creation limits before GitHub has to refuse them.
//!
//! What must outlive one connector (the operator builds one per sync) lives in
//! the hub's [`HubState`]: the ETag cache, the times of recent writes and
//! invitations, the secondary-limit streak and team memberships GitHub answered
//! `pending`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::credentials::Credential;
use super::limits::{self, Limit};
use crate::connector::pacer::{Answer, MAX_INLINE_WAIT, Pacer};
use crate::connector::{ConnectorError, exchange};

/// GitHub's page size limit.
pub const PER_PAGE: usize = 100;
/// A list that keeps announcing more pages is cut off here (100,000 entries).
const MAX_PAGES: usize = 1000;
const API_VERSION: &str = "2022-11-28";

/// A read's answer as last seen, replayed when GitHub answers 304.
#[derive(Debug, Clone)]
struct Cached {
    etag: String,
    body: Value,
    next: Option<String>,
    scopes: Option<String>,
}

/// What one hub's GitHub calls remember between connectors.
#[derive(Debug, Default)]
pub struct HubState {
    cache: Mutex<HashMap<String, Cached>>,
    /// When content-creating requests were sent, oldest first (the last hour).
    writes: Mutex<VecDeque<SystemTime>>,
    /// When invitations were sent, oldest first (the cap's window).
    pub invitations: Mutex<VecDeque<SystemTime>>,
    /// Secondary limits without a time met in a row.
    secondary_in_a_row: AtomicU32,
    /// Team memberships GitHub answered `pending`: (login, team slug) → role.
    /// Held as asked, so a pending membership is not taken for drift.
    pub pending_teams: Mutex<BTreeMap<(String, String), String>>,
    /// A GitHub App's installation token and when it expires (never logged).
    installation_token: Mutex<Option<(String, SystemTime)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl HubState {
    /// The state of the hub `key` (its pacer's name, base URL and organisation), shared by its connectors.
    pub fn of(key: &str) -> Arc<HubState> {
        static STATES: OnceLock<Mutex<HashMap<String, Arc<HubState>>>> = OnceLock::new();
        lock(STATES.get_or_init(Default::default)).entry(key.to_string()).or_default().clone()
    }

    pub fn invitations(&self) -> std::sync::MutexGuard<'_, VecDeque<SystemTime>> {
        lock(&self.invitations)
    }

    pub fn pending_teams(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), String>> {
        lock(&self.pending_teams)
    }
}

/// One answer: its status, JSON body (Null when empty) and what the reads need of its headers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub next: Option<String>,
    /// `X-OAuth-Scopes`: a classic token's scopes (absent for fine-grained and App tokens).
    pub scopes: Option<String>,
}

pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    /// The API base (`https://api.github.com`, or a GitHub Enterprise Server's `https://HOST/api/v3`).
    pub base: String,
    /// Never logged (this type has no Debug).
    credential: Credential,
    pacer: Arc<Pacer>,
    pub state: Arc<HubState>,
}

impl Client {
    pub fn new(
        base: &str,
        credential: Credential,
        pacer: Arc<Pacer>,
        timeout: Duration,
        state: Arc<HubState>,
    ) -> Result<Client, ConnectorError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConnectorError::Config(format!("the GitHub API URL {base:?} must start with http:// or https://")));
        }
        if timeout.is_zero() {
            return Err(ConnectorError::Config("spec.connector.timeout must be longer than zero".into()));
        }
        Ok(Client { http: crate::connector::http_client::shared()?, timeout, base, credential, pacer, state })
    }

    /// A read, conditional on the ETag of the last answer to the same URL; a 304 replays that answer.
    pub async fn get(&self, url: &str) -> Result<Reply, ConnectorError> {
        let cached = lock(&self.state.cache).get(url).cloned();
        let reply = self.send(Method::GET, url, None, cached.as_ref().map(|c| c.etag.as_str())).await?;
        if reply.status == StatusCode::NOT_MODIFIED {
            return match cached {
                Some(c) => Ok(Reply { status: StatusCode::OK, body: c.body, next: c.next, scopes: c.scopes }),
                None => Err(ConnectorError::Transient(format!("{} answered 304 to a read that was not conditional", path_of(url)))),
            };
        }
        Ok(reply)
    }

    /// Every item of a list, page by page (`per_page=100`, then `Link: rel="next"`).
    /// A page that fails or is not a list fails the whole listing: a partial
    /// list taken as whole would make accounts look gone.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, ConnectorError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{path}{separator}per_page={PER_PAGE}", self.base);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get(&url).await?;
            match page.body {
                Value::Array(items) => all.extend(items),
                _ => return Err(ConnectorError::Transient(format!("{} answered something that is not a list", path_of(&url)))),
            }
            match page.next {
                None => return Ok(all),
                Some(next) if next.starts_with(&self.base) => url = next,
                // The token goes to the API base only.
                Some(next) => {
                    return Err(ConnectorError::Permanent(format!(
                        "{} pointed its next page outside {}: {next}",
                        path_of(&url),
                        self.base
                    )));
                }
            }
        }
        Err(ConnectorError::Permanent(format!("{path} kept announcing more pages after {MAX_PAGES}")))
    }

    /// A content-creating request (POST, PUT, PATCH, DELETE), paced to 80 a minute and 500 an hour.
    pub async fn write(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, ConnectorError> {
        self.pace_write().await?;
        self.send(method, &format!("{}{path}", self.base), body, None).await
    }

    /// Waits for a place among GitHub's content-creation limits (short waits
    /// inline, longer ones refused at once so the hub is requeued), and takes it.
    async fn pace_write(&self) -> Result<(), ConnectorError> {
        for _ in 0..100 {
            let wait = {
                let now = SystemTime::now();
                let mut writes = lock(&self.state.writes);
                limits::forget_old(&mut writes, now, Duration::from_secs(3600));
                match limits::write_wait(&writes, now) {
                    None => {
                        writes.push_back(now);
                        return Ok(());
                    }
                    Some(wait) => wait,
                }
            };
            if wait > MAX_INLINE_WAIT {
                tracing::info!(wait_s = wait.as_secs(), "holding a GitHub write: 80 a minute and 500 an hour are GitHub's limits");
                return Err(ConnectorError::RateLimited { retry_after: Some(wait) });
            }
            tokio::time::sleep(wait).await;
        }
        Err(ConnectorError::RateLimited { retry_after: Some(MAX_INLINE_WAIT) })
    }

    /// A request with GitHub's headers and no credential yet.
    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header(reqwest::header::USER_AGENT, "rolecall")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// The bearer token: the Secret's, or the App's installation token, made
    /// anew when the one held has less than five minutes left.
    async fn bearer(&self) -> Result<String, ConnectorError> {
        let app = match &self.credential {
            Credential::Token(token) => return Ok(token.clone()),
            Credential::App(app) => app,
        };
        let fresh_until = SystemTime::now() + Duration::from_secs(300);
        if let Some((token, expires)) = lock(&self.state.installation_token).as_ref()
            && *expires > fresh_until
        {
            return Ok(token.clone());
        }
        let path = format!("/app/installations/{}/access_tokens", app.installation_id);
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let request = self.request(Method::POST, &format!("{}{path}", self.base)).bearer_auth(app.jwt(now)?);
        let answered = exchange::send(&self.pacer, request, &path).await?;
        if answered.status != StatusCode::CREATED {
            self.pacer.after_answer(Answer::Fine);
            let said = answered.json().ok().and_then(|b| b.get("message").and_then(Value::as_str).map(str::to_string)).unwrap_or_default();
            return Err(match answered.status {
                StatusCode::UNAUTHORIZED => ConnectorError::Auth(format!(
                    "GitHub refused the App's JWT ({said}): check spec.connector.github.app.appId ({}) and the private key in the hub's Secret",
                    app.app_id
                )),
                StatusCode::NOT_FOUND => ConnectorError::NotFound(format!(
                    "installation {} of GitHub App {} not found: is the App installed on the organisation? (spec.connector.github.app.installationId)",
                    app.installation_id, app.app_id
                )),
                status => error_for(status, &path, &said),
            });
        }
        let body = exchange::success_json(&self.pacer, &answered, &path)?;
        let token = body.get("token").and_then(Value::as_str).map(str::to_string);
        let expires = body
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
            .map(|t| SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_second().max(0) as u64));
        let (Some(token), Some(expires)) = (token, expires) else {
            return Err(ConnectorError::Transient(format!("{path}: GitHub's answer has no token or expires_at")));
        };
        *lock(&self.state.installation_token) = Some((token.clone(), expires));
        Ok(token)
    }

    async fn send(&self, method: Method, url: &str, body: Option<&Value>, etag: Option<&str>) -> Result<Reply, ConnectorError> {
        let path = path_of(url).to_string();
        let mut request = self.request(method, url).bearer_auth(self.bearer().await?);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let answered = exchange::send(&self.pacer, request, &path).await?;
        let status = answered.status;
        let header = |name: &str| answered.header(name);
        let next = header("link").and_then(next_link);
        let scopes = header("x-oauth-scopes").map(str::to_string);
        let new_etag = header("etag").map(str::to_string);
        let text = &answered.text;
        let in_a_row = self.state.secondary_in_a_row.load(Ordering::Relaxed);
        let limit = limits::limit_of(status.as_u16(), header, text, SystemTime::now(), in_a_row);
        match limit {
            Limit::Secondary { wait } => {
                self.state.secondary_in_a_row.fetch_add(1, Ordering::Relaxed);
                self.pacer.after_answer(Answer::Throttled { retry_after: Some(wait) });
                tracing::info!(path = %path, wait_s = wait.as_secs(), "GitHub's secondary rate limit: no call before the wait is over");
                return Err(ConnectorError::RateLimited { retry_after: Some(wait) });
            }
            Limit::PrimarySpent { wait } => {
                self.pacer.after_answer(Answer::Throttled { retry_after: Some(wait) });
                tracing::info!(path = %path, wait_s = wait.as_secs(), "GitHub's primary rate limit is spent: no call before its reset");
                if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(ConnectorError::RateLimited { retry_after: Some(wait) });
                }
            }
            Limit::Clear => {}
        }
        if status.is_server_error() {
            let error = ConnectorError::Transient(format!("{path} answered {}", status));
            return Err(self.pacer.after_failure(&error));
        }
        if status == StatusCode::NOT_MODIFIED {
            self.state.secondary_in_a_row.store(0, Ordering::Relaxed);
            self.pacer.after_answer(Answer::Fine);
            return Ok(Reply { status, body: Value::Null, next: None, scopes });
        }
        if status.is_success() {
            let body = exchange::success_json(&self.pacer, &answered, &path)?;
            self.state.secondary_in_a_row.store(0, Ordering::Relaxed);
            if let Some(etag) = new_etag {
                let entry = Cached { etag, body: body.clone(), next: next.clone(), scopes: scopes.clone() };
                lock(&self.state.cache).insert(url.to_string(), entry);
            }
            return Ok(Reply { status, body, next, scopes });
        }
        self.pacer.after_answer(Answer::Fine);
        let message =
            answered.json().ok().and_then(|b| b.get("message").and_then(Value::as_str).map(str::to_string)).unwrap_or_else(|| text.clone());
        Err(error_for(status, &path, &message))
    }
}

/// A URL's path and query (what logs and errors show; never the host's credentials).
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), as GitHub pages lists.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        let target = target.trim();
        is_next.then(|| target.trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// How a refused call failed, by GitHub's status and message (limits are read before this).
pub fn error_for(status: StatusCode, path: &str, message: &str) -> ConnectorError {
    let said = format!("{path} answered {}: {message}", status.as_u16());
    match status.as_u16() {
        401 => ConnectorError::Auth(format!("{said} (the token in the hub's Secret is wrong, expired or revoked)")),
        403 => ConnectorError::Auth(format!("{said} (the token lacks a permission: a classic token needs admin:org)")),
        404 => ConnectorError::NotFound(said),
        409 => ConnectorError::AlreadyExists(said),
        422 if message.to_ascii_lowercase().contains("already") => ConnectorError::AlreadyExists(said),
        405 | 501 => ConnectorError::Unsupported(said),
        408 => ConnectorError::Transient(said),
        _ => ConnectorError::Permanent(said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        let link = r#"<https://api.github.com/organizations/1/members?per_page=100&page=2>; rel="next", <https://api.github.com/organizations/1/members?per_page=100&page=5>; rel="last""#;
        assert_eq!(next_link(link).as_deref(), Some("https://api.github.com/organizations/1/members?per_page=100&page=2"));
        let last_page = r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first""#;
        assert_eq!(next_link(last_page), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<http://h/x?page=3>; rel=next").as_deref(), Some("http://h/x?page=3"));
    }

    #[test]
    fn paths_are_shown_without_the_host() {
        assert_eq!(path_of("https://api.github.com/orgs/acme/members?per_page=100"), "/orgs/acme/members?per_page=100");
        assert_eq!(path_of("http://127.0.0.1:8080/api/v3/orgs/acme"), "/api/v3/orgs/acme");
        assert_eq!(path_of("http://h"), "/");
    }

    #[test]
    fn refusals_map_to_what_the_operator_does_next() {
        let e = |s: u16, m: &str| error_for(StatusCode::from_u16(s).expect("status"), "/orgs/acme", m);
        assert!(matches!(e(401, "Bad credentials"), ConnectorError::Auth(m) if m.contains("wrong, expired or revoked")));
        assert_eq!(e(403, "Must have admin rights").reason(), "AuthFailed");
        assert_eq!(e(404, "Not Found").reason(), "NotFound");
        assert_eq!(e(422, "Invitee is already a part of this organization").reason(), "AlreadyExists");
        assert_eq!(e(422, "Validation Failed").reason(), "Permanent");
        assert_eq!(e(405, "").reason(), "Unsupported");
    }
}
