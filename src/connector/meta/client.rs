//! The Graph API client of one hub: the version pinned in one place, the
//! system user token as a bearer, every call through the hub's [`Pacer`], the
//! usage headers read on every answer (calls spaced out before 100 %, none
//! before the time Meta names), throttling codes turned into
//! `RateLimited` with that time, and lists followed page by page through
//! `paging.next`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::errors::{GraphError, error_for};
use super::usage::{self, Pace};
use crate::connector::pacer::{Answer, Pacer};
use crate::connector::{ConnectorError, exchange};

/// The Graph API version every call names (`https://graph.facebook.com/v25.0/...`).
/// The stand-in serves the same one (`GRAPH_API_VERSION` in tests/meta/standin.py).
pub const GRAPH_API_VERSION: &str = "v25.0";
/// The page size asked for (`limit`); Meta may answer fewer.
pub const PAGE_LIMIT: usize = 100;
/// A list that keeps announcing more pages is cut off here (100,000 entries).
const MAX_PAGES: usize = 1000;

pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    /// `https://graph.facebook.com` (the hub's `spec.connector.url`), without the version.
    root: String,
    /// Never logged (this type has no Debug).
    token: String,
    pacer: Arc<Pacer>,
}

/// Parameters of one call, in the query (GET, DELETE) or the form body (POST).
pub type Params<'a> = &'a [(&'a str, String)];

impl Client {
    pub fn new(root: &str, token: String, pacer: Arc<Pacer>, timeout: Duration) -> Result<Client, ConnectorError> {
        let root = root.trim_end_matches('/').to_string();
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            return Err(ConnectorError::Config(format!("the Graph API URL {root:?} must start with http:// or https://")));
        }
        if root.rsplit('/').next().is_some_and(is_version) {
            return Err(ConnectorError::Config(format!(
                "spec.connector.url {root:?} names a Graph API version; give the host only (https://graph.facebook.com): the connector speaks {GRAPH_API_VERSION}"
            )));
        }
        if timeout.is_zero() {
            return Err(ConnectorError::Config("spec.connector.timeout must be longer than zero".into()));
        }
        Ok(Client { http: crate::connector::http_client::shared()?, timeout, root, token, pacer })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{GRAPH_API_VERSION}{path}", self.root)
    }

    /// One node (or an edge's first page) as JSON.
    pub async fn get(&self, path: &str, params: Params<'_>) -> Result<Value, ConnectorError> {
        self.send(Method::GET, &with_query(&self.url(path), params), None).await
    }

    /// Every item of an edge, page by page (`limit=100`, then `paging.next`). A
    /// page that fails or has no `data` list fails the whole listing: a partial
    /// list taken as whole would make accounts look gone.
    pub async fn get_all(&self, path: &str, params: Params<'_>) -> Result<Vec<Value>, ConnectorError> {
        let mut first: Vec<(&str, String)> = params.to_vec();
        first.push(("limit", PAGE_LIMIT.to_string()));
        let mut url = with_query(&self.url(path), &first);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.send(Method::GET, &url, None).await?;
            match page.get("data") {
                Some(Value::Array(items)) => all.extend(items.iter().cloned()),
                _ => return Err(ConnectorError::Transient(format!("{path} answered something that is not a list (no data)"))),
            }
            match next_page(&page) {
                None => return Ok(all),
                // The token goes to the API host only.
                Some(next) if next.starts_with(&format!("{}/", self.root)) => url = next.to_string(),
                Some(next) => {
                    let shown = next.split('?').next().unwrap_or_default();
                    return Err(ConnectorError::Permanent(format!("{path} pointed its next page outside {}: {shown}", self.root)));
                }
            }
        }
        Err(ConnectorError::Permanent(format!("{path} kept announcing more pages after {MAX_PAGES}")))
    }

    /// A change: parameters in a form body, as Graph takes them.
    pub async fn post(&self, path: &str, params: Params<'_>) -> Result<Value, ConnectorError> {
        self.send(Method::POST, &self.url(path), Some(form(params))).await
    }

    /// A removal: parameters in the query.
    pub async fn delete(&self, path: &str, params: Params<'_>) -> Result<Value, ConnectorError> {
        self.send(Method::DELETE, &with_query(&self.url(path), params), None).await
    }

    async fn send(&self, method: Method, url: &str, body: Option<String>) -> Result<Value, ConnectorError> {
        // Logs and errors show the path only: a `paging.next` from Meta carries the token in its query.
        let path = path_of(url).to_string();
        let mut request = self
            .http
            .request(method, url)
            .timeout(self.timeout)
            .bearer_auth(&self.token)
            .header(reqwest::header::USER_AGENT, "rolecall")
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
        }
        let answered = exchange::send(&self.pacer, request, &path).await?;
        let status = answered.status;
        let usage = usage::usage_of(|name| answered.header(name));
        let graph_error = answered.json().ok().as_ref().and_then(GraphError::of);
        if let Some(error) = graph_error.as_ref().filter(|e| usage::is_throttling(e.code)) {
            let wait = usage.refusal_wait();
            self.pacer.after_answer(Answer::Throttled { retry_after: Some(wait) });
            tracing::info!(hub = %self.pacer.hub(), path = %path, code = error.code, wait_s = wait.as_secs(), "Meta throttled the call: no call before the time it names");
            return Err(ConnectorError::RateLimited { retry_after: Some(wait) });
        }
        if status.is_server_error() {
            return Err(self.pacer.after_failure(&error_for(status.as_u16(), graph_error.as_ref(), &path)));
        }
        let result = if status.is_success() {
            exchange::success_json(&self.pacer, &answered, &path)
        } else {
            self.pacer.after_answer(Answer::Fine);
            Err(error_for(status.as_u16(), graph_error.as_ref(), &path))
        };
        self.pace(usage, &path);
        result
    }

    /// Holds the hub's next call as the usage headers ask (after the answer was settled with the pacer).
    fn pace(&self, usage: usage::Usage, path: &str) {
        match usage.pace() {
            Pace::Clear => {}
            Pace::Slow(wait) => {
                tracing::debug!(hub = %self.pacer.hub(), path = %path, percent = usage.percent, wait_ms = wait.as_millis() as u64, "Meta usage is high: spacing calls out");
                self.pacer.after_answer(Answer::Throttled { retry_after: Some(wait) });
            }
            Pace::Stop(wait) => {
                tracing::info!(hub = %self.pacer.hub(), path = %path, percent = usage.percent, wait_s = wait.as_secs(), "Meta usage is spent: no call before it is regained");
                self.pacer.after_answer(Answer::Throttled { retry_after: Some(wait) });
            }
        }
    }
}

