//! Timestamps. Stored and returned in UTC as `YYYY-MM-DDTHH:MM:SSZ` (SPEC §2.6): one text
//! format everywhere, so SQL can compare and sort them as strings.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

pub type Timestamp = DateTime<Utc>;

/// The current time, truncated to whole seconds.
pub fn now() -> Timestamp {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// The stored/returned text form of `at`.
pub fn format(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `format(now())`.
pub fn now_text() -> String {
    format(now())
}

/// Parses an RFC 3339 timestamp with any offset into UTC, dropping fractions of a second.
pub fn parse(text: &str) -> Option<Timestamp> {
    let parsed = DateTime::parse_from_rfc3339(text.trim()).ok()?.with_timezone(&Utc);
    DateTime::from_timestamp(parsed.timestamp(), 0)
}

/// The first instant of `day` in `zone`. Where a DST change skips local midnight, the
/// day starts at the first local time that exists.
pub fn start_of_day(zone: Tz, day: NaiveDate) -> Timestamp {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=24 * 4)
        .map(|quarter| midnight + Duration::minutes(15 * quarter))
        .find_map(|local| zone.from_local_datetime(&local).earliest())
        .map(|at| at.to_utc())
        .unwrap_or_else(|| midnight.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_is_normalised_to_utc_with_z() {
        let at = parse("2026-03-08T01:30:00-05:00").unwrap();
        assert_eq!(format(at), "2026-03-08T06:30:00Z");
        assert_eq!(
            format(parse("2026-02-20T10:00:00.987Z").unwrap()),
            "2026-02-20T10:00:00Z"
        );
        assert!(parse("2026-02-20 10:00").is_none());
    }
}
