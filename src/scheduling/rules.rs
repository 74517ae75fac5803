//! The rules of self-scheduling that need no database (SPEC §7.3, §7.8 "Slots"): working
//! hours and their validation, and the free-slot computation. Every local time is read in
//! the company time zone and every slot is a UTC instant, so a DST change moves the UTC
//! grid and never the local one.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::time::Timestamp;

/// Minutes in a day: an interval may end at `24:00`.
const DAY_MINUTES: u16 = 1440;
/// Bounds on one body, so a PUT cannot make every slot query slow.
const MAX_WEEKLY: usize = 100;
const MAX_EXCEPTIONS: usize = 1000;
const MAX_INTERVALS_PER_DAY: usize = 24;

/// `[start, end)` of one working interval, in minutes since local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayInterval {
    pub start: u16,
    pub end: u16,
}

/// One agent's working hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkingHours {
    /// Index 0 is Monday (ISO weekday 1); each day's intervals sorted and disjoint.
    pub weekly: [Vec<DayInterval>; 7],
    /// A dated exception replaces that day's weekly hours; empty = a day off.
    pub exceptions: BTreeMap<NaiveDate, Vec<DayInterval>>,
}

impl WorkingHours {
    pub fn intervals_on(&self, date: NaiveDate) -> &[DayInterval] {
        match self.exceptions.get(&date) {
            Some(intervals) => intervals,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }
}

/// An open appointment that holds its agent: `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Busy {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The department's settings applied to one query.
#[derive(Debug, Clone, Copy)]
pub struct SlotRules {
    pub slot_minutes: i64,
    pub duration_minutes: i64,
    /// Kept free after each appointment (and after the slot being offered).
    pub buffer_minutes: i64,
    /// now + min notice: no slot starts before it.
    pub earliest: Timestamp,
    /// now + max advance: every slot starts before it.
    pub latest: Timestamp,
}

/// The UTC instant of local `minute` on `date`. A local time that does not exist (the
/// hour skipped when clocks go forward) becomes the first instant after the gap; one that
/// happens twice (clocks go back) is its first occurrence.
pub fn local_instant(zone: Tz, date: NaiveDate, minute: u16) -> Option<Timestamp> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0)?;
    let mut local = midnight + Duration::minutes(i64::from(minute));
    // Gaps are at most a few hours long in every zone of the tz database.
    for _ in 0..=(4 * 60) {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(at) => return Some(at.to_utc()),
            LocalResult::Ambiguous(first, _) => return Some(first.to_utc()),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    None
}

/// The free slot starts of one agent on the local days `days`, ascending.
///
/// A start `t` is free when `[t, t + duration)` lies inside one working interval (the grid
/// of `slot_minutes` starts at the interval's start), `[t, t + duration + buffer)` overlaps
/// no `[s, e + buffer)` of `busy`, and `earliest <= t < latest`.
pub fn free_slots(
    hours: &WorkingHours,
    busy: &[Busy],
    zone: Tz,
    days: RangeInclusive<NaiveDate>,
    rules: &SlotRules,
) -> Vec<Timestamp> {
    let mut busy = busy.to_vec();
    busy.sort();
    // `reach[i]`: the latest end among busy[..=i], so one binary search answers "does any
    // appointment starting before x end after t?" even when appointments overlap.
    let mut reach = Vec::with_capacity(busy.len());
    for b in &busy {
        let latest = reach.last().map_or(b.end, |&r: &Timestamp| r.max(b.end));
        reach.push(latest);
    }
    let step = Duration::minutes(rules.slot_minutes.max(1));
    let duration = Duration::minutes(rules.duration_minutes);
    let buffer = Duration::minutes(rules.buffer_minutes);
    let mut slots = Vec::new();
    for date in days.start().iter_days().take_while(|d| d <= days.end()) {
        if local_instant(zone, date, 0).is_some_and(|midnight| midnight >= rules.latest) {
            break;
        }
        for interval in hours.intervals_on(date) {
            let (Some(open), Some(close)) = (
                local_instant(zone, date, interval.start),
                local_instant(zone, date, interval.end),
            ) else {
                continue;
            };
            let mut t = open;
            while t + duration <= close && t < rules.latest {
                if t >= rules.earliest {
                    let before = busy.partition_point(|b| b.start < t + duration + buffer);
                    let taken = before > 0 && reach[before - 1] + buffer > t;
                    if !taken {
                        slots.push(t);
                    }
                }
                t += step;
            }
        }
    }
    slots
}

