//! Reports over calls (SPEC §4.8): the overview of a period, calls by hour of the day,
//! per agent, per service provider, and as a time series. Every figure is computed live
//! from the calls and evaluations tables (there are no materialized views to go stale).
//!
//! A call belongs to the period in which the customer joined the queue (`inserted_at`),
//! read in the company time zone. Definitions:
//! - `avg_wait_time`: mean `started_at − inserted_at` over the calls that started;
//! - `avg_duration`: mean `completed_at − started_at` over the completed calls;
//! - `avg_rating`: mean rating over the rated calls;
//! - `completion_rate`: completed / total × 100;
//! - `satisfaction_rate`: ratings of 4 or 5 / rated calls × 100.
//!
//! Averages and rates have one decimal and are 0 when there is nothing to average.

pub mod routes;
pub mod store;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Rounds to one decimal, as every average and rate is reported.
pub fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// `part / whole × 100` with one decimal; 0 when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        one_decimal(part as f64 * 100.0 / whole as f64)
    }
}

fn average(sum: i64, count: i64) -> f64 {
    if count == 0 {
        0.0
    } else {
        one_decimal(sum as f64 / count as f64)
    }
}

/// Sums over a set of calls from which every figure of a report row follows. Sums, not
/// averages, so the sums of two sets add up (hours of a day, days of a week).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub total: i64,
    pub completed: i64,
    pub missed: i64,
    pub cancelled: i64,
    /// Calls that started, and the sum of their waits (seconds).
    pub started: i64,
    pub wait_sum: i64,
    /// Sum of the durations of the completed calls (seconds).
    pub duration_sum: i64,
    /// Rated calls, the sum of their ratings, and how many rated 4 or 5.
    pub rated: i64,
    pub rating_sum: i64,
    pub satisfied: i64,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.total += other.total;
        self.completed += other.completed;
        self.missed += other.missed;
        self.cancelled += other.cancelled;
        self.started += other.started;
        self.wait_sum += other.wait_sum;
        self.duration_sum += other.duration_sum;
        self.rated += other.rated;
        self.rating_sum += other.rating_sum;
        self.satisfied += other.satisfied;
    }

    pub fn avg_wait_time(&self) -> f64 {
        average(self.wait_sum, self.started)
    }

    pub fn avg_duration(&self) -> f64 {
        average(self.duration_sum, self.completed)
    }

    pub fn avg_rating(&self) -> f64 {
        average(self.rating_sum, self.rated)
    }

    pub fn completion_rate(&self) -> f64 {
        percent(self.completed, self.total)
    }

    pub fn satisfaction_rate(&self) -> f64 {
        percent(self.satisfied, self.rated)
    }
}

/// `GET /analytics/overview`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    pub total_calls: i64,
    pub completed_calls: i64,
    pub missed_calls: i64,
    pub cancelled_calls: i64,
    /// Seconds, over completed calls.
    pub avg_duration: f64,
    /// Seconds, over calls that started.
    pub avg_wait_time: f64,
    pub avg_rating: f64,
    /// Distinct customers with a call in the period.
    pub total_customers: i64,
    /// Of those, the customers whose first call ever falls in the period.
    pub new_customers: i64,
    /// Percent.
    pub completion_rate: f64,
    /// Percent of ratings of 4 or 5.
    pub satisfaction_rate: f64,
}

impl Overview {
    pub fn new(totals: &Totals, total_customers: i64, new_customers: i64) -> Overview {
        Overview {
            total_calls: totals.total,
            completed_calls: totals.completed,
            missed_calls: totals.missed,
            cancelled_calls: totals.cancelled,
            avg_duration: totals.avg_duration(),
            avg_wait_time: totals.avg_wait_time(),
            avg_rating: totals.avg_rating(),
            total_customers,
            new_customers,
            completion_rate: totals.completion_rate(),
            satisfaction_rate: totals.satisfaction_rate(),
        }
    }
}

/// One hour of the day (0–23, company time zone) of `GET /analytics/hourly`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HourRow {
    pub hour: u32,
    pub total: i64,
    pub completed: i64,
    pub missed: i64,
}

