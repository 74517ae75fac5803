//! SQLite storage: one registry database (`voki.db`) and one database file per tenant
//! (`tenants/<slug>.db`), each reached through a [`Database`] (a reader pool plus one
//! writer thread). Migrations are SQL files under `migrations/`, embedded at build time.

mod executor;
mod public_index;
pub mod query;
mod tenants;
mod totals;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};

pub use executor::{Database, Event, EventSink, WriteTx};
pub use public_index::{PublicEntry, PublicKind};
pub use tenants::{
    SUSPENSION_RECHECK, Tenant, TenantInfo, TenantListener, Tenants, is_valid_slug, remove_database_files,
};

use crate::error::ApiError;

mod registry_migrations {
    refinery::embed_migrations!("migrations/registry");
}
mod tenant_migrations {
    refinery::embed_migrations!("migrations/tenant");
}

/// The latest version of the tenant migrations built into this binary.
pub fn tenant_schema_version() -> i64 {
    tenant_migrations::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Which migration set a database file takes.
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    Registry,
    Tenant,
}

/// Connection settings shared by every database of the process.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// Validated by `Config::validate` to one of OFF, NORMAL, FULL, EXTRA.
    pub synchronous: String,
    pub readers: u32,
    /// `PRAGMA wal_autocheckpoint` pages; 0 leaves checkpoints to an outside process
    /// (Litestream), and voki's own checkpoints on close are then PASSIVE, never TRUNCATE.
    pub wal_autocheckpoint: u32,
}

impl DbSettings {
    pub fn from_config(config: &crate::config::Config) -> DbSettings {
        DbSettings {
            synchronous: config.synchronous.to_ascii_uppercase(),
            readers: config.reader_pool_size as u32,
            wal_autocheckpoint: config.wal_autocheckpoint as u32,
        }
    }
}

/// Page cache of a read connection, in KiB (SQLite's `cache_size`, negative = KiB). A
/// tenant has up to `reader_pool_size` readers; they serve index range scans of a few
/// pages per request, and what falls out of their cache is still in the OS page cache.
pub const READER_CACHE_KIB: i64 = 1024;
/// Page cache of a tenant's one write connection, in KiB: every insert walks the interior
/// pages of each index of its table, which this keeps in memory.
pub const WRITER_CACHE_KIB: i64 = 4096;
/// How much of a database file each pooled read connection reads through a memory map
/// (SQLite's `mmap_size`, bytes): a page read is then a memory access instead of a `pread`
/// that copies the page into the connection's cache, which doubled the rate of a list page
/// and its count. The mapped pages are the OS page cache, shared by every connection of
/// the file and reclaimable; they count in the process's RSS as file pages, once per
/// connection mapping them. The writer (whose pages stay in its own cache) and the
/// one-off readers of exports (a whole-file scan) do not map the file.
pub const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// What a pooled read connection sets on top of [`configure`]: its page cache and its
/// memory map (also what the list bench's raw baseline runs with).
pub fn reader_pragmas() -> String {
    format!("PRAGMA cache_size = -{READER_CACHE_KIB}; PRAGMA mmap_size = {MMAP_BYTES};")
}
/// Compiled statements a connection keeps for reuse (rusqlite's statement cache; its
/// default is 16). One write job runs more distinct statements than that (a patient's
/// join runs about 25, with the triggers' own), so with 16 the least recently used were
/// compiled again on every job: a quarter of the server's CPU time under joins. A
/// connection holds only the statements it has run, each a few KiB.
pub const STATEMENT_CACHE: usize = 128;
/// All the page caches of the process together (SQLite's soft heap limit, in bytes):
/// past it, a connection recycles its own least recently used pages instead of growing,
/// so memory stays bounded however many tenants are open
/// (`max_open_tenants × (4 MiB + reader_pool_size × 1 MiB)` would be the worst case).
pub const SQLITE_SOFT_HEAP_LIMIT: i64 = 96 * 1024 * 1024;

