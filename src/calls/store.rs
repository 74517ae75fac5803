//! SQL for calls: the call object (with its tags, manager notes and files as JSON
//! sub-selects, so a page of calls is one query), creation from the queue, assignment,
//! transitions, and the queue-timeout sweep.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{self, CallAction, CallStatus};
use crate::auth::Visibility;
use crate::db::WriteTx;
use crate::db::query::DateRange;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;
use crate::events::DomainEvent;
use crate::time;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Call {
    pub id: String,
    /// `YYYYMMDD-NNNNNN`, numbered per tenant and day (company time zone).
    pub protocol: String,
    pub status: CallStatus,
    pub department_id: String,
    pub department_name: String,
    /// The agent; set by assignment.
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    /// The agent's service provider at the moment of assignment.
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub reason: Option<String>,
    pub access_link_id: Option<String>,
    /// Seconds from joining the queue to `started_at` (or to being missed).
    pub wait_time: Option<i64>,
    /// Seconds from `started_at` to `completed_at`.
    pub duration: Option<i64>,
    /// The customer's rating (1–5), once evaluated.
    pub rating: Option<i64>,
    pub tags: Vec<CallTag>,
    pub manager_notes: Vec<ManagerNote>,
    pub files: Vec<CallFile>,
    pub inserted_at: String,
    pub assigned_at: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub missed_at: Option<String>,
    pub cancelled_at: Option<String>,
    /// False when a widget caller was matched to an existing customer by the e-mail or
    /// phone they typed: `customer_name` is then the name they typed, not the record's.
    pub customer_verified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallTag {
    pub id: String,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ManagerNote {
    pub id: String,
    pub note: String,
    pub author_id: String,
    pub author_name: String,
    pub inserted_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallFile {
    pub id: String,
    pub call_id: String,
    pub filename: String,
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Where to download it (same authentication as the call).
    pub url: String,
    pub uploaded_by: Option<String>,
    pub inserted_at: String,
}

/// `wait_time` of call `c`: seconds from joining the queue to the start (or to being missed).
macro_rules! wait_time {
    () => {
        "CASE WHEN c.started_at IS NOT NULL THEN unixepoch(c.started_at) - unixepoch(c.inserted_at) \
              WHEN c.missed_at IS NOT NULL THEN unixepoch(c.missed_at) - unixepoch(c.inserted_at) END"
    };
}
/// `duration` of call `c`: seconds from the start to the end.
macro_rules! duration {
    () => {
        "unixepoch(c.completed_at) - unixepoch(c.started_at)"
    };
}
pub const WAIT_TIME: &str = wait_time!();
pub const DURATION: &str = duration!();

const COLUMNS: &str = concat!(
    "c.id, c.protocol, c.status, c.department_id, d.name, c.user_id, u.name, \
     c.provider_id, c.provider_name, c.customer_id, coalesce(c.caller_name, cu.name), cu.email, cu.phone, c.reason, \
     c.access_link_id, ",
    wait_time!(),
    ", ",
    duration!(),
    ", c.rating, \
     (SELECT json_group_array(json_object('id', t.id, 'name', t.name, 'color', t.color) \
             ORDER BY t.name COLLATE NOCASE, t.id) \
        FROM call_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.call_id = c.id), \
     (SELECT json_group_array(json_object('id', n.id, 'note', n.note, 'author_id', n.author_id, \
                                          'author_name', a.name, 'inserted_at', n.inserted_at) \
             ORDER BY n.inserted_at, n.rowid) \
        FROM call_manager_notes n JOIN users a ON a.id = n.author_id WHERE n.call_id = c.id), \
     (SELECT json_group_array(json_object('id', f.id, 'call_id', f.call_id, 'filename', f.filename, \
                                          'content_type', f.content_type, 'size', f.size, \
                                          'url', '/api/v1/calls/' || f.call_id || '/files/' || f.id, \
                                          'uploaded_by', f.uploaded_by, 'inserted_at', f.inserted_at) \
             ORDER BY f.inserted_at, f.rowid) \
        FROM call_files f WHERE f.call_id = c.id), \
     c.inserted_at, c.assigned_at, c.started_at, c.completed_at, c.missed_at, c.cancelled_at, c.customer_verified"
);
/// Calls `c` with their department `d`, customer `cu` and agent `u`.
pub const FROM: &str = "calls c JOIN departments d ON d.id = c.department_id \
     JOIN customers cu ON cu.id = c.customer_id LEFT JOIN users u ON u.id = c.user_id";

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("inserted_at", "c.inserted_at"),
        ("started_at", "c.started_at"),
        ("completed_at", "c.completed_at"),
        ("protocol", "c.protocol"),
        ("status", "c.status"),
        ("customer_name", "cu.name COLLATE NOCASE"),
    ],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "c.id",
};

/// Reads a JSON array column built by `json_group_array`.
fn json_column<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<Vec<T>> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

fn map_row(row: &Row<'_>) -> rusqlite::Result<Call> {
    let status: String = row.get(2)?;
    Ok(Call {
        id: row.get(0)?,
        protocol: row.get(1)?,
        status: CallStatus::parse(&status).ok_or_else(|| crate::db::unknown_text(2, &status))?,
        department_id: row.get(3)?,
        department_name: row.get(4)?,
        user_id: row.get(5)?,
        user_name: row.get(6)?,
        provider_id: row.get(7)?,
        provider_name: row.get(8)?,
        customer_id: row.get(9)?,
        customer_name: row.get(10)?,
        customer_email: row.get(11)?,
        customer_phone: row.get(12)?,
        reason: row.get(13)?,
        access_link_id: row.get(14)?,
        wait_time: row.get(15)?,
        duration: row.get(16)?,
        rating: row.get(17)?,
        tags: json_column(row, 18)?,
        manager_notes: json_column(row, 19)?,
        files: json_column(row, 20)?,
        inserted_at: row.get(21)?,
        assigned_at: row.get(22)?,
        started_at: row.get(23)?,
        completed_at: row.get(24)?,
        missed_at: row.get(25)?,
        cancelled_at: row.get(26)?,
        customer_verified: row.get(27)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Call>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

pub fn find(conn: &Connection, id: &str) -> Result<Call, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("Call"))
}

/// The call if `scope` sees it; otherwise the same 404 as an unknown id.
pub fn find_visible(conn: &Connection, scope: &Visibility, id: &str) -> Result<Call, ApiError> {
    let call = find(conn, id)?;
    if !scope.allows(&call.department_id, call.user_id.as_deref()) {
        // It exists, outside what the caller may touch (SPEC §2.3).
        return Err(ApiError::Forbidden("Forbidden".into()));
    }
    Ok(call)
}

#[derive(Debug, Default)]
pub struct CallFilters {
    pub status: Option<CallStatus>,
    pub department_id: Option<String>,
    pub user_id: Option<String>,
    pub provider_id: Option<String>,
    /// On `inserted_at` (when the customer joined).
    pub dates: DateRange,
    /// Customer name or e-mail, or protocol.
    pub search: Option<String>,
}

pub fn list(
    conn: &Connection,
    scope: &Visibility,
    filters: &CallFilters,
    order: &Order,
) -> Result<Page<Call>, ApiError> {
    fetch_page(conn, COLUMNS, FROM, &filter(conn, scope, filters)?, order, map_row)
}

/// The conditions of `filters` within `scope`, over [`FROM`].
pub fn filter(conn: &Connection, scope: &Visibility, filters: &CallFilters) -> Result<Filter, ApiError> {
    let mut filter = Filter::new();
    scope.restrict(&mut filter, "c");
    if let Some(status) = filters.status {
        filter.push("c.status = ?", [SqlValue::Text(status.as_str().into())]);
    }
    for (column, value) in [
        ("c.department_id", &filters.department_id),
        ("c.user_id", &filters.user_id),
        ("c.provider_id", &filters.provider_id),
    ] {
        if let Some(value) = value {
            filter.push(&format!("{column} = ?"), [SqlValue::Text(value.clone())]);
        }
    }
    let zone = if filters.dates.has_dates() {
        crate::company::store::timezone(conn)?
    } else {
        chrono_tz::UTC
    };
    filters.dates.restrict(&mut filter, "c.inserted_at", zone);
    filter.search(&["cu.name", "cu.email", "c.protocol"], filters.search.as_deref());
    Ok(filter)
}

/// A customer entering a department's queue.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: String,
    pub department_id: String,
    pub customer_id: String,
    pub access_link_id: Option<String>,
    pub reason: Option<String>,
    /// The name the caller typed, when it is not the customer record's (an unverified match).
    pub caller_name: Option<String>,
    pub customer_verified: bool,
}

/// The next protocol number of today (company time zone), counted in the caller's
/// transaction so numbers are unique and gapless per tenant and day.
fn next_protocol(conn: &Connection) -> Result<String, ApiError> {
    let zone = crate::company::store::timezone(conn)?;
    let day = time::now().with_timezone(&zone).format("%Y%m%d").to_string();
    let number: i64 = conn
        .prepare_cached(
            "INSERT INTO call_protocol_counters (day, last_number) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET last_number = last_number + 1
             RETURNING last_number",
        )?
        .query_row([&day], |row| row.get(0))?;
    Ok(format!("{day}-{number:06}"))
}

/// Inserts a `queued` call with its protocol number and counts it on the customer;
/// returns it with its place in the queue (which the queue topic hears too).
pub fn insert_queued(tx: &WriteTx, call: &NewCall) -> Result<(Call, i64), ApiError> {
    let protocol = next_protocol(tx)?;
    let now = time::now_text();
    tx.prepare_cached(
        "INSERT INTO calls (id, protocol, status, department_id, customer_id, access_link_id, reason, inserted_at, updated_at,
                            caller_name, customer_verified)
         VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
    )?
    .execute(params![
        call.id,
        protocol,
        call.department_id,
        call.customer_id,
        call.access_link_id,
        call.reason,
        now,
        call.caller_name,
        call.customer_verified
    ])?;
    crate::customers::store::record_call(tx, &call.customer_id, &now)?;
    let created = find(tx, &call.id)?;
    crate::audit::create(tx, "call", &created.id, &created)?;
    let position = super::queue::position(tx, &created)?.unwrap_or(1);
    tx.emit(DomainEvent::CallCreated {
        call: created.clone(),
        position,
    })?;
    Ok((created, position))
}

