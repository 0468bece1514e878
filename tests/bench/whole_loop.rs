//! `make bench`, the whole loop: an IdP pushes a company through the SCIM
//! sidecar in Entra ID's shape, the operator seats it in 20 apps (scim2-server
//! behind recording proxies), and IdP changes are timed until the app receives
//! the invitation. Each figure is taken beside its reference in the same run
//! (a minimal client's raw write rate on the same API server) and written to a
//! JSON report for `bench/report.py`.
//!
//! The company: `BENCH_LOOP_USERS` users (10,000), one in ten a team (four
//! divisions of a quarter of the company, the rest departments of ten), and
//! `BENCH_LOOP_HUBS` hubs (20). Hub h grants `member` to division h mod 4 and
//! `admin` to one department inside it, so each user holds a seat in a quarter
//! of the hubs (about 50,000 accounts at 10,000 users) and some resolve two
//! grants to the higher role. A propagation change adds a seated user to the
//! next division: five new invitations, one per hub of that division.
//!
//! It asserts what must hold (every account in place, every change delivered),
//! never a timing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use rolecall::api::AppAccount;
use rolecall::api::app_account::{AccountState, AppAccountSpec, AppAccountStatus, UserTable};
use serde_json::{Value, json};

use crate::harness::{Operator, Sidecar, client, kubectl_apply, namespace, secret};
use crate::proxy::{RecordingProxy, Seen};
use crate::scim_app::ScimApp;
use crate::{Conn, env_usize, per_second, run_parallel};

/// An Entra ID provisioning cycle's client threads and member batch.
const ENTRA_THREADS: usize = 8;
const ENTRA_BATCH: usize = 20;
const DIVISIONS: usize = 4;
/// The raw reference client's concurrency.
const RAW_CONCURRENCY: usize = 16;
const TOKEN: &str = "test-value";

/// The company and the changes made to it.
struct Shape {
    users: usize,
    hubs: usize,
    departments: usize,
    changes: usize,
    /// Propagation changes sent per second.
    change_rate: f64,
    /// Background changes (attribute updates, membership of an ungranted team) per second.
    background_rate: f64,
    /// Every hub's sync interval: how often it reads its app back. 30 s shows
    /// several read-backs in a short run; at 50,000 users a stand-in app takes
    /// longer than that to list its 12,500 accounts, so that run takes the
    /// product's default (300 s) and counts fewer steady-state read-backs.
    sync_interval_s: u64,
    /// Read-backs of every hub the steady state lasts.
    steady_read_backs: usize,
}

impl Shape {
    fn from_env() -> Shape {
        let users = env_usize("BENCH_LOOP_USERS", 10_000).max(DIVISIONS * 10);
        // A multiple of the divisions, so each department lies inside one division.
        let departments = ((users / 10).saturating_sub(DIVISIONS) / DIVISIONS).max(1) * DIVISIONS;
        Shape {
            users,
            hubs: env_usize("BENCH_LOOP_HUBS", 20).max(1),
            departments,
            changes: env_usize("BENCH_LOOP_CHANGES", 600).min(users),
            change_rate: env_usize("BENCH_LOOP_CHANGE_RATE", 10) as f64,
            background_rate: env_usize("BENCH_LOOP_BACKGROUND_RATE", 20) as f64,
            sync_interval_s: env_usize("BENCH_LOOP_SYNC_INTERVAL_S", 30).max(5) as u64,
            steady_read_backs: env_usize("BENCH_LOOP_STEADY_READ_BACKS", 3).max(1),
        }
    }

    fn email(i: usize) -> String {
        format!("u{i:06}@loop.example")
    }

    fn division(i: usize) -> usize {
        i % DIVISIONS
    }

    fn department(&self, i: usize) -> usize {
        i % self.departments
    }

    /// The department granted `admin` on hub `h`: one inside the hub's division.
    fn admin_department(&self, h: usize) -> usize {
        let d = (h * 13 * DIVISIONS) % self.departments;
        d - d % DIVISIONS + h % DIVISIONS
    }

    /// The users each hub should seat at the start.
    fn seats(&self, h: usize) -> usize {
        (0..self.users).filter(|&i| Self::division(i) == h % DIVISIONS).count()
    }

    /// The user moved by propagation change `k`.
    /// The user of the `k`th change, spread over the company. The stride is odd, so
    /// consecutive changes land in every division in turn: at 5,000 users an even
    /// stride of 8 sent all 600 changes to one division, 600 invitations to each of
    /// the same 5 apps at 10 a second, and measured those apps, not the loop.
    fn changed_user(&self, k: usize) -> usize {
        let stride = (self.users / self.changes.max(1)).max(1);
        k * if stride.is_multiple_of(2) { stride - 1 } else { stride }
    }
}

