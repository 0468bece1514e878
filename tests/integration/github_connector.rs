//! The GitHub connector end to end: the operator process and the real API
//! server against the GitHub stand-in (`github_standin.rs`), which serves only
//! the operations of GitHub's published OpenAPI description, validates every
//! request and response against it, enforces GitHub's limits and logs every
//! call. A team granted on a GitHub hub is invited with the right org role and
//! teams; accepting onboards; failed and expired invitations are resent per
//! the hub's policy; leaving removes or cancels; limits are never overrun; the
//! invitation queue drains at the cap; a steady state costs only free 304s.

use std::collections::{BTreeMap, BTreeSet};

use rolecall::api::AppAccount;
use rolecall::api::app_account::{AccountState, UserTable};
use serde_json::Value;

use crate::app_tests::{LIMIT, connected, grant, hub, note, poll, token_secret, wait_account, whole_read_backs};
use crate::github_standin::{Call, GitHubStandIn, StandInOptions};
use crate::harness::{Operator, kubectl_apply, wait_for};
use crate::standin_process::now_secs;
use crate::world::{Workspace, state, table, workspace};

/// A GitHub hub on the stand-in, Enforce, read back every 2 s, the `engineering` team as its asset.
fn github_hub(w: &Workspace, github: &GitHubStandIn, settings: &str, spec: &str) {
    let (ok, out) = kubectl_apply(&format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: github, namespace: {ns}}}
spec:
  connector: {{type: GitHub, url: "{url}", organization: {org}, credentialsSecretRef: {{name: github-token}}, timeout: 2s, maxBackoff: 2s, github: {{{settings}}}}}
  mode: Enforce
  syncInterval: 2s
  roles:
  - {{name: member, weight: 1}}
  - {{name: admin, weight: 10, admin: true}}
  assets:
  - {{name: engineering, kind: team, roles: [member, maintainer]}}
  safety: {{maxRemovalsPerWindow: 10, removalWindow: 1h, removalGracePeriod: 2s}}
{spec}"#,
        ns = w.ns,
        url = github.base_url(),
        org = github.org,
    ));
    assert!(ok, "{out}");
}

fn list(state: &Value, key: &str) -> Vec<Value> {
    state[key].as_array().cloned().unwrap_or_default()
}

