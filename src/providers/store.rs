//! SQL for service providers and their users.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::{ApiError, FieldErrors};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceProvider {
    pub id: String,
    pub name: String,
    /// CNPJ or CPF, as given.
    pub document: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub user_count: i64,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "p.id, p.name, p.document, p.email, p.phone, p.active, \
     (SELECT count(*) FROM users u WHERE u.provider_id = p.id), p.inserted_at, p.updated_at";
const FROM: &str = "service_providers p";

pub const SORT: SortSpec = SortSpec {
    columns: &[("name", "p.name COLLATE NOCASE"), ("inserted_at", "p.inserted_at")],
    default_key: "name",
    default_order: SortOrder::Asc,
    default_page_size: 20,
    tie_breaker: "p.id",
};

/// Tables that attribute rows to a provider: a provider with any of them cannot be
/// deleted, only deactivated. The calls resource adds itself here.
const HISTORY: &[&str] = &["calls"];

fn map_row(row: &Row<'_>) -> rusqlite::Result<ServiceProvider> {
    Ok(ServiceProvider {
        id: row.get(0)?,
        name: row.get(1)?,
        document: row.get(2)?,
        email: row.get(3)?,
        phone: row.get(4)?,
        active: row.get(5)?,
        user_count: row.get(6)?,
        inserted_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<ServiceProvider>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE p.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

pub fn find(conn: &Connection, id: &str) -> Result<ServiceProvider, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("Service provider"))
}

pub fn list(
    conn: &Connection,
    search: Option<&str>,
    active: Option<bool>,
    order: &Order,
) -> Result<Page<ServiceProvider>, ApiError> {
    let mut filter = Filter::new();
    filter.search(&["p.name", "p.document", "p.email"], search);
    if let Some(active) = active {
        filter.push("p.active = ?", [SqlValue::Integer(active.into())]);
    }
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

#[derive(Debug, Default)]
pub struct ProviderFields {
    pub name: Option<String>,
    pub document: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub active: Option<bool>,
}

pub fn insert(tx: &WriteTx, fields: &ProviderFields) -> Result<ServiceProvider, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO service_providers (id, name, document, email, phone, active, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        id,
        fields.name.clone().unwrap_or_default(),
        fields.document.clone().flatten(),
        fields.email.clone().flatten(),
        fields.phone.clone().flatten(),
        fields.active.unwrap_or(true),
        crate::time::now_text()
    ])?;
    let created = find(tx, &id)?;
    crate::audit::create(tx, "service_provider", &id, &created)?;
    Ok(created)
}

pub fn update(tx: &WriteTx, id: &str, fields: &ProviderFields) -> Result<ServiceProvider, ApiError> {
    let before = find(tx, id)?;
    let changed = tx
        .prepare_cached(
            "UPDATE service_providers SET
                name = coalesce(?2, name),
                document = CASE WHEN ?3 THEN ?4 ELSE document END,
                email = CASE WHEN ?5 THEN ?6 ELSE email END,
                phone = CASE WHEN ?7 THEN ?8 ELSE phone END,
                active = coalesce(?9, active),
                updated_at = ?10
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            fields.name,
            fields.document.is_some(),
            fields.document.clone().flatten(),
            fields.email.is_some(),
            fields.email.clone().flatten(),
            fields.phone.is_some(),
            fields.phone.clone().flatten(),
            fields.active,
            crate::time::now_text()
        ])?;
    if changed == 0 {
        return Err(ApiError::not_found("Service provider"));
    }
    let after = find(tx, id)?;
    crate::audit::update(tx, "service_provider", id, &before, &after)?;
    Ok(after)
}

/// Deletes a provider without attributed calls; its users are dissociated (the foreign
/// key says `ON DELETE SET NULL`).
pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let before = find(tx, id)?;
    if crate::db::referenced_by(tx, HISTORY, "provider_id", id)? {
        return Err(ApiError::Unprocessable(
            "Provider has attributed calls; deactivate it instead".into(),
        ));
    }
    tx.prepare_cached("DELETE FROM service_providers WHERE id = ?1")?
        .execute([id])?;
    crate::audit::delete(tx, "service_provider", id, &before)
}

/// Associates a user: a no-op when already with this provider, 422 when with another.
pub fn associate(tx: &WriteTx, provider_id: &str, user_id: &str) -> Result<(), ApiError> {
    let current: Option<Option<String>> = tx
        .prepare_cached("SELECT provider_id FROM users WHERE id = ?1")?
        .query_row([user_id], |row| row.get(0))
        .optional()?;
    match current {
        None => Err(FieldErrors::single("user_id", "does not exist")),
        Some(Some(other)) if other != provider_id => Err(FieldErrors::single(
            "user_id",
            "is already associated with another provider",
        )),
        Some(Some(_)) => Ok(()),
        Some(None) => {
            tx.prepare_cached("UPDATE users SET provider_id = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![user_id, provider_id, crate::time::now_text()])?;
            crate::audit::note(
                tx,
                "service_provider.associate",
                provider_id,
                json!({"user_id": [null, user_id]}),
            )
        }
    }
}

pub fn dissociate(tx: &WriteTx, provider_id: &str, user_id: &str) -> Result<(), ApiError> {
    if tx
        .prepare_cached("UPDATE users SET provider_id = NULL, updated_at = ?3 WHERE id = ?1 AND provider_id = ?2")?
        .execute(params![user_id, provider_id, crate::time::now_text()])?
        > 0
    {
        crate::audit::note(
            tx,
            "service_provider.dissociate",
            provider_id,
            json!({"user_id": [user_id, null]}),
        )?;
    }
    Ok(())
}
