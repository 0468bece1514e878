//! Leader election with a `coordination.k8s.io/v1` Lease, as client-go does it.
//!
//! Only the holder of the Lease runs controllers. Expiry is judged by this
//! replica's own clock from the moment it last saw the record change (not by
//! the timestamps written in the Lease), so clock skew between nodes cannot
//! make two replicas lead at once. Every write is guarded by the Lease's
//! resourceVersion: of two replicas racing for it, the API server lets one win.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use super::error::Error;

pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    /// The (holder, renewTime) last seen, and when this replica saw it change.
    observed: Option<(Option<String>, Option<MicroTime>, Instant)>,
}

impl LeaderElector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: String, lease_duration: Duration) -> Self {
        LeaderElector { api: Api::namespaced(client, namespace), name: name.to_string(), identity, lease_duration, observed: None }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// One attempt: true when this replica holds the Lease afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, Error> {
        let now = MicroTime(Timestamp::now());
        let seconds = i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let seen = (holder.clone(), spec.renew_time.clone());
        match &self.observed {
            Some((h, r, _)) if (h, r) == (&seen.0, &seen.1) => {}
            _ => self.observed = Some((seen.0, seen.1, Instant::now())),
        }
        let held_by_me = holder.as_deref() == Some(self.identity.as_str());
        let expired = self.observed.as_ref().is_some_and(|(_, _, at)| at.elapsed() > self.lease_duration);
        if !(held_by_me || holder.is_none() || expired) {
            return Ok(false);
        }
        let mut next = current.clone();
        let mut new_spec = spec.clone();
        if !held_by_me {
            new_spec.holder_identity = Some(self.identity.clone());
            new_spec.acquire_time = Some(now.clone());
            new_spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        new_spec.lease_duration_seconds = Some(seconds);
        new_spec.renew_time = Some(now);
        next.spec = Some(new_spec);
        match self.api.replace(&self.name, &PostParams::default(), &next).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until this replica holds the Lease, retrying every `retry`.
    pub async fn acquire(&mut self, retry: Duration) -> Result<(), Error> {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot reach the leader Lease; retrying"),
            }
            tokio::time::sleep(retry).await;
        }
    }

    /// Gives the Lease up on a clean shutdown so a standby takes over at once.
    pub async fn release(&mut self) -> Result<(), Error> {
        let Some(mut current) = self.api.get_opt(&self.name).await? else { return Ok(()) };
        let Some(spec) = current.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        self.api.replace(&self.name, &PostParams::default(), &current).await?;
        Ok(())
    }
}
