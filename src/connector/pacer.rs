//! Pacing one hub's calls to its app.
//!
//! When an app answers 429 (or 503) with a time to come back (`Retry-After`
//! as seconds or an HTTP-date; on a 429 also `RateLimit-Reset` or
//! `X-RateLimit-Reset`), the hub sends it nothing before that time, whatever
//! the call; failures (500, 502, 504, 503 without a time, timeouts, dropped
//! connections, answers that break off or are not JSON) hold the hub's calls
//! for an exponential backoff with full jitter, capped by the hub's
//! `spec.connector.maxBackoff`, and the error says so (`BackingOff`, with the
//! count and the last failure), which the hub's condition shows. A [`Pacer`] belongs to one hub and
//! outlives the connectors built from it (the operator builds a new connector
//! each sync), so it lives in the operator's context, one per hub: other hubs
//! are never slowed.
//!
//! Every HTTP call asks [`Pacer::before_call`] first: a short hold (up to
//! [`MAX_INLINE_WAIT`]) is waited out; a longer one fails the call at once,
//! without sending, so the operator requeues the hub for later instead of
//! keeping a reconcile asleep.
//!
//! The decisions are plain functions of a clock value ([`Hold::decide`],
//! [`Hold::record`]) so they are tested without sleeping.

use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::ConnectorError;

/// Holds up to this long are waited out inside the call; longer ones fail it at once.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// The wait after a 429 without `Retry-After`; doubled for each one in a row.
pub const DEFAULT_THROTTLE: Duration = Duration::from_secs(1);
/// The first backoff ceiling after a server error; doubled for each one in a row.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// No self-chosen wait (backoff, default throttle) is longer than this unless the
/// hub says otherwise (`spec.connector.maxBackoff`, whose default this is): an app
/// down for an hour gets a call every 2.5 minutes on average, and is called again
/// within 5 minutes of coming back.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A `Retry-After` beyond this is taken as this (a bogus value must not stall a hub forever).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What the app answered, as far as pacing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Any answer that is neither a throttle nor a server error (2xx, 4xx, 501).
    Fine,
    /// 429, or 503 with a `Retry-After`: the app said when to come back (or, for a bare 429, did not).
    Throttled { retry_after: Option<Duration> },
    /// 500, 502, 504, 503 without `Retry-After`, or no answer at all (timeout, connection refused).
    ServerError,
}

impl Answer {
    /// The pacing meaning of an HTTP status and its parsed `Retry-After`.
    pub fn of(status: reqwest::StatusCode, retry_after: Option<Duration>) -> Answer {
        use reqwest::StatusCode;
        match status {
            StatusCode::TOO_MANY_REQUESTS => Answer::Throttled { retry_after },
            StatusCode::SERVICE_UNAVAILABLE if retry_after.is_some() => Answer::Throttled { retry_after },
            StatusCode::NOT_IMPLEMENTED => Answer::Fine,
            s if s.is_server_error() => Answer::ServerError,
            _ => Answer::Fine,
        }
    }
}

/// Why calls are held: the app asked, or our own backoff after server errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Cause {
    #[default]
    AppAsked,
    Backoff,
}

/// What a call should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Go,
    /// Wait this long, then ask again.
    Wait(Duration),
    /// Do not send: fail with this error (the hold is longer than [`MAX_INLINE_WAIT`]).
    Refuse(ConnectorError),
}

/// The pacing state of one hub.
#[derive(Debug)]
pub struct Hold {
    /// Nothing is sent before this.
    not_before: Option<Instant>,
    cause: Cause,
    /// Server errors in a row (reset by any fine answer).
    server_errors: u32,
    /// 429s without `Retry-After` in a row (reset by any fine answer).
    throttles: u32,
    /// The longest self-chosen wait (the hub's `maxBackoff`).
    max_backoff: Duration,
    /// The last failure, as the refusals during its backoff repeat it.
    last_failure: String,
}

impl Default for Hold {
    fn default() -> Self {
        Hold {
            not_before: None,
            cause: Cause::default(),
            server_errors: 0,
            throttles: 0,
            max_backoff: DEFAULT_MAX_BACKOFF,
            last_failure: String::new(),
        }
    }
}

