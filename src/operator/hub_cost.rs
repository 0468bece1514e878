//! What one sync of a large hub costs the operator itself, the API server's
//! and the app's answering time left out: reading the app's list back (JSON
//! parsed and mapped to accounts), building the plan's input from the cached
//! objects, planning, and each account's planned status compared with the
//! recorded one (step 3's work before any write). `make bench-hub` runs it on
//! the optimised build with BENCH_HUB_ACCOUNTS accounts (5,000) among
//! BENCH_HUB_USERS users (10,000); it prints figures and asserts none.

#[cfg(test)]
mod bench {
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    use crate::api::app_account::{AppAccount, AppAccountSpec};
    use crate::api::{AccessGrant, BusinessHub, User};
    use crate::connector::ExternalAccount;
    use crate::connector::scim::account_of;
    use crate::operator::account_status::planned_status;
    use crate::operator::plan_input::{hub_policy, plan_input};
    use crate::plan::{PlanInput, plan};

    fn size(var: &str, default: usize) -> usize {
        std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    fn object<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).expect("a valid object")
    }

    /// The company: every user in a division (a half) and a department (a fortieth).
    fn users(n: usize) -> Vec<User> {
        (0..n)
            .map(|i| {
                object(json!({
                    "apiVersion": "rolecall.dev/v1alpha1", "kind": "User",
                    "metadata": {"name": format!("u{i}"), "namespace": "ws", "uid": format!("uid-{i}")},
                    "spec": {
                        "userName": format!("u{i}@acme.io"),
                        "emails": [{"value": format!("u{i}@acme.io"), "primary": true}],
                        "name": {"givenName": format!("Given{i}"), "familyName": "Family"},
                        "displayName": format!("User {i}"),
                        "teams": [format!("div-{}", i % 2), format!("dept-{}", i % 40)]
                    }
                }))
            })
            .collect()
    }

    fn hub() -> BusinessHub {
        object(json!({
            "apiVersion": "rolecall.dev/v1alpha1", "kind": "BusinessHub",
            "metadata": {"name": "app", "namespace": "ws", "uid": "hub-uid"},
            "spec": {
                "connector": {"type": "Scim", "url": "http://127.0.0.1:1/scim", "credentialsSecretRef": {"name": "creds"}},
                "mode": "Enforce",
                "roles": [{"name": "member", "weight": 1}, {"name": "admin", "weight": 10, "admin": true}]
            }
        }))
    }

    fn grant(name: &str, team: &str, role: &str) -> AccessGrant {
        object(json!({
            "apiVersion": "rolecall.dev/v1alpha1", "kind": "AccessGrant",
            "metadata": {"name": name, "namespace": "ws"},
            "spec": {"subject": {"team": team}, "hub": "app", "appRoles": [role]}
        }))
    }

    /// The app's list of `members` as SCIM JSON text, as one answer would carry it.
    fn app_list(members: &[usize]) -> String {
        let resources: Vec<Value> = members
            .iter()
            .map(|i| {
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": format!("id-{i}"),
                    "userName": format!("u{i}@acme.io"), "active": true, "displayName": format!("User {i}"),
                    "emails": [{"value": format!("u{i}@acme.io"), "primary": true, "type": "work"}],
                    "roles": [{"value": if i % 40 == 0 { "admin" } else { "member" }}], "meta": {"resourceType": "User"}
                })
            })
            .collect();
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": members.len(), "Resources": resources})
            .to_string()
    }

    fn read_back(text: &str) -> Vec<ExternalAccount> {
        let page: Value = serde_json::from_str(text).expect("a list");
        page["Resources"].as_array().map(|r| r.iter().filter_map(account_of).collect()).unwrap_or_default()
    }

    struct Sync {
        read_back: Duration,
        input: Duration,
        plan: Duration,
        record: Duration,
        actions: usize,
        unchanged: usize,
    }

    /// The plan's input for `accounts`, with the app's list `observed`.
    fn input(
        hub: &BusinessHub,
        users: &[User],
        grants: &[AccessGrant],
        accounts: &[AppAccount],
        observed: &[ExternalAccount],
    ) -> PlanInput {
        let policy = hub_policy(hub, vec!["acme.io".into()], 0, crate::connector::capabilities(&hub.spec.connector));
        plan_input(
            hub,
            1_800_000_000,
            policy,
            &users.iter().collect::<Vec<_>>(),
            &grants.iter().collect::<Vec<_>>(),
            &accounts.iter().collect::<Vec<_>>(),
            Some(observed),
            None,
        )
    }

    /// One sync's own work: read back `listed`, plan, and compare each planned status with the recorded one.
    fn sync(hub: &BusinessHub, users: &[User], grants: &[AccessGrant], accounts: &[AppAccount], listed: &str) -> Sync {
        let started = Instant::now();
        let observed = read_back(listed);
        let read_back = started.elapsed();
        let started = Instant::now();
        let input = input(hub, users, grants, accounts, &observed);
        let input_took = started.elapsed();
        let started = Instant::now();
        let planned = plan(&input);
        let plan_took = started.elapsed();
        let started = Instant::now();
        let by_email: std::collections::HashMap<String, &AppAccount> = accounts.iter().map(|a| (a.spec.email.to_lowercase(), a)).collect();
        let in_app: std::collections::HashMap<String, &ExternalAccount> = observed.iter().map(|a| (a.email.to_lowercase(), a)).collect();
        let mut unchanged = 0;
        for entry in &planned.accounts {
            let key = entry.email.to_lowercase();
            let existing = by_email.get(&key).and_then(|a| a.status.as_ref());
            let desired = planned_status(entry, in_app.get(&key).copied(), existing);
            unchanged += usize::from(existing == Some(&desired));
        }
        Sync { read_back, input: input_took, plan: plan_took, record: started.elapsed(), actions: planned.actions.len(), unchanged }
    }

    #[test]
    #[ignore = "a benchmark: make bench-hub"]
    fn one_sync_of_a_large_hub() {
        let (n_accounts, n_users) = (size("BENCH_HUB_ACCOUNTS", 5_000), size("BENCH_HUB_USERS", 10_000));
        let users = users(n_users.max(2 * n_accounts));
        let hub = hub();
        // Division 0 holds half the company: the grant seats `n_accounts` of them.
        let grants = vec![grant("members", "div-0", "member"), grant("admins", "dept-0", "admin")];
        let members: Vec<usize> = (0..users.len()).filter(|i| i % 2 == 0).take(n_accounts).collect();

        // A converged hub: every member in the app, each account's status as the last sync recorded it.
        let listed = app_list(&members);
        let empty: Vec<AppAccount> = vec![];
        let observed = read_back(&listed);
        let first = plan(&input(&hub, &users, &grants, &empty, &observed));
        let in_app: std::collections::HashMap<String, &ExternalAccount> = observed.iter().map(|a| (a.email.to_lowercase(), a)).collect();
        let accounts: Vec<AppAccount> = first
            .accounts
            .iter()
            .map(|entry| {
                let mut account = AppAccount::new(
                    &crate::operator::plan_input::account_name("app", &entry.email),
                    AppAccountSpec { hub: "app".into(), email: entry.email.clone(), match_user: None, exemption: None },
                );
                account.metadata.namespace = Some("ws".into());
                account.status = Some(planned_status(entry, in_app.get(&entry.email.to_lowercase()).copied(), None));
                account
            })
            .collect();

        let steady = sync(&hub, &users, &grants, &accounts, &listed);
        // A rollout's sync: a second division granted, its members not in the app yet.
        let mut rollout_grants = grants.clone();
        rollout_grants.push(grant("division-1", "div-1", "member"));
        let rollout = sync(&hub, &users, &rollout_grants, &accounts, &listed);

        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        for (what, s) in [("steady", &steady), ("rollout", &rollout)] {
            println!(
                "hub-cost: {what}: {} accounts, {} users: read-back {:.1} ms, input {:.1} ms, plan {:.1} ms, record {:.1} ms, total {:.1} ms ({} actions, {} statuses unchanged)",
                accounts.len(),
                users.len(),
                ms(s.read_back),
                ms(s.input),
                ms(s.plan),
                ms(s.record),
                ms(s.read_back + s.input + s.plan + s.record),
                s.actions,
                s.unchanged
            );
        }
        assert_eq!(steady.actions, 0, "a converged hub plans no call");
        assert_eq!(steady.unchanged, accounts.len(), "a converged hub writes no status");
        assert!(rollout.actions > 0, "the second division is invited");
    }
}
