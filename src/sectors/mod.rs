//! Sectors (SPEC §4.2): groups of departments. Deleting one leaves its departments
//! without a sector.

pub mod routes;
pub mod store;

pub use store::Sector;
