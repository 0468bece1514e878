//! The pure planner: from the directory, the grants, the hub's policy and what
//! the app last reported, decide what must happen in the app and in which user
//! table every account belongs. No I/O here: the operator builds a
//! [`PlanInput`] from its caches, calls [`plan`], and hands the actions to the
//! executor. Same input, same plan, whatever the order of users, grants or accounts.

pub mod access;
pub mod action;
pub mod input;
pub mod matching;
pub mod planner;

pub use access::{DesiredSeat, resolve_seat};
pub use action::{AccountPlan, Action, HeldRemoval, Plan};
pub use input::{AccountRecord, DirectoryUser, GrantInput, HubPolicy, InFlight, KnownAccount, PlanInput};
pub use planner::plan;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod scenarios;
