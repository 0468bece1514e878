//! The integration harness: a real kube-apiserver started by `testenv/up.sh`
//! (via `make integration`), the CRDs applied once, and the operator run as
//! a real process.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, Client};

/// The kubeconfig of the test control plane; the suite refuses to run against anything else.
pub fn kubeconfig() -> String {
    std::env::var("ROLECALL_TESTENV")
        .expect("ROLECALL_TESTENV is unset: run the integration suite with `make integration`, which starts a real control plane");
    std::env::var("KUBECONFIG").expect("KUBECONFIG is unset: run the integration suite with `make integration`")
}

pub fn kubectl() -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::new(format!("{root}/testenv/bin/kubectl"));
    cmd.env("KUBECONFIG", kubeconfig());
    cmd
}

/// Runs kubectl and returns (success, stdout + stderr).
pub fn kubectl_output(args: &[&str]) -> (bool, String) {
    let out = kubectl().args(args).output().expect("kubectl runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Applies `crds/` once per test process and waits until every CRD is Established.
pub fn install_crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let (ok, out) = kubectl_output(&["apply", "--server-side", "-f", &format!("{root}/crds")]);
        assert!(ok, "applying crds/ failed: {out}");
        let (ok, out) = kubectl_output(&["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
        assert!(ok, "CRDs not established: {out}");
    });
}

pub async fn client() -> Client {
    kubeconfig();
    install_crds();
    Client::try_default().await.expect("client from the test kubeconfig")
}

/// Creates a fresh namespace for one test.
pub async fn namespace(client: &Client, name: &str) -> String {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
    wait_for(Duration::from_secs(60), "old namespace to go", || async { api.get_opt(name).await.ok().flatten().is_none() }).await;
    let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
    api.create(&PostParams::default(), &ns).await.expect("namespace created");
    name.to_string()
}

pub async fn secret(client: &Client, ns: &str, name: &str, key: &str) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = Secret {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        string_data: Some([(key.to_string(), "test-value".to_string())].into()),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret).await.expect("secret created");
}

/// Polls `check` every 200 ms until it holds; panics with `what` after `limit`.
pub async fn wait_for<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// The log filter of the processes a test starts: debug unless
/// `ROLECALL_TEST_LOG` says otherwise (the benchmarks run at info).
fn log_filter() -> String {
    std::env::var("ROLECALL_TEST_LOG").unwrap_or_else(|_| "info,rolecall=debug".into())
}

/// The `rolecall` binary the harness starts: the one cargo built for this
/// test, unless ROLECALL_BIN names another (a benchmark comparing two builds).
pub fn rolecall_bin() -> String {
    std::env::var("ROLECALL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rolecall").to_string())
}

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// `rolecall operator` as a child process, killed on drop.
pub struct Operator {
    child: Child,
    pub metrics_addr: SocketAddr,
    pub identity: String,
    log: String,
}

impl Operator {
    pub fn start(ns: &str, lease: &str, identity: &str, extra: &[&str]) -> Operator {
        Self::start_as(&kubeconfig(), ns, lease, identity, extra)
    }

