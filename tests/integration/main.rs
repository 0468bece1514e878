//! Integration suite: the CRDs, their validation and the operator, against a
//! real kube-apiserver with etcd. Run with `make integration`.

mod cel;
mod crds;
mod directory_status;
mod harness;
mod lifecycle;
mod operator;
mod proxy;
mod reconcile;
mod scim;
mod scim_app;
mod scim_connector;
mod world;
