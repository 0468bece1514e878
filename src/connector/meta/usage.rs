//! Meta's rate limits as plain arithmetic, so they are tested without sleeping.
//!
//! Every Graph API answer may carry two usage headers, each a JSON text:
//! `X-App-Usage` (`{"call_count":28,"total_time":25,"total_cputime":25}`, the
//! app's share of its budget, in percent) and `X-Business-Use-Case-Usage`
//! (`{"<business id>":[{"type":"ads_management","call_count":95,"total_cputime":20,
//! "total_time":20,"estimated_time_to_regain_access":0}]}`, the same per business
//! and use case, with the minutes until a throttled caller may call again). A
//! call is refused when any figure reaches 100 % (error codes 4, 17, 32, 613 and
//! 80000-80014, in the body, whatever the HTTP status).
//!
//! The connector reads both headers on every answer and takes the highest
//! figure: below [`SLOW_FROM`] % it calls freely; from there to 100 % each call
//! waits a little longer (up to [`MAX_SLOW`] at 99 %), so the budget is not
//! spent before Meta has to refuse; at 100 %, or when Meta names a time to
//! regain access, no call goes before that time.

use std::time::Duration;

use serde_json::Value;

/// From this share of any budget on, calls are spaced out.
pub const SLOW_FROM: u32 = 75;
/// The spacing at 99 %: short enough to be waited out inside a call (the pacer's inline limit is 5 s).
pub const MAX_SLOW: Duration = Duration::from_secs(2);
/// The wait after a refusal or a full budget that names no time to regain access.
pub const DEFAULT_REGAIN: Duration = Duration::from_secs(60);
/// A time to regain access beyond this is taken as this (a bogus header must not stall a hub for days).
pub const MAX_REGAIN: Duration = Duration::from_secs(24 * 3600);

/// What the usage headers of one answer add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// The highest figure (call count, total time, CPU time) of any budget, in percent.
    pub percent: u32,
    /// The longest `estimated_time_to_regain_access` named (Meta gives minutes).
    pub regain: Option<Duration>,
}

/// What the next call should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Call freely.
    Clear,
    /// Wait this long before the next call (the budget is filling).
    Slow(Duration),
    /// No call before this long from now (the budget is spent, or Meta said so).
    Stop(Duration),
}

/// The usage the two headers report (`header(name)` reads a lower-case header).
/// A header that is absent or does not parse counts as nothing: absence is not
/// taken as a full budget, and a present figure is never lowered by another.
pub fn usage_of<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Usage {
    let mut usage = Usage::default();
    if let Some(app) = header("x-app-usage").and_then(|v| serde_json::from_str::<Value>(v).ok()) {
        take_figures(&mut usage, &app);
    }
    if let Some(Value::Object(businesses)) = header("x-business-use-case-usage").and_then(|v| serde_json::from_str::<Value>(v).ok()) {
        for entries in businesses.values() {
            for entry in entries.as_array().into_iter().flatten() {
                take_figures(&mut usage, entry);
                if let Some(minutes) = number(entry.get("estimated_time_to_regain_access")).filter(|m| *m > 0) {
                    let wait = Duration::from_secs(minutes.saturating_mul(60)).min(MAX_REGAIN);
                    usage.regain = Some(usage.regain.map_or(wait, |w| w.max(wait)));
                }
            }
        }
    }
    usage
}

fn take_figures(usage: &mut Usage, figures: &Value) {
    for key in ["call_count", "total_time", "total_cputime"] {
        if let Some(percent) = number(figures.get(key)) {
            usage.percent = usage.percent.max(percent.min(1000) as u32);
        }
    }
}

