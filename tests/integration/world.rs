//! A workspace for end-to-end tests: an IdP binding with the SCIM sidecar as
//! the IdP's way in, a real SCIM app (`scim2-server`) behind a recording proxy,
//! and helpers to read the AppAccounts the operator writes.

use std::time::Duration;

use kube::Api;
use rolecall::api::app_account::{AccountState, UserTable};
use rolecall::api::{AppAccount, BusinessHub};
use serde_json::{Value, json};

use crate::harness::{Sidecar, client, kubectl_apply, namespace, secret, wait_for};
use crate::proxy::RecordingProxy;
use crate::scim_app::ScimApp;

pub const LIMIT: Duration = Duration::from_secs(60);

/// A workspace: IdP binding + sidecar, the app behind a recording proxy, and the hub's credentials.
/// A workspace: its namespace, the IdP binding and the SCIM sidecar the IdP writes through.
pub struct Workspace {
    pub ns: String,
    pub idp: Sidecar,
}

/// A workspace and one SCIM app (`scim2-server`) behind a recording proxy.
pub struct World {
    pub ws: Workspace,
    pub app: ScimApp,
    pub proxy: RecordingProxy,
}

impl std::ops::Deref for World {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        &self.ws
    }
}

pub async fn world(name: &str) -> World {
    world_with(name, "").await
}

/// A world whose IdP binding has `binding_extra` in its spec (e.g. `, deprovision: Delete`).
pub async fn world_with(name: &str, binding_extra: &str) -> World {
    let ws = workspace(name, binding_extra).await;
    let app = ScimApp::start().await;
    let proxy = RecordingProxy::start(app.addr);
    World { ws, app, proxy }
}

/// A fresh namespace with the IdP's and the app's credentials, an IdP binding and its sidecar.
pub async fn workspace(name: &str, binding_extra: &str) -> Workspace {
    let client = client().await;
    let ns = namespace(&client, name).await;
    secret(&client, &ns, "idp-tokens", "token").await;
    secret(&client, &ns, "app-credentials", "token").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: entra, namespace: {ns}}}\nspec: {{provider: Entra, tokenSecretRef: {{name: idp-tokens}}{binding_extra}}}\n"
    ));
    assert!(ok, "{out}");
    let idp = Sidecar::start(&ns, "test-value").await;
    Workspace { ns, idp }
}

impl World {
    /// A SCIM hub on this world's app: member and admin roles, a 2 s interval, a
    /// limit of 2 removals per hour and a 6 s grace period; `extra` adds spec lines.
    pub fn hub(&self, name: &str, mode: &str, extra: &str) {
        let spec = format!(
            "  mode: {mode}\n  syncInterval: 2s\n  safety: {{maxRemovalsPerWindow: 2, removalWindow: 1h, removalGracePeriod: 6s}}\n{extra}"
        );
        self.ws.scim_hub(name, &self.app_url(), "", &spec);
    }

    /// The app's SCIM base URL, through the proxy.
    pub fn app_url(&self) -> String {
        format!("http://{}{}", self.proxy.addr, self.app.base_path)
    }
}

impl Workspace {
    /// A SCIM hub at `url` with the member and admin roles; `scim` is the
    /// connector's `scim:` settings, `spec` more lines of the spec.
    pub fn scim_hub(&self, name: &str, url: &str, scim: &str, spec: &str) {
        self.scim_hub_with(name, url, scim, "", spec);
    }

    /// A SCIM hub as `scim_hub` makes it, with more connector fields (`connector`, e.g. `timeout: 1s, maxBackoff: 2s`).
    pub fn scim_hub_with(&self, name: &str, url: &str, scim: &str, connector: &str, spec: &str) {
        let connector = if connector.is_empty() { String::new() } else { format!(", {connector}") };
        let (ok, out) = kubectl_apply(&format!(
            r#"apiVersion: rolecall.dev/v1alpha1
kind: BusinessHub
metadata: {{name: {name}, namespace: {ns}}}
spec:
  connector: {{type: Scim, url: "{url}", credentialsSecretRef: {{name: app-credentials}}, scim: {{{scim}}}{connector}}}
  roles:
  - {{name: member, weight: 1}}
  - {{name: admin, weight: 10, admin: true}}
{spec}"#,
            ns = self.ns,
        ));
        assert!(ok, "{out}");
    }

