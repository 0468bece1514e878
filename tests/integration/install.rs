//! The chart as a platform team installs it, on the real API server: `helm
//! lint`/`template` in every shape the values allow, `helm install` into a
//! namespace enforcing the restricted Pod Security profile (the Pod object is
//! admitted; a non-compliant one is refused), the operator and the SCIM
//! sidecar run through a whole lifecycle with tokens minted (TokenRequest) for
//! the chart's own service accounts, the `kubectl auth can-i` table of what
//! those accounts may and may not do, `helm upgrade` with a CRD change, `helm
//! test`, `helm uninstall` keeping the CRDs, and the kustomize bases in
//! `config/` applied server-side (dry run).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};
use rolecall::api::IdPBinding;
use rolecall::api::app_account::AccountState;
use serde_json::json;

use crate::harness::{Operator, Sidecar, client, kubeconfig, kubectl_apply, kubectl_output, secret, wait_for};
use crate::proxy::RecordingProxy;
use crate::scim_app::ScimApp;
use crate::world::{LIMIT, Workspace, World, active, state};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RELEASE: &str = "rolecall";
/// The release's namespace, enforcing the restricted profile.
const SYSTEM: &str = "install-system";
/// The namespace the release serves.
const SERVED: &str = "install-acme";
/// The CRDs the chart ships.
const CRDS: [&str; 7] = ["accessgrants", "appaccounts", "businesshubs", "idpbindings", "partners", "teams", "users"];

