//! The Kubernetes side of the planner's input: from the caches (users, grants,
//! AppAccounts) and a hub to a `PlanInput`, and back from times to RFC 3339.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use kube::ResourceExt;

use crate::api::User;
use crate::api::access_grant::AccessGrant;
use crate::api::app_account::AppAccountStatus;
use crate::api::app_account::OperationKind;
use crate::api::app_account::{AppAccount, InAppState};
use crate::api::business_hub::BusinessHub;
use crate::api::duration::parse_duration;
use crate::api::time::parse_time;
use crate::api::wire::{APPROVE_REMOVALS_ANNOTATION, claim_annotation};
use crate::plan::relevance::{Person, relevant_users};
use crate::plan::{
    Access, AccountRecord, Capabilities, DirectoryUser, ExternalAccount, GrantInput, HubPolicy, InFlight, KnownAccount, PlanInput,
};

fn seconds(duration: &str) -> i64 {
    parse_duration(duration).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Whether a grant targets this hub, by name or by the hub's labels.
pub fn grant_targets(grant: &AccessGrant, hub: &BusinessHub) -> bool {
    if grant.namespace() != hub.namespace() {
        return false;
    }
    match (&grant.spec.hub, &grant.spec.hub_selector) {
        (Some(name), _) => *name == hub.name_any(),
        (None, Some(selector)) => super::grant_controller::selects(selector, hub),
        (None, None) => false,
    }
}

pub fn hub_policy(hub: &BusinessHub, workspace_domains: Vec<String>, removals_in_window: u32, capabilities: Capabilities) -> HubPolicy {
    let spec = &hub.spec;
    HubPolicy {
        name: hub.name_any(),
        mode: spec.mode,
        role_model: spec.role_model,
        roles: spec.roles.clone(),
        assets: hub.asset_catalog(),
        login_method: spec.login_method,
        max_removals_per_window: spec.safety.max_removals_per_window.max(0) as u32,
        removals_in_window,
        removals_approved: hub.annotations().contains_key(APPROVE_REMOVALS_ANNOTATION),
        removal_grace_secs: seconds(&spec.safety.removal_grace_period),
        invite_expiry_secs: seconds(&spec.invites.expire_after),
        max_invite_resends: spec.invites.max_resends.max(0) as u32,
        service_account_email: spec.safety.service_account_email.clone(),
        workspace_domains: workspace_domains.into_iter().map(|d| d.to_lowercase()).collect(),
        ungranted_accounts: spec.ungranted_accounts,
        capabilities,
    }
}

pub fn directory_user(user: &User, hub: &str) -> DirectoryUser {
    let spec = &user.spec;
    let mut emails: Vec<&crate::api::user::UserEmail> = spec.emails.iter().collect();
    // The primary address first: invitations go there.
    emails.sort_by_key(|e| !e.primary);
    let mut addresses: Vec<String> = emails.iter().map(|e| e.value.clone()).collect();
    // IdPs often send the address only as the userName (an Entra UPN).
    if addresses.is_empty() && spec.user_name.contains('@') {
        addresses.push(spec.user_name.clone());
    }
    DirectoryUser {
        name: user.name_any(),
        user_name: spec.user_name.clone(),
        emails: addresses,
        display_name: spec.display_name.clone(),
        given_name: spec.name.as_ref().and_then(|n| n.given_name.clone()),
        family_name: spec.name.as_ref().and_then(|n| n.family_name.clone()),
        active: spec.is_active(),
        external: spec.external,
        teams: spec.teams.iter().cloned().collect(),
        claimed: user.annotations().contains_key(&claim_annotation(hub)),
    }
}

pub fn grant_input(grant: &AccessGrant) -> GrantInput {
    let spec = &grant.spec;
    GrantInput {
        name: grant.name_any(),
        team: spec.subject.team.clone(),
        user: spec.subject.user.clone(),
        workspace_role: spec.workspace_role,
        app_roles: spec.app_roles.clone(),
        assets: spec.assets.iter().map(|a| (a.name.clone(), a.role.clone())).collect(),
        seat: spec.seat,
        needs_claim: spec.claim_required || spec.hub_selector.is_some(),
    }
}

/// `asset=role` strings, as status shows assets.
pub fn asset_strings(assets: &BTreeMap<String, String>) -> Vec<String> {
    assets.iter().map(|(a, r)| if r.is_empty() { a.clone() } else { format!("{a}={r}") }).collect()
}

fn parse_assets(assets: &[String]) -> BTreeMap<String, String> {
    assets
        .iter()
        .map(|a| match a.split_once('=') {
            Some((asset, role)) => (asset.to_string(), role.to_string()),
            None => (a.clone(), String::new()),
        })
        .collect()
}

/// The account as the app reported it, from the status where the last sync or call left it.
pub fn recorded_in_app(account: &AppAccount) -> Option<ExternalAccount> {
    let status = account.status.as_ref()?;
    let in_app = status.in_app.as_ref()?;
    Some(ExternalAccount {
        id: status.external_id.clone().unwrap_or_default(),
        email: account.spec.email.clone(),
        display_name: None,
        access: Access { roles: in_app.app_roles.iter().cloned().collect(), assets: parse_assets(&in_app.assets) },
        active: in_app.active,
        invite_pending: in_app.invite_pending,
        login_method: status.login_method,
        last_active: status.last_used.as_deref().and_then(parse_time),
        invitation_failed: in_app.invitation_failed.as_ref().map(|f| crate::plan::InvitationFailure {
            reason: f.reason.clone(),
            at: f.at.as_deref().and_then(parse_time),
            expired: f.expired,
        }),
        note: None,
        // Kept by the table it was put in: an app-declared machine stays one between read-backs.
        service_account: status.table == Some(crate::api::app_account::UserTable::ServiceAccount),
    })
}

pub fn in_app_state(account: &ExternalAccount) -> InAppState {
    InAppState {
        active: account.active,
        invite_pending: account.invite_pending,
        app_roles: account.access.roles.iter().cloned().collect(),
        assets: asset_strings(&account.access.assets),
        invitation_failed: account.invitation_failed.as_ref().map(|f| crate::api::app_account::InvitationFailedState {
            reason: f.reason.clone(),
            at: f.at.map(crate::api::time::format_time),
            expired: f.expired,
        }),
    }
}

/// What rolecall recorded of an account. An AppAccount with no status yet was
/// created for an invitation about to be sent (`hub_sync::record`) and the
/// crash may have come after the call: an invitation in flight, settled by
/// the next read-back, never sent twice.
pub fn record_of(status: Option<&AppAccountStatus>) -> AccountRecord {
    let Some(status) = status else { return AccountRecord { in_flight: Some(InFlight::Add), ..AccountRecord::default() } };
    AccountRecord {
        state: status.state,
        invite_sent_at: status.invite_sent_at.as_deref().and_then(parse_time),
        invite_resends: status.invite_resends.unwrap_or(0).max(0) as u32,
        access_ended_at: status.access_ended_at.as_deref().and_then(parse_time),
        in_flight: status.operation.as_ref().map(|op| match op.action {
            OperationKind::Invite | OperationKind::ResendInvite => InFlight::Add,
            OperationKind::UpdateAccess => InFlight::Update,
            OperationKind::Remove | OperationKind::CancelInvite => InFlight::Remove,
        }),
        matched_user: status.matched_user.clone(),
        managed: status.managed,
    }
}

/// Everything the planner needs for one hub. `observed` is a fresh read-back
/// of the app; without one, each account is as its status last recorded it.
/// `touched` names (lowercase) the accounts a call changed while the read-back
/// ran: it may not show the call, so they too are as their status recorded.
#[allow(clippy::too_many_arguments)]
pub fn plan_input(
    hub: &BusinessHub,
    now: i64,
    policy: HubPolicy,
    users: &[&User],
    grants: &[&AccessGrant],
    accounts: &[&AppAccount],
    observed: Option<&[ExternalAccount]>,
    touched: Option<&HashSet<String>>,
) -> PlanInput {
    let hub_name = hub.name_any();
    let mut known: Vec<KnownAccount> = Vec::with_capacity(accounts.len());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let fresh: Option<BTreeMap<String, &ExternalAccount>> = observed.map(|list| list.iter().map(|a| (a.email.to_lowercase(), a)).collect());
    for account in accounts {
        let email = account.spec.email.to_lowercase();
        if !seen.insert(email.clone()) {
            continue;
        }
        let in_app = match &fresh {
            Some(fresh) if !touched.is_some_and(|t| t.contains(&email)) => fresh.get(&email).map(|a| (*a).clone()),
            _ => recorded_in_app(account),
        };
        known.push(KnownAccount {
            email: account.spec.email.clone(),
            observed: in_app,
            match_user: account.spec.match_user.clone(),
            exemption: account.spec.exemption.as_ref().map(|e| e.reason.clone()),
            record: record_of(account.status.as_ref()),
        });
    }
    for account in observed.unwrap_or_default() {
        if seen.insert(account.email.to_lowercase()) {
            known.push(KnownAccount {
                email: account.email.clone(),
                observed: Some(account.clone()),
                match_user: None,
                exemption: None,
                record: AccountRecord::default(),
            });
        }
    }
    let grants: Vec<GrantInput> = grants.iter().filter(|g| grant_targets(g, hub)).map(|g| grant_input(g)).collect();
    // Only the users the plan can read (see `plan::relevance`): the rest of the workspace is not converted.
    let users = relevant_users(&grants, &known, users).into_iter().map(|u| directory_user(u, &hub_name)).collect();
    PlanInput {
        now,
        hub: policy,
        users,
        grants,
        accounts: known,
        // A read-back vouches that an announced add it does not list never happened
        // (so the add is sent without a look-up) only if no call ran while it was
        // taken: an add that ran meanwhile (its answer lost to a timeout, say) may
        // have made the account after the list was read.
        read_back: observed.is_some() && touched.is_none_or(HashSet::is_empty),
    }
}

impl Person for User {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    fn teams(&self) -> impl Iterator<Item = &str> {
        self.spec.teams.iter().map(String::as_str)
    }
    fn addresses(&self) -> impl Iterator<Item = &str> {
        self.spec.emails.iter().map(|e| e.value.as_str()).chain([self.spec.user_name.as_str()])
    }
}

/// A stable object name for the account with this email on this hub.
pub fn account_name(hub: &str, email: &str) -> String {
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in email.to_lowercase().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let prefix: String = hub.chars().take(200).collect();
    format!("{prefix}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_a_call_touched_during_the_read_back_stays_as_recorded() {
        let hub: BusinessHub = serde_json::from_value(serde_json::json!({
            "apiVersion": "rolecall.dev/v1alpha1", "kind": "BusinessHub", "metadata": {"name": "app", "namespace": "ws"},
            "spec": {"connector": {"type": "Scim", "url": "http://127.0.0.1:1", "credentialsSecretRef": {"name": "c"}}}
        }))
        .expect("a hub");
        // Invited while the read-back ran: the list (taken before the call) does not show it.
        let mut invited = AppAccount::new(
            "app-1",
            crate::api::app_account::AppAccountSpec { hub: "app".into(), email: "Ann@acme.io".into(), match_user: None, exemption: None },
        );
        invited.status = Some(AppAccountStatus {
            in_app: Some(crate::api::app_account::InAppState { active: false, invite_pending: true, ..Default::default() }),
            ..Default::default()
        });
        let policy = || hub_policy(&hub, vec![], 0, crate::connector::capabilities(&hub.spec.connector));
        let touched: HashSet<String> = ["ann@acme.io".to_string()].into();
        let input = plan_input(&hub, 0, policy(), &[], &[], &[&invited], Some(&[]), Some(&touched));
        assert!(input.accounts[0].observed.as_ref().is_some_and(|o| o.invite_pending), "kept as its outcome recorded it");
        assert!(!input.read_back, "a read-back a call ran beside does not vouch for announced adds");
        let input = plan_input(&hub, 0, policy(), &[], &[], &[&invited], Some(&[]), None);
        assert!(input.accounts[0].observed.is_none(), "untouched, the read-back says it is not in the app");
        assert!(input.read_back);
    }

    #[test]
    fn account_names_are_stable_and_case_blind() {
        assert_eq!(account_name("gh", "Ann@Acme.io"), account_name("gh", "ann@acme.io"));
        assert_ne!(account_name("gh", "ann@acme.io"), account_name("gh", "bob@acme.io"));
        assert_eq!(account_name("gh", "ann@acme.io"), "gh-".to_string() + &account_name("gh", "ann@acme.io")[3..]);
    }
}
