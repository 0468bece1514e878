//! The operator as a real process against the real API server: conditions,
//! Warning Events, no writes at steady state, and leader failover.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::{Api, Client, ResourceExt};
use rolecall::api::condition::find_condition;
use rolecall::api::{AccessGrant, BusinessHub, IdPBinding, Team, User};

use crate::github_standin::{GitHubStandIn, StandInOptions};
use crate::harness::{Operator, client, kubectl_apply, namespace, secret, wait_for};

const LIMIT: Duration = Duration::from_secs(60);

fn apply(ns: &str, yaml: &str) {
    let yaml = yaml.replace("NAMESPACE", ns);
    let (ok, out) = kubectl_apply(&yaml);
    assert!(ok, "apply failed: {out}\n{yaml}");
}

const HUB: &str = "apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {name: github, namespace: NAMESPACE}
spec:
  connector: {type: GitHub, organization: acme-inc, url: 'https://127.0.0.1:9', credentialsSecretRef: {name: creds}}
  roles: [{name: member, weight: 10}, {name: admin, weight: 100, admin: true}]
";

const GRANT_TO_TEAM: &str = "apiVersion: rolecall.dev/v1alpha1
kind: AccessGrant
metadata: {name: eng-github, namespace: NAMESPACE}
spec: {subject: {team: eng}, hub: github, appRoles: [member]}
";

const TEAM: &str = "apiVersion: rolecall.dev/v1alpha1
kind: Team
metadata: {name: eng, namespace: NAMESPACE}
spec: {displayName: Engineering}
";

/// The (status, reason) of a grant's Accepted condition, if reported.
async fn accepted(client: &Client, ns: &str, name: &str) -> Option<(String, String)> {
    let api: Api<AccessGrant> = Api::namespaced(client.clone(), ns);
    let grant = api.get_opt(name).await.ok()??;
    let status = grant.status?;
    let c = find_condition(&status.conditions, "Accepted")?;
    Some((c.status.as_ref().to_string(), c.reason.clone()))
}

async fn wait_accepted(client: &Client, ns: &str, name: &str, status: &str, reason: &str) {
    let what = format!("grant {ns}/{name} Accepted={status} ({reason})");
    wait_for(LIMIT, &what, || async { accepted(client, ns, name).await == Some((status.into(), reason.into())) }).await;
}

async fn warning_events(client: &Client, ns: &str, regarding: &str, reason: &str) -> usize {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let events = api.list(&ListParams::default()).await.expect("list events");
    events
        .items
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(regarding))
        .count()
}

#[tokio::test]
async fn a_grant_for_a_missing_team_is_refused_with_a_warning_until_the_team_exists() {
    let client = client().await;
    let ns = namespace(&client, "it-missing-team").await;
    secret(&client, &ns, "creds", "token").await;
    apply(&ns, HUB);
    apply(&ns, GRANT_TO_TEAM);
    let _operator = Operator::start(&ns, "rolecall", "solo", &[]);

    wait_accepted(&client, &ns, "eng-github", "False", "TeamNotFound").await;
    let api: Api<AccessGrant> = Api::namespaced(client.clone(), &ns);
    let grant = api.get("eng-github").await.expect("grant");
    let condition = grant.status.as_ref().and_then(|s| find_condition(&s.conditions, "Accepted")).expect("condition").clone();
    assert!(condition.message.contains("team \"eng\" does not exist"), "{}", condition.message);
    assert_eq!(condition.observed_generation, grant.metadata.generation);
    wait_for(LIMIT, "a TeamNotFound Warning Event", || async { warning_events(&client, &ns, "eng-github", "TeamNotFound").await == 1 })
        .await;

    apply(&ns, TEAM);
    wait_accepted(&client, &ns, "eng-github", "True", "Accepted").await;
}