fn helm(args: &[&str]) -> (bool, String) {
    let out = Command::new(format!("{ROOT}/testenv/bin/helm")).args(args).env("KUBECONFIG", kubeconfig()).output().expect("helm runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn chart() -> String {
    format!("{ROOT}/charts/rolecall")
}

/// A scratch directory of this test run, under the control plane's directory.
fn scratch(name: &str) -> String {
    let dir = format!("{}/{name}", std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A fresh namespace enforcing the restricted Pod Security profile.
async fn restricted_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
    wait_for(Duration::from_secs(60), "old namespace to go", || async { api.get_opt(name).await.ok().flatten().is_none() }).await;
    let labels = [("pod-security.kubernetes.io/enforce", "restricted"), ("pod-security.kubernetes.io/enforce-version", "latest")];
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns).await.expect("namespace created");
    // What the serviceaccount controller (not run here) makes in every namespace;
    // Pods without a serviceAccountName (helm test's) need it to be admitted.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
    let default = ServiceAccount { metadata: ObjectMeta { name: Some("default".into()), ..Default::default() }, ..Default::default() };
    accounts.create(&PostParams::default(), &default).await.expect("default service account");
}

/// One step's wall time, printed as the test goes.
struct Clock(Instant);
impl Clock {
    fn lap(&mut self, what: &str) {
        println!("install: {what}: {:.1} s", self.0.elapsed().as_secs_f64());
        self.0 = Instant::now();
    }
}

#[tokio::test]
async fn the_chart_lints_and_templates_clean_in_every_shape() {
    kubeconfig();
    let shapes: [(&str, &[&str]); 9] = [
        ("defaults", &[]),
        ("cluster-wide", &["--set", "rbac.clusterWide=true"]),
        (
            "3 replicas, policies, monitoring",
            &[
                "--set",
                "replicas=3",
                "--set",
                "networkPolicy.enabled=true",
                "--set",
                "metrics.serviceMonitor.enabled=true",
                "--set",
                "metrics.prometheusRule.enabled=true",
                "--set",
                "metrics.dashboard.enabled=true",
            ],
        ),
        (
            "ingress, cert-manager",
            &[
                "--set",
                "ingress.enabled=true",
                "--set",
                "ingress.host=scim.example.com",
                "--set",
                "scim.tls.certManager.enabled=true",
                "--set",
                "scim.tls.certManager.issuerRef.name=letsencrypt",
            ],
        ),
        ("one service account", &["--set", "scim.serviceAccount.ownIdentity=false"]),
        ("TLS ends in front", &["--set", "scim.tls.enabled=false"]),
        ("CRDs managed elsewhere", &["--set", "crds.install=false"]),
        ("the UI in the cluster", &["--set", "ui.enabled=true", "--set", "ui.cookieSecure=true"]),
        ("the UI, cluster-wide", &["--set", "ui.enabled=true", "--set", "rbac.clusterWide=true"]),
    ];
    for (shape, set) in shapes {
        let chart = chart();
        let mut lint = vec!["lint", "--strict", chart.as_str()];
        lint.extend_from_slice(set);
        let (ok, out) = helm(&lint);
        assert!(ok && out.contains("0 chart(s) failed"), "helm lint ({shape}): {out}");
        let mut template = vec!["template", RELEASE, &chart, "--namespace", SYSTEM];
        template.extend_from_slice(set);
        let (ok, out) = helm(&template);
        assert!(ok, "helm template ({shape}): {out}");
        let kinds: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
        let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
        println!("helm lint --strict + template ({shape}): clean, {} objects: {}", kinds.len(), summary(&kinds));
        let ui = set.contains(&"ui.enabled=true");
        assert_eq!(count("Deployment"), 1 + usize::from(ui), "the operator's, and the UI's when ui.enabled ({shape})");
        assert_eq!(out.contains("- --in-cluster"), ui, "{shape}");
        assert_eq!(count("PodDisruptionBudget"), usize::from(set.contains(&"replicas=3")), "a PDB only above one replica ({shape})");
        let cluster_wide = set.contains(&"rbac.clusterWide=true");
        assert_eq!(count("ClusterRole") > 0, cluster_wide, "ClusterRoles only when cluster-wide is opted into ({shape})");
        assert_eq!(count("CustomResourceDefinition"), if set.contains(&"crds.install=false") { 0 } else { 7 }, "{shape}");
        assert!(!out.contains("privileged: true") && !out.contains("allowPrivilegeEscalation: true"), "{shape}");
    }
    // The schema and the guards refuse what cannot work.
    for (bad, why) in [
        (vec!["--set", "replicas=0"], "minimum"),
        (vec!["--set", "operatr.resync=1m"], "additional properties"),
        (vec!["--set", "operator.resync=soon"], "does not match pattern"),
        (vec!["--set", "watchNamespaces={a,b}"], "maxitems"),
        (vec!["--set", "ingress.enabled=true"], "ingress.host"),
    ] {
        let chart = chart();
        let mut args = vec!["template", RELEASE, chart.as_str()];
        args.extend(bad.iter().copied());
        let (ok, out) = helm(&args);
        assert!(!ok && out.to_lowercase().contains(why), "{bad:?} should be refused ({why}): {out}");
        println!(
            "refused {}: {}",
            bad[1],
            out.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().chars().take(160).collect::<String>()
        );
    }
}

/// The documents of a `helm template` run, parsed.
fn rendered(set: &[&str]) -> Vec<serde_yaml::Value> {
    let chart = chart();
    let mut args = vec!["template", RELEASE, chart.as_str(), "--namespace", SYSTEM];
    args.extend_from_slice(set);
    let (ok, out) = helm(&args);
    assert!(ok, "helm template {set:?}: {out}");
    out.split("\n---")
        .filter_map(|doc| serde_yaml::from_str::<serde_yaml::Value>(doc).ok())
        .filter(|doc| doc.get("kind").is_some())
        .collect()
}

fn of_kind<'a>(docs: &'a [serde_yaml::Value], kind: &str) -> Vec<&'a serde_yaml::Value> {
    docs.iter().filter(|d| d.get("kind").and_then(|k| k.as_str()) == Some(kind)).collect()
}

fn text<'a>(v: &'a serde_yaml::Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k)).and_then(|v| v.as_str())
}

fn items<'a>(v: &'a serde_yaml::Value, path: &[&str]) -> Vec<&'a serde_yaml::Value> {
    path.iter().try_fold(v, |v, k| v.get(*k)).and_then(|v| v.as_sequence()).map(|s| s.iter().collect()).unwrap_or_default()
}

