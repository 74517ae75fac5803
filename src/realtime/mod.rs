//! Real time (SPEC §5): the Phoenix Channels v2 socket at `/socket/websocket`.
//!
//! - [`protocol`]: the wire frames; [`hub`]: who is subscribed to which topic of which
//!   tenant, presences, and delivery; [`socket`]: one connection from the upgrade to its
//!   close; [`topics`]: which topics exist, who may join them and what their events do;
//!   [`dashboard`]: the supervisors' KPIs every 5 s.
//! - Changes made through the REST API (a customer joins a queue, a call is assigned,
//!   a notification is stored) reach the sockets through [`after_commit`]: a write job
//!   records the messages, and the database writer hands them to the hub once the
//!   transaction has committed, never when it rolls back. So no socket hears of a change
//!   that did not happen, whichever code path (handler, sweeper) made it.

pub mod dashboard;
pub mod hub;
pub mod protocol;
pub mod socket;
pub mod topics;

use std::cell::RefCell;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

pub use hub::Hub;

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

/// Where a database delivers the messages of its committed write jobs.
pub type LiveSink = Arc<dyn Fn(Vec<Live>) + Send + Sync>;

thread_local! {
    /// The messages recorded by the write job running on this (writer) thread.
    static PENDING: RefCell<Option<Vec<Live>>> = const { RefCell::new(None) };
}

/// Records `live` to be sent once the write transaction running now commits; it is
/// dropped if the transaction rolls back. Only write jobs may call this (elsewhere the
/// message would have no transaction to wait for: send it with [`Hub::deliver`]).
pub fn after_commit(live: Live) {
    PENDING.with(|pending| match pending.borrow_mut().as_mut() {
        Some(messages) => messages.push(live),
        None => tracing::error!(?live, "a live message was recorded outside a write job and is dropped"),
    });
}

/// Runs `job` (a write job, on the writer thread) and returns what it recorded with
/// [`after_commit`].
pub fn collecting<T>(job: impl FnOnce() -> T) -> (T, Vec<Live>) {
    let outer = PENDING.with(|pending| pending.replace(Some(Vec::new())));
    let result = job();
    let recorded = PENDING.with(|pending| pending.replace(outer)).unwrap_or_default();
    (result, recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_collected_per_job_and_nested_jobs_keep_their_own() {
        let ((), outer) = collecting(|| {
            after_commit(Live::Disconnect { user_id: "a".into() });
            let ((), inner) = collecting(|| after_commit(Live::Disconnect { user_id: "b".into() }));
            assert_eq!(inner, [Live::Disconnect { user_id: "b".into() }]);
        });
        assert_eq!(outer, [Live::Disconnect { user_id: "a".into() }]);
        // Outside a job nothing is kept.
        after_commit(Live::Disconnect { user_id: "c".into() });
        assert!(collecting(|| ()).1.is_empty());
    }
}
