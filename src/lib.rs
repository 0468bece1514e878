//! rolecall: identity lifecycle management of SaaS apps, the Kubernetes way.
//!
//! - [`api`]: the six custom resources (the CRDs are generated from them).
//! - [`checks`]: pure validation of an object against what it refers to.
//! - [`plan`]: the pure planner: who must hold which seat, role and assets in each app.
//! - [`connector`]: how the executor reads and changes accounts in an external app.
//! - [`operator`]: leader election and the kube-runtime controllers.
//! - [`scim`]: the SCIM 2.0 sidecar identity providers push users and groups to.
//! - [`crdgen`]: `rolecall crd`; [`apidoc`]: `rolecall api-docs`; [`report`]: `rolecall status` and `rolecall claim`.
//! - [`ui`]: `rolecall ui`, a read-only web page of each hub's user tables.

pub mod announced_family;
pub mod api;
pub mod apidoc;
pub mod checks;
pub mod cli;
pub mod connector;
pub mod crdgen;
pub mod heap_trim;
pub mod kubectl_plugin;
pub mod operator;
pub mod plan;
pub mod report;
pub mod scim;
pub mod telemetry;
pub mod token;
pub mod ui;
