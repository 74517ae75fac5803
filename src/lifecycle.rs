//! A tenant's life cycle beyond creation (SPEC §7.6): suspend and resume (in
//! [`crate::db::Tenants::set_suspended`]), delete into `<data_dir>/trash/`, and the archive
//! that moves a clinic to another node: `voki tenant export` writes one gzip-compressed tar
//! with the database (an online-backup copy, so it works while serving), the tenant's
//! uploaded files and its public identifiers (access-link tokens, call ids, booking and
//! manage tokens, calendar feeds); `voki tenant import` registers all of it on the new node,
//! so the links patients hold keep working there.
//!
//! Archive layout: `voki-tenant.json` (the [`Manifest`]), `tenant.db`, `files/…`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::db::{PublicEntry, Schema, Tenants};
use crate::error::ApiError;

/// Version of the archive layout.
const FORMAT: u32 = 1;
const MANIFEST: &str = "voki-tenant.json";
const DATABASE: &str = "tenant.db";

/// What an archive says about the tenant it holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub slug: String,
    pub name: String,
    pub inserted_at: String,
    pub exported_at: String,
    pub public_index: Vec<PublicEntry>,
}

fn fail(message: String) -> ApiError {
    ApiError::Internal(message)
}

/// A scratch folder inside the data dir (same file system, so moves are renames),
/// removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(data_dir: &Path, what: &str) -> Result<Scratch, ApiError> {
        let token = crate::auth::token::random_token();
        let path = data_dir.join(format!(".{what}-{}", &token[..12]));
        std::fs::create_dir_all(&path).map_err(|e| fail(format!("create {}: {e}", path.display())))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Moves tenant `slug`'s database and files to `<data_dir>/trash/<slug>-<UTC time>/` and
/// removes it from the registry (with its public identifiers). Returns the trash folder.
pub async fn delete(tenants: &Tenants, slug: &str) -> Result<PathBuf, ApiError> {
    if !tenants.exists(slug).await? {
        return Err(fail(format!("no tenant {slug:?}")));
    }
    let data_dir = tenants.data_dir().to_path_buf();
    let trash = data_dir
        .join("trash")
        .join(format!("{slug}-{}", crate::backup::folder_name(crate::time::now())));
    std::fs::create_dir_all(&trash).map_err(|e| fail(format!("create {}: {e}", trash.display())))?;
    let database = tenants.tenant_path(slug);
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", database.display()));
        if from.exists() {
            moved.push((from, trash.join(format!("{slug}.db{suffix}"))));
        }
    }
    let files = data_dir.join("files").join(slug);
    if files.exists() {
        moved.push((files, trash.join("files")));
    }
    let mut done = Vec::new();
    for (from, to) in moved {
        if let Err(e) = std::fs::rename(&from, &to) {
            undo(&done);
            return Err(fail(format!("move {} to the trash: {e}", from.display())));
        }
        done.push((from, to));
    }
    if let Err(err) = tenants.unregister(slug).await {
        undo(&done);
        return Err(err);
    }
    Ok(trash)
}

fn undo(moves: &[(PathBuf, PathBuf)]) {
    for (from, to) in moves.iter().rev() {
        let _ = std::fs::rename(to, from);
    }
}

/// Writes tenant `slug` into the archive `out` (written beside as `<out>.partial` and
/// renamed when complete). Works while a server serves the tenant.
pub async fn export(tenants: &Tenants, slug: &str, out: &Path) -> Result<Manifest, ApiError> {
    let Some(info) = tenants.list().await?.into_iter().find(|t| t.slug == slug) else {
        return Err(fail(format!("no tenant {slug:?}")));
    };
    let manifest = Manifest {
        format: FORMAT,
        slug: info.slug.clone(),
        name: info.name,
        inserted_at: info.inserted_at,
        exported_at: crate::time::now_text(),
        public_index: tenants.public_entries(slug).await?,
    };
    let data_dir = tenants.data_dir().to_path_buf();
    let database = tenants.tenant_path(slug);
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let scratch = Scratch::new(&data_dir, "export")?;
        let copy = scratch.0.join(DATABASE);
        crate::backup::copy_database(&database, &copy)?;
        let partial = PathBuf::from(format!("{}.partial", out.display()));
        let written = write_archive(&partial, &manifest, &copy, &data_dir.join("files").join(&manifest.slug))
            .and_then(|()| std::fs::rename(&partial, &out));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(fail(format!("write {}: {e}", out.display())));
        }
        Ok(manifest)
    })
    .await
    .map_err(ApiError::from_source)?
}

