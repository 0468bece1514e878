//! A recording HTTP proxy between the operator and an app: it counts every
//! request the app receives, and can SIGKILL the operator right after the app
//! has answered a chosen call and before the operator sees the answer, the
//! worst moment for a crash (the call happened, nothing recorded it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the app received: method and path (with query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    seen: Vec<Seen>,
    /// Kill this process after the next request matching (method, path suffix) is answered by the app.
    kill: Option<(String, String, u32)>,
    kills: usize,
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
    let mut body = vec![0; content_length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());

    let Ok(mut app) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else { return };
    let _ = app.set_read_timeout(Some(Duration::from_secs(30)));
    if app.write_all(&head).and_then(|()| app.write_all(&body)).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = app.read_to_end(&mut answer);

    let kill = {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        s.seen.push(Seen { method: method.clone(), path: path.clone(), body: String::from_utf8_lossy(&body).to_string() });
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
