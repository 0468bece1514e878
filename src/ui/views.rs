//! What the templates show, as plain serialisable values made from the API's
//! objects. Every string here is outside input (an email, a note, an Event's
//! message); the templates escape all of it (minijinja's HTML auto-escaping).

use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use serde::Serialize;

use crate::api::app_account::AppAccount;
use crate::api::business_hub::{AppAsset, BusinessHub, PartnerSummary};
use crate::api::condition::find_condition;
use crate::api::partner::Partner;
use crate::api::wire::{APPROVE_REMOVALS_ANNOTATION, condition};

use super::table_query::table_of;

/// One condition as a badge: `Ready: True` with the reason, and the message on hover.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ConditionView {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// One hub in the namespace's list, and the head of its own page.
#[derive(Serialize)]
pub struct HubView {
    pub name: String,
    pub connector: String,
    pub mode: String,
    pub conditions: Vec<ConditionView>,
    /// Accounts per table and state, from the hub's status (name, count).
    pub counts: Vec<(String, i32)>,
    pub last_sync_time: String,
    pub last_sync_duration_ms: Option<i64>,
    pub held_removals: i32,
    pub pending_actions: i32,
    pub removals_held: bool,
    /// The command that approves the held removals.
    pub approve_command: String,
}

pub fn hub_view(hub: &BusinessHub) -> HubView {
    let status = hub.status.clone().unwrap_or_default();
    let conditions = [condition::READY, condition::CONNECTED, condition::SYNCED, condition::REMOVALS_HELD]
        .into_iter()
        .map(|t| match find_condition(&status.conditions, t) {
            Some(c) => {
                ConditionView { type_: t.into(), status: c.status.as_ref().into(), reason: c.reason.clone(), message: c.message.clone() }
            }
            None => ConditionView { type_: t.into(), status: "Unknown".into(), reason: "NotReported".into(), message: String::new() },
        })
        .collect::<Vec<_>>();
    let removals_held = conditions.iter().any(|c| c.type_ == condition::REMOVALS_HELD && c.status == "True");
    let c = status.accounts.clone().unwrap_or_default();
    let counts = vec![
        ("Onboarded".to_string(), c.onboarded),
        ("Invited".into(), c.invited),
        ("Pending".into(), c.pending),
        ("Failed".into(), c.failed),
        ("Unmatched".into(), c.unmatched),
        ("Guests".into(), c.guests),
        ("Exempted".into(), c.exempted),
        ("Kept without grant".into(), c.kept_without_grant),
        ("Manage only".into(), c.manage_only),
        ("Removing".into(), c.removing),
        ("Removed".into(), c.removed),
    ];
    let ns = hub.namespace().unwrap_or_default();
    HubView {
        name: hub.name_any(),
        connector: format!("{:?}", hub.spec.connector.type_),
        mode: format!("{:?}", hub.spec.mode),
        conditions,
        counts,
        last_sync_time: status.last_sync_time.clone().unwrap_or_else(|| "never".into()),
        last_sync_duration_ms: status.last_sync_duration_ms,
        held_removals: status.held_removals.unwrap_or(0),
        pending_actions: status.pending_actions.unwrap_or(0),
        removals_held,
        approve_command: format!(
            "kubectl annotate businesshub {} -n {ns} {APPROVE_REMOVALS_ANNOTATION}=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" --overwrite",
            hub.name_any()
        ),
    }
}

/// One account as a table row: the reference's columns.
#[derive(Serialize)]
pub struct AccountRow {
    pub name: String,
    pub hub: String,
    pub table: String,
    pub email: String,
    /// The matched person as people know them (display name, else userName).
    pub member: String,
    pub user_name: String,
    /// The matched User's object name, for the link to the user's page.
    pub matched_user: String,
    pub workspace_role: String,
    pub app_roles: Vec<String>,
    pub assets: Vec<String>,
    pub granted_via: Vec<String>,
    pub last_used: String,
    pub state: String,
    /// What waits and why, what DryRun would do, the last error, or the exemption's reason.
    pub note: String,
    pub error: bool,
}