/// The WAL beside the database file at `path` (`<file>-wal`).
pub(crate) fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Per-connection pragmas and functions. `busy_timeout` comes first: every later
/// statement, the pragmas included, may meet a lock held by another process (the CLI,
/// a backup) and must wait for it rather than fail. Connections start with the readers'
/// page cache; the writer takes [`WRITER_CACHE_KIB`].
pub(crate) fn configure(conn: &Connection, settings: &DbSettings) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = {}; PRAGMA cache_size = -{READER_CACHE_KIB};",
        settings.synchronous, settings.wal_autocheckpoint
    ))?;
    conn.query_row(
        &format!("PRAGMA soft_heap_limit = {SQLITE_SOFT_HEAP_LIMIT}"),
        [],
        |_| Ok(()),
    )?;
    conn.create_aggregate_function(
        "count_distinct",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        CountDistinct,
    )?;
    // SQLite's lower() folds ASCII only; names here are Portuguese, French, Spanish.
    conn.create_scalar_function(
        "casefold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|text| text.to_lowercase())),
    )?;
    Ok(())
}

/// `count_distinct(x)`: what `count(DISTINCT x)` answers (NULLs not counted; unlike SQLite,
/// an integer and a real of the same value count as two), counted in a hash set instead of
/// the temporary B-tree SQLite sorts the values into, which took more than half of a
/// report over 100 000 calls. Ids (UUIDs) are kept as 128-bit numbers.
struct CountDistinct;

#[derive(Default)]
struct DistinctValues {
    ids: std::collections::HashSet<u128>,
    others: std::collections::HashSet<Vec<u8>>,
}

impl rusqlite::functions::Aggregate<DistinctValues, i64> for CountDistinct {
    fn init(&self, _: &mut rusqlite::functions::Context<'_>) -> rusqlite::Result<DistinctValues> {
        Ok(DistinctValues::default())
    }

    fn step(&self, ctx: &mut rusqlite::functions::Context<'_>, seen: &mut DistinctValues) -> rusqlite::Result<()> {
        use rusqlite::types::ValueRef;
        let key: Vec<u8> = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(()),
            ValueRef::Text(text) => {
                // Only the one spelling voki writes, so two spellings of one UUID stay two
                // values, as they are to SQLite.
                let canonical = text.len() == 36 && !text.iter().any(u8::is_ascii_uppercase);
                if let (true, Ok(id)) = (canonical, uuid::Uuid::try_parse_ascii(text)) {
                    seen.ids.insert(id.as_u128());
                    return Ok(());
                }
                [b"t", text].concat()
            }
            ValueRef::Integer(number) => [&b"i"[..], &number.to_le_bytes()].concat(),
            ValueRef::Real(number) => [&b"r"[..], &number.to_bits().to_le_bytes()].concat(),
            ValueRef::Blob(blob) => [b"b", blob].concat(),
        };
        seen.others.insert(key);
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
        seen: Option<DistinctValues>,
    ) -> rusqlite::Result<i64> {
        Ok(seen.map_or(0, |seen| (seen.ids.len() + seen.others.len()) as i64))
    }
}

/// The error for column `index` holding `text` that no enum value matches: something a
/// CHECK constraint should have made impossible, so it surfaces as an internal error.
pub fn unknown_text(index: usize, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("unexpected value {text:?}").into(),
    )
}

/// Whether any row of `tables` has `column = id` (a department's calls, a customer's
/// appointments, …): the history that forbids deleting an object.
pub fn referenced_by(conn: &Connection, tables: &[&str], column: &str, id: &str) -> Result<bool, ApiError> {
    for table in tables {
        let sql = format!("SELECT 1 FROM {table} WHERE {column} = ?1 LIMIT 1");
        if conn
            .prepare_cached(&sql)?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Opens (creating if needed) a database file, switches it to WAL and migrates it, all on
/// one connection. WAL is persistent in the file; doing it here, before any pool exists,
/// avoids pooled connections racing to change the journal mode ("database is locked").
pub fn prepare_file(path: &Path, schema: Schema, settings: &DbSettings) -> Result<(), ApiError> {
    // Created 0600 whatever the umask; SQLite gives its -wal and -shm files the mode of
    // the database file.
    create_private_file(path)?;
    let mut conn = Connection::open(path).map_err(|e| ApiError::internal(format!("open {}: {e}", path.display())))?;
    configure(&conn, settings)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(ApiError::internal(format!(
            "{} refused WAL mode ({mode})",
            path.display()
        )));
    }
    let migrated = match schema {
        Schema::Registry => registry_migrations::migrations::runner().run(&mut conn),
        Schema::Tenant => tenant_migrations::migrations::runner().run(&mut conn),
    };
    migrated.map_err(|e| ApiError::internal(format!("migrating {}: {e}", path.display())))?;
    Ok(())
}

/// Creates `path` empty with mode 0600 when it does not exist, and makes an existing
/// one 0600.
fn create_private_file(path: &Path) -> Result<(), ApiError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| ApiError::internal(format!("create {}: {e}", path.display())))?;
    make_private(path, false)
}

