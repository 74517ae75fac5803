//! SQL for webhook subscriptions and their deliveries.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::WriteTx;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page};
use crate::error::ApiError;
use rusqlite::types::Value as SqlValue;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// Shown only when it is set (on create, or an update that sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub inserted_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "w.id, w.url, w.events, w.active, w.inserted_at, w.updated_at";

pub const SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "w.inserted_at"), ("url", "w.url")],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "w.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = row.get(2)?;
    Ok(Webhook {
        id: row.get(0)?,
        url: row.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        active: row.get(3)?,
        secret: None,
        inserted_at: row.get(4)?,
        updated_at: row.get(5)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Webhook, ApiError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks w WHERE w.id = ?1"))?
        .query_row([id], map_row)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Webhook"))
}

pub fn list(conn: &Connection, order: &Order) -> Result<Page<Webhook>, ApiError> {
    fetch_page(conn, COLUMNS, "webhooks w", &Filter::new(), order, map_row)
}

#[derive(Debug, Default)]
pub struct WebhookFields {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub active: Option<bool>,
}

pub fn insert(tx: &WriteTx, fields: &WebhookFields) -> Result<Webhook, ApiError> {
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO webhooks (id, url, events, secret, active, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![
        id,
        fields.url,
        serde_json::to_string(&fields.events.clone().unwrap_or_default()).map_err(ApiError::from_source)?,
        fields.secret,
        fields.active.unwrap_or(true),
        crate::time::now_text()
    ])?;
    let created = find(tx, &id)?;
    crate::audit::create(tx, "webhook", &id, &created)?;
    Ok(Webhook {
        secret: fields.secret.clone(),
        ..created
    })
}

pub fn update(tx: &WriteTx, id: &str, fields: &WebhookFields) -> Result<Webhook, ApiError> {
    let before = find(tx, id)?;
    let events = fields
        .events
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ApiError::from_source)?;
    let changed = tx
        .prepare_cached(
            "UPDATE webhooks SET url = coalesce(?2, url), events = coalesce(?3, events), secret = coalesce(?4, secret),
                 active = coalesce(?5, active), updated_at = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            fields.url,
            events,
            fields.secret,
            fields.active,
            crate::time::now_text()
        ])?;
    if changed == 0 {
        return Err(ApiError::not_found("Webhook"));
    }
    let after = find(tx, id)?;
    crate::audit::update(tx, "webhook", id, &before, &after)?;
    Ok(Webhook {
        secret: fields.secret.clone(),
        ..after
    })
}

pub fn delete(tx: &WriteTx, id: &str) -> Result<(), ApiError> {
    let before = find(tx, id)?;
    tx.prepare_cached("DELETE FROM webhooks WHERE id = ?1")?.execute([id])?;
    crate::audit::delete(tx, "webhook", id, &before)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attempt {
    pub number: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub inserted_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub event: String,
    /// `pending`, `delivered` or `failed` (after the last retry, or a 4xx answer).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempt_log: Vec<Attempt>,
    pub inserted_at: String,
}

pub const DELIVERY_SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "d.inserted_at")],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "d.id",
};

const DELIVERY_COLUMNS: &str = "d.id, d.event, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.body, d.inserted_at";

fn map_delivery(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let body: String = row.get(8)?;
    Ok(Delivery {
        id: row.get(0)?,
        event: row.get(1)?,
        status: row.get(2)?,
        attempts: row.get(3)?,
        next_attempt_at: row.get(4)?,
        last_status_code: row.get(5)?,
        last_error: row.get(6)?,
        delivered_at: row.get(7)?,
        payload: serde_json::from_str(&body).unwrap_or_default(),
        attempt_log: Vec::new(),
        inserted_at: row.get(9)?,
    })
}

/// One delivery of webhook `webhook_id`, with its attempts.
pub fn delivery(conn: &Connection, webhook_id: &str, id: &str) -> Result<Delivery, ApiError> {
    let mut delivery = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = ?1 AND d.webhook_id = ?2"
        ))?
        .query_row([id, webhook_id], map_delivery)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Delivery"))?;
    delivery.attempt_log = attempts_of(conn, id)?;
    Ok(delivery)
}

