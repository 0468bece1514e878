//! `make bench`: SCIM provisioning at scale against the real API server.
//!
//! Creates 10,000 users and 1,000 groups through the SCIM sidecar, between two
//! runs of a plain client creating users straight through the Kubernetes API
//! (the raw rate this API server gives, with the sidecar watching), then times
//! filtered GETs by userName. Prints the
//! numbers; it asserts nothing about speed (that is what a benchmark is for).
//! Sizes can be lowered with BENCH_USERS / BENCH_GROUPS.

#[path = "../integration/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "../integration/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../integration/http.rs"]
#[allow(dead_code)]
mod http;
#[path = "../integration/proxy.rs"]
#[allow(dead_code)]
mod proxy;
#[path = "../integration/scim_app.rs"]
#[allow(dead_code)]
mod scim_app;
mod ui_pages;
mod whole_loop;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, PostParams};
use rolecall::api::User;
use rolecall::api::user::{UserEmail, UserSpec};
use rolecall::scim::store::{BINDING_ANNOTATION, LAST_MODIFIED_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_SCIM};
use serde_json::json;

use harness::{Operator, Sidecar, client, kubectl_apply, memory_kib, namespace, secret, wait_for};

const CONCURRENCY: usize = 16;

/// One keep-alive HTTP/1.1 connection to the sidecar, as an IdP's client holds
/// one (the test harness's client opens a connection per request).
struct Conn {
    stream: std::io::BufReader<std::net::TcpStream>,
    token: String,
}

impl Conn {
    fn open(addr: std::net::SocketAddr, token: &str) -> Conn {
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn { stream: std::io::BufReader::new(stream), token: token.to_string() }
    }

    fn call(&mut self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        use std::io::{BufRead, Read, Write};
        let head = format!(
            "{method} /scim/v2{path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
            self.token,
            body.len()
        );
        self.stream.get_mut().write_all(head.as_bytes()).expect("write");
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("status line");
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("content-length");
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }
}

/// Runs `jobs` over `threads` threads, each with its own keep-alive
/// connection; returns the results in the jobs' order.
fn run_parallel<T, R, F>(addr: std::net::SocketAddr, token: &str, threads: usize, jobs: Vec<T>, work: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(&mut Conn, T) -> R + Send + Sync + 'static,
{
    // Popped from the end: reversed, so the first job runs first.
    let queue = Arc::new(std::sync::Mutex::new(jobs.into_iter().enumerate().rev().collect::<Vec<_>>()));
    let work = Arc::new(work);
    let threads: Vec<_> = (0..threads)
        .map(|_| {
            let (queue, work) = (queue.clone(), work.clone());
            let token = token.to_string();
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr, &token);
                let mut out = Vec::new();
                loop {
                    let job = queue.lock().expect("queue").pop();
                    let Some((i, job)) = job else { break };
                    out.push((i, work(&mut conn, job)));
                }
                out
            })
        })
        .collect();
    let mut all: Vec<(usize, R)> = threads.into_iter().flat_map(|t| t.join().expect("worker")).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, v)| v).collect()
}

/// The API server's own count of requests for one resource and verb, by
/// response code (its `apiserver_request_total`), summed over the series.
fn api_requests(resource: &str, verb: &str) -> std::collections::BTreeMap<String, f64> {
    let (ok, text) = harness::kubectl_output(&["get", "--raw", "/metrics"]);
    assert!(ok, "the API server's /metrics: {text}");
    let mut by_code = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let label = |name: &str| line.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
        if label("resource") == resource && label("verb") == verb && label("subresource").is_empty() {
            let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or_default();
            *by_code.entry(label("code").to_string()).or_insert(0.0) += value;
        }
    }
    by_code
}

