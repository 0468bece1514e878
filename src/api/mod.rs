//! The rolecall API: seven namespaced kinds in group `rolecall.dev`, version `v1alpha1`.
//!
//! The CRD YAML in `crds/` is generated from these types (`rolecall crd`) and
//! never edited by hand.

// kube's `printcolumn(name = .., type_ = ..)` repeats keys across columns, which
// clippy's duplicated_attributes lint mistakes for duplicates.
#![allow(clippy::duplicated_attributes)]

pub mod access_grant;
pub mod app_account;
pub mod business_hub;
pub mod cache_trim;
pub mod condition;
pub mod duration;
pub mod idp_binding;
pub mod partner;
pub mod refs;
pub mod scope;
pub mod team;
pub mod time;
pub mod user;
pub mod wire;

pub use access_grant::AccessGrant;
pub use app_account::AppAccount;
pub use business_hub::BusinessHub;
pub use condition::Condition;
pub use idp_binding::IdPBinding;
pub use partner::Partner;
pub use refs::SecretRef;
pub use team::Team;
pub use user::User;
pub use wire::FIELD_MANAGER;
