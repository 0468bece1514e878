//! The client against a scripted GitHub on loopback: pages followed by `Link`,
//! reads made conditional (a 304 replays the cached answer), and no call
//! before a reset or a secondary limit's wait.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::client::{Client, HubState};
use crate::connector::{ConnectorError, Pacer};

#[derive(Debug, Clone)]
struct Received {
    path: String,
    if_none_match: Option<String>,
    at: SystemTime,
}

type Script = dyn Fn(&Received, &str) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A loopback server answering each request with `script(request, base)`.
fn serve(script: Arc<Script>) -> (SocketAddr, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream);
            let (mut first, mut length, mut etag) = (String::new(), 0usize, None);
            for _ in 0..100 {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if first.is_empty() {
                    first = line.trim_end().to_string();
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("if-none-match:") {
                    etag = line.split_once(':').map(|(_, v)| v.trim().to_string());
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = first.split(' ').nth(1).unwrap_or("").to_string();
            let received = Received { path, if_none_match: etag, at: SystemTime::now() };
            seen.lock().expect("log").push(received.clone());
            let (status, headers, body) = script(&received, &format!("http://{addr}"));
            let mut out =
                format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = reader.into_inner().write_all(out.as_bytes());
        }
    });
    (addr, log)
}

fn client(addr: SocketAddr, pacer: Arc<Pacer>) -> Client {
    let state = Arc::new(HubState::default());
    Client::new(&format!("http://{addr}"), super::credentials::Credential::Token("t".into()), pacer, Duration::from_secs(5), state)
        .expect("client")
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs()
}

#[tokio::test]
async fn lists_follow_link_pages_and_a_second_read_costs_only_304s() {
    let script: Arc<Script> = Arc::new(|r: &Received, base: &str| {
        let page2 = r.path.contains("page=2");
        let etag = if page2 { "\"p2\"" } else { "\"p1\"" };
        if r.if_none_match.as_deref() == Some(etag) {
            return (304, vec![("ETag".into(), etag.into())], String::new());
        }
        let mut headers = vec![("ETag".to_string(), etag.to_string())];
        if !page2 {
            let next = format!("<{base}/orgs/acme/members?role=admin&per_page=100&page=2>; rel=\"next\", <{base}/x?page=2>; rel=\"last\"");
            headers.push(("Link".into(), next));
        }
        let body = if page2 { r#"[{"login":"bob"}]"# } else { r#"[{"login":"ann"}]"# };
        (200, headers, body.into())
    });
    let (addr, log) = serve(script);
    let github = client(addr, Arc::new(Pacer::new("ns/hub")));
    let first = github.get_all("/orgs/acme/members?role=admin").await.expect("listed");
    let second = github.get_all("/orgs/acme/members?role=admin").await.expect("listed again");
    assert_eq!(first, second);
    assert_eq!(first.len(), 2, "both pages: {first:?}");
    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.len(), 4);
    assert!(seen[0].path.ends_with("members?role=admin&per_page=100"), "{:?}", seen[0]);
    assert!(seen[1].path.ends_with("page=2"));
    assert!(seen[..2].iter().all(|r| r.if_none_match.is_none()));
    assert_eq!(seen[2].if_none_match.as_deref(), Some("\"p1\""), "the second read is conditional");
    assert_eq!(seen[3].if_none_match.as_deref(), Some("\"p2\""));
}

#[tokio::test]
async fn nothing_is_sent_before_the_primary_reset_and_a_secondary_limit_waits_at_least_a_minute() {
    // The first answer spends the primary limit; it resets two seconds later.
    let reset = unix(SystemTime::now()) + 2;
    let calls = Arc::new(Mutex::new(0u32));
    let counter = calls.clone();
    let script: Arc<Script> = Arc::new(move |_: &Received, _: &str| {
        let mut n = counter.lock().expect("count");
        *n += 1;
        match *n {
            1 => (200, vec![("x-ratelimit-remaining".into(), "0".into()), ("x-ratelimit-reset".into(), reset.to_string())], "{}".into()),
            2 => (
                403,
                vec![],
                r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#.into(),
            ),
            _ => (200, vec![], "{}".into()),
        }
    });
    let (addr, log) = serve(script);
    let pacer = Arc::new(Pacer::new("ns/hub"));
    let github = client(addr, pacer);
    let url = format!("http://{addr}/orgs/acme");
    github.get(&url).await.expect("the call that spent the limit succeeds");
    let refused = github.get(&url).await;
    assert!(matches!(refused, Err(ConnectorError::RateLimited { retry_after: Some(d) }) if d >= Duration::from_secs(60)), "{refused:?}");
    // The secondary limit holds the hub: refused at once, without a call.
    let again = github.get(&url).await;
    assert!(matches!(again, Err(ConnectorError::RateLimited { .. })), "{again:?}");
    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.len(), 2, "nothing sent during the secondary wait: {seen:?}");
    assert!(unix(seen[1].at) >= reset, "the second call came after the reset: {} < {reset}", unix(seen[1].at));
}

#[tokio::test]
async fn the_invitation_cap_counts_an_invitation_from_when_github_answered_not_from_when_it_queued() {
    use crate::api::business_hub::{ConnectorType, GitHubConnectorSettings};
    use crate::connector::{Access, Connector, NewAccount, OperationId};
    // GitHub takes 1.5 s to answer the invitation; the cap is one per 3 s.
    let script: Arc<Script> = Arc::new(|r: &Received, _: &str| {
        if r.path.ends_with("/invitations") {
            std::thread::sleep(Duration::from_millis(1500));
            return (201, vec![], r#"{"id": 1, "email": "ann@acme.io", "role": "direct_member"}"#.into());
        }
        (404, vec![], "{}".into())
    });
    let (addr, _log) = serve(script);
    let mut spec = crate::checks::hub::tests::hub_spec();
    spec.connector.type_ = ConnectorType::GitHub;
    spec.connector.url = format!("http://{addr}");
    spec.connector.organization = Some("acme".into());
    spec.connector.github = Some(GitHubConnectorSettings { invitation_cap: 1, invitation_window: "3s".into(), app: None });
    let pacer = Arc::new(Pacer::new(format!("ns/cap-{}", addr.port())));
    let github = super::GitHubConnector::new(&spec, "t".into(), pacer, Duration::from_secs(5)).expect("connector");
    let new = |email: &str| NewAccount {
        email: email.into(),
        display_name: None,
        given_name: None,
        family_name: None,
        access: Access { roles: ["member".to_string()].into(), assets: Default::default() },
    };
    let operation = OperationId::of("uid", "ann@acme.io", crate::api::app_account::OperationKind::Invite, "t");
    github.add_account(&new("ann@acme.io"), &operation).await.expect("the first invitation goes");
    let answered = std::time::Instant::now();
    let refused = github.add_account(&new("bob@acme.io"), &operation).await;
    // Counted from the reservation, the place would free 1.5 s from here; from GitHub's answer, 3 s.
    let Err(ConnectorError::RateLimited { retry_after: Some(wait) }) = refused else { panic!("the cap holds bob: {refused:?}") };
    let frees_in = wait + answered.elapsed();
    assert!(frees_in > Duration::from_millis(2500), "the place frees {frees_in:?} after GitHub answered, under its 3 s window");
}
