//! Authentication (SPEC §3): login, refresh-token rotation, logout; JWT access tokens;
//! argon2id passwords; roles. The extractor every tenant endpoint uses to check them is
//! `crate::http::auth`.

pub mod mfa;
pub mod password;
pub mod reset;
pub mod role;
pub mod routes;
pub mod sealed;
pub mod sessions;
pub mod token;
pub mod user_cache;
mod visibility;

pub use role::{MinRole, Role, min};
pub use token::Keys;
pub use visibility::Visibility;
