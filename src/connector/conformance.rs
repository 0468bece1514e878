//! `rolecall connector test URL --secret SECRET`: a conformance check of a
//! webhook connector against docs/connector-protocol.md, for anyone building
//! one. It signs as the operator does, then tries what the operator relies on:
//! refused signatures and replays, idempotent writes by operation id, typed
//! errors, and paging that neither drops nor repeats an account. It makes
//! accounts with addresses of its own (`rolecall-conformance-<run>-<n>@example.com`)
//! and removes them again at the end.
//!
//! It prints one line per check (`ok NAME` or `FAIL NAME: why`) and ends with
//! `N passed, M failed`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::webhook::signing;
use super::webhook::wire::{AccountPage, ERROR_TYPES, ErrorBody, WireAccount, WireCapabilities};

/// Accounts made for the paging check (with the first one, five: three pages at [`PAGE`]).
const PAGED_ACCOUNTS: usize = 4;
/// The page size the paging check asks for.
const PAGE: usize = 2;
/// A listing is cut off after this many pages (a connector whose cursor never ends).
const MAX_PAGES: usize = 10_000;

/// Why the check could not run at all, or that checks failed (the exit code).
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{0} check(s) failed")]
    Failed(usize),
}

/// How a request is signed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signing {
    /// As the operator signs: the right secret, now.
    Good,
    /// With a secret that is not the connector's.
    WrongSecret,
    /// With the right secret, ten minutes ago (a replay).
    Stale,
}

/// One answer.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn error_type(&self) -> Option<String> {
        serde_json::from_value::<ErrorBody>(self.body.clone()).ok().map(|b| b.error.type_)
    }

    /// `Err` unless the answer is 2xx.
    fn success(self, what: &str) -> Result<Reply, String> {
        if self.ok() { Ok(self) } else { Err(format!("{what} answered {} {}", self.status, short(&self.body))) }
    }

    /// `Err` unless the answer is the typed error `kind`.
    fn expect_error(&self, what: &str, kind: &str) -> Result<(), String> {
        match self.error_type() {
            Some(t) if t == kind && !self.ok() => Ok(()),
            _ => Err(format!("{what} answered {} {}, not the typed error {kind}", self.status, short(&self.body))),
        }
    }
}

fn short(body: &Value) -> String {
    body.to_string().chars().take(160).collect()
}

/// The connector under test.
struct Target {
    http: reqwest::Client,
    base: String,
    secret: Vec<u8>,
    /// Every error answer seen, for the well-formedness check.
    errors: Mutex<Vec<(String, Reply)>>,
}

impl Target {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>, signing: Signing) -> Result<Reply, String> {
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let now = signing::now_unix();
        let (secret, at): (&[u8], u64) = match signing {
            Signing::Good => (&self.secret, now),
            Signing::WrongSecret => (b"not-the-shared-secret", now),
            Signing::Stale => (&self.secret, now.saturating_sub(600)),
        };
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header(signing::TIMESTAMP_HEADER, at.to_string())
            .header(signing::SIGNATURE_HEADER, signing::signature(secret, at, payload.as_bytes()));
        if !payload.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(payload);
        }
        let response = request.send().await.map_err(|e| format!("{method} {path}: {}", e.without_url()))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| format!("{method} {path}: the answer broke off: {}", e.without_url()))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{method} {path} answered {status} with a body that is not JSON: {e}"))?
        };
        let reply = Reply { status, body };
        if !reply.ok()
            && let Ok(mut errors) = self.errors.lock()
        {
            errors.push((format!("{method} {path}"), reply.clone()));
        }
        Ok(reply)
    }

    async fn get(&self, path: &str) -> Result<Reply, String> {
        self.send(Method::GET, path, None, Signing::Good).await
    }

    async fn write(&self, method: Method, path: &str, body: &Value) -> Result<Reply, String> {
        self.send(method, path, Some(body), Signing::Good).await
    }

    /// Every page of a listing with `limit`, as pages of ids; `Err` when a cursor repeats or the pages never end.
    async fn pages(&self, limit: usize, email: Option<&str>) -> Result<Vec<Vec<WireAccount>>, String> {
        let mut pages = Vec::new();
        let mut cursors = BTreeSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = format!("/v1/accounts?limit={limit}");
            if let Some(email) = email {
                path.push_str(&format!("&email={}", super::webhook::percent_encode(email)));
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", super::webhook::percent_encode(c)));
            }
            let reply = self.get(&path).await?.success(&format!("GET {path}"))?;
            let page: AccountPage = serde_json::from_value(reply.body).map_err(|e| format!("GET {path}: not a page of accounts: {e}"))?;
            if page.accounts.len() > limit {
                return Err(format!("GET {path}: {} accounts on a page of at most {limit}", page.accounts.len()));
            }
            pages.push(page.accounts);
            match page.next_cursor.filter(|c| !c.is_empty()) {
                None => return Ok(pages),
                Some(c) if !cursors.insert(c.clone()) => return Err(format!("the cursor {c:?} came back a second time")),
                Some(c) => cursor = Some(c),
            }
        }
        Err(format!("the listing did not end within {MAX_PAGES} pages"))
    }

    /// The accounts listed for `email`.
    async fn with_email(&self, email: &str) -> Result<Vec<WireAccount>, String> {
        Ok(self.pages(100, Some(email)).await?.into_iter().flatten().filter(|a| a.email.eq_ignore_ascii_case(email)).collect())
    }
}

