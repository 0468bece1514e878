//! The GitHub stand-in (`tests/github/standin.py`, run from `.venv`): a GitHub
//! organisation on loopback that serves only the operations of GitHub's
//! published OpenAPI description vendored in `tests/github/openapi/`, checks
//! every request and response against it, enforces GitHub's limits and
//! records every call. This file starts it, drives its admin port, and tests
//! the stand-in itself with plain HTTP (no connector), so that a connector test
//! failing against it can trust what it answers.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::standin_process::{StandInProcess, now_secs};

/// How to start a stand-in. `Default` is an org `acme` with no teams, GitHub's
/// own limits, and `--strict` (a request that breaks the description is refused).
#[derive(Debug, Clone)]
pub struct StandInOptions {
    pub org: String,
    pub teams: Vec<String>,
    pub expose_emails: bool,
    pub strict: bool,
    pub invitation_cap: u32,
    /// The cap counts invitations made in this window (GitHub: 24 h).
    pub invitation_window: Duration,
    pub primary_limit: u32,
    pub secondary_per_minute: u32,
    /// The length of the secondary limit's "minute", shortened for test speed.
    pub secondary_window: Duration,
    pub scopes: String,
    /// A GitHub App installed on the org: (app id, RSA public modulus in hex, installation id).
    pub app: Option<(String, String, i64)>,
}

impl Default for StandInOptions {
    fn default() -> Self {
        StandInOptions {
            org: "acme".into(),
            teams: Vec::new(),
            expose_emails: false,
            strict: true,
            invitation_cap: 50,
            invitation_window: Duration::from_secs(86_400),
            primary_limit: 5000,
            secondary_per_minute: 80,
            secondary_window: Duration::from_secs(60),
            scopes: "admin:org".into(),
            app: None,
        }
    }
}

/// One call the stand-in answered on its GitHub port.
#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: serde_json::Map<String, Value>,
    pub status: u16,
    pub operation: Option<String>,
    pub request_valid: bool,
    pub response_valid: bool,
    pub response_checked: Option<String>,
    pub errors: Vec<String>,
    pub conditional: bool,
    pub counted: bool,
    pub fault: Option<String>,
    pub request_body: Option<Value>,
    pub at: f64,
    /// How long the stand-in took to answer (its answer left at `at + duration`).
    #[serde(default)]
    pub duration: f64,
}

impl Call {
    /// Valid against the description. An injected fault's answer is outside it on
    /// purpose, so only its request is judged.
    pub fn valid(&self) -> bool {
        self.request_valid && (self.response_valid || self.fault.is_some())
    }
}

pub struct GitHubStandIn {
    pub process: StandInProcess,
    pub token: String,
    pub org: String,
}

impl GitHubStandIn {
    pub async fn start(options: StandInOptions) -> GitHubStandIn {
        let token = format!("ghp_standin{}", uuid::Uuid::new_v4().simple());
        let mut args: Vec<String> = [
            "--org",
            &options.org,
            "--token",
            &token,
            "--teams",
            &options.teams.join(","),
            "--invitation-cap",
            &options.invitation_cap.to_string(),
            "--invitation-window",
            &options.invitation_window.as_secs_f64().to_string(),
            "--primary-limit",
            &options.primary_limit.to_string(),
            "--secondary-per-minute",
            &options.secondary_per_minute.to_string(),
            "--secondary-window",
            &options.secondary_window.as_secs_f64().to_string(),
            "--scopes",
            &options.scopes,
        ]
        .map(String::from)
        .into();
        if options.expose_emails {
            args.push("--expose-emails".into());
        }
        if options.strict {
            args.push("--strict".into());
        }
        if let Some((app_id, modulus, installation)) = &options.app {
            args.extend(["--app-id", app_id, "--app-modulus", modulus, "--installation-id", &installation.to_string()].map(String::from));
        }
        GitHubStandIn { process: StandInProcess::start("github", &args).await, token, org: options.org }
    }

    /// The API's base URL, as a hub names it (like `https://api.github.com`).
    pub fn base_url(&self) -> String {
        self.process.base_url()
    }

