//! What can go wrong serving a page, and the HTTP status each one is shown with.

use axum::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("cannot read the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
    #[error("cannot render the page: {0}")]
    Template(#[from] minijinja::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("the AppAccounts of namespace {0} did not load within {1} s")]
    CacheTimeout(String, u64),
    #[error(
        "rolecall ui's own ServiceAccount may not read the AppAccounts of namespace {0}: the chart grants it that in the namespaces rolecall serves (watchNamespaces, or every namespace with rbac.clusterWide)"
    )]
    ReaderRefused(String),
    #[error("cannot load the Kubernetes configuration: {0}")]
    Config(#[from] kube::config::InferConfigError),
}

impl UiError {
    /// The status a page shows for this error: RBAC refusals and missing objects
    /// are the caller's answer (403/404), not the server's fault.
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::Kube(kube::Error::Api(s)) if s.code == 403 || s.code == 401 => StatusCode::FORBIDDEN,
            UiError::Kube(kube::Error::Api(s)) if s.code == 404 => StatusCode::NOT_FOUND,
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::Kube(_) | UiError::CacheTimeout(..) | UiError::ReaderRefused(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A sentence for the page: what happened and what the person can do.
    pub fn explain(&self) -> String {
        match self.status() {
            StatusCode::FORBIDDEN => format!(
                "Your Kubernetes credentials may not read this (RBAC). Ask for get/list/watch on rolecall.dev kinds in this namespace. The API server said: {}",
                self.api_message()
            ),
            StatusCode::NOT_FOUND => format!("Not found. The API server said: {}", self.api_message()),
            _ => self.to_string(),
        }
    }

    fn api_message(&self) -> String {
        match self {
            UiError::Kube(kube::Error::Api(s)) => s.message.clone(),
            other => other.to_string(),
        }
    }
}
