//! `rolecall status HUB`: the hub's four user tables and its latest actions,
//! read from the AppAccounts and their Events. `rolecall claim HUB`: a user
//! asks for the access a collection (or a claim-required grant) offers.
//! Both are also `kubectl rolecall status|claim` (see `kubectl_plugin`).

pub mod machine;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};

use crate::api::app_account::{AppAccount, OperationKind, UserTable};
use crate::api::business_hub::BusinessHub;
use crate::api::wire::{HUB_LABEL, claim_annotation};
use crate::api::{User, condition::find_condition};
use crate::cli::{ClaimArgs, OutputFormat, StatusArgs};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("{kind} {namespace}/{name} does not exist")]
    NotFound { kind: &'static str, namespace: String, name: String },
    #[error("cannot write the report as {format}: {message}")]
    Encode { format: &'static str, message: String },
}

async fn client_and_namespace(namespace: &Option<String>) -> Result<(Client, String), ReportError> {
    let client = Client::try_default().await?;
    let ns = namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    Ok((client, ns))
}

pub async fn status(args: StatusArgs) -> Result<(), ReportError> {
    let (client, ns) = client_and_namespace(&args.namespace).await?;
    let hub = Api::<BusinessHub>::namespaced(client.clone(), &ns).get_opt(&args.hub).await?.ok_or_else(|| ReportError::NotFound {
        kind: "BusinessHub",
        namespace: ns.clone(),
        name: args.hub.clone(),
    })?;
    let accounts = Api::<AppAccount>::namespaced(client.clone(), &ns)
        .list(&ListParams::default().labels(&format!("{HUB_LABEL}={}", args.hub)))
        .await?;
    let events_api = Api::<Event>::namespaced(client, &ns);
    let events = events_api.list(&ListParams::default().fields("involvedObject.kind=AppAccount")).await?;
    // A bulk sync's calls past the first ten of a kind are one Event on the hub (`call_events`).
    let folded = events_api
        .list(&ListParams::default().fields(&format!("involvedObject.kind=BusinessHub,involvedObject.name={}", args.hub)))
        .await?;
    let names: std::collections::BTreeSet<String> = accounts.items.iter().map(|a| a.name_any()).collect();
    let mut latest: Vec<&Event> = events
        .items
        .iter()
        .filter(|e| e.involved_object.name.as_ref().is_some_and(|n| names.contains(n)))
        .chain(folded.items.iter().filter(|e| e.action.as_deref().is_some_and(OperationKind::is_call_name)))
        .collect();
    latest.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
    latest.truncate(args.actions);
    let text = match args.output {
        OutputFormat::Table => render(&hub, &accounts.items, &latest),
        OutputFormat::Json => {
            let report = machine::build(&hub, &accounts.items, &latest, event_time);
            serde_json::to_string_pretty(&report).map_err(|e| ReportError::Encode { format: "json", message: e.to_string() })? + "\n"
        }
        OutputFormat::Yaml => {
            let report = machine::build(&hub, &accounts.items, &latest, event_time);
            serde_yaml::to_string(&report).map_err(|e| ReportError::Encode { format: "yaml", message: e.to_string() })?
        }
    };
    print!("{text}");
    Ok(())
}

fn event_time(e: &Event) -> String {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()))
        .unwrap_or_default()
}

/// The report as text: a header, one table per user table, the latest actions.
pub fn render(hub: &BusinessHub, accounts: &[AppAccount], latest: &[&Event]) -> String {
    let mut out = String::new();
    let status = hub.status.clone().unwrap_or_default();
    let condition =
        |t: &str| find_condition(&status.conditions, t).map(|c| format!("{}={} ({})", t, c.status.as_ref(), c.reason)).unwrap_or_default();
    out.push_str(&format!("Hub {} ({:?}, mode {:?})\n", hub.name_any(), hub.spec.connector.type_, hub.spec.mode));
    out.push_str(&format!(
        "  {}  {}  {}  {}\n",
        condition("Ready"),
        condition("Connected"),
        condition("Synced"),
        condition("RemovalsHeld")
    ));
    if let Some(t) = &status.last_sync_time {
        out.push_str(&format!("  last change found by a sync: {t}\n"));
    }
    let mut tables: BTreeMap<UserTable, Vec<&AppAccount>> = BTreeMap::new();
    for account in accounts {
        let table = account.status.as_ref().and_then(|s| s.table).unwrap_or(UserTable::Unmatched);
        tables.entry(table).or_default().push(account);
    }
    for table in [UserTable::Onboarded, UserTable::Unmatched, UserTable::Guest, UserTable::Exempted, UserTable::ServiceAccount] {
        let rows = tables.remove(&table).unwrap_or_default();
        if table == UserTable::ServiceAccount && rows.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{table:?} ({})\n", rows.len()));
        if rows.is_empty() {
            continue;
        }
        // The reference's columns: account member, workspace role, app access, shared via, last used, status.
        out.push_str(&format!(
            "  {:<32} {:<40} {:<13} {:<16} {:<16} {:<20} {:<20} {:<16} {}\n",
            "EMAIL", "USER", "WORKSPACE", "APP ROLES", "ASSETS", "SHARED VIA", "LAST USED", "STATUS", "NOTE"
        ));
        let mut rows = rows;
        rows.sort_by_key(|a| a.spec.email.to_lowercase());
        for account in rows {
            let s = account.status.clone().unwrap_or_default();
            let note =
                s.last_error.clone().or(s.note.clone()).or(account.spec.exemption.as_ref().map(|e| e.reason.clone())).unwrap_or_default();
            let dash = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(",") };
            out.push_str(&format!(
                "  {:<32} {:<40} {:<13} {:<16} {:<16} {:<20} {:<20} {:<16} {}\n",
                account.spec.email,
                person(&s),
                s.workspace_role.map(|r| format!("{r:?}")).unwrap_or_else(|| "-".into()),
                dash(&s.app_roles),
                dash(&s.assets),
                dash(&s.granted_via),
                s.last_used.clone().unwrap_or_else(|| "-".into()),
                s.state.map(|st| format!("{st:?}")).unwrap_or_else(|| "-".into()),
                note
            ));
        }
    }
    out.push_str(&format!("\nLatest actions ({})\n", latest.len()));
    for e in latest {
        out.push_str(&format!(
            "  {:<25} {:<8} {:<18} {}\n",
            event_time(e),
            e.type_.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default()
        ));
    }
    out
}

/// The matched person as people know them: "Display Name <userName>", else the object's name.
fn person(s: &crate::api::app_account::AppAccountStatus) -> String {
    match (&s.display_name, &s.user_name, &s.matched_user) {
        (Some(display), Some(user), _) => format!("{display} <{user}>"),
        (None, Some(user), _) => user.clone(),
        (_, None, Some(name)) => name.clone(),
        _ => "-".into(),
    }
}

/// Writes the claim on the User; the hub's next plan invites them.
pub async fn claim(args: ClaimArgs) -> Result<(), ReportError> {
    let (client, ns) = client_and_namespace(&args.namespace).await?;
    let users: Api<User> = Api::namespaced(client, &ns);
    if users.get_opt(&args.user).await?.is_none() {
        return Err(ReportError::NotFound { kind: "User", namespace: ns, name: args.user });
    }
    let now = crate::api::time::now_rfc3339();
    let patch = serde_json::json!({"metadata": {"annotations": {claim_annotation(&args.hub): now}}});
    users.patch(&args.user, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    println!("{} claimed access to hub {} at {now}", args.user, args.hub);
    Ok(())
}
