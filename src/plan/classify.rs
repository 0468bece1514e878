//! Step 2 of a plan: who an account belongs to, and so which user table it is in.

use crate::api::app_account::UserTable;

use super::input::{DirectoryUser, HubPolicy, KnownAccount};
use super::matching::{Matcher, in_workspace};

/// Who an account belongs to, as far as rolecall is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    /// rolecall's own account in the app: never changed.
    ServiceAccount,
    /// An admin exempted it, for this reason.
    Exempted(&'a str),
    /// It belongs to this directory user.
    Matched(&'a DirectoryUser),
    /// It was matched to this user, who no longer exists in the directory
    /// (deleted in the IdP, by `kubectl`, by a GitOps prune): an offboarding.
    Departed(&'a str),
    /// It matches nobody: an external enrollee.
    Unmatched,
}

pub fn classify<'a>(hub: &HubPolicy, matcher: &Matcher<'a>, account: &'a KnownAccount) -> Standing<'a> {
    // rolecall's own account, or one the app itself calls a machine (a Meta system user).
    if hub.is_service_account(&account.email) || account.observed.as_ref().is_some_and(|o| o.service_account) {
        return Standing::ServiceAccount;
    }
    if let Some(reason) = &account.exemption {
        return Standing::Exempted(reason);
    }
    if let Some(user) = matcher.match_account(account) {
        return Standing::Matched(user);
    }
    // Only rolecall's own record of a match counts here: a hand match naming
    // nobody (a typo) must never take a seat away.
    match account.record.matched_user.as_deref() {
        Some(name) if matcher.user(name).is_none() => Standing::Departed(name),
        _ => Standing::Unmatched,
    }
}

/// The table of an account that belongs to `user`: Guest for an external
/// collaborator (marked `external`, or with no email in the workspace's
/// domains), Onboarded otherwise.
pub fn matched_table(hub: &HubPolicy, user: &DirectoryUser) -> UserTable {
    let outside = !hub.workspace_domains.is_empty() && !user.emails.iter().any(|e| in_workspace(e, &hub.workspace_domains));
    if user.external || outside { UserTable::Guest } else { UserTable::Onboarded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scenarios::{hub, in_app, user};

    #[test]
    fn standing_follows_service_account_exemption_match_departure_in_that_order() {
        let hub = hub();
        let ann = user("ann", &[]);
        let users = [&ann];
        let matcher = Matcher::new(&users);
        let bot = in_app("bot@acme.io", &[], false);
        assert_eq!(classify(&hub, &matcher, &bot), Standing::ServiceAccount);
        let mut system_user = in_app("ann@acme.io", &[], false);
        if let Some(observed) = system_user.observed.as_mut() {
            observed.service_account = true;
        }
        assert_eq!(classify(&hub, &matcher, &system_user), Standing::ServiceAccount);
        let mut exempt = in_app("ann@acme.io", &[], false);
        exempt.exemption = Some("shared login".into());
        assert_eq!(classify(&hub, &matcher, &exempt), Standing::Exempted("shared login"));
        assert_eq!(classify(&hub, &matcher, &in_app("ann@acme.io", &[], false)), Standing::Matched(&ann));
        let mut gone = in_app("zed@acme.io", &[], false);
        assert_eq!(classify(&hub, &matcher, &gone), Standing::Unmatched);
        gone.record.matched_user = Some("zed".into());
        assert_eq!(classify(&hub, &matcher, &gone), Standing::Departed("zed"));
        // A hand match naming nobody is a typo, not a departure.
        let mut typo = in_app("x@acme.io", &[], false);
        typo.match_user = Some("nobody".into());
        assert_eq!(classify(&hub, &matcher, &typo), Standing::Unmatched);
    }

    #[test]
    fn guests_are_external_users_and_users_outside_the_workspace_domains() {
        let hub = hub();
        assert_eq!(matched_table(&hub, &user("ann", &[])), UserTable::Onboarded);
        let mut contractor = user("cy", &[]);
        contractor.external = true;
        assert_eq!(matched_table(&hub, &contractor), UserTable::Guest);
        let mut agency = user("dee", &[]);
        agency.emails = vec!["dee@agency.io".into()];
        assert_eq!(matched_table(&hub, &agency), UserTable::Guest);
    }
}
