//! Backups, their verification, restore, and scheduled backups (SPEC §6, §7.6).
//!
//! `voki backup --out DIR` copies the registry and every tenant while the server keeps
//! serving. Each database goes through SQLite's online backup API in one step, which reads
//! one consistent snapshot of a live WAL database (writers go on meanwhile); uploaded files
//! and the secret key are copied beside them, so the folder is a complete data dir.
//! `voki backup verify DIR` runs `PRAGMA integrity_check` on every database of a backup;
//! `voki restore --from DIR` verifies a backup, copies it into an empty data dir and
//! migrates it. On a terminal the three show a progress bar; elsewhere they stay quiet.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::watch;

use crate::db::{DbSettings, Schema, Tenants};
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::Timestamp;

fn io(what: &str, path: &Path, e: std::io::Error) -> ApiError {
    ApiError::internal(format!("{what} {}: {e}", path.display()))
}

/// A progress bar on stderr when it is a terminal and `show` is set; hidden otherwise.
fn progress(show: bool, len: u64, what: &str) -> ProgressBar {
    if !(show && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}

/// Copies everything into `out` (which must not contain an earlier backup); returns the
/// number of tenants copied. Shows progress on a terminal.
pub async fn run(tenants: &Tenants, out: &Path) -> Result<usize, ApiError> {
    run_with(tenants, out, true).await
}

async fn run_with(tenants: &Tenants, out: &Path, show_progress: bool) -> Result<usize, ApiError> {
    let data_dir = tenants.data_dir().to_path_buf();
    let slugs: Vec<String> = tenants.list().await?.into_iter().map(|t| t.slug).collect();
    let count = slugs.len();
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || copy_data_dir(&data_dir, &out, &slugs, show_progress, "backup"))
        .await
        .map_err(ApiError::from_source)??;
    Ok(count)
}

/// Copies the registry, the tenants `slugs`, `secret.key` and `files/` of data dir `from`
/// into `to`.
fn copy_data_dir(from: &Path, to: &Path, slugs: &[String], show_progress: bool, what: &str) -> Result<(), ApiError> {
    std::fs::create_dir_all(to.join("tenants")).map_err(|e| io("create", to, e))?;
    let bar = progress(show_progress, slugs.len() as u64 + 2, what);
    bar.set_message("voki.db");
    copy_database(&from.join("voki.db"), &to.join("voki.db"))?;
    bar.inc(1);
    for slug in slugs {
        bar.set_message(slug.clone());
        let file = format!("{slug}.db");
        copy_database(&from.join("tenants").join(&file), &to.join("tenants").join(&file))?;
        bar.inc(1);
    }
    bar.set_message("files");
    let secret = from.join("secret.key");
    if secret.exists() {
        std::fs::copy(&secret, to.join("secret.key")).map_err(|e| io("copy", &secret, e))?;
    }
    copy_tree(&from.join("files"), &to.join("files")).map_err(|e| io("copy", &from.join("files"), e))?;
    bar.inc(1);
    bar.finish_and_clear();
    Ok(())
}

/// Copies one live database file into a new file with the online backup API. The whole
/// copy is one step, so it is one consistent snapshot however busy the source is.
pub fn copy_database(from: &Path, to: &Path) -> Result<(), ApiError> {
    if to.exists() {
        return Err(ApiError::internal(format!(
            "{} already exists; choose an empty folder",
            to.display()
        )));
    }
    let source = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| ApiError::internal(format!("open {}: {e}", from.display())))?;
    source.busy_timeout(Duration::from_secs(30))?;
    let mut target = Connection::open(to)?;
    {
        let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                // The source is locked for a moment (a checkpoint): try again.
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    // A backup is one self-contained file, not a WAL database with a -wal beside it.
    target.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `PRAGMA integrity_check` of one database file: `Ok` or what is wrong.
pub fn integrity_check(path: &Path) -> Result<(), String> {
    if !path.is_file() {
        return Err("missing".into());
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| e.to_string())?;
    let _ = conn.busy_timeout(Duration::from_secs(30));
    let problems: Vec<String> = (|| {
        conn.prepare("PRAGMA integrity_check")?
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })()
    .map_err(|e| e.to_string())?;
    match problems.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(problems.join("; ")),
    }
}

/// The outcome of checking every database of a backup (or data dir).
pub struct Verification {
    /// The tenants the backup's registry lists.
    pub tenants: Vec<String>,
    /// Each database checked (`voki.db`, `tenants/<slug>.db`) with its problem, if any.
    pub checked: Vec<(String, Result<(), String>)>,
}

impl Verification {
    pub fn failures(&self) -> Vec<String> {
        self.checked
            .iter()
            .filter_map(|(name, result)| result.as_ref().err().map(|why| format!("{name}: {why}")))
            .collect()
    }
}

/// Checks the registry of `dir` and every tenant database it lists (a listed tenant
/// without its file is a failure), plus any other `tenants/*.db` found there.
pub fn verify(dir: &Path, show_progress: bool) -> Result<Verification, ApiError> {
    if !dir.join("voki.db").is_file() {
        return Err(ApiError::internal(format!(
            "{} is not a voki backup: it has no voki.db",
            dir.display()
        )));
    }
    let mut checked = vec![("voki.db".to_string(), integrity_check(&dir.join("voki.db")))];
    let tenants: Vec<String> = match &checked[0].1 {
        Ok(()) => {
            let registry = Connection::open_with_flags(dir.join("voki.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let mut stmt = registry.prepare("SELECT slug FROM tenants ORDER BY slug")?;
            stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<_>>()?
        }
        Err(_) => Vec::new(),
    };
    let mut files: Vec<String> = tenants.iter().map(|slug| format!("{slug}.db")).collect();
    if let Ok(entries) = std::fs::read_dir(dir.join("tenants")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".db") && !files.contains(&name) {
                files.push(name);
            }
        }
    }
    let bar = progress(show_progress, files.len() as u64, "verify");
    for file in files {
        bar.set_message(file.clone());
        let result = integrity_check(&dir.join("tenants").join(&file));
        checked.push((format!("tenants/{file}"), result));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(Verification { tenants, checked })
}

/// Whether `dir` is missing or an empty folder (the only targets restore accepts).
fn is_empty_dir(dir: &Path) -> Result<bool, ApiError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io("read", dir, e)),
    }
}

