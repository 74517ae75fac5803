//! Service providers (seed "Fournisseurs de Services", SPEC §4.3): partner companies
//! whose professionals take calls. A user belongs to at most one provider; a call
//! remembers the provider its agent had when it was assigned.

pub mod routes;
pub mod store;

pub use store::ServiceProvider;