/// What the checks share: the connector's capabilities and catalog, and what was made.
#[derive(Default)]
struct Run {
    id: String,
    capabilities: Option<WireCapabilities>,
    roles: Vec<String>,
    /// Asset name → the roles that can be held on it.
    assets: Vec<(String, Vec<String>)>,
    /// The first account: its add request and the account the connector made.
    first: Option<(Value, WireAccount)>,
    /// Ids of every account made, for the cleanup.
    made: Vec<String>,
}

impl Run {
    fn email(&self, n: usize) -> String {
        format!("rolecall-conformance-{}-{n}@example.com", self.id)
    }

    fn operation(&self, name: &str) -> String {
        format!("conformance-{}-{name}", self.id)
    }

    /// The access the first account is added with: a role and an asset, where the connector has them.
    fn access(&self, index: usize) -> (Vec<String>, BTreeMap<String, String>) {
        let caps = self.capabilities.as_ref();
        let roles = match caps.map(|c| c.roles.as_str()) {
            Some("none") | None => vec![],
            _ => self.roles.get(index % self.roles.len().max(1)).cloned().into_iter().collect(),
        };
        let assets = match caps.map(|c| c.assets) {
            Some(true) => self
                .assets
                .get(index % self.assets.len().max(1))
                .and_then(|(name, roles)| roles.get(index % roles.len().max(1)).map(|r| (name.clone(), r.clone())))
                .into_iter()
                .collect(),
            _ => BTreeMap::new(),
        };
        (roles, assets)
    }

    fn first_id(&self) -> Result<String, String> {
        self.first.as_ref().map(|(_, a)| a.id.clone()).ok_or_else(|| "skipped: the add check did not make an account".to_string())
    }
}

/// The account in an answer, checked against what was asked.
fn made_account(reply: Reply, email: &str, roles: &[String], assets: &BTreeMap<String, String>) -> Result<WireAccount, String> {
    let account: WireAccount = serde_json::from_value(reply.body).map_err(|e| format!("the answer is not an account: {e}"))?;
    if account.id.is_empty() || !account.email.eq_ignore_ascii_case(email) {
        return Err(format!("the answer names account {:?} with email {:?}, not {email}", account.id, account.email));
    }
    if !["active", "invited", "invite_failed", "deactivated"].contains(&account.status.as_str()) {
        return Err(format!("the account's status {:?} is not active, invited, invite_failed or deactivated", account.status));
    }
    let got: BTreeSet<&String> = account.roles.iter().collect();
    if got != roles.iter().collect() || &account.assets != assets {
        return Err(format!("the account holds roles {:?} and assets {:?}, not {roles:?} and {assets:?}", account.roles, account.assets));
    }
    Ok(account)
}