/// A process's CPU seconds (user + system) and resident memory (now, peak) in MiB.
#[derive(Clone, Copy, Default)]
struct ProcessSample {
    cpu_s: f64,
    rss_mib: f64,
    hwm_mib: f64,
}

fn sample(pid: u32) -> ProcessSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (rss_kib, hwm_kib) = crate::harness::memory_kib(pid).unwrap_or_default();
    ProcessSample { cpu_s: (ticks(11) + ticks(12)) / 100.0, rss_mib: rss_kib as f64 / 1024.0, hwm_mib: hwm_kib as f64 / 1024.0 }
}

/// The processes the report follows: operator, sidecar, kube-apiserver, etcd,
/// the apps (summed over the 20), and this benchmark's own process (the load,
/// the raw client and the recording proxies).
struct Pids(Vec<(&'static str, Vec<u32>)>);

impl Pids {
    fn sample(&self) -> BTreeMap<&'static str, ProcessSample> {
        self.0
            .iter()
            .map(|(name, pids)| {
                let sum = pids.iter().map(|p| sample(*p)).fold(ProcessSample::default(), |a, b| ProcessSample {
                    cpu_s: a.cpu_s + b.cpu_s,
                    rss_mib: a.rss_mib + b.rss_mib,
                    hwm_mib: a.hwm_mib + b.hwm_mib,
                });
                (*name, sum)
            })
            .collect()
    }
}

fn control_plane_pid(name: &str) -> u32 {
    let dir = std::env::var("ROLECALL_TESTENV").expect("ROLECALL_TESTENV names the control plane's directory");
    std::fs::read_to_string(format!("{dir}/{name}.pid")).ok().and_then(|p| p.trim().parse().ok()).expect("a pid file from testenv/up.sh")
}

/// Writes the API server accepted for rolecall's kinds and Events, by
/// `resource[/subresource] VERB`, from its own `apiserver_request_total`.
async fn api_writes(client: &Client) -> BTreeMap<String, f64> {
    let writes = api_series(&api_metrics(client).await, "apiserver_request_total");
    assert!(!writes.is_empty(), "the API server's /metrics has no apiserver_request_total write series");
    writes
}

/// The API server's own /metrics text.
async fn api_metrics(client: &Client) -> String {
    let request = axum::http::Request::get("/metrics").body(Vec::new()).expect("a request");
    client.request_text(request).await.expect("the API server's /metrics")
}

/// The rolecall writes (and Events) of one of the API server's per-request
/// series, summed by `resource[/subresource] VERB`.
fn api_series(text: &str, metric: &str) -> BTreeMap<String, f64> {
    let label = |line: &str, name: &str| {
        let key = format!("{name}=\"");
        line.split_once(&key).and_then(|(_, rest)| rest.split_once('"')).map(|(v, _)| v.to_string()).unwrap_or_default()
    };
    let prefix = format!("{metric}{{");
    let mut series = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with(&prefix)) {
        let verb = label(line, "verb");
        if !matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE") {
            continue;
        }
        let (group, resource, subresource) = (label(line, "group"), label(line, "resource"), label(line, "subresource"));
        if group != "rolecall.dev" && resource != "events" {
            continue;
        }
        let key = if subresource.is_empty() { format!("{resource} {verb}") } else { format!("{resource}/{subresource} {verb}") };
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *series.entry(key).or_default() += value;
    }
    series
}

/// The API server's own time per write, by `resource[/subresource] VERB`, between two /metrics texts:
/// what the server spent answering, to hold beside what the operator waited.
fn api_write_seconds(after: &str, before: &str) -> BTreeMap<String, f64> {
    let sum =
        diff(&api_series(after, "apiserver_request_duration_seconds_sum"), &api_series(before, "apiserver_request_duration_seconds_sum"));
    let count = diff(
        &api_series(after, "apiserver_request_duration_seconds_count"),
        &api_series(before, "apiserver_request_duration_seconds_count"),
    );
    count.iter().filter(|(_, n)| **n > 0.0).map(|(k, n)| (k.clone(), sum.get(k).copied().unwrap_or(0.0) / n)).collect()
}

fn diff(after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after.iter().map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0))).filter(|(_, v)| *v > 0.0).collect()
}

fn total(writes: &BTreeMap<String, f64>) -> f64 {
    writes.values().fold(0.0, |a, b| a + b)
}

