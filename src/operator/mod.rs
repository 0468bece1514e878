//! `rolecall operator`: leader election, the controllers, and their HTTP endpoints.

mod account_status;
mod account_writer;
mod app_snapshot;
mod binding_controller;
mod cache;
mod call_events;
mod context;
mod controllers;
mod error;
pub mod event_recorder;
mod executor;
mod grant_controller;
mod grant_members;
mod http;
mod hub_accounts;
mod hub_controller;
mod hub_cost;
mod hub_report;
mod hub_sync;
mod last_seen;
mod leader;
mod metrics;
mod outcome_writes;
mod overlay;
mod partner_controller;
mod partner_sync;
mod plan_input;
mod read_backs;
mod seat_index;
mod secrets;
mod spec_changes;
mod status;
mod team_controller;
mod user_controller;
mod user_report;
mod user_triggers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::Client;
use tokio::sync::watch;

use crate::cli::OperatorArgs;

pub use error::Error;
use leader::LeaderElector;

/// How often freed heap goes back to the system (see `heap_trim`).
const HEAP_TRIM_EVERY: Duration = Duration::from_secs(10);

pub async fn run(args: OperatorArgs) -> Result<(), Error> {
    let client = Client::try_default().await?;
    let metrics = Arc::new(metrics::Metrics::default());
    let health = Arc::new(http::Health::default());
    let addr = http::serve(args.metrics_addr, metrics.clone(), health.clone()).await?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    crate::heap_trim::spawn(HEAP_TRIM_EVERY);

    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let lease_namespace = args
        .lease_namespace
        .clone()
        .or_else(|| args.namespace.clone())
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "default".into());
    let mut elector = LeaderElector::new(client.clone(), &lease_namespace, &args.lease_name, identity, args.lease_duration);
    let mut terminate = shutdown_signal()?;

    // A standby is healthy and ready: it is doing its job by waiting.
    health.set_ready(true);
    tracing::info!(identity = elector.identity(), lease = %format!("{lease_namespace}/{}", args.lease_name), "waiting for the leader Lease");
    tokio::select! {
        result = elector.acquire(args.lease_retry) => result?,
        _ = terminate.wait_for(|t| *t) => return Ok(()),
    }
    tracing::info!(identity = elector.identity(), "became the leader");
    metrics.leader.set(1);

    let (stop_tx, stop_rx) = watch::channel(false);
    let controllers = tokio::spawn(controllers::run_all(
        controllers::Settings {
            client,
            namespace: args.namespace.clone(),
            resync: args.resync,
            identity: elector.identity().to_string(),
            metrics: metrics.clone(),
        },
        stop_rx,
    ));

    let lost = keep_leading(&mut elector, args.lease_retry, renew_deadline(args.lease_duration), &mut terminate).await;
    let _ = stop_tx.send(true);
    if let Err(e) = controllers.await {
        tracing::error!(error = %e, "controller task failed");
    }
    metrics.leader.set(0);
    if lost {
        return Err(Error::LeadershipLost);
    }
    if let Err(e) = elector.release().await {
        tracing::warn!(error = %e, "cannot release the leader Lease; a standby takes over when it expires");
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Renews the Lease until shutdown (returns false) or until it is lost (returns true).
async fn keep_leading(elector: &mut LeaderElector, every: Duration, deadline: Duration, terminate: &mut watch::Receiver<bool>) -> bool {
    let mut last_renewed = Instant::now();
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = terminate.wait_for(|t| *t) => return false,
        }
        match elector.try_acquire_or_renew().await {
            Ok(true) => last_renewed = Instant::now(),
            Ok(false) => {
                tracing::error!("another replica holds the leader Lease");
                return true;
            }
            Err(e) if last_renewed.elapsed() > deadline => {
                tracing::error!(error = %e, "could not renew the leader Lease in time");
                return true;
            }
            Err(e) => tracing::warn!(error = %e, "Lease renewal failed; retrying"),
        }
    }
}

/// Stop acting a third of the Lease's life before a standby may take it.
fn renew_deadline(lease_duration: Duration) -> Duration {
    lease_duration * 2 / 3
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "rolecall".into());
    format!("{host}-{}", std::process::id())
}

/// Turns true on SIGTERM or Ctrl-C.
fn shutdown_signal() -> Result<watch::Receiver<bool>, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutdown requested");
        let _ = tx.send(true);
    });
    Ok(rx)
}
