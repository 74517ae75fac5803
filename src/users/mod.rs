//! Users of a tenant (SPEC §4.1): staff who log in. No DELETE: a user is deactivated,
//! which ends their sessions at once.

pub mod routes;
pub mod store;

pub use store::User;
