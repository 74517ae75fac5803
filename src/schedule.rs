//! When something is next due in a tenant (SPEC §7.6): the earliest moment one of the
//! sweeper's jobs ([`JOBS`]), the webhook delivery or the e-mail delivery
//! will have work there.
//! The registry keeps the answer per tenant, so the background loops open only tenants
//! with something due. The queries live together here, beside the list of jobs: a job
//! added to the sweeper adds its due time here too.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::config::Config;
use crate::db::WriteTx;
use crate::error::ApiError;
use crate::time::{self, Timestamp};

/// What a job knows about the run it belongs to.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub tenant: String,
    pub now: Timestamp,
    pub config: Arc<Config>,
}

/// One job: run in a write transaction of one tenant.
pub type Job = fn(&WriteTx, &Sweep) -> Result<(), ApiError>;

/// Every job, by name (for logs). Each resource that needs sweeping adds itself here, and
/// its due time to [`next_due`].
pub const JOBS: &[(&str, Job)] = &[
    ("appointments_overdue", crate::appointments::jobs::flag_overdue),
    ("appointment_reminders", crate::appointments::jobs::send_reminders),
    ("expire_access_links", crate::access_links::store::expire_due),
    ("miss_queue_timeouts", crate::calls::store::miss_overdue),
];

/// A tenant is looked at least this often even when nothing is due there: a safety net
/// for work whose due time no query below knows.
pub const MAX_QUIET: chrono::Duration = chrono::Duration::hours(24);

/// The earliest time at which a job has something to do in this tenant, at most
/// [`MAX_QUIET`] after `sweep.now`. A time at or before now means "at the next pass".
pub fn next_due(conn: &Connection, sweep: &Sweep) -> Result<Option<Timestamp>, ApiError> {
    let now = sweep.now;
    let mut due = vec![now + MAX_QUIET];
    // An open appointment is flagged overdue once it has ended.
    due.extend(earliest(
        conn,
        "SELECT min(ends_at) FROM appointments WHERE overdue = 0 AND status IN ('scheduled', 'confirmed')",
        &[],
    )?);
    // Each reminder offset: the first open appointment not yet within that offset.
    for &offset in &sweep.config.reminder_offsets_minutes {
        let Ok(offset) = i64::try_from(offset) else {
            continue;
        };
        let offset = chrono::Duration::minutes(offset);
        let after = time::format(now + offset);
        if let Some(start) = earliest(
            conn,
            "SELECT min(scheduled_at) FROM appointments
             WHERE status IN ('scheduled', 'confirmed') AND scheduled_at > ?1",
            &[&after],
        )? {
            due.push(start - offset);
        }
    }
    // An active link expires.
    due.extend(earliest(
        conn,
        "SELECT min(expires_at) FROM access_links WHERE status = 'active'",
        &[],
    )?);
    // A queued call passes its department's maximum wait.
    let timeout: Option<i64> = conn
        .prepare_cached(
            "SELECT min(unixepoch(c.inserted_at) + d.max_wait_time)
             FROM calls c JOIN departments d ON d.id = c.department_id
             WHERE c.status = 'queued' AND d.max_wait_time > 0",
        )?
        .query_row([], |row| row.get(0))
        .optional()?
        .flatten();
    due.extend(timeout.and_then(|secs| chrono::DateTime::from_timestamp(secs, 0)));
    // A webhook delivery is retried.
    due.extend(earliest(
        conn,
        "SELECT min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND w.active = 1",
        &[],
    )?);
    // A queued e-mail is (re)tried.
    due.extend(earliest(
        conn,
        "SELECT min(next_attempt_at) FROM email_outbox WHERE status = 'queued'",
        &[],
    )?);
    Ok(due.into_iter().min())
}

/// The time of a `SELECT min(<RFC 3339 column>)` query; `None` when there is no row.
fn earliest(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Option<Timestamp>, ApiError> {
    let text: Option<String> = conn.prepare_cached(sql)?.query_row(params, |row| row.get(0))?;
    Ok(text.as_deref().and_then(time::parse))
}
