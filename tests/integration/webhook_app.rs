//! The reference webhook connector (examples/webhook-connector/connector.py) as
//! a child process on a free loopback port, with its own SQLite app, and its
//! back office (`/admin/*`): accept an invitation, read every row, inject faults,
//! read the request log.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The shared secret the tests sign with (the value `harness::secret` writes into every Secret).
pub const SECRET: &str = "test-value";

pub struct WebhookApp {
    child: Child,
    /// `http://127.0.0.1:PORT`, the connector's base URL.
    pub url: String,
    http: reqwest::Client,
}

impl Drop for WebhookApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WebhookApp {
    /// A reference connector; `flags` are more of its command-line flags (`--broken paging`, `--without assets`).
    pub fn start(flags: &[&str]) -> WebhookApp {
        let root = env!("CARGO_MANIFEST_DIR");
        let dir = std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into());
        let db = format!("{dir}/webhook-app-{}.db", uuid::Uuid::new_v4().simple());
        let log = std::fs::File::create(format!("{db}.log")).expect("log file");
        let mut child = Command::new("python3")
            .arg(format!("{root}/examples/webhook-connector/connector.py"))
            .args(["--port", "0", "--db", &db, "--secret", SECRET, "--admin"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python3 starts the reference connector");
        // Its first line names the port it took.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("the connector's first line");
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
        WebhookApp { child, url, http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client") }
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the back office answers");
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.expect("json")
    }

    /// Every row of the app, deactivated ones included.
    pub async fn accounts(&self) -> Vec<Value> {
        self.admin(reqwest::Method::GET, "/admin/accounts", None).await["accounts"].as_array().cloned().unwrap_or_default()
    }

    /// The rows with `email`.
    pub async fn accounts_of(&self, email: &str) -> Vec<Value> {
        self.accounts().await.into_iter().filter(|a| a["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email))).collect()
    }

    /// The person accepts the invitation; returns how many were accepted.
    pub async fn accept(&self, email: &str) -> u64 {
        self.admin(reqwest::Method::POST, "/admin/accept", Some(json!({"email": email}))).await["accepted"].as_u64().unwrap_or(0)
    }

    /// The invitation bounces (`expired`: it expired unaccepted); returns how many failed.
    pub async fn fail(&self, email: &str, reason: &str, expired: bool) -> u64 {
        let body = json!({"email": email, "reason": reason, "expired": expired});
        self.admin(reqwest::Method::POST, "/admin/fail", Some(body)).await["failed"].as_u64().unwrap_or(0)
    }

    /// The next `count` requests matching `matching` ("METHOD /path-prefix") get `fault`
    /// (`{"kind": "rate_limited", "retry_after": 2}`, `{"kind": "server_error"}`, `{"kind": "malformed"}`,
    /// `{"kind": "delay", "seconds": 5}`).
    pub async fn fault(&self, matching: &str, count: u32, mut fault: Value) {
        fault["match"] = json!(matching);
        fault["count"] = json!(count);
        self.admin(reqwest::Method::POST, "/admin/faults", Some(fault)).await;
    }

    /// Every /v1 request answered so far: method, path, status, operation_id.
    pub async fn requests(&self) -> Vec<Value> {
        self.admin(reqwest::Method::GET, "/admin/requests", None).await["requests"].as_array().cloned().unwrap_or_default()
    }
}
