//! Authentication (SPEC §3): login, refresh-token rotation, logout; JWT access tokens;
//! argon2id passwords; and the role-checking extractor every tenant endpoint uses.

mod extract;
pub mod mfa;
pub mod password;
pub mod reset;
mod role;
pub mod routes;
pub mod sealed;
pub mod sessions;
pub mod token;

pub use extract::{Auth, Authenticated, Tenant, authenticate};
pub use role::{MinRole, Role, min};
pub use token::Keys;
