//! Read-backs that run beside a hub's syncs, so an IdP change never waits for one.
//!
//! Reading a large app's accounts back takes seconds: 15 to 30 s for 1,250
//! accounts from a loaded app in the 5,000-user benchmark. Made inside the
//! sync, it held the hub for that long every sync interval, and every change
//! that reached the hub meanwhile waited (propagation p50 77 s there).
//!
//! A hub's first read-back in this process is still made inside its sync:
//! nothing is acted on before the app has been read. After that, a due
//! read-back runs in a task of its own; the sync plans from the accounts'
//! records meanwhile, and the sync after it finishes (triggered at once) takes
//! the result. A call made while a read-back runs may or may not show in it,
//! so for each account a call touched since the read-back started, the plan
//! keeps what that call's outcome recorded: a snapshot never undoes a call
//! made after it began.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc;

use crate::api::BusinessHub;
use crate::connector::{Capabilities, Connector, ConnectorError};

use super::app_snapshot::{AppSnapshot, read_app};

/// A read-back that finished and that no sync has taken yet.
pub struct Finished {
    pub result: Result<AppSnapshot, ConnectorError>,
    pub took: Duration,
    /// When it started: calls made since may not show in it.
    pub started: Instant,
    /// Emails (lowercase) of the accounts a call touched while it ran.
    pub touched: HashSet<String>,
}

#[derive(Default)]
struct HubReadBacks {
    /// A read-back of this process finished once: later ones may run beside the syncs.
    read_once: bool,
    /// The read-back running now, by its number: only that one may leave its result here.
    running: Option<u64>,
    finished: Option<Finished>,
    touched: HashSet<String>,
    /// Calls in flight now, by email (lowercase): a read-back that starts while
    /// one runs may not show it either.
    calling: HashMap<String, usize>,
}

/// Every hub's read-backs, by `namespace/name`.
#[derive(Clone)]
pub struct ReadBacks {
    hubs: Arc<Mutex<HashMap<String, HubReadBacks>>>,
    /// Numbers the read-backs started, so one that outlived its hub is told apart.
    started: Arc<std::sync::atomic::AtomicU64>,
    /// Hubs whose read-back finished: their next sync takes it.
    finished_tx: mpsc::UnboundedSender<ObjectRef<BusinessHub>>,
}

