//! SQL for notifications. [`create`] is what every feature that notifies someone calls.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;
use crate::events::DomainEvent;

/// What a notification is about. The schema checks only the form of a type, so adding a
/// variant here is all a new kind of notification needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationType {
    /// An appointment of the user starts soon (at each `reminder_offsets_minutes`).
    AppointmentReminder,
    /// An open appointment of the user has ended without being completed or cancelled.
    AppointmentOverdue,
    /// A call was assigned to the user.
    CallAssigned,
    /// A patient booked an appointment with the user on the booking page.
    AppointmentBooked,
    /// A patient cancelled an appointment with the user through the manage link.
    AppointmentCancelled,
    /// A patient moved an appointment with the user through the manage link.
    AppointmentRescheduled,
}

impl NotificationType {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::AppointmentReminder => "appointment_reminder",
            NotificationType::AppointmentOverdue => "appointment_overdue",
            NotificationType::CallAssigned => "call_assigned",
            NotificationType::AppointmentBooked => "appointment_booked",
            NotificationType::AppointmentCancelled => "appointment_cancelled",
            NotificationType::AppointmentRescheduled => "appointment_rescheduled",
        }
    }

    fn parse(text: &str) -> Option<NotificationType> {
        [
            NotificationType::AppointmentReminder,
            NotificationType::AppointmentOverdue,
            NotificationType::CallAssigned,
            NotificationType::AppointmentBooked,
            NotificationType::AppointmentCancelled,
            NotificationType::AppointmentRescheduled,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NotificationType,
    pub title: String,
    pub body: String,
    /// Details for the client, e.g. `{"appointment_id": …, "scheduled_at": …}`.
    #[schema(value_type = Object)]
    pub data: Value,
    pub read_at: Option<String>,
    pub inserted_at: String,
}

const COLUMNS: &str = "n.id, n.type, n.title, n.body, n.data, n.read_at, n.inserted_at";
const FROM: &str = "notifications n";

/// Newest first. Ties within one second are broken by insertion order (`rowid`, unique
/// like `id`), so "newest first" holds even for rows written in the same second.
pub const SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "n.inserted_at")],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "n.rowid",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let kind: String = row.get(1)?;
    let data: String = row.get(4)?;
    Ok(Notification {
        id: row.get(0)?,
        kind: NotificationType::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                "unknown notification type".into(),
            )
        })?,
        title: row.get(2)?,
        body: row.get(3)?,
        data: serde_json::from_str(&data).unwrap_or(Value::Object(Default::default())),
        read_at: row.get(5)?,
        inserted_at: row.get(6)?,
    })
}

/// Stores a notification for `user_id` in the caller's transaction and returns it; the
/// user's notification topic hears `new_notification` once it is committed.
pub fn create(
    tx: &WriteTx,
    user_id: &str,
    kind: NotificationType,
    title: &str,
    body: &str,
    data: &Value,
) -> Result<Notification, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO notifications (id, user_id, type, title, body, data, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        user_id,
        kind.as_str(),
        title,
        body,
        data.to_string(),
        crate::time::now_text()
    ])?;
    let notification = find(tx, user_id, &id)?;
    tx.emit(DomainEvent::NotificationCreated {
        user_id: user_id.to_string(),
        notification: notification.clone(),
    })?;
    Ok(notification)
}

/// A notification of `user_id`; someone else's is as absent as a missing one.
pub fn find(conn: &Connection, user_id: &str, id: &str) -> Result<Notification, ApiError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE n.id = ?1 AND n.user_id = ?2"
    ))?
    .query_row(params![id, user_id], map_row)
    .optional()?
    .ok_or_else(|| ApiError::not_found("Notification"))
}

/// The notifications of `user_id`; `unread`: `Some(true)` unread only, `Some(false)` read only.
pub fn list(
    conn: &Connection,
    user_id: &str,
    unread: Option<bool>,
    order: &Order,
) -> Result<Page<Notification>, ApiError> {
    let mut filter = Filter::new();
    filter.push("n.user_id = ?", [SqlValue::Text(user_id.into())]);
    match unread {
        Some(true) => filter.push("n.read_at IS NULL", []),
        Some(false) => filter.push("n.read_at IS NOT NULL", []),
        None => {}
    }
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

/// Marks one notification read; reading it again keeps the first `read_at`.
pub fn mark_read(conn: &Connection, user_id: &str, id: &str) -> Result<Notification, ApiError> {
    conn.prepare_cached("UPDATE notifications SET read_at = coalesce(read_at, ?3) WHERE id = ?1 AND user_id = ?2")?
        .execute(params![id, user_id, crate::time::now_text()])?;
    find(conn, user_id, id)
}

/// Marks every unread notification of `user_id` read; returns how many changed.
pub fn mark_all_read(conn: &Connection, user_id: &str) -> Result<usize, ApiError> {
    Ok(conn
        .prepare_cached("UPDATE notifications SET read_at = ?2 WHERE user_id = ?1 AND read_at IS NULL")?
        .execute(params![user_id, crate::time::now_text()])?)
}
