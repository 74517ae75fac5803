//! The users that requests authenticate as, kept between requests. A list request would
//! otherwise read its caller's row (with departments and provider) before its own query,
//! in a second trip to the database's readers. An entry is good only while its database
//! has committed no change to a user, their departments or their provider since it was
//! read ([`crate::db::Database::user_generation`]); other writes of the tenant keep it.
//! It is also forgotten after [`USER_CACHE`], for changes made by another process (the CLI).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::users::User;

/// How long a cached user is believed at most.
pub const USER_CACHE: Duration = Duration::from_secs(2);
/// Entries kept at most; past it the cache starts again empty.
const ENTRIES: usize = 10_000;

struct Entry {
    user: User,
    generation: (u64, u64),
    read_at: Instant,
}

#[derive(Default)]
pub struct UserCache {
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl UserCache {
    /// User `user_id` of `tenant`, if it was read at write generation `generation`.
    pub fn get(&self, tenant: &str, user_id: &str, generation: (u64, u64)) -> Option<User> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(tenant.to_string(), user_id.to_string()))
            .filter(|entry| entry.generation == generation && entry.read_at.elapsed() < USER_CACHE)
            .map(|entry| entry.user.clone())
    }

    /// Keeps `user` as read at `generation` (taken before the read).
    pub fn insert(&self, tenant: &str, user: &User, generation: (u64, u64)) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        entries.insert(
            (tenant.to_string(), user.id.clone()),
            Entry {
                user: user.clone(),
                generation,
                read_at: Instant::now(),
            },
        );
    }
}
