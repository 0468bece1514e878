//! Integration suite: the CRDs, their validation and the operator, against a
//! real kube-apiserver with etcd. Run with `make integration`.

mod alerts;
mod argocd_health;
mod browser;
mod cel;
mod chaos;
mod chaos_backoff;
mod chaos_network;
mod chaos_sidecar;
mod crds;
mod directory_status;
mod docs_chart_values;
mod events;
mod flux_example;
mod github_connector;
mod github_standin;
mod harness;
mod http;
mod meta_standin;
mod hub_calls;
mod install;
mod kubectl_plugin;
mod lifecycle;
mod operator;
mod proxy;
mod read_backs;
mod reconcile;
mod recovery;
mod scim;
mod scim_app;
mod scim_attributes;
mod scim_connector;
mod ui;
mod webhook_app;
mod webhook_connector;
mod world;
