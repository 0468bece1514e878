//! A person's view of `rolecall ui`: the server as a child process, and
//! Debian's headless Chromium loading its pages (`--dump-dom` for the DOM as
//! rendered, `--screenshot` for a picture). `make browser` installs Chromium;
//! without it these tests fail and say so.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{rolecall_bin, wait_for};
use crate::http::{Response, request};

/// The Debian package's binary.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Chromium is killed after this long (`timeout`), so a hung browser fails the test instead of hanging it.
const BROWSER_LIMIT_SECS: &str = "90";

/// `rolecall ui` as a child process, killed on drop.
pub struct UiServer {
    child: Child,
    pub addr: SocketAddr,
}

impl UiServer {
    /// `rolecall ui` reading the API as `kubeconfig`'s identity, with `extra` flags.
    pub async fn start(kubeconfig: &str, extra: &[&str]) -> UiServer {
        let port = free_port();
        UiServer::spawn(kubeconfig, port, &[&["--port", &port.to_string()], extra].concat()).await
    }

    /// `rolecall ui --in-cluster` on 127.0.0.1, its own identity (the cache's) `kubeconfig`'s.
    pub async fn start_in_cluster(kubeconfig: &str, extra: &[&str]) -> UiServer {
        let port = free_port();
        UiServer::spawn(kubeconfig, port, &[&["--in-cluster", "--listen", &format!("127.0.0.1:{port}")], extra].concat()).await
    }

    async fn spawn(kubeconfig: &str, port: u16, args: &[&str]) -> UiServer {
        let log = std::fs::File::create(format!("{}/ui-{port}.log", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into())))
            .expect("ui log file");
        let child = Command::new(rolecall_bin())
            .arg("ui")
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,rolecall=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("rolecall ui starts");
        let server = UiServer { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
        let addr = server.addr;
        wait_for(Duration::from_secs(30), "rolecall ui to answer /healthz", || async move {
            request(addr, "GET", "/healthz", &[], None).is_ok_and(|r| r.status == 200)
        })
        .await;
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The status and body of one request (not through the browser).
    pub fn fetch(&self, method: &str, path: &str) -> (u16, String) {
        let r = self.fetch_with(method, path, &[], None);
        (r.status, r.body)
    }

    /// One request with headers and a body: the whole answer.
    pub fn fetch_with(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Response {
        request(self.addr, method, path, headers, body).expect("rolecall ui answers")
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium(args: &[&str]) -> (std::process::Output, Duration) {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run `make browser` (apt-get install chromium), which `make integration` runs first"
    );
    // A profile per run: two Chromiums never share one (it refuses a profile in use).
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("rolecall-chromium-{}-{run}", std::process::id()));
    let started = Instant::now();
    let out = Command::new("timeout")
        .args([BROWSER_LIMIT_SECS, CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs");
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    (out, took)
}

/// The DOM Chromium rendered for `url`, and how long the browser took, start to exit.
pub fn dump_dom_timed(url: &str) -> (String, Duration) {
    let (out, took) = chromium(&["--dump-dom", url]);
    (String::from_utf8_lossy(&out.stdout).to_string(), took)
}

pub fn dump_dom(url: &str) -> String {
    dump_dom_timed(url).0
}

/// Saves a PNG of `url` at `width`x`height` to `path`.
pub fn screenshot(url: &str, path: &str, width: u32, height: u32) {
    chromium(&[&format!("--screenshot={path}"), &format!("--window-size={width},{height}"), url]);
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "{path} is {size} bytes: not a page");
}

/// The part of `html` from the element with `id` to the end of its `</tag>`.
pub fn element<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
    let start = html
        .find(&format!(" id=\"{id}\""))
        .and_then(|at| html[..at].rfind(&format!("<{tag}")))
        .unwrap_or_else(|| panic!("no <{tag} id={id:?}> in the page:\n{html}"));
    let rest = &html[start..];
    let end = rest.find(&format!("</{tag}>")).map_or(rest.len(), |e| e + tag.len() + 3);
    &rest[..end]
}

/// The `data-account` rows of the accounts table, in order: their emails.
pub fn account_emails(html: &str) -> Vec<String> {
    element(html, "table", "accounts")
        .split("<span class=\"email\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap_or("").to_string())
        .collect()
}