/// Runs every check against the connector at `url`; prints the report.
pub async fn run(url: &str, secret: &str) -> Result<(), ConformanceError> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| ConformanceError::Client(e.to_string()))?;
    let target =
        Target { http, base: url.trim_end_matches('/').to_string(), secret: secret.as_bytes().to_vec(), errors: Mutex::new(vec![]) };
    let mut run = Run { id: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(), ..Run::default() };
    let mut results: Vec<(&str, Result<(), String>)> = Vec::new();
    let mut report = |name: &'static str, result: Result<(), String>| {
        match &result {
            Ok(()) => println!("ok {name}"),
            Err(why) => println!("FAIL {name}: {why}"),
        }
        results.push((name, result));
    };

    report("capabilities", capabilities(&target, &mut run).await);
    report("roles and assets", catalog(&target, &mut run).await);
    report("wrong signature refused", refused(&target, Signing::WrongSecret).await);
    report("stale timestamp refused", refused(&target, Signing::Stale).await);
    report("add", add(&target, &mut run).await);
    report("add retried with the same operation id", add_retried(&target, &run).await);
    report("add of an existing email answers already_exists", add_existing(&target, &run).await);
    report("operation id reused for another request refused", operation_reused(&target, &run).await);
    report("list pages", list_pages(&target, &mut run).await);
    report("update", update(&target, &run).await);
    report("update of an unknown account answers not_found", update_unknown(&target, &run).await);
    report("remove", remove(&target, &run).await);
    report("remove again", remove_again(&target, &run).await);
    report("invalid request answers invalid", invalid(&target, &run).await);
    report("typed errors well-formed", typed_errors(&target));
    cleanup(&target, &run).await;

    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed > 0 { Err(ConformanceError::Failed(failed)) } else { Ok(()) }
}

async fn capabilities(target: &Target, run: &mut Run) -> Result<(), String> {
    let reply = target.get("/v1/capabilities").await?.success("GET /v1/capabilities")?;
    let caps: WireCapabilities = serde_json::from_value(reply.body).map_err(|e| format!("not the v1 capabilities: {e}"))?;
    if caps.protocol_version != "v1" {
        return Err(format!("protocol_version is {:?}, not \"v1\"", caps.protocol_version));
    }
    if caps.to_capabilities().is_none() {
        return Err(format!("roles is {:?}, not none, one or many", caps.roles));
    }
    run.capabilities = Some(caps);
    Ok(())
}

async fn catalog(target: &Target, run: &mut Run) -> Result<(), String> {
    let names = |body: &Value, key: &str| -> Result<Vec<(String, Vec<String>)>, String> {
        let items = body.get(key).and_then(Value::as_array).ok_or_else(|| format!("GET /v1/{key}: no {key:?} list"))?;
        items
            .iter()
            .map(|item| {
                let name = item.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
                let roles =
                    item.get("roles").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect());
                name.map(|n| (n.to_string(), roles.unwrap_or_default())).ok_or_else(|| format!("GET /v1/{key}: an item without a name"))
            })
            .collect()
    };
    let roles = target.get("/v1/roles").await?.success("GET /v1/roles")?;
    run.roles = names(&roles.body, "roles")?.into_iter().map(|(n, _)| n).collect();
    let assets = target.get("/v1/assets").await?.success("GET /v1/assets")?;
    run.assets = names(&assets.body, "assets")?;
    Ok(())
}

async fn refused(target: &Target, how: Signing) -> Result<(), String> {
    let reply = target.send(Method::GET, "/v1/accounts?limit=1", None, how).await?;
    reply.expect_error("GET /v1/accounts", "unauthorized")?;
    let request = json!({"operation_id": format!("refused-{}", signing::now_unix()), "email": "refused@example.com"});
    let write = target.send(Method::POST, "/v1/accounts", Some(&request), how).await?;
    if let Some(id) = write.ok().then(|| write.body.get("id").and_then(Value::as_str)).flatten() {
        // It made an account it should have refused: take it away again.
        let _ =
            target.write(Method::DELETE, &format!("/v1/accounts/{id}"), &json!({"operation_id": format!("refused-cleanup-{id}")})).await;
    }
    write.expect_error("POST /v1/accounts", "unauthorized")
}

async fn add(target: &Target, run: &mut Run) -> Result<(), String> {
    let email = run.email(0);
    let (roles, assets) = run.access(0);
    let request = json!({"operation_id": run.operation("add-0"), "email": email, "display_name": "Conformance Zero",
        "given_name": "Conformance", "family_name": "Zero", "roles": roles, "assets": assets});
    let reply = target.write(Method::POST, "/v1/accounts", &request).await?.success("POST /v1/accounts")?;
    let account = made_account(reply, &email, &roles, &assets)?;
    run.made.push(account.id.clone());
    run.first = Some((request, account));
    Ok(())
}

