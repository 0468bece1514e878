//! A recording HTTP proxy between the operator and an app: it counts every
//! request the app receives (with when it arrived and what was answered), can
//! answer chosen requests itself as a throttling or failing app would (429,
//! 503 with `Retry-After` or rate-limit reset headers), can misbehave as a bad
//! network or a broken app does (hold a request past the caller's timeout,
//! drop the connection before or after the app made the change, answer a body
//! that is not JSON or breaks off), and can SIGKILL the operator right after
//! the app has answered a chosen call and before the operator sees the answer,
//! the worst moment for a crash (the call happened, nothing recorded it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the app received: method and path (with query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
    /// When the request reached the proxy.
    pub at: Instant,
    /// The status it was answered with (0 when the answer never came).
    pub status: u16,
    /// When that answer was sent back (the proxy's own answers: before the operator can read them).
    pub answered_at: Instant,
    /// The fault the proxy put on this request, if any.
    pub fault: Option<Fault>,
    /// Whether the app received the request (a fault may stop it on the way, or not).
    pub forwarded: bool,
}

impl Seen {
    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// Which request an injected answer is for.
pub type Matcher = Box<dyn Fn(&str, &str) -> bool + Send>;

/// What the proxy does to a request instead of relaying it plainly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers `status` itself, with these headers, without passing the request on.
    Status { status: u16, headers: Vec<(String, String)> },
    /// Never answers: holds the connection until the caller gives up (its
    /// timeout). When `forwarded`, the app got the request first and made the change.
    Hold { forwarded: bool },
    /// Closes the connection without an answer: before passing the request on,
    /// or after the app made the change (the caller never hears of it).
    Drop { forwarded: bool },
    /// Passes the request on, then answers the app's status with the first half
    /// of its body as the whole body: a 200/201 whose JSON does not parse.
    NotJson,
    /// Passes the request on, then announces the app's whole body and sends
    /// half of it before closing: an answer that breaks off.
    Truncated,
    /// Answers 429 itself, naming the time to come back, `secs` from the moment
    /// it answers, in one of the headers apps use for it.
    RateLimit { header: ResetHeader, secs: u64 },
}

/// How an app says when to come back after a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetHeader {
    /// `X-RateLimit-Reset`: a Unix time (GitHub and many others).
    XRateLimitReset,
    /// `RateLimit-Reset`: seconds from now (the IETF draft).
    RateLimitReset,
    /// `Retry-After` as an HTTP-date.
    RetryAfterDate,
}

impl ResetHeader {
    /// The header line for a wait of `secs` from now.
    fn line(self, secs: u64) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
        match self {
            ResetHeader::XRateLimitReset => format!("X-RateLimit-Reset: {}", now + secs),
            ResetHeader::RateLimitReset => format!("RateLimit-Reset: {secs}"),
            ResetHeader::RetryAfterDate => {
                let at = k8s_openapi::jiff::Timestamp::from_second((now + secs) as i64).expect("a time");
                let date = k8s_openapi::jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).expect("an HTTP-date");
                format!("Retry-After: {date}")
            }
        }
    }
}

impl Fault {
    /// A status answer with a `Retry-After`, or none.
    pub fn status(status: u16, retry_after: Option<&str>) -> Fault {
        Fault::Status { status, headers: retry_after.map(|v| vec![("Retry-After".to_string(), v.to_string())]).unwrap_or_default() }
    }

    /// A short name for counting faults by kind.
    pub fn kind(&self) -> String {
        match self {
            Fault::Status { status, headers } => match headers.first() {
                Some((name, _)) => format!("{status} {name}"),
                None => status.to_string(),
            },
            Fault::Hold { forwarded: false } => "timeout".into(),
            Fault::Hold { forwarded: true } => "timeout after the app".into(),
            Fault::Drop { forwarded: false } => "dropped".into(),
            Fault::Drop { forwarded: true } => "dropped after the app".into(),
            Fault::NotJson => "not JSON".into(),
            Fault::Truncated => "truncated".into(),
            Fault::RateLimit { header, .. } => format!("429 {header:?}"),
        }
    }

