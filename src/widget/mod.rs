//! The public widget (SPEC §4.7): what a customer's browser calls, without a token or a
//! tenant header. Link tokens and call ids find their tenant through the registry's
//! public index, and each is then looked up in that tenant only.

pub mod ice;
pub mod routes;