/// `HH:MM` as minutes since midnight; `24:00` only where `end_of_day` allows it.
pub fn parse_clock(text: &str, end_of_day: bool) -> Option<u16> {
    let (hours, minutes) = text.trim().split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    let total = hours * 60 + minutes;
    match (hours, minutes) {
        (0..=23, 0..=59) => Some(total),
        (24, 0) if end_of_day => Some(DAY_MINUTES),
        _ => None,
    }
}

pub fn format_clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// One weekly interval as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WeeklyInterval {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// `HH:MM`, local time.
    pub start: String,
    /// `HH:MM` after `start`; `24:00` = end of the day.
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClockInterval {
    pub start: String,
    pub end: String,
}

/// The working hours of one day that replace the weekly ones; no intervals = day off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityException {
    /// `YYYY-MM-DD`, local date.
    pub date: String,
    pub intervals: Vec<ClockInterval>,
}

/// `GET/PUT /users/:id/availability`, in the company time zone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub weekly: Vec<WeeklyInterval>,
    pub exceptions: Vec<AvailabilityException>,
}

impl Availability {
    pub fn of(hours: &WorkingHours) -> Availability {
        let clock = |i: &DayInterval| (format_clock(i.start), format_clock(i.end));
        let weekly = (0..7)
            .flat_map(|day| {
                hours.weekly[day].iter().map(move |i| {
                    let (start, end) = clock(i);
                    WeeklyInterval {
                        weekday: day as i64 + 1,
                        start,
                        end,
                    }
                })
            })
            .collect();
        let exceptions = hours
            .exceptions
            .iter()
            .map(|(date, intervals)| AvailabilityException {
                date: date.format("%Y-%m-%d").to_string(),
                intervals: intervals
                    .iter()
                    .map(|i| {
                        let (start, end) = clock(i);
                        ClockInterval { start, end }
                    })
                    .collect(),
            })
            .collect();
        Availability { weekly, exceptions }
    }
}

/// The body of a PUT, as sent (fields may be missing or of the wrong shape).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AvailabilityInput {
    #[schema(value_type = Vec<WeeklyInterval>)]
    pub weekly: Option<Vec<IntervalInput>>,
    #[schema(value_type = Vec<AvailabilityException>)]
    pub exceptions: Option<Vec<ExceptionInput>>,
}

