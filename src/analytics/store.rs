//! SQL of the reports. One aggregate column list ([`TOTALS`]) is shared by every query, so
//! a figure means the same in the overview, per agent, per provider and per period.
//!
//! Hours and days are those of the company time zone, which SQLite cannot compute. The
//! time series are therefore grouped by 15-minute UTC slot in SQL (every time zone in use
//! today is offset from UTC by a multiple of 15 minutes, so a slot lies within one local
//! hour) and the slots are folded into local hours, days, weeks or months here.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Timelike};
use chrono_tz::Tz;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};

use super::{AgentRow, HourRow, Overview, Performance, ProviderRow, Totals, TrendRow};
use crate::db::query::Filter;
use crate::error::{ApiError, FieldErrors};
use crate::time::{self, Timestamp};

/// The calls of a report. Every column the reports read is in the `calls_report` index,
/// so a report over a period is one index range scan.
const FROM: &str = "calls c";

/// The sums of [`Totals`], in its field order (the first is named `calls` for sorting).
/// `wait_secs` (set once a call started) and `talk_secs` (of completed calls) are kept on
/// the call by triggers, so no date is parsed per call.
const TOTALS: &str = "count(*) AS calls, \
     coalesce(sum(c.status = 'completed'), 0), \
     coalesce(sum(c.status = 'missed'), 0), \
     coalesce(sum(c.status = 'cancelled'), 0), \
     count(c.wait_secs), \
     coalesce(sum(c.wait_secs), 0), \
     coalesce(sum(c.talk_secs), 0), \
     count(c.rating), \
     coalesce(sum(c.rating), 0), \
     coalesce(sum(c.rating >= 4), 0)";

/// Reads the [`TOTALS`] columns starting at column `first`.
fn totals(row: &Row<'_>, first: usize) -> rusqlite::Result<Totals> {
    Ok(Totals {
        total: row.get(first)?,
        completed: row.get(first + 1)?,
        missed: row.get(first + 2)?,
        cancelled: row.get(first + 3)?,
        started: row.get(first + 4)?,
        wait_sum: row.get(first + 5)?,
        duration_sum: row.get(first + 6)?,
        rated: row.get(first + 7)?,
        rating_sum: row.get(first + 8)?,
        satisfied: row.get(first + 9)?,
    })
}

/// Which calls a report covers: those that joined a queue in `[from, until)`, optionally
/// of one department and of one service provider.
#[derive(Debug, Clone)]
pub struct Selection {
    pub from: Timestamp,
    pub until: Timestamp,
    pub department_id: Option<String>,
    pub provider_id: Option<String>,
}

impl Selection {
    fn filter(&self) -> Filter {
        let mut filter = Filter::new();
        filter.push(
            "c.inserted_at >= ? AND c.inserted_at < ?",
            [
                SqlValue::Text(time::format(self.from)),
                SqlValue::Text(time::format(self.until)),
            ],
        );
        for (column, value) in [
            ("c.department_id", &self.department_id),
            ("c.provider_id", &self.provider_id),
        ] {
            if let Some(value) = value {
                filter.push(&format!("{column} = ?"), [SqlValue::Text(value.clone())]);
            }
        }
        filter
    }
}

/// Runs a report query whose parameters are exactly `filter`'s.
fn query<T>(
    conn: &Connection,
    sql: &str,
    filter: &Filter,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, ApiError> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params_from_iter(filter.params()), map)?
        .collect::<Result<Vec<T>, _>>()?)
}

/// The overview's sums and its customers, in one scan of `calls_report`.
fn overview_sql(where_clause: &str) -> String {
    format!("SELECT {TOTALS}, count_distinct(c.customer_id) FROM {FROM} {where_clause}")
}

/// The customers whose first call is in `[?1, ?2)`: one range of `customers_first_call`.
const NEW_CUSTOMERS: &str = "SELECT count(*) FROM customers WHERE first_call_at >= ?1 AND first_call_at < ?2";

/// The new customers with a call of the selection in the period: the selection's calls
/// (one range of `calls_report`, which holds the filters and the customer) whose customer's
/// first call is at or after the start (`?1`; it cannot be after the end).
fn new_customers_of_selection_sql(where_clause: &str) -> String {
    format!(
        "SELECT count_distinct(c.customer_id) FROM calls c JOIN customers cu ON cu.id = c.customer_id
         {where_clause} AND cu.first_call_at >= ?"
    )
}

