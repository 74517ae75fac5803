//! Password hashing: argon2id with the OWASP minimum parameters, always on the blocking
//! thread pool (a hash takes tens of milliseconds of CPU).

use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::error::ApiError;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Verified when the user does not exist, so an unknown e-mail costs the same time as a
/// wrong password and login timing tells nothing.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hasher()
        .hash_password(b"voki-dummy-password")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hasher().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

/// `true` when `password` matches `stored`; `stored = None` (no such user) still spends
/// the time of one verification and answers `false`.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (DUMMY_HASH.clone(), false),
        };
        let matches = hasher().verify_password(password.as_bytes(), hash.as_str()).is_ok();
        real && matches
    })
    .await
    .unwrap_or(false)
}

/// Hashes synchronously, for code already on a blocking thread (CLI, tenant creation).
pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}
