//! SQL for departments and their members.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::{ApiError, unique_violation_as};
use crate::validation::slugify;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub description: Option<String>,
    pub active: bool,
    pub sector_id: Option<String>,
    pub sector_name: Option<String>,
    /// Customers allowed to wait at once; 0 = unlimited.
    pub max_queue_size: i64,
    /// Seconds a customer may wait before the call is marked missed; 0 = unlimited.
    pub max_wait_time: i64,
    pub user_count: i64,
    /// Patients may book themselves on the department's booking page (SPEC §7.3).
    pub public_booking: bool,
    /// The grid of offered slots, and the length of a self-booked appointment (5–480).
    pub slot_minutes: i64,
    /// Kept free after each appointment (0–240).
    pub buffer_minutes: i64,
    /// No slot starts, and no patient changes a booking, closer to now than this (0–10080).
    pub min_notice_minutes: i64,
    /// Slots are offered up to this many days ahead (1–365).
    pub max_advance_days: i64,
    /// `<public_url>/book/<token>`; null while `public_booking` is off.
    pub booking_url: Option<String>,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "d.id, d.name, d.identifier, d.description, d.active, d.sector_id, s.name, \
     d.max_queue_size, d.max_wait_time, \
     (SELECT count(*) FROM department_members m WHERE m.department_id = d.id), \
     d.public_booking, d.slot_minutes, d.buffer_minutes, d.min_notice_minutes, d.max_advance_days, \
     CASE WHEN d.public_booking = 1 THEN d.booking_url END, d.inserted_at, d.updated_at";
const FROM: &str = "departments d LEFT JOIN sectors s ON s.id = d.sector_id";

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("name", "d.name COLLATE NOCASE"),
        ("identifier", "d.identifier"),
        ("inserted_at", "d.inserted_at"),
    ],
    default_key: "name",
    default_order: SortOrder::Asc,
    default_page_size: 20,
    tie_breaker: "d.id",
};

/// Tables whose rows are a department's history: a department with any of them cannot be
/// deleted, only deactivated. Each later resource adds its table here.
const HISTORY: &[&str] = &["appointments", "calls", "access_links"];

fn map_row(row: &Row<'_>) -> rusqlite::Result<Department> {
    Ok(Department {
        id: row.get(0)?,
        name: row.get(1)?,
        identifier: row.get(2)?,
        description: row.get(3)?,
        active: row.get(4)?,
        sector_id: row.get(5)?,
        sector_name: row.get(6)?,
        max_queue_size: row.get(7)?,
        max_wait_time: row.get(8)?,
        user_count: row.get(9)?,
        public_booking: row.get(10)?,
        slot_minutes: row.get(11)?,
        buffer_minutes: row.get(12)?,
        min_notice_minutes: row.get(13)?,
        max_advance_days: row.get(14)?,
        booking_url: row.get(15)?,
        inserted_at: row.get(16)?,
        updated_at: row.get(17)?,
    })
}

/// A department as its members see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentName {
    pub id: String,
    pub name: String,
}

