//! Outgoing webhooks (SPEC §4.9): managers subscribe URLs to events; the code path that
//! changes a state calls [`emit`] inside its own write transaction, which puts one signed
//! body per subscriber into a persisted outbox (no event without the change, no change
//! without the event); [`delivery`] sends the outbox with retries and backoff.

pub mod delivery;
pub mod routes;
pub mod store;

use rusqlite::{Connection, params};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiError;

/// Every event a webhook can subscribe to.
pub const EVENTS: &[&str] = &[
    "call.created",
    "call.assigned",
    "call.started",
    "call.completed",
    "call.missed",
    "customer.created",
    "appointment.created",
    "appointment.confirmed",
    "appointment.cancelled",
    "appointment.completed",
    "appointment.no_show",
    "appointment.overdue",
];

/// Queues `event` with `data` for every active webhook subscribed to it, in the caller's
/// transaction. The body `{event, timestamp, data}` is fixed here, so what is signed and
/// sent later is exactly what was true when the state changed.
pub fn emit(conn: &Connection, event: &str, data: Value) -> Result<(), ApiError> {
    debug_assert!(EVENTS.contains(&event), "unknown webhook event {event}");
    let now = crate::time::now_text();
    let body = json!({ "event": event, "timestamp": now, "data": data }).to_string();
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, body, next_attempt_at, inserted_at)
         SELECT ?1 || '-' || w.id, w.id, ?2, ?3, ?4, ?4
         FROM webhooks w
         WHERE w.active = 1 AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = ?2)",
    )?
    .execute(params![Uuid::new_v4().to_string(), event, body, now])?;
    Ok(())
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, the `X-Voki-Signature` header value.
pub fn signature(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signature_matches_a_known_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
