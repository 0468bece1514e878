//! The order of one AppAccount's status writes once a call's outcome is
//! written behind the sync, and how many such writes one hub has in flight.
//!
//! A sync used to end only when every call's outcome was in the API server:
//! under load an AppAccount status write took about a second (10,000-user
//! whole loop: 1.1 s on average), so a hub's sync spent three of its seven
//! seconds waiting for writes whose content it already knew, and every IdP
//! change that arrived meanwhile waited for them too. Now the outcome is shown
//! at once to every reader (the overlay's pending write) and written in the
//! background. Two writes of one account must still land in the order they
//! were decided: the outcome's writer holds the account's *turn* until its
//! write returns, and every later status write or deletion of the account
//! takes the turn first. A hub's *slots* bound its writes in flight, so a
//! rollout's calls wait for the API server as before instead of piling up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// How many outcome writes of one hub are in flight at once (the sync's own
/// concurrency for its other AppAccount writes).
pub const SLOTS_PER_HUB: usize = 16;

type Turns = Arc<Mutex<HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>>>;

#[derive(Default)]
pub struct OutcomeWrites {
    turns: Turns,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The right to write one account now; later writers of it wait until it is dropped.
pub struct AccountTurn {
    key: (String, String),
    turns: Turns,
    cell: Arc<tokio::sync::Mutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for AccountTurn {
    fn drop(&mut self) {
        self.guard.take();
        let mut turns = lock(&self.turns);
        // Only the map and this turn hold the cell: nobody waits, it can go.
        if Arc::strong_count(&self.cell) == 2 {
            turns.remove(&self.key);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl OutcomeWrites {
    /// Waits until no earlier write of the account `namespace/name` is in flight.
    pub async fn turn(&self, namespace: &str, name: &str) -> AccountTurn {
        let key = (namespace.to_string(), name.to_string());
        let cell = lock(&self.turns).entry(key.clone()).or_default().clone();
        let guard = cell.clone().lock_owned().await;
        AccountTurn { key, turns: self.turns.clone(), cell, guard: Some(guard) }
    }

    /// Waits for one of the hub's outcome-write slots.
    pub async fn slot(&self, hub_key: &str) -> Option<OwnedSemaphorePermit> {
        let slots = lock(&self.slots).entry(hub_key.to_string()).or_insert_with(|| Arc::new(Semaphore::new(SLOTS_PER_HUB))).clone();
        // The semaphore is never closed; were it, the write would go unbounded, not fail.
        slots.acquire_owned().await.ok()
    }

    #[cfg(test)]
    fn accounts_tracked(&self) -> usize {
        lock(&self.turns).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_later_write_of_an_account_waits_for_the_earlier_one_and_nothing_is_left_behind() {
        let writes = OutcomeWrites::default();
        let first = writes.turn("ws", "a").await;
        // Another account is not held up.
        let other = tokio::time::timeout(Duration::from_secs(5), writes.turn("ws", "b")).await;
        assert!(other.is_ok(), "b's turn does not wait for a's");
        drop(other);
        // The same account waits until the first turn is dropped.
        let order = Arc::new(Mutex::new(Vec::new()));
        let (o1, o2) = (order.clone(), order.clone());
        let writes = Arc::new(writes);
        let w = writes.clone();
        let later = tokio::spawn(async move {
            let _turn = w.turn("ws", "a").await;
            lock(&o2).push("second");
        });
        // The spawned task is parked on the turn, not finished: it needs the first turn dropped.
        tokio::task::yield_now().await;
        assert!(!later.is_finished());
        lock(&o1).push("first");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), later).await.expect("the second turn came").expect("joined");
        assert_eq!(*lock(&order), ["first", "second"]);
        assert_eq!(writes.accounts_tracked(), 0, "turns nobody waits for are let go");
    }

    #[tokio::test]
    async fn a_hub_has_a_bounded_number_of_writes_in_flight() {
        let writes = OutcomeWrites::default();
        let mut held = Vec::new();
        for _ in 0..SLOTS_PER_HUB {
            held.push(writes.slot("ws/app").await);
        }
        let free = |hub: &str| lock(&writes.slots).get(hub).map(|s| s.available_permits());
        assert_eq!(free("ws/app"), Some(0), "all slots taken");
        assert!(tokio::time::timeout(Duration::from_secs(5), writes.slot("ws/other")).await.is_ok(), "another hub's are its own");
        held.pop();
        assert_eq!(free("ws/app"), Some(1), "one freed");
    }
}