pub fn account_row(a: &AppAccount) -> AccountRow {
    let s = a.status.clone().unwrap_or_default();
    let (note, error) = match (&s.last_error, &s.note, &a.spec.exemption) {
        (Some(e), _, _) => (e.clone(), true),
        (None, Some(n), _) => (n.clone(), false),
        (None, None, Some(x)) => (format!("Exempted: {}", x.reason), false),
        _ => (String::new(), false),
    };
    AccountRow {
        name: a.name_any(),
        hub: a.spec.hub.clone(),
        table: format!("{:?}", table_of(a)),
        email: a.spec.email.clone(),
        member: s.display_name.clone().or(s.user_name.clone()).unwrap_or_default(),
        user_name: s.user_name.clone().unwrap_or_default(),
        matched_user: s.matched_user.clone().unwrap_or_default(),
        workspace_role: s.workspace_role.map(|r| format!("{r:?}")).unwrap_or_default(),
        app_roles: s.app_roles.clone(),
        assets: s.assets.clone(),
        granted_via: s.granted_via.clone(),
        last_used: s.last_used.clone().unwrap_or_default(),
        state: s.state.map(|st| format!("{st:?}")).unwrap_or_default(),
        note,
        error,
    }
}

/// Whether the account's removal waits for the admin's approval (the planner's note says so).
pub fn removal_held(a: &AppAccount) -> bool {
    a.status.as_ref().and_then(|s| s.note.as_deref()).is_some_and(|n| n.starts_with("removal held"))
}

/// One Event, as a line of the latest actions.
#[derive(Serialize)]
pub struct EventView {
    pub time: String,
    pub type_: String,
    pub reason: String,
    pub object: String,
    pub message: String,
    pub count: i32,
}

pub fn event_time(e: &Event) -> String {
    e.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.last_timestamp.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()))
        .unwrap_or_default()
}

pub fn event_view(e: &Event) -> EventView {
    EventView {
        time: event_time(e),
        type_: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        object: format!("{}/{}", e.involved_object.kind.clone().unwrap_or_default(), e.involved_object.name.clone().unwrap_or_default()),
        message: e.message.clone().unwrap_or_default(),
        count: e.series.as_ref().and_then(|s| s.count).or(e.count).unwrap_or(1),
    }
}

/// One partner business of a hub, as a row: what the hub's status reports,
/// and the state of the `Partner` object that declares it, when one does.
#[derive(Serialize, Debug, PartialEq)]
pub struct PartnerRow {
    pub id: String,
    pub name: String,
    /// How many of the business's assets it holds (the hub's count).
    pub assets: i32,
    /// Whether the app reports the partner (false: only a `Partner` object declares it so far).
    pub reported: bool,
    /// The declaring `Partner` object's name; empty for a partner only the app knows.
    pub declared_by: String,
    /// The declaring object's `Ready` and `Synced`; absent when it cannot be read or does not exist.
    pub ready: Option<ConditionView>,
    pub synced: Option<ConditionView>,
    /// How many changes the declaring object holds back (`status.pending`).
    pub pending: Option<usize>,
    /// The hub names a declaring object that the namespace no longer holds.
    pub declared_missing: bool,
}

fn partner_condition(p: &Partner, type_: &str) -> ConditionView {
    match p.status.as_ref().and_then(|s| find_condition(&s.conditions, type_)) {
        Some(c) => {
            ConditionView { type_: type_.into(), status: c.status.as_ref().into(), reason: c.reason.clone(), message: c.message.clone() }
        }
        None => ConditionView { type_: type_.into(), status: "Unknown".into(), reason: "NotReported".into(), message: String::new() },
    }
}

/// The hub's partners, joined with the `Partner` objects of its namespace.
/// `declared` is `None` when those objects could not be read (RBAC): the rows
/// then name the declaring object without its state.
pub fn partner_rows(hub: &str, summaries: &[PartnerSummary], declared: Option<&[Partner]>) -> Vec<PartnerRow> {
    let mut rows: Vec<PartnerRow> = summaries
        .iter()
        .map(|s| {
            let declared_by = s.declared_by.clone().unwrap_or_default();
            // The object must belong to this hub too: a same-named Partner of another hub is not this one's.
            let object = declared
                .filter(|_| !declared_by.is_empty())
                .and_then(|all| all.iter().find(|p| p.name_any() == declared_by && p.spec.hub == hub));
            PartnerRow {
                id: s.id.clone(),
                name: s.name.clone().unwrap_or_default(),
                assets: s.assets,
                reported: true,
                ready: object.map(|p| partner_condition(p, condition::READY)),
                synced: object.map(|p| partner_condition(p, condition::SYNCED)),
                pending: object.map(|p| p.status.as_ref().map_or(0, |st| st.pending.len())),
                declared_missing: declared.is_some() && !declared_by.is_empty() && object.is_none(),
                declared_by,
            }
        })
        .collect();
    // A Partner of this hub the app does not report (one declared but not granted yet) is a row too,
    // so what waits for it (its pending grants) is on the page.
    let unreported = declared.unwrap_or_default().iter().filter(|p| {
        p.spec.hub == hub && !summaries.iter().any(|s| s.id == p.spec.partner_id || s.declared_by.as_deref() == Some(&p.name_any()))
    });
    rows.extend(unreported.map(|p| PartnerRow {
        id: p.spec.partner_id.clone(),
        name: p.status.as_ref().and_then(|s| s.name.clone()).unwrap_or_default(),
        assets: 0,
        reported: false,
        declared_by: p.name_any(),
        ready: Some(partner_condition(p, condition::READY)),
        synced: Some(partner_condition(p, condition::SYNCED)),
        pending: Some(p.status.as_ref().map_or(0, |st| st.pending.len())),
        declared_missing: false,
    }));
    rows.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    rows
}