fn percentiles(mut samples: Vec<f64>) -> Value {
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples.get(((samples.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    json!({"n": samples.len(), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)})
}

/// The userName of a `POST /Users` the app received.
fn created_user(seen: &Seen) -> Option<String> {
    if seen.method != "POST" || !seen.route().ends_with("/Users") {
        return None;
    }
    serde_json::from_str::<Value>(&seen.body).ok()?["userName"].as_str().map(str::to_lowercase)
}

/// Loads the company as Entra ID's first cycle does: per user a filter GET then
/// a POST; per group a filter GET, a POST without members, then member PATCHes
/// of 20; eight client threads. Returns user ids, group ids and the timings.
fn load_company(addr: std::net::SocketAddr, shape: &Shape) -> (Vec<String>, BTreeMap<String, String>, Value) {
    let started = Instant::now();
    let user_ids = run_parallel(addr, TOKEN, ENTRA_THREADS, (0..shape.users).collect(), |conn: &mut Conn, i: usize| {
        let email = Shape::email(i);
        let (status, found) = conn.call("GET", &format!("/Users?filter=userName%20eq%20%22{email}%22"), "");
        assert_eq!((status, found["totalResults"].as_u64()), (200, Some(0)), "{found}");
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email, "externalId": format!("ext-{i}"),
            "active": true, "displayName": format!("User {i}"), "name": {"givenName": "User", "familyName": format!("{i}")},
            "emails": [{"value": email, "type": "work", "primary": true}]});
        let (status, user) = conn.call("POST", "/Users", &body.to_string());
        assert_eq!(status, 201, "{user}");
        user["id"].as_str().unwrap_or_default().to_string()
    });
    let users_s = started.elapsed().as_secs_f64();

    // Divisions, departments and one project team no hub grants.
    let mut teams: Vec<(String, Vec<usize>)> =
        (0..DIVISIONS).map(|d| (format!("division-{d}"), (0..shape.users).filter(|&i| Shape::division(i) == d).collect())).collect();
    teams.extend(
        (0..shape.departments).map(|d| (format!("department-{d:04}"), (0..shape.users).filter(|&i| shape.department(i) == d).collect())),
    );
    teams.push(("project".into(), Vec::new()));
    let started = Instant::now();
    let names: Vec<String> = teams.iter().map(|(n, _)| n.clone()).collect();
    let group_ids = run_parallel(addr, TOKEN, ENTRA_THREADS, names.clone(), |conn: &mut Conn, name: String| {
        let (status, found) = conn.call("GET", &format!("/Groups?filter=displayName%20eq%20%22{name}%22"), "");
        assert_eq!((status, found["totalResults"].as_u64()), (200, Some(0)), "{found}");
        let body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "externalId": format!("ext-{name}")});
        let (status, group) = conn.call("POST", "/Groups", &body.to_string());
        assert_eq!(status, 201, "{group}");
        group["id"].as_str().unwrap_or_default().to_string()
    });
    let groups_s = started.elapsed().as_secs_f64();
    let group_ids: BTreeMap<String, String> = names.into_iter().zip(group_ids).collect();

    let mut patches = Vec::new();
    for (name, members) in &teams {
        for batch in members.chunks(ENTRA_BATCH) {
            let value: Vec<Value> = batch.iter().map(|&i| json!({"value": user_ids[i]})).collect();
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": value}]});
            patches.push((group_ids[name].clone(), body.to_string()));
        }
    }
    let memberships: usize = teams.iter().map(|(_, m)| m.len()).sum();
    let member_patches = patches.len();
    let started = Instant::now();
    run_parallel(addr, TOKEN, ENTRA_THREADS, patches, |conn: &mut Conn, (id, body): (String, String)| {
        let (status, answer) = conn.call("PATCH", &format!("/Groups/{id}"), &body);
        assert!(status == 204 || status == 200, "{status} {answer}");
    });
    let members_s = started.elapsed().as_secs_f64();
    let timings = json!({
        "users": shape.users, "users_s": users_s, "users_per_s": shape.users as f64 / users_s,
        "groups": group_ids.len(), "groups_s": groups_s,
        "memberships": memberships, "member_patches": member_patches, "members_s": members_s,
        "memberships_per_s": memberships as f64 / members_s,
        "total_s": users_s + groups_s + members_s,
    });
    (user_ids, group_ids, timings)
}

