//! The pure planner: from the directory, the grants, the hub's policy and what
//! the app last reported, decide what must happen in the app and in which user
//! table every account belongs. No I/O here: the operator builds a
//! [`PlanInput`] from its caches, calls [`plan`], and hands the actions to the
//! executor. Same input, same plan, whatever the order of users, grants or accounts.
//!
//! The planner owns its value types (accounts, access, capabilities, actions);
//! connectors and the operator depend on it, never the reverse. `planner.rs`
//! reads as the pipeline of its steps, one file each.

pub mod access;
pub mod account;
pub mod action;
pub mod capabilities;
pub mod classify;
pub mod decide;
pub mod input;
pub mod invitation;
pub mod matching;
pub mod mode;
pub mod partner;
pub mod planner;
pub mod relevance;
pub mod removal_limit;
pub mod world;

pub use access::{DesiredSeat, Entitlement, resolve_seat};
pub use account::{Access, ExternalAccount, InvitationFailure, NewAccount};
pub use action::{AccountPlan, Action, HeldRemoval, Member, Plan};
pub use capabilities::{Capabilities, RoleSupport};
pub use input::{AccountRecord, DirectoryUser, GrantInput, HubPolicy, InFlight, KnownAccount, PlanInput, Time};
pub use partner::ExternalPartner;
pub use planner::plan;

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod scenarios;
