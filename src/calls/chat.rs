//! The chat of a call: messages between the agent (or an observing supervisor) and the
//! customer, sent over the call's socket topic or the REST API, kept with the call and
//! pushed live as `chat_message` on `call:<id>`.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_one, fetch_page};
use crate::error::{ApiError, FieldErrors};
use crate::events::DomainEvent;

/// The longest message, in characters.
pub const MAX_BODY_CHARS: usize = 2000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatMessage {
    pub id: String,
    pub call_id: String,
    pub body: String,
    /// `agent`, `observer` (a supervisor who is not the call's agent) or `customer`.
    pub sender_role: String,
    pub sender_name: String,
    pub inserted_at: String,
}

/// How someone takes part in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallRole {
    /// The staff user the call is assigned to.
    Agent,
    /// A supervisor or above who is not the call's agent.
    Observer,
    Customer,
}

impl CallRole {
    pub fn as_str(self) -> &'static str {
        match self {
            CallRole::Agent => "agent",
            CallRole::Observer => "observer",
            CallRole::Customer => "customer",
        }
    }
}

/// How a staff user takes part in a call: `agent` when it is assigned to them, else
/// `observer` for supervisors and up; attendants have no part in others' calls.
pub fn staff_role(call: &crate::calls::store::Call, user: &crate::users::User) -> Option<CallRole> {
    if call.user_id.as_deref() == Some(user.id.as_str()) {
        Some(CallRole::Agent)
    } else if user.role.at_least(crate::auth::Role::Supervisor) {
        Some(CallRole::Observer)
    } else {
        None
    }
}

/// Who writes a message.
#[derive(Debug, Clone)]
pub struct Sender {
    pub role: CallRole,
    /// The staff user; `None` for the customer.
    pub user_id: Option<String>,
    pub name: String,
}

const COLUMNS: &str = "m.id, m.call_id, m.body, m.sender_role, m.sender_name, m.inserted_at";
const FROM: &str = "call_messages m";

/// Oldest first, like a conversation; insertion order breaks ties within a second.
pub const SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "m.inserted_at")],
    default_key: "inserted_at",
    default_order: SortOrder::Asc,
    default_page_size: 100,
    tie_breaker: "m.rowid",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        id: row.get(0)?,
        call_id: row.get(1)?,
        body: row.get(2)?,
        sender_role: row.get(3)?,
        sender_name: row.get(4)?,
        inserted_at: row.get(5)?,
    })
}

fn of_call(call_id: &str) -> Filter {
    let mut filter = Filter::new();
    filter.push("m.call_id = ?", [SqlValue::Text(call_id.to_string())]);
    filter
}

pub fn list(conn: &Connection, call_id: &str, order: &Order) -> Result<Page<ChatMessage>, ApiError> {
    fetch_page(conn, COLUMNS, FROM, &of_call(call_id), order, map_row)
}

/// Checks a message body: trimmed, 1 to [`MAX_BODY_CHARS`] characters.
pub fn body(text: Option<&str>) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    let body = crate::validation::required_text(&mut errors, "body", text, MAX_BODY_CHARS);
    errors.into_result()?;
    body.ok_or_else(|| FieldErrors::single("body", "can't be blank"))
}

/// Stores a message of `sender` on `call_id` and sends it to the call's topic once
/// committed.
pub fn insert(tx: &WriteTx, call_id: &str, sender: &Sender, body: &str) -> Result<ChatMessage, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO call_messages (id, call_id, body, sender_role, sender_id, sender_name, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        call_id,
        body,
        sender.role.as_str(),
        sender.user_id,
        sender.name,
        crate::time::now_text()
    ])?;
    let mut filter = of_call(call_id);
    filter.push("m.id = ?", [SqlValue::Text(id)]);
    let message = fetch_one(tx, COLUMNS, FROM, &filter, map_row)?;
    tx.emit(DomainEvent::ChatMessage {
        call_id: call_id.to_string(),
        message: message.clone(),
    })?;
    Ok(message)
}