/// The figures every per-agent and per-provider row has.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Performance {
    pub total_calls: i64,
    pub completed_calls: i64,
    pub missed_calls: i64,
    pub avg_wait_time: f64,
    pub avg_duration: f64,
    pub avg_rating: f64,
    pub completion_rate: f64,
}

impl From<&Totals> for Performance {
    fn from(totals: &Totals) -> Performance {
        Performance {
            total_calls: totals.total,
            completed_calls: totals.completed,
            missed_calls: totals.missed,
            avg_wait_time: totals.avg_wait_time(),
            avg_duration: totals.avg_duration(),
            avg_rating: totals.avg_rating(),
            completion_rate: totals.completion_rate(),
        }
    }
}

/// One agent of `GET /analytics/agents`: the calls assigned to them. The provider is the
/// one the calls were attributed to, so an agent who changed provider in the period has
/// one row per provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentRow {
    pub user_id: String,
    pub user_name: String,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    #[serde(flatten)]
    pub performance: Performance,
}

/// One service provider of `GET /analytics/providers`: the calls attributed to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderRow {
    pub provider_id: String,
    pub provider_name: String,
    /// Distinct agents who took its calls in the period.
    pub agent_count: i64,
    #[serde(flatten)]
    pub performance: Performance,
}

/// One period of `GET /analytics/trends`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendRow {
    /// The period's first local day, `YYYY-MM-DD` (company time zone): the day, the
    /// Monday of the week, or the first of the month.
    pub period_start: String,
    pub total: i64,
    pub completed: i64,
    pub missed: i64,
    pub avg_wait_time: f64,
    pub avg_duration: f64,
    pub avg_rating: f64,
}

/// The KPIs of the `dashboard` topic: calls in progress and waiting now, and today's
/// (company time zone) mean wait of the calls that started and share of calls missed.
pub fn live_kpis(conn: &Connection, online_attendants: usize) -> Result<Value, ApiError> {
    let zone = crate::company::store::timezone(conn)?;
    let today = crate::time::now().with_timezone(&zone).date_naive();
    let since = crate::time::format(crate::time::start_of_day(zone, today));
    let (active, queued): (i64, i64) = conn
        .prepare_cached(
            "SELECT coalesce(sum(status = 'active'), 0), coalesce(sum(status = 'queued'), 0)
             FROM calls WHERE status IN ('active', 'queued')",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let (joined, missed, wait): (i64, i64, Option<f64>) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(status = 'missed'), 0),
                    avg(unixepoch(started_at) - unixepoch(inserted_at))
             FROM calls WHERE inserted_at >= ?1",
        )?
        .query_row([since], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(json!({
        "active_calls": active,
        "online_attendants": online_attendants,
        "queue_size": queued,
        "avg_wait_time": one_decimal(wait.unwrap_or(0.0)),
        "abandonment_rate": percent(missed, joined),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_averages_have_one_decimal_and_are_zero_when_empty() {
        assert_eq!(percent(298, 342), 87.1);
        assert_eq!(percent(1, 0), 0.0);
        let totals = Totals {
            total: 3,
            completed: 2,
            started: 3,
            wait_sum: 10,
            duration_sum: 601,
            ..Totals::default()
        };
        assert_eq!(totals.avg_wait_time(), 3.3);
        assert_eq!(totals.avg_duration(), 300.5);
        assert_eq!(totals.avg_rating(), 0.0);
        assert_eq!(totals.completion_rate(), 66.7);
    }

    #[test]
    fn totals_add_up() {
        let mut sum = Totals {
            total: 1,
            rated: 1,
            rating_sum: 5,
            satisfied: 1,
            ..Totals::default()
        };
        sum.add(&Totals {
            total: 1,
            rated: 1,
            rating_sum: 2,
            ..Totals::default()
        });
        assert_eq!((sum.total, sum.avg_rating(), sum.satisfaction_rate()), (2, 3.5, 50.0));
    }
}
