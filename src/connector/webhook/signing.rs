//! Request signing of the webhook protocol (docs/connector-protocol.md,
//! "Signing"): an HMAC-SHA256 with the hub's shared secret over
//! `timestamp + "." + body`, sent as `X-Rolecall-Signature: sha256=<hex>` with
//! the timestamp (Unix seconds) in `X-Rolecall-Timestamp`. The timestamp is
//! signed too, so an old request cannot be replayed with a fresh time, and a
//! connector refuses any request whose time is further than the window from
//! its own clock.
//!
//! [`verify`] is what a connector does; rolecall itself only signs, but the
//! conformance check and the tests use it, and it is the Rust reference for
//! implementers.

use std::time::{Duration, SystemTime};

use ring::hmac;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-rolecall-signature";
/// The header carrying the Unix time the request was signed at.
pub const TIMESTAMP_HEADER: &str = "x-rolecall-timestamp";
/// How far a request's timestamp may be from the connector's clock, either way.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(300);
/// The signature's scheme prefix.
const SCHEME: &str = "sha256=";

/// The signature header's value for `body` signed at `timestamp` (Unix seconds).
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, &signed_bytes(timestamp, body));
    format!("{SCHEME}{}", hex(tag.as_ref()))
}

/// The current Unix time in seconds.
pub fn now_unix() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Why a connector refuses a request's signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no {0} header")]
    Missing(&'static str),
    #[error("the timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error("the request was signed {0} s away from now, outside the {w} s window", w = REPLAY_WINDOW.as_secs())]
    OutsideWindow(u64),
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a request as a connector must: the timestamp within [`REPLAY_WINDOW`]
/// of `now`, then the signature, compared in constant time (`ring::hmac::verify`).
pub fn verify(secret: &[u8], timestamp: Option<&str>, signature: Option<&str>, body: &[u8], now: u64) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let at: u64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    let skew = now.abs_diff(at);
    if skew > REPLAY_WINDOW.as_secs() {
        return Err(SignatureError::OutsideWindow(skew));
    }
    let tag = signature.trim().strip_prefix(SCHEME).and_then(unhex).ok_or(SignatureError::Mismatch)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, &signed_bytes(at, body), &tag).map_err(|_| SignatureError::Mismatch)
}

fn signed_bytes(timestamp: u64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    message
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let tag = hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(hex(tag.as_ref()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn the_protocols_known_vectors() {
        // The same vectors are in docs/connector-protocol.md (computed with Python's hmac module).
        assert_eq!(
            signature(b"test-value", 1_700_000_000, br#"{"operation_id":"op-1"}"#),
            "sha256=05b08c6a51ac8ab362e37ebaf70f0cf95ca34d232383fe76abb38328639a298a"
        );
        assert_eq!(signature(b"test-value", 1_700_000_000, b""), "sha256=cd7e1c4a91d0375d1ba4f5b730f36f72376a724bbc24c7356da4ecc2d7cdef36");
    }

    #[test]
    fn a_connector_accepts_only_a_matching_fresh_signature() {
        let body = br#"{"operation_id":"op-1"}"#;
        let now = 1_700_000_000;
        let good = signature(b"s3cret", now, body);
        let ts = now.to_string();
        assert_eq!(verify(b"s3cret", Some(&ts), Some(&good), body, now), Ok(()));
        assert_eq!(verify(b"s3cret", Some(&ts), Some(&good), body, now + 300), Ok(()), "at the window's edge");
        assert_eq!(verify(b"s3cret", Some(&ts), Some(&good), body, now + 301), Err(SignatureError::OutsideWindow(301)), "a replay");
        assert_eq!(verify(b"s3cret", Some(&ts), Some(&good), body, now - 301), Err(SignatureError::OutsideWindow(301)), "from the future");
        assert_eq!(verify(b"other", Some(&ts), Some(&good), body, now), Err(SignatureError::Mismatch), "another secret");
        assert_eq!(verify(b"s3cret", Some(&ts), Some(&good), b"{}", now), Err(SignatureError::Mismatch), "another body");
        let later = (now + 1).to_string();
        assert_eq!(
            verify(b"s3cret", Some(&later), Some(&good), body, now),
            Err(SignatureError::Mismatch),
            "a new time on an old signature"
        );
        for bad in ["", "sha256=", "sha256=zz", "md5=00", &good[..good.len() - 1]] {
            assert_eq!(verify(b"s3cret", Some(&ts), Some(bad), body, now), Err(SignatureError::Mismatch), "{bad:?}");
        }
        assert_eq!(verify(b"s3cret", None, Some(&good), body, now), Err(SignatureError::Missing(TIMESTAMP_HEADER)));
        assert_eq!(verify(b"s3cret", Some("soon"), Some(&good), body, now), Err(SignatureError::BadTimestamp));
    }
}