/// Assigns a queued call to `user_id` (whose permission the caller checked), copying the
/// user's provider onto the call. The write is a check-and-set: only a queued call that
/// nobody holds is taken, so of two agents racing exactly one wins and the other gets 409
/// `Call already assigned`. Assigning it again to the same agent changes nothing.
pub fn assign(tx: &WriteTx, call_id: &str, user_id: &str) -> Result<Call, ApiError> {
    let before = find(tx, call_id)?;
    let taken = tx
        .prepare_cached(
            "UPDATE calls SET user_id = ?2, assigned_at = ?3, updated_at = ?3,
                provider_id = (SELECT provider_id FROM users WHERE id = ?2),
                provider_name = (SELECT p.name FROM users u JOIN service_providers p ON p.id = u.provider_id
                                 WHERE u.id = ?2)
             WHERE id = ?1 AND status = 'queued' AND user_id IS NULL",
        )?
        .execute(params![call_id, user_id, time::now_text()])?;
    let call = find(tx, call_id)?;
    if taken == 1 {
        crate::audit::act(tx, "call.assign", call_id, &before, &call)?;
        tx.emit(DomainEvent::CallAssigned { call: call.clone() })?;
        return Ok(call);
    }
    rules::next(call.status, CallAction::Assign)?;
    if call.user_id.as_deref() == Some(user_id) {
        Ok(call)
    } else {
        Err(ApiError::conflict("Call already assigned"))
    }
}