/// Mode 0700 (a directory) or 0600 (a file), whatever the umask made of it.
pub fn make_private(path: &Path, directory: bool) -> Result<(), ApiError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if directory { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| ApiError::internal(format!("chmod {}: {e}", path.display())))?;
    }
    #[cfg(not(unix))]
    let _ = (path, directory);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_distinct_answers_what_count_distinct_does() {
        let conn = Connection::open_in_memory().expect("open");
        configure(
            &conn,
            &DbSettings {
                synchronous: "OFF".into(),
                readers: 1,
                wal_autocheckpoint: 0,
            },
        )
        .expect("configure");
        conn.execute_batch(
            "CREATE TABLE t (g INTEGER, v);
             INSERT INTO t VALUES
               (1, '0b6f1c9e-6a4e-4f3a-9a51-3c2a7d1e8f00'), (1, '0b6f1c9e-6a4e-4f3a-9a51-3c2a7d1e8f00'),
               (1, '0B6F1C9E-6A4E-4F3A-9A51-3C2A7D1E8F00'), (1, '0b6f1c9e6a4e4f3a9a513c2a7d1e8f00'),
               (1, 'Ana'), (1, 'Ana'), (1, 'ana'), (1, NULL), (1, 7), (1, 7), (1, x'07'),
               (2, NULL), (3, 'only');",
        )
        .expect("rows");
        let mine: Vec<(i64, i64)> = conn
            .prepare("SELECT g, count_distinct(v) FROM t GROUP BY g ORDER BY g")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("count_distinct");
        let sqlite: Vec<(i64, i64)> = conn
            .prepare("SELECT g, count(DISTINCT v) FROM t GROUP BY g ORDER BY g")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("count(DISTINCT)");
        assert_eq!(mine, sqlite);
        assert_eq!(mine, vec![(1, 7), (2, 0), (3, 1)]);
        let none: i64 = conn
            .query_row("SELECT count_distinct(v) FROM t WHERE g = 99", [], |r| r.get(0))
            .expect("empty");
        assert_eq!(none, 0);
    }

    #[test]
    fn audit_log_upgrade_keeps_every_row_in_write_order() {
        let mut conn = Connection::open_in_memory().expect("open");
        tenant_migrations::migrations::runner()
            .set_target(refinery::Target::Version(16))
            .run(&mut conn)
            .expect("migrate to 16");
        conn.execute_batch(
            "INSERT INTO audit_log (id, at, actor_type, action, object_type, object_id, changes) VALUES
               ('f1000000-0000-4000-8000-000000000000', '2026-01-01T00:00:00Z', 'system', 'customer.create', 'customer', 'c', '{}'),
               ('01000000-0000-4000-8000-000000000000', '2026-01-01T00:00:00Z', 'system', 'customer.update', 'customer', 'c', '{\"name\":[\"A\",\"B\"]}');",
        )
        .expect("rows before the upgrade");
        tenant_migrations::migrations::runner()
            .run(&mut conn)
            .expect("migrate to the latest");
        let rows: Vec<(i64, String, String)> = conn
            .prepare("SELECT seq, id, action FROM audit_log ORDER BY rowid")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
            .expect("rows after the upgrade");
        assert_eq!(
            rows,
            vec![
                (
                    1,
                    "f1000000-0000-4000-8000-000000000000".into(),
                    "customer.create".into()
                ),
                (
                    2,
                    "01000000-0000-4000-8000-000000000000".into(),
                    "customer.update".into()
                ),
            ]
        );
        let deleted = conn.execute("DELETE FROM audit_log", []);
        assert!(deleted.is_err(), "audit rows stay undeletable after the upgrade");
        let edited = conn.execute("UPDATE audit_log SET seq = 9 WHERE seq = 1", []);
        assert!(edited.is_err(), "audit rows stay fixed after the upgrade");
    }
}
