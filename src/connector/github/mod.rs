//! The GitHub connector: an organisation's members and invitations as
//! accounts, org roles (`member`, `admin`) as app roles, and the teams the
//! hub's asset catalog names as assets (`member` or `maintainer` on each).
//!
//! - Accounts are members (`member:LOGIN`), pending invitations and failed
//!   invitations (`invitation:ID`), one per email: a member wins over an
//!   invitation for the same email, a pending invitation over a failed one, and
//!   of failed ones the latest.
//! - Adds are email invitations with the org role and the granted teams'
//!   ids; removal of a member deletes the membership, of an invitation cancels it.
//! - Every read is conditional (ETag), every list paged by `Link`, every write
//!   paced to GitHub's limits, and invitations kept under the daily cap; the
//!   ones beyond it wait, and [`Connector::invitation_queue`] says how many and until when.
//!
//! See `docs/github-connector.md` for settings, scopes and what is not supported.

mod client;
pub mod credentials;
pub mod ids;
pub mod invitations;
pub mod limits;
pub mod members;
#[cfg(test)]
mod scripted_tests;
pub mod teams;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::json;

use self::client::{Client, HubState};
use self::ids::ExternalId;
use self::limits::InvitationCap;
use self::members::Member;
use crate::api::business_hub::{BusinessHubSpec, InvitationQueue};
use crate::connector::{Access, Connector, ConnectorError, ExternalAccount, NewAccount, OperationId, Pacer};

pub struct GitHubConnector {
    client: Client,
    org: String,
    /// Team slugs the hub's asset catalog names: the only teams read or changed.
    catalog_teams: BTreeSet<String>,
    cap: InvitationCap,
    window_text: String,
    /// Emails whose invitation this connector held back for the cap (one sync's worth).
    queued: Mutex<BTreeSet<String>>,
}

