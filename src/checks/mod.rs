//! Validation of each kind against what it refers to: pure functions from an
//! object and the result of looking up its references to the conditions an
//! admin reads. The controllers do the lookups; nothing here does I/O.

pub mod binding;
pub mod grant;
pub mod hub;

/// What looking up a referenced Secret found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLookup {
    /// No Secret of that name in the namespace.
    Missing,
    /// The Secret exists; these are its data keys (never the values).
    Found(Vec<String>),
}