async fn add_retried(target: &Target, run: &Run) -> Result<(), String> {
    let (request, first) = run.first.clone().ok_or("skipped: the add check did not make an account")?;
    let reply = target.write(Method::POST, "/v1/accounts", &request).await?.success("the retried POST /v1/accounts")?;
    let again: WireAccount = serde_json::from_value(reply.body).map_err(|e| format!("the retry's answer is not an account: {e}"))?;
    let listed = target.with_email(&first.email.to_uppercase()).await?;
    if again.id != first.id {
        return Err(format!("the retry answered account {:?}, the first add {:?}", again.id, first.id));
    }
    if listed.len() != 1 {
        return Err(format!("{} accounts are listed with {} after the retry, not 1", listed.len(), first.email));
    }
    Ok(())
}

async fn add_existing(target: &Target, run: &Run) -> Result<(), String> {
    let first = run.first_id()?;
    let request = json!({"operation_id": run.operation("add-0-again"), "email": run.email(0), "roles": [], "assets": {}});
    let reply = target.write(Method::POST, "/v1/accounts", &request).await?;
    if reply.ok() {
        return Err(format!(
            "a second add of {} answered {} with account {:?}; the first is {first:?}",
            run.email(0),
            reply.status,
            reply.body.get("id").and_then(Value::as_str).unwrap_or("(no id)")
        ));
    }
    reply.expect_error("POST /v1/accounts", "already_exists")
}

async fn operation_reused(target: &Target, run: &Run) -> Result<(), String> {
    run.first_id()?;
    let request = json!({"operation_id": run.operation("add-0"), "email": run.email(99), "roles": [], "assets": {}});
    let reply = target.write(Method::POST, "/v1/accounts", &request).await?;
    if let Some(id) = reply.ok().then(|| reply.body.get("id").and_then(Value::as_str)).flatten() {
        // Clean up whatever it made before failing.
        let _ = target.write(Method::DELETE, &format!("/v1/accounts/{id}"), &json!({"operation_id": run.operation("remove-99")})).await;
        return Err(format!("the operation id of the first add, sent with another email, made or answered account {id:?}"));
    }
    reply.expect_error("POST /v1/accounts", "invalid")
}

async fn list_pages(target: &Target, run: &mut Run) -> Result<(), String> {
    let mut made = BTreeSet::new();
    made.extend(run.first.as_ref().map(|(_, a)| a.id.clone()));
    for n in 1..=PAGED_ACCOUNTS {
        let (roles, assets) = run.access(n);
        let request = json!({"operation_id": run.operation(&format!("add-{n}")), "email": run.email(n), "roles": roles, "assets": assets});
        let reply = target.write(Method::POST, "/v1/accounts", &request).await?.success("POST /v1/accounts")?;
        let account = made_account(reply, &run.email(n), &roles, &assets)?;
        run.made.push(account.id.clone());
        made.insert(account.id);
    }
    let pages = target.pages(PAGE, None).await?;
    if pages.len() < 2 {
        return Err(format!("{} accounts at limit={PAGE} came in {} page", made.len(), pages.len()));
    }
    let mut seen = BTreeSet::new();
    for (i, page) in pages.iter().enumerate() {
        for account in page {
            if !seen.insert(account.id.clone()) {
                return Err(format!("account {} is listed twice (again on page {})", account.id, i + 1));
            }
        }
    }
    let dropped: Vec<&String> = made.difference(&seen).collect();
    if !dropped.is_empty() {
        return Err(format!("accounts {dropped:?} are missing from {} pages at limit={PAGE}", pages.len()));
    }
    Ok(())
}