/// The departments of which `user_id` is a member, by name.
pub fn names_of_member(conn: &Connection, user_id: &str) -> Result<Vec<DepartmentName>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT d.id, d.name FROM department_members m JOIN departments d ON d.id = m.department_id
             WHERE m.user_id = ?1 ORDER BY d.name COLLATE NOCASE, d.id",
        )?
        .query_map([user_id], |row| {
            Ok(DepartmentName {
                id: row.get(0)?,
                name: row.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Department>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE d.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

pub fn find(conn: &Connection, id: &str) -> Result<Department, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("Department"))
}

#[derive(Debug, Default)]
pub struct DepartmentFilters {
    pub search: Option<String>,
    pub active: Option<bool>,
    pub sector_id: Option<String>,
}

pub fn list(conn: &Connection, filters: &DepartmentFilters, order: &Order) -> Result<Page<Department>, ApiError> {
    let mut filter = Filter::new();
    filter.search(&["d.name", "d.identifier"], filters.search.as_deref());
    if let Some(active) = filters.active {
        filter.push("d.active = ?", [SqlValue::Integer(active.into())]);
    }
    if let Some(sector) = &filters.sector_id {
        filter.push("d.sector_id = ?", [SqlValue::Text(sector.clone())]);
    }
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

/// The fields of a department as written by create and update.
#[derive(Debug, Default, Clone)]
pub struct DepartmentFields {
    pub name: Option<String>,
    pub identifier: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
    pub sector_id: Option<Option<String>>,
    pub max_queue_size: Option<i64>,
    pub max_wait_time: Option<i64>,
    pub booking: BookingSettings,
}

/// The booking settings of a create or update; `None` keeps (or defaults) a field.
#[derive(Debug, Default, Clone)]
pub struct BookingSettings {
    pub public_booking: Option<bool>,
    pub slot_minutes: Option<i64>,
    pub buffer_minutes: Option<i64>,
    pub min_notice_minutes: Option<i64>,
    pub max_advance_days: Option<i64>,
}

/// A free identifier derived from `name`: `name`, then `name-2`, `name-3`, …
fn free_identifier(conn: &Connection, name: &str) -> Result<String, ApiError> {
    let base = slugify(name);
    let mut stmt = conn.prepare_cached("SELECT 1 FROM departments WHERE identifier = ?1")?;
    for n in 1.. {
        let candidate = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        if stmt.query_row([&candidate], |_| Ok(())).optional()?.is_none() {
            return Ok(candidate);
        }
    }
    unreachable!("the loop above returns")
}

pub fn insert(tx: &WriteTx, fields: &DepartmentFields) -> Result<Department, ApiError> {
    let name = fields.name.clone().unwrap_or_default();
    let identifier = match &fields.identifier {
        Some(identifier) => identifier.clone(),
        None => free_identifier(tx, &name)?,
    };
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO departments (id, name, identifier, description, active, sector_id, max_queue_size, max_wait_time, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        id,
        name,
        identifier,
        fields.description.clone().flatten(),
        fields.active.unwrap_or(true),
        fields.sector_id.clone().flatten(),
        fields.max_queue_size.unwrap_or(0),
        fields.max_wait_time.unwrap_or(0),
        crate::time::now_text()
    ])
    .map_err(unique_violation_as("identifier"))?;
    set_booking(tx, &id, &fields.booking)?;
    let created = find(tx, &id)?;
    crate::audit::create(tx, "department", &id, &created)?;
    Ok(created)
}

/// Writes the given booking settings; the schema's CHECKs hold the ranges.
fn set_booking(conn: &Connection, id: &str, booking: &BookingSettings) -> Result<(), ApiError> {
    conn.prepare_cached(
        "UPDATE departments SET
            public_booking = coalesce(?2, public_booking),
            slot_minutes = coalesce(?3, slot_minutes),
            buffer_minutes = coalesce(?4, buffer_minutes),
            min_notice_minutes = coalesce(?5, min_notice_minutes),
            max_advance_days = coalesce(?6, max_advance_days)
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        booking.public_booking,
        booking.slot_minutes,
        booking.buffer_minutes,
        booking.min_notice_minutes,
        booking.max_advance_days
    ])?;
    Ok(())
}

/// Gives the department a booking-page token unless it has one (`rotate` replaces it).
/// Answers the token it replaced (rotation) or `token` itself when it went unused, so the
/// caller can drop that entry from the public index.
pub fn set_booking_token(
    conn: &Connection,
    id: &str,
    token: &str,
    url: &str,
    rotate: bool,
) -> Result<Option<String>, ApiError> {
    let current: Option<String> = conn
        .prepare_cached("SELECT booking_token FROM departments WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| ApiError::not_found("Department"))?;
    if current.is_some() && !rotate {
        return Ok(Some(token.to_string()));
    }
    conn.prepare_cached("UPDATE departments SET booking_token = ?2, booking_url = ?3 WHERE id = ?1")?
        .execute(params![id, token, url])?;
    Ok(current)
}

/// The department whose booking page `token` is, while booking is on and it is active.
pub fn by_booking_token(conn: &Connection, token: &str) -> Result<Department, ApiError> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM departments WHERE booking_token = ?1 AND public_booking = 1 AND active = 1")?
        .query_row([token], |row| row.get(0))
        .optional()?;
    match id {
        Some(id) => find(conn, &id),
        None => Err(ApiError::not_found("Booking page")),
    }
}

pub fn update(tx: &WriteTx, id: &str, fields: &DepartmentFields) -> Result<Department, ApiError> {
    let before = find(tx, id)?;
    let changed = tx
        .prepare_cached(
            "UPDATE departments SET
                name = coalesce(?2, name),
                identifier = coalesce(?3, identifier),
                description = CASE WHEN ?4 THEN ?5 ELSE description END,
                active = coalesce(?6, active),
                sector_id = CASE WHEN ?7 THEN ?8 ELSE sector_id END,
                max_queue_size = coalesce(?9, max_queue_size),
                max_wait_time = coalesce(?10, max_wait_time),
                updated_at = ?11
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            fields.name,
            fields.identifier,
            fields.description.is_some(),
            fields.description.clone().flatten(),
            fields.active,
            fields.sector_id.is_some(),
            fields.sector_id.clone().flatten(),
            fields.max_queue_size,
            fields.max_wait_time,
            crate::time::now_text()
        ])
        .map_err(unique_violation_as("identifier"))?;
    if changed == 0 {
        return Err(ApiError::not_found("Department"));
    }
    set_booking(tx, id, &fields.booking)?;
    let after = find(tx, id)?;
    crate::audit::update(tx, "department", id, &before, &after)?;
    Ok(after)
}

pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let before = find(tx, id)?;
    if crate::db::referenced_by(tx, HISTORY, "department_id", id)? {
        return Err(ApiError::Unprocessable(
            "Department has history; deactivate it instead".into(),
        ));
    }
    tx.prepare_cached("DELETE FROM departments WHERE id = ?1")?
        .execute([id])?;
    crate::audit::delete(tx, "department", id, &before)
}

pub fn exists(conn: &Connection, id: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM departments WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Adds a member; adding one twice changes nothing.
pub fn add_member(tx: &WriteTx, department_id: &str, user_id: &str) -> Result<(), ApiError> {
    if tx
        .prepare_cached(
            "INSERT INTO department_members (department_id, user_id, inserted_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (department_id, user_id) DO NOTHING",
        )?
        .execute(params![department_id, user_id, crate::time::now_text()])?
        > 0
    {
        crate::audit::note(
            tx,
            "department.add_member",
            department_id,
            json!({"user_id": [null, user_id]}),
        )?;
    }
    Ok(())
}

pub fn remove_member(tx: &WriteTx, department_id: &str, user_id: &str) -> Result<(), ApiError> {
    if tx
        .prepare_cached("DELETE FROM department_members WHERE department_id = ?1 AND user_id = ?2")?
        .execute(params![department_id, user_id])?
        > 0
    {
        crate::audit::note(
            tx,
            "department.remove_member",
            department_id,
            json!({"user_id": [user_id, null]}),
        )?;
    }
    // Their sockets leave the department's queue and presence topics at once.
    tx.emit(crate::events::DomainEvent::UserAccessChanged {
        user_id: user_id.to_string(),
    })?;
    Ok(())
}

pub fn is_member(conn: &Connection, department_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM department_members WHERE department_id = ?1 AND user_id = ?2")?
        .query_row(params![department_id, user_id], |_| Ok(()))
        .optional()?
        .is_some())
}
