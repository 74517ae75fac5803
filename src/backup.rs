//! `voki backup --out DIR`: a consistent copy of the registry and every tenant while the
//! server keeps serving. `VACUUM INTO` writes a transactionally consistent snapshot of a
//! live WAL database; uploaded files and the secret key are copied beside them.

use std::path::Path;

use rusqlite::Connection;

use crate::db::Tenants;
use crate::error::ApiError;

/// Copies everything into `out` (which must not contain an earlier backup); returns the
/// number of tenants copied.
pub async fn run(tenants: &Tenants, out: &Path) -> Result<usize, ApiError> {
    let io = |what: &str, e: std::io::Error| ApiError::internal(format!("{what}: {e}"));
    std::fs::create_dir_all(out.join("tenants")).map_err(|e| io("create backup folder", e))?;
    let data_dir = tenants.data_dir().to_path_buf();
    let list = tenants.list().await?;
    let count = list.len();
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        snapshot(&data_dir.join("voki.db"), &out.join("voki.db"))?;
        for tenant in &list {
            let file = format!("{}.db", tenant.slug);
            snapshot(&data_dir.join("tenants").join(&file), &out.join("tenants").join(&file))?;
        }
        let secret = data_dir.join("secret.key");
        if secret.exists() {
            std::fs::copy(&secret, out.join("secret.key")).map_err(|e| io("copy secret.key", e))?;
        }
        copy_tree(&data_dir.join("files"), &out.join("files")).map_err(|e| io("copy files", e))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(count)
}

fn snapshot(from: &Path, to: &Path) -> Result<(), ApiError> {
    if to.exists() {
        return Err(ApiError::internal(format!(
            "{} already exists; choose an empty folder",
            to.display()
        )));
    }
    let conn = Connection::open(from)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])?;
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