/// What one resource's requests of `verb` grew by, per response code.
fn grown(before: &std::collections::BTreeMap<String, f64>, after: &std::collections::BTreeMap<String, f64>) -> String {
    let parts: Vec<String> = after
        .iter()
        .map(|(code, n)| (code, n - before.get(code).copied().unwrap_or_default()))
        .filter(|(_, n)| *n > 0.0)
        .map(|(code, n)| format!("{n:.0} answered {code}"))
        .collect();
    if parts.is_empty() { "none".into() } else { parts.join(", ") }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Runs `job` for every index of `range`, `concurrency` at a time; returns jobs per second.
async fn per_second<F, Fut>(range: std::ops::Range<usize>, concurrency: usize, job: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let n = range.len();
    let started = Instant::now();
    futures::stream::iter(range).map(job).buffer_unordered(concurrency).collect::<Vec<()>>().await;
    n as f64 / started.elapsed().as_secs_f64()
}

/// Creates the users `range` names straight through the Kubernetes API; returns
/// users per second. Each object is the one the sidecar writes for the SCIM
/// request below (same spec fields, labels and annotations), so both runs ask
/// the API server for the same work.
async fn raw_creates(client: &kube::Client, ns: &str, range: std::ops::Range<usize>) -> f64 {
    let api: Api<User> = Api::namespaced(client.clone(), ns);
    per_second(range, CONCURRENCY, |i| {
        let api = api.clone();
        async move {
            let email = format!("raw{i}@bench.example");
            let spec = UserSpec {
                user_name: email.clone(),
                external_id: Some(format!("ext-raw-{i}")),
                emails: vec![UserEmail { value: email, type_: Some("work".into()), primary: true, display: None }],
                active: Some(true),
                ..Default::default()
            };
            let mut user = User::new(&uuid::Uuid::new_v4().to_string(), spec);
            user.metadata.labels = Some([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_SCIM.to_string())].into());
            user.metadata.annotations = Some(
                [
                    (BINDING_ANNOTATION.to_string(), "idp".to_string()),
                    (LAST_MODIFIED_ANNOTATION.to_string(), rolecall::api::time::now_rfc3339()),
                ]
                .into(),
            );
            api.create(&PostParams::default(), &user).await.expect("raw create");
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with `make bench`"]
async fn scim_provisioning_at_scale() {
    let users_n = env_usize("BENCH_USERS", 10_000);
    let groups_n = env_usize("BENCH_GROUPS", 1_000);
    let client = client().await;

    // 2. Through SCIM.
    let ns = namespace(&client, "bench-scim").await;
    secret(&client, &ns, "scim-tokens", "bench").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: idp, namespace: {ns}}}\nspec: {{provider: Entra, tokenSecretRef: {{name: scim-tokens}}}}\n"
    ));
    assert!(ok, "{out}");
    // Serving every namespace, the sidecar watches the raw client's users too, so
    // both runs pay the same watch fan-out on the API server (the operator
    // watches every User in production as well).
    let scim = Arc::new(Sidecar::start_all_with("bench", "test-value", &["--rate-limit", "100000", "--rate-burst", "100000"]).await);
    let addr = scim.addr;

    // 1. The raw rate: a plain client creating User objects at the same
    // concurrency, on the same API server with the sidecar already watching
    // (as in production), half before the SCIM run and half after it, so both
    // see the store at the sizes the SCIM run sees.
    let raw_ns = namespace(&client, "bench-raw").await;
    let raw_half = users_n / 4;
    let raw_before = raw_creates(&client, &raw_ns, 0..raw_half).await;

    // 2. Through SCIM.
    let started = Instant::now();
    let ids = tokio::task::spawn_blocking(move || {
        run_parallel(addr, "test-value", CONCURRENCY, (0..users_n).collect(), |conn, i| {
            let body = json!({"userName": format!("user{i}@bench.example"), "externalId": format!("ext-{i}"), "active": true,
                "emails": [{"value": format!("user{i}@bench.example"), "type": "work", "primary": true}]});
            let (status, user) = conn.call("POST", "/Users", &body.to_string());
            assert_eq!(status, 201, "{user}");
            user["id"].as_str().unwrap_or_default().to_string()
        })
    })
    .await
    .expect("creates");
    let scim_elapsed = started.elapsed();
    let scim_rate = users_n as f64 / scim_elapsed.as_secs_f64();
    let raw_after = raw_creates(&client, &raw_ns, raw_half..2 * raw_half).await;
    let raw_rate = (raw_before + raw_after) / 2.0;

    let per_group = (users_n / groups_n.max(1)).clamp(1, 50);
    let bodies: Vec<String> = (0..groups_n)
        .map(|g| {
            let members: Vec<serde_json::Value> = (0..per_group).map(|k| json!({"value": ids[(g * per_group + k) % ids.len()]})).collect();
            json!({"displayName": format!("group-{g}"), "members": members}).to_string()
        })
        .collect();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        run_parallel(addr, "test-value", CONCURRENCY, bodies, |conn, body: String| {
            let (status, group) = conn.call("POST", "/Groups", &body);
            assert_eq!(status, 201, "{group}");
        })
    })
    .await
    .expect("groups");
    let groups_elapsed = started.elapsed();

    // 3. Filtered GET by userName at that size, one request at a time.
    let latencies = tokio::task::spawn_blocking(move || {
        let mut conn = Conn::open(addr, "test-value");
        let mut latencies = Vec::new();
        for k in 0..1000 {
            let i = (k * 7919) % users_n;
            let path = format!("/Users?filter=userName%20eq%20%22user{i}@bench.example%22");
            let t = Instant::now();
            let (status, body) = conn.call("GET", &path, "");
            latencies.push(t.elapsed());
            assert_eq!((status, body["totalResults"].as_u64()), (200, Some(1)));
        }
        latencies
    })
    .await
    .expect("gets");
    let mut latencies = latencies;
    latencies.sort();

    // 4. Optionally, one group holding every user (BENCH_BIG_GROUP=1 with BENCH_USERS=50000).
    let big_group = if env_usize("BENCH_BIG_GROUP", 0) > 0 {
        let members: Vec<serde_json::Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let body = json!({"displayName": "everyone", "members": members}).to_string();
        let (created_in, gid) = tokio::task::spawn_blocking(move || {
            let mut conn = Conn::open(addr, "test-value");
            let t = Instant::now();
            let (status, group) = conn.call("POST", "/Groups", &body);
            assert_eq!(status, 201);
            (t.elapsed(), group["id"].as_str().unwrap_or_default().to_string())
        })
        .await
        .expect("big group");
        let (add_one, get_all, members) = tokio::task::spawn_blocking(move || {
            let mut conn = Conn::open(addr, "test-value");
            let (status, newcomer) = conn.call("POST", "/Users", &json!({"userName": "newcomer@bench.example"}).to_string());
            assert_eq!(status, 201);
            let patch = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": newcomer["id"]}]}]}).to_string();
            let t = Instant::now();
            let (status, _) = conn.call("PATCH", &format!("/Groups/{gid}"), &patch);
            assert_eq!(status, 204);
            let add_one = t.elapsed();
            let t = Instant::now();
            let (status, group) = conn.call("GET", &format!("/Groups/{gid}"), "");
            assert_eq!(status, 200);
            (add_one, t.elapsed(), group["members"].as_array().map(Vec::len).unwrap_or_default())
        })
        .await
        .expect("big group update");
        Some((created_in, add_one, get_all, members))
    } else {
        None
    };

    // 5. Several groups sharing members pushed at once, as Entra ID pushes them
    // (member PATCHes of 20, 8 client threads): the 8 groups' PATCHes for the
    // same 20 users run together. Each shared user's changes should coalesce
    // into few writes; the API server's own request counts tell how many.
    let overlap_users = env_usize("BENCH_OVERLAP_USERS", 400).min(ids.len());
    const OVERLAP_GROUPS: usize = 8;
    let overlap_ids: Vec<String> = ids[..overlap_users].to_vec();
    let group_ids = tokio::task::spawn_blocking(move || {
        run_parallel(addr, "test-value", OVERLAP_GROUPS, (0..OVERLAP_GROUPS).collect(), |conn, g: usize| {
            let (status, group) = conn.call("POST", "/Groups", &json!({"displayName": format!("overlap-{g}")}).to_string());
            assert_eq!(status, 201, "{group}");
            group["id"].as_str().unwrap_or_default().to_string()
        })
    })
    .await
    .expect("overlap groups");
    let jobs: Vec<(String, String)> = overlap_ids
        .chunks(20)
        .flat_map(|chunk| {
            let value: Vec<serde_json::Value> = chunk.iter().map(|id| json!({"value": id})).collect();
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "members", "value": value}]})
            .to_string();
            group_ids.iter().map(move |g| (format!("/Groups/{g}"), body.clone())).collect::<Vec<_>>()
        })
        .collect();
    let (patches_before, gets_before) = (api_requests("users", "PATCH"), api_requests("users", "GET"));
    let started = Instant::now();
    // A 503 ("try again") is retried at once, as an IdP retries; the retries are counted.
    let retried: usize = tokio::task::spawn_blocking(move || {
        run_parallel(addr, "test-value", OVERLAP_GROUPS, jobs, |conn, (path, body): (String, String)| {
            let mut retries = 0;
            loop {
                let (status, answer) = conn.call("PATCH", &path, &body);
                if status == 503 && retries < 10 {
                    retries += 1;
                    continue;
                }
                assert_eq!(status, 204, "{answer}");
                return retries.to_string();
            }
        })
    })
    .await
    .expect("overlap push")
    .iter()
    .filter_map(|r| r.parse::<usize>().ok())
    .sum();
    let overlap_elapsed = started.elapsed();
    let (patches_after, gets_after) = (api_requests("users", "PATCH"), api_requests("users", "GET"));
    let user_writes: f64 = patches_after.get("200").copied().unwrap_or_default() - patches_before.get("200").copied().unwrap_or_default();

    // 6. The sidecar's resident memory after the load (the whole directory cached).
    let memory = scim.pid().and_then(memory_kib);

    // 7. An operator over the SCIM namespace (no hub): its memory once every
    // User and Team of it has been reconciled, the first status of each written.
    let operator = Operator::start(&ns, "bench", "bench-op", &[]);
    let reconciled = |controller: &str| operator.metric(&format!("rolecall_reconciles_total{{controller=\"{controller}\""));
    let series = |controller: &str| format!("rolecall_reconciles_total{{controller=\"{controller}\"");
    wait_for(Duration::from_secs(600), "the operator to reconcile every User and Team", || async {
        let text = operator.metrics();
        let count = |c: &str| -> f64 {
            text.lines().filter(|l| l.starts_with(&series(c))).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
        };
        count("user") >= users_n as f64 && count("team") >= (groups_n + OVERLAP_GROUPS) as f64
    })
    .await;
    let operator_memory = memory_kib(operator.pid());
    let operator_reconciles = reconciled("user") + reconciled("team");

    println!(
        "bench: raw User creates via the Kubernetes API: {raw_half} before at {raw_before:.1} users/s, {raw_half} after at {raw_after:.1} users/s, mean {raw_rate:.1} ({CONCURRENCY} concurrent)"
    );
    println!(
        "bench: SCIM POST /Users: {users_n} in {:.1}s = {:.1} users/s ({CONCURRENCY} keep-alive connections), {:.2} of raw",
        scim_elapsed.as_secs_f64(),
        scim_rate,
        scim_rate / raw_rate
    );
    println!("bench: SCIM POST /Groups: {groups_n} groups of {per_group} members in {:.1}s", groups_elapsed.as_secs_f64());
    println!(
        "bench: GET /Users?filter=userName eq at {users_n} users: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (1000 requests)",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map(|d| d.as_secs_f64() * 1e3).unwrap_or_default()
    );
    if let Some((created_in, add_one, get_all, members)) = big_group {
        println!(
            "bench: one group of {users_n} members created in {:.1}s; adding one member took {:.1} ms; GET of the {members}-member group took {:.1} ms",
            created_in.as_secs_f64(),
            add_one.as_secs_f64() * 1e3,
            get_all.as_secs_f64() * 1e3
        );
    }
    println!(
        "bench: {OVERLAP_GROUPS} groups sharing {overlap_users} members pushed at once (PATCHes of 20, {OVERLAP_GROUPS} threads) in {:.1}s: {user_writes:.0} User writes, {:.2} per user for {OVERLAP_GROUPS} memberships each; {retried} PATCHes answered 503 and retried (User PATCHes: {}; GETs: {})",
        overlap_elapsed.as_secs_f64(),
        user_writes / overlap_users.max(1) as f64,
        grown(&patches_before, &patches_after),
        grown(&gets_before, &gets_after)
    );
    match memory {
        Some((rss, hwm)) => println!(
            "bench: sidecar memory after the load: VmRSS {:.1} MiB, VmHWM {:.1} MiB ({} users, {groups_n} groups cached; /proc/PID/status)",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0,
            users_n + 2 * raw_half
        ),
        None => println!("bench: sidecar memory after the load: unreadable (no /proc?)"),
    }
    if let Some((rss, hwm)) = operator_memory {
        println!(
            "bench: operator memory over that namespace, no hub ({users_n} users, {} groups, {operator_reconciles:.0} User and Team reconciles): VmRSS {:.1} MiB, VmHWM {:.1} MiB",
            groups_n + OVERLAP_GROUPS,
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
}
