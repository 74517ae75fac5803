//! `date_from` / `date_to` of list filters (SPEC §2.5): `YYYY-MM-DD` in the company time
//! zone or RFC 3339. A bare `date_to` includes that whole day, so both bounds come back as
//! a half-open UTC range `[start, end)` ready to compare with stored times as text.

use chrono::{Days, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rusqlite::types::Value as SqlValue;

use crate::error::ApiError;
use crate::http::pagination::Filter;
use crate::time::{self, Timestamp};

/// A half-open range of stored-format times; either end may be open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateRange {
    /// Inclusive.
    pub start: Option<String>,
    /// Exclusive.
    pub end: Option<String>,
}

impl DateRange {
    /// Reads `date_from` and `date_to`; a value that is neither form is a 400 naming it.
    pub fn parse(date_from: Option<&str>, date_to: Option<&str>, zone: Tz) -> Result<DateRange, ApiError> {
        let read = |field: &str, value: Option<&str>, end: bool| -> Result<Option<String>, ApiError> {
            let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            bound(value, zone, end)
                .map(|at| Some(time::format(at)))
                .ok_or_else(|| ApiError::BadRequest(format!("Invalid query parameters: {field} is not a date")))
        };
        Ok(DateRange {
            start: read("date_from", date_from, false)?,
            end: read("date_to", date_to, true)?,
        })
    }
}

impl DateRange {
    /// Restricts `filter` to rows whose `column` falls in the range.
    pub fn apply(&self, filter: &mut Filter, column: &str) {
        if let Some(start) = &self.start {
            filter.push(&format!("{column} >= ?"), [SqlValue::Text(start.clone())]);
        }
        if let Some(end) = &self.end {
            filter.push(&format!("{column} < ?"), [SqlValue::Text(end.clone())]);
        }
    }
}

/// The first second of `value` (`end = false`) or the first second after it (`end = true`).
fn bound(value: &str, zone: Tz, end: bool) -> Option<Timestamp> {
    if let Some(at) = time::parse(value) {
        return Some(if end { at + chrono::Duration::seconds(1) } else { at });
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    let day = if end { day.checked_add_days(Days::new(1))? } else { day };
    start_of_day(day, zone)
}

/// Local midnight of `day` in `zone`; where a DST change skips midnight (Brazil did),
/// the first hour that exists.
pub fn start_of_day(day: NaiveDate, zone: Tz) -> Option<Timestamp> {
    (0..3).find_map(|hour| {
        let local = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?);
        zone.from_local_datetime(&local)
            .earliest()
            .map(|at| at.with_timezone(&chrono::Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_dates_are_whole_days_of_the_company_time_zone() {
        let range = DateRange::parse(Some("2026-02-20"), Some("2026-02-20"), chrono_tz::America::Sao_Paulo).unwrap();
        assert_eq!(range.start.as_deref(), Some("2026-02-20T03:00:00Z"));
        assert_eq!(range.end.as_deref(), Some("2026-02-21T03:00:00Z"));
    }

    #[test]
    fn rfc3339_bounds_are_inclusive_instants() {
        let range = DateRange::parse(
            Some("2026-02-20T10:00:00-03:00"),
            Some("2026-02-20T12:00:00Z"),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(range.start.as_deref(), Some("2026-02-20T13:00:00Z"));
        assert_eq!(range.end.as_deref(), Some("2026-02-20T12:00:01Z"));
        assert!(DateRange::parse(Some("yesterday"), None, chrono_tz::UTC).is_err());
        assert_eq!(
            DateRange::parse(None, Some(""), chrono_tz::UTC).unwrap(),
            DateRange::default()
        );
    }

    #[test]
    fn a_midnight_skipped_by_daylight_saving_starts_at_the_next_hour() {
        // Brazil began DST at 00:00 on 2018-11-04: that midnight did not exist.
        let day = NaiveDate::from_ymd_opt(2018, 11, 4).unwrap();
        let start = start_of_day(day, chrono_tz::America::Sao_Paulo).unwrap();
        assert_eq!(time::format(start), "2018-11-04T03:00:00Z");
    }
}
