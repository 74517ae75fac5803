//! The appointment jobs of the background sweeper (SPEC §4.5, §6). Both are idempotent:
//! what they did is recorded in the same transaction as the notification they write, so
//! overlapping runs and restarts never notify twice.

use std::collections::BTreeSet;

use chrono::Duration;
use rusqlite::params;
use serde_json::json;

use crate::db::WriteTx;
use crate::error::ApiError;
use crate::events::DomainEvent;
use crate::notifications::store::{self as notifications, NotificationType};
use crate::schedule::Sweep;
use crate::time;

/// Flags every open appointment whose end has passed and notifies its agent once: the
/// flag itself records the notification, and only rows still unflagged are picked.
pub fn flag_overdue(tx: &WriteTx, sweep: &Sweep) -> Result<(), ApiError> {
    let flagged = tx
        .prepare_cached(
            "UPDATE appointments SET overdue = 1
             WHERE overdue = 0 AND status IN ('scheduled', 'confirmed') AND ends_at <= ?1
             RETURNING id, user_id, title, scheduled_at, ends_at, status",
        )?
        .query_map([time::format(sweep.now)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let tz = crate::company::store::timezone(tx)?;
    for (id, user_id, title, scheduled_at, ends_at, status) in flagged {
        notifications::create(
            tx,
            &user_id,
            NotificationType::AppointmentOverdue,
            "Appointment overdue",
            &format!(
                "\"{title}\" ended at {} and is still {status}: complete it, mark a no-show or cancel it.",
                local_time(&ends_at, tz)
            ),
            &json!({ "appointment_id": id, "title": title, "scheduled_at": scheduled_at, "ends_at": ends_at }),
        )?;
        crate::audit::note(tx, "appointment.overdue", &id, json!({"overdue": [false, true]}))?;
        if let Some(appointment) = crate::appointments::store::get(tx, &id)? {
            tx.emit(DomainEvent::AppointmentOverdue { appointment })?;
        }
    }
    Ok(())
}

/// An open appointment that starts within the largest reminder offset.
struct Upcoming {
    id: String,
    user_id: String,
    title: String,
    scheduled_at: String,
    customer_name: String,
}

/// Sends `appointment_reminder` notifications at each of `reminder_offsets_minutes`
/// before an open appointment starts, once per (appointment, start time, offset).
///
/// When several offsets are due at once (an appointment booked an hour ahead, a server
/// that was down), only the nearest one is sent and the others are recorded as done, so
/// the agent gets one reminder saying how long is really left rather than a burst.
pub fn send_reminders(tx: &WriteTx, sweep: &Sweep) -> Result<(), ApiError> {
    let offsets: BTreeSet<i64> = sweep
        .config
        .reminder_offsets_minutes
        .iter()
        .filter_map(|&offset| i64::try_from(offset).ok())
        .collect();
    let Some(&largest) = offsets.last() else {
        return Ok(());
    };
    // Offsets are validated by `Config::validate` (at most 30 days).
    let horizon = sweep.now + Duration::minutes(largest);
    let upcoming = tx
        .prepare_cached(
            "SELECT a.id, a.user_id, a.title, a.scheduled_at, c.name
             FROM appointments a JOIN customers c ON c.id = a.customer_id
             WHERE a.status IN ('scheduled', 'confirmed') AND a.scheduled_at > ?1 AND a.scheduled_at <= ?2
             ORDER BY a.scheduled_at, a.id",
        )?
        .query_map(params![time::format(sweep.now), time::format(horizon)], |row| {
            Ok(Upcoming {
                id: row.get(0)?,
                user_id: row.get(1)?,
                title: row.get(2)?,
                scheduled_at: row.get(3)?,
                customer_name: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for appointment in upcoming {
        remind(tx, sweep, &offsets, &appointment)?;
    }
    Ok(())
}

fn remind(tx: &WriteTx, sweep: &Sweep, offsets: &BTreeSet<i64>, appointment: &Upcoming) -> Result<(), ApiError> {
    let Some(start) = time::parse(&appointment.scheduled_at) else {
        return Err(ApiError::internal("stored scheduled_at is not a time"));
    };
    let seconds_left = (start - sweep.now).num_seconds();
    let due: Vec<i64> = offsets
        .iter()
        .copied()
        .filter(|offset| seconds_left <= offset * 60)
        .collect();
    let Some(&nearest) = due.first() else {
        return Ok(());
    };
    let done: BTreeSet<i64> = tx
        .prepare_cached(
            "SELECT offset_minutes FROM appointment_reminders WHERE appointment_id = ?1 AND scheduled_at = ?2",
        )?
        .query_map(params![appointment.id, appointment.scheduled_at], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut record = tx.prepare_cached(
        "INSERT INTO appointment_reminders (appointment_id, scheduled_at, offset_minutes, inserted_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for offset in due.iter().filter(|offset| !done.contains(offset)) {
        record.execute(params![
            appointment.id,
            appointment.scheduled_at,
            offset,
            time::format(sweep.now)
        ])?;
    }
    if done.contains(&nearest) {
        return Ok(());
    }
    let minutes_before = (seconds_left + 59) / 60;
    notifications::create(
        tx,
        &appointment.user_id,
        NotificationType::AppointmentReminder,
        &format!("Appointment in {}", duration_text(minutes_before)),
        &format!(
            "\"{}\" with {} starts at {}.",
            appointment.title,
            appointment.customer_name,
            local_time(&appointment.scheduled_at, crate::company::store::timezone(tx)?)
        ),
        &json!({
            "appointment_id": appointment.id,
            "title": appointment.title,
            "scheduled_at": appointment.scheduled_at,
            "minutes_before": minutes_before,
            "offset_minutes": nearest,
        }),
    )?;
    // The patient hears at the same offset, once, through the same record.
    if let Some(appointment) = crate::appointments::store::get(tx, &appointment.id)? {
        tx.emit(DomainEvent::AppointmentReminderDue {
            appointment,
            minutes_before,
        })?;
    }
    Ok(())
}

/// A stored UTC time as agents read it: in the company's time zone, with the zone's name.
fn local_time(stored: &str, tz: chrono_tz::Tz) -> String {
    match time::parse(stored) {
        Some(at) => crate::email::templates::local_time(at, tz, crate::email::Locale::En),
        None => stored.to_string(),
    }
}

/// `15 min`, `1 h`, `24 h`, `1 h 30 min`.
fn duration_text(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::duration_text;

    #[test]
    fn reminder_titles_read_naturally() {
        assert_eq!(duration_text(15), "15 min");
        assert_eq!(duration_text(60), "1 h");
        assert_eq!(duration_text(1440), "24 h");
        assert_eq!(duration_text(90), "1 h 30 min");
    }
}
