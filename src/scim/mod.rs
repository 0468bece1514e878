//! `rolecall scim`: the SCIM 2.0 service provider that identity providers
//! (Entra ID, Okta, any SCIM client) push users and groups to. Users become
//! `User`s and groups `Team`s in the namespace of the `IdPBinding` whose token
//! the caller presents.

pub mod activity;
pub mod auth;
pub mod directory;
pub mod discovery;
pub mod error;
pub mod filter;
#[cfg(test)]
mod fuzz_corpus_replay;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz_properties;
pub mod group_json;
pub mod groups;
pub mod handler_kit;
pub mod list;
pub mod member_patch;
pub mod membership;
pub mod metrics;
pub mod patch;
pub mod path;
pub mod rate_limit;
pub mod schema;
pub mod search;
pub mod server;
pub mod state;
pub mod store;
pub mod unfinished;
pub mod user_json;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use crate::api::cache_trim::drop_managed_fields;
use crate::api::scope::scoped_api;
use crate::api::{IdPBinding, Team, User};
use crate::cli::ScimArgs;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot load the TLS certificate or key {path}: {source}")]
    Tls { path: String, source: std::io::Error },
    #[error("the SCIM server stopped: {0}")]
    Serve(std::io::Error),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics { addr: std::net::SocketAddr, source: std::io::Error },
}

pub async fn run(args: ScimArgs) -> Result<(), Error> {
    let client = Client::try_default().await?;
    // A large group push frees its batches at once; give that back (see `heap_trim`).
    crate::heap_trim::spawn(std::time::Duration::from_secs(10));
    let directory = Arc::new(directory::Directory::default());
    let scim_metrics = Arc::new(metrics::ScimMetrics::default());
    if let Some(addr) = args.metrics_addr {
        let bound = metrics::serve(addr, scim_metrics.clone()).await.map_err(|source| Error::Metrics { addr, source })?;
        tracing::info!(%bound, "serving the SCIM sidecar's /metrics");
    }

    // The directory, fed by watches of Users and Teams.
    tokio::spawn(follow(
        scoped_api::<User>(&client, &args.namespace),
        directory.clone(),
        Feed {
            put: |d, u| d.put_user(u),
            drop: |d, u| d.drop_user(&ns_of(&u), &name_of(&u)),
            listing: |d| d.listing_users(),
            listed: |d| d.users_listed(),
        },
    ));
    tokio::spawn(follow(
        scoped_api::<Team>(&client, &args.namespace),
        directory.clone(),
        Feed {
            put: |d, t| d.put_team(t),
            drop: |d, t| d.drop_team(&ns_of(&t), &name_of(&t)),
            listing: |d| d.listing_teams(),
            listed: |d| d.teams_listed(),
        },
    ));

    // The bindings, whose Secrets hold the tokens.
    let (bindings, writer) = reflector::store::<IdPBinding>();
    let tokens = auth::Tokens::new();
    {
        let (client, tokens, bindings_reader) = (client.clone(), tokens.clone(), bindings.clone());
        let stream = reflector(writer, watcher::watcher(scoped_api::<IdPBinding>(&client, &args.namespace), watcher::Config::default()))
            .default_backoff()
            .touched_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            let mut refresh = tokio::time::interval(args.token_refresh);
            loop {
                tokio::select! {
                    event = stream.next() => match event {
                        Some(Ok(_)) => tokens.refresh(&client, &bindings_reader).await,
                        Some(Err(e)) => tracing::warn!(error = %e, "IdPBinding watch failed; retrying"),
                        None => return,
                    },
                    // Removed tokens stop working within one refresh period.
                    _ = refresh.tick() => tokens.refresh(&client, &bindings_reader).await,
                }
            }
        });
    }

    let base_url = args.external_url.clone().unwrap_or_else(|| format!("http://{}/scim/v2", args.listen)).trim_end_matches('/').to_string();
    let activity = Arc::new(activity::Activity::default());
    tokio::spawn(activity::publish_status(
        client.clone(),
        directory.clone(),
        activity.clone(),
        bindings.clone(),
        base_url.clone(),
        args.status_interval,
    ));

    let state = Arc::new(state::ScimState {
        store: store::Store {
            client: client.clone(),
            directory: directory.clone(),
            membership: membership::MembershipWriter::new(client.clone(), directory.clone()),
        },
        directory,
        tokens,
        bindings,
        limiter: rate_limit::RateLimiter::new(args.rate_limit, args.rate_burst),
        activity,
        base_url: base_url.clone(),
        name_locks: state::NameLocks::default(),
        metrics: scim_metrics,
    });
    let app = server::router(state, args.max_body_bytes);
    let handle = axum_server::Handle::new();
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
        });
    }
    // TCP_NODELAY: a response must not wait for the client's delayed ACK of the previous one.
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            // One crypto provider for the whole process: the one kube's client uses too.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|source| Error::Tls { path: cert.display().to_string(), source })?;
            tracing::info!(listen = %args.listen, base_url = %base_url, "SCIM sidecar serving HTTPS");
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new());
            axum_server::bind(args.listen).acceptor(acceptor).handle(handle).serve(app.into_make_service()).await.map_err(Error::Serve)
        }
        _ => {
            tracing::warn!(listen = %args.listen, base_url = %base_url, "SCIM sidecar serving plain HTTP: give it --tls-cert/--tls-key, or terminate TLS in front of it");
            axum_server::bind(args.listen)
                .acceptor(NoDelayAcceptor::new())
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(Error::Serve)
        }
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn ns_of<K: Resource>(obj: &K) -> String {
    obj.meta().namespace.clone().unwrap_or_default()
}
fn name_of<K: Resource>(obj: &K) -> String {
    obj.meta().name.clone().unwrap_or_default()
}

/// How one kind's watch events change the directory.
struct Feed<K> {
    put: fn(&directory::Directory, K),
    drop: fn(&directory::Directory, K),
    /// A full list begins; its objects are put as they come.
    listing: fn(&directory::Directory),
    /// The full list is complete; what it did not name is dropped.
    listed: fn(&directory::Directory),
}

/// Follows one kind into the directory: applies, deletes, and full relists.
async fn follow<K>(api: Api<K>, directory: Arc<directory::Directory>, feed: Feed<K>)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    // Trimmed as they arrive (the directory trims again what its own writes bring).
    let mut events = std::pin::pin!(
        watcher::watcher(api, watcher::Config::default()).default_backoff().modify(|obj: &mut K| drop_managed_fields(obj.meta_mut()))
    );
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Apply(obj) | Event::InitApply(obj)) => (feed.put)(&directory, obj),
            Ok(Event::Delete(obj)) => (feed.drop)(&directory, obj),
            Ok(Event::Init) => (feed.listing)(&directory),
            Ok(Event::InitDone) => (feed.listed)(&directory),
            Err(e) => tracing::warn!(error = %e, "directory watch failed; retrying with backoff"),
        }
    }
}