    /// Every call on the GitHub port so far, in order.
    pub async fn calls(&self) -> Vec<Call> {
        self.process.calls().await
    }

    pub async fn clear_calls(&self) {
        self.process.clear_calls().await;
    }

    /// `{"members":[...],"invitations":[...],"failed_invitations":[...],"teams":{...}}`
    pub async fn state(&self) -> Value {
        self.process.state().await
    }

    /// An existing member, as the org had before rolecall; `teams`: slug → member|maintainer.
    pub async fn seed_member(&self, login: &str, email: &str, role: &str, teams: &[(&str, &str)]) -> Value {
        let teams: serde_json::Map<String, Value> = teams.iter().map(|(slug, role)| (slug.to_string(), json!(role))).collect();
        self.process.admin_post("/members", json!({"login": login, "email": email, "role": role, "teams": teams})).await
    }

    /// The invitee accepts: a member with the invitation's role and teams.
    pub async fn accept_invitation(&self, id: i64, login: Option<&str>) -> Value {
        self.process.admin_post(&format!("/invitations/{id}/accept"), json!({"login": login})).await
    }

    pub async fn fail_invitation(&self, id: i64, reason: &str) -> Value {
        self.process.admin_post(&format!("/invitations/{id}/fail"), json!({"reason": reason})).await
    }

    /// Seven days pass: the invitation moves to failed invitations, as GitHub words it.
    pub async fn expire_invitation(&self, id: i64) -> Value {
        self.process.admin_post(&format!("/invitations/{id}/expire"), json!({})).await
    }

    /// `{"kind": "429|403-primary|403-secondary|403-secondary-no-header|500|502|timeout|drop|malformed",
    /// "count": N, "method": .., "path_prefix": .., "retry_after": s, "reset_in": s, "delay": s, "performed": bool}`
    pub async fn inject_fault(&self, fault: Value) -> Value {
        self.process.admin_post("/faults", fault).await
    }

    /// `{"primary_remaining": N, "primary_reset_in": s, "primary_status": 403|429,
    /// "secondary_per_minute": N, "secondary_window": s, "invitation_cap": N, ...}`; answers all limits.
    pub async fn set_limits(&self, limits: Value) -> Value {
        self.process.admin_post("/limits", limits).await
    }

    /// The vendored description: `{"source": {"package","version",..}, "operations": N, "schemas": N}`.
    pub async fn description(&self) -> Value {
        self.process.admin_get("/description").await
    }

    /// The GitHub operations (operationIds) called so far: the contract check's count.
    pub async fn operations_used(&self) -> std::collections::BTreeSet<String> {
        self.calls().await.into_iter().filter_map(|c| c.operation).collect()
    }

    pub async fn invalid_calls(&self) -> Vec<Call> {
        self.calls().await.into_iter().filter(|c| !c.valid()).collect()
    }

    /// Fails listing every call whose request or response broke GitHub's description.
    pub async fn assert_all_valid(&self) {
        let calls = self.calls().await;
        let invalid: Vec<String> = calls
            .iter()
            .filter(|c| !c.valid())
            .map(|c| format!("{} {} -> {}: {}", c.method, c.path, c.status, c.errors.join("; ")))
            .collect();
        assert!(
            invalid.is_empty(),
            "{} of {} calls broke GitHub's OpenAPI description:\n{}",
            invalid.len(),
            calls.len(),
            invalid.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Tests of the stand-in itself, with a plain HTTP client as a connector would.
// ---------------------------------------------------------------------------

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A GitHub API client with the headers the contract asks of the connector.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(standin: &GitHubStandIn) -> Client {
        Client {
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).user_agent("rolecall-standin-tests").build().expect("client"),
            base: standin.base_url(),
            token: standin.token.clone(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>, extra: &[(&str, &str)]) -> reqwest::Result<Answer> {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null), text })
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None, &[]).await.expect("GET answers")
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body), &[]).await.expect("POST answers")
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body), &[]).await.expect("PUT answers")
    }
}

fn next_link(answer: &Answer) -> Option<String> {
    let link = answer.header("link")?;
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        Some(part[start..end].to_string())
    })
}