/// Moves a call by `action` (SPEC §4.7 table in [`rules`]), stamping the time of the new
/// status; the action that produced the current status is a no-op.
pub fn transition(tx: &WriteTx, call_id: &str, action: CallAction) -> Result<Call, ApiError> {
    let call = find(tx, call_id)?;
    let next = rules::next(call.status, action)?;
    if next == call.status {
        return Ok(call);
    }
    tx.prepare_cached(&format!(
        "UPDATE calls SET status = ?2, {} = ?3, updated_at = ?3 WHERE id = ?1 AND status = ?4",
        next.timestamp_column()
    ))?
    .execute(params![call_id, next.as_str(), time::now_text(), call.status.as_str()])?;
    let moved = find(tx, call_id)?;
    crate::audit::act(tx, &format!("call.{}", action.verb()), call_id, &call, &moved)?;
    crate::events::emit_some(tx, DomainEvent::call_moved(call.status, moved.clone()))?;
    Ok(moved)
}

/// Calls in progress in the whole tenant (the `max_concurrent_calls` limit counts these).
pub fn active_count(conn: &Connection) -> Result<i64, ApiError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM calls WHERE status = 'active'")?
        .query_row([], |row| row.get(0))?)
}

/// Sweeper job: a call still queued longer than its department's `max_wait_time`
/// (when that is set) becomes `missed`.
pub fn miss_overdue(tx: &WriteTx, sweep: &crate::schedule::Sweep) -> Result<(), ApiError> {
    let missed = tx
        .prepare_cached(
            "UPDATE calls SET status = 'missed', missed_at = ?1, updated_at = ?1
             WHERE status = 'queued'
               AND EXISTS (SELECT 1 FROM departments d
                           WHERE d.id = calls.department_id AND d.max_wait_time > 0
                             AND unixepoch(calls.inserted_at) + d.max_wait_time <= unixepoch(?1))
             RETURNING id",
        )?
        .query_map([time::format(sweep.now)], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for id in missed {
        let call = find(tx, &id)?;
        crate::audit::note(
            tx,
            "call.miss",
            &id,
            serde_json::json!({"status": ["queued", "missed"]}),
        )?;
        crate::events::emit_some(tx, DomainEvent::call_moved(CallStatus::Queued, call))?;
    }
    Ok(())
}

pub fn add_note(tx: &WriteTx, call_id: &str, author_id: &str, note: &str) -> Result<ManagerNote, ApiError> {
    let id = Uuid::new_v4().to_string();
    let now = time::now_text();
    tx.prepare_cached(
        "INSERT INTO call_manager_notes (id, call_id, note, author_id, inserted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, call_id, note, author_id, now])?;
    crate::audit::note(
        tx,
        "call.add_note",
        call_id,
        serde_json::json!({"manager_note": [null, note]}),
    )?;
    let author_name: String = tx
        .prepare_cached("SELECT name FROM users WHERE id = ?1")?
        .query_row([author_id], |row| row.get(0))?;
    Ok(ManagerNote {
        id,
        note: note.to_string(),
        author_id: author_id.to_string(),
        author_name,
        inserted_at: now,
    })
}

const FILE_COLUMNS: &str = "f.id, f.call_id, f.filename, f.content_type, f.size, \
     '/api/v1/calls/' || f.call_id || '/files/' || f.id, f.uploaded_by, f.inserted_at";

fn map_file(row: &Row<'_>) -> rusqlite::Result<CallFile> {
    Ok(CallFile {
        id: row.get(0)?,
        call_id: row.get(1)?,
        filename: row.get(2)?,
        content_type: row.get(3)?,
        size: row.get(4)?,
        url: row.get(5)?,
        uploaded_by: row.get(6)?,
        inserted_at: row.get(7)?,
    })
}

/// A file of `call_id`, or 404 `File not found`.
pub fn find_file(conn: &Connection, call_id: &str, file_id: &str) -> Result<CallFile, ApiError> {
    conn.prepare_cached(&format!(
        "SELECT {FILE_COLUMNS} FROM call_files f WHERE f.call_id = ?1 AND f.id = ?2"
    ))?
    .query_row([call_id, file_id], map_file)
    .optional()?
    .ok_or_else(|| ApiError::not_found("File"))
}

/// Records a file whose bytes are already stored.
pub fn insert_file(
    tx: &WriteTx,
    id: &str,
    call_id: &str,
    filename: &str,
    content_type: &str,
    size: i64,
    uploaded_by: &str,
) -> Result<CallFile, ApiError> {
    tx.prepare_cached(
        "INSERT INTO call_files (id, call_id, filename, content_type, size, uploaded_by, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        call_id,
        filename,
        content_type,
        size,
        uploaded_by,
        time::now_text()
    ])?;
    crate::audit::note(
        tx,
        "call.upload",
        call_id,
        serde_json::json!({"file": [null, filename]}),
    )?;
    find_file(tx, call_id, id)
}

/// Whether a call the customer walked away from should be marked missed: it is still
/// waiting.
pub fn still_waiting(conn: &Connection, call_id: &str) -> Result<bool, ApiError> {
    Ok(get(conn, call_id)?.is_some_and(|call| call.status == CallStatus::Queued))
}
