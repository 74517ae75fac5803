//! Outgoing webhooks (SPEC §4.9): managers subscribe URLs to events; the code path that
//! changes a state emits a domain event, and [`outbox`] (its webhook consumer) puts one
//! body per subscriber into a persisted outbox inside the same transaction (no event
//! without the change, no change without the event); [`delivery`] signs and sends the
//! outbox with retries and backoff.

pub mod delivery;
pub mod routes;
pub mod store;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiError;
use crate::events::DomainEvent;

/// Every event a webhook can subscribe to, by its name on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEvent {
    #[serde(rename = "call.created")]
    CallCreated,
    #[serde(rename = "call.assigned")]
    CallAssigned,
    #[serde(rename = "call.started")]
    CallStarted,
    #[serde(rename = "call.completed")]
    CallCompleted,
    #[serde(rename = "call.missed")]
    CallMissed,
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "appointment.created")]
    AppointmentCreated,
    #[serde(rename = "appointment.confirmed")]
    AppointmentConfirmed,
    #[serde(rename = "appointment.cancelled")]
    AppointmentCancelled,
    #[serde(rename = "appointment.completed")]
    AppointmentCompleted,
    #[serde(rename = "appointment.no_show")]
    AppointmentNoShow,
    #[serde(rename = "appointment.overdue")]
    AppointmentOverdue,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 12] = [
        WebhookEvent::CallCreated,
        WebhookEvent::CallAssigned,
        WebhookEvent::CallStarted,
        WebhookEvent::CallCompleted,
        WebhookEvent::CallMissed,
        WebhookEvent::CustomerCreated,
        WebhookEvent::AppointmentCreated,
        WebhookEvent::AppointmentConfirmed,
        WebhookEvent::AppointmentCancelled,
        WebhookEvent::AppointmentCompleted,
        WebhookEvent::AppointmentNoShow,
        WebhookEvent::AppointmentOverdue,
    ];

    /// The wire name (`call.created`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::CallCreated => "call.created",
            WebhookEvent::CallAssigned => "call.assigned",
            WebhookEvent::CallStarted => "call.started",
            WebhookEvent::CallCompleted => "call.completed",
            WebhookEvent::CallMissed => "call.missed",
            WebhookEvent::CustomerCreated => "customer.created",
            WebhookEvent::AppointmentCreated => "appointment.created",
            WebhookEvent::AppointmentConfirmed => "appointment.confirmed",
            WebhookEvent::AppointmentCancelled => "appointment.cancelled",
            WebhookEvent::AppointmentCompleted => "appointment.completed",
            WebhookEvent::AppointmentNoShow => "appointment.no_show",
            WebhookEvent::AppointmentOverdue => "appointment.overdue",
        }
    }

    pub fn parse(name: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|event| event.as_str() == name)
    }

    /// The webhook event of a domain event and the object it carries, when there is one.
    fn of(event: &DomainEvent) -> Option<(WebhookEvent, Carried<'_>)> {
        use DomainEvent as E;
        let call = |kind, call| Some((kind, Carried::Call(call)));
        let appointment = |kind, appointment| Some((kind, Carried::Appointment(appointment)));
        match event {
            E::CallCreated { call: c, .. } => call(WebhookEvent::CallCreated, c),
            E::CallAssigned { call: c } => call(WebhookEvent::CallAssigned, c),
            E::CallStarted { call: c, .. } => call(WebhookEvent::CallStarted, c),
            E::CallCompleted { call: c, .. } => call(WebhookEvent::CallCompleted, c),
            E::CallMissed { call: c, .. } => call(WebhookEvent::CallMissed, c),
            E::CustomerCreated { customer } => Some((WebhookEvent::CustomerCreated, Carried::Customer(customer))),
            E::AppointmentCreated { appointment: a } => appointment(WebhookEvent::AppointmentCreated, a),
            E::AppointmentConfirmed { appointment: a } => appointment(WebhookEvent::AppointmentConfirmed, a),
            E::AppointmentCancelled { appointment: a } => appointment(WebhookEvent::AppointmentCancelled, a),
            E::AppointmentCompleted { appointment: a } => appointment(WebhookEvent::AppointmentCompleted, a),
            E::AppointmentNoShow { appointment: a } => appointment(WebhookEvent::AppointmentNoShow, a),
            E::AppointmentOverdue { appointment: a } => appointment(WebhookEvent::AppointmentOverdue, a),
            E::CallLeft { .. }
            | E::ChatMessage { .. }
            | E::AppointmentRescheduled { .. }
            | E::AppointmentReminderDue { .. }
            | E::NotificationCreated { .. }
            | E::UserDeactivated { .. }
            | E::UserAccessChanged { .. } => None,
        }
    }
}

/// The object a webhook event carries, serialized only when a webhook will get it.
enum Carried<'a> {
    Call(&'a crate::calls::Call),
    Customer(&'a crate::customers::Customer),
    Appointment(&'a crate::appointments::Appointment),
}

impl Carried<'_> {
    fn to_value(&self) -> Result<Value, serde_json::Error> {
        match self {
            Carried::Call(call) => serde_json::to_value(call),
            Carried::Customer(customer) => serde_json::to_value(customer),
            Carried::Appointment(appointment) => serde_json::to_value(appointment),
        }
    }
}

/// The webhook consumer of domain events: queues the event's body for every active
/// webhook subscribed to it, in the transaction of the change. Without such a webhook
/// (most writes of most tenants) no body is built.
pub fn outbox(conn: &Connection, event: &DomainEvent) -> Result<(), ApiError> {
    let Some((kind, carried)) = WebhookEvent::of(event) else {
        return Ok(());
    };
    if !subscribed(conn, kind)? {
        return Ok(());
    }
    enqueue(conn, kind, carried.to_value().map_err(ApiError::from_source)?)
}

/// The webhooks `w` that get event `:event`: active and subscribed to it.
const SUBSCRIBED: &str = "w.active = 1 AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = :event)";

/// Whether an active webhook is subscribed to `event`.
fn subscribed(conn: &Connection, event: WebhookEvent) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM webhooks w WHERE {SUBSCRIBED})"))?
        .query_row(rusqlite::named_params! {":event": event.as_str()}, |row| row.get(0))?)
}

/// Queues `event` with `data` for every active webhook subscribed to it, in the caller's
/// transaction. The body `{event, timestamp, data}` is fixed here, so what is signed and
/// sent later is exactly what was true when the state changed.
fn enqueue(conn: &Connection, event: WebhookEvent, data: Value) -> Result<(), ApiError> {
    let now = crate::time::now_text();
    let body = json!({ "event": event, "timestamp": now, "data": data }).to_string();
    conn.prepare_cached(&format!(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, body, next_attempt_at, inserted_at)
         SELECT :id || '-' || w.id, w.id, :event, :body, :now, :now
         FROM webhooks w
         WHERE {SUBSCRIBED}"
    ))?
    .execute(rusqlite::named_params! {
        ":id": Uuid::new_v4().to_string(),
        ":event": event.as_str(),
        ":body": body,
        ":now": now,
    })?;
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
    use super::{WebhookEvent, signature};

    #[test]
    fn signature_matches_a_known_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn every_webhook_event_has_its_wire_name_in_serde_and_parse() {
        for event in WebhookEvent::ALL {
            assert_eq!(serde_json::to_value(event).unwrap(), event.as_str());
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
        assert_eq!(WebhookEvent::parse("call.exploded"), None);
    }
}
