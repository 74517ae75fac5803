//! The tenant registry and the set of open tenant databases.
//!
//! A tenant database is opened on first use and kept open while it is used; a sweep
//! closes the ones idle for longer than `tenant_idle_secs`, and opening one more than
//! `max_open_tenants` closes the least recently used first, so the number of open files
//! stays bounded however many tenants the registry holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};

use super::{Database, DbSettings, Schema, prepare_file};
use crate::error::ApiError;
use crate::realtime::Hub;

/// A row of the registry's `tenants` table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantInfo {
    pub slug: String,
    pub name: String,
    pub inserted_at: String,
}

struct OpenTenant {
    db: Arc<Database>,
    last_used: Instant,
}

pub struct Tenants {
    data_dir: PathBuf,
    settings: DbSettings,
    /// Where the tenants' committed live messages go.
    hub: Arc<Hub>,
    max_open: usize,
    registry: Database,
    open: Mutex<HashMap<String, OpenTenant>>,
}

/// `^[a-z0-9][a-z0-9-]{1,62}$` (SPEC §2.1).
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    (2..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && !bytes[0].is_ascii_uppercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// An exclusive lock on the data dir (the file `voki.lock` in it), across processes;
/// released when the returned file is dropped.
pub fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, ApiError> {
    let path = data_dir.join("voki.lock");
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .map_err(|e| ApiError::internal(format!("open {}: {e}", path.display())))?;
    file.lock()
        .map_err(|e| ApiError::internal(format!("lock {}: {e}", path.display())))?;
    Ok(file)
}

impl Tenants {
    /// Creates the data-dir layout if needed and opens the migrated registry.
    pub fn open(data_dir: &Path, settings: DbSettings, max_open: usize, hub: Arc<Hub>) -> Result<Tenants, ApiError> {
        for dir in [data_dir.to_path_buf(), data_dir.join("tenants"), data_dir.join("files")] {
            std::fs::create_dir_all(&dir).map_err(|e| ApiError::internal(format!("create {}: {e}", dir.display())))?;
            super::make_private(&dir, true)?;
        }
        // Two processes starting on an empty data dir (two `voki tenant create`) take
        // turns migrating the registry.
        let _lock = lock_data_dir(data_dir)?;
        let registry_path = data_dir.join("voki.db");
        prepare_file(&registry_path, Schema::Registry, &settings)?;
        let registry = Database::open(&registry_path, &settings, None)?;
        Ok(Tenants {
            data_dir: data_dir.to_path_buf(),
            settings,
            hub,
            max_open: max_open.max(1),
            registry,
            open: Mutex::new(HashMap::new()),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn registry(&self) -> &Database {
        &self.registry
    }

    fn tenant_path(&self, slug: &str) -> PathBuf {
        self.data_dir.join("tenants").join(format!("{slug}.db"))
    }

    pub async fn list(&self) -> Result<Vec<TenantInfo>, ApiError> {
        self.registry
            .read(|conn| {
                let mut stmt = conn.prepare_cached("SELECT slug, name, inserted_at FROM tenants ORDER BY slug")?;
                let rows = stmt.query_map([], |row| {
                    Ok(TenantInfo {
                        slug: row.get(0)?,
                        name: row.get(1)?,
                        inserted_at: row.get(2)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    pub async fn exists(&self, slug: &str) -> Result<bool, ApiError> {
        if !is_valid_slug(slug) {
            return Ok(false);
        }
        if self.open.lock().expect("tenant map poisoned").contains_key(slug) {
            return Ok(true);
        }
        let slug = slug.to_string();
        self.registry
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT 1 FROM tenants WHERE slug = ?1")?
                    .query_row([slug], |_| Ok(()))
                    .optional()?
                    .is_some())
            })
            .await
    }

    /// The database of tenant `slug`, opened if needed; `None` for an unknown tenant.
    pub async fn get(&self, slug: &str) -> Result<Option<Arc<Database>>, ApiError> {
        if let Some(open) = self.open.lock().expect("tenant map poisoned").get_mut(slug) {
            open.last_used = Instant::now();
            return Ok(Some(open.db.clone()));
        }
        if !self.exists(slug).await? {
            return Ok(None);
        }
        let path = self.tenant_path(slug);
        let settings = self.settings.clone();
        let live = self.hub.sink(slug);
        // Migrations ran at startup (or at creation); preparing again is a cheap no-op
        // that also covers a tenant created by the CLI while this server runs.
        let db = tokio::task::spawn_blocking(move || {
            prepare_file(&path, Schema::Tenant, &settings)?;
            Database::open(&path, &settings, Some(live))
        })
        .await
        .map_err(ApiError::internal)??;
        let db = Arc::new(db);

        let mut open = self.open.lock().expect("tenant map poisoned");
        if let Some(existing) = open.get(slug) {
            // Another request opened it meanwhile; keep one.
            return Ok(Some(existing.db.clone()));
        }
        while open.len() >= self.max_open {
            let Some(oldest) = open.iter().min_by_key(|(_, t)| t.last_used).map(|(s, _)| s.clone()) else {
                break;
            };
            open.remove(&oldest);
            tracing::debug!(tenant = %oldest, "closed least recently used tenant database");
        }
        open.insert(
            slug.to_string(),
            OpenTenant {
                db: db.clone(),
                last_used: Instant::now(),
            },
        );
        Ok(Some(db))
    }

    /// Creates tenant `slug`: its database file is made, migrated and filled by `init`
    /// first, and the registry row is written last, so a registered tenant always has a
    /// complete file.
    pub async fn create<F>(&self, slug: &str, name: &str, init: F) -> Result<(), ApiError>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<(), ApiError> + Send + 'static,
    {
        if !is_valid_slug(slug) {
            return Err(crate::error::FieldErrors::single("slug", "is invalid"));
        }
        let path = self.tenant_path(slug);
        // Held until the tenant is registered, so a second process creating the same
        // slug at the same time waits, then finds it taken.
        let data_dir = self.data_dir.clone();
        let _lock = tokio::task::spawn_blocking(move || lock_data_dir(&data_dir))
            .await
            .map_err(ApiError::internal)??;
        if self.exists(slug).await? || path.exists() {
            return Err(crate::error::FieldErrors::single("slug", "has already been taken"));
        }
        let settings = self.settings.clone();
        let file = path.clone();
        let db = tokio::task::spawn_blocking(move || {
            prepare_file(&file, Schema::Tenant, &settings)?;
            Database::open(&file, &settings, None)
        })
        .await
        .map_err(ApiError::internal)??;
        if let Err(err) = db.write(init).await {
            drop(db);
            remove_database_files(&path);
            return Err(err);
        }
        drop(db);

        let (slug_owned, name) = (slug.to_string(), name.to_string());
        let registered = self
            .registry
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO tenants (slug, name, inserted_at) VALUES (?1, ?2, ?3)",
                    params![slug_owned, name, crate::time::now_text()],
                )
                .map_err(crate::error::unique_violation_as("slug"))?;
                Ok(())
            })
            .await;
        if registered.is_err() {
            remove_database_files(&path);
        }
        registered
    }

    /// Applies pending migrations to every registered tenant (at startup, and `voki migrate`).
    pub async fn migrate_all(&self) -> Result<usize, ApiError> {
        let tenants = self.list().await?;
        let count = tenants.len();
        for tenant in tenants {
            let path = self.tenant_path(&tenant.slug);
            let settings = self.settings.clone();
            tokio::task::spawn_blocking(move || prepare_file(&path, Schema::Tenant, &settings))
                .await
                .map_err(ApiError::internal)?
                .map_err(|e| ApiError::internal(format!("tenant {}: {e}", tenant.slug)))?;
        }
        Ok(count)
    }

    /// The slugs of the tenant databases open right now (the recently active ones).
    pub fn open_slugs(&self) -> Vec<String> {
        self.open.lock().expect("tenant map poisoned").keys().cloned().collect()
    }

    /// Closes tenant databases unused for `idle`. Requests holding one keep it alive.
    pub fn close_idle(&self, idle: Duration) {
        let mut open = self.open.lock().expect("tenant map poisoned");
        open.retain(|slug, tenant| {
            let keep = tenant.last_used.elapsed() < idle;
            if !keep {
                tracing::debug!(tenant = %slug, "closed idle tenant database");
            }
            keep
        });
    }

    /// Checkpoints and closes every open database (graceful shutdown).
    pub async fn close_all(&self) {
        let open: Vec<Arc<Database>> = self
            .open
            .lock()
            .expect("tenant map poisoned")
            .drain()
            .map(|(_, t)| t.db)
            .collect();
        for db in open {
            db.checkpoint().await;
        }
        self.registry.checkpoint().await;
    }
}

fn remove_database_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_slug;

    #[test]
    fn tenant_slug_rule() {
        for ok in ["demo", "hospital-abc", "a1", "9clinic"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["a", "-abc", "Demo", "demo_1", "de mo", "../etc", &"a".repeat(64)] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}
