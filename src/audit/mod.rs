//! The audit log (SPEC §7.5): who created, changed, deleted or acted on what, and who
//! read a customer's record. A store write function records its change with one call
//! ([`create`], [`update`], [`delete`], [`act`], [`note`]) on the connection of its own
//! transaction, so a rolled-back change leaves no row and a committed one always has it.
//!
//! The author of a row is the write's actor ([`crate::actor`]): each request runs in an
//! actor scope ([`routes::request_scope`]) and the job's [`WriteTx`] carries it.

pub mod routes;
pub mod store;

use rusqlite::params;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

pub use crate::actor::{Actor, ActorType};
use crate::db::WriteTx;
use crate::error::ApiError;

/// Fields never written into `changes`: secrets, tokens and the URLs that carry them, and
/// timestamps every change moves.
const HIDDEN: &[&str] = &[
    "password",
    "password_hash",
    "current_password",
    "new_password",
    "secret",
    "mfa_secret",
    "token",
    "key",
    "key_hash",
    "refresh_token",
    "websocket_token",
    "access_link_url",
    "booking_url",
    "manage_url",
    "call_url",
    "updated_at",
    "inserted_at",
];

fn hidden(object_type: &str, field: &str) -> bool {
    HIDDEN.contains(&field)
        || field.ends_with("_token")
        || field.ends_with("_secret")
        // An access link's URL is its token.
        || (object_type == "access_link" && field == "url")
}

fn to_fields(object: &impl Serialize) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(object).map_err(ApiError::from_source)? {
        Value::Object(map) => Ok(map),
        other => Ok(Map::from_iter([("value".to_string(), other)])),
    }
}

/// `{field: [old, new]}` for every field that differs (absent = null), secrets left out.
pub fn changes(object_type: &str, before: Option<&Map<String, Value>>, after: Option<&Map<String, Value>>) -> Value {
    let empty = Map::new();
    let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut diff = Map::new();
    for field in fields {
        if hidden(object_type, field) {
            continue;
        }
        let old = before.get(field).cloned().unwrap_or(Value::Null);
        let new = after.get(field).cloned().unwrap_or(Value::Null);
        if old != new {
            diff.insert(field.clone(), Value::Array(vec![old, new]));
        }
    }
    Value::Object(diff)
}

/// `<object_type>.create` with every set field as `[null, new]`.
pub fn create(tx: &WriteTx, object_type: &str, id: &str, after: &impl Serialize) -> Result<(), ApiError> {
    let diff = changes(object_type, None, Some(&to_fields(after)?));
    write(tx, &format!("{object_type}.create"), object_type, Some(id), &diff)
}

/// `<object_type>.update` with the fields that changed.
pub fn update(
    tx: &WriteTx,
    object_type: &str,
    id: &str,
    before: &impl Serialize,
    after: &impl Serialize,
) -> Result<(), ApiError> {
    act(tx, &format!("{object_type}.update"), id, before, after)
}

/// `<object_type>.delete` with every field of the deleted object as `[old, null]`.
pub fn delete(tx: &WriteTx, object_type: &str, id: &str, before: &impl Serialize) -> Result<(), ApiError> {
    let diff = changes(object_type, Some(&to_fields(before)?), None);
    write(tx, &format!("{object_type}.delete"), object_type, Some(id), &diff)
}

/// An action such as `appointment.cancel` (the object type is the part before the dot),
/// with the fields it changed.
pub fn act(
    tx: &WriteTx,
    action: &str,
    id: &str,
    before: &impl Serialize,
    after: &impl Serialize,
) -> Result<(), ApiError> {
    let object_type = object_type_of(action);
    let diff = changes(object_type, Some(&to_fields(before)?), Some(&to_fields(after)?));
    write(tx, action, object_type, Some(id), &diff)
}

/// An action whose `changes` the caller states itself: `customer.view` with `{}`, an
/// association such as `{"user_id": [null, id]}`.
pub fn note(tx: &WriteTx, action: &str, id: &str, changes: Value) -> Result<(), ApiError> {
    write(tx, action, object_type_of(action), Some(id), &changes)
}

fn object_type_of(action: &str) -> &str {
    action.split_once('.').map_or(action, |(object_type, _)| object_type)
}

fn write(tx: &WriteTx, action: &str, object_type: &str, id: Option<&str>, changes: &Value) -> Result<(), ApiError> {
    let actor = tx.actor();
    tx.prepare_cached(
        "INSERT INTO audit_log (id, at, actor_type, actor_id, actor_name, ip, action, object_type, object_id, changes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        Uuid::new_v4().to_string(),
        crate::time::now_text(),
        actor.kind.as_str(),
        actor.id,
        actor.name,
        actor.ip,
        action,
        object_type,
        id,
        changes.to_string(),
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn changes_list_changed_fields_and_never_secrets() {
        let before = map(json!({"name": "A", "email": "a@x", "secret": "s1", "updated_at": "t1"}));
        let after = map(json!({"name": "B", "email": "a@x", "secret": "s2", "updated_at": "t2"}));
        assert_eq!(
            changes("webhook", Some(&before), Some(&after)),
            json!({"name": ["A", "B"]})
        );
        assert_eq!(
            changes(
                "access_link",
                None,
                Some(&map(json!({"url": "http://x/call/t", "status": "active"})))
            ),
            json!({"status": [null, "active"]})
        );
        assert_eq!(
            changes("tag", Some(&map(json!({"name": "x"}))), None),
            json!({"name": ["x", null]})
        );
    }
}
