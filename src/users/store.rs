//! SQL for users.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::{ApiError, unique_violation_as};

/// A user as the API shows it: never a password, hash or MFA secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub avatar_url: Option<String>,
    pub mfa_enabled: bool,
    pub locale: String,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub department_ids: Vec<String>,
    pub last_login_at: Option<String>,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "u.id, u.name, u.email, u.role, u.active, u.avatar_url, u.mfa_enabled, u.locale, \
     u.provider_id, p.name, u.last_login_at, u.inserted_at, u.updated_at, \
     (SELECT group_concat(m.department_id) FROM department_members m WHERE m.user_id = u.id)";
const FROM: &str = "users u LEFT JOIN service_providers p ON p.id = u.provider_id";

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("name", "u.name COLLATE NOCASE"),
        ("email", "u.email"),
        ("role", "u.role"),
        ("inserted_at", "u.inserted_at"),
    ],
    default_key: "name",
    default_order: SortOrder::Asc,
    default_page_size: 20,
    tie_breaker: "u.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    let departments: Option<String> = row.get(13)?;
    let mut department_ids: Vec<String> = departments
        .map(|d| d.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    department_ids.sort();
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Attendant),
        active: row.get(4)?,
        avatar_url: row.get(5)?,
        mfa_enabled: row.get(6)?,
        locale: row.get(7)?,
        provider_id: row.get(8)?,
        provider_name: row.get(9)?,
        last_login_at: row.get(10)?,
        inserted_at: row.get(11)?,
        updated_at: row.get(12)?,
        department_ids,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<User>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE u.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

/// The user or a 404.
pub fn find(conn: &Connection, id: &str) -> Result<User, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("User"))
}

pub fn exists(conn: &Connection, id: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

#[derive(Debug, Default)]
pub struct UserFilters {
    pub search: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Members of this department only.
    pub department_id: Option<String>,
    /// Associated with this provider only.
    pub provider_id: Option<String>,
}

pub fn list(conn: &Connection, filters: &UserFilters, order: &Order) -> Result<Page<User>, ApiError> {
    let mut filter = Filter::new();
    filter.search(&["u.name", "u.email"], filters.search.as_deref());
    if let Some(role) = filters.role {
        filter.push("u.role = ?", [SqlValue::Text(role.as_str().into())]);
    }
    if let Some(active) = filters.active {
        filter.push("u.active = ?", [SqlValue::Integer(active.into())]);
    }
    if let Some(department) = &filters.department_id {
        // `+u.id`: the members are checked while the name index is read in order, rather
        // than looked up one by one and then sorted.
        filter.push(
            "+u.id IN (SELECT user_id FROM department_members WHERE department_id = ?)",
            [SqlValue::Text(department.clone())],
        );
    }
    if let Some(provider) = &filters.provider_id {
        filter.push("u.provider_id = ?", [SqlValue::Text(provider.clone())]);
    }
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

pub struct NewUser {
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub locale: String,
    pub avatar_url: Option<String>,
}

pub fn insert(tx: &WriteTx, new: &NewUser) -> Result<User, ApiError> {
    let id = Uuid::new_v4().to_string();
    let now = crate::time::now_text();
    tx.prepare_cached(
        "INSERT INTO users (id, name, email, password_hash, role, active, locale, avatar_url, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        id,
        new.name,
        new.email,
        new.password_hash,
        new.role.as_str(),
        new.active,
        new.locale,
        new.avatar_url,
        now
    ])
    .map_err(unique_violation_as("email"))?;
    let user = find(tx, &id)?;
    crate::audit::create(tx, "user", &id, &user)?;
    Ok(user)
}

/// The changes of an update; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub password_hash: Option<String>,
}

pub fn update(tx: &WriteTx, id: &str, changes: &UserChanges) -> Result<User, ApiError> {
    let before = get(tx, id)?;
    let now = crate::time::now_text();
    let avatar_set = changes.avatar_url.is_some();
    let avatar = changes.avatar_url.clone().flatten();
    let changed = tx
        .prepare_cached(
            "UPDATE users SET
                name = coalesce(?2, name),
                email = coalesce(?3, email),
                role = coalesce(?4, role),
                active = coalesce(?5, active),
                locale = coalesce(?6, locale),
                avatar_url = CASE WHEN ?7 THEN ?8 ELSE avatar_url END,
                password_hash = coalesce(?9, password_hash),
                updated_at = ?10
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            changes.name,
            changes.email,
            changes.role.map(Role::as_str),
            changes.active,
            changes.locale,
            avatar_set,
            avatar,
            changes.password_hash,
            now
        ])
        .map_err(unique_violation_as("email"))?;
    if changed == 0 {
        return Err(ApiError::not_found("User"));
    }
    if changes.role.is_some() || changes.active == Some(false) {
        // Open sockets check their topics again (a demoted supervisor leaves `dashboard`).
        tx.emit(crate::events::DomainEvent::UserAccessChanged {
            user_id: id.to_string(),
        })?;
    }
    if changes.password_hash.is_some() {
        // A new password, however it was set, spends every reset link still pending.
        tx.prepare_cached("UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL")?
            .execute(params![id, now])?;
    }
    let user = find(tx, id)?;
    // The password itself never reaches the log, only the fact that it changed.
    let mut after = serde_json::to_value(&user).map_err(ApiError::from_source)?;
    after["password_changed"] = changes.password_hash.is_some().then_some(true).into();
    crate::audit::update(tx, "user", id, &before, &after)?;
    Ok(user)
}

/// What login needs to know about an e-mail address.
pub struct Credentials {
    pub id: String,
    pub password_hash: String,
    pub active: bool,
    pub role: Role,
    pub mfa_enabled: bool,
}

pub fn credentials_by_email(conn: &Connection, email: &str) -> Result<Option<Credentials>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, password_hash, active, role, mfa_enabled FROM users WHERE lower(email) = lower(?1)",
        )?
        .query_row([email.trim()], |row| {
            let role: String = row.get(3)?;
            Ok(Credentials {
                id: row.get(0)?,
                password_hash: row.get(1)?,
                active: row.get(2)?,
                role: Role::parse(&role).unwrap_or(Role::Attendant),
                mfa_enabled: row.get(4)?,
            })
        })
        .optional()?)
}

pub fn password_hash(conn: &Connection, id: &str) -> Result<Option<String>, ApiError> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM users WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

pub fn record_login(conn: &Connection, id: &str) -> Result<(), ApiError> {
    conn.prepare_cached("UPDATE users SET last_login_at = ?2 WHERE id = ?1")?
        .execute(params![id, crate::time::now_text()])?;
    Ok(())
}