#[tokio::test]
async fn a_hub_whose_secret_is_missing_is_not_ready_until_it_appears() {
    let client = client().await;
    let ns = namespace(&client, "it-missing-secret").await;
    apply(&ns, HUB);
    let _operator = Operator::start(&ns, "rolecall", "solo", &[]);
    let api: Api<BusinessHub> = Api::namespaced(client.clone(), &ns);
    let ready = || async {
        let hub = api.get("github").await.ok()?;
        let c = find_condition(&hub.status?.conditions, "Ready")?.clone();
        Some((c.status.as_ref().to_string(), c.reason))
    };
    wait_for(LIMIT, "hub Ready=False", || async { ready().await == Some(("False".into(), "CredentialsSecretNotFound".into())) }).await;
    wait_for(LIMIT, "a Warning Event", || async { warning_events(&client, &ns, "github", "CredentialsSecretNotFound").await == 1 }).await;
    // The Secret watch, not a timer, brings the hub back: the default resync is 5 minutes.
    secret(&client, &ns, "creds", "token").await;
    wait_for(Duration::from_secs(20), "hub Ready=True", || async { ready().await == Some(("True".into(), "Ready".into())) }).await;
}

/// Writes the `token` key of the Secret `creds`, creating it the first time.
async fn put_token(client: &Client, ns: &str, token: &str) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let creds = Secret {
        metadata: ObjectMeta { name: Some("creds".into()), ..Default::default() },
        string_data: Some([("token".to_string(), token.to_string())].into()),
        ..Default::default()
    };
    let pp = kube::api::PatchParams::apply("it-rotation").force();
    secrets.patch("creds", &pp, &kube::api::Patch::Apply(&creds)).await.expect("creds");
}

#[tokio::test]
async fn a_rotated_credential_is_read_by_the_next_sync() {
    // The operator keeps a hub's credential between syncs; the Secret's watch
    // must drop it on every change, or a rotation would never reach the app.
    let client = client().await;
    let ns = namespace(&client, "it-rotation").await;
    let github = GitHubStandIn::start(StandInOptions { org: "acme-inc".into(), ..Default::default() }).await;
    put_token(&client, &ns, "a-revoked-token").await;
    apply(&ns, &format!("{}  syncInterval: 1s\n", HUB.replace("https://127.0.0.1:9", &github.base_url())));
    let _operator = Operator::start(&ns, "rolecall", "solo", &[]);
    let hubs: Api<BusinessHub> = Api::namespaced(client.clone(), &ns);
    let connected = || async {
        let hub = hubs.get("github").await.ok()?;
        let c = find_condition(&hub.status?.conditions, "Connected")?.clone();
        Some((c.status.as_ref().to_string(), c.reason))
    };
    let refused = Some(("False".to_string(), "AuthFailed".to_string()));
    wait_for(LIMIT, "Connected=False (AuthFailed) with the revoked token", || async { connected().await == refused }).await;
    put_token(&client, &ns, &github.token).await;
    wait_for(LIMIT, "Connected=True with the rotated token", || async { connected().await.is_some_and(|(status, _)| status == "True") })
        .await;
    put_token(&client, &ns, "revoked-again").await;
    wait_for(LIMIT, "Connected=False (AuthFailed) once the token is revoked again", || async { connected().await == refused }).await;
}

