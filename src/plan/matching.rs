//! Step 1 of a plan, matching app accounts to directory users: by an admin's
//! manual match first, else by email, case-insensitively, over every email a
//! user has, else to the user rolecall matched the account to before (so a
//! user whose email the IdP renames keeps their account).

use std::collections::{BTreeMap, HashMap};

use super::input::{DirectoryUser, HubPolicy, KnownAccount};

pub struct Matcher<'a> {
    by_email: HashMap<String, &'a DirectoryUser>,
    by_name: HashMap<&'a str, &'a DirectoryUser>,
}

impl<'a> Matcher<'a> {
    /// `users` sorted by name: when two users share an email, the first keeps it.
    pub fn new(users: &[&'a DirectoryUser]) -> Matcher<'a> {
        let mut by_email = HashMap::new();
        let mut by_name = HashMap::new();
        for user in users {
            by_name.entry(user.name.as_str()).or_insert(*user);
            for email in &user.emails {
                by_email.entry(email.to_lowercase()).or_insert(*user);
            }
        }
        Matcher { by_email, by_name }
    }

    pub fn user(&self, name: &str) -> Option<&'a DirectoryUser> {
        self.by_name.get(name).copied()
    }

    /// The user an email belongs to.
    pub fn owner_of(&self, email: &str) -> Option<&'a DirectoryUser> {
        self.by_email.get(&email.to_lowercase()).copied()
    }

    /// The user an account belongs to. A manual match naming a user that does
    /// not exist matches nobody (the account shows as unmatched, not as someone else's).
    pub fn match_account(&self, account: &KnownAccount) -> Option<&'a DirectoryUser> {
        match &account.match_user {
            Some(name) => self.user(name),
            None => self.owner_of(&account.email).or_else(|| account.record.matched_user.as_deref().and_then(|n| self.user(n))),
        }
    }
}

/// For each user, the one account that holds their seat when they have several
/// (index into `accounts`): the manual match, else one rolecall manages, else
/// one the app has, each under the user's earliest-listed email.
pub fn seat_accounts<'a>(hub: &HubPolicy, matcher: &Matcher<'a>, accounts: &[&KnownAccount]) -> BTreeMap<&'a str, usize> {
    let mut best: BTreeMap<&'a str, ((u8, usize), usize)> = BTreeMap::new();
    for (i, account) in accounts.iter().enumerate() {
        let Some(user) = matcher.match_account(account) else { continue };
        if account.exemption.is_some() || hub.is_service_account(&account.email) {
            continue;
        }
        let position = user.emails.iter().position(|e| e.eq_ignore_ascii_case(&account.email)).unwrap_or(usize::MAX);
        let rank = match (&account.match_user, account.record.managed, &account.observed) {
            (Some(_), _, _) => 0,
            (None, true, Some(_)) => 1,
            (None, _, Some(_)) => 2,
            _ => 3,
        };
        let entry = best.entry(user.name.as_str()).or_insert(((rank, position), i));
        if (rank, position) < entry.0 {
            *entry = ((rank, position), i);
        }
    }
    best.into_iter().map(|(user, (_, i))| (user, i)).collect()
}

/// Whether an email belongs to the workspace's domains (all do when none are listed).
pub fn in_workspace(email: &str, domains: &[String]) -> bool {
    if domains.is_empty() {
        return true;
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::input::AccountRecord;

    fn user(name: &str, emails: &[&str]) -> DirectoryUser {
        DirectoryUser {
            name: name.into(),
            user_name: name.into(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            display_name: None,
            given_name: None,
            family_name: None,
            active: true,
            external: false,
            teams: Default::default(),
            claimed: false,
        }
    }

    fn account(email: &str, match_user: Option<&str>) -> KnownAccount {
        KnownAccount {
            email: email.into(),
            observed: None,
            match_user: match_user.map(str::to_string),
            exemption: None,
            record: AccountRecord::default(),
        }
    }

    #[test]
    fn matches_any_email_case_insensitively_and_manual_matches_win() {
        let (alice, bob) = (user("alice", &["alice@acme.io", "a.smith@acme.io"]), user("bob", &["bob@acme.io"]));
        let users = [&alice, &bob];
        let matcher = Matcher::new(&users);
        assert_eq!(matcher.match_account(&account("A.Smith@ACME.io", None)).map(|u| u.name.as_str()), Some("alice"));
        assert_eq!(matcher.match_account(&account("alice@acme.io", Some("bob"))).map(|u| u.name.as_str()), Some("bob"));
        assert_eq!(matcher.match_account(&account("alice@acme.io", Some("nobody"))), None);
        assert_eq!(matcher.match_account(&account("eve@acme.io", None)), None);
    }

    #[test]
    fn an_account_stays_with_the_user_it_was_matched_to_when_their_email_changes() {
        let alice = user("alice", &["alice.jones@acme.io"]);
        let users = [&alice];
        let matcher = Matcher::new(&users);
        let mut renamed = account("alice.smith@acme.io", None);
        assert_eq!(matcher.match_account(&renamed), None);
        renamed.record.matched_user = Some("alice".into());
        assert_eq!(matcher.match_account(&renamed).map(|u| u.name.as_str()), Some("alice"));
        // A user who no longer exists matches nobody: the account's standing says it departed.
        renamed.record.matched_user = Some("gone".into());
        assert_eq!(matcher.match_account(&renamed), None);
    }

    #[test]
    fn workspace_domains_decide_guests() {
        assert!(in_workspace("x@other.com", &[]));
        assert!(in_workspace("x@ACME.io", &["acme.io".into()]));
        assert!(!in_workspace("x@other.com", &["acme.io".into()]));
        assert!(!in_workspace("no-at-sign", &["acme.io".into()]));
    }
}
