//! Which directory users can make a difference to one hub's plan: those a
//! grant of the hub applies to (by name or through a team), those an account
//! of the hub can be matched to (by email, an admin's `matchUser`, or the user
//! it was matched to before), and those who share an address with either (an
//! invitation never goes to an address another user owns). No step of the plan
//! reads any other user, so the operator leaves them out of the hub's input (a
//! property test holds `plan` to giving the same plan either way). A hub
//! granted to a quarter of a 10,000-person company then builds and plans about
//! 2,500 users, not 10,000: with 20 hubs replanning after each IdP change, the
//! plans were what a change waited for (whole-loop benchmark, 5,000 and 10,000
//! users).

use std::borrow::Cow;
use std::collections::HashSet;

use super::input::{DirectoryUser, GrantInput, KnownAccount};

/// What relevance reads of a user. `addresses` may hold more than the
/// planner's (the userName too): a superset only keeps a user the plan ignores.
pub trait Person {
    fn name(&self) -> &str;
    fn teams(&self) -> impl Iterator<Item = &str>;
    fn addresses(&self) -> impl Iterator<Item = &str>;
}

impl Person for DirectoryUser {
    fn name(&self) -> &str {
        &self.name
    }
    fn teams(&self) -> impl Iterator<Item = &str> {
        self.teams.iter().map(String::as_str)
    }
    fn addresses(&self) -> impl Iterator<Item = &str> {
        self.emails.iter().map(String::as_str)
    }
}

/// The users of `users` the plan of a hub with these grants and accounts can read, in their order.
pub fn relevant_users<'u, P: Person>(grants: &[GrantInput], accounts: &[KnownAccount], users: &[&'u P]) -> Vec<&'u P> {
    let mut names: HashSet<&str> = HashSet::new();
    let mut teams: HashSet<&str> = HashSet::new();
    // Lowercase: accounts match users case-blind.
    let mut emails: HashSet<String> = HashSet::new();
    for grant in grants {
        names.extend(grant.user.as_deref());
        teams.extend(grant.team.as_deref());
    }
    for account in accounts {
        emails.insert(account.email.to_lowercase());
        names.extend(account.match_user.as_deref());
        names.extend(account.record.matched_user.as_deref());
    }
    let concerned: Vec<bool> = users
        .iter()
        .map(|u| {
            names.contains(u.name()) || u.teams().any(|t| teams.contains(t)) || u.addresses().any(|a| emails.contains(lower(a).as_ref()))
        })
        .collect();
    // Whoever owns an address of a concerned user decides whether that user may be invited there.
    for (user, _) in users.iter().zip(&concerned).filter(|(_, c)| **c) {
        emails.extend(user.addresses().map(|a| lower(a).into_owned()));
    }
    users.iter().zip(concerned).filter(|(u, c)| *c || u.addresses().any(|a| emails.contains(lower(a).as_ref()))).map(|(u, _)| *u).collect()
}

/// An address in lowercase, copied only when it may change (an ASCII capital,
/// or any non-ASCII letter): most addresses arrive in lowercase ASCII, and this
/// runs over every user of a workspace at each plan.
fn lower(address: &str) -> Cow<'_, str> {
    if address.is_ascii() && !address.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(address)
    } else {
        Cow::Owned(address.to_lowercase())
    }
}