    pub fn grant(&self, name: &str, team: &str, role: &str, hub: &str) {
        let (ok, out) = kubectl_apply(&format!(
            "apiVersion: rolecall.dev/v1alpha1\nkind: AccessGrant\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{subject: {{team: {team}}}, hub: {hub}, appRoles: [{role}]}}\n",
            ns = self.ns
        ));
        assert!(ok, "{out}");
    }

    /// The IdP creates a user; returns its SCIM id.
    pub async fn idp_user(&self, user: &str) -> String {
        let (status, body) = self
            .idp
            .send(
                "POST",
                "/Users",
                json!({"userName": format!("{user}@acme.io"), "active": true, "name": {"givenName": user, "familyName": "Test"},
                       "emails": [{"value": format!("{user}@acme.io"), "type": "work", "primary": true}]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// The IdP creates `count` users named `{prefix}00`, `{prefix}01`, ... and a
    /// group `name` of them all; returns the group's SCIM id.
    pub async fn idp_team(&self, name: &str, prefix: &str, count: usize) -> String {
        let mut ids = Vec::new();
        for i in 0..count {
            ids.push(self.idp_user(&format!("{prefix}{i:02}")).await);
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.idp_group(name, &refs).await
    }

    pub async fn idp_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let (status, body) = self.idp.send("POST", "/Groups", json!({"displayName": name, "members": members})).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    pub async fn idp_members(&self, group: &str, op: &str, member: &str) {
        let operation = if op == "remove" {
            json!({"op": "remove", "path": format!("members[value eq \"{member}\"]")})
        } else {
            json!({"op": "add", "path": "members", "value": [{"value": member}]})
        };
        let (status, body) = self.idp.send("PATCH", &format!("/Groups/{group}"), json!({"Operations": [operation]})).await;
        assert_eq!(status, 204, "{body}");
    }

    pub async fn accounts(&self) -> Vec<AppAccount> {
        let api: Api<AppAccount> = Api::namespaced(client().await, &self.ns);
        api.list(&Default::default()).await.map(|l| l.items).unwrap_or_default()
    }

    pub async fn account(&self, email: &str) -> Option<AppAccount> {
        self.accounts().await.into_iter().find(|a| a.spec.email.eq_ignore_ascii_case(email))
    }

    /// The account with this email on one hub.
    pub async fn account_on(&self, hub: &str, email: &str) -> Option<AppAccount> {
        self.accounts().await.into_iter().find(|a| a.spec.hub == hub && a.spec.email.eq_ignore_ascii_case(email))
    }

    pub async fn wait_account(&self, email: &str, what: &str, check: impl Fn(&AppAccount) -> bool) {
        wait_for(LIMIT, &format!("{email}: {what}"), || async { self.account(email).await.is_some_and(|a| check(&a)) }).await;
    }

    pub async fn hub_condition(&self, hub: &str, type_: &str) -> Option<String> {
        let api: Api<BusinessHub> = Api::namespaced(client().await, &self.ns);
        let hub = api.get(hub).await.ok()?;
        hub.status?.conditions.into_iter().find(|c| c.type_ == type_).map(|c| c.status.as_ref().to_string())
    }
}

pub fn state(a: &AppAccount) -> Option<AccountState> {
    a.status.as_ref().and_then(|s| s.state)
}
pub fn table(a: &AppAccount) -> Option<UserTable> {
    a.status.as_ref().and_then(|s| s.table)
}
pub fn roles(a: &AppAccount) -> Vec<String> {
    a.status.as_ref().and_then(|s| s.in_app.as_ref()).map(|i| i.app_roles.clone()).unwrap_or_default()
}
pub fn active(a: &AppAccount) -> bool {
    a.status.as_ref().and_then(|s| s.in_app.as_ref()).is_some_and(|i| i.active)
}
pub fn external_id(a: &AppAccount) -> String {
    a.status.as_ref().and_then(|s| s.external_id.clone()).unwrap_or_default()
}

/// Whether a call to the app is announced for this account: an invitation by
/// the account's existence before any status, any other call in `status.operation`.
pub fn announced(a: &AppAccount) -> bool {
    a.status.as_ref().is_none_or(|s| s.operation.is_some())
}