#[tokio::test]
async fn reconciling_an_unchanged_object_writes_nothing() {
    let client = client().await;
    let ns = namespace(&client, "it-quiet").await;
    // The hub's app answers (the GitHub stand-in), so the hub syncs for real:
    // its steady state (reads answered 304 Not Modified) must write nothing either.
    let github = GitHubStandIn::start(StandInOptions { org: "acme-inc".into(), ..Default::default() }).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let creds = Secret {
        metadata: ObjectMeta { name: Some("creds".into()), ..Default::default() },
        string_data: Some([("token".to_string(), github.token.clone())].into()),
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &creds).await.expect("creds");
    secret(&client, &ns, "scim-tokens", "entra").await;
    apply(&ns, &HUB.replace("https://127.0.0.1:9", &github.base_url()));
    apply(&ns, TEAM);
    apply(&ns, GRANT_TO_TEAM);
    apply(
        &ns,
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {name: entra, namespace: NAMESPACE}\nspec: {provider: Entra, tokenSecretRef: {name: scim-tokens}}\n",
    );
    apply(
        &ns,
        "apiVersion: rolecall.dev/v1alpha1\nkind: User\nmetadata: {name: alice, namespace: NAMESPACE}\nspec: {userName: alice@acme.example, teams: [eng]}\n",
    );
    // Every object is reconciled again each second.
    let operator = Operator::start(&ns, "rolecall", "solo", &["--resync", "1s"]);
    wait_accepted(&client, &ns, "eng-github", "True", "Accepted").await;
    let bindings: Api<IdPBinding> = Api::namespaced(client.clone(), &ns);
    wait_for(LIMIT, "binding Ready", || async {
        bindings.get("entra").await.ok().and_then(|b| b.status).is_some_and(|s| find_condition(&s.conditions, "Ready").is_some())
    })
    .await;
    let hubs: Api<BusinessHub> = Api::namespaced(client.clone(), &ns);
    wait_for(LIMIT, "hub Ready", || async { hubs.get("github").await.ok().and_then(|h| h.status).is_some() }).await;

    let versions = || async {
        let hub = hubs.get("github").await.expect("hub").resource_version();
        let grant = Api::<AccessGrant>::namespaced(client.clone(), &ns).get("eng-github").await.expect("grant").resource_version();
        // A cluster-wide SCIM sidecar of another test may write the binding's SCIM
        // fields; what the operator owns there (its conditions) must not move.
        let binding =
            bindings.get("entra").await.expect("binding").status.map(|s| format!("{:?}{:?}", s.observed_generation, s.conditions));
        let team = Api::<Team>::namespaced(client.clone(), &ns).get("eng").await.expect("team").resource_version();
        let user = Api::<User>::namespaced(client.clone(), &ns).get("alice").await.expect("user").resource_version();
        [hub, grant, binding, team, user]
    };
    // Let the first-pass writes settle (two more rounds of reconciles), then take the baseline.
    let first = operator.metric("rolecall_reconciles_total");
    wait_for(LIMIT, "two more rounds of reconciles", || async { operator.metric("rolecall_reconciles_total") >= first + 6.0 }).await;
    let before = versions().await;
    let writes_before = operator.metric("rolecall_api_writes_total");
    let reconciles_before = operator.metric("rolecall_reconciles_total");
    assert!(writes_before >= 3.0, "the first pass wrote status: {writes_before}");

    wait_for(LIMIT, "three more rounds of reconciles", || async {
        operator.metric("rolecall_reconciles_total") >= reconciles_before + 9.0
    })
    .await;
    assert_eq!(versions().await, before, "an unchanged object was written");
    assert_eq!(operator.metric("rolecall_api_writes_total"), writes_before, "the operator wrote to the API at steady state");
    assert!(operator.series_absent("rolecall_reconcile_errors_total"), "a reconcile failed: {}", operator.metrics());
}

async fn lease_holder(client: &Client, ns: &str) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), ns);
    api.get_opt("rolecall").await.ok()??.spec?.holder_identity
}

#[tokio::test]
async fn killing_the_leader_hands_the_lease_to_the_standby() {
    let client = client().await;
    let ns = namespace(&client, "it-failover").await;
    secret(&client, &ns, "creds", "token").await;
    apply(&ns, HUB);
    let timing = ["--lease-duration", "3s", "--lease-retry", "500ms"];
    let mut a = Operator::start(&ns, "rolecall", "replica-a", &timing);
    let mut b = Operator::start(&ns, "rolecall", "replica-b", &timing);

    wait_for(LIMIT, "a leader", || async { lease_holder(&client, &ns).await.is_some() }).await;
    wait_for(LIMIT, "both replicas serving metrics", || async { !a.metrics().is_empty() && !b.metrics().is_empty() }).await;
    let first = lease_holder(&client, &ns).await.expect("holder");
    let (leader, standby) = if first == a.identity { (&mut a, &mut b) } else { (&mut b, &mut a) };
    wait_for(LIMIT, "the leader to report itself", || async { leader.metric("rolecall_leader") == 1.0 }).await;
    assert_eq!(standby.metric("rolecall_leader"), 0.0, "two replicas lead at once");

    leader.kill();
    let survivor = standby.identity.clone();
    wait_for(Duration::from_secs(30), "the standby to take the Lease", || async {
        lease_holder(&client, &ns).await.as_deref() == Some(survivor.as_str())
    })
    .await;
    wait_for(LIMIT, "the new leader to report itself", || async { standby.metric("rolecall_leader") == 1.0 }).await;

    // And it carries on: a new grant gets its condition from the new leader.
    apply(&ns, GRANT_TO_TEAM);
    wait_accepted(&client, &ns, "eng-github", "False", "TeamNotFound").await;
    apply(&ns, TEAM);
    wait_accepted(&client, &ns, "eng-github", "True", "Accepted").await;
}
