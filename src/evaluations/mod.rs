//! Evaluations (SPEC §4.8): one rating (1–5) per completed call, given by the customer
//! through the widget or entered by staff, and their statistics.

pub mod routes;
pub mod store;

pub use store::{Evaluation, EvaluationStats};