/// A whole number, sent as a number or (by some endpoints) as a numeric string.
fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.ceil() as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Usage {
    /// How the next call should be paced after an answer with this usage.
    pub fn pace(&self) -> Pace {
        if let Some(regain) = self.regain {
            return Pace::Stop(regain);
        }
        if self.percent >= 100 {
            return Pace::Stop(DEFAULT_REGAIN);
        }
        if self.percent < SLOW_FROM {
            return Pace::Clear;
        }
        // Linear from nothing at SLOW_FROM to MAX_SLOW at 99 %.
        let steps = 99 - SLOW_FROM;
        let over = self.percent - SLOW_FROM;
        Pace::Slow(MAX_SLOW.mul_f64(f64::from(over.max(1)) / f64::from(steps)))
    }

    /// The wait after a throttling refusal: the time Meta named, else the default.
    pub fn refusal_wait(&self) -> Duration {
        self.regain.unwrap_or(DEFAULT_REGAIN)
    }
}

/// Whether a Graph error code means throttling: 4 (application), 17 (user or
/// account), 32 (page), 613 (custom), 80000-80014 (business use case).
pub fn is_throttling(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613 | 80000..=80014)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(headers: &[(&str, &str)]) -> Usage {
        usage_of(|name| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| *v))
    }

    #[test]
    fn the_highest_figure_of_either_header_counts() {
        assert_eq!(usage(&[]), Usage { percent: 0, regain: None });
        let app = r#"{"call_count":28,"total_time":25,"total_cputime":31}"#;
        assert_eq!(usage(&[("x-app-usage", app)]).percent, 31);
        let buc = r#"{"66782684":[{"type":"ads_management","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0}],
                      "10153848260347724":[{"type":"ads_insights","call_count":"97","total_cputime":23,"total_time":23,"estimated_time_to_regain_access":0}]}"#;
        assert_eq!(usage(&[("x-app-usage", app), ("x-business-use-case-usage", buc)]), Usage { percent: 97, regain: None });
        // Unreadable headers count as nothing, not as a full budget.
        assert_eq!(usage(&[("x-app-usage", "{nope"), ("x-business-use-case-usage", "[]")]).percent, 0);
    }

    #[test]
    fn a_time_to_regain_access_is_minutes_and_the_longest_wins() {
        let buc = r#"{"1":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":3}],
                      "2":[{"type":"pages","call_count":10,"estimated_time_to_regain_access":1}]}"#;
        let u = usage(&[("x-business-use-case-usage", buc)]);
        assert_eq!(u, Usage { percent: 100, regain: Some(Duration::from_secs(180)) });
        assert_eq!(u.pace(), Pace::Stop(Duration::from_secs(180)));
        assert_eq!(u.refusal_wait(), Duration::from_secs(180));
        let absurd = r#"{"1":[{"call_count":1,"estimated_time_to_regain_access":99999999}]}"#;
        assert_eq!(usage(&[("x-business-use-case-usage", absurd)]).regain, Some(MAX_REGAIN));
    }

    #[test]
    fn calls_slow_down_before_100_percent_and_stop_at_it() {
        let at = |percent| Usage { percent, regain: None }.pace();
        assert_eq!(at(0), Pace::Clear);
        assert_eq!(at(74), Pace::Clear);
        let slow = |p| match at(p) {
            Pace::Slow(d) => d,
            other => panic!("{p}%: {other:?}"),
        };
        assert!(slow(75) > Duration::ZERO && slow(75) < Duration::from_millis(100), "{:?}", slow(75));
        assert!(slow(80) < slow(90) && slow(90) < slow(99), "the wait grows toward 100 %");
        assert_eq!(slow(99), MAX_SLOW);
        assert_eq!(at(100), Pace::Stop(DEFAULT_REGAIN));
        assert_eq!(Usage { percent: 0, regain: None }.refusal_wait(), DEFAULT_REGAIN);
    }

    #[test]
    fn throttling_codes_are_meta_s_documented_ones() {
        for code in [4, 17, 32, 613, 80000, 80004, 80014] {
            assert!(is_throttling(code), "{code}");
        }
        for code in [1, 2, 10, 100, 190, 200, 368, 79999, 80015] {
            assert!(!is_throttling(code), "{code}");
        }
    }
}
