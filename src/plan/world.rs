//! What every step of a plan reads: the inputs put in a fixed order (so the
//! plan does not depend on the order it was given them), the matcher, and each
//! user's entitlement.

use std::collections::{BTreeMap, HashSet};

use super::access::{Entitlement, entitlement};
use super::input::{DirectoryUser, HubPolicy, KnownAccount, PlanInput, Time};
use super::matching::{Matcher, seat_accounts};

pub struct World<'a> {
    pub now: Time,
    pub hub: &'a HubPolicy,
    /// Users sorted by name, one per name.
    pub users: Vec<&'a DirectoryUser>,
    pub matcher: Matcher<'a>,
    /// What each user's grants give them, for users with a grant.
    pub entitlements: BTreeMap<&'a str, Entitlement>,
    /// One account per email (case-insensitive), sorted; when the inputs repeat
    /// an email, the first by exact text wins.
    pub accounts: Vec<&'a KnownAccount>,
    /// The account holding each user's seat, as an index into `accounts`.
    pub seat_accounts: BTreeMap<&'a str, usize>,
    /// What the app listed was read back in this sync (see `PlanInput::read_back`).
    pub read_back: bool,
    /// The emails (lowercase) that are already some account's: in the app, matched or exempted by hand.
    taken: HashSet<String>,
}

impl<'a> World<'a> {
    pub fn new(input: &'a PlanInput) -> World<'a> {
        let hub = &input.hub;
        let mut users: Vec<&DirectoryUser> = input.users.iter().collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        users.dedup_by(|a, b| a.name == b.name);
        let matcher = Matcher::new(&users);
        let entitlements = users.iter().filter_map(|u| entitlement(hub, u, &input.grants).map(|e| (u.name.as_str(), e))).collect();
        let mut accounts: Vec<&KnownAccount> = input.accounts.iter().collect();
        // Keys made once per account, not twice per comparison.
        accounts.sort_by_cached_key(|a| (a.email.to_lowercase(), a.email.clone()));
        accounts.dedup_by(|a, b| a.email.eq_ignore_ascii_case(&b.email));
        let seat_accounts = seat_accounts(hub, &matcher, &accounts);
        // An index, not a scan per call: every user without an account asks (12,500 of them on a
        // 50,000-person rollout, against as many accounts).
        let taken = accounts
            .iter()
            .filter(|a| a.observed.is_some() || a.match_user.is_some() || a.exemption.is_some())
            .map(|a| a.email.to_lowercase())
            .collect();
        World { now: input.now, hub, users, matcher, entitlements, accounts, seat_accounts, read_back: input.read_back, taken }
    }

    /// Whether an email is already some account's (in the app, matched or exempted by hand).
    pub fn email_taken(&self, email: &str) -> bool {
        self.taken.contains(&email.to_lowercase())
    }
}
