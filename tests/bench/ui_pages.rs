//! `make bench-ui`: how fast `rolecall ui` pages a hub of 10,000 and then
//! 50,000 AppAccounts. The accounts are written straight through the API (no
//! operator: a create and a status apply each, 16 at a time, as fast as the
//! API server takes them); then, per size: time to first byte and to the last
//! byte of a first page, a search and a later page (the server's own time,
//! one request per connection), and Chromium's `--dump-dom` wall time for the
//! same pages (a whole browser start, load, render and exit). Prints `ui:`
//! lines; asserts nothing about speed. Sizes: BENCH_UI_SIZES (default
//! "10000 50000").

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use kube::Resource;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use rolecall::api::AppAccount;
use rolecall::api::app_account::{AccountState, AccountWorkspaceRole, AppAccountSpec, AppAccountStatus, UserTable};
use serde_json::json;

use crate::browser::{UiServer, dump_dom_timed};
use crate::harness::{client, kubeconfig, kubectl_apply, memory_kib, namespace};
use crate::per_second;

const HUB: &str = "big";
const WRITERS: usize = 16;
const RUNS: usize = 5;

/// Writes accounts `range` of the hub: create, then the status the operator would write.
async fn write_accounts(api: &Api<AppAccount>, range: std::ops::Range<usize>) -> f64 {
    per_second(range, WRITERS, |i| {
        let api = api.clone();
        async move {
            let email = format!("person{i:05}@bench.example");
            let name = format!("{HUB}-{i:05}");
            let account = AppAccount {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    labels: Some([(rolecall::api::wire::HUB_LABEL.to_string(), HUB.to_string())].into()),
                    ..Default::default()
                },
                spec: AppAccountSpec { hub: HUB.into(), email: email.clone(), match_user: None, exemption: None },
                status: None,
            };
            api.create(&PostParams::default(), &account).await.expect("create");
            let (table, state) = match i % 50 {
                0 => (UserTable::Unmatched, AccountState::ExternalEnrollee),
                1 => (UserTable::Guest, AccountState::Onboarded),
                2 => (UserTable::Onboarded, AccountState::InviteSent),
                _ => (UserTable::Onboarded, AccountState::Onboarded),
            };
            let status = AppAccountStatus {
                table: Some(table),
                state: Some(state),
                external_id: Some(format!("ext-{i}")),
                app_roles: vec![if i % 10 == 0 { "admin" } else { "member" }.into()],
                granted_via: vec![format!("team-{}", i % 40)],
                matched_user: (table != UserTable::Unmatched).then(|| format!("user-{i:05}")),
                user_name: Some(email),
                display_name: Some(format!("Person {i:05}")),
                workspace_role: Some(AccountWorkspaceRole::Collaborator),
                last_used: Some(format!("2026-11-{:02}T10:00:00Z", 1 + i % 28)),
                managed: true,
                ..Default::default()
            };
            let patch = json!({"apiVersion": AppAccount::api_version(&()), "kind": AppAccount::kind(&()), "status": status});
            api.patch_status(&name, &PatchParams::apply("bench-ui").force(), &Patch::Apply(&patch)).await.expect("status");
        }
    })
    .await
}

/// One GET on its own connection: (time to the first byte of the answer, to its last byte, body bytes).
fn timed_get(addr: SocketAddr, path: &str) -> (Duration, Duration, usize) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(300))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).expect("first byte");
    let ttfb = started.elapsed();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).expect("body");
    let text = String::from_utf8_lossy(&rest);
    assert!(text.starts_with("TTP/1.1 200"), "GET {path}: {}", text.lines().next().unwrap_or(""));
    (ttfb, started.elapsed(), rest.len() + 1)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with `make bench-ui`"]
async fn ui_pages_of_a_large_hub() {
    let sizes: Vec<usize> = std::env::var("BENCH_UI_SIZES")
        .unwrap_or_else(|_| "10000 50000".into())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    let client = client().await;
    let ns = namespace(&client, "bench-ui").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: BusinessHub\nmetadata: {{name: {HUB}, namespace: {ns}}}\nspec:\n  connector: {{type: Scim, url: \"http://127.0.0.1:9/scim/v2\", credentialsSecretRef: {{name: app-credentials}}}}\n  roles: [{{name: member, weight: 1}}, {{name: admin, weight: 10}}]\n"
    ));
    assert!(ok, "{out}");
    let api: Api<AppAccount> = Api::namespaced(client.clone(), &ns);
    let mut written = 0;
    for size in sizes {
        let rate = write_accounts(&api, written..size).await;
        println!(
            "ui: wrote accounts {written}..{size} through the API at {rate:.0} accounts/s (create + status apply, {WRITERS} at a time)"
        );
        written = size;

        // A fresh server: its first page waits for the watch to list every account.
        let ui = UiServer::start(&kubeconfig(), &["--namespace", &ns]).await;
        let hub = format!("/ns/{ns}/hubs/{HUB}");
        let (ttfb, total, _) = timed_get(ui.addr, &hub);
        println!(
            "ui: {size} accounts: cold first page (loads the namespace's cache by watch): TTFB {:.0} ms, whole page {:.0} ms",
            ms(ttfb),
            ms(total)
        );

        let later = size / 50 / 2; // a page in the middle of the Onboarded table
        let pages = [
            ("first page", hub.clone()),
            ("search q=person04242 (narrows to 1)", format!("{hub}?q=person04242")),
            ("search q=team-7 (~1/40 of the hub)", format!("{hub}?q=team-7")),
            (&*format!("later page {later}"), format!("{hub}?page={later}")),
            ("sort by last used, descending", format!("{hub}?sort=-last_used")),
        ]
        .map(|(what, path)| (what.to_string(), path));
        for (what, path) in &pages {
            let mut ttfbs = Vec::new();
            let mut totals = Vec::new();
            let mut bytes = 0;
            for _ in 0..RUNS {
                let (t, all, b) = timed_get(ui.addr, path);
                ttfbs.push(t);
                totals.push(all);
                bytes = b;
            }
            println!(
                "ui: {size} accounts: {what}: TTFB median {:.1} ms (max {:.1}), whole page median {:.1} ms, {} KiB, over {RUNS} GETs",
                ms(median(ttfbs.clone())),
                ms(ttfbs.iter().copied().max().unwrap_or_default()),
                ms(median(totals)),
                bytes / 1024
            );
        }
        let (_, baseline) = dump_dom_timed(&ui.url("/healthz"));
        println!("ui: chromium --dump-dom of /healthz (browser start + exit, the floor): {:.0} ms", ms(baseline));
        for (what, path) in &pages {
            let mut walls = Vec::new();
            let mut rows = 0;
            for _ in 0..3 {
                let (dom, wall) = dump_dom_timed(&ui.url(path));
                rows = dom.matches("<tr data-account=").count();
                walls.push(wall);
            }
            println!(
                "ui: {size} accounts: {what}: chromium --dump-dom wall median {:.0} ms over 3 ({rows} rows rendered)",
                ms(median(walls))
            );
        }
        if let Some((rss, peak)) = memory_kib(ui.pid()) {
            println!("ui: {size} accounts: rolecall ui memory: RSS {} MiB, peak {} MiB", rss / 1024, peak / 1024);
        }
    }
}
