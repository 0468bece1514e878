//! The reconcile core end to end: a scripted IdP feeds the SCIM sidecar, the
//! operator plans and acts on a real SCIM app (`scim2-server`) through a
//! recording proxy, and every account's state lands in its AppAccount.

use kube::Api;
use kube::api::{Patch, PatchParams};
use rolecall::api::app_account::{AccountState, UserTable};
use rolecall::api::{AppAccount, BusinessHub};
use serde_json::{Value, json};

use crate::harness::{Operator, client, kubectl_output, wait_for};
use crate::world::{LIMIT, active, external_id, roles, state, table, world};

#[tokio::test]
async fn grants_become_seats_moves_are_updates_and_mass_removals_wait_for_approval() {
    let w = world("reconcile-flow").await;
    // Accounts made in the app by hand, before rolecall arrives.
    let owner = w.app.create_user("owner@acme.io", &["admin"]).await;
    let legacy = w.app.create_user("legacy@acme.io", &["member"]).await;
    let erin_old = w.app.create_user("erin.old@legacy.example", &[]).await;

    let alice = w.idp_user("alice").await;
    let bob = w.idp_user("bob").await;
    let carol = w.idp_user("carol").await;
    let erin = w.idp_user("erin").await;
    let eng = w.idp_group("Engineering", &[&alice, &bob]).await;
    let design = w.idp_group("Design", &[&carol]).await;

    w.hub("app", "Enforce", "");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);

    // The first sync: everything in the app is unmatched, nothing is changed.
    for email in ["owner@acme.io", "legacy@acme.io", "erin.old@legacy.example"] {
        w.wait_account(email, "Unmatched", |a| table(a) == Some(UserTable::Unmatched)).await;
    }
    assert!(w.proxy.writes().is_empty(), "nothing granted, nothing written: {:?}", w.proxy.writes());

    // An admin exempts one account and matches another to erin by hand.
    let api: Api<AppAccount> = Api::namespaced(client().await, &w.ns);
    let by_email = |email: &'static str| {
        let w = &w;
        async move { w.account(email).await.expect("account").metadata.name.expect("name") }
    };
    api.patch(
        &by_email("legacy@acme.io").await,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"exemption": {"reason": "the agency's shared login"}}})),
    )
    .await
    .expect("exempt");
    api.patch(&by_email("erin.old@legacy.example").await, &PatchParams::default(), &Patch::Merge(json!({"spec": {"matchUser": erin}})))
        .await
        .expect("match");

    // Grants: Engineering are members, Design are admins; erin joins Engineering.
    w.grant("engineering", &eng, "member", "app");
    w.grant("design", &design, "admin", "app");
    w.idp_members(&eng, "add", &erin).await;

    w.wait_account("alice@acme.io", "Onboarded as member", |a| state(a) == Some(AccountState::Onboarded) && roles(a) == ["member"]).await;
    w.wait_account("bob@acme.io", "Onboarded as member", |a| state(a) == Some(AccountState::Onboarded) && roles(a) == ["member"]).await;
    w.wait_account("carol@acme.io", "Onboarded as admin", |a| state(a) == Some(AccountState::Onboarded) && roles(a) == ["admin"]).await;
    w.wait_account("erin.old@legacy.example", "matched by hand and Onboarded", |a| {
        table(a) == Some(UserTable::Onboarded) && state(a) == Some(AccountState::Onboarded) && roles(a) == ["member"]
    })
    .await;
    w.wait_account("legacy@acme.io", "Exempted", |a| table(a) == Some(UserTable::Exempted)).await;
    assert!(w.account("erin@acme.io").await.is_none(), "erin's hand-matched account is her seat: no second invitation");
    // alice went PendingInvite -> InviteSent (the add, recorded with its time and an Event) -> Onboarded (read back).
    let alice_account = w.account("alice@acme.io").await.expect("alice");
    assert!(alice_account.status.as_ref().and_then(|s| s.invite_sent_at.clone()).is_some(), "{alice_account:?}");
    let (ok, events) = kubectl_output(&[
        "get",
        "events",
        "-n",
        &w.ns,
        "--field-selector",
        &format!("involvedObject.name={}", alice_account.metadata.name.clone().unwrap_or_default()),
    ]);
    assert!(ok && events.contains("Invite"), "{events}");
    let grants: Api<rolecall::api::AccessGrant> = Api::namespaced(client().await, &w.ns);
    wait_for(LIMIT, "the engineering grant to count its onboarded members", || async {
        grants.get("engineering").await.ok().and_then(|g| g.status?.members).is_some_and(|m| m.onboarded == 3)
    })
    .await;
    assert_eq!(w.app.user(&owner).await.map(|u| u.active), Some(true));
    let app_users = w.app.users().await;
    for email in ["alice@acme.io", "bob@acme.io", "carol@acme.io"] {
        let found: Vec<_> = app_users.iter().filter(|u| u.email.eq_ignore_ascii_case(email)).collect();
        assert_eq!(found.len(), 1, "{email} exists once in the app: {app_users:?}");
    }

    // bob moves from Engineering to Design; the IdP removes before it adds.
    let bob_id = external_id(&w.account("bob@acme.io").await.expect("bob"));
    let writes_before = w.proxy.writes().len();
    w.idp_members(&eng, "remove", &bob).await;
    // The removal has reached the plan (bob's seat is in its grace period) before the add arrives.
    w.wait_account("bob@acme.io", "Removing", |a| state(a) == Some(AccountState::Removing)).await;
    w.idp_members(&design, "add", &bob).await;
    w.wait_account("bob@acme.io", "updated to admin", |a| roles(a) == ["admin"] && state(a) == Some(AccountState::Onboarded)).await;
    let bob_writes: Vec<_> =
        w.proxy.writes()[writes_before..].iter().filter(|s| s.path.contains(&bob_id) || s.body.contains("bob@acme.io")).cloned().collect();
    assert_eq!(bob_writes.len(), 1, "the move is one role update, no removal and no new invitation: {bob_writes:?}");
    assert!(matches!(bob_writes[0].method.as_str(), "PATCH" | "PUT"), "{bob_writes:?}");

    // carol leaves Design: her seat goes after the grace period.
    w.idp_members(&design, "remove", &carol).await;
    w.wait_account("carol@acme.io", "Removing", |a| state(a) == Some(AccountState::Removing)).await;
    operator.wait_read_backs(1).await;
    let carol_account = w.account("carol@acme.io").await.expect("carol");
    assert!(active(&carol_account), "within the grace period the seat stays");
    assert_eq!(state(&carol_account), Some(AccountState::Removing));
    w.wait_account("carol@acme.io", "removed after the grace period", |a| !active(a) && state(a) == Some(AccountState::Removed)).await;

    // Engineering is deleted: alice and erin would go, but one removal is left in the window of two.
    let (status, _) = w.idp.send("DELETE", &format!("/Groups/{eng}"), Value::Null).await;
    assert_eq!(status, 204);
    wait_for(LIMIT, "RemovalsHeld=True", || async { w.hub_condition("app", "RemovalsHeld").await.as_deref() == Some("True") }).await;
    // Held means past the grace period already; four read-backs later, nothing was removed.
    operator.wait_read_backs(4).await;
    for email in ["alice@acme.io", "erin.old@legacy.example"] {
        let account = w.account(email).await.expect("account");
        assert!(active(&account), "{email} keeps the seat while removals are held");
        let note = account.status.and_then(|s| s.note).unwrap_or_default();
        assert!(note.contains("removal held"), "{email}: {note}");
    }
    let hubs: Api<BusinessHub> = Api::namespaced(client().await, &w.ns);
    hubs.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"rolecall.dev/approve-removals": "alice and erin left"}}})),
    )
    .await
    .expect("approve");
    w.wait_account("alice@acme.io", "removed after approval", |a| !active(a)).await;
    w.wait_account("erin.old@legacy.example", "removed after approval", |a| !active(a)).await;
    wait_for(LIMIT, "RemovalsHeld=False and the approval used up", || async {
        let hub = hubs.get("app").await.ok();
        w.hub_condition("app", "RemovalsHeld").await.as_deref() == Some("False")
            && hub.is_some_and(|h| !h.metadata.annotations.unwrap_or_default().contains_key("rolecall.dev/approve-removals"))
    })
    .await;

    // Exempted and unmatched accounts were never written to; the hand-matched one was.
    let writes = w.proxy.writes();
    assert!(writes.iter().any(|s| s.path.contains(erin_old.as_str())), "erin's hand-matched account got her role: {writes:?}");
    for id in [&owner, &legacy] {
        assert!(!writes.iter().any(|s| s.path.contains(id.as_str())), "{id} was touched: {writes:?}");
    }

    // Quiet steady state: three read-backs, no API write, no app write.
    operator.wait_read_backs(2).await;
    let api_writes = operator.metric("rolecall_api_writes_total");
    let app_actions = operator.metric("rolecall_actions_total");
    let proxy_writes = w.proxy.writes().len();
    operator.wait_read_backs(3).await;
    assert_eq!(operator.metric("rolecall_api_writes_total"), api_writes, "API writes at steady state");
    assert_eq!(operator.metric("rolecall_actions_total"), app_actions, "app writes at steady state");
    assert_eq!(w.proxy.writes().len(), proxy_writes, "the app received writes at steady state");

    // `rolecall status` prints the four tables and the latest actions.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args(["status", "app", "-n", &w.ns])
        .env("KUBECONFIG", crate::harness::kubeconfig())
        .output()
        .expect("rolecall status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "Onboarded (",
        "Unmatched (",
        "Guest (",
        "Exempted (",
        "bob@acme.io",
        "the agency's shared login",
        "Latest actions",
        "UpdateAccess",
    ] {
        assert!(text.contains(needle), "rolecall status lacks {needle:?}:\n{text}");
    }
}