/// One asset the hub's read-back imported.
#[derive(Serialize, Debug, PartialEq)]
pub struct AssetRow {
    pub name: String,
    pub kind: String,
    pub id: String,
    /// Lowest first, as the app ranks them.
    pub roles: Vec<String>,
}

pub fn asset_rows(assets: &[AppAsset]) -> Vec<AssetRow> {
    assets
        .iter()
        .map(|a| AssetRow {
            name: a.name.clone(),
            kind: a.kind.clone().unwrap_or_default(),
            id: a.id.clone().unwrap_or_default(),
            roles: a.roles.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::partner::{PartnerPendingChange, PartnerSpec, PartnerStatus};

    fn summary(id: &str, name: &str, assets: i32, declared_by: Option<&str>) -> PartnerSummary {
        PartnerSummary { id: id.into(), name: Some(name.into()), assets, declared_by: declared_by.map(Into::into) }
    }

    fn partner(name: &str, hub: &str, pending: usize) -> Partner {
        let mut p = Partner::new(name, PartnerSpec { hub: hub.into(), partner_id: "1".into(), access: None });
        p.status = Some(PartnerStatus {
            pending: (0..pending)
                .map(|i| PartnerPendingChange { action: "Grant".into(), asset: format!("a{i}"), role: String::new() })
                .collect(),
            ..PartnerStatus::default()
        });
        p
    }

    #[test]
    fn a_declared_partner_shows_its_objects_state_and_an_undeclared_one_none() {
        let summaries = [summary("2", "Northwind", 3, Some("northwind")), summary("1", "agency", 1, None)];
        let objects = [partner("northwind", "other-hub", 9), partner("northwind", "meta", 2)];
        let rows = partner_rows("meta", &summaries, Some(&objects));
        assert_eq!(
            rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["1", "2"],
            "by name, ignoring case; another hub's Partner is no row"
        );
        assert_eq!(rows[1].pending, Some(2), "this hub's object, not the other hub's");
        assert_eq!(rows[1].synced.as_ref().map(|c| c.status.as_str()), Some("Unknown"));
        assert!(!rows[1].declared_missing);
        assert_eq!((rows[0].pending.is_none(), rows[0].declared_missing), (true, false));
    }

    #[test]
    fn a_declared_partner_the_app_does_not_report_is_a_row_of_its_own() {
        let summaries = [summary("2", "Northwind", 3, Some("northwind"))];
        let mut eastwind = partner("eastwind", "meta", 1);
        eastwind.spec.partner_id = "3".into();
        let rows = partner_rows("meta", &summaries, Some(&[partner("northwind", "meta", 0), eastwind]));
        assert_eq!(rows.len(), 2);
        let east = rows.iter().find(|r| r.id == "3").expect("eastwind's row");
        assert_eq!((east.reported, east.assets, east.pending, east.declared_by.as_str()), (false, 0, Some(1), "eastwind"));
        assert!(rows.iter().find(|r| r.id == "2").is_some_and(|r| r.reported));
    }

    #[test]
    fn unreadable_objects_leave_the_state_out_and_a_vanished_one_is_said() {
        let summaries = [summary("2", "Northwind", 3, Some("northwind"))];
        let unreadable = partner_rows("meta", &summaries, None);
        assert_eq!((unreadable[0].ready.is_none(), unreadable[0].declared_missing), (true, false));
        let vanished = partner_rows("meta", &summaries, Some(&[]));
        assert!(vanished[0].declared_missing);
    }
}
