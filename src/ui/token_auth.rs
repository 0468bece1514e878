//! In-cluster mode's door: every request carries the viewer's own Kubernetes
//! bearer token, in an `Authorization: Bearer` header (scripts, `curl`) or in
//! the cookie the login form sets (browsers). The token is checked by asking
//! the API server who holds it (a SelfSubjectReview sent *with* the token,
//! which needs no right of the UI's own), and every page then reads the API
//! with it, so Kubernetes RBAC decides what each person sees, as on localhost.
//!
//! Nothing is kept on the server: the cookie holds the token itself (HttpOnly,
//! so no script reads it; SameSite=Strict, so no other site's page sends it;
//! Secure when the request came over HTTPS by X-Forwarded-Proto, or always with
//! `--cookie-secure`). The token's own expiry ends the session.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::Api;
use kube::api::PostParams;
use minijinja::{Environment, context};
use serde::Deserialize;

use super::viewer::Viewer;
use super::viewer_clients::ViewerClients;

/// The cookie holding the viewer's token (base64url, so any token is a valid cookie value).
pub const COOKIE: &str = "rolecall_ui_token";
/// Paths answered without a token: the probes and the way in and out.
const OPEN_PATHS: [&str; 3] = ["/healthz", "/login", "/logout"];

#[derive(Clone)]
pub struct TokenAuth {
    clients: ViewerClients,
    cookie_secure: bool,
    env: Arc<Environment<'static>>,
}

/// What the API server said of a token.
enum Review {
    /// Authenticated: the user name, when the review could tell it.
    Viewer(Viewer),
    /// Unknown, expired or malformed: the viewer must sign in again.
    Refused,
    /// The API server could not be asked.
    Unreachable(kube::Error),
}

impl TokenAuth {
    pub fn new(clients: ViewerClients, cookie_secure: bool, env: Arc<Environment<'static>>) -> TokenAuth {
        TokenAuth { clients, cookie_secure, env }
    }

    /// The routes of the login form; the only ones taking a POST.
    pub fn routes(&self) -> Router {
        Router::new().route("/login", get(login_form).post(sign_in)).route("/logout", post(sign_out)).with_state(self.clone())
    }

    async fn review(&self, token: &str) -> Review {
        let Some(client) = self.clients.for_token(token) else { return Review::Refused };
        let reviews: Api<SelfSubjectReview> = Api::all(client.clone());
        match reviews.create(&PostParams::default(), &SelfSubjectReview::default()).await {
            Ok(review) => {
                let name = review.status.and_then(|s| s.user_info).and_then(|u| u.username);
                Review::Viewer(Viewer { client, name })
            }
            Err(kube::Error::Api(s)) if s.code == 401 => Review::Refused,
            // Authorization ran, so authentication passed: RBAC denies even self-review here.
            Err(kube::Error::Api(s)) if s.code == 403 => Review::Viewer(Viewer { client, name: Some("this token's holder".into()) }),
            Err(e) => Review::Unreachable(e),
        }
    }

    fn login_page(&self, status: StatusCode, next: &str, message: Option<&str>) -> Response {
        let html = self
            .env
            .get_template("login.html")
            .and_then(|t| t.render(context! { next, message, namespaces => Vec::<String>::new(), ns => "", refresh => None::<u32> }));
        match html {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot render the page: {e}")).into_response(),
        }
    }

    /// 401: a browser gets the login form (it then comes back to `next`), a script a line of text.
    fn challenge(&self, headers: &HeaderMap, next: &str, message: Option<&str>) -> Response {
        let wants_html = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"));
        let mut response = if wants_html {
            self.login_page(StatusCode::UNAUTHORIZED, next, message)
        } else {
            let text = message.unwrap_or("rolecall ui needs a Kubernetes bearer token: Authorization: Bearer TOKEN, or sign in at /login");
            (StatusCode::UNAUTHORIZED, format!("{text}\n")).into_response()
        };
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"rolecall ui\""));
        if message.is_some() {
            response.headers_mut().insert(header::SET_COOKIE, self.cookie(headers, None));
        }
        response
    }

    /// The Set-Cookie value carrying `token`, or clearing the cookie when None.
    fn cookie(&self, headers: &HeaderMap, token: Option<&str>) -> HeaderValue {
        let secure = self.cookie_secure
            || headers.get("x-forwarded-proto").and_then(|p| p.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let (value, age) = match token {
            Some(token) => (URL_SAFE_NO_PAD.encode(token), String::new()),
            None => (String::new(), "; Max-Age=0".to_string()),
        };
        let secure = if secure { "; Secure" } else { "" };
        // base64url and fixed attributes: always a valid header value.
        HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"))
            .unwrap_or_else(|_| HeaderValue::from_static("rolecall_ui_token=; Path=/; Max-Age=0"))
    }
}