async fn update(target: &Target, run: &Run) -> Result<(), String> {
    let id = run.first_id()?;
    let (roles, assets) = run.access(1);
    let request = json!({"operation_id": run.operation("update-0"), "roles": roles, "assets": assets});
    let path = format!("/v1/accounts/{}", super::webhook::percent_encode(&id));
    let first = target.write(Method::PUT, &path, &request).await?.success(&format!("PUT {path}"))?;
    let retried = target.write(Method::PUT, &path, &request).await?.success(&format!("the retried PUT {path}"))?;
    if first.status != retried.status || first.body != retried.body {
        return Err(format!(
            "the retried update answered {} {}, the first {} {}",
            retried.status,
            short(&retried.body),
            first.status,
            short(&first.body)
        ));
    }
    let listed = target.with_email(&run.email(0)).await?;
    let account = listed.first().ok_or("the updated account is not listed")?;
    let got: BTreeSet<&String> = account.roles.iter().collect();
    if got != roles.iter().collect() || account.assets != assets {
        return Err(format!(
            "after the update the account holds {:?} and {:?}, not {roles:?} and {assets:?}",
            account.roles, account.assets
        ));
    }
    Ok(())
}

async fn update_unknown(target: &Target, run: &Run) -> Result<(), String> {
    let path = format!("/v1/accounts/no-such-account-{}", run.id);
    let reply =
        target.write(Method::PUT, &path, &json!({"operation_id": run.operation("update-unknown"), "roles": [], "assets": {}})).await?;
    reply.expect_error(&format!("PUT {path}"), "not_found")
}

async fn remove(target: &Target, run: &Run) -> Result<(), String> {
    let id = run.first_id()?;
    let path = format!("/v1/accounts/{}", super::webhook::percent_encode(&id));
    let request = json!({"operation_id": run.operation("remove-0")});
    let first = target.write(Method::DELETE, &path, &request).await?.success(&format!("DELETE {path}"))?;
    let retried = target.write(Method::DELETE, &path, &request).await?;
    if retried.status != first.status {
        return Err(format!("the retried removal answered {} {}, the first {}", retried.status, short(&retried.body), first.status));
    }
    let listed = target.with_email(&run.email(0)).await?;
    if listed.iter().any(|a| a.status != "deactivated") {
        return Err(format!("after the removal the account is still listed as {:?}", listed.iter().map(|a| &a.status).collect::<Vec<_>>()));
    }
    Ok(())
}

async fn remove_again(target: &Target, run: &Run) -> Result<(), String> {
    let id = run.first_id()?;
    let path = format!("/v1/accounts/{}", super::webhook::percent_encode(&id));
    let reply = target.write(Method::DELETE, &path, &json!({"operation_id": run.operation("remove-0-again")})).await?;
    if reply.ok() { Ok(()) } else { reply.expect_error(&format!("DELETE {path}"), "not_found") }
}

async fn invalid(target: &Target, run: &Run) -> Result<(), String> {
    let reply = target.write(Method::POST, "/v1/accounts", &json!({"operation_id": run.operation("add-invalid"), "roles": []})).await?;
    reply.expect_error("POST /v1/accounts without an email", "invalid")
}

/// Every error answer of the run: `{"error": {"type", "message"}}` with a v1 type and its status.
fn typed_errors(target: &Target) -> Result<(), String> {
    let errors = target.errors.lock().map_err(|_| "the error log is poisoned".to_string())?;
    if errors.is_empty() {
        return Err("no error answer was seen".into());
    }
    for (call, reply) in errors.iter() {
        let body: ErrorBody = serde_json::from_value(reply.body.clone())
            .map_err(|e| format!("{call} answered {} {}: not a typed error ({e})", reply.status, short(&reply.body)))?;
        let expected = ERROR_TYPES.iter().find(|(t, _)| *t == body.error.type_).map(|(_, s)| *s);
        match expected {
            None => return Err(format!("{call}: the error type {:?} is not one of v1's", body.error.type_)),
            Some(503) if (500..600).contains(&reply.status) => {}
            Some(status) if status == reply.status => {}
            Some(status) => return Err(format!("{call}: a {} error came with status {}, not {status}", body.error.type_, reply.status)),
        }
        if body.error.type_ == "rate_limited" && body.error.retry_after_seconds.is_none() {
            return Err(format!("{call}: a rate_limited error without retry_after_seconds"));
        }
    }
    Ok(())
}

/// Removes what the run made and is still listed with a seat.
async fn cleanup(target: &Target, run: &Run) {
    for (n, id) in run.made.iter().enumerate() {
        let path = format!("/v1/accounts/{}", super::webhook::percent_encode(id));
        let _ = target.write(Method::DELETE, &path, &json!({"operation_id": run.operation(&format!("cleanup-{n}"))})).await;
    }
}
