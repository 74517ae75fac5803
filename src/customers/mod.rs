//! Customers (SPEC §4.4): CRUD, search, merge, and the matching rule used wherever a
//! customer arrives without an id (widget join, appointment creation).

pub mod privacy;
pub mod routes;
pub mod store;

pub use store::{Customer, CustomerDetails, match_or_create};
