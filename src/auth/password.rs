//! Password hashing: argon2id with the OWASP minimum parameters, always on the blocking
//! thread pool (a hash takes tens of milliseconds of CPU and 19 MiB of memory).
//!
//! At most as many hashes run at once as the machine has cores: every hash and every
//! verification (the dummy one for unknown users included) first takes a permit of one
//! process-wide semaphore. Requests beyond that wait in the semaphore's queue, in order,
//! as suspended tasks — not as blocking threads each holding its 19 MiB — so a burst of
//! logins costs at most `cores × 19 MiB` and runs at the machine's hashing rate.
//!
//! Verifications reuse their 19 MiB while logins queue: a verification that finishes
//! leaves its memory for the next (a fresh one is zeroed and faulted in page by page), and
//! the last one to finish with nobody waiting returns it, so idle servers hold none.

use std::sync::{LazyLock, Mutex};

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};
use tokio::sync::Semaphore;

use crate::error::ApiError;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How many argon2 computations may run at once: one per core.
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

static PERMITS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(max_concurrent_hashes()));

/// Runs `work` on the blocking pool once a hashing permit is free; the permit is held
/// until `work` has finished.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let permit = PERMITS
        .acquire()
        .await
        .map_err(|_| ApiError::internal("password hashing is shut down"))?;
    let result = tokio::task::spawn_blocking(work).await.map_err(ApiError::from_source);
    drop(permit);
    result
}

/// Verified when the user does not exist, so an unknown e-mail costs the same time as a
/// wrong password and login timing tells nothing. First computed under a permit, like
/// every other hash.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hasher()
        .hash_password(b"voki-dummy-password")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn hash(password: String) -> Result<String, ApiError> {
    bounded(move || hasher().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await?
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

/// `true` when `password` matches `stored`; `stored = None` (no such user) still spends
/// the time of one verification and answers `false`.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let matches = bounded(move || {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (DUMMY_HASH.clone(), false),
        };
        let mut memory = MEMORY
            .lock()
            .map(|mut kept| kept.pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        let matches = matches_with(&mut memory, password.as_bytes(), &hash);
        if let Ok(mut kept) = MEMORY.lock() {
            kept.push(memory);
        }
        real && matches
    })
    .await
    .unwrap_or(false);
    if PERMITS.available_permits() == max_concurrent_hashes() {
        // Nothing hashing and nobody waiting: the kept memory would only sit there.
        if let Ok(mut kept) = MEMORY.lock() {
            kept.clear();
        }
    }
    matches
}

/// The argon2 memory of finished verifications, for the next ones (at most one per permit).
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Whether `password` hashes to the PHC string `stored` with its own algorithm, version,
/// parameters and salt, computed in `memory` (grown when the parameters need more). The
/// outputs are compared in constant time (`Output`'s equality).
fn matches_with(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        hash.version.map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut computed, &mut memory[..])
        .is_ok()
        && Output::new(&computed).is_ok_and(|computed| computed == *expected)
}

/// Hashes synchronously, for code already on a blocking thread (CLI, tenant creation).
pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("password hashing failed: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_one_hash_per_core_runs_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4 * max_concurrent_hashes())
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(bounded(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("bounded work");
        }
        assert_eq!(peak.load(Ordering::SeqCst), max_concurrent_hashes());
    }

    #[test]
    fn kept_memory_verifies_hashes_of_other_parameters_and_refuses_wrong_passwords() {
        let smaller = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8_192, 3, 1, None).expect("params"),
        )
        .hash_password(b"older-password")
        .expect("hash")
        .to_string();
        let current = hash_blocking("right-password").expect("hash");
        let mut memory = Vec::new();
        assert!(matches_with(&mut memory, b"right-password", &current));
        assert!(!matches_with(&mut memory, b"wrong-password", &current));
        assert!(matches_with(&mut memory, b"older-password", &smaller));
        assert!(!matches_with(&mut memory, b"right-password", &smaller));
        assert!(!matches_with(&mut memory, b"right-password", "not a hash"));
    }

    #[tokio::test]
    async fn unknown_users_are_verified_against_the_dummy_hash_and_refused() {
        let stored = hash("right-password".into()).await.expect("hash");
        assert!(verify("right-password".into(), Some(stored.clone())).await);
        assert!(!verify("wrong-password".into(), Some(stored)).await);
        assert!(!verify("voki-dummy-password".into(), None).await);
    }
}
