//! `rolecall ui`: a read-only web page of each hub's user tables, served on
//! 127.0.0.1 and read with the caller's own kubeconfig, so Kubernetes RBAC
//! decides what each person sees (in the spirit of `kubectl proxy`).
//!
//! It only GETs, LISTs and WATCHes rolecall's kinds, Users and Events; it
//! never reads a Secret. The server answers GET and HEAD only.

mod account_cache;
mod error;
mod local_host;
mod namespaces;
mod pages;
mod read_only;
pub mod table_query;
mod templates;
mod views;

use std::net::{Ipv4Addr, SocketAddr};

use kube::Client;

pub use error::UiError;

use crate::cli::UiArgs;

pub async fn run(args: UiArgs) -> Result<(), UiError> {
    let client = Client::try_default().await?;
    let home = args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let app = pages::router(pages::State::new(client, home)?);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| UiError::Listen { addr: addr.to_string(), source })?;
    let bound = listener.local_addr().map_err(UiError::Serve)?;
    println!("rolecall ui: serving http://{bound}/ (read-only; Ctrl-C stops it)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(UiError::Serve)
}