impl Hold {
    /// Whether a call may be sent at `now`.
    pub fn decide(&self, now: Instant) -> Decision {
        let remaining = match self.not_before {
            Some(t) if t > now => t - now,
            _ => return Decision::Go,
        };
        if remaining <= MAX_INLINE_WAIT {
            return Decision::Wait(remaining);
        }
        Decision::Refuse(match self.cause {
            Cause::AppAsked => ConnectorError::RateLimited { retry_after: Some(remaining) },
            // The same words as the failure that started the hold: a hub refused again
            // and again shows one unchanged condition, not a countdown to rewrite.
            Cause::Backoff => self.backing_off(),
        })
    }

    /// The error that says the hub is backing off, and why.
    fn backing_off(&self) -> ConnectorError {
        ConnectorError::BackingOff {
            failures: self.server_errors,
            ceiling: doubled(BACKOFF_BASE, self.server_errors, self.max_backoff),
            last: self.last_failure.clone(),
        }
    }

    /// A call that failed at `now` (server error, timeout, dropped connection,
    /// unreadable answer): backs off and returns the error to report, which says so.
    pub fn failed(&mut self, now: Instant, error: &ConnectorError, random: u64) -> ConnectorError {
        self.record(now, Answer::ServerError, random);
        self.last_failure = error.to_string();
        self.backing_off()
    }

    /// Takes an answer received at `now` into account; `random` draws the jitter.
    /// A hold is only ever pushed later, never shortened: an answer to a call sent
    /// before a 429 does not lift the 429's hold.
    pub fn record(&mut self, now: Instant, answer: Answer, random: u64) {
        match answer {
            Answer::Fine => {
                self.server_errors = 0;
                self.throttles = 0;
            }
            Answer::Throttled { retry_after: Some(after) } => self.hold_until(now, after.min(MAX_RETRY_AFTER), Cause::AppAsked),
            Answer::Throttled { retry_after: None } => {
                self.throttles = self.throttles.saturating_add(1);
                self.hold_until(now, doubled(DEFAULT_THROTTLE, self.throttles, self.max_backoff), Cause::AppAsked);
            }
            Answer::ServerError => {
                self.server_errors = self.server_errors.saturating_add(1);
                self.hold_until(now, full_jitter(doubled(BACKOFF_BASE, self.server_errors, self.max_backoff), random), Cause::Backoff);
            }
        }
    }

    fn hold_until(&mut self, now: Instant, wait: Duration, cause: Cause) {
        let until = now + wait;
        if self.not_before.is_none_or(|t| until > t) {
            self.not_before = Some(until);
            self.cause = cause;
        }
    }
}

/// `base` doubled for each event after the first, capped at `cap`.
fn doubled(base: Duration, in_a_row: u32, cap: Duration) -> Duration {
    let factor = 1u32 << in_a_row.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(cap)
}

/// "Full jitter": uniformly between zero and `ceiling`, so many clients backing
/// off from one outage do not come back at the same instant.
pub fn full_jitter(ceiling: Duration, random: u64) -> Duration {
    let nanos = ceiling.as_nanos().saturating_mul(u128::from(random)) / u128::from(u64::MAX);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)).min(ceiling)
}

/// A random u64 for jitter, from the standard library alone: each `RandomState`
/// is keyed from the OS's randomness (per thread) and a fresh one differs from the
/// last, and the clock is mixed in. Good enough to spread retries; not cryptographic.
fn jitter_source() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    hasher.finish()
}

/// The pacer of one hub, shared by every call (and every connector) of that hub.
#[derive(Debug)]
pub struct Pacer {
    /// The hub's `namespace/name`, for the log line when it waits.
    hub: String,
    hold: Mutex<Hold>,
}

impl Pacer {
    pub fn new(hub: impl Into<String>) -> Pacer {
        Pacer { hub: hub.into(), hold: Mutex::new(Hold::default()) }
    }

