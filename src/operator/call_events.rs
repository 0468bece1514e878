//! The audit trail of one sync's calls to the app.
//!
//! Every call gets a log line (target `rolecall::audit`: hub, account, call,
//! outcome and operation id), whatever else happens. Its Event goes on its
//! AppAccount for the first [`EVENTS_PER_KIND`] calls of each kind and outcome
//! in a sync; the rest of a bulk sync are folded into one Event on the hub
//! that names them. A 25,000-account rollout otherwise wrote 25,000 Events
//! beside its 50,000 AppAccount writes, a third of its API writes (the
//! whole-loop benchmark at 5,000 users), into a store the API server empties
//! after an hour. client-go's `EventCorrelator` folds similar Events the same
//! way once ten arrive within ten minutes.
//!
//! Events are published beside the calls, not in their turn: a call's slot
//! waits only for its AppAccount's status, which the next sync reads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType};

use crate::connector::{ConnectorError, OperationId};
use crate::plan::Action;

use super::event_recorder::EventRecorder;
use super::executor::Effect;
use super::metrics::Metrics;

/// Calls of one kind and outcome in a sync that get an Event of their own on their AppAccount.
pub const EVENTS_PER_KIND: usize = 10;
/// An Event's note is at most 1 KiB (events.k8s.io/v1); the folded names stop short of it.
const NOTE_BUDGET: usize = 900;

/// What one call's Event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    pub warning: bool,
    pub reason: String,
    pub action: String,
    pub note: String,
}

impl CallEvent {
    pub fn of(action: &Action, result: &Result<Effect, ConnectorError>) -> CallEvent {
        let kind = action.kind();
        let email = action.email();
        let (warning, reason, note) = match result {
            Ok(Effect::Adopted(_)) => (false, "Adopted".to_string(), format!("{email} already had an account in the app; adopted it")),
            Ok(_) => (false, kind.to_string(), format!("{kind} {email}")),
            Err(e) => (true, format!("{kind}Failed"), format!("{kind} {email}: {e}")),
        };
        CallEvent { warning, reason, action: kind.to_string(), note }
    }

    fn event(&self, note: String) -> Event {
        let type_ = if self.warning { EventType::Warning } else { EventType::Normal };
        Event { type_, reason: self.reason.clone(), note: Some(note), action: self.action.clone(), secondary: None }
    }
}

/// The calls of one kind and outcome past the first [`EVENTS_PER_KIND`].
struct Folded {
    first: CallEvent,
    emails: Vec<String>,
}

/// One sync's Events: which go on their account, which are folded for the hub.
pub struct CallEvents {
    recorder: EventRecorder,
    metrics: Arc<Metrics>,
    hub: ObjectReference,
    hub_key: String,
    seen: Mutex<BTreeMap<(bool, String), usize>>,
    folded: Mutex<BTreeMap<(bool, String), Folded>>,
}

impl CallEvents {
    pub fn new(recorder: EventRecorder, metrics: Arc<Metrics>, hub: ObjectReference, hub_key: String) -> Self {
        CallEvents { recorder, metrics, hub, hub_key, seen: Mutex::default(), folded: Mutex::default() }
    }

    /// After a call whose outcome is recorded on `account`: its audit line,
    /// and its Event (published beside, or folded for the hub).
    pub fn call(&self, account: &ObjectReference, action: &Action, result: &Result<Effect, ConnectorError>, operation: &OperationId) {
        let event = CallEvent::of(action, result);
        tracing::info!(
            target: "rolecall::audit",
            hub = %self.hub_key,
            account = account.name.as_deref().unwrap_or_default(),
            email = action.email(),
            call = %action.kind(),
            outcome = %event.reason,
            operation = %operation,
            "{}", event.note
        );
        let key = (event.warning, event.reason.clone());
        let nth = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        if nth <= EVENTS_PER_KIND {
            self.recorder.publish_beside(event.event(event.note.clone()), account.clone(), false, self.metrics.clone());
            return;
        }
        let mut folded = self.folded.lock().unwrap_or_else(|p| p.into_inner());
        folded.entry(key).or_insert_with(|| Folded { first: event, emails: Vec::new() }).emails.push(action.email().to_string());
    }

    /// At the end of the sync: one Event on the hub for each kind and outcome
    /// that had more calls than Events of their own. Returns how many.
    pub fn finish(self) -> usize {
        let folded = self.folded.into_inner().unwrap_or_else(|p| p.into_inner());
        let count = folded.len();
        for (_, fold) in folded {
            let note = folded_note(&fold.first, &fold.emails);
            self.recorder.publish_beside(fold.first.event(note), self.hub.clone(), true, self.metrics.clone());
        }
        count
    }
}

/// "Invite: 240 more calls ... : a@x, b@x, ... and 212 more.", within the note's budget.
fn folded_note(first: &CallEvent, emails: &[String]) -> String {
    let mut note = format!(
        "{}: {} more in this sync than the {EVENTS_PER_KIND} with an Event on their AppAccount (each AppAccount's status has its outcome)",
        first.reason,
        emails.len()
    );
    if first.warning {
        // The first failure's words: the rest of a bulk failure usually share them.
        let words: String = first.note.chars().take(200).collect();
        note.push_str(&format!("; the first: {words}"));
    }
    note.push_str(": ");
    let mut named = 0;
    for email in emails {
        if note.len() + email.len() + 2 > NOTE_BUDGET {
            break;
        }
        if named > 0 {
            note.push_str(", ");
        }
        note.push_str(email);
        named += 1;
    }
    if named < emails.len() {
        note.push_str(&format!(" and {} more", emails.len() - named));
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> CallEvent {
        CallEvent { warning: false, reason: "Invite".into(), action: "Invite".into(), note: "Invite a@acme.io".into() }
    }

    #[test]
    fn a_folded_note_names_what_fits_and_counts_the_rest() {
        let emails: Vec<String> = (0..500).map(|i| format!("person-{i:04}@acme.io")).collect();
        let note = folded_note(&invite(), &emails);
        assert!(note.len() <= 1024, "{}", note.len());
        assert!(note.starts_with("Invite: 500 more in this sync"), "{note}");
        assert!(note.contains("person-0000@acme.io, person-0001@acme.io"), "{note}");
        let named = note.matches("@acme.io").count();
        assert!(named > 10, "{note}");
        assert!(note.ends_with(&format!(" and {} more", 500 - named)), "{note}");
        let few = folded_note(&invite(), &emails[..2]);
        assert!(few.ends_with("person-0000@acme.io, person-0001@acme.io"), "{few}");
    }

    #[test]
    fn a_folded_failure_says_the_first_error() {
        let failed = CallEvent {
            warning: true,
            reason: "InviteFailed".into(),
            action: "Invite".into(),
            note: "Invite a@acme.io: the app said 503".into(),
        };
        let note = folded_note(&failed, &["b@acme.io".to_string()]);
        assert!(note.contains("the first: Invite a@acme.io: the app said 503: b@acme.io"), "{note}");
    }
}
