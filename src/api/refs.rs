//! References from one rolecall object to another object in the same namespace.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Secret in the same namespace, and optionally one key of it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret, in the namespace of the object that refers to it.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key inside the Secret. When empty, the referring kind documents which keys it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}