/// A Graph API version as a path segment names it (`v25.0`).
fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').and_then(|n| n.split_once('.')).is_some_and(|(major, minor)| {
        !major.is_empty() && !minor.is_empty() && major.bytes().chain(minor.bytes()).all(|b| b.is_ascii_digit())
    })
}

/// `paging.next` of a page, when there is a next page.
pub fn next_page(page: &Value) -> Option<&str> {
    page.get("paging").and_then(|p| p.get("next")).and_then(Value::as_str).filter(|n| !n.is_empty())
}

/// `url` with `params` as its query, percent-encoded.
pub fn with_query(url: &str, params: Params<'_>) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    format!("{url}?{}", form(params))
}

/// Parameters as `a=1&b=2`, percent-encoded.
pub fn form(params: Params<'_>) -> String {
    params.iter().map(|(k, v)| format!("{}={}", exchange::percent_encode(k), exchange::percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// A list parameter as Graph takes it in a form or query: a JSON array.
pub fn json_list(items: &[String]) -> String {
    Value::from(items.to_vec()).to_string()
}

/// A URL's path without host and query (what logs and errors show).
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    path.split('?').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pages_follow_paging_next_until_there_is_none() {
        let page = json!({"data": [{"id": "1"}], "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"},
            "next": "https://graph.facebook.com/v25.0/1/business_users?limit=100&after=QVFJ"}});
        assert_eq!(next_page(&page), Some("https://graph.facebook.com/v25.0/1/business_users?limit=100&after=QVFJ"));
        let last = json!({"data": [{"id": "2"}], "paging": {"cursors": {"before": "QVFK", "after": "QVFK"}}});
        assert_eq!(next_page(&last), None);
        assert_eq!(next_page(&json!({"data": []})), None);
    }

    #[test]
    fn parameters_are_encoded_and_paths_shown_without_query() {
        let params: &[(&str, String)] = &[("email", "ann+x@acme.io".into()), ("tasks", json_list(&["MANAGE".into(), "ANALYZE".into()]))];
        assert_eq!(form(params), "email=ann%2Bx%40acme.io&tasks=%5B%22MANAGE%22%2C%22ANALYZE%22%5D");
        assert_eq!(with_query("http://h/v25.0/1", &[]), "http://h/v25.0/1");
        assert_eq!(path_of("https://graph.facebook.com/v25.0/1/pending_users?access_token=SECRET&after=x"), "/v25.0/1/pending_users");
    }

    #[test]
    fn the_url_is_the_host_and_the_version_is_the_connector_s() {
        let pacer = Arc::new(Pacer::new("ns/meta"));
        let made = |url: &str| Client::new(url, "t".into(), pacer.clone(), Duration::from_secs(5)).map(|c| c.url("/1"));
        assert_eq!(made("https://graph.facebook.com/").ok().as_deref(), Some("https://graph.facebook.com/v25.0/1"));
        assert!(matches!(made("https://graph.facebook.com/v21.0"), Err(ConnectorError::Config(m)) if m.contains("v25.0")));
        assert!(matches!(made("graph.facebook.com"), Err(ConnectorError::Config(_))));
        assert!(made("https://vpn.example.com").is_ok(), "a host that starts with v is a host");
    }
}
