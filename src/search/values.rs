//! Typed values in queries: durations, counts, start times, booleans.
//!
//! Each parser returns the message the user sees when the value is wrong,
//! naming the field and what would have been accepted, so `duration:>abc`
//! explains itself instead of failing somewhere inside tantivy.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Seconds, from `60`, `90s`, `5m`, `2h` or `1d`.
pub(crate) fn duration(value: &str) -> Result<u64, String> {
    let v = value.trim().to_ascii_lowercase();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => v.split_at(at),
        None => (v.as_str(), ""),
    };
    let scale = match unit {
        "" | "s" => Some(1),
        "m" | "min" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        _ => None,
    };
    match (digits.parse::<u64>(), scale) {
        (Ok(n), Some(scale)) => n.checked_mul(scale).ok_or_else(|| duration_error(value)),
        _ => Err(duration_error(value)),
    }
}

fn duration_error(value: &str) -> String {
    format!("duration: `{value}` is not a duration (seconds, or with a unit: 90s, 5m, 2h, 1d)")
}

/// A page count.
pub(crate) fn count(value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("pages: `{value}` is not a page count (a whole number, e.g. pages:>=3; for a path use page:)"))
}

/// A session id.
pub(crate) fn session_id(value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("session: `{value}` is not a session id"))
}

/// A start time: a calendar day, which stands for the whole day (UTC), or
/// an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    /// `2026-11-01`: [ms, ms + 1 day).
    Day(i64),
    /// `2026-11-01T10:00:00Z` or milliseconds since the epoch.
    Instant(i64),
}

impl Moment {
    /// The first millisecond it covers.
    pub(crate) fn first_ms(self) -> i64 {
        match self {
            Moment::Day(ms) | Moment::Instant(ms) => ms,
        }
    }

    /// The first millisecond after it.
    pub(crate) fn end_ms(self) -> i64 {
        match self {
            Moment::Day(ms) => ms.saturating_add(DAY_MS),
            Moment::Instant(ms) => ms.saturating_add(1),
        }
    }
}

/// `2026-11-01`, `2026-11-01T10:00`, `2026-11-01T10:00:00`, with optional
/// fraction and `Z` or offset (none means UTC), or epoch milliseconds.
pub(crate) fn moment(value: &str) -> Result<Moment, String> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(ms) = v.parse::<i64>() {
            return Ok(Moment::Instant(ms));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let midnight = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis());
        if let Some(ms) = midnight {
            return Ok(Moment::Day(ms));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Moment::Instant(t.timestamp_millis()));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Ok(Moment::Instant(t.and_utc().timestamp_millis()));
        }
    }
    Err(format!(
        "start: `{value}` is not a date (2026-11-01, 2026-11-01T10:00:00Z or milliseconds since the epoch)"
    ))
}

/// `true`/`false` (also `yes`/`no`, `1`/`0`).
pub(crate) fn boolean(field: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{field}: expected true or false, got `{value}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("60"), Ok(60));
        assert_eq!(duration("90s"), Ok(90));
        assert_eq!(duration("5m"), Ok(300));
        assert_eq!(duration("2H"), Ok(7200));
        assert!(duration("abc")
            .unwrap_err()
            .contains("`abc` is not a duration"));
        assert!(duration("-5").is_err());
        assert!(duration("99999999999999999999").is_err());
    }

    #[test]
    fn moments() {
        let day = moment("2026-11-01").unwrap();
        assert_eq!(day, Moment::Day(1_793_491_200_000));
        assert_eq!(day.end_ms() - day.first_ms(), DAY_MS);
        assert_eq!(
            moment("2026-11-01T10:00:00Z"),
            Ok(Moment::Instant(1_793_491_200_000 + 10 * 3_600_000))
        );
        assert_eq!(
            moment("2026-11-01T12:00:00+02:00"),
            Ok(Moment::Instant(1_793_491_200_000 + 10 * 3_600_000))
        );
        assert_eq!(
            moment("2026-11-01T10:00"),
            Ok(Moment::Instant(1_793_491_200_000 + 10 * 3_600_000))
        );
        assert_eq!(
            moment("1793491200000"),
            Ok(Moment::Instant(1_793_491_200_000))
        );
        assert!(moment("2026-13-45").unwrap_err().contains("is not a date"));
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("rage", "TRUE"), Ok(true));
        assert_eq!(boolean("rage", "no"), Ok(false));
        assert_eq!(
            boolean("rage", "maybe").unwrap_err(),
            "rage: expected true or false, got `maybe`"
        );
    }
}
