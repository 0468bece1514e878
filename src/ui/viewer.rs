//! Who is looking: the client every page reads the API with, and the name
//! shown in the header. On localhost it is the caller's kubeconfig; in the
//! cluster, the client sending the viewer's own token (token_auth.rs).
//! Handlers take it from the request's extensions, where the access layer put it.

use kube::Client;

#[derive(Clone)]
pub struct Viewer {
    pub client: Client,
    /// The Kubernetes user name when signed in with a token (None on localhost), shown with a sign-out button.
    pub name: Option<String>,
}
