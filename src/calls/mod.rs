//! Calls (SPEC §4.7): a customer's place in a department's queue and, once an agent
//! starts it, the consultation itself; with files, manager notes and tags.

pub mod chat;
pub mod files;
pub mod queue;
pub mod routes;
pub mod rules;
pub mod store;

pub use rules::CallStatus;
pub use store::Call;
