//! API keys for integrators (SPEC §7.4): `vk_<slug>_<random>`, shown once, stored as a
//! SHA-256 hash, with a role no higher than their creator's and never owner. A key acts
//! with its role under its creator's identity (rows that name a user stay valid) and is
//! refused once deleted, expired, or when its creator is deactivated.
//!
//! Lookups are cached in memory by hash, so a request with a key costs what one with a
//! JWT does (one read of the acting user); deleting a key drops it from the cache at once.

pub mod routes;
pub mod store;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Role;
use crate::auth::token::{hash_token, random_token};
use crate::time::Timestamp;

/// `last_used_at` is written at most this often per key.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// A new key for tenant `slug` (`vk_<slug>_` + 256 random bits).
pub fn new_key(slug: &str) -> String {
    format!("vk_{slug}_{}", random_token())
}

/// The tenant a key names, when `token` has the key form.
pub fn key_tenant(token: &str) -> Option<&str> {
    let (slug, random) = token.strip_prefix("vk_")?.split_once('_')?;
    (!slug.is_empty() && random.len() >= 22).then_some(slug)
}

/// What is shown of a key in lists: `vk_<slug>_` and its first 6 random characters.
pub fn prefix(key: &str) -> String {
    let cut = key_tenant(key).map_or(0, |slug| 4 + slug.len());
    key.chars().take(cut + 6).collect()
}

/// A key as the authentication needs it.
#[derive(Debug, Clone)]
pub struct ActiveKey {
    pub id: String,
    pub name: String,
    pub tenant: String,
    pub role: Role,
    pub user_id: String,
    pub expires_at: Option<Timestamp>,
}

struct Cached {
    key: ActiveKey,
    last_used_written: Option<Instant>,
}

/// Keys seen recently, by hash.
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, Cached>>,
}

impl KeyCache {
    /// The cached key for `token` and whether its `last_used_at` is due to be written.
    pub fn get(&self, token: &str) -> Option<(ActiveKey, bool)> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let cached = keys.get_mut(&hash_token(token))?;
        let due = cached
            .last_used_written
            .is_none_or(|at| at.elapsed() >= LAST_USED_EVERY);
        if due {
            cached.last_used_written = Some(Instant::now());
        }
        Some((cached.key.clone(), due))
    }

    pub fn insert(&self, token: &str, key: ActiveKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(
            hash_token(token),
            Cached {
                key,
                last_used_written: Some(Instant::now()),
            },
        );
    }

    /// Forgets key `id` of `tenant` (deleted).
    pub fn forget(&self, tenant: &str, id: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.retain(|_, cached| !(cached.key.tenant == tenant && cached.key.id == id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_tenant_and_shows_a_short_prefix() {
        let key = new_key("clinica-sul");
        assert_eq!(key_tenant(&key), Some("clinica-sul"));
        assert!(key.len() > "vk_clinica-sul_".len() + 40);
        assert_eq!(prefix(&key).len(), "vk_clinica-sul_".len() + 6);
        assert!(key.starts_with(&prefix(&key)));
        assert_eq!(key_tenant("eyJhbGciOi.x.y"), None);
        assert_eq!(key_tenant("vk_acme_short"), None);
    }
}
