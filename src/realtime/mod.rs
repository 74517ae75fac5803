//! Real time (SPEC §5): the Phoenix Channels v2 socket at `/socket/websocket`.
//!
//! - [`protocol`]: the wire frames; [`hub`]: who is subscribed to which topic of which
//!   tenant, presences, and delivery; [`socket`]: one connection from the upgrade to its
//!   close; [`topics`]: which topics exist, who may join them and what their events do;
//!   [`dashboard`]: the supervisors' KPIs every 5 s.
//! - Changes made through the REST API (a customer joins a queue, a call is assigned,
//!   a notification is stored) reach the sockets as domain events ([`crate::events`]):
//!   the database writer hands a job's events to the hub once its transaction has
//!   committed, never when it rolls back, and [`frames`] says what each one sends. So no
//!   socket hears of a change that did not happen, whichever code path (handler, sweeper)
//!   made it.

pub mod admission;
pub mod dashboard;
pub mod hub;
pub mod protocol;
pub mod socket;
pub mod topics;

use std::any::Any;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

pub use hub::Hub;

use crate::calls::CallStatus;
use crate::db::{Event, EventSink};
use crate::events::DomainEvent;

/// A message for the live sockets of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// `event` with `payload` to every subscriber of `topic`.
    Broadcast {
        topic: String,
        event: &'static str,
        payload: Value,
    },
    /// Closes every socket of a user (deactivated): their presences leave at once.
    Disconnect { user_id: String },
    /// The user's rights or sessions changed (removed from a department, a new role,
    /// sessions revoked): cached session checks are forgotten, and the user's sockets
    /// check their session and every joined topic again at once.
    Recheck { user_id: String },
}

impl Live {
    pub fn broadcast(topic: String, event: &'static str, payload: impl Serialize) -> Live {
        Live::Broadcast {
            topic,
            event,
            payload: serde_json::to_value(payload).unwrap_or(Value::Null),
        }
    }
}

/// The socket consumer of domain events: the messages a committed event sends.
pub fn frames(event: &DomainEvent) -> Vec<Live> {
    use DomainEvent as E;
    match event {
        E::CallCreated { call, position } => vec![Live::broadcast(
            topics::queue(&call.department_id),
            "customer_joined",
            crate::calls::queue::Waiting::of(call, *position),
        )],
        E::CallAssigned { call } => vec![Live::broadcast(
            topics::queue(&call.department_id),
            "call_assigned",
            json!({"call_id": call.id, "user_id": call.user_id, "user_name": call.user_name}),
        )],
        // Its topic hears `call_status`, and its department's queue `customer_left` when it
        // left the queue (started, missed or cancelled).
        E::CallStarted { call, from }
        | E::CallCompleted { call, from }
        | E::CallMissed { call, from }
        | E::CallLeft { call, from } => {
            let status = json!({"call_id": call.id, "status": call.status});
            let mut frames = vec![Live::broadcast(topics::call(&call.id), "call_status", &status)];
            if *from == CallStatus::Queued {
                frames.push(Live::broadcast(
                    topics::queue(&call.department_id),
                    "customer_left",
                    status,
                ));
            }
            frames
        }
        E::ChatMessage { call_id, message } => vec![Live::broadcast(topics::call(call_id), "chat_message", message)],
        E::NotificationCreated {
            user_id,
            notification: n,
        } => vec![Live::broadcast(
            topics::notification(user_id),
            "new_notification",
            json!({
                "id": n.id, "type": n.kind, "title": n.title,
                "body": n.body, "data": n.data, "inserted_at": n.inserted_at,
            }),
        )],
        E::AppointmentReminderDue {
            appointment,
            minutes_before,
        } => vec![Live::broadcast(
            topics::notification(&appointment.user_id),
            "appointment_reminder",
            json!({
                "appointment_id": appointment.id,
                "title": appointment.title,
                "scheduled_at": appointment.scheduled_at,
                "minutes_before": minutes_before,
            }),
        )],
        E::UserDeactivated { user_id } => vec![Live::Disconnect {
            user_id: user_id.clone(),
        }],
        E::UserAccessChanged { user_id } => vec![Live::Recheck {
            user_id: user_id.clone(),
        }],
        E::CustomerCreated { .. }
        | E::AppointmentCreated { .. }
        | E::AppointmentConfirmed { .. }
        | E::AppointmentCancelled { .. }
        | E::AppointmentCompleted { .. }
        | E::AppointmentNoShow { .. }
        | E::AppointmentRescheduled { .. }
        | E::AppointmentOverdue { .. } => Vec::new(),
    }
}

/// The sink of a tenant's database: committed events become socket messages for `deliver`.
pub fn socket_sink(deliver: impl Fn(Vec<Live>) + Send + Sync + 'static) -> EventSink {
    Arc::new(move |events: Vec<Box<dyn Event>>| {
        let messages: Vec<_> = events
            .into_iter()
            .filter_map(|event| (event as Box<dyn Any>).downcast::<DomainEvent>().ok())
            .flat_map(|event| frames(&event))
            .collect();
        if !messages.is_empty() {
            deliver(messages);
        }
    })
}
