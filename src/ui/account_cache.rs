//! The AppAccounts of each namespace someone looked at, kept by one watch per
//! namespace (a kube reflector, as the operator keeps its caches), so a page of
//! a 50,000-account hub filters and sorts memory instead of LISTing the API
//! server on every request.
//!
//! On localhost the watch runs with the caller's own credentials. Before one
//! starts, a LIST of one item asks the API server whether the caller may read
//! AppAccounts there at all: a refusal is answered at once (a clear 403 page)
//! instead of a watch that retries forever.
//!
//! In the cluster one store serves every viewer, so it is fed by the UI's own
//! ServiceAccount (get/list/watch AppAccounts, nothing more), and the LIST of
//! one item is asked *as the viewer* on every page: a viewer whom RBAC refuses
//! AppAccounts in a namespace gets the same 403 as on localhost, never the
//! store's content.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::ListParams;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use tokio::sync::Mutex;

use crate::api::AppAccount;
use crate::api::cache_trim::trim_for_read_only_cache;
use crate::api::wire::HUB_LABEL;

use super::error::UiError;

/// How long the first page of a namespace waits for its accounts to load.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

/// One watch-fed store of AppAccounts per namespace, started on first use.
#[derive(Clone)]
pub struct AccountCache {
    /// The credentials the watches run with.
    reader: Client,
    /// Whether viewers are other people than the reader (in-cluster mode): each page then asks as its viewer.
    shared: bool,
    stores: Arc<Mutex<HashMap<String, Store<AppAccount>>>>,
}

/// May `client` list AppAccounts in `ns`? The API server's answer, as an error when not.
async fn may_list(client: &Client, ns: &str) -> Result<(), kube::Error> {
    let api: Api<AppAccount> = Api::namespaced(client.clone(), ns);
    api.list_metadata(&ListParams::default().limit(1)).await.map(|_| ())
}

impl AccountCache {
    /// The caller's own cache on localhost: reader and viewer are one.
    pub fn own(client: Client) -> AccountCache {
        AccountCache { reader: client, shared: false, stores: Arc::default() }
    }

    /// One cache for every viewer, fed with the UI's own credentials (in-cluster mode).
    pub fn shared(reader: Client) -> AccountCache {
        AccountCache { reader, shared: true, stores: Arc::default() }
    }

    /// The loaded store of `ns`'s AppAccounts, starting its watch if none runs yet.
    pub async fn store(&self, viewer: &Client, ns: &str) -> Result<Store<AppAccount>, UiError> {
        if self.shared {
            may_list(viewer, ns).await?;
        }
        let store = {
            let mut stores = self.stores.lock().await;
            match stores.get(ns) {
                Some(store) => store.clone(),
                None => {
                    // May the reader read them at all? (A watch would retry a 403 forever.)
                    match may_list(&self.reader, ns).await {
                        Ok(()) => {}
                        Err(kube::Error::Api(s)) if self.shared && (s.code == 403 || s.code == 401) => {
                            return Err(UiError::ReaderRefused(ns.to_string()));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    let store = spawn_watch(Api::namespaced(self.reader.clone(), ns));
                    stores.insert(ns.to_string(), store.clone());
                    store
                }
            }
        };
        if tokio::time::timeout(LOAD_LIMIT, store.wait_until_ready()).await.is_err() {
            return Err(UiError::CacheTimeout(ns.to_string(), LOAD_LIMIT.as_secs()));
        }
        Ok(store)
    }

    /// The accounts of one hub: labelled with it, or naming it in spec.hub.
    pub async fn hub_accounts(&self, viewer: &Client, ns: &str, hub: &str) -> Result<Vec<Arc<AppAccount>>, UiError> {
        let store = self.store(viewer, ns).await?;
        Ok(store.state().into_iter().filter(|a| belongs_to(a, hub)).collect())
    }

    /// Every account of the namespace (a user's seats across its hubs).
    pub async fn all(&self, viewer: &Client, ns: &str) -> Result<Vec<Arc<AppAccount>>, UiError> {
        Ok(self.store(viewer, ns).await?.state())
    }
}

/// Whether an account is one of `hub`'s: the operator labels every account it
/// writes; an account made by hand may carry only spec.hub.
pub fn belongs_to(account: &AppAccount, hub: &str) -> bool {
    account.spec.hub == hub || account.meta().labels.as_ref().and_then(|l| l.get(HUB_LABEL)).is_some_and(|h| h == hub)
}

fn spawn_watch(api: Api<AppAccount>) -> Store<AppAccount> {
    let (store, writer) = reflector::store::<AppAccount>();
    let events = watcher(api, watcher::Config::default().page_size(500))
        .default_backoff()
        .modify(|obj: &mut AppAccount| trim_for_read_only_cache(obj.meta_mut()));
    let stream = reflector::reflector(writer, events).applied_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                // The watcher retries with backoff; a lost permission shows as stale pages, and here.
                tracing::warn!(error = %e, "AppAccount watch failed; retrying");
            }
        }
    });
    store
}
