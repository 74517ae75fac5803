//! The tenant registry and the set of open tenant databases.
//!
//! A tenant database is opened on first use and kept open while it is used; a sweep
//! closes the ones idle for longer than `tenant_idle_secs`, and opening one more than
//! `max_open_tenants` closes the least recently used first, so the number of open files
//! stays bounded however many tenants the registry holds.
//!
//! Requests open a tenant with [`Tenants::get`], which refreshes its idle clock; the
//! background loops use [`Tenants::get_background`], which does not, so a tenant that only
//! the sweeper touches is still closed once idle. The registry's `tenant_state` table
//! records when something is next due in each tenant, so a sweep opens only those
//! ([`Tenants::due_for_sweep`]); a tenant used since its last sweep is swept again before
//! it is closed.
//!
//! Suspension (SPEC §7.6) is read from the registry at most [`SUSPENSION_RECHECK`] apart,
//! so a `voki tenant suspend` run by another process takes effect within that time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};

use super::{Database, DbSettings, EventSink, Schema, WriteTx, prepare_file};
use crate::error::ApiError;

/// How long a read of the suspended tenants is believed (SPEC §7.8: a running server
/// notices a suspension within 5 s).
pub const SUSPENSION_RECHECK: Duration = Duration::from_secs(2);

/// A row of the registry's `tenants` table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantInfo {
    pub slug: String,
    pub name: String,
    pub inserted_at: String,
    pub suspended_at: Option<String>,
}

struct OpenTenant {
    db: Arc<Database>,
    last_used: Instant,
    /// A request used it since the sweeper last looked at it: its next due time may have
    /// moved, so it must be swept before it is forgotten.
    used_since_sweep: bool,
}

/// The suspended slugs as last read from the registry.
#[derive(Default)]
struct Suspended {
    read_at: Option<Instant>,
    slugs: HashSet<String>,
}

/// What the rest of the server hears from the tenant databases (the live sockets).
pub trait TenantListener: Send + Sync {
    /// Where the committed events of tenant `slug` go.
    fn sink(&self, slug: &str) -> EventSink;
    /// Tenant `slug` was suspended or deleted: whatever it still has open ends.
    fn closed(&self, slug: &str);
}

/// A tenant a request or a task acts in: its slug and its open database.
#[derive(Clone)]
pub struct Tenant {
    pub slug: String,
    pub db: Arc<Database>,
}