/// Both processes serve /metrics (the operator on ROLECALL_METRICS_ADDR, the
/// sidecar on ROLECALL_SCIM_METRICS_ADDR): each address must be a named
/// container port, a port of the metrics Service the ServiceMonitor selects,
/// an endpoint of that ServiceMonitor, and a port the NetworkPolicy admits.
/// Without the sidecar's, the SCIM alerts (rolecall_scim_requests_total) get no data.
#[test]
fn the_service_monitor_scrapes_both_containers() {
    kubeconfig();
    let docs = rendered(&[
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "scim.metricsPort=9464",
    ]);
    let deployment = of_kind(&docs, "Deployment").remove(0);
    let monitor = *of_kind(&docs, "ServiceMonitor").first().expect("a ServiceMonitor");
    let policy = *of_kind(&docs, "NetworkPolicy").first().expect("a NetworkPolicy");
    let selector = monitor.get("spec").and_then(|s| s.get("selector")).and_then(|s| s.get("matchLabels")).expect("matchLabels");
    let selected: Vec<&serde_yaml::Value> = of_kind(&docs, "Service")
        .into_iter()
        .filter(|svc| {
            selector.as_mapping().is_some_and(|want| {
                want.iter().all(|(k, v)| svc.get("metadata").and_then(|m| m.get("labels")).and_then(|l| l.get(k)) == Some(v))
            })
        })
        .collect();
    assert_eq!(selected.len(), 1, "the ServiceMonitor selects one Service");
    let endpoints: Vec<&str> = items(monitor, &["spec", "endpoints"]).into_iter().filter_map(|e| text(e, &["port"])).collect();
    let policy_ports: Vec<&str> = items(policy, &["spec", "ingress"])
        .into_iter()
        .flat_map(|rule| items(rule, &["ports"]))
        .filter_map(|p| p.get("port").and_then(|p| p.as_str()))
        .collect();
    let mut scraped = Vec::new();
    for (container, env) in [("operator", "ROLECALL_METRICS_ADDR"), ("scim", "ROLECALL_SCIM_METRICS_ADDR")] {
        let c = items(deployment, &["spec", "template", "spec", "containers"])
            .into_iter()
            .find(|c| text(c, &["name"]) == Some(container))
            .unwrap_or_else(|| panic!("container {container}"));
        let addr = items(c, &["env"])
            .into_iter()
            .find(|e| text(e, &["name"]) == Some(env))
            .and_then(|e| text(e, &["value"]))
            .unwrap_or_else(|| panic!("container {container} sets no {env}: its /metrics is not served"));
        let port: u64 = addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{env}={addr}"));
        let port_name = items(c, &["ports"])
            .into_iter()
            .find(|p| p.get("containerPort").and_then(|n| n.as_u64()) == Some(port))
            .and_then(|p| text(p, &["name"]))
            .unwrap_or_else(|| panic!("container {container} does not expose its metrics port {port}"));
        let service_port = items(selected[0], &["spec", "ports"])
            .into_iter()
            .find(|p| text(p, &["targetPort"]) == Some(port_name))
            .and_then(|p| text(p, &["name"]))
            .unwrap_or_else(|| panic!("the metrics Service has no port for {container}'s {port_name}"));
        assert!(endpoints.contains(&service_port), "the ServiceMonitor does not scrape {container} (port {service_port}): {endpoints:?}");
        assert!(policy_ports.contains(&port_name), "the NetworkPolicy does not admit {container}'s {port_name}: {policy_ports:?}");
        scraped.push(format!("{container} {env}={addr} -> containerPort {port_name} -> Service port {service_port}"));
    }
    assert!(scraped[1].contains("9464"), "scim.metricsPort reaches the sidecar: {scraped:?}");
    println!("ServiceMonitor endpoints {endpoints:?} scrape both containers: {}", scraped.join("; "));
    // Two containers share the Pod's network, so the chart refuses one port for two servers.
    let chart = chart();
    let (ok, out) = helm(&["template", RELEASE, chart.as_str(), "--set", "scim.metricsPort=8080"]);
    assert!(!ok && out.contains("must differ"), "a clash of operator.metricsPort and scim.metricsPort was not refused: {out}");
}

fn summary(kinds: &[&str]) -> String {
    let mut counted: std::collections::BTreeMap<&str, usize> = Default::default();
    for k in kinds {
        *counted.entry(k).or_default() += 1;
    }
    counted.iter().map(|(k, n)| format!("{k} ×{n}")).collect::<Vec<_>>().join(", ")
}

/// Helm takes over CRDs another path applied only when they carry its ownership
/// metadata (the suite applies `crds/` for every other test).
fn adopt_crds() {
    for crd in CRDS {
        let name = format!("crd/{crd}.rolecall.dev");
        let (ok, out) = kubectl_output(&["label", "--overwrite", &name, "app.kubernetes.io/managed-by=Helm"]);
        assert!(ok, "{out}");
        let (ok, out) = kubectl_output(&[
            "annotate",
            "--overwrite",
            &name,
            &format!("meta.helm.sh/release-name={RELEASE}"),
            &format!("meta.helm.sh/release-namespace={SYSTEM}"),
        ]);
        assert!(ok, "{out}");
    }
}