fn write_archive(path: &Path, manifest: &Manifest, database: &Path, files: &Path) -> std::io::Result<()> {
    let mut archive = tar::Builder::new(GzEncoder::new(File::create(path)?, Compression::default()));
    let json = serde_json::to_vec_pretty(manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_cksum();
    archive.append_data(&mut header, MANIFEST, json.as_slice())?;
    archive.append_path_with_name(database, DATABASE)?;
    if files.is_dir() {
        archive.append_dir_all("files", files)?;
    }
    archive.into_inner()?.finish()?.sync_all()
}

/// Imports the tenant archive `file`: its slug must be new on this node (and its public
/// identifiers unknown). The database is checked with `integrity_check` and migrated before
/// the tenant is registered; on any failure nothing of it stays behind.
pub async fn import(tenants: &Tenants, file: &Path, settings: &crate::db::DbSettings) -> Result<Manifest, ApiError> {
    let data_dir = tenants.data_dir().to_path_buf();
    let scratch = Scratch::new(&data_dir, "import")?;
    let staged = scratch.0.clone();
    let source = file.to_path_buf();
    let manifest = tokio::task::spawn_blocking(move || unpack(&source, &staged))
        .await
        .map_err(ApiError::from_source)??;
    let slug = manifest.slug.clone();
    if !crate::db::is_valid_slug(&slug) {
        return Err(fail(format!("the archive names an invalid tenant slug {slug:?}")));
    }
    let database = tenants.tenant_path(&slug);
    let files = data_dir.join("files").join(&slug);
    if tenants.exists(&slug).await? || database.exists() {
        return Err(fail(format!("tenant {slug:?} already exists on this node")));
    }
    if files.exists() {
        return Err(fail(format!("{} already exists; move it away first", files.display())));
    }
    let staged_db = scratch.0.join(DATABASE);
    crate::backup::integrity_check(&staged_db)
        .map_err(|why| fail(format!("the archive's database failed its integrity check: {why}")))?;
    std::fs::rename(&staged_db, &database).map_err(|e| fail(format!("move {}: {e}", database.display())))?;
    let staged_files = scratch.0.join("files");
    let placed = (|| {
        if staged_files.is_dir() {
            std::fs::create_dir_all(data_dir.join("files")).map_err(|e| fail(format!("create files: {e}")))?;
            std::fs::rename(&staged_files, &files).map_err(|e| fail(format!("move {}: {e}", files.display())))?;
        }
        crate::db::prepare_file(&database, Schema::Tenant, settings)
    })();
    let registered = match placed {
        Ok(()) => tenants
            .register_imported(
                &slug,
                &manifest.name,
                &manifest.inserted_at,
                manifest.public_index.clone(),
            )
            .await
            .map_err(|err| match err {
                ApiError::Internal(why) if why.contains("public_index") => fail(format!(
                    "a public identifier of {slug:?} is already registered on this node"
                )),
                other => other,
            }),
        Err(err) => Err(err),
    };
    if let Err(err) = registered {
        crate::db::remove_database_files(&database);
        let _ = std::fs::remove_dir_all(&files);
        return Err(err);
    }
    Ok(manifest)
}

/// Unpacks archive `file` (gzip-compressed or plain tar) into `into` and reads its manifest.
/// Entries that would land outside `into` are skipped by the tar reader.
fn unpack(file: &Path, into: &Path) -> Result<Manifest, ApiError> {
    let open = || File::open(file).map_err(|e| fail(format!("open {}: {e}", file.display())));
    let mut magic = [0u8; 2];
    let gzip = open()?.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let reader: Box<dyn Read> = if gzip {
        Box::new(GzDecoder::new(BufReader::new(open()?)))
    } else {
        Box::new(BufReader::new(open()?))
    };
    tar::Archive::new(reader)
        .unpack(into)
        .map_err(|e| fail(format!("{} is not a tenant archive: {e}", file.display())))?;
    let text = std::fs::read(into.join(MANIFEST))
        .map_err(|_| fail(format!("{} is not a tenant archive: no {MANIFEST}", file.display())))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| fail(format!("{} has an unreadable {MANIFEST}: {e}", file.display())))?;
    if manifest.format != FORMAT {
        return Err(fail(format!(
            "{} is archive format {}; this voki reads format {FORMAT}",
            file.display(),
            manifest.format
        )));
    }
    if !into.join(DATABASE).is_file() {
        return Err(fail(format!("{} has no {DATABASE}", file.display())));
    }
    Ok(manifest)
}
