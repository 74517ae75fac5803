//! SQL for self-scheduling: working hours, the busy times of agents, the slot query that
//! the staff availability endpoint, the booking page and the in-transaction re-check all
//! share, and the manage-link token of an appointment.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{self, Busy, DayInterval, SlotRules, WorkingHours};
use crate::departments::Department;
use crate::error::ApiError;
use crate::time::{self, Timestamp};

/// The working hours of `user_id` (empty when never set).
pub fn working_hours(conn: &Connection, user_id: &str) -> Result<WorkingHours, ApiError> {
    let mut hours = WorkingHours::default();
    let mut weekly = conn.prepare_cached(
        "SELECT weekday, start_minute, end_minute FROM working_hours WHERE user_id = ?1 ORDER BY weekday, start_minute",
    )?;
    let rows = weekly.query_map([user_id], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, u16>(1)?, row.get::<_, u16>(2)?))
    })?;
    for row in rows {
        let (weekday, start, end) = row?;
        if let Some(day) = hours.weekly.get_mut((weekday - 1) as usize) {
            day.push(DayInterval { start, end });
        }
    }
    let mut days = conn.prepare_cached("SELECT date FROM availability_exceptions WHERE user_id = ?1")?;
    for date in days.query_map([user_id], |row| row.get::<_, String>(0))? {
        if let Ok(date) = NaiveDate::parse_from_str(&date?, "%Y-%m-%d") {
            hours.exceptions.insert(date, Vec::new());
        }
    }
    let mut intervals = conn.prepare_cached(
        "SELECT date, start_minute, end_minute FROM availability_exception_intervals
         WHERE user_id = ?1 ORDER BY date, start_minute",
    )?;
    let rows = intervals.query_map([user_id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u16>(1)?, row.get::<_, u16>(2)?))
    })?;
    for row in rows {
        let (date, start, end) = row?;
        if let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
            hours
                .exceptions
                .entry(date)
                .or_default()
                .push(DayInterval { start, end });
        }
    }
    Ok(hours)
}

/// Replaces the working hours of `user_id` as a whole.
pub fn replace_working_hours(conn: &Connection, user_id: &str, hours: &WorkingHours) -> Result<(), ApiError> {
    conn.prepare_cached("DELETE FROM working_hours WHERE user_id = ?1")?
        .execute([user_id])?;
    conn.prepare_cached("DELETE FROM availability_exceptions WHERE user_id = ?1")?
        .execute([user_id])?;
    let mut weekly = conn.prepare_cached(
        "INSERT INTO working_hours (user_id, weekday, start_minute, end_minute) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (day, intervals) in hours.weekly.iter().enumerate() {
        for interval in intervals {
            weekly.execute(params![user_id, day as i64 + 1, interval.start, interval.end])?;
        }
    }
    let mut day = conn.prepare_cached("INSERT INTO availability_exceptions (user_id, date) VALUES (?1, ?2)")?;
    let mut interval_row = conn.prepare_cached(
        "INSERT INTO availability_exception_intervals (user_id, date, start_minute, end_minute)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (date, intervals) in &hours.exceptions {
        let date = date.format("%Y-%m-%d").to_string();
        day.execute(params![user_id, date])?;
        for interval in intervals {
            interval_row.execute(params![user_id, date, interval.start, interval.end])?;
        }
    }
    Ok(())
}

/// The open appointments of `user_id` that reach into `[from, until)`, apart from
/// `exclude_id` (the appointment being moved).
fn busy(
    conn: &Connection,
    user_id: &str,
    from: Timestamp,
    until: Timestamp,
    exclude_id: Option<&str>,
) -> Result<Vec<Busy>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT scheduled_at, ends_at FROM appointments
         WHERE user_id = ?1 AND status IN ('scheduled', 'confirmed')
           AND scheduled_at < ?3 AND ends_at > ?2 AND id <> ?4
         ORDER BY scheduled_at",
    )?;
    let rows = stmt.query_map(
        params![
            user_id,
            time::format(from),
            time::format(until),
            exclude_id.unwrap_or("")
        ],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )?;
    let mut found = Vec::new();
    for row in rows {
        let (start, end) = row?;
        if let (Some(start), Some(end)) = (time::parse(&start), time::parse(&end)) {
            found.push(Busy { start, end });
        }
    }
    Ok(found)
}

/// An active member of a department, who may be offered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Agent {
    pub user_id: String,
    pub user_name: String,
}

