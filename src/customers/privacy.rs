//! Patients' data rights (SPEC §7.5): everything held about one customer as one JSON
//! document, and erasure. Erasure removes the personal data for good — name (becomes
//! `Erased customer`), e-mail, phone, document, notes, the chat of their calls, the
//! reasons and comments they typed, their uploaded files, the contact fields of their
//! access links, and their values quoted in audit rows and stored webhook bodies — while
//! the calls, appointments, ratings and therefore every report figure stay as they were.

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::store::{self, Customer};
use crate::db::WriteTx;
use crate::error::ApiError;

pub const ERASED_NAME: &str = "Erased customer";

/// One customer's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExport {
    pub customer: Customer,
    #[schema(value_type = Vec<Object>)]
    pub appointments: Vec<crate::appointments::store::Appointment>,
    /// Each call with its files (names, types, sizes), tags and manager notes.
    #[schema(value_type = Vec<Object>)]
    pub calls: Vec<crate::calls::store::Call>,
    #[schema(value_type = Vec<Object>)]
    pub chat_messages: Vec<crate::calls::chat::ChatMessage>,
    #[schema(value_type = Vec<Object>)]
    pub evaluations: Vec<crate::evaluations::store::Evaluation>,
    pub exported_at: String,
}

fn ids(conn: &Connection, sql: &str, id: &str) -> Result<Vec<String>, ApiError> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

fn call_ids(conn: &Connection, customer_id: &str) -> Result<Vec<String>, ApiError> {
    ids(
        conn,
        "SELECT id FROM calls WHERE customer_id = ?1 ORDER BY inserted_at, id",
        customer_id,
    )
}

