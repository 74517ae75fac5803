//! SQL for access links. The status every read shows is computed from the stored one and
//! the clock, so no answer ever calls a link `active` after its `expires_at`, whether or
//! not the sweeper has persisted `expired` yet.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{self, LinkAction, LinkStatus};
use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::{ApiError, FieldErrors};

/// The status of row `l` as of now (SQLite's clock, in the stored text format).
macro_rules! current_status {
    () => {
        "CASE WHEN l.status = 'active' AND l.expires_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now') \
         THEN 'expired' ELSE l.status END"
    };
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessLink {
    pub id: String,
    /// Unguessable (256 random bits), URL-safe.
    pub token: String,
    /// `<public_url>/call/<token>`: the page the customer opens.
    pub url: String,
    pub status: LinkStatus,
    pub department_id: String,
    pub department_name: String,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    /// A reusable link admits any number of customers until it expires.
    pub reusable: bool,
    /// How many customers joined a queue with this link.
    pub use_count: i64,
    pub expires_at: String,
    /// When it was (last) used.
    pub used_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub inserted_at: String,
}

const COLUMNS: &str = concat!(
    "l.id, l.token, ",
    current_status!(),
    ", l.department_id, d.name, l.customer_name, l.customer_email, l.customer_phone, \
     l.reusable, l.use_count, l.expires_at, l.used_at, l.cancelled_at, l.inserted_at"
);
/// Links `l` with their department `d`.
pub const FROM: &str = "access_links l JOIN departments d ON d.id = l.department_id";

/// The status of link `l` as every read shows it.
pub const STATUS: &str = current_status!();

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("inserted_at", "l.inserted_at"),
        ("expires_at", "l.expires_at"),
        ("used_at", "l.used_at"),
        ("customer_name", "l.customer_name COLLATE NOCASE"),
    ],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "l.id",
};

/// The customer page of a token.
pub fn url(base: &str, token: &str) -> String {
    format!("{base}/call/{token}")
}

fn map_row(base: &str) -> impl Fn(&Row<'_>) -> rusqlite::Result<AccessLink> + '_ {
    move |row| {
        let token: String = row.get(1)?;
        let status: String = row.get(2)?;
        Ok(AccessLink {
            id: row.get(0)?,
            url: url(base, &token),
            token,
            status: LinkStatus::parse(&status).ok_or_else(|| crate::db::unknown_text(2, &status))?,
            department_id: row.get(3)?,
            department_name: row.get(4)?,
            customer_name: row.get(5)?,
            customer_email: row.get(6)?,
            customer_phone: row.get(7)?,
            reusable: row.get(8)?,
            use_count: row.get(9)?,
            expires_at: row.get(10)?,
            used_at: row.get(11)?,
            cancelled_at: row.get(12)?,
            inserted_at: row.get(13)?,
        })
    }
}

pub fn get(conn: &Connection, base: &str, id: &str) -> Result<Option<AccessLink>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE l.id = ?1"))?
        .query_row([id], map_row(base))
        .optional()?)
}

pub fn find(conn: &Connection, base: &str, id: &str) -> Result<AccessLink, ApiError> {
    get(conn, base, id)?.ok_or_else(|| ApiError::not_found("Access link"))
}

pub fn by_token(conn: &Connection, base: &str, token: &str) -> Result<Option<AccessLink>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE l.token = ?1"))?
        .query_row([token], map_row(base))
        .optional()?)
}

/// The one answer for every link a customer cannot use: unknown, used, expired,
/// cancelled, or for an inactive department (SPEC §4.6), so nothing can be told apart.
pub fn invalid_link() -> ApiError {
    ApiError::NotFound("Invalid or expired access link".into())
}

/// The link of `token` if a customer may join with it now, else [`invalid_link`].
pub fn usable(conn: &Connection, base: &str, token: &str) -> Result<AccessLink, ApiError> {
    let link = by_token(conn, base, token)?.ok_or_else(invalid_link)?;
    let department_active = crate::departments::store::get(conn, &link.department_id)?.is_some_and(|d| d.active);
    if link.status != LinkStatus::Active || !department_active {
        return Err(invalid_link());
    }
    Ok(link)
}