/// The pending invitation for `email`, if the stand-in has one.
async fn invitation(github: &GitHubStandIn, email: &str) -> Option<Value> {
    list(&github.state().await, "invitations").into_iter().find(|i| i["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
}

async fn wait_invitation(github: &GitHubStandIn, email: &str, not_id: Option<i64>) -> Value {
    poll(&format!("an invitation for {email}"), || async { invitation(github, email).await.filter(|i| i["id"].as_i64() != not_id) }).await
}

fn resends(a: &AppAccount) -> i32 {
    a.status.as_ref().and_then(|s| s.invite_resends).unwrap_or(0)
}

/// Operations used, by the stand-in's operation id.
fn operations(calls: &[Call]) -> BTreeSet<String> {
    calls.iter().filter_map(|c| c.operation.clone()).collect()
}

fn is_read_back_start(c: &Call) -> bool {
    c.method == "GET" && c.path.trim_end_matches('/').ends_with("/orgs/acme")
}

/// `n` whole read-backs from a cleared call log (`whole_read_backs`).
async fn steady_state(github: &GitHubStandIn, n: usize) -> Vec<Call> {
    whole_read_backs(&github.process, n, is_read_back_start).await
}

#[tokio::test]
async fn a_team_granted_on_github_is_invited_onboarded_resent_and_removed() {
    let github =
        GitHubStandIn::start(StandInOptions { teams: vec!["engineering".into()], expose_emails: true, ..Default::default() }).await;
    let w = workspace("gh-lifecycle", "").await;
    token_secret(&w, "github-token", &github.token).await;
    let [alice, bob, carol, dave] =
        [w.idp_user("alice").await, w.idp_user("bob").await, w.idp_user("carol").await, w.idp_user("dave").await];
    let eng = w.idp_group("Engineering", &[&alice, &bob, &carol, &dave]).await;
    let admins = w.idp_group("Admins", &[&alice]).await;
    // An org member from before rolecall, whose email GitHub shows: matched to nobody.
    github.seed_member("zed-ext", "zed@partner.io", "member", &[]).await;
    github_hub(&w, &github, "", "  invites: {expireAfter: 168h, maxResends: 1}\n");
    grant(&w, "eng-github", "github", &eng, "member", "{name: engineering, role: maintainer}");
    grant(&w, "admins-github", "github", &admins, "admin", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-gh", &["--resync", "2s"]);

    // 1. Invitations with the org role and the team.
    let team_id = github.state().await["teams"]["engineering"]["id"].as_i64().expect("team id");
    let mut invited = BTreeMap::new();
    for user in ["alice", "bob", "carol", "dave"] {
        let email = format!("{user}@acme.io");
        let invitation = wait_invitation(&github, &email, None).await;
        let role = if user == "alice" { "admin" } else { "direct_member" };
        assert_eq!(invitation["role"], role, "{email}: {invitation}");
        assert_eq!(invitation["team_ids"], serde_json::json!([team_id]), "{email}: {invitation}");
        wait_account(&w, "github", &email, "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
        invited.insert(user, invitation["id"].as_i64().expect("id"));
    }
    println!("invitations: {invited:?}");
    wait_account(&w, "github", "zed@partner.io", "Unmatched", |a| table(a) == Some(UserTable::Unmatched)).await;

    // 2. Accepted: Onboarded, and the team role follows the grant (GitHub invites into teams as member).
    github.accept_invitation(invited["alice"], Some("alice-gh")).await;
    github.accept_invitation(invited["bob"], Some("bob-gh")).await;
    for email in ["alice@acme.io", "bob@acme.io"] {
        wait_account(&w, "github", email, "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }
    wait_for(LIMIT, "alice and bob maintainers of engineering", || async {
        let members = github.state().await["teams"]["engineering"]["members"].clone();
        members["alice-gh"] == "maintainer" && members["bob-gh"] == "maintainer"
    })
    .await;
    let members = list(&github.state().await, "members");
    assert!(members.iter().any(|m| m["login"] == "alice-gh" && m["role"] == "admin"), "{members:?}");

    // 3. A failed invitation is resent once (maxResends: 1), then reported failed with GitHub's reason.
    github.fail_invitation(invited["carol"], "The email bounced").await;
    let again = wait_invitation(&github, "carol@acme.io", Some(invited["carol"])).await;
    wait_account(&w, "github", "carol@acme.io", "resent once", |a| resends(a) == 1).await;
    github.fail_invitation(again["id"].as_i64().expect("id"), "The email bounced").await;
    wait_account(&w, "github", "carol@acme.io", "InviteFailed with the reason", |a| {
        state(a) == Some(AccountState::InviteFailed) && note(a).contains("bounced")
    })
    .await;
    let carol = w.account_on("github", "carol@acme.io").await.expect("carol");
    println!("carol: {}", note(&carol));
    // The grant she came through counts her failed and names her with GitHub's reason.
    let carol = carol.status.and_then(|s| s.matched_user).expect("carol matched");
    let grants: kube::Api<rolecall::api::AccessGrant> = kube::Api::namespaced(crate::harness::client().await, &w.ns);
    wait_for(LIMIT, "eng-github to list carol as failing", || async {
        let Some(status) = grants.get("eng-github").await.ok().and_then(|g| g.status) else { return false };
        let failed = status.members.is_some_and(|m| m.failed == 1);
        failed && status.failing_members.iter().any(|m| m.user == carol && m.hub == "github" && m.reason.contains("bounced"))
    })
    .await;

    // 4. An expired invitation (GitHub's 7 days) is resent, and accepted.
    github.expire_invitation(invited["dave"]).await;
    let renewed = wait_invitation(&github, "dave@acme.io", Some(invited["dave"])).await;
    wait_account(&w, "github", "dave@acme.io", "resent once", |a| resends(a) == 1).await;
    github.accept_invitation(renewed["id"].as_i64().expect("id"), Some("dave-gh")).await;
    wait_account(&w, "github", "dave@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;

    // 5. Leaving the team: a member is removed, a pending invitation cancelled.
    let eve = w.idp_user("eve").await;
    w.idp_members(&eng, "add", &eve).await;
    let eve_invitation = wait_invitation(&github, "eve@acme.io", None).await;
    w.idp_members(&eng, "remove", &eve).await;
    w.idp_members(&eng, "remove", &bob).await;
    wait_for(LIMIT, "bob removed and eve's invitation cancelled", || async {
        let state = github.state().await;
        let bob_gone = !list(&state, "members").iter().any(|m| m["login"] == "bob-gh");
        let eve_gone = !list(&state, "invitations").iter().any(|i| i["id"] == eve_invitation["id"]);
        bob_gone && eve_gone
    })
    .await;
    wait_account(&w, "github", "bob@acme.io", "Removed", |a| state(a) == Some(AccountState::Removed)).await;
    assert!(list(&github.state().await, "members").iter().any(|m| m["login"] == "zed-ext"), "the unmatched member is left alone");

    // 6. Every call so far validated against GitHub's description.
    let calls = github.calls().await;
    github.assert_all_valid().await;
    let used = operations(&calls);
    println!("{} calls, all valid; {} GitHub operations used: {used:?}", calls.len(), used.len());
    let cancels = calls.iter().filter(|c| c.method == "DELETE" && c.path.contains("/invitations/")).count();
    let removals = calls.iter().filter(|c| c.method == "DELETE" && c.path.contains("/memberships/bob-gh")).count();
    assert_eq!((cancels, removals), (1, 1), "one cancellation, one removal");

    // 7. Steady state: three read-backs, only conditional reads GitHub does not count.
    let steady = steady_state(&github, 3).await;
    let counted = steady.iter().filter(|c| c.counted).count();
    let not_304: Vec<String> = steady.iter().filter(|c| c.status != 304).map(|c| format!("{} {} {}", c.method, c.path, c.status)).collect();
    println!("steady state: {} calls over 3 read-backs, {counted} counted, {} not 304", steady.len(), not_304.len());
    assert!(not_304.is_empty(), "{not_304:?}");
    assert_eq!(counted, 0);
    assert!(steady.iter().all(|c| c.conditional && c.method == "GET"));
    github.assert_all_valid().await;
}

#[tokio::test]
async fn github_limits_are_never_overrun_the_invitation_queue_drains_and_faults_act_once() {
    let github =
        GitHubStandIn::start(StandInOptions { teams: vec!["engineering".into()], expose_emails: true, ..Default::default() }).await;
    github.set_limits(serde_json::json!({"invitation_cap": 2, "invitation_window": 20})).await;
    let w = workspace("gh-limits", "").await;
    token_secret(&w, "github-token", &github.token).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(w.idp_user(&format!("q{i}")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let eng = w.idp_group("Engineering", &refs).await;
    github_hub(&w, &github, "invitationCap: 2, invitationWindow: 20s", "");
    grant(&w, "eng-github", "github", &eng, "member", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-gh-limits", &["--resync", "2s"]);

    // 1. The cap: two invitations, three waiting in the hub's status, then two more per 20 s.
    let queue = poll("the hub's invitation queue", || async {
        hub(&w, "github").await.status.and_then(|s| s.invitation_queue).filter(|q| q.waiting == 3)
    })
    .await;
    println!("invitation queue: {queue:?}");
    assert_eq!((queue.cap, queue.window.as_str()), (2, "20s"));
    let drains_at = queue.drains_at.clone().expect("a drain time");
    wait_for(LIMIT, "all five invited", || async { list(&github.state().await, "invitations").len() == 5 }).await;
    wait_for(LIMIT, "the queue gone from the hub's status", || async {
        hub(&w, "github").await.status.is_some_and(|s| s.invitation_queue.is_none())
    })
    .await;
    let calls = github.calls().await;
    let posts: Vec<&Call> = calls.iter().filter(|c| c.method == "POST" && c.path.ends_with("/invitations")).collect();
    let made: Vec<f64> = posts.iter().filter(|c| c.status == 201).map(|c| c.at).collect();
    let refused = posts.iter().filter(|c| c.status == 422).count();
    println!(
        "invitations sent at {:?} (s after the first); drainsAt was {drains_at}; refused by GitHub: {refused}",
        made.iter().map(|t| (t - made[0]).round()).collect::<Vec<_>>()
    );
    assert_eq!(made.len(), 5);
    assert_eq!(refused, 0, "the connector kept under the cap before GitHub had to refuse");
    for (i, t) in made.iter().enumerate() {
        let in_window = made.iter().filter(|u| **u <= *t && *t - **u < 20.0).count();
        assert!(in_window <= 2, "invitation {i} was the {in_window}th in 20 s");
    }
    assert!(made[4] - made[0] >= 40.0, "five at two per 20 s take two windows: {made:?}");

    // 2. The primary limit: spent, with a reset 6 s away: no call before it.
    let limits = github.set_limits(serde_json::json!({"primary_remaining": 0, "primary_reset_in": 6})).await;
    let announced = limits["primary_reset"].as_f64().expect("reset").floor();
    let set_at = now_secs();
    wait_for(LIMIT, "three calls after the reset", || async {
        github.calls().await.iter().filter(|c| c.at >= announced && c.status != 403).count() >= 3
    })
    .await;
    let calls = github.calls().await;
    let refused: Vec<&Call> = calls.iter().filter(|c| c.at >= set_at && c.status == 403).collect();
    assert!(!refused.is_empty(), "the spent limit was met");
    let first_refusal = refused[0].at;
    // Calls already on their way before the refusal's answer left were sent before the
    // connector knew; the wait is judged on the calls that arrived after it.
    let answered = refused[0].at + refused[0].duration;
    let before_reset = calls.iter().filter(|c| c.at > answered && c.at < announced).count();
    println!(
        "primary limit: refused at +0 s, reset announced at +{:.1} s; calls before the reset: {before_reset}",
        announced - first_refusal
    );
    assert_eq!(before_reset, 0, "no call between the refusal and the reset");

    // 2b. A secondary limit with retry-after (403), and a 429 with retry-after: nothing before the time named.
    for (kind, after) in [("403-secondary", 4.0), ("429", 3.0)] {
        let injected_at = now_secs();
        github.inject_fault(serde_json::json!({"kind": kind, "count": 1, "method": "GET", "retry_after": after})).await;
        let limited = poll(&format!("the {kind} answer"), || async {
            github.calls().await.into_iter().find(|c| c.fault.is_some() && c.at >= injected_at)
        })
        .await;
        wait_for(LIMIT, "two calls after the wait", || async {
            github.calls().await.iter().filter(|c| c.at >= limited.at + after).count() >= 2
        })
        .await;
        let answered = limited.at + limited.duration;
        let early = github.calls().await.iter().filter(|c| c.at > answered && c.at < limited.at + after).count();
        println!("{kind} with retry-after {after} s: calls before its end: {early}");
        assert_eq!(early, 0, "{kind}: nothing before the retry time");
    }

    // 3. Faults: 5xx, a timeout, a dropped connection and a malformed body on reads; a write
    // whose connection drops after GitHub made the invitation: retried, never made twice.
    for kind in ["500", "502", "timeout", "drop", "malformed"] {
        github.inject_fault(serde_json::json!({"kind": kind, "count": 1, "method": "GET", "delay": 3})).await;
    }
    github.inject_fault(serde_json::json!({"kind": "drop", "count": 1, "method": "POST", "performed": true})).await;
    let late = w.idp_user("late").await;
    w.idp_members(&eng, "add", &late).await;
    wait_for(LIMIT, "late invited", || async { invitation(&github, "late@acme.io").await.is_some() }).await;
    wait_account(&w, "github", "late@acme.io", "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
    let calls = github.calls().await;
    let faults = calls.iter().filter(|c| c.fault.is_some()).count();
    let late_made = calls
        .iter()
        .filter(|c| {
            c.method == "POST"
                && c.request_body.as_ref().is_some_and(|b| b["email"] == "late@acme.io")
                && c.fault.is_none()
                && c.status == 201
        })
        .count();
    let late_invitations = list(&github.state().await, "invitations").iter().filter(|i| i["email"] == "late@acme.io").count();
    println!("faults answered: {faults}; late's invitations: {late_invitations}, further 201s: {late_made}");
    assert_eq!(faults, 8, "every injected fault was met (two limits, six faults)");
    assert_eq!((late_invitations, late_made), (1, 0), "the dropped write was made once and adopted, not repeated");

    // 4. Steady state, and every call of the test valid.
    let before = github.calls().await;
    let steady = steady_state(&github, 3).await;
    let counted = steady.iter().filter(|c| c.counted).count();
    println!("steady state: {} calls over 3 read-backs, {counted} counted", steady.len());
    assert_eq!(counted, 0);
    assert!(steady.iter().all(|c| c.status == 304 && c.conditional), "{steady:?}");
    let invalid: Vec<&Call> = before.iter().filter(|c| !c.valid()).collect();
    println!("{} calls before the steady state, {} invalid; operations: {:?}", before.len(), invalid.len(), operations(&before));
    assert!(invalid.is_empty(), "{invalid:?}");
    github.assert_all_valid().await;
}

/// A GitHub hub in Observe mode named `name`, on `url`, for `org`, with the token in Secret `secret`.
fn observing_hub(w: &Workspace, name: &str, url: &str, org: &str, secret: &str) {
    let (ok, out) = kubectl_apply(&format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: {name}, namespace: {ns}}}
spec:
  connector: {{type: GitHub, url: "{url}", organization: {org}, credentialsSecretRef: {{name: {secret}}}, timeout: 2s, maxBackoff: 2s}}
  mode: Observe
  syncInterval: 2s
  roles:
  - {{name: member, weight: 1}}
  - {{name: admin, weight: 10, admin: true}}
"#,
        ns = w.ns,
    ));
    assert!(ok, "{out}");
}

#[tokio::test]
async fn connected_says_why_a_github_hub_fails_and_a_large_org_is_read_page_by_page() {
    let github = GitHubStandIn::start(StandInOptions { expose_emails: true, ..Default::default() }).await;
    let classic = GitHubStandIn::start(StandInOptions { scopes: "repo, read:org".into(), ..Default::default() }).await;
    // 130 members: two pages of members at 100 a page.
    for i in 0..130 {
        github.seed_member(&format!("dev{i:03}"), &format!("dev{i:03}@partner.io"), "member", &[]).await;
    }
    let w = workspace("gh-connected", "").await;
    token_secret(&w, "good", &github.token).await;
    token_secret(&w, "wrong", "ghp_not_the_token").await;
    token_secret(&w, "classic", &classic.token).await;
    observing_hub(&w, "large", &github.base_url(), "acme", "good");
    observing_hub(&w, "bad-token", &github.base_url(), "acme", "wrong");
    observing_hub(&w, "unknown-org", &github.base_url(), "nope", "good");
    observing_hub(&w, "no-scope", &classic.base_url(), "acme", "classic");
    let _operator = Operator::start(&w.ns, "rolecall", "op-gh-connected", &["--resync", "2s"]);

    let expected = [
        ("bad-token", "AuthFailed", "wrong, expired or revoked"),
        ("unknown-org", "NotFound", "\"nope\" does not exist"),
        ("no-scope", "AuthFailed", "lacks the admin:org scope"),
        ("large", "Connected", ""),
    ];
    for (hub, reason, says) in expected {
        let (status, got_reason, message) =
            poll(&format!("{hub}: Connected"), || async { connected(&w, hub).await.filter(|(_, r, m)| r == reason && m.contains(says)) })
                .await;
        println!("{hub}: Connected={status} {got_reason}: {message}");
        assert_eq!(status, if reason == "Connected" { "True" } else { "False" });
    }
    wait_for(LIMIT, "130 unmatched accounts on the large hub", || async {
        w.accounts().await.iter().filter(|a| a.spec.hub == "large" && table(a) == Some(UserTable::Unmatched)).count() == 130
    })
    .await;
    let pages: Vec<String> = github
        .calls()
        .await
        .iter()
        .filter(|c| c.path.ends_with("/orgs/acme/members") && c.query.get("role").and_then(Value::as_str) == Some("member"))
        .map(|c| c.query.get("page").and_then(Value::as_str).unwrap_or("1").to_string())
        .collect();
    assert!(pages.iter().any(|p| p == "2"), "the second page was read: {pages:?}");
    github.assert_all_valid().await;
    classic.assert_all_valid().await;
}

/// A fresh RSA key pair from `openssl` (installed by `.ci/run`): the private key
/// as GitHub's App settings hand it out (PKCS#1 PEM), and the public modulus in hex.
fn app_key() -> (String, String) {
    let generated = std::process::Command::new("openssl").args(["genrsa", "-traditional", "2048"]).output().expect("openssl runs");
    assert!(generated.status.success(), "openssl genrsa: {}", String::from_utf8_lossy(&generated.stderr));
    let pem = String::from_utf8(generated.stdout).expect("PEM is text");
    let mut modulus = std::process::Command::new("openssl")
        .args(["rsa", "-noout", "-modulus"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl runs");
    std::io::Write::write_all(&mut modulus.stdin.take().expect("stdin"), pem.as_bytes()).expect("key written");
    let out = modulus.wait_with_output().expect("openssl rsa");
    let hex = String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("Modulus=").to_string();
    assert!(!hex.is_empty(), "openssl printed no modulus");
    (pem, hex)
}

#[tokio::test]
async fn a_github_app_installation_invites_with_its_own_token_and_a_wrong_key_says_so() {
    let (pem, modulus) = app_key();
    let github = GitHubStandIn::start(StandInOptions {
        teams: vec!["engineering".into()],
        expose_emails: true,
        app: Some(("123456".into(), modulus, 42)),
        ..Default::default()
    })
    .await;
    let w = workspace("gh-app", "").await;
    token_secret(&w, "github-token", &pem).await;
    let [alice, bob] = [w.idp_user("alice").await, w.idp_user("bob").await];
    let eng = w.idp_group("Engineering", &[&alice, &bob]).await;
    github_hub(&w, &github, "app: {appId: \"123456\", installationId: 42}", "");
    grant(&w, "eng-github", "github", &eng, "member", "");
    let _operator = Operator::start(&w.ns, "rolecall", "op-gh-app", &["--resync", "2s"]);
    for email in ["alice@acme.io", "bob@acme.io"] {
        wait_invitation(&github, email, None).await;
        wait_account(&w, "github", email, "InviteSent", |a| state(a) == Some(AccountState::InviteSent)).await;
    }
    let calls = github.calls().await;
    let exchanges: Vec<&Call> = calls.iter().filter(|c| c.operation.as_deref() == Some("apps/create-installation-access-token")).collect();
    assert_eq!(exchanges.iter().map(|c| c.status).collect::<Vec<_>>(), [201], "one installation token, made once: {exchanges:?}");
    assert!(calls.iter().all(|c| c.status != 401), "every call was authorised with the installation token");
    github.assert_all_valid().await;

    // Another App's key: the JWT does not verify, and the hub says what to check.
    let (other_pem, _) = app_key();
    token_secret(&w, "other-key", &other_pem).await;
    let (ok, out) = kubectl_apply(&format!(
        r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: wrong-key, namespace: {ns}}}
spec:
  connector: {{type: GitHub, url: "{url}", organization: {org}, credentialsSecretRef: {{name: other-key}}, timeout: 2s, maxBackoff: 2s, github: {{app: {{appId: "123456", installationId: 42}}}}}}
  mode: Observe
  syncInterval: 2s
  roles: [{{name: member, weight: 1}}]
"#,
        ns = w.ns,
        url = github.base_url(),
        org = github.org,
    ));
    assert!(ok, "{out}");
    let why =
        poll("the wrong key's Connected=False", || async { connected(&w, "wrong-key").await.filter(|(status, _, _)| status == "False") })
            .await;
    assert_eq!(why.1, "AuthFailed", "{why:?}");
    assert!(why.2.contains("JWT") && why.2.contains("private key"), "{why:?}");
}
