//! GitHub's limits as plain arithmetic over times, so they are tested without
//! sleeping: the primary limit (`x-ratelimit-*`), the secondary limits
//! (`retry-after`, or at least a minute when a 403 names one without it), the
//! pace of content-creating writes (80 a minute, 500 an hour), and the daily
//! invitation cap with its queue.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// Content-creating requests (POST, PUT, PATCH, DELETE) GitHub allows per minute.
pub const WRITES_PER_MINUTE: usize = 80;
/// Content-creating requests GitHub allows per hour.
pub const WRITES_PER_HOUR: usize = 500;
/// The wait after a secondary limit that names no time ("wait at least one minute").
pub const SECONDARY_MINIMUM: Duration = Duration::from_secs(60);
/// The longest wait a secondary limit without a time grows to.
pub const SECONDARY_MAXIMUM: Duration = Duration::from_secs(3600);
/// Added to GitHub's reset time before the next call.
pub const RESET_MARGIN: Duration = Duration::from_secs(1);
/// A reset further away than this is taken as this (a bogus header must not stall a hub forever).
pub const MAX_RESET_WAIT: Duration = Duration::from_secs(3600);

/// What an answer says about GitHub's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Nothing to wait for.
    Clear,
    /// The primary limit is spent: no call before the reset, `wait` from now.
    PrimarySpent { wait: Duration },
    /// A secondary limit: wait this long (from `retry-after`, or the minimum grown by repeats).
    Secondary { wait: Duration },
}

/// The limit an answer shows. `header(name)` reads a lower-case header; `body`
/// is the answer's text; `secondary_in_a_row` counts secondary limits without
/// a time met one after another (the wait doubles with each).
pub fn limit_of<'a>(status: u16, header: impl Fn(&str) -> Option<&'a str>, body: &str, now: SystemTime, secondary_in_a_row: u32) -> Limit {
    let retry_after = header("retry-after").and_then(|v| crate::connector::pacer::parse_retry_after(v, now));
    let remaining = header("x-ratelimit-remaining").and_then(|v| v.trim().parse::<u64>().ok());
    let reset_wait = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok()).map(|reset| {
        // GitHub's reset is a whole Unix second; a margin covers the clocks' skew
        // and a reset that falls inside that second.
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(reset) + RESET_MARGIN;
        at.duration_since(now).unwrap_or_default().min(MAX_RESET_WAIT)
    });
    let refused = status == 403 || status == 429;
    if refused && body.to_ascii_lowercase().contains("secondary rate limit") {
        let wait = retry_after.unwrap_or_else(|| {
            let factor = 1u32 << secondary_in_a_row.min(6);
            SECONDARY_MINIMUM.saturating_mul(factor).min(SECONDARY_MAXIMUM)
        });
        return Limit::Secondary { wait };
    }
    if refused && let Some(wait) = retry_after {
        return Limit::Secondary { wait };
    }
    // Spent: a refusal at zero, or a success that used the last call.
    if remaining == Some(0) && (refused || (200..400).contains(&status)) {
        return Limit::PrimarySpent { wait: reset_wait.unwrap_or(SECONDARY_MINIMUM) };
    }
    if status == 429 {
        return Limit::Secondary { wait: SECONDARY_MINIMUM };
    }
    Limit::Clear
}

/// How long a content-creating write must wait at `now` so that at most 80
/// are sent in any minute and 500 in any hour, given the times of the writes
/// already sent (oldest first). `None`: it may go now.
pub fn write_wait(sent: &VecDeque<SystemTime>, now: SystemTime) -> Option<Duration> {
    let mut wait = Duration::ZERO;
    for (window, allowed) in [(Duration::from_secs(60), WRITES_PER_MINUTE), (Duration::from_secs(3600), WRITES_PER_HOUR)] {
        let within: Vec<&SystemTime> = sent.iter().filter(|t| now.duration_since(**t).unwrap_or_default() < window).collect();
        if within.len() >= allowed {
            // The write that frees a place is the (len - allowed)th oldest inside the window.
            let frees = *within[within.len() - allowed] + window;
            wait = wait.max(frees.duration_since(now).unwrap_or_default());
        }
    }
    (!wait.is_zero()).then_some(wait)
}

/// Forgets writes older than an hour: they no longer count.
pub fn forget_old(sent: &mut VecDeque<SystemTime>, now: SystemTime, window: Duration) {
    while sent.front().is_some_and(|t| now.duration_since(*t).unwrap_or_default() >= window) {
        sent.pop_front();
    }
}

/// The daily invitation cap: `cap` invitations in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationCap {
    pub cap: usize,
    pub window: Duration,
}

impl InvitationCap {
    /// How long the next invitation must wait, given the times invitations were
    /// sent (oldest first); `None`: it may go now.
    pub fn wait(&self, sent: &VecDeque<SystemTime>, now: SystemTime) -> Option<Duration> {
        let within: Vec<&SystemTime> = sent.iter().filter(|t| now.duration_since(**t).unwrap_or_default() < self.window).collect();
        if self.cap == 0 {
            return Some(self.window);
        }
        if within.len() < self.cap {
            return None;
        }
        let frees = *within[within.len() - self.cap] + self.window;
        Some(frees.duration_since(now).unwrap_or_default()).filter(|d| !d.is_zero())
    }