pub struct Tenants {
    data_dir: PathBuf,
    settings: DbSettings,
    /// Where the tenants' committed events go, and who hears of closed tenants.
    listener: Arc<dyn TenantListener>,
    max_open: usize,
    registry: Database,
    open: Mutex<HashMap<String, OpenTenant>>,
    suspended: Mutex<Suspended>,
    /// Tenants closed while used since their last sweep: the next sweep looks at them.
    pending: Mutex<HashSet<String>>,
    /// Tenant files migrated by this process (each file is checked once per process).
    migrated: Mutex<HashSet<String>>,
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
    pub fn open(
        data_dir: &Path,
        settings: DbSettings,
        max_open: usize,
        listener: Arc<dyn TenantListener>,
    ) -> Result<Tenants, ApiError> {
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
            listener,
            max_open: max_open.max(1),
            registry,
            open: Mutex::new(HashMap::new()),
            suspended: Mutex::default(),
            pending: Mutex::default(),
            migrated: Mutex::default(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn registry(&self) -> &Database {
        &self.registry
    }

    /// `tenants/<slug>.db` of the data dir.
    pub fn tenant_path(&self, slug: &str) -> PathBuf {
        self.data_dir.join("tenants").join(format!("{slug}.db"))
    }

    pub async fn list(&self) -> Result<Vec<TenantInfo>, ApiError> {
        self.registry
            .read(|conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT slug, name, inserted_at, suspended_at FROM tenants ORDER BY slug")?;
                let rows = stmt.query_map([], |row| {
                    Ok(TenantInfo {
                        slug: row.get(0)?,
                        name: row.get(1)?,
                        inserted_at: row.get(2)?,
                        suspended_at: row.get(3)?,
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

    /// The database of tenant `slug` for a request, opened if needed; `None` for an unknown
    /// tenant, 403 `Tenant suspended` for a suspended one. Refreshes its idle clock.
    pub async fn get(&self, slug: &str) -> Result<Option<Arc<Database>>, ApiError> {
        if self.is_suspended(slug).await? {
            return Err(ApiError::Forbidden("Tenant suspended".into()));
        }
        self.open_tenant(slug, true).await
    }

    /// The database of tenant `slug` for background work: `None` for an unknown or a
    /// suspended tenant, and its idle clock is left alone, so a tenant only the loops
    /// touch is still closed after `tenant_idle_secs`.
    pub async fn get_background(&self, slug: &str) -> Result<Option<Arc<Database>>, ApiError> {
        if self.is_suspended(slug).await? {
            return Ok(None);
        }
        self.open_tenant(slug, false).await
    }

    pub(super) async fn open_tenant(&self, slug: &str, by_request: bool) -> Result<Option<Arc<Database>>, ApiError> {
        if let Some(open) = self.open.lock().expect("tenant map poisoned").get_mut(slug) {
            if by_request {
                open.last_used = Instant::now();
                open.used_since_sweep = true;
            }
            return Ok(Some(open.db.clone()));
        }
        if !self.exists(slug).await? {
            return Ok(None);
        }
        let path = self.tenant_path(slug);
        let settings = self.settings.clone();
        let sink = self.listener.sink(slug);
        // Startup skips files the registry records as migrated; the first open in a process
        // checks once more (a file replaced by hand, a tenant created by the CLI meanwhile).
        let check = !self.migrated.lock().expect("migrated set poisoned").contains(slug);
        let db = tokio::task::spawn_blocking(move || {
            if check {
                prepare_file(&path, Schema::Tenant, &settings)?;
            }
            Database::open(&path, &settings, Some(sink))
        })
        .await
        .map_err(ApiError::from_source)??;
        self.migrated
            .lock()
            .expect("migrated set poisoned")
            .insert(slug.to_string());
        let db = Arc::new(db);

        let mut open = self.open.lock().expect("tenant map poisoned");
        if let Some(existing) = open.get_mut(slug) {
            // Another task opened it meanwhile; keep one.
            existing.used_since_sweep |= by_request;
            return Ok(Some(existing.db.clone()));
        }
        while open.len() >= self.max_open {
            let Some(oldest) = open.iter().min_by_key(|(_, t)| t.last_used).map(|(s, _)| s.clone()) else {
                break;
            };
            if let Some(closed) = open.remove(&oldest) {
                self.closing(&oldest, &closed);
            }
            tracing::debug!(tenant = %oldest, "closed least recently used tenant database");
        }
        open.insert(
            slug.to_string(),
            OpenTenant {
                db: db.clone(),
                last_used: Instant::now(),
                used_since_sweep: by_request,
            },
        );
        Ok(Some(db))
    }

    /// Remembers a tenant being closed while its next due time may be stale.
    fn closing(&self, slug: &str, tenant: &OpenTenant) {
        if tenant.used_since_sweep {
            self.pending
                .lock()
                .expect("pending set poisoned")
                .insert(slug.to_string());
        }
    }

    /// Whether tenant `slug` is suspended, as of at most [`SUSPENSION_RECHECK`] ago. A fresh
    /// read also closes the open databases of suspended and deleted tenants.
    pub async fn is_suspended(&self, slug: &str) -> Result<bool, ApiError> {
        {
            let mut cache = self.suspended.lock().expect("suspension cache poisoned");
            let fresh = cache.read_at.is_some_and(|at| at.elapsed() < SUSPENSION_RECHECK);
            if fresh {
                return Ok(cache.slugs.contains(slug));
            }
            // Concurrent callers keep using the old set while this one reads the new one.
            cache.read_at = Some(Instant::now());
        }
        let open = self.open_slugs();
        let (suspended, gone) = self
            .registry
            .read(move |conn| {
                let suspended = conn
                    .prepare_cached("SELECT slug FROM tenants WHERE suspended_at IS NOT NULL")?
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<HashSet<_>, _>>()?;
                let mut exists = conn.prepare_cached("SELECT 1 FROM tenants WHERE slug = ?1")?;
                let mut gone = Vec::new();
                for slug in open {
                    if exists.query_row([&slug], |_| Ok(())).optional()?.is_none() {
                        gone.push(slug);
                    }
                }
                Ok((suspended, gone))
            })
            .await?;
        {
            let mut map = self.open.lock().expect("tenant map poisoned");
            for slug in suspended.iter().chain(&gone) {
                if map.remove(slug).is_some() {
                    tracing::info!(tenant = %slug, "closed the database of a suspended or deleted tenant");
                }
            }
        }
        let answer = suspended.contains(slug);
        let before = std::mem::replace(
            &mut self.suspended.lock().expect("suspension cache poisoned").slugs,
            suspended.clone(),
        );
        // Sockets opened before the suspension (or deletion) are closed too.
        for slug in suspended.difference(&before).chain(&gone) {
            self.listener.closed(slug);
        }
        Ok(answer)
    }

    /// Suspends (`true`) or resumes tenant `slug`; `false` when there is no such tenant.
    pub async fn set_suspended(&self, slug: &str, suspended: bool) -> Result<bool, ApiError> {
        let slug_owned = slug.to_string();
        let changed = self
            .registry
            .write(move |conn| {
                let at = suspended.then(crate::time::now_text);
                Ok(conn
                    .prepare_cached(
                        "UPDATE tenants SET suspended_at = CASE WHEN ?2 IS NULL THEN NULL
                         ELSE coalesce(suspended_at, ?2) END WHERE slug = ?1",
                    )?
                    .execute(params![slug_owned, at])?)
            })
            .await?;
        self.suspended.lock().expect("suspension cache poisoned").read_at = None;
        Ok(changed > 0)
    }

    /// Removes tenant `slug` from the registry (its public identifiers and schedule go with
    /// it) and closes its database; `false` when there is no such tenant. The files stay
    /// where they are: the caller moves them.
    pub async fn unregister(&self, slug: &str) -> Result<bool, ApiError> {
        let slug_owned = slug.to_string();
        let removed = self
            .registry
            .write(move |conn| Ok(conn.execute("DELETE FROM tenants WHERE slug = ?1", [slug_owned])?))
            .await?;
        self.open.lock().expect("tenant map poisoned").remove(slug);
        self.migrated.lock().expect("migrated set poisoned").remove(slug);
        Ok(removed > 0)
    }

    /// The tenants a sweep at `now` looks at: the open ones (cheap: already open), the
    /// ones the registry says have something due (or were never swept), and the ones
    /// closed since they were last used. Suspended tenants are left out.
    pub async fn due_for_sweep(&self, now: &str) -> Result<Vec<String>, ApiError> {
        let now = now.to_string();
        let mut due: HashSet<String> = self
            .registry
            .read(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT t.slug FROM tenants t LEFT JOIN tenant_state s ON s.tenant_slug = t.slug
                         WHERE s.tenant_slug IS NULL OR s.next_due_at <= ?1",
                    )?
                    .query_map([now], |row| row.get::<_, String>(0))?
                    .collect::<Result<HashSet<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        due.extend(self.open_slugs());
        due.extend(self.pending.lock().expect("pending set poisoned").drain());
        let mut due: Vec<String> = due.into_iter().collect();
        due.sort();
        let mut kept = Vec::with_capacity(due.len());
        for slug in due {
            if !self.is_suspended(&slug).await? {
                kept.push(slug);
            }
        }
        Ok(kept)
    }

    /// Called by the sweeper before it runs the jobs of an open tenant: uses after this
    /// point make it due again.
    pub fn begin_sweep(&self, slug: &str) {
        if let Some(open) = self.open.lock().expect("tenant map poisoned").get_mut(slug) {
            open.used_since_sweep = false;
        }
    }

    /// Records, for each swept tenant, when something is next due there (`None`: nothing
    /// until it is used again), in one registry write.
    pub async fn record_sweeps(&self, swept: Vec<(String, Option<String>)>) -> Result<(), ApiError> {
        if swept.is_empty() {
            return Ok(());
        }
        self.registry
            .write(move |conn| {
                let now = crate::time::now_text();
                let mut upsert = conn.prepare_cached(
                    "INSERT INTO tenant_state (tenant_slug, next_due_at, swept_at)
                     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM tenants WHERE slug = ?1)
                     ON CONFLICT (tenant_slug) DO UPDATE SET next_due_at = excluded.next_due_at,
                                                            swept_at = excluded.swept_at",
                )?;
                for (slug, next_due) in &swept {
                    upsert.execute(params![slug, next_due, now])?;
                }
                Ok(())
            })
            .await
    }

    /// Creates tenant `slug`: its database file is made, migrated and filled by `init`
    /// first, and the registry row is written last, so a registered tenant always has a
    /// complete file.
    pub async fn create<F>(&self, slug: &str, name: &str, init: F) -> Result<(), ApiError>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<(), ApiError> + Send + 'static,
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
            .map_err(ApiError::from_source)??;
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
        .map_err(ApiError::from_source)??;
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
                let now = crate::time::now_text();
                conn.execute(
                    "INSERT INTO tenants (slug, name, inserted_at) VALUES (?1, ?2, ?3)",
                    params![slug_owned, name, now],
                )
                .map_err(crate::error::unique_violation_as("slug"))?;
                // Due at once: `init` may have written something the sweeper must see.
                mark_migrated(conn, &slug_owned, Some(&now))
            })
            .await;
        if registered.is_err() {
            remove_database_files(&path);
        }
        registered
    }

    /// Applies pending migrations to every registered tenant whose file the registry does
    /// not record as migrated to the latest version (at startup, and `voki migrate`), and
    /// makes due the tenants whose file changed after their last sweep (a crash between a
    /// write and the sweep, or another process wrote it). Returns the number of tenants.
    pub async fn migrate_all(&self) -> Result<usize, ApiError> {
        let latest = super::tenant_schema_version();
        let tenants: Vec<(String, i64, Option<String>)> = self
            .registry
            .read(|conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT t.slug, coalesce(s.schema_version, 0), s.swept_at
                         FROM tenants t LEFT JOIN tenant_state s ON s.tenant_slug = t.slug ORDER BY t.slug",
                    )?
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let count = tenants.len();
        let mut migrated = Vec::new();
        let mut changed = Vec::new();
        for (slug, version, swept_at) in tenants {
            let path = self.tenant_path(&slug);
            if version < latest {
                let settings = self.settings.clone();
                let file = path.clone();
                tokio::task::spawn_blocking(move || prepare_file(&file, Schema::Tenant, &settings))
                    .await
                    .map_err(ApiError::from_source)?
                    .map_err(|e| ApiError::internal(format!("tenant {slug}: {e}")))?;
                self.migrated
                    .lock()
                    .expect("migrated set poisoned")
                    .insert(slug.clone());
                migrated.push(slug);
            } else if swept_at.is_some_and(|swept| written_after(&path, &swept)) {
                changed.push(slug);
            }
        }
        self.registry
            .write(move |conn| {
                let now = crate::time::now_text();
                // A migrated file (a new schema, or one never recorded) is looked at once.
                for slug in &migrated {
                    mark_migrated(conn, slug, Some(&now))?;
                }
                let mut due = conn.prepare_cached("UPDATE tenant_state SET next_due_at = ?2 WHERE tenant_slug = ?1")?;
                for slug in &changed {
                    due.execute(params![slug, now])?;
                }
                Ok(())
            })
            .await?;
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
                self.closing(slug, tenant);
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

/// Records tenant `slug`'s file as migrated to the latest schema; with `due`, also makes
/// it due at that time.
fn mark_migrated(conn: &rusqlite::Connection, slug: &str, due: Option<&str>) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO tenant_state (tenant_slug, next_due_at, schema_version) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_slug) DO UPDATE SET schema_version = excluded.schema_version,
             next_due_at = coalesce(excluded.next_due_at, tenant_state.next_due_at)",
    )?
    .execute(params![slug, due, super::tenant_schema_version()])?;
    Ok(())
}

/// Whether the database file at `path` (or its WAL) was modified after RFC 3339 time `at`.
fn written_after(path: &Path, at: &str) -> bool {
    let Some(at) = crate::time::parse(at) else {
        return true;
    };
    [path.to_path_buf(), super::wal_path(path)].iter().any(|file| {
        std::fs::metadata(file)
            .and_then(|m| m.modified())
            .map(|modified| chrono::DateTime::<chrono::Utc>::from(modified) > at)
            .unwrap_or(false)
    })
}

/// Removes a database file with its WAL and shared-memory files.
pub fn remove_database_files(path: &Path) {
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
