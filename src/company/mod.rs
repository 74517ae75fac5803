//! Company settings (SPEC §4.8): the one settings row of a tenant, with branding, the
//! time zone used to read dates, and the welcome message customers see.

pub mod routes;
pub mod store;

pub use store::Company;