#[tokio::test]
async fn an_invitation_validates_shows_in_the_list_and_becomes_a_member_with_its_team() {
    let standin = GitHubStandIn::start(StandInOptions { teams: vec!["engineering".into()], ..Default::default() }).await;
    let gh = Client::new(&standin);

    let org = gh.get(&format!("/orgs/{}", standin.org)).await;
    assert_eq!(org.status, 200, "{}", org.text);
    assert_eq!(org.header("x-oauth-scopes"), Some("admin:org"));
    assert_eq!(gh.get("/orgs/nope").await.status, 404, "an unknown org");

    let teams = gh.get("/orgs/acme/teams?per_page=100").await;
    let team_id = teams.body[0]["id"].as_i64().expect("a team id");
    assert_eq!(teams.body[0]["slug"], "engineering");

    let created = gh.post("/orgs/acme/invitations", json!({"email": "ann@acme.io", "role": "direct_member", "team_ids": [team_id]})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().expect("invitation id");
    assert_eq!(created.body["inviter"]["login"], "rolecall-bot");

    let listed = gh.get("/orgs/acme/invitations?per_page=100").await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{}", listed.text);
    assert_eq!(listed.body[0]["email"], "ann@acme.io");
    assert_eq!(listed.body[0]["team_count"], 1);

    // Before acceptance a team membership by login is pending, not active.
    let pending = gh.put("/orgs/acme/teams/engineering/memberships/bob", json!({"role": "maintainer"})).await;
    assert_eq!((pending.status, pending.body["state"].as_str()), (200, Some("pending")), "{}", pending.text);

    let accepted = standin.accept_invitation(id, Some("ann")).await;
    assert_eq!(accepted["login"], "ann");
    let members = gh.get("/orgs/acme/members?role=member&per_page=100").await;
    assert_eq!(members.body[0]["login"], "ann", "{}", members.text);
    assert_eq!(members.body[0]["email"], Value::Null, "emails are hidden without --expose-emails");
    let team = gh.get("/orgs/acme/teams/engineering/members?role=all&per_page=100").await;
    assert_eq!(team.body[0]["login"], "ann", "{}", team.text);
    // Ann's invitation is gone; Bob's, which GitHub sent with his pending team membership, waits.
    let left = gh.get("/orgs/acme/invitations?per_page=100").await;
    assert_eq!(left.body.as_array().map(Vec::len), Some(1), "{}", left.text);
    assert_eq!((left.body[0]["login"].as_str(), &left.body[0]["email"]), (Some("bob"), &Value::Null));

    let membership = gh.get("/orgs/acme/memberships/ann").await;
    assert_eq!((membership.body["state"].as_str(), membership.body["role"].as_str()), (Some("active"), Some("member")));
    assert_eq!(gh.put("/orgs/acme/memberships/ann", json!({"role": "admin"})).await.status, 200);
    assert_eq!(standin.state().await["members"][0]["role"], "admin");
    assert_eq!(gh.send(reqwest::Method::DELETE, "/orgs/acme/memberships/ann", None, &[]).await.expect("DELETE").status, 204);
    assert_eq!(standin.state().await["members"], json!([]));

    let calls = standin.calls().await;
    assert_eq!(calls.len(), 12);
    assert_eq!(calls[3].operation.as_deref(), Some("orgs/create-invitation"));
    assert_eq!(calls[3].request_body.as_ref().map(|b| b["email"].clone()), Some(json!("ann@acme.io")));
    assert_eq!(calls[4].query.get("per_page"), Some(&json!("100")));
    assert!(calls.iter().all(|c| c.response_checked.as_deref() == Some("operation")), "every answer is one the description lists");
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn failed_and_expired_invitations_move_to_the_failed_list() {
    let standin = GitHubStandIn::start(StandInOptions::default()).await;
    let gh = Client::new(&standin);
    let mut ids = Vec::new();
    for email in ["a@acme.io", "b@acme.io"] {
        let created = gh.post("/orgs/acme/invitations", json!({"email": email, "role": "admin"})).await;
        ids.push(created.body["id"].as_i64().expect("id"));
    }
    standin.fail_invitation(ids[0], "No seats available.").await;
    standin.expire_invitation(ids[1]).await;
    let failed = gh.get("/orgs/acme/failed_invitations?per_page=100").await;
    assert_eq!(failed.body.as_array().map(Vec::len), Some(2), "{}", failed.text);
    assert_eq!(failed.body[0]["failed_reason"], "No seats available.");
    assert_eq!(failed.body[1]["failed_reason"], "Invitation expired. User did not accept this invite for 7 days.");
    assert!(failed.body[1]["failed_at"].is_string());
    assert_eq!(gh.get("/orgs/acme/invitations?per_page=100").await.body, json!([]));
    // Cancelling an invitation that is gone is GitHub's 404.
    let gone = gh.send(reqwest::Method::DELETE, &format!("/orgs/acme/invitations/{}", ids[0]), None, &[]).await.expect("DELETE");
    assert_eq!(gone.status, 404);
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn lists_page_by_link_over_250_invitations() {
    let standin = GitHubStandIn::start(StandInOptions { invitation_cap: 500, secondary_per_minute: 1000, ..Default::default() }).await;
    let gh = Client::new(&standin);
    for n in 0..250 {
        let created = gh.post("/orgs/acme/invitations", json!({"email": format!("user{n}@acme.io"), "role": "direct_member"})).await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let mut pages = Vec::new();
    let mut next = Some("/orgs/acme/invitations?per_page=100".to_string());
    let mut emails = std::collections::BTreeSet::new();
    while let Some(url) = next.take() {
        assert!(pages.len() < 5, "more pages than 250 invitations make");
        let page = gh.get(&url).await;
        assert_eq!(page.status, 200);
        if pages.is_empty() {
            assert!(page.header("link").is_some_and(|l| l.contains("page=3>; rel=\"last\"")), "{:?}", page.header("link"));
        }
        let items = page.body.as_array().cloned().unwrap_or_default();
        emails.extend(items.iter().filter_map(|i| i["email"].as_str().map(str::to_string)));
        pages.push(items.len());
        next = next_link(&page);
    }
    assert_eq!(pages, vec![100, 100, 50]);
    assert_eq!(emails.len(), 250, "every invitation once");
    // per_page above 100 is served as 100, as GitHub does.
    assert_eq!(gh.get("/orgs/acme/invitations?per_page=500").await.body.as_array().map(Vec::len), Some(100));
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn a_conditional_read_answers_304_and_is_not_counted() {
    let standin = GitHubStandIn::start(StandInOptions::default()).await;
    standin.seed_member("carol", "carol@acme.io", "admin", &[]).await;
    let gh = Client::new(&standin);
    assert_eq!(gh.get("/orgs/acme").await.status, 200);
    standin.clear_calls().await;
    let first = gh.get("/orgs/acme/members?per_page=100").await;
    let etag = first.header("etag").expect("every GET answers an ETag").to_string();
    let remaining = first.header("x-ratelimit-remaining").expect("remaining").to_string();

    let again = gh.send(reqwest::Method::GET, "/orgs/acme/members?per_page=100", None, &[("If-None-Match", &etag)]).await.expect("GET");
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.header("x-ratelimit-remaining"), Some(remaining.as_str()), "a 304 is free");

    standin.seed_member("dave", "dave@acme.io", "member", &[]).await;
    let changed = gh.send(reqwest::Method::GET, "/orgs/acme/members?per_page=100", None, &[("If-None-Match", &etag)]).await.expect("GET");
    assert_eq!(changed.status, 200, "a change answers the new list");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));

    let calls = standin.calls().await;
    let flags: Vec<(u16, bool, bool)> = calls.iter().map(|c| (c.status, c.conditional, c.counted)).collect();
    assert_eq!(flags, vec![(200, false, true), (304, true, false), (200, false, true)]);
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn the_primary_limit_refuses_at_zero_until_its_reset() {
    let standin = GitHubStandIn::start(StandInOptions::default()).await;
    let gh = Client::new(&standin);
    standin.set_limits(json!({"primary_remaining": 2, "primary_reset_in": 2})).await;
    assert_eq!(gh.get("/orgs/acme").await.status, 200);
    let last = gh.get("/orgs/acme").await;
    assert_eq!((last.status, last.header("x-ratelimit-remaining")), (200, Some("0")));
    let refused = gh.get("/orgs/acme").await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.body["message"].as_str().is_some_and(|m| m.starts_with("API rate limit exceeded")), "{}", refused.text);
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    let reset: f64 = refused.header("x-ratelimit-reset").and_then(|r| r.parse().ok()).expect("a reset time");
    // The /rate_limit endpoint is free and still answers.
    assert_eq!(gh.get("/rate_limit").await.body["resources"]["core"]["remaining"], 0);

    // Wait for the reset by asking: every answer before it is a refusal, the first 200 comes after it.
    let start = Instant::now();
    let recovered = loop {
        assert!(start.elapsed() < Duration::from_secs(10), "the limit never reset");
        let answer = gh.get("/orgs/acme").await;
        if answer.status == 200 {
            break answer;
        }
        assert_eq!(answer.status, 403);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(now_secs() >= reset, "served before the announced reset second");
    let calls = standin.calls().await;
    let first_refusal = calls.iter().find(|c| c.status == 403).map(|c| c.at).expect("a refusal");
    assert!(
        calls.iter().filter(|c| c.status == 200 && c.path == "/orgs/acme" && c.at > first_refusal).all(|c| c.at >= reset),
        "no answer between the refusal and the reset"
    );
    assert!(recovered.header("x-ratelimit-remaining").and_then(|r| r.parse::<u32>().ok()).is_some_and(|r| r > 4000));

    // The same with 429, as GitHub also answers.
    standin.set_limits(json!({"primary_remaining": 0, "primary_reset_in": 30, "primary_status": 429})).await;
    let throttled = gh.get("/orgs/acme").await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("retry-after").is_some());

    let calls = standin.calls().await;
    assert!(calls.iter().filter(|c| c.status == 403 || c.status == 429).all(|c| !c.counted), "refusals are not counted");
    assert!(calls.iter().filter(|c| c.status == 403).all(|c| c.response_checked.as_deref() == Some("generic")));
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn the_secondary_limit_refuses_the_81st_write_in_a_minute() {
    let standin = GitHubStandIn::start(StandInOptions { teams: vec!["design".into()], ..Default::default() }).await;
    standin.seed_member("carol", "carol@acme.io", "member", &[]).await;
    let gh = Client::new(&standin);
    for n in 0..80 {
        let role = if n % 2 == 0 { "maintainer" } else { "member" };
        let answer = gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": role})).await;
        assert_eq!(answer.status, 200, "write {n}: {}", answer.text);
    }
    let refused = gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": "member"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.body["message"].as_str().is_some_and(|m| m.contains("secondary rate limit")), "{}", refused.text);
    let retry_after: u64 = refused.header("retry-after").and_then(|r| r.parse().ok()).expect("retry-after");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(gh.get("/orgs/acme/teams/design/members?per_page=100").await.status, 200, "reads go on");

    // A short window shows the recovery: after retry-after, writes pass again.
    standin.set_limits(json!({"secondary_per_minute": 2, "secondary_window": 1.5})).await;
    tokio::time::sleep(Duration::from_millis(1600)).await; // the 80 earlier writes age out of the short window
    assert_eq!(gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": "member"})).await.status, 200);
    assert_eq!(gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": "member"})).await.status, 200);
    let third = gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": "member"})).await;
    assert_eq!(third.status, 403);
    let wait: u64 = third.header("retry-after").and_then(|r| r.parse().ok()).expect("retry-after");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": "member"})).await.status, 200, "after retry-after");
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn the_invitation_cap_answers_422() {
    let standin = GitHubStandIn::start(StandInOptions { invitation_cap: 2, ..Default::default() }).await;
    let gh = Client::new(&standin);
    for email in ["a@acme.io", "b@acme.io"] {
        assert_eq!(gh.post("/orgs/acme/invitations", json!({"email": email})).await.status, 201);
    }
    let over = gh.post("/orgs/acme/invitations", json!({"email": "c@acme.io", "role": "direct_member"})).await;
    assert_eq!(over.status, 422, "{}", over.text);
    assert_eq!(over.body["errors"][0]["message"], "Over invitation rate limit");
    // Cancelling does not give the day's invitations back.
    let id = gh.get("/orgs/acme/invitations").await.body[0]["id"].as_i64().expect("id");
    gh.send(reqwest::Method::DELETE, &format!("/orgs/acme/invitations/{id}"), None, &[]).await.expect("DELETE");
    assert_eq!(gh.post("/orgs/acme/invitations", json!({"email": "c@acme.io"})).await.status, 422);
    assert_eq!(standin.state().await["invitations"].as_array().map(Vec::len), Some(1));

    // The cap counts a sliding window: once the first two age out, invitations pass again.
    standin.set_limits(json!({"invitation_window": 1.0})).await;
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < Duration::from_secs(5), "the window never moved on");
        let answer = gh.post("/orgs/acme/invitations", json!({"email": "c@acme.io"})).await;
        if answer.status == 201 {
            break;
        }
        assert_eq!(answer.status, 422, "{}", answer.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn requests_that_break_the_description_are_recorded_and_refused() {
    for strict in [true, false] {
        let standin = GitHubStandIn::start(StandInOptions { strict, ..Default::default() }).await;
        let gh = Client::new(&standin);
        let owner = gh.post("/orgs/acme/invitations", json!({"email": "x@acme.io", "role": "owner"})).await;
        assert_eq!(owner.status, if strict { 400 } else { 422 }, "{}", owner.text);
        assert_eq!(gh.get("/orgs/acme/repos").await.status, 404, "an operation the description has but the subset does not");
        assert_eq!(gh.get("/orgs/acme/members?role=boss").await.status, if strict { 400 } else { 200 });
        let patch = gh.send(reqwest::Method::PATCH, "/orgs/acme", Some(json!({})), &[]).await.expect("PATCH");
        assert_eq!(patch.status, 404);
        let bare = reqwest::Client::new()
            .get(format!("{}/orgs/acme", standin.base_url()))
            .bearer_auth(&standin.token)
            .header("User-Agent", "rolecall-standin-tests")
            .send()
            .await
            .expect("GET");
        assert_eq!(bare.status().as_u16(), if strict { 400 } else { 200 }, "no Accept / X-GitHub-Api-Version");
        let anonymous = reqwest::Client::new()
            .get(format!("{}/orgs/acme", standin.base_url()))
            .bearer_auth(&standin.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .expect("GET");
        assert_eq!(anonymous.status().as_u16(), if strict { 400 } else { 403 }, "no User-Agent: GitHub refuses it");
        let wrong = reqwest::Client::new()
            .get(format!("{}/orgs/acme", standin.base_url()))
            .bearer_auth("ghp_wrong")
            .header("User-Agent", "rolecall-standin-tests")
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .expect("GET");
        assert_eq!(wrong.status().as_u16(), 401);
        let body: Value = wrong.json().await.unwrap_or(Value::Null);
        assert_eq!(body["message"], "Bad credentials");

        let invalid = standin.invalid_calls().await;
        let paths: Vec<(&str, &str)> = invalid.iter().map(|c| (c.method.as_str(), c.path.as_str())).collect();
        assert_eq!(
            paths,
            vec![
                ("POST", "/orgs/acme/invitations"),
                ("GET", "/orgs/acme/repos"),
                ("GET", "/orgs/acme/members"),
                ("PATCH", "/orgs/acme"),
                ("GET", "/orgs/acme"),
                ("GET", "/orgs/acme")
            ],
            "strict={strict}"
        );
        assert!(invalid[0].errors.iter().any(|e| e.contains("'owner' is not one of")), "{:?}", invalid[0].errors);
        assert!(invalid[4].errors.iter().any(|e| e.contains("X-GitHub-Api-Version")), "{:?}", invalid[4].errors);
        assert!(invalid[5].errors.iter().any(|e| e.contains("User-Agent")), "{:?}", invalid[5].errors);
        assert!(standin.state().await["invitations"].as_array().is_some_and(Vec::is_empty), "nothing invalid was acted on");
        let all = standin.calls().await;
        assert!(all.iter().all(|c| c.response_valid), "even refusals answer in GitHub's shapes: {all:?}");
    }
}

#[tokio::test]
async fn each_fault_kind_happens_as_asked() {
    let standin = GitHubStandIn::start(StandInOptions { teams: vec!["design".into()], ..Default::default() }).await;
    let gh = Client::new(&standin);

    // Faults only hit what they name: a GET on members passes a fault on teams.
    standin.inject_fault(json!({"kind": "500", "count": 1, "path_prefix": "/orgs/acme/teams"})).await;
    assert_eq!(gh.get("/orgs/acme/members").await.status, 200);
    assert_eq!(gh.get("/orgs/acme/teams").await.status, 500);
    assert_eq!(gh.get("/orgs/acme/teams").await.status, 200, "count 1: once");

    standin.inject_fault(json!({"kind": "502", "count": 1})).await;
    let bad_gateway = gh.get("/orgs/acme").await;
    assert_eq!(bad_gateway.status, 502);
    assert!(bad_gateway.text.contains("Bad Gateway"));

    standin.inject_fault(json!({"kind": "403-secondary", "count": 1, "retry_after": 7})).await;
    let secondary = gh.get("/orgs/acme").await;
    assert_eq!((secondary.status, secondary.header("retry-after")), (403, Some("7")));
    standin.inject_fault(json!({"kind": "403-secondary-no-header", "count": 1})).await;
    let bare = gh.get("/orgs/acme").await;
    assert_eq!((bare.status, bare.header("retry-after")), (403, None));
    assert!(bare.body["message"].as_str().is_some_and(|m| m.contains("secondary rate limit")));

    standin.inject_fault(json!({"kind": "403-primary", "count": 1, "reset_in": 1})).await;
    let primary = gh.get("/orgs/acme").await;
    assert_eq!((primary.status, primary.header("x-ratelimit-remaining")), (403, Some("0")));
    standin.inject_fault(json!({"kind": "429", "count": 1, "reset_in": 1})).await;
    // The primary fault holds until its reset: wait for the 429 fault's own answer.
    let start = Instant::now();
    let throttled = loop {
        assert!(start.elapsed() < Duration::from_secs(5), "the primary fault never reset");
        let answer = gh.get("/orgs/acme").await;
        if answer.status != 403 {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("retry-after").is_some());
    let start = Instant::now();
    while gh.get("/orgs/acme").await.status != 200 {
        assert!(start.elapsed() < Duration::from_secs(5), "the 429 never reset");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    standin.inject_fault(json!({"kind": "malformed", "count": 1})).await;
    let malformed = gh.get("/orgs/acme/members").await;
    assert_eq!(malformed.status, 200);
    assert!(serde_json::from_str::<Value>(&malformed.text).is_err(), "{}", malformed.text);

    // A dropped connection whose write still happened: the invitation exists.
    standin.inject_fault(json!({"kind": "drop", "count": 1, "method": "POST", "performed": true})).await;
    let dropped = gh.send(reqwest::Method::POST, "/orgs/acme/invitations", Some(json!({"email": "d@acme.io"})), &[]).await;
    assert!(dropped.is_err(), "the connection closes with no answer");
    assert_eq!(standin.state().await["invitations"][0]["email"], "d@acme.io");

    standin.inject_fault(json!({"kind": "timeout", "count": 1, "delay": 2})).await;
    let slow = reqwest::Client::builder().timeout(Duration::from_millis(500)).user_agent("rolecall-standin-tests").build().expect("client");
    let timed_out = slow
        .get(format!("{}/orgs/acme", standin.base_url()))
        .bearer_auth(&standin.token)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await;
    assert!(timed_out.is_err_and(|e| e.is_timeout()));

    let faults: Vec<String> = standin.calls().await.iter().filter_map(|c| c.fault.clone()).collect();
    assert_eq!(
        faults,
        vec!["500", "502", "403-secondary", "403-secondary-no-header", "403-primary", "429", "malformed", "drop", "timeout"]
    );
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn exposed_emails_show_on_members_and_seeded_teams_list() {
    let standin = GitHubStandIn::start(StandInOptions { expose_emails: true, teams: vec!["design".into()], ..Default::default() }).await;
    standin.seed_member("carol", "carol@acme.io", "admin", &[("design", "maintainer")]).await;
    let gh = Client::new(&standin);
    let members = gh.get("/orgs/acme/members?role=admin&per_page=100").await;
    assert_eq!(members.body[0]["email"], "carol@acme.io", "{}", members.text);
    assert_eq!(gh.get("/orgs/acme/members?role=member&per_page=100").await.body, json!([]));
    let maintainers = gh.get("/orgs/acme/teams/design/members?role=maintainer").await;
    assert_eq!(maintainers.body[0]["login"], "carol");
    let membership = gh.get("/orgs/acme/teams/design/memberships/carol").await;
    assert_eq!(membership.body["role"], "maintainer");
    assert_eq!(gh.get("/users/carol").await.body["login"], "carol");
    assert_eq!(gh.get("/users/nobody").await.status, 404);
    let removed = gh.send(reqwest::Method::DELETE, "/orgs/acme/teams/design/memberships/carol", None, &[]).await.expect("DELETE");
    assert_eq!(removed.status, 204);
    assert_eq!(standin.state().await["teams"]["design"]["members"], json!({}));
    standin.assert_all_valid().await;
}

#[tokio::test]
async fn every_vendored_operation_is_served_and_validates() {
    let standin = GitHubStandIn::start(StandInOptions { teams: vec!["design".into()], ..Default::default() }).await;
    standin.seed_member("carol", "carol@acme.io", "member", &[("design", "member")]).await;
    let gh = Client::new(&standin);
    let invitation = gh.post("/orgs/acme/invitations", json!({"email": "ann@acme.io", "role": "direct_member"})).await;
    let id = invitation.body["id"].as_i64().expect("id");
    let answers = vec![
        gh.get("/orgs/acme").await.status,
        gh.get("/orgs/acme/members?role=member&per_page=100").await.status,
        gh.get("/orgs/acme/memberships/carol").await.status,
        gh.put("/orgs/acme/memberships/carol", json!({"role": "admin"})).await.status,
        gh.get("/orgs/acme/invitations?per_page=100").await.status,
        gh.get("/orgs/acme/failed_invitations?per_page=100").await.status,
        gh.send(reqwest::Method::DELETE, &format!("/orgs/acme/invitations/{id}"), None, &[]).await.expect("DELETE").status,
        gh.get("/orgs/acme/teams?per_page=100").await.status,
        gh.get("/orgs/acme/teams/design/members?role=member&per_page=100").await.status,
        gh.get("/orgs/acme/teams/design/memberships/carol").await.status,
        gh.put("/orgs/acme/teams/design/memberships/carol", json!({"role": "maintainer"})).await.status,
        gh.send(reqwest::Method::DELETE, "/orgs/acme/teams/design/memberships/carol", None, &[]).await.expect("DELETE").status,
        gh.get("/users/carol").await.status,
        gh.get("/rate_limit").await.status,
        gh.send(reqwest::Method::DELETE, "/orgs/acme/memberships/carol", None, &[]).await.expect("DELETE").status,
        // No App is installed on this stand-in: the token is no App JWT. (The App's
        // 201 is validated in github_connector's App test.)
        gh.post("/app/installations/42/access_tokens", json!({})).await.status,
    ];
    assert_eq!(answers, vec![200, 200, 200, 200, 200, 200, 204, 200, 200, 200, 200, 204, 200, 200, 204, 401]);
    let description = standin.description().await;
    assert_eq!(description["source"]["package"], "@octokit/openapi");
    let used = standin.operations_used().await;
    assert_eq!(Some(used.len() as u64), description["operations"].as_u64(), "{used:?}");
    assert_eq!(used.len(), 17);
    standin.assert_all_valid().await;
}
