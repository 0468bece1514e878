//! Chaos at a small size: the operator SIGKILLed right after the app answered
//! each kind of call (invite, role update, removal), the moment a crash costs
//! the most (the call happened, nothing recorded it). Judged by what the app
//! recorded: no duplicate account, no removal the plan did not call for, every
//! desired account present with its role at the end.

use std::collections::BTreeMap;

use rolecall::api::app_account::AccountState;

use crate::harness::{Operator, wait_for};
use crate::world::{LIMIT, active, external_id, roles, state, world};

/// Kills in one run: 12 in `make test`, more with `CHAOS_KILLS` (`make chaos` uses 51).
fn rounds() -> usize {
    std::env::var("CHAOS_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(12)
}

#[tokio::test]
async fn kills_after_every_kind_of_call_lose_nothing_and_do_nothing_twice() {
    let rounds = rounds();
    // Enough people that promotions (from the first) and removals (from the last) never meet.
    let start = (2 * rounds / 3 + 2).max(12);
    let w = world("chaos-kills").await;
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..start {
        let name = format!("c{i:02}");
        ids.insert(name.clone(), w.idp_user(&name).await);
    }
    let first: Vec<&str> = ids.values().map(String::as_str).collect();
    let members = w.idp_group("Members", &first).await;
    let admins = w.idp_group("Admins", &[]).await;
    let url = w.app_url();
    w.scim_hub(
        "app",
        &url,
        "",
        "  mode: Enforce\n  syncInterval: 1s\n  safety: {maxRemovalsPerWindow: 100, removalWindow: 1h, removalGracePeriod: 1s}\n",
    );
    w.grant("members", &members, "member", "app");
    w.grant("admins", &admins, "admin", "app");
    let flags = ["--resync", "2s", "--lease-duration", "1s", "--lease-retry", "300ms"];
    let mut operator = Operator::start(&w.ns, "rolecall", "op-0", &flags);
    for name in ids.keys() {
        w.wait_account(&format!("{name}@acme.io"), "Onboarded", |a| state(a) == Some(AccountState::Onboarded)).await;
    }

    // Who should hold what at the end: name -> Some(role) or None (removed).
    let mut desired: BTreeMap<String, Option<&str>> = ids.keys().map(|n| (n.clone(), Some("member"))).collect();
    let mut kills: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut next_new, mut next_promote, mut next_remove) = (start, 0, start - 1);
    for round in 0..rounds {
        let kind = ["invite", "update", "remove"][round % 3];
        let email;
        match kind {
            "invite" => {
                let name = format!("c{next_new:02}");
                next_new += 1;
                w.proxy.kill_after("POST", "/Users", operator.pid());
                let id = w.idp_user(&name).await;
                w.idp_members(&members, "add", &id).await;
                ids.insert(name.clone(), id);
                desired.insert(name.clone(), Some("member"));
                email = format!("{name}@acme.io");
            }
            "update" => {
                let name = format!("c{next_promote:02}");
                next_promote += 1;
                email = format!("{name}@acme.io");
                let app_id = external_id(&w.account(&email).await.expect("an account"));
                w.proxy.kill_after("PATCH", &format!("/Users/{app_id}"), operator.pid());
                w.idp_members(&admins, "add", &ids[&name]).await;
                desired.insert(name, Some("admin"));
            }
            _ => {
                let name = format!("c{next_remove:02}");
                next_remove -= 1;
                email = format!("{name}@acme.io");
                let app_id = external_id(&w.account(&email).await.expect("an account"));
                w.proxy.kill_after("PATCH", &format!("/Users/{app_id}"), operator.pid());
                w.idp_members(&members, "remove", &ids[&name]).await;
                desired.insert(name, None);
            }
        }
        wait_for(LIMIT, &format!("round {round}: the kill after a {kind}"), || async { w.proxy.kills() > round }).await;
        *kills.entry(kind).or_default() += 1;
        operator = Operator::start(&w.ns, "rolecall", &format!("op-{}", round + 1), &flags);
        let want = desired[email.trim_end_matches("@acme.io")];
        w.wait_account(&email, "its desired state after the restart", |a| match want {
            Some(role) => state(a) == Some(AccountState::Onboarded) && roles(a) == [role],
            None => !active(a),
        })
        .await;
    }
    operator.wait_read_backs(3).await;

    // Judged by the app.
    let app_users = w.app.users().await;
    let seen = w.proxy.seen();
    let posts = seen.iter().filter(|s| s.method == "POST" && s.route().ends_with("/Users")).count();
    let mut emails: Vec<String> = app_users.iter().map(|u| u.email.to_lowercase()).collect();
    emails.sort();
    let distinct = {
        let mut d = emails.clone();
        d.dedup();
        d.len()
    };
    println!(
        "chaos: {} kills ({:?}); {posts} POST /Users for {} people; {} accounts in the app, {distinct} distinct; {} calls in all",
        w.proxy.kills(),
        kills,
        desired.len(),
        app_users.len(),
        seen.len()
    );
    assert_eq!(w.proxy.kills(), rounds);
    assert_eq!(posts, desired.len(), "one create per person, none repeated after a kill");
    assert_eq!(distinct, app_users.len(), "no duplicate account");
    for (name, want) in &desired {
        let email = format!("{name}@acme.io");
        let user = app_users.iter().find(|u| u.email.eq_ignore_ascii_case(&email)).expect("every person has an account");
        match want {
            Some(_) => assert!(user.active, "{email} lost a seat the plan never removed"),
            None => assert!(!user.active, "{email} keeps a seat it should have lost"),
        }
    }
    for name in desired.iter().filter(|(_, want)| want.is_some()).map(|(n, _)| n) {
        let account = w.account(&format!("{name}@acme.io")).await.expect("an AppAccount");
        assert_eq!(state(&account), Some(AccountState::Onboarded), "{name}");
    }
}
