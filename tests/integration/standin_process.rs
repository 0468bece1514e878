//! An app stand-in as a child process (`tests/APP/standin.py`, built on
//! `tests/standin_kit.py`): started on two free loopback ports, waited for
//! until it says `ready`, driven through its admin port, and killed on drop.
//! The GitHub, Meta and TikTok stand-ins (`*_standin.rs`) wrap one each and
//! add their app's admin routes.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long a stand-in may take to say `ready`, and an admin call to answer.
const PATIENCE: Duration = Duration::from_secs(30);

pub struct StandInProcess {
    child: Child,
    /// The app's API.
    pub addr: SocketAddr,
    /// The admin port (plain JSON: calls, state, faults, the world's doings).
    pub admin: SocketAddr,
    client: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// The Python that runs the stand-ins: `.venv` (`make venv`; the GitHub one needs
/// its OpenAPI validators), else the system's (the others need the standard library only).
pub fn python() -> String {
    let venv = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    if std::path::Path::new(&venv).exists() { venv } else { "python3".into() }
}

pub fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64()
}

impl StandInProcess {
    /// Starts `tests/{app}/standin.py --port P --admin-port A` with `args` after
    /// them; its stderr goes to `{app}-standin-{P}.log` in `$ROLECALL_TESTENV`
    /// (else /tmp). Panics if it has not said `ready` within 30 s.
    pub async fn start(app: &str, args: &[String]) -> StandInProcess {
        let root = env!("CARGO_MANIFEST_DIR");
        let (port, admin_port) = (free_port(), free_port());
        let log_name = format!("{app}-standin-{port}.log");
        let log = std::fs::File::create(format!("{}/{log_name}", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into())))
            .expect("log file");
        let python = python();
        let mut child = Command::new(&python)
            .arg(format!("{root}/tests/{app}/standin.py"))
            .args(["--port", &port.to_string(), "--admin-port", &admin_port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("the {app} stand-in starts with {python}: {e}"));
        // It prints `ready` once both ports listen; a thread reads it so a stand-in
        // that never says it cannot hang the test.
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = tokio::task::spawn_blocking(move || rx.recv_timeout(PATIENCE)).await.expect("join").unwrap_or_default();
        assert_eq!(line.trim(), "ready", "the {app} stand-in did not start ({python}): see {log_name}");
        StandInProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            admin: SocketAddr::from(([127, 0, 0, 1], admin_port)),
            client: reqwest::Client::builder().timeout(PATIENCE).build().expect("client"),
        }
    }

    /// `http://` and the app port.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One admin call: its status and JSON answer (`null` if it has none).
    pub async fn admin_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("http://{}{path}", self.admin));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin port answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// An admin POST that must succeed (2xx); its answer.
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.admin_call(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "admin POST {path}: {status} {answer}");
        answer
    }

    /// An admin GET's answer.
    pub async fn admin_get(&self, path: &str) -> Value {
        self.admin_call(reqwest::Method::GET, path, None).await.1
    }

    /// Every call on the app port so far, in order, in the app's record shape.
    pub async fn calls<C: DeserializeOwned>(&self) -> Vec<C> {
        serde_json::from_value(self.admin_get("/calls").await).expect("calls parse")
    }

    pub async fn clear_calls(&self) {
        self.admin_call(reqwest::Method::DELETE, "/calls", None).await;
    }

    /// The app's state as the stand-in holds it (its shape is the app's).
    pub async fn state(&self) -> Value {
        self.admin_get("/state").await
    }
}

impl Drop for StandInProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
