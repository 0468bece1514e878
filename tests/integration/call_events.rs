//! The audit trail of a bulk sync against the real API server and a real SCIM
//! app: the first ten invitations of a sync get an Event on their AppAccount,
//! the rest one Event on the hub that names them, and every call a log line.

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use rolecall::api::app_account::AccountState;

use crate::harness::{Operator, client, kubeconfig, rolecall_bin, wait_for};
use crate::world::{LIMIT, state, world};

const PEOPLE: usize = 14;

#[tokio::test]
async fn a_bulk_sync_folds_its_events_past_ten_and_logs_every_call() {
    let w = world("call-events").await;
    let team = w.idp_team("Sales", "seller", PEOPLE).await;
    w.hub("app", "Enforce", "");
    w.grant("sales", &team, "member", "app");
    let operator = Operator::start(&w.ns, "rolecall", "op-1", &["--resync", "2s"]);

    for i in 0..PEOPLE {
        let email = format!("seller{i:02}@acme.io");
        w.wait_account(&email, "invited", |a| matches!(state(a), Some(AccountState::InviteSent | AccountState::Onboarded))).await;
    }
    let posts = w.proxy.writes().iter().filter(|c| c.method == "POST").count();
    assert_eq!(posts, PEOPLE, "one invitation each: {:?}", w.proxy.writes());

    // Events go out beside the calls: wait for the hub's, and the ten on accounts.
    let events: Api<Event> = Api::namespaced(client().await, &w.ns);
    let about = |kind: &'static str| {
        let events = events.clone();
        async move {
            let listed = events.list(&Default::default()).await.map(|l| l.items).unwrap_or_default();
            listed
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some("Invite"))
                .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some(kind))
                .collect::<Vec<Event>>()
        }
    };
    wait_for(LIMIT, "ten Invite Events on AppAccounts and one on the hub", || async {
        about("AppAccount").await.len() >= 10 && !about("BusinessHub").await.is_empty()
    })
    .await;
    let on_accounts = about("AppAccount").await;
    let on_hub = about("BusinessHub").await;
    assert_eq!(on_accounts.len(), 10, "{on_accounts:#?}");
    assert_eq!(on_hub.len(), 1, "{on_hub:#?}");
    let note = on_hub[0].note.clone().unwrap_or_default();
    assert!(note.starts_with(&format!("Invite: {} more in this sync", PEOPLE - 10)), "{note}");
    // Between them, the Events name every person once.
    let mut named: Vec<String> = (0..PEOPLE)
        .map(|i| format!("seller{i:02}@acme.io"))
        .filter(|email| {
            let own = on_accounts.iter().any(|e| e.note.as_deref() == Some(&format!("Invite {email}")));
            let folded = note.contains(email.as_str());
            assert!(own != folded, "{email}: on its account {own}, on the hub {folded}");
            own || folded
        })
        .collect();
    named.dedup();
    assert_eq!(named.len(), PEOPLE);
    // `rolecall status` lists the folded Event among the latest actions.
    let out = std::process::Command::new(rolecall_bin())
        .args(["status", "app", "--namespace", &w.ns])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("rolecall status runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains(&format!("Invite: {} more in this sync", PEOPLE - 10)), "{text}");

    // The audit log has a line for every call, with its operation id.
    let log = std::fs::read_to_string(operator.log_path()).expect("the operator's log");
    let audit: Vec<&str> = log.lines().filter(|l| l.contains("rolecall::audit") && l.contains("call=Invite")).collect();
    assert_eq!(audit.len(), PEOPLE, "{audit:#?}");
    assert!(audit.iter().all(|l| l.contains("operation=")), "{audit:#?}");
}
