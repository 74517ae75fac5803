//! SQL for reading the audit log. Rows are written only by [`super::write`]; nothing
//! here or anywhere edits or deletes them.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::query::DateRange;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: String,
    /// `user`, `api_key`, `customer` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub ip: Option<String>,
    /// `<object_type>.<create|update|delete>` or an action such as `appointment.cancel`.
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// `{field: [old, new]}`; never a password, token, secret or key.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

const COLUMNS: &str =
    "a.id, a.at, a.actor_type, a.actor_id, a.actor_name, a.ip, a.action, a.object_type, a.object_id, a.changes";

/// Newest first; rows of the same second keep the order they were written in.
pub const SORT: SortSpec = SortSpec {
    columns: &[("at", "a.at")],
    default_key: "at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "a.rowid",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let changes: String = row.get(9)?;
    Ok(AuditEntry {
        id: row.get(0)?,
        at: row.get(1)?,
        actor_type: row.get(2)?,
        actor_id: row.get(3)?,
        actor_name: row.get(4)?,
        ip: row.get(5)?,
        action: row.get(6)?,
        object_type: row.get(7)?,
        object_id: row.get(8)?,
        changes: serde_json::from_str(&changes).unwrap_or_default(),
    })
}

#[derive(Debug, Default)]
pub struct AuditFilters {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub dates: DateRange,
}

pub fn list(conn: &Connection, filters: &AuditFilters, order: &Order) -> Result<Page<AuditEntry>, ApiError> {
    let mut filter = Filter::new();
    // With an object id, its few rows are found by `audit_log_object` and the type only
    // checked on them (`+` keeps SQLite from reading every row of the type instead).
    let object_type = if filters.object_id.is_some() {
        "+a.object_type = ?"
    } else {
        "a.object_type = ?"
    };
    let exact = [
        (object_type, &filters.object_type),
        ("a.object_id = ?", &filters.object_id),
        ("a.actor_id = ?", &filters.actor_id),
        ("a.action = ?", &filters.action),
    ];
    for (condition, value) in exact {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            filter.push(condition, [SqlValue::Text(value.to_string())]);
        }
    }
    filters
        .dates
        .restrict(&mut filter, "a.at", crate::company::store::timezone(conn)?);
    fetch_page(conn, COLUMNS, "audit_log a", &filter, order, map_row)
}

/// Replaces every string equal to one of `values` (inside any JSON text of `table.column`
/// that mentions one) by `"[erased]"`: a customer's erasure reaches the audit rows and the
/// stored webhook bodies that quoted their personal data.
pub fn erase_values(conn: &Connection, table: &str, column: &str, values: &[String]) -> Result<usize, ApiError> {
    let mut rewritten = 0;
    for value in values.iter().filter(|v| !v.is_empty()) {
        let rows: Vec<(i64, String)> = conn
            .prepare_cached(&format!(
                "SELECT rowid, {column} FROM {table} WHERE instr({column}, ?1) > 0"
            ))?
            .query_map([value], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (rowid, text) in rows {
            let Ok(mut json) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            if replace_strings(&mut json, values) {
                conn.prepare_cached(&format!("UPDATE {table} SET {column} = ?2 WHERE rowid = ?1"))?
                    .execute(rusqlite::params![rowid, json.to_string()])?;
                rewritten += 1;
            }
        }
    }
    Ok(rewritten)
}

fn replace_strings(json: &mut serde_json::Value, values: &[String]) -> bool {
    use serde_json::Value;
    match json {
        // Short values (initials) only when they are the whole string.
        Value::String(text)
            if values
                .iter()
                .any(|v| text == v || (v.chars().count() >= 3 && text.contains(v.as_str()))) =>
        {
            *json = Value::String("[erased]".into());
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, item| replace_strings(item, values) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, item| replace_strings(item, values) | any),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn erased_values_are_replaced_wherever_they_are_quoted() {
        let mut body = json!({"data": {"customer_name": "Ana Lima", "tags": ["x"], "email": "ana@x.org", "n": 3}});
        assert!(super::replace_strings(
            &mut body,
            &["Ana Lima".into(), "ana@x.org".into()]
        ));
        assert_eq!(
            body,
            json!({"data": {"customer_name": "[erased]", "tags": ["x"], "email": "[erased]", "n": 3}})
        );
    }
}