    /// When `waiting` queued invitations will all have been sent, if each goes
    /// as soon as the cap allows: the queue's expected drain time.
    pub fn drains_at(&self, sent: &VecDeque<SystemTime>, now: SystemTime, waiting: usize) -> Option<SystemTime> {
        if waiting == 0 || self.cap == 0 {
            return None;
        }
        // Simulate: each queued invitation takes the earliest free place.
        let mut times: VecDeque<SystemTime> =
            sent.iter().copied().filter(|t| now.duration_since(*t).unwrap_or_default() < self.window).collect();
        let mut last = now;
        for _ in 0..waiting {
            let at = match self.wait(&times, last) {
                Some(d) => last + d,
                None => last,
            };
            times.push_back(at);
            last = at;
        }
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn limit(status: u16, headers: &[(&str, &str)], body: &str, in_a_row: u32) -> Limit {
        limit_of(status, |name| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| *v), body, at(0), in_a_row)
    }

    #[test]
    fn the_primary_limit_holds_until_a_second_after_its_reset() {
        let spent = [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000042")];
        let body = r#"{"message":"API rate limit exceeded for installation ID 1."}"#;
        assert_eq!(limit(403, &spent, body, 0), Limit::PrimarySpent { wait: Duration::from_secs(43) });
        assert_eq!(limit(429, &spent, body, 0), Limit::PrimarySpent { wait: Duration::from_secs(43) });
        // The call that used the last one succeeded: the next must wait all the same.
        assert_eq!(limit(200, &spent, "[]", 0), Limit::PrimarySpent { wait: Duration::from_secs(43) });
        assert_eq!(limit(304, &spent, "", 0), Limit::PrimarySpent { wait: Duration::from_secs(43) });
        let left = [("x-ratelimit-remaining", "17"), ("x-ratelimit-reset", "1700000042")];
        assert_eq!(limit(200, &left, "[]", 0), Limit::Clear);
        // A reset in the past: no wait; one absurdly far: bounded.
        assert_eq!(
            limit(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1600000000")], body, 0),
            Limit::PrimarySpent { wait: Duration::ZERO }
        );
        assert_eq!(
            limit(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1900000000")], body, 0),
            Limit::PrimarySpent { wait: MAX_RESET_WAIT }
        );
        // A 403 with calls left is not a limit (a permission refusal).
        assert_eq!(limit(403, &left, r#"{"message":"Must have admin rights"}"#, 0), Limit::Clear);
    }

    #[test]
    fn a_secondary_limit_waits_its_retry_after_or_at_least_a_minute_growing() {
        let body = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
        assert_eq!(limit(403, &[("retry-after", "7")], body, 0), Limit::Secondary { wait: Duration::from_secs(7) });
        assert_eq!(limit(403, &[], body, 0), Limit::Secondary { wait: Duration::from_secs(60) });
        assert_eq!(limit(403, &[], body, 1), Limit::Secondary { wait: Duration::from_secs(120) });
        assert_eq!(limit(403, &[], body, 3), Limit::Secondary { wait: Duration::from_secs(480) });
        assert_eq!(limit(403, &[], body, 30), Limit::Secondary { wait: SECONDARY_MAXIMUM });
        assert_eq!(limit(429, &[("retry-after", "3")], "", 0), Limit::Secondary { wait: Duration::from_secs(3) });
        assert_eq!(limit(429, &[], "", 0), Limit::Secondary { wait: SECONDARY_MINIMUM });
        // retry-after on a success is not a limit.
        assert_eq!(limit(200, &[("retry-after", "3")], "", 0), Limit::Clear);
    }

    #[test]
    fn writes_are_paced_to_80_a_minute_and_500_an_hour() {
        let mut sent: VecDeque<SystemTime> = (0..79).map(|i| at(i / 2)).collect();
        assert_eq!(write_wait(&sent, at(40)), None, "79 in the last minute: the 80th may go");
        sent.push_back(at(40));
        // 80 in the minute: the next waits until the oldest (at 0) is a minute old.
        assert_eq!(write_wait(&sent, at(41)), Some(Duration::from_secs(19)));
        assert_eq!(write_wait(&sent, at(60)), None);
        // 500 in the hour, spread so no minute holds 80: the 501st waits for the hour.
        let hour: VecDeque<SystemTime> = (0..500).map(|i| at(i * 7)).collect();
        assert_eq!(write_wait(&hour, at(3500)), Some(Duration::from_secs(100)));
        let mut old = hour.clone();
        forget_old(&mut old, at(3700), Duration::from_secs(3600));
        assert_eq!(old.len(), 500 - 15, "writes older than an hour are forgotten");
    }

    #[test]
    fn invitations_beyond_the_cap_wait_and_the_queue_drains_one_window_at_a_time() {
        let cap = InvitationCap { cap: 2, window: Duration::from_secs(20) };
        let mut sent = VecDeque::new();
        assert_eq!(cap.wait(&sent, at(0)), None);
        sent.push_back(at(0));
        sent.push_back(at(1));
        assert_eq!(cap.wait(&sent, at(5)), Some(Duration::from_secs(15)), "the oldest frees its place at 20");
        assert_eq!(cap.wait(&sent, at(20)), None);
        // Three waiting: two go at 20 and 21, the third when the one sent at 20 is 20 s old.
        assert_eq!(cap.drains_at(&sent, at(5), 3), Some(at(40)));
        assert_eq!(cap.drains_at(&sent, at(5), 2), Some(at(21)));
        assert_eq!(cap.drains_at(&sent, at(5), 0), None);
        let daily = InvitationCap { cap: 50, window: Duration::from_secs(86_400) };
        let full: VecDeque<SystemTime> = (0..50).map(at).collect();
        assert_eq!(daily.wait(&full, at(100)), Some(Duration::from_secs(86_300)));
        assert_eq!(daily.drains_at(&full, at(100), 120), Some(at(3 * 86_400 + 19)), "120 waiting: 50, 50, then 20 a day apart");
        assert_eq!(InvitationCap { cap: 0, window: Duration::from_secs(9) }.wait(&VecDeque::new(), at(0)), Some(Duration::from_secs(9)));
    }
}
