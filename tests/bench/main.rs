//! `make bench`: SCIM provisioning at scale against the real API server.
//!
//! Creates users straight through the Kubernetes API (the raw rate a plain
//! client gets from this API server), then 10,000 users and 1,000 groups
//! through the SCIM sidecar, then times filtered GETs by userName. Prints the
//! numbers; it asserts nothing about speed (that is what a benchmark is for).
//! Sizes can be lowered with BENCH_USERS / BENCH_GROUPS.

#[path = "../integration/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, PostParams};
use rolecall::api::User;
use rolecall::api::user::UserSpec;
use serde_json::json;

use harness::{Sidecar, client, kubectl_apply, namespace, secret};

const CONCURRENCY: usize = 16;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with `make bench`"]
async fn scim_provisioning_at_scale() {
    let users_n = env_usize("BENCH_USERS", 10_000);
    let groups_n = env_usize("BENCH_GROUPS", 1_000);
    let client = client().await;

    // 1. The raw rate: a plain client creating User objects, same concurrency.
    let raw_ns = namespace(&client, "bench-raw").await;
    let raw_n = users_n / 2;
    let api: Api<User> = Api::namespaced(client.clone(), &raw_ns);
    let started = Instant::now();
    futures::stream::iter(0..raw_n)
        .map(|i| {
            let api = api.clone();
            async move {
                let spec = UserSpec {
                    user_name: format!("raw{i}@bench.example"),
                    external_id: None,
                    display_name: None,
                    name: None,
                    emails: vec![],
                    title: None,
                    enterprise: None,
                    active: Some(true),
                    external: false,
                    teams: vec![],
                };
                api.create(&PostParams::default(), &User::new(&format!("raw-{i}"), spec)).await.expect("raw create");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    let raw_rate = raw_n as f64 / started.elapsed().as_secs_f64();

    // 2. Through SCIM.
    let ns = namespace(&client, "bench-scim").await;
    secret(&client, &ns, "scim-tokens", "bench").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: idp, namespace: {ns}}}\nspec: {{provider: Entra, tokenSecretRef: {{name: scim-tokens}}}}\n"
    ));
    assert!(ok, "{out}");
    let scim = Arc::new(Sidecar::start_with(&ns, "test-value", &["--rate-limit", "100000", "--rate-burst", "100000"]).await);
    let started = Instant::now();
    let ids: Vec<String> = futures::stream::iter(0..users_n)
        .map(|i| {
            let scim = scim.clone();
            tokio::task::spawn_blocking(move || {
                let body = json!({"userName": format!("user{i}@bench.example"), "externalId": format!("ext-{i}"), "active": true,
                    "emails": [{"value": format!("user{i}@bench.example"), "type": "work", "primary": true}]});
                let (status, user, _) = scim.request_full("POST", "/Users", Some(&body.to_string()));
                assert_eq!(status, 201, "{user}");
                user["id"].as_str().unwrap_or_default().to_string()
            })
        })
        .buffer_unordered(CONCURRENCY)
        .map(|r| r.expect("task"))
        .collect()
        .await;
    let scim_elapsed = started.elapsed();
    let scim_rate = users_n as f64 / scim_elapsed.as_secs_f64();

    let started = Instant::now();
    let per_group = (users_n / groups_n.max(1)).clamp(1, 50);
    futures::stream::iter(0..groups_n)
        .map(|g| {
            let scim = scim.clone();
            let members: Vec<serde_json::Value> = (0..per_group).map(|k| json!({"value": ids[(g * per_group + k) % ids.len()]})).collect();
            tokio::task::spawn_blocking(move || {
                let body = json!({"displayName": format!("group-{g}"), "members": members});
                let (status, group, _) = scim.request_full("POST", "/Groups", Some(&body.to_string()));
                assert_eq!(status, 201, "{group}");
            })
        })
        .buffer_unordered(CONCURRENCY)
        .map(|r| r.expect("task"))
        .collect::<Vec<()>>()
        .await;
    let groups_elapsed = started.elapsed();

    // 3. Filtered GET by userName at that size, one request at a time.
    let mut latencies = Vec::new();
    for k in 0..1000 {
        let i = (k * 7919) % users_n;
        let path = format!("/Users?filter=userName%20eq%20%22user{i}@bench.example%22");
        let scim = scim.clone();
        let t = Instant::now();
        let (status, body, _) = tokio::task::spawn_blocking(move || scim.request_full("GET", &path, None)).await.expect("task");
        latencies.push(t.elapsed());
        assert_eq!((status, body["totalResults"].as_u64()), (200, Some(1)));
    }
    latencies.sort();

    println!("bench: raw User creates via the Kubernetes API: {raw_n} in {:.1} users/s ({CONCURRENCY} concurrent)", raw_rate);
    println!(
        "bench: SCIM POST /Users: {users_n} in {:.1}s = {:.1} users/s ({CONCURRENCY} concurrent), {:.2} of raw",
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
}