impl ReadBacks {
    /// The read-backs, and the stream of hubs to sync when one finishes.
    pub fn new() -> (ReadBacks, mpsc::UnboundedReceiver<ObjectRef<BusinessHub>>) {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        (ReadBacks { hubs: Arc::default(), started: Arc::default(), finished_tx }, finished_rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HubReadBacks>> {
        self.hubs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the hub's app was read back once by this process.
    pub fn read_once(&self, key: &str) -> bool {
        self.lock().get(key).is_some_and(|h| h.read_once)
    }

    /// A read-back made inside a sync finished.
    pub fn read_inline(&self, key: &str) {
        let mut hubs = self.lock();
        let hub = hubs.entry(key.to_string()).or_default();
        hub.read_once = true;
    }

    /// The finished read-back, if one waits.
    pub fn take(&self, key: &str) -> Option<Finished> {
        self.lock().get_mut(key).and_then(|h| h.finished.take())
    }

    /// Starts a read-back of the hub in its own task unless one runs or waits to be taken;
    /// `record` is called with the outcome when it finishes (metrics). Returns the
    /// task, which nobody needs to await (the tests do).
    pub fn start(
        &self,
        key: &str,
        hub: ObjectRef<BusinessHub>,
        connector: Arc<dyn Connector>,
        capabilities: Capabilities,
        record: impl FnOnce(&Result<AppSnapshot, ConnectorError>, Duration) + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let number = self.started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut hubs = self.lock();
            let state = hubs.entry(key.to_string()).or_default();
            if state.running.is_some() || state.finished.is_some() {
                return None;
            }
            state.running = Some(number);
            state.touched = state.calling.keys().cloned().collect();
        }
        let (hubs, finished_tx, key) = (self.hubs.clone(), self.finished_tx.clone(), key.to_string());
        Some(tokio::spawn(async move {
            let started = Instant::now();
            let result = read_app(connector.as_ref(), capabilities).await;
            let took = started.elapsed();
            record(&result, took);
            {
                let mut hubs = hubs.lock().unwrap_or_else(|p| p.into_inner());
                // A hub deleted meanwhile gets nothing, nor one made again under its
                // name: its state is new, and this read-back is not the one it runs.
                let Some(state) = hubs.get_mut(&key).filter(|s| s.running == Some(number)) else { return };
                state.running = None;
                state.read_once |= result.is_ok();
                let touched = std::mem::take(&mut state.touched);
                state.finished = Some(Finished { result, took, started, touched });
            }
            // A closed receiver means the hub controller stopped; nothing to sync.
            let _ = finished_tx.send(hub);
        }))
    }

    /// A call about `email` is about to be made: a read-back running, waiting to
    /// be taken, or starting before the call ends may not show it. The call is
    /// in flight until the returned guard is dropped (however the call ends).
    pub fn calling(&self, key: &str, email: &str) -> CallInFlight {
        let email = email.to_lowercase();
        let mut hubs = self.lock();
        let state = hubs.entry(key.to_string()).or_default();
        *state.calling.entry(email.clone()).or_default() += 1;
        if state.running.is_some() {
            state.touched.insert(email.clone());
        } else if let Some(finished) = state.finished.as_mut() {
            finished.touched.insert(email.clone());
        }
        CallInFlight { read_backs: self.clone(), key: key.to_string(), email }
    }

    /// The hub is gone: its state goes with it (a running read-back's result is dropped when it ends).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// A call in flight (see [`ReadBacks::calling`]).
pub struct CallInFlight {
    read_backs: ReadBacks,
    key: String,
    email: String,
}

impl Drop for CallInFlight {
    fn drop(&mut self) {
        let mut hubs = self.read_backs.lock();
        if let Some(calls) = hubs.get_mut(&self.key).and_then(|s| s.calling.get_mut(&self.email)) {
            *calls = calls.saturating_sub(1);
            if *calls == 0 {
                hubs.get_mut(&self.key).map(|s| s.calling.remove(&self.email));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;
    use tokio::sync::Notify;

    use super::*;
    use crate::connector::{Access, ExternalAccount, NewAccount, OperationId};

    /// An app whose list answers only when told to.
    struct HeldApp(Arc<Notify>);

    impl Connector for HeldApp {
        fn list_accounts(&self) -> BoxFuture<'_, Result<Vec<ExternalAccount>, ConnectorError>> {
            Box::pin(async move {
                self.0.notified().await;
                Err(ConnectorError::Transient("the old hub's app timed out".into()))
            })
        }
        fn find_account<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<ExternalAccount>, ConnectorError>> {
            Box::pin(async { Ok(None) })
        }
        fn add_account<'a>(&'a self, _: &'a NewAccount, _: &'a OperationId) -> BoxFuture<'a, Result<ExternalAccount, ConnectorError>> {
            Box::pin(async { Err(ConnectorError::Permanent("not here".into())) })
        }
        fn update_access<'a>(&'a self, _: &'a str, _: &'a Access, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
            Box::pin(async { Ok(()) })
        }
        fn remove_account<'a>(&'a self, _: &'a str, _: &'a OperationId) -> BoxFuture<'a, Result<(), ConnectorError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn a_read_back_that_outlives_its_hub_is_not_taken_by_a_hub_made_again_under_its_name() {
        let (read_backs, mut finished) = ReadBacks::new();
        let release = Arc::new(Notify::new());
        let hub = ObjectRef::<BusinessHub>::new("app").within("ns");
        let old =
            read_backs.start("ns/app", hub.clone(), Arc::new(HeldApp(release.clone())), Capabilities::ALL, |_, _| {}).expect("started");
        // The hub is deleted, made again under its name, and read back inline.
        read_backs.forget("ns/app");
        read_backs.read_inline("ns/app");
        release.notify_one();
        old.await.expect("the old read-back ends");
        assert!(read_backs.take("ns/app").is_none(), "the new hub took the old hub's read-back");
        assert!(finished.try_recv().is_err(), "the new hub was triggered by the old hub's read-back");

        // Its own read-back beside the syncs is still delivered.
        let release = Arc::new(Notify::new());
        let own = read_backs.start("ns/app", hub, Arc::new(HeldApp(release.clone())), Capabilities::ALL, |_, _| {}).expect("started");
        release.notify_one();
        own.await.expect("ends");
        assert!(read_backs.take("ns/app").is_some_and(|f| f.result.is_err()));
        assert!(finished.try_recv().is_ok());
    }

    #[tokio::test]
    async fn a_call_in_flight_when_a_read_back_starts_counts_as_touched() {
        let (read_backs, _finished) = ReadBacks::new();
        let hub = ObjectRef::<BusinessHub>::new("app").within("ns");
        // The add was sent before the read-back started; its answer comes after.
        let call = read_backs.calling("ns/app", "Ann@acme.io");
        let release = Arc::new(Notify::new());
        let task =
            read_backs.start("ns/app", hub.clone(), Arc::new(HeldApp(release.clone())), Capabilities::ALL, |_, _| {}).expect("started");
        drop(call);
        release.notify_one();
        task.await.expect("ends");
        let taken = read_backs.take("ns/app").expect("finished");
        assert!(taken.touched.contains("ann@acme.io"), "the list may have been read before the add was made");
        // A call that ended before the next read-back starts is not in it.
        let release = Arc::new(Notify::new());
        let task = read_backs.start("ns/app", hub, Arc::new(HeldApp(release.clone())), Capabilities::ALL, |_, _| {}).expect("started");
        release.notify_one();
        task.await.expect("ends");
        assert!(read_backs.take("ns/app").expect("finished").touched.is_empty());
    }
}