/// The active members of `department_id`, by name.
pub fn agents(conn: &Connection, department_id: &str) -> Result<Vec<Agent>, ApiError> {
    let rows = conn
        .prepare_cached(
            "SELECT u.id, u.name FROM department_members m JOIN users u ON u.id = m.user_id
             WHERE m.department_id = ?1 AND u.active = 1
             ORDER BY u.name COLLATE NOCASE, u.id",
        )?
        .query_map([department_id], |row| {
            Ok(Agent {
                user_id: row.get(0)?,
                user_name: row.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One agent's free slot starts (`GET /availability`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentSlots {
    pub user_id: String,
    pub user_name: String,
    /// UTC, RFC 3339, ascending.
    #[schema(value_type = Vec<String>)]
    pub slots: Vec<String>,
}

/// What a slot query asks.
#[derive(Debug, Clone)]
pub struct SlotQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Default: the department's `slot_minutes`.
    pub duration_minutes: Option<i64>,
    pub now: Timestamp,
    /// The appointment being moved: its own time is not busy.
    pub exclude_id: Option<String>,
}

/// The free slots of each of `agents` in `department` (SPEC §7.8 "Slots").
pub fn free_slots(
    conn: &Connection,
    zone: Tz,
    department: &Department,
    agents: &[Agent],
    query: &SlotQuery,
) -> Result<Vec<(Agent, Vec<Timestamp>)>, ApiError> {
    let rules = SlotRules {
        slot_minutes: department.slot_minutes,
        duration_minutes: query.duration_minutes.unwrap_or(department.slot_minutes),
        buffer_minutes: department.buffer_minutes,
        earliest: query.now + Duration::minutes(department.min_notice_minutes),
        latest: query.now + Duration::days(department.max_advance_days),
    };
    // Appointments reaching into the local days, widened by the longest day and buffer.
    let margin = Duration::hours(30) + Duration::minutes(department.buffer_minutes + rules.duration_minutes);
    let (Some(from), Some(until)) = (
        rules::local_instant(zone, query.from, 0),
        rules::local_instant(zone, query.to, 0),
    ) else {
        return Ok(agents.iter().map(|a| (a.clone(), Vec::new())).collect());
    };
    let mut answer = Vec::with_capacity(agents.len());
    for agent in agents {
        let hours = working_hours(conn, &agent.user_id)?;
        let busy = busy(
            conn,
            &agent.user_id,
            from - margin,
            until + margin,
            query.exclude_id.as_deref(),
        )?;
        let slots = rules::free_slots(&hours, &busy, zone, query.from..=query.to, &rules);
        answer.push((agent.clone(), slots));
    }
    Ok(answer)
}

/// Whether `start` is a free slot of `agent` now (the re-check inside a booking or a
/// reschedule transaction).
pub fn is_free(
    conn: &Connection,
    department: &Department,
    agent: &Agent,
    start: Timestamp,
    duration_minutes: i64,
    now: Timestamp,
    exclude_id: Option<&str>,
) -> Result<bool, ApiError> {
    let zone = crate::company::store::timezone(conn)?;
    let day = start.with_timezone(&zone).date_naive();
    let query = SlotQuery {
        from: day,
        to: day,
        duration_minutes: Some(duration_minutes),
        now,
        exclude_id: exclude_id.map(str::to_string),
    };
    let found = free_slots(conn, zone, department, std::slice::from_ref(agent), &query)?;
    Ok(found.iter().any(|(_, slots)| slots.contains(&start)))
}

/// The open appointments of each of `user_ids` on the local day of `at`: the measure of
/// "least booked".
pub fn open_counts_on_day(
    conn: &Connection,
    zone: Tz,
    user_ids: &[String],
    at: Timestamp,
) -> Result<HashMap<String, i64>, ApiError> {
    let day = at.with_timezone(&zone).date_naive();
    let (Some(from), Some(until)) = (
        rules::local_instant(zone, day, 0),
        day.succ_opt().and_then(|next| rules::local_instant(zone, next, 0)),
    ) else {
        return Ok(HashMap::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM appointments
         WHERE user_id = ?1 AND status IN ('scheduled', 'confirmed') AND scheduled_at >= ?2 AND scheduled_at < ?3",
    )?;
    let mut counts = HashMap::new();
    for user_id in user_ids {
        let count: i64 = stmt.query_row(params![user_id, time::format(from), time::format(until)], |row| {
            row.get(0)
        })?;
        counts.insert(user_id.clone(), count);
    }
    Ok(counts)
}

/// `<public_url>/manage/<token>`.
pub fn manage_url(base: &str, token: &str) -> String {
    format!("{base}/manage/{token}")
}

/// Gives appointment `appointment_id` its manage-link token, in the caller's (create)
/// transaction. The token must already be in the registry's public index (see
/// [`super::reserve_manage_token`]).
pub fn attach_manage_token(
    conn: &Connection,
    appointment_id: &str,
    token: &str,
    url: Option<&str>,
) -> Result<(), ApiError> {
    conn.prepare_cached("UPDATE appointments SET manage_token = ?2, manage_url = ?3 WHERE id = ?1")?
        .execute(params![appointment_id, token, url])?;
    Ok(())
}

/// The appointment whose manage token `token` is.
pub fn appointment_of_manage_token(conn: &Connection, token: &str) -> Result<String, ApiError> {
    conn.prepare_cached("SELECT id FROM appointments WHERE manage_token = ?1")?
        .query_row([token], |row| row.get(0))
        .optional()?
        .ok_or_else(|| ApiError::not_found("Appointment"))
}