/// Everything held about customer `id`; recorded as `customer.export`.
pub fn export(tx: &WriteTx, id: &str) -> Result<CustomerExport, ApiError> {
    let customer = store::find(tx, id)?;
    let mut appointments = Vec::new();
    for appointment_id in ids(
        tx,
        "SELECT id FROM appointments WHERE customer_id = ?1 ORDER BY scheduled_at, id",
        id,
    )? {
        appointments.extend(crate::appointments::store::get(tx, &appointment_id)?);
    }
    let (mut calls, mut chat_messages, mut evaluations) = (Vec::new(), Vec::new(), Vec::new());
    for call_id in call_ids(tx, id)? {
        calls.push(crate::calls::store::find(tx, &call_id)?);
        let messages = tx
            .prepare_cached(
                "SELECT id, call_id, body, sender_role, sender_name, inserted_at FROM call_messages
                 WHERE call_id = ?1 ORDER BY inserted_at, rowid",
            )?
            .query_map([&call_id], |row| {
                Ok(crate::calls::chat::ChatMessage {
                    id: row.get(0)?,
                    call_id: row.get(1)?,
                    body: row.get(2)?,
                    sender_role: row.get(3)?,
                    sender_name: row.get(4)?,
                    inserted_at: row.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        chat_messages.extend(messages);
        for evaluation_id in ids(tx, "SELECT id FROM evaluations WHERE call_id = ?1", &call_id)? {
            evaluations.extend(crate::evaluations::store::get(tx, &evaluation_id)?);
        }
    }
    crate::audit::note(tx, "customer.export", id, json!({}))?;
    Ok(CustomerExport {
        customer,
        appointments,
        calls,
        chat_messages,
        evaluations,
        exported_at: crate::time::now_text(),
    })
}

/// What an erasure leaves to do after its commit: the stored files to delete.
pub struct Erased {
    pub customer: Customer,
    /// `(call_id, file_id)` of every uploaded file of the customer's calls.
    pub files: Vec<(String, String)>,
}

/// Erases customer `id` (see the module's doc) in the caller's transaction; the files'
/// bytes are removed by the caller once it has committed.
pub fn erase(tx: &WriteTx, id: &str) -> Result<Erased, ApiError> {
    let before = store::find(tx, id)?;
    // Overwrite what is deleted or replaced instead of leaving it in free pages of the file.
    tx.pragma_update(None, "secure_delete", true)?;
    let personal: Vec<String> = [
        Some(before.name.clone()),
        before.email.clone(),
        before.phone.clone(),
        before.document.clone(),
        before.notes.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|value| !value.trim().is_empty() && value != ERASED_NAME)
    .collect();
    let now = crate::time::now_text();
    tx.prepare_cached(
        "UPDATE customers SET name = ?2, email = NULL, phone = NULL, phone_digits = NULL, document = NULL,
             notes = NULL, updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, ERASED_NAME, now])?;
    let calls = call_ids(tx, id)?;
    let mut files = Vec::new();
    for call_id in &calls {
        tx.prepare_cached(
            "UPDATE call_messages SET body = '[erased]',
                 sender_name = CASE WHEN sender_role = 'customer' THEN ?2 ELSE sender_name END
             WHERE call_id = ?1",
        )?
        .execute(params![call_id, ERASED_NAME])?;
        tx.prepare_cached("UPDATE calls SET reason = NULL, updated_at = ?2 WHERE id = ?1")?
            .execute(params![call_id, now])?;
        tx.prepare_cached("UPDATE evaluations SET comment = NULL WHERE call_id = ?1")?
            .execute([call_id])?;
        for file_id in ids(tx, "SELECT id FROM call_files WHERE call_id = ?1", call_id)? {
            files.push((call_id.clone(), file_id));
        }
        tx.prepare_cached("DELETE FROM call_files WHERE call_id = ?1")?
            .execute([call_id])?;
    }
    // Links the customer came through, and links pre-filled with their e-mail or phone.
    tx.prepare_cached(
        "UPDATE access_links SET customer_name = NULL, customer_email = NULL, customer_phone = NULL, updated_at = ?2
         WHERE id IN (SELECT access_link_id FROM calls WHERE customer_id = ?1 AND access_link_id IS NOT NULL)
            OR (?3 IS NOT NULL AND lower(customer_email) = lower(?3))
            OR (?4 IS NOT NULL AND customer_phone = ?4)",
    )?
    .execute(params![id, now, before.email, before.phone])?;
    // E-mails to the customer or about their appointments: what is queued is not sent.
    tx.prepare_cached(
        "UPDATE email_outbox SET recipient = '[erased]', subject = '[erased]', text_body = NULL, html_body = NULL,
             ics = NULL, ics_method = NULL, claimed_by = NULL, next_attempt_at = NULL,
             last_error = CASE WHEN status = 'queued' THEN 'not sent: the recipient was erased' ELSE last_error END,
             status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END
         WHERE (?2 IS NOT NULL AND lower(recipient) = lower(?2))
            OR (related_type = 'appointment' AND related_id IN (SELECT id FROM appointments WHERE customer_id = ?1))",
    )?
    .execute(params![id, before.email])?;
    crate::audit::store::erase_values(tx, "audit_log", "changes", &personal)?;
    crate::audit::store::erase_values(tx, "webhook_deliveries", "body", &personal)?;
    crate::audit::store::erase_values(tx, "notifications", "data", &personal)?;
    for value in &personal {
        tx.prepare_cached(
            "UPDATE notifications SET title = replace(title, ?1, '[erased]'), body = replace(body, ?1, '[erased]')
             WHERE instr(title, ?1) > 0 OR instr(body, ?1) > 0",
        )?
        .execute([value])?;
    }
    let after = store::find(tx, id)?;
    let mut changes = serde_json::Map::new();
    for (field, had, now_value) in [
        ("name", true, Value::from(ERASED_NAME)),
        ("email", before.email.is_some(), Value::Null),
        ("phone", before.phone.is_some(), Value::Null),
        ("document", before.document.is_some(), Value::Null),
        ("notes", before.notes.is_some(), Value::Null),
    ] {
        if had {
            changes.insert(field.into(), json!(["[erased]", now_value]));
        }
    }
    changes.insert("files".into(), json!([files.len(), 0]));
    crate::audit::note(tx, "customer.erase", id, Value::Object(changes))?;
    tx.pragma_update(None, "secure_delete", false)?;
    Ok(Erased { customer: after, files })
}
