//! Departments (SPEC §4.2): the call queues, with their member agents.

pub mod routes;
pub mod store;

pub use store::Department;