#[tokio::test]
async fn the_chart_installs_restricted_and_runs_with_least_privilege() {
    let started = Instant::now();
    let mut clock = Clock(Instant::now());
    let client = client().await;
    let _ = helm(&["uninstall", RELEASE, "--namespace", SYSTEM]);
    restricted_namespace(&client, SYSTEM).await;
    let served = crate::harness::namespace(&client, SERVED).await;
    let dir = scratch("install");
    let values = format!("{dir}/values.yaml");
    std::fs::write(&values, format!("watchNamespaces: [{served}]\noperator:\n  logFormat: text\nui:\n  enabled: true\n"))
        .expect("values file");

    // The namespace refuses what the profile forbids, so its admission below means something.
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: not-restricted, namespace: {SYSTEM}}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n"
    ));
    assert!(!ok && out.contains("violates PodSecurity \"restricted:latest\""), "a non-compliant Pod was not refused: {out}");
    println!("non-compliant Pod in {SYSTEM}: refused: {}", out.trim().chars().take(240).collect::<String>());

    adopt_crds();
    let (ok, out) = helm(&["install", RELEASE, &chart(), "--namespace", SYSTEM, "-f", &values]);
    assert!(ok, "helm install: {out}");
    assert!(!out.contains("would violate PodSecurity"), "{out}");
    println!(
        "helm install: {}",
        out.lines().filter(|l| l.starts_with("STATUS") || l.starts_with("REVISION")).collect::<Vec<_>>().join(", ")
    );
    clock.lap("helm install");

    // Deployment → ReplicaSet → Pod: the Pod object is admitted by the restricted profile.
    let pods: Api<Pod> = Api::namespaced(client.clone(), SYSTEM);
    let selector = ListParams::default().labels(&format!("app.kubernetes.io/instance={RELEASE},app.kubernetes.io/name=rolecall"));
    wait_for(LIMIT, "the ReplicaSet's Pod", || async { pods.list(&selector).await.is_ok_and(|l| !l.items.is_empty()) }).await;
    let pod = pods.list(&selector).await.expect("pods").items.remove(0);
    let spec = pod.spec.clone().expect("pod spec");
    for c in &spec.containers {
        let sc = c.security_context.clone().expect("container securityContext");
        println!(
            "admitted Pod {}: container {} runAsNonRoot={:?} readOnlyRootFilesystem={:?} allowPrivilegeEscalation={:?} drop={:?} seccomp={:?}",
            pod.metadata.name.as_deref().unwrap_or_default(),
            c.name,
            sc.run_as_non_root,
            sc.read_only_root_filesystem,
            sc.allow_privilege_escalation,
            sc.capabilities.and_then(|c| c.drop),
            sc.seccomp_profile.map(|s| s.type_)
        );
    }
    let phase = pod.status.and_then(|s| s.phase).unwrap_or_default();
    println!("Pod phase: {phase} (no scheduler or kubelet here)");
    assert_eq!(spec.containers.len(), 2, "operator and scim");
    assert_eq!(phase, "Pending");
    // ui.enabled: the UI's Deployment has a Pod of its own, admitted by the same profile, selected by no operator selector.
    let ui_selector = ListParams::default().labels(&format!("app.kubernetes.io/instance={RELEASE},app.kubernetes.io/name=rolecall-ui"));
    wait_for(LIMIT, "the UI's Pod", || async { pods.list(&ui_selector).await.is_ok_and(|l| !l.items.is_empty()) }).await;
    let ui_pod = pods.list(&ui_selector).await.expect("pods").items.remove(0);
    let ui_spec = ui_pod.spec.expect("ui pod spec");
    let ui_sc = ui_spec.containers[0].security_context.clone().expect("ui securityContext");
    assert_eq!(ui_spec.containers.len(), 1);
    assert_eq!(
        (ui_sc.run_as_non_root, ui_sc.read_only_root_filesystem, ui_sc.allow_privilege_escalation),
        (Some(true), Some(true), Some(false))
    );
    assert!(ui_spec.containers[0].args.as_ref().is_some_and(|a| a.iter().any(|x| x == "--in-cluster")));
    println!(
        "admitted UI Pod {} (ServiceAccount {}): runAsNonRoot, readOnlyRootFilesystem, no privilege escalation",
        ui_pod.metadata.name.as_deref().unwrap_or_default(),
        ui_spec.service_account_name.as_deref().unwrap_or_default()
    );
    clock.lap("Pod admitted");

    // Tokens for the chart's two service accounts, written as kubeconfigs.
    let out = Command::new(format!("{ROOT}/hack/chart-identity.sh"))
        .args([&dir, SYSTEM, "-f", &values])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("chart-identity.sh runs");
    assert!(out.status.success(), "chart-identity.sh: {}", String::from_utf8_lossy(&out.stderr));
    let identity = std::fs::read_to_string(format!("{dir}/identity.env")).expect("identity.env");
    assert!(identity.contains(&format!("ROLECALL_WATCH_NAMESPACE={served}")), "{identity}");
    let lease = identity.lines().find_map(|l| l.strip_prefix("ROLECALL_LEASE_NAME=")).expect("lease name").to_string();
    clock.lap("tokens minted");

    lifecycle_with_minted_tokens(&client, &dir, &served, &lease).await;
    clock.lap("lifecycle under the service accounts' tokens");

    can_i_table(&served);
    clock.lap("can-i table");

    helm_test(&pods).await;
    clock.lap("helm test");

    upgrade_with_a_crd_change(&client, &dir, &values).await;
    clock.lap("helm upgrade with a CRD change, and back");

    let (ok, out) = helm(&["uninstall", RELEASE, "--namespace", SYSTEM, "--wait"]);
    assert!(ok, "helm uninstall: {out}");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), SYSTEM);
    wait_for(LIMIT, "the Deployment to go", || async { deployments.get_opt(RELEASE).await.is_ok_and(|d| d.is_none()) }).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in CRDS {
        let kept = crds.get(&format!("{crd}.rolecall.dev")).await.expect("the CRD is kept after helm uninstall");
        assert_eq!(kept.metadata.annotations.unwrap_or_default().get("helm.sh/resource-policy").map(String::as_str), Some("keep"));
    }
    let bindings: Api<IdPBinding> = Api::namespaced(client.clone(), &served);
    assert!(bindings.get_opt("entra").await.expect("get").is_some(), "the objects stay with their CRDs");
    println!("helm uninstall: {out}; the 7 CRDs and the workspace's objects are kept");
    clock.lap("helm uninstall");
    println!("install: whole test: {:.1} s", started.elapsed().as_secs_f64());
}

