//! Appointments (seed `Rendez-vous`, SPEC §4.5): scheduled video calls between an agent
//! and a customer. `routes` is the HTTP API, `rules` the statuses, transitions and
//! visibility, `store` the SQL (booking without double booking), `jobs` the sweeper's
//! overdue flag and reminders.

pub mod jobs;
pub mod routes;
pub mod rules;
pub mod store;

pub use rules::{Action, Status};
pub use store::Appointment;
