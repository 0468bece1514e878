//! `rolecall ui`: a read-only web page of each hub's user tables, served on
//! 127.0.0.1 and read with the caller's own kubeconfig, so Kubernetes RBAC
//! decides what each person sees (in the spirit of `kubectl proxy`).
//!
//! It only GETs, LISTs and WATCHes rolecall's kinds, Users and Events; it
//! never reads a Secret. The server answers GET and HEAD only.
//!
//! `--in-cluster` (the chart's `ui.enabled`) serves the same pages behind a
//! Service: every request carries the viewer's own Kubernetes token and the
//! pages read the API with it (token_auth.rs), so RBAC still decides what each
//! person sees; docs/ui-in-cluster.md says why it is built so.

mod account_cache;
mod error;
mod local_host;
mod namespaces;
mod pages;
mod read_only;
pub mod table_query;
mod templates;
mod token_auth;
mod viewer;
mod viewer_clients;
mod views;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use kube::{Client, Config};

pub use error::UiError;

use crate::cli::UiArgs;

use self::account_cache::AccountCache;
use self::pages::Access;
use self::token_auth::TokenAuth;
use self::viewer_clients::ViewerClients;

pub async fn run(args: UiArgs) -> Result<(), UiError> {
    let config = Config::infer().await?;
    let client = Client::try_from(config.clone())?;
    let home = args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let env = Arc::new(templates::environment()?);
    let (addr, access, accounts) = if args.in_cluster {
        let auth = TokenAuth::new(ViewerClients::new(&config)?, args.cookie_secure, env.clone());
        (args.listen, Access::Token(auth), AccountCache::shared(client))
    } else {
        (SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)), Access::Local(client.clone()), AccountCache::own(client))
    };
    let app = pages::router(pages::State::new(accounts, home, env), access);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| UiError::Listen { addr: addr.to_string(), source })?;
    let bound = listener.local_addr().map_err(UiError::Serve)?;
    if args.in_cluster {
        println!("rolecall ui: serving http://{bound}/ (read-only; each viewer signs in with their own Kubernetes token)");
    } else {
        println!("rolecall ui: serving http://{bound}/ (read-only; Ctrl-C stops it)");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(UiError::Serve)
}
