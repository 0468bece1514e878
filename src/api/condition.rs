//! Standard status conditions, shared by every kind.
//!
//! The shape follows `metav1.Condition` so that `kubectl wait --for=condition=Ready`
//! and every dashboard that knows Kubernetes conditions understand ours.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The truth value of a condition.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl AsRef<str> for ConditionStatus {
    fn as_ref(&self) -> &str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value { ConditionStatus::True } else { ConditionStatus::False }
    }
}

/// One aspect of an object's current state, as a controller last observed it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The aspect this condition reports, in CamelCase (for example `Ready`, `Accepted`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds: `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// A CamelCase word a machine can match on, saying why the condition has its status.
    pub reason: String,
    /// A sentence for a human: what is wrong and what to do about it.
    #[serde(default)]
    pub message: String,
    /// When the status last changed (RFC 3339). Unchanged while the status stays the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// A condition without a transition time; [`merge_conditions`] fills it in.
    pub fn new(type_: &str, status: ConditionStatus, reason: &str, message: impl Into<String>) -> Self {
        Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message: message.into(),
            last_transition_time: None,
            observed_generation: None,
        }
    }
}

/// Merges freshly computed conditions into the previous ones.
///
/// A condition keeps its previous `lastTransitionTime` when its status did not
/// change, so a reconcile that finds the same state produces byte-identical
/// status and the operator can skip the write entirely. Conditions of types
/// not in `fresh` are dropped: each controller owns the full set it reports.
pub fn merge_conditions(previous: &[Condition], fresh: Vec<Condition>, now: &str, generation: Option<i64>) -> Vec<Condition> {
    fresh
        .into_iter()
        .map(|mut c| {
            c.observed_generation = generation;
            let before = previous.iter().find(|p| p.type_ == c.type_);
            c.last_transition_time = match before {
                Some(p) if p.status == c.status => p.last_transition_time.clone().or_else(|| Some(now.to_string())),
                _ => Some(now.to_string()),
            };
            c
        })
        .collect()
}

/// Finds a condition by type.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_status_holds() {
        let old = merge_conditions(&[], vec![Condition::new("Ready", ConditionStatus::False, "A", "m")], "t1", Some(1));
        let same = merge_conditions(&old, vec![Condition::new("Ready", ConditionStatus::False, "B", "n")], "t2", Some(2));
        assert_eq!(same[0].last_transition_time.as_deref(), Some("t1"));
        assert_eq!(same[0].reason, "B");
        let flipped = merge_conditions(&same, vec![Condition::new("Ready", ConditionStatus::True, "Ok", "")], "t3", Some(2));
        assert_eq!(flipped[0].last_transition_time.as_deref(), Some("t3"));
    }

    #[test]
    fn conditions_not_reported_again_are_dropped() {
        let old = merge_conditions(&[], vec![Condition::new("Stale", ConditionStatus::True, "A", "")], "t1", None);
        let fresh = merge_conditions(&old, vec![Condition::new("Ready", ConditionStatus::True, "A", "")], "t2", None);
        assert_eq!(fresh.len(), 1);
        assert!(find_condition(&fresh, "Stale").is_none());
    }
}