/// The reference: a minimal client creating AppAccounts as the operator does
/// (create, then one server-side-apply status write: the two writes an account
/// costs at the least) at a fixed concurrency. Returns accounts per second.
async fn raw_accounts(client: &Client, ns: &str, range: std::ops::Range<usize>) -> f64 {
    let api: Api<AppAccount> = Api::namespaced(client.clone(), ns);
    per_second(range, RAW_CONCURRENCY, |i| {
        let api = api.clone();
        async move {
            let email = Shape::email(i);
            let name = format!("raw-{i}");
            let account = AppAccount {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    labels: Some([(rolecall::api::wire::HUB_LABEL.to_string(), "raw".to_string())].into()),
                    ..Default::default()
                },
                spec: AppAccountSpec { hub: "raw".into(), email: email.clone(), match_user: None, exemption: None },
                status: None,
            };
            api.create(&PostParams::default(), &account).await.expect("raw create");
            let status = AppAccountStatus {
                table: Some(UserTable::Onboarded),
                state: Some(AccountState::Onboarded),
                external_id: Some(uuid::Uuid::new_v4().to_string()),
                app_roles: vec!["member".into()],
                granted_via: vec!["division".into()],
                matched_user: Some(uuid::Uuid::new_v4().to_string()),
                user_name: Some(email),
                managed: true,
                ..Default::default()
            };
            let patch = json!({"apiVersion": AppAccount::api_version(&()), "kind": AppAccount::kind(&()), "status": status});
            api.patch_status(&name, &PatchParams::apply("raw-client").force(), &Patch::Apply(&patch)).await.expect("raw status");
        }
    })
    .await
}

/// Counts AppAccounts by state, a page at a time.
async fn account_states(client: &Client, ns: &str) -> BTreeMap<String, usize> {
    let api: Api<AppAccount> = Api::namespaced(client.clone(), ns);
    let mut states = BTreeMap::new();
    let mut params = ListParams::default().limit(2000);
    loop {
        let page = api.list(&params).await.expect("list AppAccounts");
        for a in &page.items {
            let state = a.status.as_ref().and_then(|s| s.state).map(|s| format!("{s:?}")).unwrap_or_else(|| "None".into());
            *states.entry(state).or_default() += 1;
        }
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return states,
        }
    }
}

/// Polls `check` every `every` until it holds; panics with `what` after `limit`.
async fn wait_until(limit: Duration, every: Duration, what: &str, check: impl AsyncFnMut() -> bool) -> Duration {
    match try_wait_until(limit, every, check).await {
        Some(took) => took,
        None => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Polls `check` every `every` until it holds; `None` after `limit`.
async fn try_wait_until(limit: Duration, every: Duration, mut check: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(every).await;
    }
    None
}

/// A histogram's mean and count from the operator's exposition.
fn histogram(operator: &Operator, name: &str) -> (f64, f64) {
    let (sum, count) = (operator.metric(&format!("{name}_sum")), operator.metric(&format!("{name}_count")));
    (sum, count)
}

/// Each controller's reconciles so far: (seconds spent, count).
fn reconciles(operator: &Operator) -> BTreeMap<String, (f64, f64)> {
    let text = operator.metrics();
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("rolecall_reconcile_duration_seconds_")) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Some(controller) = series.split_once("controller=\"").and_then(|(_, rest)| rest.split_once('"')).map(|(c, _)| c.to_string())
        else {
            continue;
        };
        let value: f64 = value.parse().unwrap_or(0.0);
        let entry = out.entry(controller).or_default();
        if series.starts_with("rolecall_reconcile_duration_seconds_sum") {
            entry.0 += value;
        } else if series.starts_with("rolecall_reconcile_duration_seconds_count") {
            entry.1 += value;
        }
    }
    assert!(!out.is_empty(), "the operator exports no rolecall_reconcile_duration_seconds series:\n{text}");
    out
}

struct Apps {
    apps: Vec<ScimApp>,
    proxies: Vec<RecordingProxy>,
}

impl Apps {
    fn created(&self, h: usize) -> usize {
        self.proxies[h].count(|s| s.status == 201 && created_user(s).is_some())
    }

    fn writes(&self) -> usize {
        self.proxies.iter().map(|p| p.count(|s| s.method != "GET")).sum()
    }