    /// The hub's `namespace/name`.
    pub fn hub(&self) -> &str {
        &self.hub
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Hold> {
        self.hold.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns when a call may be sent; fails at once when the hold is longer than [`MAX_INLINE_WAIT`].
    pub async fn before_call(&self) -> Result<(), ConnectorError> {
        // Bounded: each round either returns or sleeps until the hold it saw ends;
        // a hold pushed later meanwhile is waited out (or refused) in the next round.
        loop {
            let decision = self.lock().decide(Instant::now());
            match decision {
                Decision::Go => return Ok(()),
                Decision::Wait(wait) => {
                    tracing::info!(hub = %self.hub, wait_ms = wait.as_millis() as u64, "holding a call to the app as it asked (rate limit or backoff)");
                    tokio::time::sleep(wait).await;
                }
                Decision::Refuse(error) => {
                    tracing::info!(hub = %self.hub, error = %error, "not calling the app before its retry time; the hub is requeued");
                    return Err(error);
                }
            }
        }
    }

    /// The longest self-chosen wait for this hub (its `spec.connector.maxBackoff`), from now on.
    pub fn set_max_backoff(&self, max: Duration) {
        self.lock().max_backoff = max;
    }

    /// A call that failed (server error, timeout, dropped connection, unreadable
    /// answer): the hub backs off; returns the error to report, which says so.
    pub fn after_failure(&self, error: &ConnectorError) -> ConnectorError {
        let backing_off = self.lock().failed(Instant::now(), error, jitter_source());
        tracing::info!(hub = %self.hub, error = %backing_off, "the app failed a call; holding the hub's calls");
        backing_off
    }

    /// Takes the app's answer to a call into account.
    pub fn after_answer(&self, answer: Answer) {
        let mut hold = self.lock();
        hold.record(Instant::now(), answer, jitter_source());
        if answer != Answer::Fine {
            let remaining = hold.not_before.map(|t| t.saturating_duration_since(Instant::now())).unwrap_or_default();
            tracing::info!(hub = %self.hub, ?answer, hold_ms = remaining.as_millis() as u64, "the app asked to slow down or failed; holding the hub's calls");
        }
    }
}

/// When the app said to come back, from an answer's headers (`header(name)`
/// gives a header's value): `Retry-After` on any answer; on a 429 without it,
/// `RateLimit-Reset` (seconds from now, the IETF draft) or `X-RateLimit-Reset`
/// (a Unix time, as GitHub and many others send; a number too small to be one
/// is taken as seconds from now, as some apps mean it). The reset headers ride
/// on every answer of some apps and name the end of a whole rate window, so
/// only a 429 makes them a reason to wait.
pub fn retry_time<'a>(status: reqwest::StatusCode, header: impl Fn(&str) -> Option<&'a str>, now: SystemTime) -> Option<Duration> {
    if let Some(after) = header("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(after);
    }
    if status != reqwest::StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    if let Some(delta) = header("ratelimit-reset").and_then(seconds) {
        return Some(Duration::from_secs(delta).min(MAX_RETRY_AFTER));
    }
    let reset = header("x-ratelimit-reset").and_then(seconds)?;
    let since_epoch = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
    // Unix times of this century are over a billion; a smaller number is a delay.
    let wait = if reset >= 1_000_000_000 { reset.saturating_sub(since_epoch) } else { reset };
    Some(Duration::from_secs(wait).min(MAX_RETRY_AFTER))
}

/// A header value of whole seconds.
fn seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())).then(|| value.parse().unwrap_or(u64::MAX))
}

