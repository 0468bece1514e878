//! The integration harness: a real kube-apiserver started by `testenv/up.sh`
//! (via `make integration`), the CRDs applied once, and the operator run as
//! a real process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// `rolecall operator` as a child process, killed on drop.
pub struct Operator {
    child: Child,
    pub metrics_addr: SocketAddr,
    pub identity: String,
}

impl Operator {
    pub fn start(ns: &str, lease: &str, identity: &str, extra: &[&str]) -> Operator {
        let metrics_addr = free_addr();
        let log = std::fs::File::create(format!(
            "{}/operator-{ns}-{identity}.log",
            std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into())
        ))
        .expect("operator log file");
        let child = Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .args(["operator", "--namespace", ns, "--lease-name", lease, "--identity", identity])
            .args(["--metrics-addr", &metrics_addr.to_string()])
            .args(extra)
            .env("KUBECONFIG", kubeconfig())
            .env("RUST_LOG", "info,rolecall=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("operator starts");
        Operator { child, metrics_addr, identity: identity.into() }
    }

    /// SIGKILL: no clean shutdown, no Lease release.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The /metrics exposition text, or empty when the server is not up.
    pub fn metrics(&self) -> String {
        http_get(self.metrics_addr, "/metrics").unwrap_or_default()
    }

    /// The value of one sample (exact series text before the value), summed if repeated.
    pub fn metric(&self, series_prefix: &str) -> f64 {
        self.metrics().lines().filter(|l| l.starts_with(series_prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    Some(body)
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