#[derive(Debug, Deserialize)]
pub struct IntervalInput {
    pub weekday: Option<i64>,
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ExceptionInput {
    pub date: Option<String>,
    pub intervals: Option<Vec<IntervalInput>>,
}

/// Checks one interval; records errors under `path.start` / `path.end`.
fn interval(errors: &mut FieldErrors, path: &str, input: &IntervalInput) -> Option<DayInterval> {
    let start = match input.start.as_deref() {
        None => {
            errors.add(format!("{path}.start"), "can't be blank");
            None
        }
        Some(text) => parse_clock(text, false).or_else(|| {
            errors.add(format!("{path}.start"), "is invalid");
            None
        }),
    };
    let end = match input.end.as_deref() {
        None => {
            errors.add(format!("{path}.end"), "can't be blank");
            None
        }
        Some(text) => parse_clock(text, true).or_else(|| {
            errors.add(format!("{path}.end"), "is invalid");
            None
        }),
    };
    let (start, end) = (start?, end?);
    if end <= start {
        errors.add(format!("{path}.end"), "must be after start");
        return None;
    }
    Some(DayInterval { start, end })
}

/// Sorts one day's intervals and reports each one that overlaps its predecessor.
fn disjoint(errors: &mut FieldErrors, mut day: Vec<(String, DayInterval)>) -> Vec<DayInterval> {
    day.sort_by_key(|(_, i)| *i);
    let mut kept: Vec<DayInterval> = Vec::with_capacity(day.len());
    for (path, interval) in day {
        if kept.last().is_some_and(|last| interval.start < last.end) {
            errors.add(path, "overlaps another interval");
        } else {
            kept.push(interval);
        }
    }
    kept
}

/// Validates a PUT body into working hours: weekdays 1–7, `HH:MM` times, no reversed,
/// empty or overlapping intervals on one day, one exception per date.
pub fn validate(input: AvailabilityInput) -> Result<WorkingHours, crate::error::ApiError> {
    let mut errors = FieldErrors::new();
    let weekly_input = input.weekly.unwrap_or_default();
    let exceptions_input = input.exceptions.unwrap_or_default();
    if weekly_input.len() > MAX_WEEKLY {
        errors.add("weekly", format!("should have at most {MAX_WEEKLY} item(s)"));
    }
    if exceptions_input.len() > MAX_EXCEPTIONS {
        errors.add("exceptions", format!("should have at most {MAX_EXCEPTIONS} item(s)"));
    }
    errors.into_result()?;
    let mut errors = FieldErrors::new();
    let mut days: [Vec<(String, DayInterval)>; 7] = Default::default();
    for (index, entry) in weekly_input.iter().enumerate() {
        let path = format!("weekly.{index}");
        let weekday = match entry.weekday {
            Some(day @ 1..=7) => Some(day as usize - 1),
            Some(_) => {
                errors.add(format!("{path}.weekday"), "must be between 1 and 7");
                None
            }
            None => {
                errors.add(format!("{path}.weekday"), "can't be blank");
                None
            }
        };
        if let (Some(day), Some(interval)) = (weekday, interval(&mut errors, &path, entry)) {
            days[day].push((path, interval));
        }
    }
    let mut hours = WorkingHours::default();
    for (day, entries) in days.into_iter().enumerate() {
        hours.weekly[day] = disjoint(&mut errors, entries);
    }
    for (index, entry) in exceptions_input.iter().enumerate() {
        let path = format!("exceptions.{index}");
        let date = match entry.date.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add(format!("{path}.date"), "can't be blank");
                None
            }
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|d| (1..=9998).contains(&d.year()))
                .or_else(|| {
                    errors.add(format!("{path}.date"), "is invalid");
                    None
                }),
        };
        let intervals = entry.intervals.as_deref().unwrap_or_default();
        if intervals.len() > MAX_INTERVALS_PER_DAY {
            errors.add(
                format!("{path}.intervals"),
                format!("should have at most {MAX_INTERVALS_PER_DAY} item(s)"),
            );
            continue;
        }
        let day: Vec<(String, DayInterval)> = intervals
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let path = format!("{path}.intervals.{i}");
                interval(&mut errors, &path, entry).map(|interval| (path, interval))
            })
            .collect();
        let day = disjoint(&mut errors, day);
        if let Some(date) = date
            && hours.exceptions.insert(date, day).is_some()
        {
            errors.add(format!("{path}.date"), "has already been taken");
        }
    }
    errors.into_result()?;
    Ok(hours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse;

    fn at(text: &str) -> Timestamp {
        parse(text).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn hours(weekly: &[(usize, &str, &str)], exceptions: &[(&str, &[(&str, &str)])]) -> WorkingHours {
        let mut hours = WorkingHours::default();
        let clock = |s: &str, e: &str| DayInterval {
            start: parse_clock(s, false).unwrap(),
            end: parse_clock(e, true).unwrap(),
        };
        for (weekday, start, end) in weekly {
            hours.weekly[weekday - 1].push(clock(start, end));
        }
        for (date, intervals) in exceptions {
            hours
                .exceptions
                .insert(day(date), intervals.iter().map(|(s, e)| clock(s, e)).collect());
        }
        hours
    }

    fn rules(slot: i64, duration: i64, buffer: i64, earliest: &str, latest: &str) -> SlotRules {
        SlotRules {
            slot_minutes: slot,
            duration_minutes: duration,
            buffer_minutes: buffer,
            earliest: at(earliest),
            latest: at(latest),
        }
    }

    fn busy(start: &str, end: &str) -> Busy {
        Busy {
            start: at(start),
            end: at(end),
        }
    }

    fn texts(slots: &[Timestamp]) -> Vec<String> {
        slots.iter().map(|t| crate::time::format(*t)).collect()
    }

    struct Case {
        name: &'static str,
        zone: &'static str,
        hours: WorkingHours,
        busy: Vec<Busy>,
        from: &'static str,
        to: &'static str,
        rules: SlotRules,
        want: Vec<&'static str>,
    }

    const OPEN: &str = "2000-01-01T00:00:00Z";
    const FAR: &str = "2100-01-01T00:00:00Z";

    #[test]
    fn slots_follow_the_rules_of_the_table() {
        // 2026-03-02 is a Monday. UTC keeps the arithmetic visible.
        let cases = vec![
            Case {
                name: "weekly hours on a grid of slot_minutes from the interval start",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "11:00")], &[]),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-02",
                rules: rules(30, 30, 0, OPEN, FAR),
                want: vec![
                    "2026-03-02T09:00:00Z",
                    "2026-03-02T09:30:00Z",
                    "2026-03-02T10:00:00Z",
                    "2026-03-02T10:30:00Z",
                ],
            },
            Case {
                name: "the whole duration inside the interval; the grid restarts per interval",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "10:15"), (1, "14:10", "15:10")], &[]),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-02",
                rules: rules(30, 45, 0, OPEN, FAR),
                want: vec!["2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z", "2026-03-02T14:10:00Z"],
            },
            Case {
                name: "other weekdays have no hours",
                zone: "UTC",
                hours: hours(&[(2, "09:00", "10:00")], &[]),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-03",
                rules: rules(60, 60, 0, OPEN, FAR),
                want: vec!["2026-03-03T09:00:00Z"],
            },
            Case {
                name: "an exception replaces the weekly hours; an empty one is a day off",
                zone: "UTC",
                hours: hours(
                    &[(1, "09:00", "10:00"), (2, "09:00", "10:00")],
                    &[("2026-03-02", &[("13:00", "14:00")]), ("2026-03-03", &[])],
                ),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-03",
                rules: rules(60, 60, 0, OPEN, FAR),
                want: vec!["2026-03-02T13:00:00Z"],
            },
            Case {
                name: "an open appointment takes the slots it overlaps (half-open)",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "11:00")], &[]),
                busy: vec![busy("2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z")],
                from: "2026-03-02",
                to: "2026-03-02",
                rules: rules(30, 30, 0, OPEN, FAR),
                want: vec!["2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z"],
            },
            Case {
                name: "the buffer is kept free after each appointment and after the slot",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "12:00")], &[]),
                busy: vec![busy("2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z")],
                from: "2026-03-02",
                to: "2026-03-02",
                rules: rules(30, 30, 15, OPEN, FAR),
                // 09:30 + 30 + 15 reaches into 10:00; 10:30 is inside 10:30 + 15.
                want: vec!["2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z", "2026-03-02T11:30:00Z"],
            },
            Case {
                name: "overlapping appointments: a long one hidden behind a short one still blocks",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "12:00")], &[]),
                busy: vec![
                    busy("2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z"),
                    busy("2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z"),
                ],
                from: "2026-03-02",
                to: "2026-03-02",
                rules: rules(30, 30, 0, OPEN, FAR),
                want: vec!["2026-03-02T11:00:00Z", "2026-03-02T11:30:00Z"],
            },
            Case {
                name: "min notice: nothing before now + notice",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "11:00")], &[]),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-02",
                rules: rules(30, 30, 0, "2026-03-02T10:00:00Z", FAR),
                want: vec!["2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z"],
            },
            Case {
                name: "max advance: every start strictly before now + days",
                zone: "UTC",
                hours: hours(&[(1, "09:00", "11:00"), (2, "09:00", "11:00")], &[]),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-03",
                rules: rules(30, 30, 0, OPEN, "2026-03-02T10:00:00Z"),
                want: vec!["2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z"],
            },
            Case {
                name: "New York DST week: 09:00 local is 14:00Z before 8 March and 13:00Z after",
                zone: "America/New_York",
                hours: hours(
                    &[(1, "09:00", "10:00"), (5, "09:00", "10:00"), (7, "09:00", "10:00")],
                    &[],
                ),
                busy: vec![],
                from: "2026-03-02",
                to: "2026-03-09",
                rules: rules(60, 60, 0, OPEN, FAR),
                want: vec![
                    "2026-03-02T14:00:00Z",
                    "2026-03-06T14:00:00Z",
                    "2026-03-08T13:00:00Z",
                    "2026-03-09T13:00:00Z",
                ],
            },
            Case {
                name: "New York spring forward: the skipped hour is no slot, the grid is real time",
                zone: "America/New_York",
                hours: hours(&[(7, "01:00", "04:00")], &[]),
                busy: vec![],
                from: "2026-03-08",
                to: "2026-03-08",
                rules: rules(60, 60, 0, OPEN, FAR),
                // 01:00 EST = 06:00Z, 04:00 EDT = 08:00Z: two real hours, 01:00 and 03:00 local.
                want: vec!["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z"],
            },
            Case {
                name: "New York fall back: 01:00–03:00 local is three real hours",
                zone: "America/New_York",
                hours: hours(&[(7, "01:00", "03:00")], &[]),
                busy: vec![],
                from: "2026-11-01",
                to: "2026-11-01",
                rules: rules(60, 60, 0, OPEN, FAR),
                want: vec!["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"],
            },
            Case {
                name: "a Sao Paulo day is UTC−3 (no DST since 2019)",
                zone: "America/Sao_Paulo",
                hours: hours(&[(2, "08:00", "09:00")], &[]),
                busy: vec![busy("2026-12-08T11:30:00Z", "2026-12-08T12:00:00Z")],
                from: "2026-12-08",
                to: "2026-12-08",
                rules: rules(30, 30, 0, OPEN, FAR),
                want: vec!["2026-12-08T11:00:00Z"],
            },
            Case {
                name: "Sao Paulo 2018: the day whose midnight did not exist starts at 01:00 −02",
                zone: "America/Sao_Paulo",
                hours: hours(&[(7, "00:00", "02:00")], &[]),
                busy: vec![],
                from: "2018-11-04",
                to: "2018-11-04",
                rules: rules(60, 60, 0, OPEN, FAR),
                want: vec!["2018-11-04T03:00:00Z"],
            },
        ];
        for case in cases {
            let zone: Tz = case.zone.parse().unwrap();
            let got = free_slots(
                &case.hours,
                &case.busy,
                zone,
                day(case.from)..=day(case.to),
                &case.rules,
            );
            assert_eq!(texts(&got), case.want, "{}", case.name);
        }
    }

    fn input(weekly: serde_json::Value, exceptions: serde_json::Value) -> AvailabilityInput {
        serde_json::from_value(serde_json::json!({"weekly": weekly, "exceptions": exceptions})).unwrap()
    }

    /// Asserts that validation fails on exactly `fields`.
    fn assert_refused(result: Result<WorkingHours, crate::error::ApiError>, fields: &[&str]) {
        match result {
            Err(crate::error::ApiError::Validation(errors)) => {
                for field in fields {
                    assert!(errors.has(field), "no error on {field}: {errors:?}");
                }
                let shown = format!("{errors:?}");
                assert_eq!(shown.matches("\": [").count(), fields.len(), "{shown}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn reversed_overlapping_and_malformed_intervals_are_refused() {
        use serde_json::json;
        let reversed = input(json!([{"weekday": 1, "start": "10:00", "end": "09:00"}]), json!([]));
        assert_refused(validate(reversed), &["weekly.0.end"]);
        let overlapping = input(
            json!([{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}]),
            json!([]),
        );
        assert_refused(validate(overlapping), &["weekly.1"]);
        let malformed = input(
            json!([{"weekday": 8, "start": "9:00", "end": "25:00"}]),
            json!([{"date": "2026-02-30", "intervals": [{"start": "24:00", "end": "24:00"}]}]),
        );
        assert_refused(
            validate(malformed),
            &[
                "exceptions.0.date",
                "exceptions.0.intervals.0.start",
                "weekly.0.end",
                "weekly.0.start",
                "weekly.0.weekday",
            ],
        );
        let twice = input(
            json!([]),
            json!([{"date": "2026-03-02", "intervals": []}, {"date": "2026-03-02", "intervals": []}]),
        );
        assert_refused(validate(twice), &["exceptions.1.date"]);
    }

    #[test]
    fn valid_hours_round_trip_in_order() {
        use serde_json::json;
        let hours = validate(input(
            json!([{"weekday": 3, "start": "14:00", "end": "24:00"}, {"weekday": 3, "start": "08:00", "end": "12:00"},
                   {"weekday": 1, "start": "12:00", "end": "13:00"}]),
            json!([{"date": "2026-03-04", "intervals": []}]),
        ))
        .unwrap();
        let shown = serde_json::to_value(Availability::of(&hours)).unwrap();
        assert_eq!(
            shown,
            json!({
                "weekly": [{"weekday": 1, "start": "12:00", "end": "13:00"}, {"weekday": 3, "start": "08:00", "end": "12:00"},
                           {"weekday": 3, "start": "14:00", "end": "24:00"}],
                "exceptions": [{"date": "2026-03-04", "intervals": []}]
            })
        );
        // Touching intervals do not overlap.
        assert!(
            validate(input(
                json!([{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "12:00", "end": "13:00"}]),
                json!([])
            ))
            .is_ok()
        );
    }
}