fn attempts_of(conn: &Connection, delivery_id: &str) -> Result<Vec<Attempt>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT number, status_code, error, duration_ms, inserted_at FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY number",
        )?
        .query_map([delivery_id], |row| {
            Ok(Attempt {
                number: row.get(0)?,
                status_code: row.get(1)?,
                error: row.get(2)?,
                duration_ms: row.get(3)?,
                inserted_at: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Queues a new pending delivery of `event` with `body` to webhook `webhook_id`, due now.
fn queue(conn: &Connection, webhook_id: &str, event: &str, body: &str) -> Result<String, ApiError> {
    let id = format!("{}-{webhook_id}", Uuid::new_v4());
    let now = crate::time::now_text();
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, body, next_attempt_at, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![id, webhook_id, event, body, now])?;
    Ok(id)
}

/// A `ping` delivery to webhook `id` (active or not), to test the receiver. Returns
/// what is needed to send it at once.
pub fn ping(tx: &WriteTx, id: &str) -> Result<Due, ApiError> {
    let webhook = find(tx, id)?;
    let body = serde_json::json!({
        "event": "ping",
        "timestamp": crate::time::now_text(),
        "data": {"webhook_id": webhook.id, "url": webhook.url, "events": webhook.events},
    })
    .to_string();
    let delivery_id = queue(tx, id, "ping", &body)?;
    crate::audit::note(tx, "webhook.ping", id, serde_json::json!({}))?;
    let secret: String = tx
        .prepare_cached("SELECT secret FROM webhooks WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?;
    Ok(Due {
        id: delivery_id,
        url: webhook.url,
        secret,
        event: "ping".into(),
        body,
        attempts: 0,
    })
}

/// A new delivery of the same event and body as delivery `delivery_id`, due now.
pub fn redeliver(tx: &WriteTx, webhook_id: &str, delivery_id: &str) -> Result<Delivery, ApiError> {
    find(tx, webhook_id)?;
    let (event, body): (String, String) = tx
        .prepare_cached("SELECT event, body FROM webhook_deliveries WHERE id = ?1 AND webhook_id = ?2")?
        .query_row([delivery_id, webhook_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .ok_or_else(|| ApiError::not_found("Delivery"))?;
    let id = queue(tx, webhook_id, &event, &body)?;
    crate::audit::note(
        tx,
        "webhook.redeliver",
        webhook_id,
        serde_json::json!({"delivery_id": [delivery_id, id]}),
    )?;
    delivery(tx, webhook_id, &id)
}

pub fn deliveries(conn: &Connection, webhook_id: &str, order: &Order) -> Result<Page<Delivery>, ApiError> {
    find(conn, webhook_id)?;
    let mut filter = Filter::new();
    filter.push("d.webhook_id = ?", [SqlValue::Text(webhook_id.to_string())]);
    let page = fetch_page(
        conn,
        DELIVERY_COLUMNS,
        "webhook_deliveries d",
        &filter,
        order,
        map_delivery,
    )?;
    let mut data = Vec::with_capacity(page.data.len());
    for mut delivery in page.data {
        delivery.attempt_log = attempts_of(conn, &delivery.id)?;
        data.push(delivery);
    }
    Ok(Page { data, meta: page.meta })
}

/// A delivery that is due, with what is needed to send it.
pub struct Due {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

pub fn due(conn: &Connection, now: &str, limit: i64) -> Result<Vec<Due>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT d.id, w.url, w.secret, d.event, d.body, d.attempts
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND w.active = 1
             ORDER BY d.next_attempt_at, d.rowid LIMIT ?2",
        )?
        .query_map(params![now, limit], |row| {
            Ok(Due {
                id: row.get(0)?,
                url: row.get(1)?,
                secret: row.get(2)?,
                event: row.get(3)?,
                body: row.get(4)?,
                attempts: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// What became of one attempt.
pub enum Outcome {
    Delivered,
    Retry { at: String },
    Failed,
}

pub fn record_attempt(
    conn: &Connection,
    delivery_id: &str,
    number: i64,
    status_code: Option<i64>,
    error: Option<&str>,
    duration_ms: i64,
    outcome: &Outcome,
) -> Result<(), ApiError> {
    let now = crate::time::now_text();
    conn.prepare_cached(
        "INSERT INTO webhook_attempts (id, delivery_id, number, status_code, error, duration_ms, inserted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (delivery_id, number) DO NOTHING",
    )?
    .execute(params![
        Uuid::new_v4().to_string(),
        delivery_id,
        number,
        status_code,
        error,
        duration_ms,
        now
    ])?;
    let (status, next, delivered) = match outcome {
        Outcome::Delivered => ("delivered", None, Some(now.clone())),
        Outcome::Retry { at } => ("pending", Some(at.clone()), None),
        Outcome::Failed => ("failed", None, None),
    };
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET status = ?2, attempts = ?3, next_attempt_at = ?4, last_status_code = ?5,
             last_error = ?6, delivered_at = ?7
         WHERE id = ?1 AND status = 'pending'",
    )?
    .execute(params![
        delivery_id,
        status,
        number,
        next,
        status_code,
        error,
        delivered
    ])?;
    Ok(())
}