pub fn overview(conn: &Connection, selection: &Selection) -> Result<Overview, ApiError> {
    let filter = selection.filter();
    let where_clause = filter.where_clause();
    let sql = overview_sql(&where_clause);
    let (sums, customers) = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(filter.params()), |row| {
            Ok((totals(row, 0)?, row.get(10)?))
        })?;
    // A customer is new when their first call ever (in any department), kept on the
    // customer, is in the period; with a department or provider, they must also have a
    // call of the selection in it.
    let from = SqlValue::Text(time::format(selection.from));
    let new_customers: i64 = if selection.department_id.is_none() && selection.provider_id.is_none() {
        let until = SqlValue::Text(time::format(selection.until));
        conn.prepare_cached(NEW_CUSTOMERS)?
            .query_row(params_from_iter([from, until]), |row| row.get(0))?
    } else {
        let params = filter.params().iter().cloned().chain(std::iter::once(from));
        conn.prepare_cached(&new_customers_of_selection_sql(&where_clause))?
            .query_row(params_from_iter(params), |row| row.get(0))?
    };
    Ok(Overview::new(&sums, customers, new_customers))
}

/// The sums per 15-minute UTC slot (`unixepoch / 900`).
fn slots(conn: &Connection, selection: &Selection) -> Result<Vec<(i64, Totals)>, ApiError> {
    let filter = selection.filter();
    let sql = format!(
        "SELECT unixepoch(c.inserted_at) / 900 AS slot, {TOTALS} FROM {FROM} {} GROUP BY slot",
        filter.where_clause()
    );
    query(conn, &sql, &filter, |row| Ok((row.get(0)?, totals(row, 1)?)))
}

/// The local time of the start of `slot`.
fn slot_start(slot: i64, zone: Tz) -> Option<DateTime<Tz>> {
    DateTime::from_timestamp(slot.checked_mul(900)?, 0).map(|at| at.with_timezone(&zone))
}

/// Always 24 rows, hours 0–23 of `zone`.
pub fn hourly(conn: &Connection, selection: &Selection, zone: Tz) -> Result<Vec<HourRow>, ApiError> {
    let mut hours = [Totals::default(); 24];
    for (slot, sums) in slots(conn, selection)? {
        if let Some(local) = slot_start(slot, zone) {
            hours[local.hour() as usize].add(&sums);
        }
    }
    Ok((0u32..)
        .zip(hours)
        .map(|(hour, sums)| HourRow {
            hour,
            total: sums.total,
            completed: sums.completed,
            missed: sums.missed,
        })
        .collect())
}

/// The periods of `GET /analytics/trends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }

    /// How far back a series looks when `date_from` is not given.
    pub fn default_days(self) -> u64 {
        match self {
            Granularity::Day => 30,
            Granularity::Week => 7 * 12,
            Granularity::Month => 365,
        }
    }

    /// The first day of the period holding `day` (weeks start on Monday, ISO 8601).
    fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => day,
            Granularity::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            Granularity::Month => day.with_day(1).unwrap_or(day),
        }
    }

    fn next(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Granularity::Day => start.checked_add_days(Days::new(1)),
            Granularity::Week => start.checked_add_days(Days::new(7)),
            Granularity::Month => start.checked_add_months(Months::new(1)),
        }
    }
}

/// The most periods one series may have (ten years of days).
pub const MAX_PERIODS: usize = 3660;

/// Every period from the one holding `from` to the one holding the last second before
/// `until`, empty ones included, so a chart has no gaps.
pub fn trends(
    conn: &Connection,
    selection: &Selection,
    zone: Tz,
    granularity: Granularity,
) -> Result<Vec<TrendRow>, ApiError> {
    let first = selection.from.with_timezone(&zone).date_naive();
    let last = (selection.until - chrono::Duration::seconds(1))
        .with_timezone(&zone)
        .date_naive();
    let mut periods: Vec<(NaiveDate, Totals)> = Vec::new();
    let mut start = Some(granularity.start(first));
    while let Some(day) = start.filter(|day| *day <= last) {
        if periods.len() == MAX_PERIODS {
            return Err(FieldErrors::single(
                "date_from",
                "is too far before date_to for this granularity",
            ));
        }
        periods.push((day, Totals::default()));
        start = granularity.next(day);
    }
    for (slot, sums) in slots(conn, selection)? {
        let Some(local) = slot_start(slot, zone) else { continue };
        let key = granularity.start(local.date_naive());
        if let Ok(index) = periods.binary_search_by_key(&key, |(day, _)| *day) {
            periods[index].1.add(&sums);
        }
    }
    Ok(periods
        .into_iter()
        .map(|(day, sums)| TrendRow {
            period_start: day.to_string(),
            total: sums.total,
            completed: sums.completed,
            missed: sums.missed,
            avg_wait_time: sums.avg_wait_time(),
            avg_duration: sums.avg_duration(),
            avg_rating: sums.avg_rating(),
        })
        .collect())
}

