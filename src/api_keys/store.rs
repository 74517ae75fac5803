//! SQL for API keys.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ActiveKey;
use crate::auth::Role;
use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// `vk_<slug>_` and the key's first characters, to tell keys apart.
    pub prefix: String,
    /// The whole key: only in the response of the create, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The user who created it; the key acts under their identity.
    pub created_by: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub inserted_at: String,
}

const COLUMNS: &str = "k.id, k.name, k.role, k.prefix, k.user_id, k.expires_at, k.last_used_at, k.inserted_at";

pub const SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "k.inserted_at"), ("name", "k.name COLLATE NOCASE")],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "k.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let role: String = row.get(2)?;
    Ok(ApiKey {
        id: row.get(0)?,
        name: row.get(1)?,
        role: Role::parse(&role).ok_or_else(|| crate::db::unknown_text(2, &role))?,
        prefix: row.get(3)?,
        key: None,
        created_by: row.get(4)?,
        expires_at: row.get(5)?,
        last_used_at: row.get(6)?,
        inserted_at: row.get(7)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<ApiKey, ApiError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM api_keys k WHERE k.id = ?1 AND k.deleted_at IS NULL"
    ))?
    .query_row([id], map_row)
    .optional()?
    .ok_or_else(|| ApiError::not_found("API key"))
}

pub fn list(conn: &Connection, order: &Order) -> Result<Page<ApiKey>, ApiError> {
    let mut filter = Filter::new();
    filter.push("k.deleted_at IS NULL", []);
    fetch_page(conn, COLUMNS, "api_keys k", &filter, order, map_row)
}

pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<String>,
    pub user_id: String,
    pub key: String,
}

pub fn insert(tx: &WriteTx, new: &NewKey) -> Result<ApiKey, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO api_keys (id, name, prefix, key_hash, role, user_id, expires_at, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        new.name,
        super::prefix(&new.key),
        crate::auth::token::hash_token(&new.key),
        new.role.as_str(),
        new.user_id,
        new.expires_at,
        crate::time::now_text()
    ])?;
    let created = find(tx, &id)?;
    crate::audit::create(tx, "api_key", &id, &created)?;
    Ok(ApiKey {
        key: Some(new.key.clone()),
        ..created
    })
}

/// Deletes a key for good (its row stays, marked, so the audit log can still name it).
pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let key = find(tx, id)?;
    tx.prepare_cached("UPDATE api_keys SET deleted_at = ?2 WHERE id = ?1")?
        .execute(params![id, crate::time::now_text()])?;
    crate::audit::delete(tx, "api_key", id, &key)?;
    Ok(())
}

/// The live key whose hash is `hash`, for authentication.
pub fn by_hash(conn: &Connection, tenant: &str, hash: &str) -> Result<Option<ActiveKey>, ApiError> {
    let found = conn
        .prepare_cached(
            "SELECT id, name, role, user_id, expires_at FROM api_keys WHERE key_hash = ?1 AND deleted_at IS NULL",
        )?
        .query_row([hash], |row| {
            let role: String = row.get(2)?;
            let expires_at: Option<String> = row.get(4)?;
            Ok(ActiveKey {
                id: row.get(0)?,
                name: row.get(1)?,
                tenant: tenant.to_string(),
                role: Role::parse(&role).ok_or_else(|| crate::db::unknown_text(2, &role))?,
                user_id: row.get(3)?,
                expires_at: expires_at.as_deref().and_then(crate::time::parse),
            })
        })
        .optional()?;
    Ok(found)
}

pub fn touch(conn: &Connection, id: &str) -> Result<(), ApiError> {
    conn.prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")?
        .execute(params![id, crate::time::now_text()])?;
    Ok(())
}
