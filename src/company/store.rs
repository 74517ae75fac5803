//! SQL for the company row.

use rusqlite::{Connection, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Company {
    pub id: String,
    pub name: String,
    /// The tenant slug; immutable.
    pub slug: String,
    pub document: Option<String>,
    pub document_type: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub logo_url: Option<String>,
    pub primary_color: String,
    /// Plan limit from the server configuration (`null` = unlimited); read-only.
    pub max_concurrent_calls: Option<i64>,
    pub recording_enabled: bool,
    pub transcription_enabled: bool,
    pub mfa_required: bool,
    /// Always `self_hosted`.
    pub plan: String,
    /// IANA time zone in which dates (`date_from`, `date_to`, hourly reports) are read.
    pub timezone: String,
    pub welcome_message: Option<String>,
    /// Language of e-mails to patients (and to staff without a locale of their own):
    /// `en`, `pt-BR` or `fr`.
    pub locale: String,
    /// Whether patients get e-mails about their appointments (§7.1).
    pub notify_customers: bool,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, name, slug, document, document_type, email, phone, logo_url, primary_color, \
     recording_enabled, transcription_enabled, mfa_required, timezone, welcome_message, inserted_at, updated_at, \
     locale, notify_customers";

fn map_row(row: &Row<'_>, max_concurrent_calls: Option<i64>) -> rusqlite::Result<Company> {
    Ok(Company {
        id: row.get(0)?,
        name: row.get(1)?,
        slug: row.get(2)?,
        document: row.get(3)?,
        document_type: row.get(4)?,
        email: row.get(5)?,
        phone: row.get(6)?,
        logo_url: row.get(7)?,
        primary_color: row.get(8)?,
        recording_enabled: row.get(9)?,
        transcription_enabled: row.get(10)?,
        mfa_required: row.get(11)?,
        timezone: row.get(12)?,
        welcome_message: row.get(13)?,
        inserted_at: row.get(14)?,
        updated_at: row.get(15)?,
        locale: row.get(16)?,
        notify_customers: row.get(17)?,
        max_concurrent_calls,
        plan: "self_hosted".into(),
    })
}

pub fn get(conn: &Connection, max_concurrent_calls: Option<i64>) -> Result<Company, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM company"))?
        .query_row([], |row| map_row(row, max_concurrent_calls))?)
}

/// The company's time zone (falls back to UTC should the stored name ever be unknown).
pub fn timezone(conn: &Connection) -> Result<chrono_tz::Tz, ApiError> {
    let name: String = conn
        .prepare_cached("SELECT timezone FROM company")?
        .query_row([], |row| row.get(0))?;
    Ok(name.parse().unwrap_or(chrono_tz::UTC))
}

/// The company's time zone and locale, as stored (what every staff screen needs).
pub fn timezone_and_locale(conn: &Connection) -> Result<(String, String), ApiError> {
    Ok(conn
        .prepare_cached("SELECT timezone, locale FROM company")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?)
}

/// Creates the company row of a new tenant.
pub fn insert(conn: &Connection, slug: &str, name: &str, timezone: &str) -> Result<(), ApiError> {
    conn.execute(
        "INSERT INTO company (id, name, slug, timezone, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            Uuid::new_v4().to_string(),
            name,
            slug,
            timezone,
            crate::time::now_text()
        ],
    )?;
    Ok(())
}

/// Sets the e-mail language of a new tenant (`default_locale`).
pub fn set_locale(conn: &Connection, locale: &str) -> Result<(), ApiError> {
    conn.prepare_cached("UPDATE company SET locale = ?1")?
        .execute([locale])?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct CompanyChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub primary_color: Option<String>,
    pub recording_enabled: Option<bool>,
    pub transcription_enabled: Option<bool>,
    pub mfa_required: Option<bool>,
    pub timezone: Option<String>,
    pub welcome_message: Option<Option<String>>,
    pub locale: Option<String>,
    pub notify_customers: Option<bool>,
}

pub fn update(tx: &WriteTx, changes: &CompanyChanges, max_concurrent_calls: Option<i64>) -> Result<Company, ApiError> {
    let before = get(tx, max_concurrent_calls)?;
    tx.prepare_cached(
        "UPDATE company SET
            name = coalesce(?1, name),
            email = CASE WHEN ?2 THEN ?3 ELSE email END,
            phone = CASE WHEN ?4 THEN ?5 ELSE phone END,
            logo_url = CASE WHEN ?6 THEN ?7 ELSE logo_url END,
            primary_color = coalesce(?8, primary_color),
            recording_enabled = coalesce(?9, recording_enabled),
            transcription_enabled = coalesce(?10, transcription_enabled),
            mfa_required = coalesce(?11, mfa_required),
            timezone = coalesce(?12, timezone),
            welcome_message = CASE WHEN ?13 THEN ?14 ELSE welcome_message END,
            updated_at = ?15,
            locale = coalesce(?16, locale),
            notify_customers = coalesce(?17, notify_customers)",
    )?
    .execute(params![
        changes.name,
        changes.email.is_some(),
        changes.email.clone().flatten(),
        changes.phone.is_some(),
        changes.phone.clone().flatten(),
        changes.logo_url.is_some(),
        changes.logo_url.clone().flatten(),
        changes.primary_color,
        changes.recording_enabled,
        changes.transcription_enabled,
        changes.mfa_required,
        changes.timezone,
        changes.welcome_message.is_some(),
        changes.welcome_message.clone().flatten(),
        crate::time::now_text(),
        changes.locale,
        changes.notify_customers
    ])?;
    let after = get(tx, max_concurrent_calls)?;
    crate::audit::update(tx, "company", &after.id, &before, &after)?;
    Ok(after)
}
