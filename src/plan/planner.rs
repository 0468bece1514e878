//! `plan`: the decision for one hub, as a pipeline of named steps. Pure: the
//! clock is an input, the result is sorted, and every rule is applied account
//! by account in email order so the outcome does not depend on the order of
//! the inputs.
//!
//! 1. match (`world`, `matching`): users, accounts and entitlements in a fixed order;
//! 2. classify (`classify`): whose each account is, and so its table;
//! 3. decide (`decide`, `invitation`): per account, what it holds and what to do;
//! 4. limit (`removal_limit`): removals past the hub's limit wait for approval;
//! 5. mode (`mode`): Enforce, DryRun or Observe.

use std::collections::BTreeSet;

use super::action::Plan;
use super::classify::classify;
use super::decide::{Decisions, decide_account};
use super::input::PlanInput;
use super::invitation::users_without_account;
use super::mode::apply_mode;
use super::removal_limit::apply_removal_limit;
use super::world::World;

pub fn plan(input: &PlanInput) -> Plan {
    let world = World::new(input);
    let mut decisions = Decisions::new(&world);
    for (index, account) in world.accounts.iter().enumerate() {
        decide_account(&world, index, account, classify(world.hub, &world.matcher, account), &mut decisions);
    }
    let seated: BTreeSet<String> = decisions.entries.iter().filter_map(|e| e.matched_user().map(str::to_string)).collect();
    users_without_account(&world, &seated, &mut decisions);

    let Decisions { mut entries, mut adds, mut updates, removals, mut cannot_invite, .. } = decisions;
    let (mut removals, held) = apply_removal_limit(world.hub, removals, &mut entries);

    entries.sort_by_cached_key(|a| a.email.to_lowercase());
    cannot_invite.sort_by(|a, b| a.matched_user().cmp(&b.matched_user()));
    for list in [&mut adds, &mut updates, &mut removals] {
        list.sort_by_cached_key(|a| a.email().to_lowercase());
    }
    let actions = adds.into_iter().chain(updates).chain(removals).collect();
    apply_mode(input.hub.mode, Plan { accounts: entries, actions, held, cannot_invite })
}
