//! Nothing on this server writes: every method but GET and HEAD is refused
//! with 405 before any handler runs, whatever the path. In-cluster mode's
//! login form is the one exception: POST /login and POST /logout only set or
//! clear the viewer's own cookie.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether the login form's POSTs are let through (in-cluster mode).
#[derive(Clone, Copy)]
pub struct SignInForm(pub bool);

pub async fn only_reads(State(SignInForm(sign_in)): State<SignInForm>, request: Request, next: Next) -> Response {
    let method = request.method();
    let form_post = sign_in && method == Method::POST && matches!(request.uri().path(), "/login" | "/logout");
    if method == Method::GET || method == Method::HEAD || form_post {
        return next.run(request).await;
    }
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")], "rolecall ui is read-only: GET and HEAD only\n").into_response()
}
