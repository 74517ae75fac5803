//! SQL for customers, the matching rule and merges.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::{ApiError, FieldErrors};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// CPF or CNPJ.
    pub document: Option<String>,
    pub notes: Option<String>,
    pub call_count: i64,
    pub last_call_at: Option<String>,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str =
    "c.id, c.name, c.email, c.phone, c.document, c.notes, c.call_count, c.last_call_at, c.inserted_at, c.updated_at";
pub const FROM: &str = "customers c";

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("name", "c.name COLLATE NOCASE"),
        ("email", "c.email"),
        ("inserted_at", "c.inserted_at"),
        ("last_call_at", "c.last_call_at"),
    ],
    default_key: "name",
    default_order: SortOrder::Asc,
    default_page_size: 20,
    tie_breaker: "c.id",
};

/// Tables whose rows point at a customer (`customer_id`). A customer referenced by any of
/// them cannot be deleted (merge instead), and a merge moves these rows to the primary.
/// Each later resource adds its table here. (Evaluations belong to a call, so they follow it.)
pub const REFERENCES: &[&str] = &["appointments", "calls"];

fn map_row(row: &Row<'_>) -> rusqlite::Result<Customer> {
    Ok(Customer {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        phone: row.get(3)?,
        document: row.get(4)?,
        notes: row.get(5)?,
        call_count: row.get(6)?,
        last_call_at: row.get(7)?,
        inserted_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

/// The digits of a phone number, the key phones are matched by.
pub fn phone_digits(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Customer>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

pub fn find(conn: &Connection, id: &str) -> Result<Customer, ApiError> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found("Customer"))
}

pub fn list(conn: &Connection, search: Option<&str>, order: &Order) -> Result<Page<Customer>, ApiError> {
    let mut filter = Filter::new();
    filter.search(&["c.name", "c.email", "c.phone", "c.phone_digits"], search);
    fetch_page(conn, COLUMNS, FROM, &filter, order, map_row)
}

/// The fields of a customer as written by create and update; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct CustomerFields {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub document: Option<Option<String>>,
    pub notes: Option<Option<String>>,
}

pub fn insert(conn: &Connection, fields: &CustomerFields) -> Result<Customer, ApiError> {
    let id = Uuid::new_v4().to_string();
    let phone = fields.phone.clone().flatten();
    conn.prepare_cached(
        "INSERT INTO customers (id, name, email, phone, phone_digits, document, notes, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        id,
        fields.name.clone().unwrap_or_default(),
        fields.email.clone().flatten(),
        phone,
        phone.as_deref().and_then(phone_digits),
        fields.document.clone().flatten(),
        fields.notes.clone().flatten(),
        crate::time::now_text()
    ])?;
    find(conn, &id)
}

/// Inserts a new customer and announces it (`customer.created`) in the same transaction.
pub fn create(tx: &WriteTx, fields: &CustomerFields) -> Result<Customer, ApiError> {
    let customer = insert(tx, fields)?;
    crate::audit::create(tx, "customer", &customer.id, &customer)?;
    tx.emit(crate::events::DomainEvent::CustomerCreated {
        customer: customer.clone(),
    })?;
    Ok(customer)
}

pub fn update(tx: &WriteTx, id: &str, fields: &CustomerFields) -> Result<Customer, ApiError> {
    let before = find(tx, id)?;
    let phone = fields.phone.clone().flatten();
    let changed = tx
        .prepare_cached(
            "UPDATE customers SET
                name = coalesce(?2, name),
                email = CASE WHEN ?3 THEN ?4 ELSE email END,
                phone = CASE WHEN ?5 THEN ?6 ELSE phone END,
                phone_digits = CASE WHEN ?5 THEN ?7 ELSE phone_digits END,
                document = CASE WHEN ?8 THEN ?9 ELSE document END,
                notes = CASE WHEN ?10 THEN ?11 ELSE notes END,
                updated_at = ?12
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            fields.name,
            fields.email.is_some(),
            fields.email.clone().flatten(),
            fields.phone.is_some(),
            phone,
            phone.as_deref().and_then(phone_digits),
            fields.document.is_some(),
            fields.document.clone().flatten(),
            fields.notes.is_some(),
            fields.notes.clone().flatten(),
            crate::time::now_text()
        ])?;
    if changed == 0 {
        return Err(ApiError::not_found("Customer"));
    }
    let after = find(tx, id)?;
    crate::audit::update(tx, "customer", id, &before, &after)?;
    Ok(after)
}