/// Every request but the open paths must present a token the API server accepts.
pub async fn require_token(State(auth): State<TokenAuth>, mut request: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let back = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let Some(token) = presented_token(request.headers()) else {
        return auth.challenge(request.headers(), &back, None);
    };
    match auth.review(&token).await {
        Review::Viewer(viewer) => {
            request.extensions_mut().insert(viewer);
            next.run(request).await
        }
        Review::Refused => {
            auth.challenge(request.headers(), &back, Some("The API server did not accept this token (unknown or expired). Sign in again."))
        }
        Review::Unreachable(e) => {
            tracing::warn!(error = %e, "cannot review a viewer's token");
            (StatusCode::BAD_GATEWAY, "rolecall ui cannot reach the Kubernetes API to check your token\n").into_response()
        }
    }
}

/// The bearer token of the Authorization header, else the cookie's.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| URL_SAFE_NO_PAD.decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|token| !token.is_empty())
}

/// Where to go after signing in: a path on this server only (never `//other.site`).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains(['\r', '\n']) => p,
        _ => "/",
    }
}

/// A form posted from another site's page (login CSRF) is refused: its Origin names another host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
    origin_host.is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host))
}

#[derive(Deserialize)]
struct AfterSignIn {
    next: Option<String>,
}

async fn login_form(State(auth): State<TokenAuth>, Query(q): Query<AfterSignIn>) -> Response {
    auth.login_page(StatusCode::OK, local_path(q.next.as_deref()), None)
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
    next: Option<String>,
}

async fn sign_in(State(auth): State<TokenAuth>, headers: HeaderMap, Form(form): Form<SignIn>) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "a sign-in form posted from another site is refused\n").into_response();
    }
    let next = local_path(form.next.as_deref());
    let token = form.token.trim();
    if token.is_empty() {
        return auth.login_page(StatusCode::UNAUTHORIZED, next, Some("Paste a Kubernetes bearer token."));
    }
    match auth.review(token).await {
        Review::Viewer(_) => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
            response.headers_mut().insert(header::SET_COOKIE, auth.cookie(&headers, Some(token)));
            response
        }
        Review::Refused => auth.login_page(StatusCode::UNAUTHORIZED, next, Some("The API server did not accept this token.")),
        Review::Unreachable(e) => {
            tracing::warn!(error = %e, "cannot review a viewer's token");
            (StatusCode::BAD_GATEWAY, "rolecall ui cannot reach the Kubernetes API to check your token\n").into_response()
        }
    }
}

async fn sign_out(State(auth): State<TokenAuth>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "a form posted from another site is refused\n").into_response();
    }
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    response.headers_mut().insert(header::SET_COOKIE, auth.cookie(&headers, None));
    response
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};
    use base64::Engine;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn a_token_comes_from_the_header_else_the_cookie() {
        assert_eq!(presented_token(&headers(&[(header::AUTHORIZATION, "Bearer abc.def")])).as_deref(), Some("abc.def"));
        assert_eq!(presented_token(&headers(&[(header::AUTHORIZATION, "bearer  xyz ")])).as_deref(), Some("xyz"));
        assert_eq!(presented_token(&headers(&[(header::AUTHORIZATION, "Basic dXNlcjpwdw==")])), None);
        assert_eq!(presented_token(&headers(&[(header::AUTHORIZATION, "Bearer ")])), None);
        let cookie = format!("other=1; {COOKIE}={}", URL_SAFE_NO_PAD.encode("tok;en,\"odd\""));
        assert_eq!(presented_token(&headers(&[(header::COOKIE, &cookie)])).as_deref(), Some("tok;en,\"odd\""));
        assert_eq!(presented_token(&headers(&[(header::COOKIE, "rolecall_ui_token=%%%")])), None);
        assert_eq!(presented_token(&headers(&[(header::COOKIE, "rolecall_ui_token=")])), None);
        assert_eq!(presented_token(&HeaderMap::new()), None);
    }

    #[test]
    fn sign_in_returns_only_to_this_server() {
        assert_eq!(local_path(Some("/ns/acme/hubs/crm?table=Guest")), "/ns/acme/hubs/crm?table=Guest");
        for bad in
            [None, Some(""), Some("https://evil.example/"), Some("//evil.example/"), Some("/\\evil.example"), Some("/a\r\nSet-Cookie: x")]
        {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn a_form_from_another_site_is_refused() {
        assert!(same_origin(&headers(&[(header::HOST, "ui.example:8080")])), "no Origin: a non-browser client");
        assert!(same_origin(&headers(&[(header::HOST, "ui.example:8080"), (header::ORIGIN, "https://ui.example:8080")])));
        assert!(!same_origin(&headers(&[(header::HOST, "ui.example"), (header::ORIGIN, "https://evil.example")])));
        assert!(!same_origin(&headers(&[(header::HOST, "ui.example"), (header::ORIGIN, "null")])));
    }
}
