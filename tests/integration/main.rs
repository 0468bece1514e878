//! Integration suite: the CRDs, their validation and the operator, against a
//! real kube-apiserver with etcd. Run with `make integration`.

mod cel;
mod crds;
mod harness;
mod operator;
mod scim;
