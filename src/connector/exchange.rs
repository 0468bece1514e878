//! One HTTP exchange with an app, as every connector makes it: paced by the
//! hub's [`Pacer`], read whole, and every way it can go wrong on the way
//! (no answer, a timeout, an answer that breaks off, a 2xx whose body is not
//! JSON) a transient failure the pacer backs off on. Such a call may well have
//! happened in the app, so none of these is ever taken as an empty result:
//! the executor reads back before it repeats an add, and a webhook retry
//! carries the same operation id. What a refusal (4xx, 5xx) means is each
//! connector's own reading of its app.

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use super::ConnectorError;
use super::pacer::{Answer, Pacer};

/// An answer, read whole.
pub struct Answered {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answered {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when empty), or the reason it is not.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        if self.text.trim().is_empty() { Ok(Value::Null) } else { serde_json::from_str(&self.text) }
    }
}

/// Sends `request` (about `path`, as logs and errors name it) once the hub's
/// pacer allows, and reads the whole answer.
pub async fn send(pacer: &Pacer, request: RequestBuilder, path: &str) -> Result<Answered, ConnectorError> {
    pacer.before_call().await?;
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Err(pacer.after_failure(&ConnectorError::Transient(format!("{path}: {}", without_url(e))))),
    };
    let (status, headers) = (response.status(), response.headers().clone());
    match response.text().await {
        Ok(text) => Ok(Answered { status, headers, text }),
        Err(e) => {
            let broke_off = format!("{path}: the answer ({}) broke off: {}", status.as_u16(), without_url(e));
            Err(pacer.after_failure(&ConnectorError::Transient(broke_off)))
        }
    }
}

/// The JSON body of a 2xx answer, the pacer told the app answered fine; a body
/// that does not parse is a transient failure it backs off on.
pub fn success_json(pacer: &Pacer, answered: &Answered, path: &str) -> Result<Value, ConnectorError> {
    match answered.json() {
        Ok(body) => {
            pacer.after_answer(Answer::Fine);
            Ok(body)
        }
        Err(e) => {
            let start: String = answered.text.chars().take(80).collect();
            let unreadable = format!("{path} answered {} with a body that is not JSON ({e}): {start:?}", answered.status.as_u16());
            Err(pacer.after_failure(&ConnectorError::Transient(unreadable)))
        }
    }
}

/// A refusal, settled with the pacer: a server error backs the hub off, any
/// other answer (a rate limit's wait among them) is kept as the app said it.
pub fn refused(pacer: &Pacer, error: ConnectorError, answer: Answer) -> ConnectorError {
    match answer {
        Answer::ServerError => pacer.after_failure(&error),
        answer => {
            pacer.after_answer(answer);
            error
        }
    }
}

/// A path segment or query value, percent-encoded (RFC 3986 unreserved characters kept).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// What went wrong with a request, without reqwest's URL (the base URL is in the hub's spec already).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}