/// A GitHub login or organisation name, safe in a path.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl GitHubConnector {
    pub fn new(spec: &BusinessHubSpec, credential: String, pacer: Arc<Pacer>, timeout: Duration) -> Result<Self, ConnectorError> {
        let connector = &spec.connector;
        let org = connector.organization.clone().unwrap_or_default();
        if !valid_name(&org) {
            return Err(ConnectorError::Config(format!("spec.connector.organization {org:?} is not a GitHub organisation name")));
        }
        let settings = connector.github.clone().unwrap_or_default();
        let window = crate::api::duration::parse_duration(&settings.invitation_window)
            .map_err(|e| ConnectorError::Config(format!("spec.connector.github.invitationWindow: {e}")))?;
        let cap = InvitationCap { cap: settings.invitation_cap.max(0) as usize, window };
        let credential = credentials::credential_of(credential, settings.app.as_ref())?;
        let base = connector.url.trim_end_matches('/');
        // Another App or installation is another identity: nothing of the last one's is reused.
        let identity = settings.app.as_ref().map(|a| format!("|app:{}:{}", a.app_id, a.installation_id)).unwrap_or_default();
        let state = HubState::of(&format!("{}|{base}|{org}{identity}", pacer.hub()));
        let client = Client::new(base, credential, pacer, timeout, state)?;
        let catalog_teams = spec.assets.iter().map(|a| a.name.clone()).collect();
        Ok(GitHubConnector { client, org, catalog_teams, cap, window_text: settings.invitation_window, queued: Mutex::default() })
    }

    fn queued(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.queued.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `GET /orgs/{org}`: the organisation exists, the token sees it, and (for a classic token) has `admin:org`.
    async fn check_org(&self) -> Result<(), ConnectorError> {
        let url = format!("{}/orgs/{}", self.client.base, self.org);
        let reply = match self.client.get(&url).await {
            Err(ConnectorError::NotFound(_)) => {
                return Err(ConnectorError::NotFound(format!(
                    "the organization {:?} does not exist at {}, or the token cannot see it (spec.connector.organization)",
                    self.org, self.client.base
                )));
            }
            other => other?,
        };
        match credentials::missing_scope(reply.scopes.as_deref()) {
            Some(missing) => Err(ConnectorError::Auth(missing)),
            None => Ok(()),
        }
    }

    async fn members(&self) -> Result<Vec<Member>, ConnectorError> {
        let mut all = Vec::new();
        for role in [members::ADMIN, members::MEMBER] {
            let listed = self.client.get_all(&format!("/orgs/{}/members?role={role}", self.org)).await?;
            all.extend(members::members_of(&listed, role));
        }
        Ok(all)
    }

    async fn team_ids(&self) -> Result<BTreeMap<String, u64>, ConnectorError> {
        Ok(teams::team_ids(&self.client.get_all(&format!("/orgs/{}/teams", self.org)).await?))
    }

    /// Login → (catalog team slug → role), with the memberships GitHub answered `pending` held as asked.
    async fn team_roles(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>, ConnectorError> {
        let mut roles: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        if self.catalog_teams.is_empty() {
            return Ok(roles);
        }
        let existing = self.team_ids().await?;
        for slug in self.catalog_teams.iter().filter(|s| existing.contains_key(*s)) {
            for role in teams::TEAM_ROLES {
                let listed = self.client.get_all(&format!("/orgs/{}/teams/{slug}/members?role={role}", self.org)).await?;
                for login in teams::logins(&listed) {
                    roles.entry(login).or_default().insert(slug.clone(), role.to_string());
                }
            }
        }
        let mut pending = self.client.state.pending_teams();
        pending.retain(|(login, slug), _| !roles.get(login).is_some_and(|t| t.contains_key(slug)));
        for ((login, slug), role) in pending.iter() {
            roles.entry(login.clone()).or_default().insert(slug.clone(), role.clone());
        }
        Ok(roles)
    }

    /// Every account: members, then pending invitations, then failed ones, one per email.
    async fn read_all(&self) -> Result<Vec<ExternalAccount>, ConnectorError> {
        self.check_org().await?;
        let members = self.members().await?;
        let mut team_roles = self.team_roles().await?;
        let pending = invitations::invitations_of(&self.client.get_all(&format!("/orgs/{}/invitations", self.org)).await?);
        let failed = invitations::invitations_of(&self.client.get_all(&format!("/orgs/{}/failed_invitations", self.org)).await?);
        let mut by_email: BTreeMap<String, ExternalAccount> = BTreeMap::new();
        for member in &members {
            let account = members::account_of(member, team_roles.remove(&member.login).unwrap_or_default());
            by_email.entry(account.email.to_lowercase()).or_insert(account);
        }
        for invitation in &pending {
            by_email.entry(invitation.email.to_lowercase()).or_insert_with(|| invitations::account_of(invitation));
        }
        let mut failed = failed;
        failed.sort_by_key(|i| i.failed.as_ref().and_then(|f| f.at));
        for invitation in &failed {
            let key = invitation.email.to_lowercase();
            // A later failure replaces an earlier one; a member or a pending invitation stays.
            if by_email.get(&key).is_none_or(|a| a.invitation_failed.is_some()) {
                by_email.insert(key, invitations::account_of(invitation));
            }
        }
        Ok(by_email.into_values().collect())
    }

    /// Takes a place under the invitation cap, or says how long until one frees.
    fn reserve_invitation(&self, email: &str) -> Result<SystemTime, ConnectorError> {
        let now = SystemTime::now();
        let mut sent = self.client.state.invitations();
        limits::forget_old(&mut sent, now, self.cap.window);
        if let Some(wait) = self.cap.wait(&sent, now) {
            self.queued().insert(email.to_lowercase());
            tracing::info!(org = %self.org, wait_s = wait.as_secs(), "an invitation waits for a place under the organisation's invitation cap");
            return Err(ConnectorError::RateLimited { retry_after: Some(wait) });
        }
        sent.push_back(now);
        Ok(now)
    }

    /// The invitation reserved at `at` was answered (or may have reached GitHub):
    /// its place counts from now. GitHub counts an invitation when it receives
    /// it, which may be long after the place was reserved (the call waits behind
    /// the pacer and the app's limits); counted from the reservation, the next
    /// window would open early and GitHub could see one invitation too many in it.
    fn settle_invitation(&self, at: SystemTime) {
        let mut sent = self.client.state.invitations();
        if let Some(i) = sent.iter().position(|t| *t == at) {
            sent.remove(i);
            sent.push_back(SystemTime::now().max(at));
            sent.make_contiguous().sort();
        }
    }

    /// Gives back a place an invitation GitHub refused did not use.
    fn release_invitation(&self, at: SystemTime) {
        let mut sent = self.client.state.invitations();
        if let Some(i) = sent.iter().position(|t| *t == at) {
            sent.remove(i);
        }
    }

    /// GitHub says the cap is used up: no place until the window has passed.
    fn cap_used_up(&self, email: &str) -> ConnectorError {
        let now = SystemTime::now();
        let mut sent = self.client.state.invitations();
        while sent.len() < self.cap.cap.max(1) {
            sent.push_back(now);
        }
        self.queued().insert(email.to_lowercase());
        ConnectorError::RateLimited { retry_after: self.cap.wait(&sent, now).or(Some(self.cap.window)) }
    }

    async fn set_team(&self, slug: &str, login: &str, role: &str) -> Result<(), ConnectorError> {
        let path = format!("/orgs/{}/teams/{slug}/memberships/{login}", self.org);
        let reply = self.client.write(Method::PUT, &path, Some(&json!({"role": role}))).await?;
        if teams::is_pending(&reply.body) {
            self.client.state.pending_teams().insert((login.to_string(), slug.to_string()), role.to_string());
        }
        Ok(())
    }
}

fn permanent(message: String) -> ConnectorError {
    ConnectorError::Permanent(message)
}

impl Connector for GitHubConnector {
    fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
        Box::pin(self.read_all())
    }

    fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
        Box::pin(async move { Ok(self.read_all().await?.into_iter().find(|a| a.email.eq_ignore_ascii_case(email))) })
    }

    // GitHub takes no idempotency key: a repeated invitation answers 422 (already
    // invited or a member), which the executor adopts; an add that may have
    // happened is read back before it is sent again.
    fn add_account<'a>(&'a self, account: &'a NewAccount, _: &'a OperationId) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
        Box::pin(async move {
            let role = members::org_role(&account.access.roles).map_err(permanent)?;
            let mut team_ids = Vec::new();
            if !account.access.assets.is_empty() {
                let ids = self.team_ids().await?;
                for slug in account.access.assets.keys() {
                    let id = ids.get(slug).ok_or_else(|| permanent(format!("the organization has no team {slug:?}")))?;
                    team_ids.push(*id);
                }
            }
            let reserved = self.reserve_invitation(&account.email)?;
            let body = invitations::invitation_body(&account.email, role, &team_ids);
            let reply = match self.client.write(Method::POST, &format!("/orgs/{}/invitations", self.org), Some(&body)).await {
                Ok(reply) => reply,
                Err(e) => {
                    // Refused as it was: it used no place. A failure that may have reached GitHub keeps its place.
                    if !e.is_retryable() || matches!(e, ConnectorError::RateLimited { .. }) {
                        self.release_invitation(reserved);
                    } else {
                        self.settle_invitation(reserved);
                    }
                    return Err(match e {
                        ConnectorError::Permanent(m) if invitations::is_over_cap(&m) => self.cap_used_up(&account.email),
                        other => other,
                    });
                }
            };
            self.settle_invitation(reserved);
            self.queued().remove(&account.email.to_lowercase());
            let made = invitations::invitations_of(std::slice::from_ref(&reply.body));
            let mut made = match made.first() {
                Some(invitation) => invitations::account_of(invitation),
                None => {
                    return self.find_account(&account.email).await?.ok_or_else(|| {
                        ConnectorError::Transient(format!(
                            "GitHub accepted the invitation of {} but neither returned nor lists it",
                            account.email
                        ))
                    });
                }
            };
            made.access = account.access.clone();
            Ok(made)
        })
    }

    fn update_access<'a>(
        &'a self,
        external_id: &'a str,
        access: &'a Access,
        _: &'a OperationId,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            let login = match ExternalId::parse(external_id) {
                Some(ExternalId::Member(login)) => login,
                Some(ExternalId::Invitation(_)) => {
                    return Err(permanent("a GitHub invitation cannot be changed; it is sent again with the new access".into()));
                }
                None => return Err(ConnectorError::NotFound(format!("{external_id:?} is not a GitHub member id"))),
            };
            let role = members::org_role(&access.roles).map_err(permanent)?;
            let members = self.members().await?;
            let current = members
                .iter()
                .find(|m| m.login.eq_ignore_ascii_case(&login))
                .ok_or_else(|| ConnectorError::NotFound(format!("{login} is not a member of {}", self.org)))?;
            if current.role != role {
                let path = format!("/orgs/{}/memberships/{login}", self.org);
                self.client.write(Method::PUT, &path, Some(&json!({"role": role}))).await?;
            }
            let held = self.team_roles().await?.remove(&login).unwrap_or_default();
            for slug in self.catalog_teams.iter().chain(access.assets.keys()).collect::<BTreeSet<_>>() {
                let wanted = access.assets.get(slug).map(|r| teams::team_role(r)).transpose().map_err(permanent)?;
                match (wanted, held.get(slug)) {
                    (Some(wanted), Some(has)) if has == wanted => {}
                    (Some(wanted), _) => self.set_team(slug, &login, wanted).await?,
                    (None, Some(_)) => {
                        let path = format!("/orgs/{}/teams/{slug}/memberships/{login}", self.org);
                        self.client.write(Method::DELETE, &path, None).await?;
                        self.client.state.pending_teams().remove(&(login.clone(), slug.clone()));
                    }
                    (None, None) => {}
                }
            }
            Ok(())
        })
    }

    fn remove_account<'a>(&'a self, external_id: &'a str, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            match ExternalId::parse(external_id) {
                Some(ExternalId::Member(login)) => {
                    self.client.write(Method::DELETE, &format!("/orgs/{}/memberships/{login}", self.org), None).await?;
                    self.client.state.pending_teams().retain(|(l, _), _| *l != login);
                }
                Some(ExternalId::Invitation(id)) => {
                    self.client.write(Method::DELETE, &format!("/orgs/{}/invitations/{id}", self.org), None).await?;
                }
                None => return Err(ConnectorError::NotFound(format!("{external_id:?} is not a GitHub member or invitation id"))),
            }
            Ok(())
        })
    }

    fn invitation_queue(&self) -> Option<InvitationQueue> {
        let waiting = self.queued().len();
        if waiting == 0 {
            return None;
        }
        let now = SystemTime::now();
        let drains_at = self.cap.drains_at(&self.client.state.invitations(), now, waiting).map(|t| {
            let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
            crate::api::time::format_time(secs)
        });
        Some(InvitationQueue { waiting: waiting as i32, drains_at, cap: self.cap.cap as i32, window: self.window_text.clone() })
    }
}
