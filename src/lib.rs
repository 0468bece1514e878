//! rolecall: identity lifecycle management of SaaS apps, the Kubernetes way.
//!
//! - [`api`]: the six custom resources (the CRDs are generated from them).
//! - [`checks`]: pure validation of an object against what it refers to.
//! - [`operator`]: leader election and the kube-runtime controllers.
//! - [`scim`]: the SCIM 2.0 sidecar identity providers push users and groups to.
//! - [`crdgen`]: `rolecall crd`.

pub mod api;
pub mod checks;
pub mod cli;
pub mod crdgen;
pub mod operator;
pub mod scim;
pub mod telemetry;
pub mod token;