/// One row per agent and attributed provider, busiest first. The calls are summed first
/// and the names joined to the few sums.
pub fn agents(conn: &Connection, selection: &Selection) -> Result<Vec<AgentRow>, ApiError> {
    let mut filter = selection.filter();
    filter.push("c.user_id IS NOT NULL", []);
    let sql = format!(
        "SELECT g.user_id, u.name, g.provider_id, {PROVIDER_NAME}, g.*
         FROM (SELECT {TOTALS}, c.user_id, c.provider_id FROM {FROM} {} GROUP BY c.user_id, c.provider_id) g
         JOIN users u ON u.id = g.user_id LEFT JOIN service_providers sp ON sp.id = g.provider_id
         ORDER BY g.calls DESC, u.name COLLATE NOCASE, g.user_id, g.provider_id",
        filter.where_clause()
    );
    query(conn, &sql, &filter, |row| {
        Ok(AgentRow {
            user_id: row.get(0)?,
            user_name: row.get(1)?,
            provider_id: row.get(2)?,
            provider_name: row.get(3)?,
            performance: Performance::from(&totals(row, 4)?),
        })
    })
}

/// The name of provider `sp` of the group `g`: its current one, or the one the calls
/// kept if it was deleted since.
const PROVIDER_NAME: &str = "coalesce(sp.name, (SELECT k.provider_name FROM calls k \
     WHERE k.provider_id = g.provider_id AND k.provider_name IS NOT NULL LIMIT 1))";

/// One row per service provider with attributed calls in the period, busiest first.
pub fn providers(conn: &Connection, selection: &Selection) -> Result<Vec<ProviderRow>, ApiError> {
    let mut filter = selection.filter();
    filter.push("c.provider_id IS NOT NULL", []);
    let sql = format!(
        "SELECT g.provider_id, coalesce({PROVIDER_NAME}, '') AS provider_name, g.agents, g.*
         FROM (SELECT {TOTALS}, c.provider_id, count_distinct(c.user_id) AS agents FROM {FROM} {} GROUP BY c.provider_id) g
         LEFT JOIN service_providers sp ON sp.id = g.provider_id
         ORDER BY g.calls DESC, provider_name COLLATE NOCASE, g.provider_id",
        filter.where_clause()
    );
    query(conn, &sql, &filter, |row| {
        Ok(ProviderRow {
            provider_id: row.get(0)?,
            provider_name: row.get(1)?,
            agent_count: row.get(2)?,
            performance: Performance::from(&totals(row, 3)?),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn periods_start_on_the_day_the_monday_and_the_first() {
        let wednesday = day("2026-03-11");
        assert_eq!(Granularity::Day.start(wednesday), wednesday);
        assert_eq!(Granularity::Week.start(wednesday), day("2026-03-09"));
        assert_eq!(Granularity::Week.start(day("2026-03-09")), day("2026-03-09"));
        assert_eq!(Granularity::Month.start(wednesday), day("2026-03-01"));
        assert_eq!(Granularity::Month.next(day("2026-01-01")), Some(day("2026-02-01")));
        assert_eq!(Granularity::parse("year"), None);
    }

    #[test]
    fn a_slot_lies_in_one_local_hour_even_with_a_half_hour_offset() {
        // 2026-03-10T02:30:00Z is 08:00 in Kolkata (+05:30) and 23:30 the day before in
        // São Paulo (-03:00).
        let slot = time::parse("2026-03-10T02:30:00Z").unwrap().timestamp() / 900;
        let kolkata = slot_start(slot, chrono_tz::Asia::Kolkata).unwrap();
        assert_eq!((kolkata.hour(), kolkata.minute()), (8, 0));
        let sao_paulo = slot_start(slot, chrono_tz::America::Sao_Paulo).unwrap();
        assert_eq!((sao_paulo.date_naive(), sao_paulo.hour()), (day("2026-03-09"), 23));
    }

    fn plan(conn: &Connection, sql: &str) -> String {
        crate::testing::query_plan(conn, sql).join(" | ")
    }

    /// The overview reads one index range for its sums and another for its new customers:
    /// no table lookups, no per-customer search.
    #[test]
    fn the_overview_reads_the_report_index_and_the_first_call_index_only() {
        let (conn, _dir) = crate::testing::test_tenant_database();
        let sums = plan(&conn, &overview_sql("WHERE c.inserted_at >= ? AND c.inserted_at < ?"));
        assert!(sums.contains("USING COVERING INDEX calls_report"), "{sums}");
        let new = plan(&conn, NEW_CUSTOMERS);
        assert!(new.contains("USING COVERING INDEX customers_first_call"), "{new}");
        let narrowed = plan(
            &conn,
            &new_customers_of_selection_sql("WHERE c.inserted_at >= ? AND c.inserted_at < ? AND c.department_id = ?"),
        );
        assert!(
            narrowed.contains("SEARCH c USING INDEX calls_department_time"),
            "{narrowed}"
        );
        assert!(
            narrowed.contains("SEARCH cu USING INDEX sqlite_autoindex_customers_1 (id=?)"),
            "{narrowed}"
        );
        assert!(!narrowed.contains("SCAN"), "{narrowed}");
    }
}
