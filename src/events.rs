//! Domain events: what a committed change announces. A write emits them through its
//! [`WriteTx`] (`tx.emit(DomainEvent::…)`), and each consumer is one function:
//!
//! - [`crate::webhooks::outbox`]: webhook delivery rows, inside the transaction;
//! - [`crate::email::events::outbox`]: the patients' e-mail rows, inside the transaction;
//! - [`crate::realtime::frames`]: socket messages, after the commit.
//!
//! The rows of a job whose savepoint rolls back go with it, and so do its events, so no
//! consumer hears of a change that did not happen. The audit log is not a consumer: it
//! records every change with its diff (settings, deletions, reads of a record), written by
//! the store function that makes it.

use crate::appointments::{Appointment, Status};
use crate::calls::chat::ChatMessage;
use crate::calls::{Call, CallStatus};
use crate::customers::store::Customer;
use crate::db::{Event, WriteTx};
use crate::error::ApiError;
use crate::notifications::store::Notification;

#[derive(Debug, Clone)]
pub enum DomainEvent {
    /// A customer joined a department's queue, at `position`.
    CallCreated {
        call: Call,
        position: i64,
    },
    CallAssigned {
        call: Call,
    },
    /// The agent started the call (`from` is the status it left).
    CallStarted {
        call: Call,
        from: CallStatus,
    },
    CallCompleted {
        call: Call,
        from: CallStatus,
    },
    /// Nobody took the call in time, or it ended unanswered.
    CallMissed {
        call: Call,
        from: CallStatus,
    },
    /// The customer left the queue before the call started.
    CallLeft {
        call: Call,
        from: CallStatus,
    },
    ChatMessage {
        call_id: String,
        message: ChatMessage,
    },
    CustomerCreated {
        customer: Customer,
    },
    /// A new appointment, with its join link when one was issued.
    AppointmentCreated {
        appointment: Appointment,
    },
    AppointmentConfirmed {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: Appointment,
    },
    AppointmentCompleted {
        appointment: Appointment,
    },
    AppointmentNoShow {
        appointment: Appointment,
    },
    /// Its time or length changed (the calendar SEQUENCE already raised).
    AppointmentRescheduled {
        appointment: Appointment,
    },
    /// Still open after its end.
    AppointmentOverdue {
        appointment: Appointment,
    },
    /// A reminder offset was reached, `minutes_before` the start.
    AppointmentReminderDue {
        appointment: Appointment,
        minutes_before: i64,
    },
    NotificationCreated {
        user_id: String,
        notification: Notification,
    },
    /// The user was deactivated: their sockets close.
    UserDeactivated {
        user_id: String,
    },
    /// The user's rights or sessions changed: their sockets check them again.
    UserAccessChanged {
        user_id: String,
    },
}

impl DomainEvent {
    /// The event of a call that moved from `from` to its current status (none for a move
    /// back to the queue, which no consumer hears of).
    pub fn call_moved(from: CallStatus, call: Call) -> Option<DomainEvent> {
        Some(match call.status {
            CallStatus::Active => DomainEvent::CallStarted { call, from },
            CallStatus::Completed => DomainEvent::CallCompleted { call, from },
            CallStatus::Missed => DomainEvent::CallMissed { call, from },
            CallStatus::Cancelled => DomainEvent::CallLeft { call, from },
            CallStatus::Queued => return None,
        })
    }

    /// The event of an appointment that took the status `to` by an action.
    pub fn appointment_moved(to: Status, appointment: Appointment) -> Option<DomainEvent> {
        Some(match to {
            Status::Confirmed => DomainEvent::AppointmentConfirmed { appointment },
            Status::Cancelled => DomainEvent::AppointmentCancelled { appointment },
            Status::Completed => DomainEvent::AppointmentCompleted { appointment },
            Status::NoShow => DomainEvent::AppointmentNoShow { appointment },
            Status::Scheduled => return None,
        })
    }
}

impl Event for DomainEvent {
    fn record(&self, conn: &rusqlite::Connection) -> Result<(), ApiError> {
        crate::webhooks::outbox(conn, self)?;
        crate::email::events::outbox(conn, self)
    }
}

/// Emits `event` when there is one (see [`DomainEvent::call_moved`]).
pub fn emit_some(tx: &WriteTx, event: Option<DomainEvent>) -> Result<(), ApiError> {
    match event {
        Some(event) => tx.emit(event),
        None => Ok(()),
    }
}
