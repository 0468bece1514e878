//! A recording HTTP proxy between the operator and an app: it counts every
//! request the app receives (with when it arrived and what was answered), can
//! answer chosen requests itself as a throttling or failing app would (429,
//! 503 with `Retry-After`), and can SIGKILL the operator right after the app
//! has answered a chosen call and before the operator sees the answer, the
//! worst moment for a crash (the call happened, nothing recorded it).

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
}

impl Seen {
    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// Which request an injected answer is for.
pub type Matcher = Box<dyn Fn(&str, &str) -> bool + Send>;

/// An answer the proxy gives itself, once, instead of forwarding the request.
struct Injected {
    matches: Matcher,
    status: u16,
    retry_after: Option<String>,
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
        self.lock().inject.push(Injected { matches, status, retry_after: retry_after.map(str::to_string) });
    }

    /// Answers every `n`th request from now on with the next of `faults` (status,
    /// `Retry-After`) instead of passing it to the app, until they are all given.
    pub fn answer_every(&self, n: usize, faults: Vec<(u16, Option<&str>)>) {
        let faults = faults
            .into_iter()
            .map(|(status, retry_after)| Injected { matches: Box::new(|_, _| true), status, retry_after: retry_after.map(str::to_string) })
            .collect();
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
    if let Some(injected) = injected {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"{}","detail":"injected by the test proxy"}}"#,
            injected.status
        );
        let retry_after = injected.retry_after.map(|v| format!("Retry-After: {v}\r\n")).unwrap_or_default();
        let answer = format!(
            "HTTP/1.1 {} Injected\r\nContent-Type: application/scim+json\r\n{retry_after}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            injected.status,
            body.len()
        );
        // Recorded before the answer is written: the operator cannot act on it earlier.
        let answered_at = Instant::now();
        let seen = Seen { method, path, body: String::from_utf8_lossy(&body_bytes).to_string(), at, status: injected.status, answered_at };
        shared.lock().unwrap_or_else(|p| p.into_inner()).seen.push(seen);
        let mut client = reader.into_inner();
        let _ = client.write_all(answer.as_bytes());
        return;
    }

    let Ok(mut app) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else { return };
    let _ = app.set_read_timeout(Some(Duration::from_secs(30)));
    if app.write_all(&head).and_then(|()| app.write_all(&body_bytes)).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = app.read_to_end(&mut answer);

    let kill = {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        let status = String::from_utf8_lossy(&answer[..answer.len().min(16)]).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        s.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            body: String::from_utf8_lossy(&body_bytes).to_string(),
            at,
            status,
            answered_at: Instant::now(),
        });
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
    let mut client = reader.into_inner();
    let _ = client.write_all(&answer);
}
