//! Errors of the operator's reconcile steps, each with a category for metrics and Events.

use kube::runtime::reflector::ObjectRef;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("object has no {0}; the API server always sets it, so the object did not come from a watch")]
    MissingMetadata(&'static str),
    #[error("cannot serialize status: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("lost the leader Lease; stopping so that only one replica acts")]
    LeadershipLost,
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot listen for shutdown signals: {0}")]
    Signal(std::io::Error),
    /// The plan's thread panicked or was cancelled at shutdown (a bug, reported, never a silent stop).
    #[error("the plan did not finish: {0}")]
    PlanAborted(#[from] tokio::task::JoinError),
}

impl Error {
    /// A short stable word for the `reason` label of the error metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(s)) if s.code == 409 => "conflict",
            Error::Kube(kube::Error::Api(s)) if s.code == 403 || s.code == 401 => "forbidden",
            Error::Kube(kube::Error::Api(s)) if s.code == 404 => "not_found",
            Error::Kube(kube::Error::Api(_)) => "api_rejected",
            Error::Kube(_) => "api_unreachable",
            Error::MissingMetadata(_) => "invalid_object",
            Error::Serialize(_) => "serialize",
            Error::LeadershipLost => "leadership_lost",
            Error::Bind { .. } => "bind",
            Error::Signal(_) => "signal",
            Error::PlanAborted(_) => "plan_aborted",
        }
    }
}

/// A stable key for per-object backoff bookkeeping.
pub fn object_key<K: kube::Resource<DynamicType = ()>>(obj: &ObjectRef<K>) -> String {
    format!("{}/{}/{}", K::kind(&()), obj.namespace.as_deref().unwrap_or(""), obj.name)
}
