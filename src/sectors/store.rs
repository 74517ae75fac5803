//! SQL for sectors.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sector {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub department_count: i64,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "s.id, s.name, s.description, s.active, \
     (SELECT count(*) FROM departments d WHERE d.sector_id = s.id), s.inserted_at, s.updated_at";
const FROM: &str = "sectors s";

pub const SORT: SortSpec = SortSpec {
    columns: &[("name", "s.name COLLATE NOCASE"), ("inserted_at", "s.inserted_at")],
    default_key: "name",
    default_order: SortOrder::Asc,
    default_page_size: 20,
    tie_breaker: "s.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Sector> {
    Ok(Sector {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        active: row.get(3)?,
        department_count: row.get(4)?,
        inserted_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Sector>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE s.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

pub fn find(conn: &Connection, id: &str) -> Result<Sector, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("Sector"))
}

pub fn list(
    conn: &Connection,
    search: Option<&str>,
    active: Option<bool>,
    order: &Order,
) -> Result<Page<Sector>, ApiError> {
    let mut filter = Filter::new();
    filter.search(&["s.name"], search);
    if let Some(active) = active {
        filter.push("s.active = ?", [SqlValue::Integer(active.into())]);
    }
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

#[derive(Debug, Default)]
pub struct SectorFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

pub fn insert(tx: &WriteTx, fields: &SectorFields) -> Result<Sector, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO sectors (id, name, description, active, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        id,
        fields.name.clone().unwrap_or_default(),
        fields.description.clone().flatten(),
        fields.active.unwrap_or(true),
        crate::time::now_text()
    ])?;
    let created = find(tx, &id)?;
    crate::audit::create(tx, "sector", &id, &created)?;
    Ok(created)
}

pub fn update(tx: &WriteTx, id: &str, fields: &SectorFields) -> Result<Sector, ApiError> {
    let before = find(tx, id)?;
    let changed = tx
        .prepare_cached(
            "UPDATE sectors SET
                name = coalesce(?2, name),
                description = CASE WHEN ?3 THEN ?4 ELSE description END,
                active = coalesce(?5, active),
                updated_at = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            fields.name,
            fields.description.is_some(),
            fields.description.clone().flatten(),
            fields.active,
            crate::time::now_text()
        ])?;
    if changed == 0 {
        return Err(ApiError::not_found("Sector"));
    }
    let after = find(tx, id)?;
    crate::audit::update(tx, "sector", id, &before, &after)?;
    Ok(after)
}

/// Deletes a sector; its departments keep existing with `sector_id = null` (the foreign
/// key says `ON DELETE SET NULL`).
pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let before = find(tx, id)?;
    if tx.prepare_cached("DELETE FROM sectors WHERE id = ?1")?.execute([id])? == 0 {
        return Err(ApiError::not_found("Sector"));
    }
    crate::audit::delete(tx, "sector", id, &before)
}
