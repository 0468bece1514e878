//! TikTok's request limits as plain arithmetic over times, so they are tested
//! without sleeping.
//!
//! TikTok limits each developer app's requests per second (QPS; 10 by default,
//! raised per app on request) and answers a request beyond the budget with
//! HTTP 200 and code 40100, "App reaches the QPS limit N, current QPS is M",
//! naming no time to come back. The connector keeps under the hub's
//! `requestsPerSecond` on its own (a one-second sliding window), and when TikTok
//! says 40100 all the same (another client of the same app spends the budget
//! too), the hub's pacer holds every call: one second for a per-second limit,
//! doubled while 40100s follow one another; a minute for a per-minute one; an
//! hour for a daily one.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// TikTok's "too many requests" code.
pub const TOO_MANY_REQUESTS: i64 = 40100;
/// The window of a per-second budget, with a margin: TikTok counts a call when
/// it arrives, and a call that travels faster than the one a second before it
/// would otherwise arrive inside the same second.
pub const SECOND: Duration = Duration::from_millis(1100);

/// How long to hold calls after a 40100, from TikTok's message: `None` leaves it
/// to the pacer (one second, doubled for each 40100 in a row), which fits a
/// per-second limit; a per-minute or daily budget waits its window.
pub fn throttle_wait(message: &str) -> Option<Duration> {
    let m = message.to_ascii_lowercase();
    if m.contains("qpd") || m.contains("per day") || m.contains("daily") {
        Some(Duration::from_secs(3600))
    } else if m.contains("qpm") || m.contains("per minute") {
        Some(Duration::from_secs(60))
    } else {
        None
    }
}

/// How long a call must wait at `now` so that at most `per_second` are sent in
/// any second, given when the last calls were sent (oldest first). `None`: it
/// may go now. A budget of zero is no budget.
pub fn qps_wait(sent: &VecDeque<Instant>, now: Instant, per_second: usize) -> Option<Duration> {
    if per_second == 0 {
        return None;
    }
    let within: Vec<&Instant> = sent.iter().filter(|t| now.saturating_duration_since(**t) < SECOND).collect();
    if within.len() < per_second {
        return None;
    }
    let frees = *within[within.len() - per_second] + SECOND;
    Some(frees.saturating_duration_since(now)).filter(|d| !d.is_zero())
}

/// Forgets calls older than a second: they no longer count.
pub fn forget_old(sent: &mut VecDeque<Instant>, now: Instant) {
    while sent.front().is_some_and(|t| now.saturating_duration_since(*t) >= SECOND) {
        sent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_40100_waits_by_the_budget_it_names() {
        assert_eq!(throttle_wait("App reaches the QPS limit 10, current QPS is 11. Please retry later."), None);
        assert_eq!(throttle_wait("App reaches the QPM limit 600, current QPM is 601."), Some(Duration::from_secs(60)));
        assert_eq!(throttle_wait("Requests exceed the QPD limit"), Some(Duration::from_secs(3600)));
        assert_eq!(throttle_wait("Too many requests"), None);
    }

    #[test]
    fn calls_keep_under_the_per_second_budget() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut sent: VecDeque<Instant> = [0, 100, 200].iter().map(|ms| at(*ms)).collect();
        assert_eq!(qps_wait(&sent, at(300), 4), None, "three in the last second: the fourth may go");
        assert_eq!(
            qps_wait(&sent, at(300), 3),
            Some(Duration::from_millis(800)),
            "the oldest frees its place at 1100 ms (a second and a margin)"
        );
        assert_eq!(qps_wait(&sent, at(1100), 3), None);
        assert_eq!(qps_wait(&sent, at(300), 0), None, "no budget");
        forget_old(&mut sent, at(1250));
        assert_eq!(sent.len(), 1, "calls older than a second are forgotten");
    }
}
