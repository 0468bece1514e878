//! Nothing on this server writes: every method but GET and HEAD is refused
//! with 405 before any handler runs, whatever the path.

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn only_reads(request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")], "rolecall ui is read-only: GET and HEAD only\n").into_response()
}