    /// Seconds the apps spent answering read-back pages (`GET .../Users`).
    fn list_seconds(&self) -> f64 {
        self.proxies
            .iter()
            .map(|p| p.seen().iter().filter(|s| s.method == "GET").map(|s| (s.answered_at - s.at).as_secs_f64()).sum::<f64>())
            .sum()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with `make bench`"]
async fn whole_loop_at_company_size() {
    let shape = Shape::from_env();
    let machine = machine();
    let client = client().await;
    let ns = namespace(&client, "loop").await;
    secret(&client, &ns, "idp-tokens", "token").await;
    secret(&client, &ns, "app-credentials", "token").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: entra, namespace: {ns}}}\nspec: {{provider: Entra, tokenSecretRef: {{name: idp-tokens}}}}\n"
    ));
    assert!(ok, "{out}");
    let sidecar = Sidecar::start_with(&ns, TOKEN, &["--rate-limit", "100000", "--rate-burst", "100000"]).await;
    let addr = sidecar.addr;
    let mut pids = Pids(vec![
        ("sidecar", vec![sidecar.pid().expect("the sidecar's pid")]),
        ("kube-apiserver", vec![control_plane_pid("kube-apiserver")]),
        ("etcd", vec![control_plane_pid("etcd")]),
        ("benchmark", vec![std::process::id()]),
    ]);

    // 1. The company, through SCIM.
    let before_load = pids.sample();
    let load_shape = Shape::from_env();
    let (user_ids, group_ids, load) = tokio::task::spawn_blocking(move || load_company(addr, &load_shape)).await.expect("load");
    let after_load = pids.sample();
    println!("loop: {} users, {} groups loaded through SCIM: {load}", shape.users, group_ids.len());

    // 2. The raw reference, half before the rollout and half after it.
    let expected: Vec<usize> = (0..shape.hubs).map(|h| shape.seats(h)).collect();
    let accounts: usize = expected.iter().sum();
    let raw_ns = namespace(&client, "loop-raw").await;
    let raw_n = accounts.min(4000) / 2;
    let raw_before = raw_accounts(&client, &raw_ns, 0..raw_n).await;

    // 3. Twenty empty apps, their hubs in Enforce, the grants; then the operator.
    let mut apps = Apps { apps: Vec::new(), proxies: Vec::new() };
    for _ in 0..shape.hubs {
        let app = ScimApp::start().await;
        apps.proxies.push(RecordingProxy::start(app.addr));
        apps.apps.push(app);
    }
    let mut yaml = String::new();
    for h in 0..shape.hubs {
        let url = format!("http://{}{}", apps.proxies[h].addr, apps.apps[h].base_path);
        yaml.push_str(&format!(
            r#"---
apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: app-{h:02}, namespace: {ns}}}
spec:
  connector: {{type: Scim, url: "{url}", credentialsSecretRef: {{name: app-credentials}}}}
  roles:
  - {{name: member, weight: 1}}
  - {{name: admin, weight: 10, admin: true}}
  mode: Enforce
  syncInterval: {sync_interval}s
  safety: {{maxRemovalsPerWindow: 100, removalWindow: 1h, removalGracePeriod: 1h}}
---
apiVersion: rolecall.dev/v1alpha1
kind: AccessGrant
metadata: {{name: app-{h:02}-members, namespace: {ns}}}
spec: {{subject: {{team: "{division}"}}, hub: app-{h:02}, appRoles: [member]}}
---
apiVersion: rolecall.dev/v1alpha1
kind: AccessGrant
metadata: {{name: app-{h:02}-admins, namespace: {ns}}}
spec: {{subject: {{team: "{department}"}}, hub: app-{h:02}, appRoles: [admin]}}
"#,
            sync_interval = shape.sync_interval_s,
            division = group_ids[&format!("division-{}", h % DIVISIONS)],
            department = group_ids[&format!("department-{:04}", shape.admin_department(h))],
        ));
    }
    let (ok, out) = kubectl_apply(&yaml);
    assert!(ok, "{out}");
    let writes_before = api_writes(&client).await;
    let operator = Operator::start(&ns, "rolecall", "op-1", &["--resync", "5m"]);
    pids.0.push(("operator", vec![operator.pid()]));
    pids.0.push(("apps", apps.apps.iter().map(ScimApp::pid).collect()));
    let started = Instant::now();
    let cpu_before = pids.sample();

    // 4. Convergence: every account in its app, then every AppAccount onboarded.
    let mut hub_done: Vec<Option<f64>> = vec![None; shape.hubs];
    let limit = Duration::from_secs(600 + accounts as u64 / 10);
    wait_until(limit, Duration::from_millis(250), "every account in its app", async || {
        for (h, done) in hub_done.iter_mut().enumerate() {
            if done.is_none() && apps.created(h) >= expected[h] {
                *done = Some(started.elapsed().as_secs_f64());
            }
        }
        hub_done.iter().all(Option::is_some)
    })
    .await;
    let in_apps_s = started.elapsed().as_secs_f64();
    let writes_in_apps = diff(&api_writes(&client).await, &writes_before);
    let mut states = BTreeMap::new();
    wait_until(Duration::from_secs(600), Duration::from_secs(2), "every AppAccount onboarded", async || {
        states = account_states(&client, &ns).await;
        states.get("Onboarded").copied().unwrap_or(0) >= accounts
    })
    .await;
    let onboarded_s = started.elapsed().as_secs_f64();
    let cpu_converged = pids.sample();
    let writes_converged = diff(&api_writes(&client).await, &writes_before);
    for (h, want) in expected.iter().enumerate() {
        assert_eq!(apps.created(h), *want, "app-{h:02}: one account per seated user, none twice");
    }
    let raw_after = raw_accounts(&client, &raw_ns, raw_n..2 * raw_n).await;
    let raw_rate = (raw_before + raw_after) / 2.0;
    let converge_rate = accounts as f64 / onboarded_s;
    println!(
        "loop: convergence: {accounts} accounts in {in_apps_s:.1}s in the apps, {onboarded_s:.1}s onboarded = {converge_rate:.1}/s; raw {raw_rate:.1}/s; {:.2} API writes per account",
        total(&writes_converged) / accounts as f64
    );

    // 5. Steady state: a few sync intervals of every hub with no change.
    let writes_steady_before = api_writes(&client).await;
    let app_writes_before = apps.writes();
    let operator_writes_before = operator.metric("rolecall_api_writes_total");
    let steady_cpu_before = pids.sample();
    let list_before = apps.list_seconds();
    let (sync_sum_before, sync_n_before) = histogram(&operator, "rolecall_hub_sync_duration_seconds");
    let reads_before = operator.metric("rolecall_connector_reads_total");
    let steady_started = Instant::now();
    let steady_limit = Duration::from_secs(shape.sync_interval_s * (2 * shape.steady_read_backs as u64 + 2));
    wait_until(steady_limit, Duration::from_millis(500), "the steady state's read-backs of every hub", async || {
        operator.metric("rolecall_connector_reads_total") >= reads_before + (shape.steady_read_backs * shape.hubs) as f64
    })
    .await;
    let steady_s = steady_started.elapsed().as_secs_f64();
    let steady_cpu_after = pids.sample();
    let steady_writes = diff(&api_writes(&client).await, &writes_steady_before);
    let steady_app_writes = apps.writes() - app_writes_before;
    let steady_operator_writes = operator.metric("rolecall_api_writes_total") - operator_writes_before;
    let (sync_sum, sync_n) = histogram(&operator, "rolecall_hub_sync_duration_seconds");
    let read_backs = sync_n - sync_n_before;
    let read_back_s = (sync_sum - sync_sum_before) / read_backs.max(1.0);
    let app_answer_s = (apps.list_seconds() - list_before) / read_backs.max(1.0);
    let (plan_sum, plan_n) = histogram(&operator, "rolecall_hub_plan_duration_seconds");
    println!(
        "loop: steady state {steady_s:.0}s: {} API writes, {steady_app_writes} app write calls; read-back {read_back_s:.3}s of which the app {app_answer_s:.3}s; plan {:.4}s",
        total(&steady_writes),
        plan_sum / plan_n.max(1.0)
    );

    // 6. Propagation: seated users added to the next division at a steady rate,
    // under a background of attribute updates and an ungranted team's churn.
    let changes: Vec<(usize, usize)> =
        (0..shape.changes).map(|k| shape.changed_user(k)).map(|i| (i, (Shape::division(i) + 1) % DIVISIONS)).collect();
    let propagation_writes_before = api_writes(&client).await;
    let propagation_metrics_before = api_metrics(&client).await;
    let propagation_started = Instant::now();
    let reconciles_before = reconciles(&operator);
    let stop = Arc::new(AtomicBool::new(false));
    let background = {
        let (stop, ids, project) = (stop.clone(), user_ids.clone(), group_ids["project"].clone());
        let (rate, users) = (shape.background_rate, shape.users);
        std::thread::spawn(move || background_changes(addr, &stop, rate, &ids, &project, users))
    };
    let sends = {
        let division_ids: Vec<String> = (0..DIVISIONS).map(|d| group_ids[&format!("division-{d}")].clone()).collect();
        let (changes, ids, rate) = (changes.clone(), user_ids.clone(), shape.change_rate);
        tokio::task::spawn_blocking(move || {
            let mut conn = Conn::open(addr, TOKEN);
            let start = Instant::now();
            let mut sent = Vec::new();
            for (k, (i, division)) in changes.iter().enumerate() {
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[*i]}]}]});
                let at = Instant::now();
                let (status, answer) = conn.call("PATCH", &format!("/Groups/{}", division_ids[*division]), &body.to_string());
                assert!(status == 204 || status == 200, "{status} {answer}");
                sent.push(at);
            }
            sent
        })
        .await
        .expect("changes")
    };
    // Every change reaches each hub of its new division.
    let wanted: HashMap<(usize, String), usize> = changes
        .iter()
        .enumerate()
        .flat_map(|(k, (i, division))| (0..shape.hubs).filter(move |h| h % DIVISIONS == *division).map(move |h| ((h, Shape::email(*i)), k)))
        .collect();
    let mut arrived: HashMap<(usize, String), Instant> = HashMap::new();
    // Not a panic on timeout: the report says how far it got, then the test fails.
    let delivered = try_wait_until(Duration::from_secs(600), Duration::from_millis(500), async || {
        for (h, proxy) in apps.proxies.iter().enumerate() {
            for seen in proxy.seen().iter().filter(|s| s.at >= sends[0]) {
                if let Some(email) = created_user(seen) {
                    arrived.entry((h, email)).or_insert(seen.at);
                }
            }
        }
        wanted.keys().all(|k| arrived.contains_key(k))
    })
    .await
    .is_some();
    stop.store(true, Ordering::Relaxed);
    let background_sent = background.join().expect("background");
    let latency = |key: &(usize, String), k: usize| arrived.get(key).map(|at| at.saturating_duration_since(sends[k]).as_secs_f64());
    let per_invitation: Vec<f64> = wanted.iter().filter_map(|(key, k)| latency(key, *k)).collect();
    let mut per_change = vec![0.0f64; changes.len()];
    for (key, k) in &wanted {
        per_change[*k] = per_change[*k].max(latency(key, *k).unwrap_or(f64::INFINITY));
    }
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    for (h, _) in wanted.keys().filter(|key| !arrived.contains_key(*key)) {
        *missing.entry(format!("app-{h:02}")).or_default() += 1;
    }
    for (h, seated) in expected.iter().enumerate() {
        let extra = wanted.keys().filter(|(hub, _)| *hub == h).count();
        assert!(apps.created(h) <= seated + extra, "app-{h:02}: one invitation per change, none twice");
    }
    let propagation_s = propagation_started.elapsed().as_secs_f64();
    let propagation_writes = diff(&api_writes(&client).await, &propagation_writes_before);
    let propagation_write_s = api_write_seconds(&api_metrics(&client).await, &propagation_metrics_before);
    let reconciles_during: BTreeMap<String, Value> = reconciles(&operator)
        .into_iter()
        .map(|(controller, (sum, count))| {
            let (sum0, count0) = reconciles_before.get(&controller).copied().unwrap_or((0.0, 0.0));
            let n = count - count0;
            (controller, json!({"reconciles": n, "mean_s": (sum - sum0) / n.max(1.0)}))
        })
        .collect();
    let propagation = percentiles(per_invitation.clone());
    println!("loop: propagation of {} changes ({} invitations): {propagation}", changes.len(), per_invitation.len());
    // How long the apps themselves took to answer each invitation meanwhile: the
    // part of the latency that no operator can remove.
    let app_answers: Vec<f64> = apps
        .proxies
        .iter()
        .flat_map(|proxy| proxy.seen().into_iter().filter(|s| s.at >= sends[0] && created_user(s).is_some()))
        .map(|s| s.answered_at.saturating_duration_since(s.at).as_secs_f64())
        .collect();
    let app_answer = percentiles(app_answers);
    println!("loop: the apps' own answer to each invitation meanwhile: {app_answer}");

    let end = pids.sample();
    let (plan_sum, plan_n) = histogram(&operator, "rolecall_hub_plan_duration_seconds");
    let processes: BTreeMap<&str, Value> = end
        .iter()
        .map(|(name, s)| {
            let load_cpu = after_load.get(name).zip(before_load.get(name)).map(|(a, b)| a.cpu_s - b.cpu_s);
            let converge_cpu = cpu_converged.get(name).zip(cpu_before.get(name)).map(|(a, b)| a.cpu_s - b.cpu_s);
            let steady_cpu = steady_cpu_after.get(name).zip(steady_cpu_before.get(name)).map(|(a, b)| a.cpu_s - b.cpu_s);
            let propagation_cpu = steady_cpu_after.get(name).map(|b| s.cpu_s - b.cpu_s);
            let rss_after_load = after_load.get(name).map(|s| s.rss_mib);
            let rss_steady = steady_cpu_after.get(name).map(|s| s.rss_mib);
            (
                *name,
                json!({"cpu_s": {"load": load_cpu, "convergence": converge_cpu, "steady_state": steady_cpu, "propagation": propagation_cpu},
                       "rss_mib": {"after_load": rss_after_load, "steady_state": rss_steady, "end": s.rss_mib, "peak": s.hwm_mib}}),
            )
        })
        .collect();
    let report = json!({
        "machine": machine,
        "shape": {"users": shape.users, "teams": group_ids.len(), "hubs": shape.hubs, "accounts": accounts,
                  "departments": shape.departments, "sync_interval_s": shape.sync_interval_s},
        "load": load,
        "convergence": {
            "accounts": accounts, "in_apps_s": in_apps_s, "onboarded_s": onboarded_s,
            "accounts_per_s": converge_rate, "raw_accounts_per_s": raw_rate,
            "raw_before_per_s": raw_before, "raw_after_per_s": raw_after, "raw_accounts": 2 * raw_n,
            "ratio_to_raw": converge_rate / raw_rate,
            "hub_in_app_s": hub_done, "app_write_calls_per_s_per_app": accounts as f64 / shape.hubs as f64 / in_apps_s,
            "api_writes": writes_converged, "api_writes_in_apps": writes_in_apps,
            "api_writes_per_account": total(&writes_converged) / accounts as f64,
            "states": states,
        },
        "steady_state": {
            "seconds": steady_s, "read_backs": read_backs, "api_writes": steady_writes, "api_writes_total": total(&steady_writes),
            "operator_api_writes": steady_operator_writes, "app_write_calls": steady_app_writes,
            "read_back_s": read_back_s, "app_answer_s_per_read_back": app_answer_s,
            "operator_read_back_s": read_back_s - app_answer_s,
        },
        "plan": {"mean_s": plan_sum / plan_n.max(1.0), "plans": plan_n, "accounts_per_hub": accounts / shape.hubs},
        "propagation": {
            "changes": changes.len(), "change_rate_per_s": shape.change_rate, "background_changes": background_sent,
            "per_invitation_s": propagation, "per_change_all_apps_s": percentiles(per_change.clone()),
            "app_answer_per_invitation_s": app_answer,
            "seconds": propagation_s, "api_writes": propagation_writes, "api_server_s_per_write": propagation_write_s,
            "reconciles": reconciles_during, "undelivered_by_hub": missing,
            "samples_s": per_invitation,
        },
        "processes": processes,
    });
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench").into());
    std::fs::create_dir_all(&out).expect("report dir");
    let path = format!("{out}/whole-loop-{}.json", shape.users);
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("json")).expect("report written");
    println!("loop: report written to {path}");
    assert!(delivered, "invitations not delivered within 600 s of the last change, by hub: {missing:?}");
}