#[tokio::test]
async fn dry_run_plans_and_reports_but_calls_nothing() {
    let w = world("reconcile-dryrun").await;
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    w.hub("dry", "DryRun", "");
    w.grant("engineering", &eng, "member", "dry");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);
    w.wait_account("alice@acme.io", "PendingInvite with a DryRun note", |a| {
        state(a) == Some(AccountState::PendingInvite)
            && a.status.as_ref().and_then(|s| s.note.clone()).is_some_and(|n| n.contains("would Invite"))
    })
    .await;
    wait_for(LIMIT, "Synced=False (DryRun)", || async { w.hub_condition("dry", "Synced").await.as_deref() == Some("False") }).await;
    operator.wait_read_backs(3).await;
    assert!(w.proxy.writes().is_empty(), "DryRun wrote to the app: {:?}", w.proxy.writes());
    assert!(!w.proxy.seen().is_empty(), "DryRun still reads the app back");
    assert!(w.app.users().await.is_empty());
}

#[tokio::test]
async fn an_operator_killed_between_a_call_and_its_record_never_invites_twice() {
    let w = world("reconcile-crash").await;
    let first = w.idp_user("first").await;
    let eng = w.idp_group("Engineering", &[&first]).await;
    w.hub("app", "Enforce", "");
    w.grant("engineering", &eng, "member", "app");
    let mut operator = Operator::start(&w.ns, "rolecall", "op-0", &["--resync", "2s", "--lease-duration", "1s", "--lease-retry", "300ms"]);
    w.wait_account("first@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;

    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        let user = format!("crash{round}");
        // The next invitation reaches the app, and the operator dies before it hears back.
        w.proxy.kill_after("POST", "/Users", operator.pid());
        let id = w.idp_user(&user).await;
        w.idp_members(&eng, "add", &id).await;
        wait_for(LIMIT, "the kill", || async { w.proxy.kills() > round }).await;
        operator = Operator::start(
            &w.ns,
            "rolecall",
            &format!("op-{}", round + 1),
            &["--resync", "2s", "--lease-duration", "1s", "--lease-retry", "300ms"],
        );
        w.wait_account(&format!("{user}@acme.io"), "Onboarded after the restart", |a| {
            state(a) == Some(AccountState::Onboarded) && roles(a) == ["member"]
        })
        .await;
    }

    let users = w.app.users().await;
    let posts =
        w.proxy.writes().into_iter().filter(|s| s.method == "POST" && s.path.split('?').next().unwrap_or("").ends_with("/Users")).count();
    assert_eq!(w.proxy.kills(), ROUNDS);
    assert_eq!(posts, ROUNDS + 1, "one POST /Users per person, none repeated after a crash");
    assert_eq!(users.len(), ROUNDS + 1, "one account per person: {users:?}");
    let mut emails: Vec<String> = users.iter().map(|u| u.email.to_lowercase()).collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), ROUNDS + 1, "no duplicate account");
    println!("crash safety: {ROUNDS} kills between a call and its record; {posts} POST /Users; {} accounts in the app", users.len());
}

