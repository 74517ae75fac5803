//! `date_from` / `date_to` of lists (SPEC §2.5): each is a `YYYY-MM-DD` date, read in the
//! company time zone, or an RFC 3339 instant with any offset. A bare `date_to` date
//! includes that whole local day. The range becomes UTC bounds `[from, until)` on a
//! stored time column, so every list filters by dates the same way.

use chrono::{Days, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rusqlite::types::Value as SqlValue;

use super::pagination::Filter;
use crate::error::ApiError;
use crate::time::{self, Timestamp};

/// One end of a range as the client wrote it; the time zone is applied later, inside the
/// database call that knows the company.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Day(NaiveDate),
    Instant(Timestamp),
}

/// A checked `date_from` / `date_to` pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DateRange {
    from: Option<Bound>,
    to: Option<Bound>,
}

impl DateRange {
    /// Checks the syntax of both parameters; a value that is neither a date nor an RFC 3339
    /// instant is a query parameter of the wrong type → 400 naming it. Empty means absent.
    pub fn parse(date_from: Option<&str>, date_to: Option<&str>) -> Result<DateRange, ApiError> {
        Ok(DateRange {
            from: parse_bound("date_from", date_from)?,
            to: parse_bound("date_to", date_to)?,
        })
    }

    /// The UTC bounds in `zone`: `from` inclusive, `until` exclusive.
    pub fn bounds(&self, zone: Tz) -> (Option<Timestamp>, Option<Timestamp>) {
        let from = self.from.map(|bound| match bound {
            Bound::Day(day) => start_of_day(zone, day),
            Bound::Instant(at) => at,
        });
        let until = self.to.map(|bound| match bound {
            Bound::Day(day) => start_of_day(zone, day.succ_opt().unwrap_or(day)),
            // Stored times have whole seconds: "up to and including `at`".
            Bound::Instant(at) => at + Duration::seconds(1),
        });
        (from, until)
    }

    /// The range with its missing ends filled, for reports that look back by default:
    /// `date_from` becomes the local day `days` days before today, `date_to` today.
    pub fn or_last_days(self, days: u64, zone: Tz) -> DateRange {
        let today = time::now().with_timezone(&zone).date_naive();
        let first = today.checked_sub_days(Days::new(days)).unwrap_or(today);
        DateRange {
            from: self.from.or(Some(Bound::Day(first))),
            to: self.to.or(Some(Bound::Day(today))),
        }
    }

    /// Both UTC bounds `[from, until)`, when both ends are known (see
    /// [`DateRange::or_last_days`]).
    pub fn span(&self, zone: Tz) -> Option<(Timestamp, Timestamp)> {
        match self.bounds(zone) {
            (Some(from), Some(until)) => Some((from, until)),
            _ => None,
        }
    }

    /// Whether an end is a date, so applying the range needs the company's time zone.
    pub fn has_dates(&self) -> bool {
        matches!(self.from, Some(Bound::Day(_))) || matches!(self.to, Some(Bound::Day(_)))
    }

    /// Adds `column >= from AND column < until` to `filter`, reading dates in `zone`.
    pub fn restrict(&self, filter: &mut Filter, column: &str, zone: Tz) {
        let (from, until) = self.bounds(zone);
        if let Some(from) = from {
            filter.push(&format!("{column} >= ?"), [SqlValue::Text(time::format(from))]);
        }
        if let Some(until) = until {
            filter.push(&format!("{column} < ?"), [SqlValue::Text(time::format(until))]);
        }
    }
}

fn parse_bound(name: &str, value: Option<&str>) -> Result<Option<Bound>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(Bound::Day(day)));
    }
    time::parse(text).map(|at| Some(Bound::Instant(at))).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "Invalid query parameters: {name} must be a date (YYYY-MM-DD) or an RFC 3339 time"
        ))
    })
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

    fn utc(text: &str) -> Timestamp {
        time::parse(text).unwrap()
    }

    #[test]
    fn a_bare_date_to_includes_the_whole_local_day() {
        let range = DateRange::parse(Some("2030-05-20"), Some("2030-05-20")).unwrap();
        let (from, until) = range.bounds(chrono_tz::America::Sao_Paulo);
        assert_eq!(from, Some(utc("2030-05-20T03:00:00Z")));
        assert_eq!(until, Some(utc("2030-05-21T03:00:00Z")));
    }

    #[test]
    fn the_day_of_a_dst_change_has_its_real_length() {
        // New York springs forward on 10 March 2030: that local day lasts 23 hours.
        let range = DateRange::parse(Some("2030-03-10"), Some("2030-03-10")).unwrap();
        let (from, until) = range.bounds(chrono_tz::America::New_York);
        assert_eq!(from, Some(utc("2030-03-10T05:00:00Z")));
        assert_eq!(until, Some(utc("2030-03-11T04:00:00Z")));
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_the_first_local_time() {
        // São Paulo skipped 00:00–01:00 on 4 November 2018 (its last DST start).
        let start = start_of_day(
            chrono_tz::America::Sao_Paulo,
            NaiveDate::from_ymd_opt(2018, 11, 4).unwrap(),
        );
        assert_eq!(start, utc("2018-11-04T03:00:00Z"));
    }

    #[test]
    fn instants_keep_their_offset_and_date_to_includes_its_second() {
        let range = DateRange::parse(Some("2030-05-20T10:00:00-03:00"), Some("2030-05-20T12:00:00Z")).unwrap();
        let (from, until) = range.bounds(chrono_tz::UTC);
        assert_eq!(from, Some(utc("2030-05-20T13:00:00Z")));
        assert_eq!(until, Some(utc("2030-05-20T12:00:01Z")));
    }

    #[test]
    fn missing_ends_default_to_the_last_days_up_to_the_end_of_today() {
        let zone = chrono_tz::America::Sao_Paulo;
        let today = time::now().with_timezone(&zone).date_naive();
        let (from, until) = DateRange::default().or_last_days(7, zone).span(zone).unwrap();
        assert_eq!(from, start_of_day(zone, today - Days::new(7)));
        assert_eq!(until, start_of_day(zone, today + Days::new(1)));
        let given = DateRange::parse(Some("2030-05-20"), None)
            .unwrap()
            .or_last_days(7, zone);
        assert_eq!(given.span(zone).unwrap().0, utc("2030-05-20T03:00:00Z"));
        assert_eq!(DateRange::default().span(zone), None);
    }

    #[test]
    fn anything_else_is_a_bad_request_naming_the_parameter() {
        for bad in ["tomorrow", "2030-13-01", "20/05/2030", "2030-05-20 10:00"] {
            let err = DateRange::parse(None, Some(bad)).unwrap_err();
            assert!(
                matches!(&err, ApiError::BadRequest(why) if why.contains("date_to")),
                "{bad}: {err}"
            );
        }
        assert_eq!(DateRange::parse(Some(""), None).unwrap(), DateRange::default());
    }
}
