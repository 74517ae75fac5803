//! SQL for the e-mail outbox.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::templates::Rendered;
use super::{EmailStatus, Kind};
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;

/// An outbox row as `GET /api/v1/emails` shows it (never a body or a link).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Email {
    pub id: String,
    pub kind: Kind,
    pub to: String,
    pub subject: String,
    pub status: EmailStatus,
    /// SMTP attempts made so far (at most 8).
    pub attempts: i64,
    /// The last SMTP reply or connection error.
    pub last_error: Option<String>,
    /// `appointment`, `access_link` or `user`.
    pub related_type: Option<String>,
    pub related_id: Option<String>,
    pub inserted_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "e.id, e.kind, e.recipient, e.subject, e.status, e.attempts, e.last_error, e.related_type, e.related_id, \
     e.inserted_at, e.sent_at";

pub const SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "e.inserted_at")],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "e.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Email> {
    let kind: String = row.get(1)?;
    let status: String = row.get(4)?;
    Ok(Email {
        id: row.get(0)?,
        kind: Kind::parse(&kind).ok_or_else(|| crate::db::unknown_text(1, &kind))?,
        to: row.get(2)?,
        subject: row.get(3)?,
        status: EmailStatus::parse(&status).ok_or_else(|| crate::db::unknown_text(4, &status))?,
        attempts: row.get(5)?,
        last_error: row.get(6)?,
        related_type: row.get(7)?,
        related_id: row.get(8)?,
        inserted_at: row.get(9)?,
        sent_at: row.get(10)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Email, ApiError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM email_outbox e WHERE e.id = ?1"))?
        .query_row([id], map_row)
        .optional()?
        .ok_or_else(|| ApiError::not_found("E-mail"))
}

#[derive(Debug, Default)]
pub struct EmailFilters {
    pub status: Option<EmailStatus>,
    pub kind: Option<Kind>,
}

pub fn list(conn: &Connection, filters: &EmailFilters, order: &Order) -> Result<Page<Email>, ApiError> {
    let mut filter = Filter::new();
    if let Some(status) = filters.status {
        filter.push("e.status = ?", [SqlValue::Text(status.as_str().into())]);
    }
    if let Some(kind) = filters.kind {
        filter.push("e.kind = ?", [SqlValue::Text(kind.as_str().into())]);
    }
    fetch_page(conn, COLUMNS, "email_outbox e", &filter, order, map_row)
}

/// A row to write.
pub struct NewEmail<'a> {
    pub kind: Kind,
    pub to: &'a str,
    pub rendered: Rendered,
    /// `invite.ics` and its method.
    pub ics: Option<(String, &'static str)>,
    /// Only for `password_reset`: kept while queued, for the one `warn` line without SMTP.
    pub reset_link: Option<String>,
    pub related: Option<(&'static str, &'a str)>,
}

/// Writes one queued row in the caller's transaction.
pub fn insert(conn: &Connection, email: NewEmail<'_>) -> Result<Email, ApiError> {
    let id = Uuid::new_v4().to_string();
    let now = crate::time::now_text();
    let (ics, method) = match email.ics {
        Some((ics, method)) => (Some(ics), Some(method)),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO email_outbox (id, kind, recipient, subject, text_body, html_body, ics, ics_method, reset_link,
                                   next_attempt_at, related_type, related_id, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?10)",
    )?
    .execute(params![
        id,
        email.kind.as_str(),
        email.to,
        email.rendered.subject,
        email.rendered.text,
        email.rendered.html,
        ics,
        method,
        email.reset_link,
        now,
        email.related.map(|(t, _)| t),
        email.related.map(|(_, id)| id),
    ])?;
    find(conn, &id)
}

/// A queued row that is due, with what is needed to send it.
pub struct Due {
    pub id: String,
    pub kind: Kind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub ics: Option<(String, String)>,
    pub reset_link: Option<String>,
    pub attempts: i64,
}

pub fn due(conn: &Connection, now: &str, limit: i64) -> Result<Vec<Due>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, kind, recipient, subject, text_body, html_body, ics, ics_method, reset_link, attempts
             FROM email_outbox
             WHERE status = 'queued' AND claimed_by IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, rowid LIMIT ?2",
        )?
        .query_map(params![now, limit], |row| {
            let kind: String = row.get(1)?;
            let ics: Option<String> = row.get(6)?;
            let method: Option<String> = row.get(7)?;
            Ok(Due {
                id: row.get(0)?,
                kind: Kind::parse(&kind).ok_or_else(|| crate::db::unknown_text(1, &kind))?,
                to: row.get(2)?,
                subject: row.get(3)?,
                text: row.get(4)?,
                html: row.get(5)?,
                ics: ics.zip(method),
                reset_link: row.get(8)?,
                attempts: row.get(9)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Whether a row is still claimed by another delivery run than `run`.
pub fn has_interrupted(conn: &Connection, run: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM email_outbox WHERE status = 'queued' AND claimed_by IS NOT NULL AND claimed_by <> ?1 LIMIT 1",
        )?
        .query_row([run], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Rows claimed by an earlier delivery run (its process stopped mid-send) become `failed`:
/// the server may have accepted them, and a row is sent at most once.
pub fn fail_interrupted(conn: &Connection, run: &str) -> Result<usize, ApiError> {
    Ok(conn
        .prepare_cached(
            "UPDATE email_outbox SET status = 'failed', claimed_by = NULL, next_attempt_at = NULL,
                 last_error = 'interrupted while sending; not retried because the server may have accepted it',
                 text_body = CASE WHEN kind = 'password_reset' THEN NULL ELSE text_body END,
                 html_body = CASE WHEN kind = 'password_reset' THEN NULL ELSE html_body END,
                 reset_link = NULL
             WHERE status = 'queued' AND claimed_by IS NOT NULL AND claimed_by <> ?1",
        )?
        .execute([run])?)
}

/// Marks `id` as being sent by `run` and counts the attempt; false when another run has it.
pub fn claim(conn: &Connection, id: &str, run: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached(
            "UPDATE email_outbox SET claimed_by = ?2, attempts = attempts + 1
             WHERE id = ?1 AND status = 'queued' AND claimed_by IS NULL",
        )?
        .execute(params![id, run])?
        == 1)
}

/// How one attempt ended.
pub enum Outcome {
    Sent,
    Retry { at: String, error: String },
    Failed { error: String },
    Skipped,
}

/// Records the end of an attempt (or the skip of a row without SMTP). A settled
/// password-reset row loses its bodies and link.
pub fn settle(conn: &Connection, id: &str, outcome: &Outcome) -> Result<(), ApiError> {
    let now = crate::time::now_text();
    let (status, next, error, sent_at) = match outcome {
        Outcome::Sent => ("sent", None, None, Some(now.clone())),
        Outcome::Retry { at, error } => ("queued", Some(at.clone()), Some(error.clone()), None),
        Outcome::Failed { error } => ("failed", None, Some(error.clone()), None),
        Outcome::Skipped => ("skipped", None, Some("SMTP is not configured".to_string()), None),
    };
    conn.prepare_cached(
        "UPDATE email_outbox SET status = ?2, next_attempt_at = ?3, last_error = ?4, sent_at = ?5, claimed_by = NULL,
             text_body = CASE WHEN kind = 'password_reset' AND ?2 <> 'queued' THEN NULL ELSE text_body END,
             html_body = CASE WHEN kind = 'password_reset' AND ?2 <> 'queued' THEN NULL ELSE html_body END,
             reset_link = CASE WHEN ?2 <> 'queued' THEN NULL ELSE reset_link END
         WHERE id = ?1 AND status = 'queued'",
    )?
    .execute(params![id, status, next, error, sent_at])?;
    Ok(())
}
