//! In-cluster mode reads the API as each viewer, with the viewer's own bearer
//! token, the way `kubectl --token` would: the API server authenticates it and
//! RBAC decides what it may read. The UI's own ServiceAccount lends nothing
//! (no impersonation right; see docs/ui-in-cluster.md for why).
//!
//! Bearer authentication is per request, not per connection, so one pool of
//! TLS connections to the API server serves every viewer; a viewer's client is
//! that pool plus a layer setting their Authorization header, made per request
//! and dropped with it (the token is kept nowhere but in the browser's cookie).

use std::sync::Arc;

use axum::http::{HeaderValue, Request, header};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use kube::client::{Body, ConfigExt};
use kube::{Client, Config};
use tower::ServiceBuilder;

type MakeClient = dyn Fn(HeaderValue) -> Client + Send + Sync;

/// Makes a kube Client that sends one viewer's token.
#[derive(Clone)]
pub struct ViewerClients {
    make: Arc<MakeClient>,
}

impl ViewerClients {
    /// From the process's own configuration: its API server address, CA and
    /// default namespace are kept; its credentials are not used.
    pub fn new(config: &Config) -> Result<ViewerClients, kube::Error> {
        let connector = config.rustls_https_connector()?;
        let http: HttpClient<_, Body> = HttpClient::builder(TokioExecutor::new()).build(connector);
        let base_uri = config.base_uri_layer();
        let namespace = config.default_namespace.clone();
        let make = move |authorization: HeaderValue| {
            let service = ServiceBuilder::new()
                .layer(base_uri.clone())
                .map_request(move |mut request: Request<Body>| {
                    request.headers_mut().insert(header::AUTHORIZATION, authorization.clone());
                    request
                })
                .service(http.clone());
            Client::new(service, namespace.clone())
        };
        Ok(ViewerClients { make: Arc::new(make) })
    }

    /// A client reading as the holder of `token`; None when the token cannot
    /// be a header value (a control character), which no API server issues.
    pub fn for_token(&self, token: &str) -> Option<Client> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        authorization.set_sensitive(true);
        Some((self.make)(authorization))
    }
}