#[derive(Debug, Default)]
pub struct LinkFilters {
    pub status: Option<LinkStatus>,
    pub department_id: Option<String>,
}

pub fn list(conn: &Connection, base: &str, filters: &LinkFilters, order: &Order) -> Result<Page<AccessLink>, ApiError> {
    fetch_page(conn, COLUMNS, FROM, &filter(filters), order, map_row(base))
}

/// The conditions of `filters`, over [`FROM`].
pub fn filter(filters: &LinkFilters) -> Filter {
    let mut filter = Filter::new();
    if let Some(status) = filters.status {
        filter.push(
            concat!(current_status!(), " = ?"),
            [SqlValue::Text(status.as_str().into())],
        );
    }
    if let Some(department) = &filters.department_id {
        filter.push("l.department_id = ?", [SqlValue::Text(department.clone())]);
    }
    filter
}

/// A link to create; its fields are already validated.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub department_id: String,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub expires_at: crate::time::Timestamp,
    pub reusable: bool,
}

/// The department a link sends customers to must exist and be active.
pub fn check_department(conn: &Connection, department_id: &str) -> Result<(), ApiError> {
    match crate::departments::store::get(conn, department_id)? {
        None => Err(FieldErrors::single("department_id", "does not exist")),
        Some(department) if !department.active => Err(FieldErrors::single("department_id", "is inactive")),
        Some(_) => Ok(()),
    }
}

pub fn insert(
    tx: &WriteTx,
    base: &str,
    link: &NewLink,
    token: &str,
    created_by: Option<&str>,
) -> Result<AccessLink, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO access_links (id, token, department_id, customer_name, customer_email, customer_phone,
                                   reusable, expires_at, created_by, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        id,
        token,
        link.department_id,
        link.customer_name,
        link.customer_email,
        link.customer_phone,
        link.reusable,
        crate::time::format(link.expires_at),
        created_by,
        crate::time::now_text()
    ])?;
    let created = find(tx, base, &id)?;
    crate::audit::create(tx, "access_link", &id, &created)?;
    Ok(created)
}

/// Cancels a link; cancelling a cancelled link changes nothing, `used`/`expired` → 422.
pub fn cancel(tx: &WriteTx, base: &str, id: &str) -> Result<AccessLink, ApiError> {
    let link = find(tx, base, id)?;
    if rules::next(link.status, LinkAction::Cancel)? != link.status {
        let now = crate::time::now_text();
        tx.prepare_cached(
            "UPDATE access_links SET status = 'cancelled', cancelled_at = ?2, updated_at = ?2 WHERE id = ?1",
        )?
        .execute(params![id, now])?;
        crate::audit::act(tx, "access_link.cancel", id, &link, &find(tx, base, id)?)?;
    }
    find(tx, base, id)
}

/// Records that a customer joined with `link` (usable, checked by the caller): a
/// single-use link becomes `used`, a reusable one counts the use.
pub fn record_use(tx: &WriteTx, link: &AccessLink) -> Result<(), ApiError> {
    let next = rules::next(
        link.status,
        LinkAction::Use {
            reusable: link.reusable,
        },
    )?;
    tx.prepare_cached(
        "UPDATE access_links SET status = ?2, use_count = use_count + 1, used_at = ?3, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![link.id, next.as_str(), crate::time::now_text()])?;
    let changes = serde_json::json!({"status": [link.status.as_str(), next.as_str()], "use_count": [link.use_count, link.use_count + 1]});
    crate::audit::note(tx, "access_link.use", &link.id, changes)
}

/// Sweeper job: persists `expired` on every active link past its `expires_at`.
pub fn expire_due(tx: &WriteTx, sweep: &crate::schedule::Sweep) -> Result<(), ApiError> {
    let now = crate::time::format(sweep.now);
    let expired: Vec<String> = tx
        .prepare_cached(
            "UPDATE access_links SET status = 'expired', updated_at = ?1 WHERE status = 'active' AND expires_at <= ?1
             RETURNING id",
        )?
        .query_map([now], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for id in expired {
        crate::audit::note(
            tx,
            "access_link.expire",
            &id,
            serde_json::json!({"status": ["active", "expired"]}),
        )?;
    }
    Ok(())
}