/// Other IdP changes while the propagation changes run: a user's name
/// updated, and a user added to or removed from a team no hub grants.
/// Returns how many were sent.
fn background_changes(addr: std::net::SocketAddr, stop: &AtomicBool, rate: f64, ids: &[String], project: &str, users: usize) -> usize {
    let mut conn = Conn::open(addr, TOKEN);
    let start = Instant::now();
    let mut sent = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let due = start + Duration::from_secs_f64(sent as f64 / rate.max(0.1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let user = |n: usize| (n * 7919 + 1) % users;
        let i = user(sent);
        let (path, op) = if sent.is_multiple_of(2) {
            (format!("/Users/{}", ids[i]), json!({"op": "replace", "path": "name.givenName", "value": format!("Renamed{sent}")}))
        } else if sent % 4 == 1 {
            (format!("/Groups/{project}"), json!({"op": "add", "path": "members", "value": [{"value": ids[i]}]}))
        } else {
            (format!("/Groups/{project}"), json!({"op": "remove", "path": format!("members[value eq \"{}\"]", ids[user(sent - 2)])}))
        };
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
        let (status, answer) = conn.call("PATCH", &path, &body.to_string());
        assert!(status == 200 || status == 204, "background change: {status} {answer}");
        sent += 1;
    }
    sent
}

/// What the figures came from.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: Option<f64> = meminfo.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_gib": mem_kib.map(|k| k / 1024.0 / 1024.0),
        "profile": "bench-build (opt-level 2)",
        "date": rolecall::api::time::now_rfc3339(),
        // Which build the figures came from (sizes are often run apart).
        "commit": git_commit(),
    })
}

/// The checkout's commit, marked `+changes` when its files differ from it.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| std::process::Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok();
    let head = git(&["rev-parse", "--short", "HEAD"]).filter(|o| o.status.success())?;
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{head}+changes") } else { head })
}
