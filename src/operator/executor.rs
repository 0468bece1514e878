//! Carrying out one planned action through a connector. Adds are made safe to
//! repeat: an add that may have happened before a crash is looked up first, and
//! an add the app says exists already is adopted, never sent twice.

use crate::connector::{Connector, ConnectorError, ExternalAccount, OperationId};
use crate::plan::Action;

/// What an action did in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A new account (or invitation) was made.
    Added(ExternalAccount),
    /// The account existed already (made before a crash, or by hand): taken as it is.
    Adopted(ExternalAccount),
    Updated,
    Removed,
}

/// `operation` is the id of the call as announced (the same for each retry of it).
pub async fn run_action(connector: &dyn Connector, action: &Action, operation: &OperationId) -> Result<Effect, ConnectorError> {
    match action {
        Action::Add { email, account, cancel_first, read_back_first, .. } => {
            if *read_back_first && let Some(found) = connector.find_account(email).await? {
                return Ok(Effect::Adopted(found));
            }
            if let Some(id) = cancel_first {
                match connector.remove_account(id, &operation.step("cancel")).await {
                    Ok(()) | Err(ConnectorError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            match connector.add_account(account, operation).await {
                Ok(added) => Ok(Effect::Added(added)),
                Err(ConnectorError::AlreadyExists(detail)) => match connector.find_account(email).await? {
                    Some(found) => Ok(Effect::Adopted(found)),
                    None => Err(ConnectorError::Permanent(format!("the app says {email} exists but does not list it: {detail}"))),
                },
                Err(e) => Err(e),
            }
        }
        Action::Update { external_id, access, .. } => {
            connector.update_access(external_id, access, operation).await.map(|()| Effect::Updated)
        }
        // Removing what is gone is done.
        Action::Remove { external_id, .. } => match connector.remove_account(external_id, operation).await {
            Ok(()) | Err(ConnectorError::NotFound(_)) => Ok(Effect::Removed),
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::future::BoxFuture;

    use super::*;
    use crate::connector::{Access, NewAccount};

    /// An app in memory that counts the adds it receives.
    #[derive(Default)]
    struct MemoryApp {
        accounts: Mutex<Vec<ExternalAccount>>,
        adds: Mutex<usize>,
    }

    impl Connector for MemoryApp {
        fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
            Box::pin(async move { Ok(self.accounts.lock().expect("lock").clone()) })
        }
        fn find_account<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
            Box::pin(async move { Ok(self.accounts.lock().expect("lock").iter().find(|a| a.email.eq_ignore_ascii_case(email)).cloned()) })
        }
        fn add_account<'a>(
            &'a self,
            account: &'a NewAccount,
            _: &'a OperationId,
        ) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
            Box::pin(async move {
                *self.adds.lock().expect("lock") += 1;
                let mut accounts = self.accounts.lock().expect("lock");
                if accounts.iter().any(|a| a.email.eq_ignore_ascii_case(&account.email)) {
                    return Err(ConnectorError::AlreadyExists(account.email.clone()));
                }
                let made = ExternalAccount {
                    id: format!("id-{}", accounts.len()),
                    email: account.email.clone(),
                    display_name: None,
                    access: account.access.clone(),
                    active: true,
                    invite_pending: false,
                    login_method: None,
                    last_active: None,
                    invitation_failed: None,
                    note: None,
                    service_account: false,
                };
                accounts.push(made.clone());
                Ok(made)
            })
        }
        fn update_access<'a>(&'a self, _: &'a str, _: &'a Access, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
            Box::pin(async move { Ok(()) })
        }
        fn remove_account<'a>(&'a self, id: &'a str, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
            Box::pin(async move {
                let mut accounts = self.accounts.lock().expect("lock");
                let before = accounts.len();
                accounts.retain(|a| a.id != id);
                if accounts.len() == before { Err(ConnectorError::NotFound(id.to_string())) } else { Ok(()) }
            })
        }
    }

    fn op() -> OperationId {
        OperationId::of("hub-uid", "ann@acme.io", crate::api::app_account::OperationKind::Invite, "2026-12-02T10:00:00Z")
    }

    fn add(read_back_first: bool) -> Action {
        Action::Add {
            email: "ann@acme.io".into(),
            user: "ann".into(),
            account: NewAccount {
                email: "ann@acme.io".into(),
                display_name: None,
                given_name: None,
                family_name: None,
                access: Access::default(),
            },
            resend: false,
            cancel_first: None,
            read_back_first,
        }
    }

    #[tokio::test]
    async fn an_add_that_may_have_happened_is_read_back_not_repeated() {
        let app = MemoryApp::default();
        assert!(matches!(run_action(&app, &add(false), &op()).await, Ok(Effect::Added(_))));
        // The crash: the add happened, nothing recorded it; the retry reads back first.
        assert!(matches!(run_action(&app, &add(true), &op()).await, Ok(Effect::Adopted(_))));
        assert_eq!(*app.adds.lock().expect("lock"), 1, "one add reached the app");
        // Without the hint, the app's AlreadyExists is adopted too.
        assert!(matches!(run_action(&app, &add(false), &op()).await, Ok(Effect::Adopted(_))));
        assert_eq!(app.accounts.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn removing_what_is_gone_is_done() {
        let app = MemoryApp::default();
        let remove = Action::Remove { email: "x@acme.io".into(), external_id: "nope".into(), cancel_invite: false };
        assert_eq!(run_action(&app, &remove, &op()).await, Ok(Effect::Removed));
    }
}