/// The IdP pushes users and groups through the sidecar; a hub in Enforce on a
/// real SCIM app; a grant; invitations; a removal. Both processes run as the
/// chart's service accounts; neither may meet a `forbidden`.
async fn lifecycle_with_minted_tokens(client: &Client, dir: &str, served: &str, lease: &str) {
    secret(client, served, "idp-tokens", "token").await;
    secret(client, served, "app-credentials", "token").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: entra, namespace: {served}}}\nspec: {{provider: Entra, tokenSecretRef: {{name: idp-tokens}}}}\n"
    ));
    assert!(ok, "{out}");
    let scim_kubeconfig = format!("{dir}/scim.kubeconfig");
    let operator_kubeconfig = format!("{dir}/operator.kubeconfig");
    let idp = Sidecar::start_as(&scim_kubeconfig, served, "test-value").await;
    let app = ScimApp::start().await;
    let proxy = RecordingProxy::start(app.addr);
    let w = World { ws: Workspace { ns: served.to_string(), idp }, app, proxy };

    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let carol = w.idp_user("carol").await;
    let eng = w.idp_group("Engineering", &[&alice, &bob, &carol]).await;
    w.hub("app", "Enforce", "");
    w.grant("engineering", &eng, "member", "app");
    let operator = Operator::start_as(
        &operator_kubeconfig,
        served,
        lease,
        "chart-op",
        &["--lease-namespace", SYSTEM, "--resync", "2s", "--lease-duration", "6s", "--lease-retry", "1s"],
    );
    for email in ["alice@acme.io", "bob@acme.io", "carol@acme.io"] {
        w.wait_account(email, "invited and Onboarded", |a| state(a) == Some(AccountState::Onboarded) && active(a)).await;
    }
    let (status, body) =
        w.idp.send("PATCH", &format!("/Users/{bob}"), json!({"Operations": [{"op": "Replace", "path": "active", "value": false}]})).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    w.wait_account("bob@acme.io", "removed after the grace period", |a| !active(a)).await;
    operator.wait_read_backs(2).await;

    // The sidecar wrote its binding's status; the operator holds its Lease.
    let bindings: Api<IdPBinding> = Api::namespaced(client.clone(), served);
    wait_for(LIMIT, "the sidecar's IdPBinding status", || async {
        bindings.get("entra").await.is_ok_and(|b| b.status.is_some_and(|s| s.users == Some(3) && s.last_request_time.is_some()))
    })
    .await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), SYSTEM);
    let holder = leases.get(lease).await.expect("the Lease").spec.and_then(|s| s.holder_identity);
    assert_eq!(holder.as_deref(), Some("chart-op"));

    let logs_dir = std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into());
    let operator_log = std::fs::read_to_string(format!("{logs_dir}/operator-{served}-chart-op.log")).expect("operator log");
    let scim_log = std::fs::read_to_string(format!("{logs_dir}/scim-{served}.log")).expect("sidecar log");
    let forbidden = |log: &str| log.lines().filter(|l| l.to_lowercase().contains("forbidden")).count();
    let events: Api<Event> = Api::namespaced(client.clone(), served);
    let warnings: Vec<String> = events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter_map(|e| e.message)
        .filter(|m| m.to_lowercase().contains("forbidden"))
        .collect();
    let accounts = w.accounts().await.len();
    let writes = w.proxy.writes().len();
    println!(
        "lifecycle as system:serviceaccount:{SYSTEM}:rolecall-operator and :rolecall-scim: 3 users + 1 group pushed, {accounts} accounts, {writes} app writes (3 invitations, 1 removal); 'forbidden' in the operator's log: {}, in the sidecar's log: {}, RBAC Warning Events: {}",
        forbidden(&operator_log),
        forbidden(&scim_log),
        warnings.len()
    );
    assert_eq!(forbidden(&operator_log), 0, "{operator_log}");
    assert_eq!(forbidden(&scim_log), 0, "{scim_log}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(operator_log.contains("became the leader") && operator_log.contains("controllers started"), "{operator_log}");
    let _ = carol;
}