#[tokio::test]
async fn renames_reach_the_account_in_one_plan_and_an_ungranted_team_replans_no_hub() {
    let w = world("reconcile-rename").await;
    let alice = w.idp_user("alice").await;
    let eng = w.idp_group("Engineering", &[&alice]).await;
    // Read back once an hour: every plan counted below comes from a trigger.
    w.scim_hub("app", &w.app_url(), "", "  mode: Enforce\n  syncInterval: 1h\n");
    w.grant("engineering", &eng, "member", "app");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &[]);
    w.wait_account("alice@acme.io", "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    let teams: Api<rolecall::api::Team> = Api::namespaced(client().await, &w.ns);
    let counted = |team: String| {
        let teams = teams.clone();
        async move { teams.get(&team).await.ok().and_then(|t| t.status).and_then(|s| s.member_count) == Some(1) }
    };
    wait_for(LIMIT, "the operator counted alice in Engineering", || counted(eng.clone())).await;
    let plans = operator.metric("rolecall_hub_plan_duration_seconds_count");

    // A team no grant names: nothing a plan reads.
    let book_club = w.idp_group("Book club", &[&alice]).await;
    wait_for(LIMIT, "the operator counted alice in the book club", || counted(book_club.clone())).await;
    // Ten renames, a few tenths of a second apart: the account's status shows the
    // last after one batch (two, if the renames straddle a batch's end).
    for i in 0..10 {
        let body = json!({"Operations": [{"op": "replace", "path": "displayName", "value": format!("Alice {i}")}]});
        let (status, answer) = w.idp.send("PATCH", &format!("/Users/{alice}"), body).await;
        assert!(status == 200 || status == 204, "{status} {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    w.wait_account("alice@acme.io", "the last display name", |a| {
        a.status.as_ref().and_then(|s| s.display_name.as_deref()) == Some("Alice 9")
    })
    .await;
    let planned = operator.metric("rolecall_hub_plan_duration_seconds_count") - plans;
    assert!((1.0..=2.0).contains(&planned), "{planned} plans for ten renames and a move to an ungranted team");
}
