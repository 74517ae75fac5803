//! Notifications (SPEC §4.10): per-user rows written by the server (appointment reminders
//! and overdue warnings, call assignments), read and marked read over REST. They are
//! stored, so nothing depends on a live socket; the real-time push sends the same rows.

pub mod routes;
pub mod store;

pub use store::{Notification, NotificationType};