/// A `Retry-After` header value (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP-date (the time is measured from `now`; a date in the past is zero).
/// `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: seconds (a number too long for u64 is still "a very long time").
        return Some(value.parse::<u64>().map(Duration::from_secs).unwrap_or(MAX_RETRY_AFTER).min(MAX_RETRY_AFTER));
    }
    let at = k8s_openapi::jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn retry_after_is_read_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("2", now), Some(secs(2)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(secs(10)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(Duration::ZERO), "a date in the past");
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(MAX_RETRY_AFTER));
        for bad in ["", "soon", "-1", "1.5", "Sun, 06 Nov"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn a_429_names_its_time_in_any_of_the_usual_headers() {
        let now = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
        let at = |status: u16, headers: &[(&str, &str)]| {
            let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_lowercase(), v.to_string())).collect();
            retry_time(
                StatusCode::from_u16(status).expect("status"),
                |name| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()),
                now,
            )
        };
        assert_eq!(at(429, &[("Retry-After", "7")]), Some(secs(7)));
        assert_eq!(at(429, &[("Retry-After", "Tue, 14 Nov 2023 22:13:40 GMT")]), Some(secs(20)), "an HTTP-date");
        assert_eq!(at(429, &[("RateLimit-Reset", "12")]), Some(secs(12)), "seconds from now");
        assert_eq!(at(429, &[("X-RateLimit-Reset", "1700000030")]), Some(secs(30)), "a Unix time");
        assert_eq!(at(429, &[("X-RateLimit-Reset", "1699999990")]), Some(Duration::ZERO), "a reset in the past");
        assert_eq!(at(429, &[("X-RateLimit-Reset", "45")]), Some(secs(45)), "too small for a Unix time: seconds");
        assert_eq!(at(429, &[("X-RateLimit-Reset", "1800000000")]), Some(MAX_RETRY_AFTER), "bounded");
        assert_eq!(at(429, &[("Retry-After", "3"), ("X-RateLimit-Reset", "1700000030")]), Some(secs(3)), "Retry-After first");
        assert_eq!(at(429, &[("RateLimit-Reset", "5"), ("X-RateLimit-Reset", "1700000030")]), Some(secs(5)));
        assert_eq!(at(429, &[("X-RateLimit-Reset", "soon")]), None);
        assert_eq!(at(429, &[]), None);
        // Reset headers on other answers name a rate window, not a wait.
        assert_eq!(at(200, &[("X-RateLimit-Reset", "1700000030")]), None);
        assert_eq!(at(503, &[("RateLimit-Reset", "30")]), None);
        assert_eq!(at(503, &[("Retry-After", "2")]), Some(secs(2)));
    }

    #[test]
    fn answers_are_classified_by_status() {
        assert_eq!(Answer::of(StatusCode::TOO_MANY_REQUESTS, None), Answer::Throttled { retry_after: None });
        assert_eq!(Answer::of(StatusCode::SERVICE_UNAVAILABLE, Some(secs(2))), Answer::Throttled { retry_after: Some(secs(2)) });
        for s in [StatusCode::SERVICE_UNAVAILABLE, StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY, StatusCode::GATEWAY_TIMEOUT]
        {
            assert_eq!(Answer::of(s, None), Answer::ServerError, "{s}");
        }
        for s in [StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::CONFLICT, StatusCode::NOT_IMPLEMENTED] {
            assert_eq!(Answer::of(s, None), Answer::Fine, "{s}");
        }
    }

    #[test]
    fn nothing_is_sent_before_the_retry_time() {
        let t0 = Instant::now();
        let mut hold = Hold::default();
        assert_eq!(hold.decide(t0), Decision::Go);
        hold.record(t0, Answer::Throttled { retry_after: Some(secs(2)) }, 0);
        assert_eq!(hold.decide(t0), Decision::Wait(secs(2)));
        assert_eq!(hold.decide(t0 + Duration::from_millis(1999)), Decision::Wait(Duration::from_millis(1)));
        assert_eq!(hold.decide(t0 + secs(2)), Decision::Go);
        // A fine answer to a call sent earlier does not lift the hold.
        hold.record(t0 + secs(1), Answer::Throttled { retry_after: Some(secs(30)) }, 0);
        hold.record(t0 + secs(2), Answer::Fine, 0);
        assert_eq!(hold.decide(t0 + secs(3)), Decision::Refuse(ConnectorError::RateLimited { retry_after: Some(secs(28)) }));
        assert_eq!(hold.decide(t0 + secs(26)), Decision::Wait(secs(5)), "five seconds or less are waited out");
        assert_eq!(hold.decide(t0 + secs(31)), Decision::Go);
        // A shorter Retry-After does not shorten a longer hold.
        hold.record(t0 + secs(31), Answer::Throttled { retry_after: Some(secs(10)) }, 0);
        hold.record(t0 + secs(32), Answer::Throttled { retry_after: Some(secs(1)) }, 0);
        assert_eq!(hold.decide(t0 + secs(33)), Decision::Refuse(ConnectorError::RateLimited { retry_after: Some(secs(8)) }));
    }

    #[test]
    fn a_bare_429_holds_for_a_default_that_grows() {
        let t0 = Instant::now();
        let mut hold = Hold::default();
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..11 {
            hold.record(now, Answer::Throttled { retry_after: None }, 0);
            let wait = match hold.decide(now) {
                Decision::Wait(d) => d,
                Decision::Refuse(ConnectorError::RateLimited { retry_after: Some(d) }) => d,
                other => panic!("{other:?}"),
            };
            waits.push(wait.as_secs());
            now += wait;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        hold.record(now, Answer::Fine, 0);
        hold.record(now, Answer::Throttled { retry_after: None }, 0);
        assert_eq!(hold.decide(now), Decision::Wait(secs(1)), "reset by a fine answer");
    }

    /// The wait `hold` imposes at `now`: waited out inline, or refused (then the hold's length).
    fn wait_at(hold: &Hold, now: Instant) -> Duration {
        match hold.decide(now) {
            Decision::Go => Duration::ZERO,
            Decision::Wait(d) => d,
            Decision::Refuse(ConnectorError::BackingOff { .. } | ConnectorError::RateLimited { .. }) => {
                hold.not_before.map(|t| t - now).unwrap_or_default()
            }
            other => panic!("{other:?}"),
        }
    }

    fn failure(n: usize) -> ConnectorError {
        ConnectorError::Transient(format!("/Users answered Service Unavailable (503), #{n}"))
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_ceiling_and_reset_on_success() {
        let t0 = Instant::now();
        let mut hold = Hold::default();
        // With the largest random draw the wait is the ceiling: 0.5 s, 1 s, 2 s ...
        // doubled for each failure in a row, never beyond the default 5 minutes, over 30 failures.
        let mut now = t0;
        let mut ceilings = Vec::new();
        for n in 0..30 {
            let reported = hold.failed(now, &failure(n), u64::MAX);
            let wait = wait_at(&hold, now);
            assert_eq!(
                reported,
                ConnectorError::BackingOff { failures: n as u32 + 1, ceiling: wait, last: failure(n).to_string() },
                "the error says how many failures, the last one, and the wait"
            );
            ceilings.push(wait.as_millis());
            now += wait;
        }
        let mut expected = vec![500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000];
        expected.resize(30, 300_000);
        assert_eq!(ceilings, expected);
        // Reset on success: the next failure starts again at 0.5 s.
        hold.record(now, Answer::Fine, 0);
        hold.failed(now, &failure(31), u64::MAX);
        assert_eq!(hold.decide(now), Decision::Wait(Duration::from_millis(500)));
        // A zero draw waits nothing.
        let mut fresh = Hold::default();
        fresh.failed(t0, &failure(0), 0);
        assert_eq!(fresh.decide(t0), Decision::Go);
    }

    #[test]
    fn the_hub_sets_the_ceiling_and_a_refusal_repeats_the_failure_that_started_the_hold() {
        let t0 = Instant::now();
        let mut hold = Hold { max_backoff: secs(20), ..Hold::default() };
        let mut now = t0;
        for n in 0..30 {
            hold.failed(now, &failure(n), u64::MAX);
            assert!(wait_at(&hold, now) <= secs(20), "failure {n}: the hub's ceiling holds");
            now += wait_at(&hold, now);
        }
        // Past the inline limit a call is refused with the words of the last failure, unchanged by time.
        hold.failed(now, &failure(99), u64::MAX);
        let refused = |at| match hold.decide(at) {
            Decision::Refuse(e) => e,
            other => panic!("{other:?}"),
        };
        let first = refused(now);
        assert_eq!(first, ConnectorError::BackingOff { failures: 31, ceiling: secs(20), last: failure(99).to_string() });
        assert_eq!(first.reason(), "BackingOff");
        assert_eq!(refused(now + secs(10)), first, "the same condition a second later: nothing to rewrite");
        assert!(first.to_string().contains("31 call(s) in a row") && first.to_string().contains("#99"), "{first}");
        assert_eq!(hold.decide(now + secs(20)), Decision::Go);
    }

    #[test]
    fn jitter_stays_within_its_ceiling_and_spreads() {
        let ceiling = secs(8);
        assert_eq!(full_jitter(ceiling, 0), Duration::ZERO);
        assert_eq!(full_jitter(ceiling, u64::MAX), ceiling);
        assert_eq!(full_jitter(ceiling, u64::MAX / 2), Duration::from_nanos(3_999_999_999));
        let draws: Vec<Duration> = (0..200).map(|_| full_jitter(ceiling, jitter_source())).collect();
        assert!(draws.iter().all(|d| *d <= ceiling));
        let low = draws.iter().filter(|d| **d < secs(4)).count();
        assert!((40..=160).contains(&low), "the source spreads over the range: {low} of 200 below the middle");
        let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
        assert!(distinct.len() > 190, "draws differ: {}", distinct.len());
    }

    #[tokio::test]
    async fn a_call_waits_out_a_short_hold_and_is_refused_a_long_one() {
        let pacer = Pacer::new("ns/hub");
        pacer.after_answer(Answer::Throttled { retry_after: Some(Duration::from_millis(300)) });
        let started = Instant::now();
        pacer.before_call().await.expect("a short hold is waited out");
        assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());

        pacer.after_answer(Answer::Throttled { retry_after: Some(secs(60)) });
        let started = Instant::now();
        let refused = pacer.before_call().await;
        assert!(matches!(refused, Err(ConnectorError::RateLimited { retry_after: Some(d) }) if d > secs(59)), "{refused:?}");
        assert!(started.elapsed() < Duration::from_millis(100), "refused at once");
        // Another hub's pacer is not held.
        Pacer::new("ns/other").before_call().await.expect("other hubs are not slowed");
    }
}
