//! Times as the API writes them: RFC 3339 in UTC to the second. Shared by the
//! operator, the SCIM sidecar and the planner's notes.

use k8s_openapi::jiff::Timestamp;

/// Now, as status fields and SCIM `meta` write it.
pub fn now_rfc3339() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Seconds since the Unix epoch, as RFC 3339.
pub fn format_time(seconds: i64) -> String {
    Timestamp::from_second(seconds).map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// An RFC 3339 time as seconds since the Unix epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    text.parse::<Timestamp>().ok().map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = parse_time("2026-11-24T01:02:03Z").expect("parses");
        assert_eq!(format_time(t), "2026-11-24T01:02:03Z");
        assert_eq!(parse_time(&now_rfc3339()).map(|t| t > 0), Some(true));
    }
}