/// `kubectl auth can-i` as each service account, printed as a table; every
/// row must say what the chart means it to.
fn can_i_table(served: &str) {
    let operator = format!("system:serviceaccount:{SYSTEM}:rolecall-operator");
    let scim = format!("system:serviceaccount:{SYSTEM}:rolecall-scim");
    let ui = format!("system:serviceaccount:{SYSTEM}:rolecall-ui");
    // (who, verb, resource, subresource, namespace, expected)
    let rows: Vec<(&str, &str, &str, &str, &str, bool)> = vec![
        ("operator", "watch", "businesshubs.rolecall.dev", "", served, true),
        ("operator", "list", "users.rolecall.dev", "", served, true),
        ("operator", "get", "accessgrants.rolecall.dev", "", served, true),
        ("operator", "patch", "businesshubs.rolecall.dev", "status", served, true),
        ("operator", "patch", "appaccounts.rolecall.dev", "status", served, true),
        ("operator", "patch", "users.rolecall.dev", "status", served, true),
        ("operator", "create", "appaccounts.rolecall.dev", "", served, true),
        ("operator", "delete", "appaccounts.rolecall.dev", "", served, true),
        ("operator", "watch", "partners.rolecall.dev", "", served, true),
        ("operator", "patch", "partners.rolecall.dev", "status", served, true),
        ("operator", "update", "partners.rolecall.dev", "", served, false),
        ("operator", "delete", "partners.rolecall.dev", "", served, false),
        ("operator", "update", "users.rolecall.dev", "", served, false),
        ("operator", "delete", "businesshubs.rolecall.dev", "", served, false),
        ("operator", "create", "events.events.k8s.io", "", served, true),
        ("operator", "get", "leases.coordination.k8s.io/rolecall-operator", "", SYSTEM, true),
        ("operator", "update", "leases.coordination.k8s.io/rolecall-operator", "", SYSTEM, true),
        ("operator", "update", "leases.coordination.k8s.io/someone-else", "", SYSTEM, false),
        ("operator", "get", "secrets", "", served, true),
        ("operator", "watch", "secrets", "", served, true),
        ("operator", "create", "secrets", "", served, false),
        ("operator", "get", "secrets", "", SYSTEM, false),
        ("operator", "get", "secrets", "", "default", false),
        ("operator", "list", "secrets", "", "kube-system", false),
        ("operator", "create", "pods", "", served, false),
        ("operator", "patch", "pods", "", SYSTEM, false),
        ("operator", "create", "deployments.apps", "", SYSTEM, false),
        ("operator", "patch", "deployments.apps", "", SYSTEM, false),
        ("operator", "create", "roles.rbac.authorization.k8s.io", "", served, false),
        ("operator", "create", "rolebindings.rbac.authorization.k8s.io", "", SYSTEM, false),
        ("operator", "create", "clusterrolebindings.rbac.authorization.k8s.io", "", "", false),
        ("operator", "update", "customresourcedefinitions.apiextensions.k8s.io", "", "", false),
        ("operator", "create", "customresourcedefinitions.apiextensions.k8s.io", "", "", false),
        ("operator", "create", "configmaps", "", served, false),
        ("operator", "create", "jobs.batch", "", served, false),
        ("scim", "create", "users.rolecall.dev", "", served, true),
        ("scim", "update", "users.rolecall.dev", "", served, true),
        ("scim", "delete", "teams.rolecall.dev", "", served, true),
        ("scim", "watch", "idpbindings.rolecall.dev", "", served, true),
        ("scim", "patch", "idpbindings.rolecall.dev", "status", served, true),
        ("scim", "update", "idpbindings.rolecall.dev", "", served, false),
        ("scim", "create", "appaccounts.rolecall.dev", "", served, false),
        ("scim", "patch", "businesshubs.rolecall.dev", "status", served, false),
        ("scim", "get", "secrets", "", served, true),
        ("scim", "list", "secrets", "", served, false),
        ("scim", "get", "secrets", "", "default", false),
        ("scim", "create", "events.events.k8s.io", "", served, false),
        ("scim", "update", "leases.coordination.k8s.io/rolecall-operator", "", SYSTEM, false),
        ("scim", "create", "pods", "", served, false),
        ("scim", "create", "rolebindings.rbac.authorization.k8s.io", "", served, false),
        // ui.enabled: the UI's account feeds its AppAccount cache in the served namespace; pages read as each viewer.
        ("ui", "watch", "appaccounts.rolecall.dev", "", served, true),
        ("ui", "list", "appaccounts.rolecall.dev", "", "default", false),
        ("ui", "get", "businesshubs.rolecall.dev", "", served, false),
        ("ui", "patch", "appaccounts.rolecall.dev", "", served, false),
        ("ui", "delete", "appaccounts.rolecall.dev", "", served, false),
        ("ui", "patch", "businesshubs.rolecall.dev", "", served, false),
        ("ui", "get", "secrets", "", served, false),
        ("ui", "impersonate", "users", "", "", false),
        ("ui", "impersonate", "groups", "", "", false),
    ];
    let header = ["account", "verb", "resource", "namespace"];
    println!("{:<9} {:<7} {:<55} {:<16} allowed", header[0], header[1], header[2], header[3]);
    let mut wrong = Vec::new();
    for (who, verb, resource, sub, ns, expected) in &rows {
        let user = match *who {
            "operator" => &operator,
            "scim" => &scim,
            _ => &ui,
        };
        let allowed = crate::harness::can_i(user, verb, resource, sub, ns);
        let shown = if sub.is_empty() { resource.to_string() } else { format!("{resource} ({sub})") };
        println!(
            "{who:<9} {verb:<7} {shown:<55} {:<16} {}",
            if ns.is_empty() { "(cluster)" } else { ns },
            if allowed { "yes" } else { "no" }
        );
        if allowed != *expected {
            wrong.push(format!("{who} {verb} {shown} in {ns}: {allowed}, expected {expected}"));
        }
    }
    let (yes, no) = (rows.iter().filter(|r| r.5).count(), rows.iter().filter(|r| !r.5).count());
    println!("can-i: {} checks, {yes} allowed, {no} refused, {} unexpected", rows.len(), wrong.len());
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// `helm test` creates its hook Pod (admitted by the restricted profile), which
/// cannot run without a kubelet: helm waits for it and gives up.
async fn helm_test(pods: &Api<Pod>) {
    let (ok, out) = helm(&["test", RELEASE, "--namespace", SYSTEM, "--timeout", "5s"]);
    let hook = pods.get_opt(&format!("{RELEASE}-test-scim")).await.expect("get").expect("the helm test Pod was created and admitted");
    let phase = hook.status.and_then(|s| s.phase).unwrap_or_default();
    println!(
        "helm test: hook Pod {RELEASE}-test-scim admitted, phase {phase}; helm test {} ({})",
        if ok { "passed" } else { "timed out waiting for it" },
        out.lines().last().unwrap_or_default()
    );
    assert!(!ok, "helm test cannot pass without a kubelet: {out}");
    assert_eq!(phase, "Pending");
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `helm upgrade` with a chart whose User CRD gained a printer column: the
/// served CRD changes. Then back to the real chart, and the column is gone.
async fn upgrade_with_a_crd_change(client: &Client, dir: &str, values: &str) {
    let changed = format!("{dir}/chart-with-a-new-column");
    copy_tree(Path::new(&chart()), Path::new(&changed));
    let users_crd = format!("{changed}/templates/crds/users.yaml");
    let text = std::fs::read_to_string(&users_crd).expect("users CRD template");
    let column = "  - additionalPrinterColumns:\n    - jsonPath: .metadata.labels.team\n      name: InstallTest\n      type: string\n";
    assert!(text.contains("  - additionalPrinterColumns:\n"), "the users CRD has printer columns");
    std::fs::write(&users_crd, text.replacen("  - additionalPrinterColumns:\n", column, 1)).expect("write");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let columns = || async {
        crds.get("users.rolecall.dev")
            .await
            .ok()
            .and_then(|c| c.spec.versions.first().cloned())
            .and_then(|v| v.additional_printer_columns)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    let before = columns().await;
    assert!(!before.contains(&"InstallTest".to_string()), "{before:?}");

    // The CRDs were first applied by kubectl (the suite's install_crds) and adopted:
    // kubectl still co-owns their fields, so the first change takes them over.
    let (ok, out) = helm(&["upgrade", RELEASE, &changed, "--namespace", SYSTEM, "-f", values, "--force-conflicts"]);
    assert!(ok, "helm upgrade: {out}");
    let after = columns().await;
    println!("helm upgrade with a new printer column: users.rolecall.dev columns {before:?} → {after:?}");
    assert!(after.contains(&"InstallTest".to_string()), "{after:?}");

    let (ok, out) = helm(&["upgrade", RELEASE, &chart(), "--namespace", SYSTEM, "-f", values]);
    assert!(ok, "helm upgrade back: {out}");
    let back = columns().await;
    assert_eq!(back, before, "the upgrade back restores the columns");
    let (ok, history) = helm(&["history", RELEASE, "--namespace", SYSTEM]);
    assert!(ok, "{history}");
    println!("helm history:\n{history}");
}

#[tokio::test]
async fn the_kustomize_bases_build_and_apply_server_side() {
    let client = client().await;
    for base in ["crd", "rbac", "manager", "prometheus", "default", "samples"] {
        let (ok, out) = kubectl_output(&["kustomize", &format!("{ROOT}/config/{base}")]);
        assert!(ok, "kubectl kustomize config/{base}: {out}");
        println!("kubectl kustomize config/{base}: {} objects", out.lines().filter(|l| l.starts_with("kind: ")).count());
    }
    // config/default names its namespace; a dry run cannot create it, so it is made first.
    restricted_namespace(&client, "rolecall-system").await;
    let (ok, out) =
        kubectl_output(&["apply", "--server-side", "--force-conflicts", "--dry-run=server", "-k", &format!("{ROOT}/config/default")]);
    assert!(ok, "server-side dry run of config/default: {out}");
    assert!(!out.contains("PodSecurity"), "{out}");
    println!("kubectl apply --server-side --dry-run=server -k config/default:\n{}", out.trim());

    // The chart's other shapes, as the API server would take them (strict field validation).
    for (shape, set) in [
        ("cluster-wide", vec!["--set", "rbac.clusterWide=true"]),
        (
            "3 replicas, NetworkPolicy, Ingress",
            vec![
                "--set",
                "replicas=3",
                "--set",
                "networkPolicy.enabled=true",
                "--set",
                "ingress.enabled=true",
                "--set",
                "ingress.host=scim.example.com",
            ],
        ),
    ] {
        let chart = chart();
        let mut args = vec!["template", "rolecall", chart.as_str(), "--namespace", "rolecall-system", "--set", "crds.install=false"];
        args.extend(set.iter().copied());
        let (ok, rendered) = helm(&args);
        assert!(ok, "{rendered}");
        let manifest = format!("{}/shape.yaml", scratch("install-shapes"));
        std::fs::write(&manifest, &rendered).expect("manifest");
        let (ok, out) = kubectl_output(&["apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", &manifest]);
        assert!(ok && !out.contains("PodSecurity"), "server-side dry run of the chart ({shape}): {out}");
        println!("helm template ({shape}) | kubectl apply --server-side --dry-run=server: {} objects accepted", out.lines().count());
    }
}