    fn forwards(&self) -> bool {
        !matches!(
            self,
            Fault::Status { .. } | Fault::RateLimit { .. } | Fault::Hold { forwarded: false } | Fault::Drop { forwarded: false }
        )
    }
}

/// A fault to put on a request, once.
struct Injected {
    matches: Matcher,
    fault: Fault,
}

#[derive(Default)]
struct Shared {
    seen: Vec<Seen>,
    /// Kill this process after the next request matching (method, path suffix) is answered by the app.
    kill: Option<(String, String, u32)>,
    kills: usize,
    inject: Vec<Injected>,
    /// Faults given at a rate: every `n`th request gets the next one, until none are left.
    every: Option<(usize, std::collections::VecDeque<Injected>)>,
    requests: usize,
}

pub struct RecordingProxy {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl RecordingProxy {
    pub fn start(upstream: SocketAddr) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || relay(stream, upstream, &state));
            }
        });
        RecordingProxy { addr, shared }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Requests that change something in the app.
    pub fn writes(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.method != "GET").collect()
    }

    /// SIGKILL `pid` once the app has answered the next `method` whose path ends with `path_suffix`.
    pub fn kill_after(&self, method: &str, path_suffix: &str, pid: u32) {
        self.lock().kill = Some((method.to_string(), path_suffix.to_string(), pid));
    }

    /// Answers the next request that `matches(method, path)` accepts with `status`
    /// (and `Retry-After: retry_after`) without passing it to the app.
    pub fn answer_next(&self, matches: Matcher, status: u16, retry_after: Option<&str>) {
        self.lock().inject.push(Injected { matches, fault: Fault::status(status, retry_after) });
    }

    /// Answers every `n`th request from now on with the next of `faults` (status,
    /// `Retry-After`) instead of passing it to the app, until they are all given.
    pub fn answer_every(&self, n: usize, faults: Vec<(u16, Option<&str>)>) {
        self.fault_every(n, faults.into_iter().map(|(status, retry_after)| Fault::status(status, retry_after)).collect());
    }

    /// Puts `fault` on the next request that `matches(method, path)` accepts.
    pub fn fault_next(&self, matches: Matcher, fault: Fault) {
        self.lock().inject.push(Injected { matches, fault });
    }

    /// Puts the next of `faults` on every `n`th request from now on, until they are all given.
    pub fn fault_every(&self, n: usize, faults: Vec<Fault>) {
        let faults = faults.into_iter().map(|fault| Injected { matches: Box::new(|_, _| true), fault }).collect();
        let mut s = self.lock();
        s.requests = 0;
        s.every = Some((n.max(1), faults));
    }

    /// Injected answers not given yet.
    pub fn injections_left(&self) -> usize {
        let s = self.lock();
        s.inject.len() + s.every.as_ref().map_or(0, |(_, faults)| faults.len())
    }

    /// How many requests so far `matches` accepts, without copying them all.
    #[allow(dead_code)] // the benchmarks' own
    pub fn count(&self, matches: impl Fn(&Seen) -> bool) -> usize {
        self.lock().seen.iter().filter(|s| matches(s)).count()
    }

    pub fn kills(&self) -> usize {
        self.lock().kills
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One request per client connection: read it, send it upstream with
/// `Connection: close`, pass the answer back verbatim (or kill, and drop it).
fn relay(client: TcpStream, upstream: SocketAddr, shared: &Mutex<Shared>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(client);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if request_line.is_empty() {
            request_line = line.trim_end().to_string();
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") {
            continue;
        }
        head.extend_from_slice(line.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body_bytes = vec![0; content_length];
    if reader.read_exact(&mut body_bytes).is_err() {
        return;
    }
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let at = Instant::now();

    let injected = {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        s.requests += 1;
        let requests = s.requests;
        let hit = s.inject.iter().position(|i| (i.matches)(&method, &path));
        match hit {
            Some(i) => Some(s.inject.remove(i)),
            None => match &mut s.every {
                Some((n, faults)) if requests.is_multiple_of(*n) => faults.pop_front(),
                _ => None,
            },
        }
    };
    let body = String::from_utf8_lossy(&body_bytes).to_string();
    let record = |status: u16, fault: Option<Fault>, forwarded: bool| {
        let seen = Seen {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
            at,
            status,
            answered_at: Instant::now(),
            fault,
            forwarded,
        };
        shared.lock().unwrap_or_else(|p| p.into_inner()).seen.push(seen);
    };
    let mut client = reader.into_inner();
    if let Some(Injected { fault, .. }) = injected {
        // The app's answer, when the fault lets the request through.
        let answer = if fault.forwards() { forward(upstream, &head, &body_bytes) } else { None };
        if fault.forwards() && answer.is_none() {
            return;
        }
        let answer = answer.unwrap_or_default();
        let (app_head, app_body) = split_answer(&answer);
        let (status, headers) = match &fault {
            Fault::Status { status, headers } => (*status, headers.iter().map(|(name, value)| format!("{name}: {value}")).collect()),
            Fault::RateLimit { header, secs } => (429, vec![header.line(*secs)]),
            _ => (0, vec![]),
        };
        match &fault {
            Fault::Status { .. } | Fault::RateLimit { .. } => {
                let body = format!(
                    r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"{status}","detail":"injected by the test proxy"}}"#
                );
                let extra: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
                let answer = format!(
                    "HTTP/1.1 {status} Injected\r\nContent-Type: application/scim+json\r\n{extra}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                // Recorded before the answer is written: the operator cannot act on it earlier.
                record(status, Some(fault.clone()), false);
                let _ = client.write_all(answer.as_bytes());
            }
            Fault::Hold { forwarded } => {
                // Until the caller gives up and closes (bounded: the read timeout ends it too);
                // recorded then, so `answered_at` is when the caller gave up.
                let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
                let _ = client.read(&mut [0u8; 64]);
                record(0, Some(fault.clone()), *forwarded);
            }
            Fault::Drop { forwarded } => {
                record(0, Some(fault.clone()), *forwarded);
                let _ = client.shutdown(std::net::Shutdown::Both);
            }
            Fault::NotJson => {
                let cut = &app_body[..app_body.len() / 2];
                record(status_of(&answer), Some(fault.clone()), true);
                let _ = client.write_all(&with_body(app_head, cut.len()));
                let _ = client.write_all(cut);
            }
            Fault::Truncated => {
                record(status_of(&answer), Some(fault.clone()), true);
                let _ = client.write_all(&with_body(app_head, app_body.len()));
                let _ = client.write_all(&app_body[..app_body.len() / 2]);
                let _ = client.shutdown(std::net::Shutdown::Both);
            }
        }
        return;
    }

    let Some(answer) = forward(upstream, &head, &body_bytes) else { return };
    let kill = {
        record(status_of(&answer), None, true);
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        let hit =
            s.kill.as_ref().is_some_and(|(m, suffix, _)| *m == method && path.split('?').next().unwrap_or("").ends_with(suffix.as_str()));
        if hit {
            s.kills += 1;
            s.kill.take().map(|(_, _, pid)| pid)
        } else {
            None
        }
    };
    if let Some(pid) = kill {
        // The app has made the change; the operator dies before it hears of it.
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        return;
    }
    let _ = client.write_all(&answer);
}

/// Sends the request to the app and reads its whole answer (it closes: `Connection: close`).
fn forward(upstream: SocketAddr, head: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let mut app = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)).ok()?;
    let _ = app.set_read_timeout(Some(Duration::from_secs(30)));
    app.write_all(head).and_then(|()| app.write_all(body)).ok()?;
    let mut answer = Vec::new();
    let _ = app.read_to_end(&mut answer);
    Some(answer)
}

/// The status code of a raw answer (0 when there is none).
fn status_of(answer: &[u8]) -> u16 {
    String::from_utf8_lossy(&answer[..answer.len().min(16)]).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// (head without its blank line, body) of a raw answer.
fn split_answer(answer: &[u8]) -> (&[u8], &[u8]) {
    match answer.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&answer[..i], &answer[i + 4..]),
        None => (answer, &[]),
    }
}

/// The app's head with `Content-Length: length` and `Connection: close`, and the blank line.
fn with_body(head: &[u8], length: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(head).split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if !lower.starts_with("content-length:") && !lower.starts_with("connection:") {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("Content-Length: {length}\r\nConnection: close\r\n\r\n").as_bytes());
    out
}