    /// An operator that reaches the API server with `kubeconfig`'s identity
    /// (a service account's minted token, say) instead of the admin's.
    pub fn start_as(kubeconfig: &str, ns: &str, lease: &str, identity: &str, extra: &[&str]) -> Operator {
        let metrics_addr = free_addr();
        let log_path = format!("{}/operator-{ns}-{identity}.log", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into()));
        let log = std::fs::File::create(&log_path).expect("operator log file");
        let child = Command::new(rolecall_bin())
            .args(["operator", "--namespace", ns, "--lease-name", lease, "--identity", identity])
            .args(["--metrics-addr", &metrics_addr.to_string()])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", log_filter())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("operator starts");
        Operator { child, metrics_addr, identity: identity.into(), log: log_path }
    }

    /// Where its log goes.
    pub fn log_path(&self) -> &str {
        &self.log
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no clean shutdown, no Lease release.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The /metrics exposition text, or empty when the server is not up.
    pub fn metrics(&self) -> String {
        crate::http::request(self.metrics_addr, "GET", "/metrics", &[], None).map(|r| r.body).unwrap_or_default()
    }

    /// The value of one sample (exact series text before the value), summed if
    /// repeated. Panics when no series matches: a missing series is a broken
    /// test or a broken exporter, never a zero.
    pub fn metric(&self, series_prefix: &str) -> f64 {
        let text = self.metrics();
        let values: Vec<f64> =
            text.lines().filter(|l| l.starts_with(series_prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).collect();
        assert!(!values.is_empty(), "no metric series starts with {series_prefix:?}; the exposition was:\n{text}");
        values.iter().sum()
    }

    /// Whether no series of this metric exists, in an exposition that was read
    /// (an unreachable exporter fails instead of counting as "absent").
    pub fn series_absent(&self, series_prefix: &str) -> bool {
        let text = self.metrics();
        assert!(text.contains("rolecall_reconciles_total"), "the operator's /metrics did not answer: {text:?}");
        !text.lines().any(|l| l.starts_with(series_prefix))
    }

    /// Waits until the operator has read its apps back `n` more times: the event
    /// a test waits for before asserting that something did not happen.
    pub async fn wait_read_backs(&self, n: u32) {
        let series = "rolecall_connector_reads_total";
        // A fresh operator: its exporter and first read-back come first.
        wait_for(Duration::from_secs(60), "the first read-back", || async { self.metrics().lines().any(|l| l.starts_with(series)) }).await;
        let start = self.metric(series);
        wait_for(Duration::from_secs(60), &format!("{n} more read-backs"), || async { self.metric(series) >= start + f64::from(n) }).await;
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process's resident memory as the kernel counts it: VmRSS (now) and VmHWM
/// (the peak), in KiB, from `/proc/PID/status`; `None` when it cannot be read.
#[allow(dead_code)] // the benchmark's
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// `kubectl apply -f -` of a YAML document; returns (success, output).
pub fn kubectl_apply(yaml: &str) -> (bool, String) {
    let mut child = kubectl()
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    child.stdin.take().expect("stdin").write_all(yaml.as_bytes()).expect("write yaml");
    let out = child.wait_with_output().expect("kubectl finishes");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `rolecall scim` as a child process, killed on drop, with a tiny HTTP client.
pub struct Sidecar {
    /// None for a handle made by `with_token`, which does not own the process.
    child: Option<Child>,
    pub addr: SocketAddr,
    token: String,
}

impl Sidecar {
    /// A sidecar serving one namespace.
    pub async fn start(ns: &str, token: &str) -> Sidecar {
        Self::spawn(&kubeconfig(), &["--namespace", ns], ns, token).await
    }

    /// A sidecar serving one namespace that reaches the API server with `kubeconfig`'s identity.
    pub async fn start_as(kubeconfig: &str, ns: &str, token: &str) -> Sidecar {
        Self::spawn(kubeconfig, &["--namespace", ns], ns, token).await
    }

    /// A sidecar serving one namespace, with extra flags.
    pub async fn start_with(ns: &str, token: &str, flags: &[&str]) -> Sidecar {
        let mut args = vec!["--namespace", ns];
        args.extend_from_slice(flags);
        Self::spawn(&kubeconfig(), &args, ns, token).await
    }

    /// A sidecar serving every namespace (the `namespaces` only name its log file).
    pub async fn start_all(namespaces: &[&str], token: &str) -> Sidecar {
        Self::spawn(&kubeconfig(), &[], &namespaces.join("+"), token).await
    }

    /// A sidecar serving every namespace, with extra flags (the benchmark's).
    #[allow(dead_code)]
    pub async fn start_all_with(label: &str, token: &str, flags: &[&str]) -> Sidecar {
        Self::spawn(&kubeconfig(), flags, label, token).await
    }

    /// A sidecar serving HTTPS for one namespace; it is only started, not probed.
    pub async fn start_tls(ns: &str, cert: &str, key: &str) -> Sidecar {
        let addr = free_addr();
        let child = Command::new(rolecall_bin())
            .args(["scim", "--listen", &addr.to_string(), "--namespace", ns, "--tls-cert", cert, "--tls-key", key, "--token-refresh", "1s"])
            .env("KUBECONFIG", kubeconfig())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sidecar starts");
        Sidecar { child: Some(child), addr, token: String::new() }
    }

    async fn spawn(kubeconfig: &str, extra: &[&str], label: &str, token: &str) -> Sidecar {
        let addr = free_addr();
        let log =
            std::fs::File::create(format!("{}/scim-{label}.log", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into())))
                .expect("sidecar log file");
        let child = Command::new(rolecall_bin())
            .args(["scim", "--listen", &addr.to_string(), "--token-refresh", "1s", "--status-interval", "1s"])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", log_filter())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sidecar starts");
        let sidecar = Sidecar { child: Some(child), addr, token: token.into() };
        wait_for(Duration::from_secs(30), "the SCIM sidecar to be ready", || async {
            crate::http::request(addr, "GET", "/readyz", &[], None).is_ok_and(|r| r.status == 200)
        })
        .await;
        // The token Secret may be read a moment after the directory is ready.
        wait_for(Duration::from_secs(30), "the token to be accepted", || async { sidecar.get("/ServiceProviderConfig").await.0 == 200 })
            .await;
        sidecar
    }

    /// The same sidecar, called with another token.
    pub fn with_token(&self, token: &str) -> Sidecar {
        Sidecar { child: None, addr: self.addr, token: token.into() }
    }

    /// A handle on the same sidecar and token that does not own the process (to call it from another thread).
    pub fn handle(&self) -> Sidecar {
        self.with_token(&self.token)
    }

    /// The process id, for a test that SIGKILLs it at a moment of its choosing.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A request that may get no answer (the sidecar died): `None` then, as an IdP sees a dropped connection.
    pub fn try_send(&self, method: &str, path: &str, body: &serde_json::Value) -> Option<(u16, serde_json::Value)> {
        let auth = format!("Bearer {}", self.token);
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/scim+json"), ("Accept", "application/scim+json")];
        let body = (!body.is_null()).then(|| body.to_string());
        crate::http::request(self.addr, method, &format!("/scim/v2{path}"), &headers, body.as_deref())
            .ok()
            .map(|answer| (answer.status, answer.json()))
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.request("GET", path, None, None)
    }

    pub async fn send(&self, method: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let body = (!body.is_null()).then(|| body.to_string());
        self.request(method, path, body.as_deref(), None)
    }

    pub async fn send_if_match(&self, method: &str, path: &str, etag: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.request(method, path, Some(&body.to_string()), Some(etag))
    }

    fn request(&self, method: &str, path: &str, body: Option<&str>, if_match: Option<&str>) -> (u16, serde_json::Value) {
        let (status, body, _) = self.exchange(method, path, body, if_match);
        (status, body)
    }

    /// Status, JSON body and the raw header block.
    pub fn request_full(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value, String) {
        self.exchange(method, path, body, None)
    }

    /// Sends only the head of a request that declares `length` body bytes, and
    /// reads the answer: how a client meets a server that refuses a body by its
    /// declared size. (Sending megabytes the server will not read makes it close
    /// with unread data, and the kernel's reset can destroy the answer.)
    pub fn declare_body(&self, method: &str, path: &str, length: usize) -> (u16, serde_json::Value) {
        let length = length.to_string();
        let auth = format!("Bearer {}", self.token);
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/scim+json"), ("Content-Length", length.as_str())];
        let answer = crate::http::request(self.addr, method, &format!("/scim/v2{path}"), &headers, None).expect("the sidecar answers");
        (answer.status, answer.json())
    }

    fn exchange(&self, method: &str, path: &str, body: Option<&str>, if_match: Option<&str>) -> (u16, serde_json::Value, String) {
        let auth = format!("Bearer {}", self.token);
        let mut headers =
            vec![("Authorization", auth.as_str()), ("Content-Type", "application/scim+json"), ("Accept", "application/scim+json")];
        if let Some(etag) = if_match {
            headers.push(("If-Match", etag));
        }
        let answer = crate::http::request(self.addr, method, &format!("/scim/v2{path}"), &headers, Some(body.unwrap_or("")))
            .expect("the sidecar answers");
        (answer.status, answer.json(), answer.head)
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `kubectl auth can-i VERB RESOURCE --as WHO` (in `ns`, or across namespaces when
/// empty; on subresource `sub` when not empty): whether the API server allows it.
/// An answer that is neither yes nor no fails the test.
pub fn can_i(who: &str, verb: &str, resource: &str, sub: &str, ns: &str) -> bool {
    let mut args = vec!["auth", "can-i", verb, resource, "--as", who];
    if ns.is_empty() {
        args.push("--all-namespaces");
    } else {
        args.extend(["-n", ns]);
    }
    if !sub.is_empty() {
        args.extend(["--subresource", sub]);
    }
    let (allowed, out) = kubectl_output(&args);
    let answer = out.trim();
    assert!(answer.starts_with("yes") || answer.starts_with("no"), "kubectl auth can-i {args:?}: {answer}");
    allowed
}
