//! Outgoing e-mail. Messages are written to the tenant's `email_outbox` table in the
//! transaction that decides to send them, and logged, so nothing is lost when no SMTP
//! relay is configured: the operator can read them there.

use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::error::ApiError;

pub fn queue(conn: &Connection, recipient: &str, subject: &str, body: &str) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO email_outbox (id, recipient, subject, body, inserted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        Uuid::new_v4().to_string(),
        recipient,
        subject,
        body,
        crate::time::now_text()
    ])?;
    tracing::info!(recipient, subject, "e-mail queued in the outbox:\n{body}");
    Ok(())
}
