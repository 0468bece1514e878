//! Go-style durations (`90s`, `5m`, `1h30m`) as CRD fields carry them.

use std::time::Duration;

/// A duration string that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration {0:?}: use a number and a unit, e.g. 30s, 5m, 1h30m")]
pub struct InvalidDuration(pub String);

/// Parses `1h30m`, `45s`, `250ms`. The CRD schema admits the same pattern.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidDuration> {
    let err = || InvalidDuration(text.to_string());
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        if digits == 0 {
            return Err(err());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(1), 2)
        } else if rest.starts_with('s') {
            (Duration::from_secs(1), 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(60), 1)
        } else if rest.starts_with('h') {
            (Duration::from_secs(3600), 1)
        } else {
            return Err(err());
        };
        rest = &rest[len..];
        let part = unit.checked_mul(u32::try_from(value).map_err(|_| err())?).ok_or_else(err)?;
        total = total.checked_add(part).ok_or_else(err)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    }

    #[test]
    fn rejects_what_the_schema_rejects() {
        for bad in ["", "5", "m", "5d", "1h-3m", "99999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