/// Deletes a customer without calls or appointments → else 422 (merge instead).
pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let customer = find(tx, id)?;
    if customer.call_count > 0 || crate::db::referenced_by(tx, REFERENCES, "customer_id", id)? {
        return Err(ApiError::Unprocessable("Customer has history; merge it instead".into()));
    }
    tx.prepare_cached("DELETE FROM customers WHERE id = ?1")?
        .execute([id])?;
    crate::audit::delete(tx, "customer", id, &customer)
}

/// A staff member reads a customer's record: `customer.view` in the audit log.
pub fn view(tx: &WriteTx, id: &str) -> Result<Customer, ApiError> {
    let customer = find(tx, id)?;
    crate::audit::note(tx, "customer.view", id, serde_json::json!({}))?;
    Ok(customer)
}

/// Counts a new call on its customer (`call_count`, `last_call_at`).
pub fn record_call(conn: &Connection, id: &str, at: &str) -> Result<(), ApiError> {
    conn.prepare_cached(
        "UPDATE customers SET call_count = call_count + 1, last_call_at = ?2, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, at])?;
    Ok(())
}

/// A customer as described by someone who has no id for them: a name and maybe an
/// e-mail and a phone (already validated).
#[derive(Debug, Clone, Default)]
pub struct CustomerDetails {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A widget caller (nobody vouches for what they typed) matched by the rule of
/// [`match_or_create`]: a match is for history only — the stored record is left as it
/// was. Returns the customer and whether it is new.
pub fn match_anonymous(tx: &WriteTx, details: &CustomerDetails) -> Result<(Customer, bool), ApiError> {
    match find_match(tx, details)? {
        Some(id) => Ok((find(tx, &id)?, false)),
        None => match_or_create(tx, details),
    }
}

/// The customer the matching rule finds for `details`, if any.
fn find_match(conn: &Connection, details: &CustomerDetails) -> Result<Option<String>, ApiError> {
    let by_email = match &details.email {
        Some(email) => conn
            .prepare_cached("SELECT id FROM customers WHERE lower(email) = lower(?1) ORDER BY inserted_at, id LIMIT 1")?
            .query_row([email], |row| row.get::<_, String>(0))
            .optional()?,
        None => None,
    };
    Ok(match (by_email, details.phone.as_deref().and_then(phone_digits)) {
        (Some(id), _) => Some(id),
        (None, Some(digits)) => conn
            .prepare_cached("SELECT id FROM customers WHERE phone_digits = ?1 ORDER BY inserted_at, id LIMIT 1")?
            .query_row([digits], |row| row.get::<_, String>(0))
            .optional()?,
        (None, None) => None,
    })
}

/// The matching rule (SPEC §4.4): the customer with the same e-mail (case-insensitive),
/// else the same phone (digits only), else a new customer. A match gets the fields it
/// lacked filled in, never overwritten. Returns the customer and whether it is new.
pub fn match_or_create(tx: &WriteTx, details: &CustomerDetails) -> Result<(Customer, bool), ApiError> {
    let by_email = match &details.email {
        Some(email) => tx
            .prepare_cached("SELECT id FROM customers WHERE lower(email) = lower(?1) ORDER BY inserted_at, id LIMIT 1")?
            .query_row([email], |row| row.get::<_, String>(0))
            .optional()?,
        None => None,
    };
    let digits = details.phone.as_deref().and_then(phone_digits);
    let found = match (by_email, &digits) {
        (Some(id), _) => Some(id),
        (None, Some(digits)) => tx
            .prepare_cached("SELECT id FROM customers WHERE phone_digits = ?1 ORDER BY inserted_at, id LIMIT 1")?
            .query_row([digits], |row| row.get::<_, String>(0))
            .optional()?,
        (None, None) => None,
    };
    let Some(id) = found else {
        let fields = CustomerFields {
            name: Some(details.name.clone()),
            email: Some(details.email.clone()),
            phone: Some(details.phone.clone()),
            ..Default::default()
        };
        return Ok((create(tx, &fields)?, true));
    };
    let before = find(tx, &id)?;
    tx.prepare_cached(
        "UPDATE customers SET
            email = coalesce(email, ?2),
            phone = coalesce(phone, ?3),
            phone_digits = coalesce(phone_digits, ?4),
            updated_at = CASE WHEN (email IS NULL AND ?2 IS NOT NULL) OR (phone IS NULL AND ?3 IS NOT NULL)
                              THEN ?5 ELSE updated_at END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        details.email,
        details.phone,
        digits,
        crate::time::now_text()
    ])?;
    let after = find(tx, &id)?;
    if after.updated_at != before.updated_at {
        crate::audit::update(tx, "customer", &id, &before, &after)?;
    }
    Ok((after, false))
}

/// Merges `secondary_ids` into `primary_id`: their rows in [`REFERENCES`] move to the
/// primary, counts are added up, empty fields of the primary are filled from the
/// secondaries, and the secondaries are deleted — all in the caller's transaction.
pub fn merge(tx: &WriteTx, primary_id: &str, secondary_ids: &[String]) -> Result<Customer, ApiError> {
    let mut errors = FieldErrors::new();
    if get(tx, primary_id)?.is_none() {
        errors.add("primary_id", "does not exist");
    }
    for (index, id) in secondary_ids.iter().enumerate() {
        if get(tx, id)?.is_none() {
            errors.add(format!("secondary_ids.{index}"), "does not exist");
        }
    }
    errors.into_result()?;
    let before = find(tx, primary_id)?;
    let now = crate::time::now_text();
    for secondary in secondary_ids {
        for table in REFERENCES {
            tx.prepare_cached(&format!("UPDATE {table} SET customer_id = ?1 WHERE customer_id = ?2"))?
                .execute(params![primary_id, secondary])?;
        }
        tx.prepare_cached(
            "UPDATE customers SET
                call_count = call_count + (SELECT call_count FROM customers WHERE id = ?2),
                last_call_at = max(coalesce(last_call_at, ''), coalesce((SELECT last_call_at FROM customers WHERE id = ?2), '')),
                email = coalesce(email, (SELECT email FROM customers WHERE id = ?2)),
                phone = coalesce(phone, (SELECT phone FROM customers WHERE id = ?2)),
                phone_digits = coalesce(phone_digits, (SELECT phone_digits FROM customers WHERE id = ?2)),
                document = coalesce(document, (SELECT document FROM customers WHERE id = ?2)),
                notes = coalesce(notes, (SELECT notes FROM customers WHERE id = ?2)),
                updated_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![primary_id, secondary, now])?;
        tx.prepare_cached("DELETE FROM customers WHERE id = ?1")?
            .execute([secondary])?;
    }
    tx.prepare_cached("UPDATE customers SET last_call_at = NULL WHERE id = ?1 AND last_call_at = ''")?
        .execute([primary_id])?;
    let merged = find(tx, primary_id)?;
    let mut after = serde_json::to_value(&merged).map_err(ApiError::from_source)?;
    after["merged_ids"] = serde_json::json!(secondary_ids);
    crate::audit::act(tx, "customer.merge", primary_id, &before, &after)?;
    Ok(merged)
}