/// Restores backup `from` into the data dir `to`, which must be missing or empty: every
/// database of the backup must pass `integrity_check`, then it is copied and migrated.
/// Anything written into `to` is removed again when a step fails. Returns the number of
/// tenants restored.
pub fn restore(from: &Path, to: &Path, settings: &DbSettings, show_progress: bool) -> Result<usize, ApiError> {
    if !is_empty_dir(to)? {
        return Err(ApiError::internal(format!(
            "{} is not empty; restore only into an empty or missing data dir",
            to.display()
        )));
    }
    let verification = verify(from, show_progress)?;
    let failures = verification.failures();
    if !failures.is_empty() {
        return Err(ApiError::internal(format!(
            "the backup failed its integrity check: {}",
            failures.join(", ")
        )));
    }
    let restored = (|| {
        copy_data_dir(from, to, &verification.tenants, show_progress, "restore")?;
        crate::db::prepare_file(&to.join("voki.db"), Schema::Registry, settings)?;
        for slug in &verification.tenants {
            crate::db::prepare_file(&to.join("tenants").join(format!("{slug}.db")), Schema::Tenant, settings)?;
        }
        // The clock moved on while this copy waited: every tenant is looked at once.
        let registry = Connection::open(to.join("voki.db"))?;
        registry.execute(
            "UPDATE tenant_state SET next_due_at = ?1, schema_version = ?2",
            rusqlite::params![crate::time::now_text(), crate::db::tenant_schema_version()],
        )?;
        Ok::<_, ApiError>(())
    })();
    if let Err(err) = restored {
        if let Ok(entries) = std::fs::read_dir(to) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
        return Err(err);
    }
    Ok(verification.tenants.len())
}

/// The folder name of a scheduled backup taken at `at`: `YYYYMMDDTHHMMSSZ`.
pub fn folder_name(at: Timestamp) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn is_backup_folder(name: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(name, "%Y%m%dT%H%M%SZ").is_ok() && name.len() == 16
}

/// One scheduled backup taken at `at` into `backup_dir`: written under a hidden
/// `.<name>.partial` folder and renamed once complete, so a failed or interrupted run never
/// leaves a folder that looks good; then the oldest beyond `backup_keep` are removed and
/// the metric is set. Returns the new folder.
pub async fn scheduled_backup(state: &AppState, at: Timestamp) -> Result<PathBuf, ApiError> {
    let dir = state.config.backup_dir.clone();
    let name = folder_name(at);
    let done = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    if done.exists() {
        return Err(ApiError::internal(format!("{} already exists", done.display())));
    }
    remove_partials(&dir);
    if let Err(err) = run_with(&state.tenants, &partial, false).await {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(err);
    }
    std::fs::rename(&partial, &done).map_err(|e| io("rename", &partial, e))?;
    prune(&dir, state.config.backup_keep as usize)?;
    state
        .metrics
        .backup_last_success
        .store(at.timestamp(), Ordering::Relaxed);
    Ok(done)
}

/// Leftovers of runs that did not finish (only one run happens at a time).
fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') && name.ends_with(".partial") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes the oldest scheduled backups beyond `keep`; other entries of the folder are
/// left alone.
fn prune(dir: &Path, keep: usize) -> Result<(), ApiError> {
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io("read", dir, e))?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .filter(|name| is_backup_folder(name))
        .collect();
    folders.sort();
    let excess = folders.len().saturating_sub(keep);
    for old in &folders[..excess] {
        let path = dir.join(old);
        std::fs::remove_dir_all(&path).map_err(|e| io("remove", &path, e))?;
        tracing::info!(backup = %path.display(), "removed an old scheduled backup");
    }
    Ok(())
}

/// How long after a failed scheduled backup the next try comes.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// With `backup_dir` set, takes a backup every `backup_interval_minutes`, the first one
/// interval after start; a failure is logged and tried again after [`RETRY_AFTER`] (or
/// the interval, when that is shorter).
pub fn spawn_schedule(state: AppState, mut stopped: watch::Receiver<bool>) {
    if state.config.backup_dir.as_os_str().is_empty() {
        return;
    }
    let interval = Duration::from_secs(state.config.backup_interval_minutes.max(1) * 60);
    tokio::spawn(async move {
        let mut wait = interval;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = crate::state::stop_requested(&mut stopped) => break,
            }
            wait = match scheduled_backup(&state, crate::time::now()).await {
                Ok(folder) => {
                    tracing::info!(backup = %folder.display(), "scheduled backup written");
                    interval
                }
                Err(err) => {
                    tracing::error!(error = %err, "scheduled backup failed; trying again");
                    RETRY_AFTER.min(interval)
                }
            };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_backup_folders_are_utc_timestamps() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-02-20T10:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(folder_name(at), "20260220T100405Z");
        assert!(is_backup_folder("20260220T100405Z"));
        for other in [".20260220T100405Z.partial", "notes", "20260220"] {
            assert!(!is_backup_folder(other), "{other}");
        }
    }
}
