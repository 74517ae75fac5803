//! One database file: a small r2d2 pool of read-only connections, and one writer thread
//! that owns the only write connection. Every write of the file passes through that
//! thread as a job; the jobs waiting at the same moment are committed together in one
//! `BEGIN IMMEDIATE` transaction (group commit: one fsync for many requests), each inside
//! its own savepoint so one failing job never undoes another. Writes and long reads run off
//! the async runtime's worker threads; a read an index bounds runs on the caller's.
//!
//! A job gets a [`WriteTx`]: the connection, who is writing, and [`WriteTx::emit`] for the
//! events of its change. An event writes its rows (outboxes) at once, in the job's
//! savepoint; the events of a job whose group commits go to the database's sink in commit
//! order, and those of a job that fails are dropped with its savepoint. Since only a job
//! holds a `WriteTx`, an event outside a write does not compile.

use std::any::Any;
use std::cell::RefCell;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, mpsc};

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, oneshot};

use super::totals::Totals;
use super::{DbSettings, configure};
use crate::actor::{self, Actor};
use crate::error::ApiError;

/// Jobs committed in one transaction at the most.
const MAX_GROUP: usize = 128;

/// Sends one job's outcome once the group it ran in is committed (or not).
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs one write inside its savepoint and returns how to report it.
type WriteJob = Box<dyn FnOnce(&mut Connection) -> Completion + Send>;

enum Job {
    Write(WriteJob),
    Checkpoint(oneshot::Sender<()>),
}

/// The workers shared by every reader pool: r2d2 opens its connections on them (the
/// caller of `get` waits), and with no reaper that is all they do.
fn pool_workers() -> Arc<scheduled_thread_pool::ScheduledThreadPool> {
    static WORKERS: std::sync::OnceLock<Arc<scheduled_thread_pool::ScheduledThreadPool>> = std::sync::OnceLock::new();
    WORKERS
        .get_or_init(|| {
            let workers = scheduled_thread_pool::ScheduledThreadPool::builder()
                .num_threads(2)
                .thread_name_pattern("db-pool-{}")
                .build();
            Arc::new(workers)
        })
        .clone()
}

/// Something a write job emits. The database does not know what events mean: it asks
/// each to [`Event::record`] its rows inside the job's transaction, and hands the committed
/// ones to its [`EventSink`] (which knows their type: `crate::events::DomainEvent`).
pub trait Event: Any + Send {
    /// Writes what the event leaves in the database (outbox rows), in the job's savepoint,
    /// so a change never commits without them nor they without the change.
    fn record(&self, conn: &Connection) -> Result<(), ApiError>;
}

/// Where a database hands the events of each committed job, in commit order, on its
/// writer thread, or under `synchronous = FULL` on its WAL's sync thread once the commit
/// is on disk (so a sink only queues work: it must not block).
pub type EventSink = Arc<dyn Fn(Vec<Box<dyn Event>>) + Send + Sync>;

/// A write job's transaction: derefs to its connection, and knows who is writing.
pub struct WriteTx<'c> {
    conn: &'c Connection,
    actor: &'c Actor,
    events: RefCell<Vec<Box<dyn Event>>>,
}

impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl<'c> WriteTx<'c> {
    /// Records `event` (its outbox rows now, its delivery once committed).
    pub fn emit(&self, event: impl Event) -> Result<(), ApiError> {
        event.record(self.conn)?;
        self.events.borrow_mut().push(Box::new(event));
        Ok(())
    }

    /// Who the change is attributed to: the caller of the request that started the job,
    /// or the system.
    pub fn actor(&self) -> &Actor {
        self.actor
    }

    /// The connection itself, for code that names its type.
    pub fn conn(&self) -> &'c Connection {
        self.conn
    }
}

pub struct Database {
    path: PathBuf,
    settings: DbSettings,
    readers: Pool<SqliteConnectionManager>,
    /// One permit per pooled reader: reads beyond that wait here, as suspended tasks,
    /// rather than as blocking threads parked on the pool.
    read_permits: Arc<Semaphore>,
    writer: mpsc::Sender<Job>,
    sink: Option<EventSink>,
    /// This open database among all the process has opened (see [`Database::write_generation`]).
    id: u64,
    /// The write generation: raised to odd before each COMMIT and to even after it
    /// (before any job of the group hears it committed), so a value read before and after
    /// a read's snapshot opens shows whether a commit became visible in between.
    commits: Arc<AtomicU64>,
    /// Like `commits`, for the commits that change what a user is ([`UserChanges`]).
    user_commits: Arc<AtomicU64>,
    /// List totals kept while nothing is committed, lent to each pooled read.
    totals: Arc<Totals>,
}

impl Database {
    /// Opens a file that [`super::prepare_file`] has already prepared. Committed write
    /// jobs hand their events to `sink` (none: they are dropped).
    pub fn open(path: &Path, settings: &DbSettings, sink: Option<EventSink>) -> Result<Database, ApiError> {
        let read_settings = settings.clone();
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
            .with_init(move |conn| {
                configure(conn, &read_settings)?;
                conn.execute_batch(&super::reader_pragmas())
            });
        // No reaper (idle connections live as long as the pool, which closes with its
        // tenant) and one worker pool for every database: r2d2's own would be three threads
        // per pool that outlive it, so each tenant ever opened would leave three behind.
        // No test on checkout either: a connection to a local file does not go stale, and
        // the test (`SELECT 1`, compiled anew each time) was a fiftieth of a list request.
        let readers = Pool::builder()
            .max_size(settings.readers)
            .test_on_check_out(false)
            .min_idle(Some(0))
            .idle_timeout(None)
            .max_lifetime(None)
            .thread_pool(pool_workers())
            .build(manager)?;

        let conn = Connection::open(path)?;
        configure(&conn, settings)?;
        // Each job's savepoint keeps the pages it changes in a sub-journal; in memory, not
        // in a temporary file (a write system call per page, a fifth of the writer's time).
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY;",
            super::WRITER_CACHE_KIB
        ))?;
        let (writer, jobs) = mpsc::channel();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("db");
        let name = format!("db-writer-{stem}");
        let acks = Acks::install(&conn, path, settings, stem)?;
        let backfill = Backfill::install(&conn, path, settings)?;
        let commits = Arc::new(AtomicU64::new(0));
        let counted = commits.clone();
        let user_changes = UserChanges::watch(&conn)?;
        let user_commits = user_changes.commits.clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || writer_loop(conn, jobs, &counted, user_changes, acks, backfill))
            .map_err(ApiError::from_source)?;
        static OPENED: AtomicU64 = AtomicU64::new(0);
        Ok(Database {
            path: path.to_path_buf(),
            settings: settings.clone(),
            readers,
            read_permits: Arc::new(Semaphore::new(settings.readers.max(1) as usize)),
            writer,
            sink,
            id: OPENED.fetch_add(1, AtomicOrdering::Relaxed),
            totals: Arc::new(Totals::new(commits.clone())),
            commits,
            user_commits,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes when anything is written to this database: (which open database, how many
    /// groups it has committed). A value read before a read is still current afterwards
    /// only if nothing was committed meanwhile, so what was read is still what is stored
    /// (as far as this process writes it).
    pub fn write_generation(&self) -> (u64, u64) {
        (self.id, self.commits.load(AtomicOrdering::Acquire))
    }

    /// [`Database::write_generation`] for what a user is (their row, departments and
    /// provider): it changes only with a commit that changes one of those, so a user read
    /// stays good while the tenant writes everything else.
    pub fn user_generation(&self) -> (u64, u64) {
        (self.id, self.user_commits.load(AtomicOrdering::Acquire))
    }

    /// Runs `f` on a read connection from the pool, on the calling thread: for reads an
    /// index bounds (a row by id, a page of a list and its count), which take well under
    /// a millisecond. Handing each of them to another thread cost more than the read
    /// itself (two thread switches a request: lists ran at half the rate); reads whose
    /// cost grows with the data use [`Database::read_long`].
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.reader_permit().await?;
        let conn = self.readers.get()?;
        std::panic::catch_unwind(AssertUnwindSafe(|| self.totals.lend(|| f(&conn))))
            .unwrap_or_else(|_| Err(ApiError::internal("read panicked")))
    }

    /// Runs `f` on a read connection from the pool, on the blocking thread pool: for
    /// reads that scan (reports, free slots, text search), so the async workers keep
    /// serving the other requests meanwhile.
    pub async fn read_long<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.reader_permit().await?;
        let (readers, totals) = (self.readers.clone(), self.totals.clone());
        tokio::task::spawn_blocking(move || {
            let conn = readers.get()?;
            let result = totals.lend(|| f(&conn));
            drop(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|e| ApiError::internal(format!("read task failed: {e}")))?
    }

    /// One of the pooled readers, waited for as a suspended task.
    async fn reader_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("database readers are closed"))
    }

    /// [`Database::read_long`] when `scans` (a list with a text search), else [`Database::read`].
    pub async fn read_scanning<T, F>(&self, scans: bool, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        if scans {
            self.read_long(f).await
        } else {
            self.read(f).await
        }
    }

    /// Runs `f` on a read-only connection of its own, opened for it and closed after, on
    /// the blocking thread pool: for long reads (a streamed export) that must not hold
    /// one of the few pooled readers the other requests share.
    pub async fn read_alone<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (path, settings) = (self.path.clone(), self.settings.clone());
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&conn, &settings)?;
            f(&conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("read task failed: {e}")))?
    }

    /// Runs `f` in a write transaction on the writer thread and returns once it is
    /// committed. An `Err` from `f` rolls back everything `f` wrote and emitted, and
    /// nothing else.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, outcome) = oneshot::channel::<Result<T, ApiError>>();
        let sink = self.sink.clone();
        let actor = actor::current();
        let job: WriteJob = Box::new(move |conn| {
            let (result, events) = run_in_savepoint(conn, &actor, f);
            Box::new(move |committed| {
                let result = committed
                    .map_err(|e| ApiError::internal(format!("commit failed: {e}")))
                    .and(result);
                if let (Ok(_), Some(sink)) = (&result, sink)
                    && !events.is_empty()
                {
                    sink(events);
                }
                let _ = reply.send(result);
            })
        });
        self.writer
            .send(Job::Write(job))
            .map_err(|_| ApiError::internal("database writer has stopped"))?;
        outcome
            .await
            .map_err(|_| ApiError::internal("database writer dropped a job"))?
    }

    /// Moves the WAL's content into the database file and truncates the WAL.
    pub async fn checkpoint(&self) {
        let (done, finished) = oneshot::channel();
        if self.writer.send(Job::Checkpoint(done)).is_ok() {
            let _ = finished.await;
        }
    }
}

/// Runs `f` in a savepoint; returns its result and, when it succeeded, its events.
fn run_in_savepoint<T>(
    conn: &mut Connection,
    actor: &Actor,
    f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, ApiError>,
) -> (Result<T, ApiError>, Vec<Box<dyn Event>>) {
    let savepoint = match conn.savepoint() {
        Ok(savepoint) => savepoint,
        Err(err) => return (Err(err.into()), Vec::new()),
    };
    let mut tx = WriteTx {
        conn: &savepoint,
        actor,
        events: RefCell::new(Vec::new()),
    };
    // A panic in one request's SQL code must not take the tenant's writer down with it.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(&mut tx)))
        .unwrap_or_else(|_| Err(ApiError::internal("panic in a write job")));
    let events = tx.events.into_inner();
    // Dropping a savepoint that was not committed rolls it back.
    match result.and_then(|value| savepoint.commit().map(|()| value).map_err(ApiError::from)) {
        Ok(value) => (Ok(value), events),
        Err(err) => (Err(err), Vec::new()),
    }
}

/// WAL checkpoints beside the writer instead of inside its commits. SQLite's automatic
/// checkpoint runs in the commit that fills the WAL past `wal_autocheckpoint` pages, and
/// there it took a fifth of the writer's time, which every waiting write waits out.
/// Here the writer's own automatic checkpoint is off; once a commit leaves that many
/// frames, a thread of the database's (started then, with its own connection) copies
/// them into the file (`PASSIVE`: it never holds up the writer or a reader) while the
/// writer goes on. Should the WAL still reach four times the limit (the checkpoints fall
/// behind, a reader keeps old pages), the writer checkpoints itself as before, so the
/// WAL stays bounded. With `wal_autocheckpoint = 0` an outside process (Litestream) owns
/// checkpoints and none of this runs.
struct Backfill {
    path: PathBuf,
    settings: DbSettings,
    pages: i32,
    checkpointer: Option<(mpsc::SyncSender<()>, std::thread::JoinHandle<()>)>,
    /// Held through each checkpoint of the checkpointer, and by the writer's own: one
    /// running beside the writer's makes SQLite's fail at once (the checkpoint lock).
    checkpointing: Arc<std::sync::Mutex<()>>,
}

thread_local! {
    /// Frames in the WAL after the last commit on this thread (the writer's), as SQLite's
    /// WAL hook reports them.
    static WAL_FRAMES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

fn note_wal_frames(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|count| count.set(frames));
    Ok(())
}

impl Backfill {
    /// Turns the writer's automatic checkpoint off and watches its WAL instead.
    fn install(conn: &Connection, path: &Path, settings: &DbSettings) -> Result<Backfill, ApiError> {
        let pages = i32::try_from(settings.wal_autocheckpoint).unwrap_or(i32::MAX);
        if pages > 0 {
            // This pragma installs SQLite's own hook, so it comes before ours.
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
            conn.wal_hook(Some(note_wal_frames));
        }
        Ok(Backfill {
            path: path.to_path_buf(),
            settings: settings.clone(),
            pages,
            checkpointer: None,
            checkpointing: Arc::default(),
        })
    }

    /// After each commit of the writer: wake the checkpointer, or checkpoint here.
    fn after_commit(&mut self, conn: &Connection) {
        let frames = WAL_FRAMES.with(|count| count.replace(0));
        if self.pages == 0 || frames < self.pages {
            return;
        }
        if frames >= self.pages.saturating_mul(4) {
            // Under a steady stream of commits the checkpointer never catches up with
            // the last frame, and the WAL restarts from its start only after a checkpoint
            // that did. The writer waits out the one under way, then copies every frame
            // itself while nothing commits, so the next transaction restarts the WAL.
            let _held = self.checkpointing.lock().unwrap_or_else(|p| p.into_inner());
            checkpoint(conn, "PASSIVE");
            return;
        }
        if self.checkpointer.is_none() {
            self.checkpointer = self.start();
        }
        match &self.checkpointer {
            // A full queue means a checkpoint is already due: it will see these frames.
            Some((wake, _)) => {
                let _ = wake.try_send(());
            }
            None => checkpoint(conn, "PASSIVE"),
        }
    }

    fn start(&self) -> Option<(mpsc::SyncSender<()>, std::thread::JoinHandle<()>)> {
        let conn = Connection::open(&self.path)
            .map_err(ApiError::from)
            .and_then(|conn| Ok(configure(&conn, &self.settings).map(|()| conn)?));
        let conn = match conn {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(error = %err, "no checkpoint connection; the writer checkpoints itself");
                return None;
            }
        };
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let checkpointing = self.checkpointing.clone();
        let name = format!(
            "db-checkpoint-{}",
            self.path.file_stem().and_then(|s| s.to_str()).unwrap_or("db")
        );
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                while woken.recv().is_ok() {
                    let _held = checkpointing.lock().unwrap_or_else(|p| p.into_inner());
                    checkpoint(&conn, "PASSIVE");
                }
            })
            .ok()?;
        Some((wake, thread))
    }

    /// How the writer checkpoints on request and on closing: `TRUNCATE` normally;
    /// `PASSIVE` when an outside process (Litestream) owns checkpoints, since a TRUNCATE
    /// would wait for its read lock and reset the WAL under it.
    fn explicit_mode(&self) -> &'static str {
        if self.pages == 0 { "PASSIVE" } else { "TRUNCATE" }
    }

    /// Ends the checkpointer (after its checkpoint in progress) before the writer's last one.
    fn finish(self) {
        if let Some((wake, thread)) = self.checkpointer {
            drop(wake);
            let _ = thread.join();
        }
    }
}

/// The writer's watch on the `user_changes` counter (which triggers raise at every change
/// of a user, their departments or their provider): a commit that moved it raises
/// `commits` to odd before its COMMIT and to even after, as [`committing`] does for all.
struct UserChanges {
    commits: Arc<AtomicU64>,
    /// The counter as last committed; `None` for a database without one (the control one).
    seen: Option<i64>,
}

impl UserChanges {
    fn watch(conn: &Connection) -> Result<UserChanges, ApiError> {
        let has_counter = conn
            .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'user_changes'")?
            .exists([])?;
        let seen = if has_counter { Some(Self::count(conn)?) } else { None };
        Ok(UserChanges {
            commits: Arc::new(AtomicU64::new(0)),
            seen,
        })
    }

    fn count(conn: &Connection) -> rusqlite::Result<i64> {
        conn.prepare_cached("SELECT n FROM user_changes")?
            .query_row([], |row| row.get(0))
    }

    /// Runs `commit` (whose jobs have run); around it the generation is odd if they
    /// moved the counter. A failed read of the counter counts as moved.
    fn committing<T>(&mut self, conn: &mut Connection, commit: impl FnOnce(&mut Connection) -> T) -> T {
        match self.seen {
            Some(seen) if Self::count(conn).ok() != Some(seen) => self.moving(conn, commit),
            _ => commit(conn),
        }
    }

    /// Runs `commit` with the generation odd, then notes the counter it left (committed,
    /// or as it was before a rollback).
    fn moving<T>(&mut self, conn: &mut Connection, commit: impl FnOnce(&mut Connection) -> T) -> T {
        self.commits.fetch_add(1, AtomicOrdering::AcqRel);
        let outcome = commit(conn);
        if let Some(seen) = self.seen {
            self.seen = Some(Self::count(conn).unwrap_or(seen));
        }
        self.commits.fetch_add(1, AtomicOrdering::AcqRel);
        outcome
    }
}

/// When the jobs of a committed group hear that it is committed.
enum Acks {
    /// Right after the COMMIT, which has done whatever `synchronous` asks.
    AtCommit,
    /// `synchronous = FULL`: the writer commits without an fsync (`NORMAL`) and goes on
    /// with the next group while a thread of the database fsyncs the WAL and only then
    /// tells the group's jobs (and sends their events). Every acknowledged write is on
    /// disk as with FULL, and the writer no longer waits for the disk between groups:
    /// the fsync of one group runs while the next one is written (it was a fifth of the
    /// writer's time). A commit is visible to reads from the COMMIT on, an fsync before
    /// its writer hears of it.
    AfterSync {
        groups: mpsc::Sender<Vec<Completion>>,
        thread: std::thread::JoinHandle<()>,
    },
}

impl Acks {
    fn install(conn: &Connection, path: &Path, settings: &DbSettings, stem: &str) -> Result<Acks, ApiError> {
        if settings.synchronous != "FULL" {
            return Ok(Acks::AtCommit);
        }
        let wal = super::wal_path(path);
        let (groups, synced) = mpsc::channel::<Vec<Completion>>();
        let thread = std::thread::Builder::new()
            .name(format!("db-sync-{stem}"))
            .spawn(move || {
                let mut file = None;
                while let Ok(mut waiting) = synced.recv() {
                    // One fsync for every group committed meanwhile.
                    while let Ok(more) = synced.try_recv() {
                        waiting.extend(more);
                    }
                    let outcome = sync_wal(&wal, &mut file).map_err(|e| format!("WAL fsync failed: {e}"));
                    if let Err(err) = &outcome {
                        tracing::error!(error = %err, "committed writes may not be on disk");
                    }
                    for done in waiting {
                        done(outcome.clone());
                    }
                }
            })
            .map_err(ApiError::from_source)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        Ok(Acks::AfterSync { groups, thread })
    }

    /// Tells `completions` the outcome of their group: at once if it failed or needs
    /// no fsync, otherwise once the WAL is synced.
    fn send(&self, completions: Vec<Completion>, committed: Result<(), String>) {
        match (self, committed) {
            (Acks::AfterSync { groups, .. }, Ok(())) => {
                if let Err(mpsc::SendError(completions)) = groups.send(completions) {
                    for done in completions {
                        done(Err("the WAL's sync thread has stopped".into()));
                    }
                }
            }
            (_, committed) => {
                for done in completions {
                    done(committed.clone());
                }
            }
        }
    }

    /// Waits for the groups still waiting for their fsync.
    fn finish(self) {
        if let Acks::AfterSync { groups, thread } = self {
            drop(groups);
            let _ = thread.join();
        }
    }
}

/// `fdatasync` of the WAL (kept open with its inode number), opened again when the file
/// at its path is another one (the writer's connection keeps the WAL while it is open;
/// this is for a file replaced under it).
fn sync_wal(path: &Path, file: &mut Option<(std::fs::File, u64)>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let current = std::fs::metadata(path)?.ino();
    let open = match file {
        Some((open, inode)) if *inode == current => open,
        _ => &mut file.insert((std::fs::File::open(path)?, current)).0,
    };
    open.sync_data()
}

fn writer_loop(
    mut conn: Connection,
    jobs: mpsc::Receiver<Job>,
    commits: &AtomicU64,
    mut user_changes: UserChanges,
    acks: Acks,
    mut backfill: Backfill,
) {
    let mode = backfill.explicit_mode();
    while let Ok(job) = jobs.recv() {
        let first = match job {
            Job::Write(first) => first,
            Job::Checkpoint(done) => {
                checkpoint(&conn, mode);
                let _ = done.send(());
                continue;
            }
        };
        let mut group = vec![first];
        let mut checkpoint_after = None;
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(Job::Write(job)) => group.push(job),
                Ok(Job::Checkpoint(done)) => {
                    checkpoint_after = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        let (completions, committed) = commit_group(&mut conn, group, commits, &mut user_changes);
        acks.send(completions, committed);
        backfill.after_commit(&conn);
        if let Some(done) = checkpoint_after {
            checkpoint(&conn, mode);
            let _ = done.send(());
        }
    }
    // Every handle to this database is gone: leave a tidy file behind.
    acks.finish();
    backfill.finish();
    checkpoint(&conn, mode);
}

/// Runs and commits `group`: the completions of its jobs, and whether it committed.
fn commit_group(
    conn: &mut Connection,
    group: Vec<WriteJob>,
    commits: &AtomicU64,
    user_changes: &mut UserChanges,
) -> (Vec<Completion>, Result<(), String>) {
    if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Another process kept the write lock past busy_timeout. Each job then runs as its
        // own transaction (a top-level savepoint) and reports its own result; whether it
        // changed a user is known only after, so the user generation moves around each.
        tracing::warn!(error = %err, "group transaction could not start; writing jobs one by one");
        let completions = group
            .into_iter()
            .map(|job| user_changes.moving(conn, |conn| committing(commits, || job(conn))))
            .collect();
        return (completions, Ok(()));
    }
    let completions: Vec<Completion> = group.into_iter().map(|job| job(conn)).collect();
    let committed = committing(commits, || {
        user_changes.committing(conn, |conn| {
            let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
            if committed.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            committed
        })
    });
    (completions, committed)
}

/// Runs `commit` (whatever makes a transaction's changes visible) with the write
/// generation odd, and makes it even again after (the `commits` of [`Database`]).
fn committing<T>(commits: &AtomicU64, commit: impl FnOnce() -> T) -> T {
    commits.fetch_add(1, AtomicOrdering::AcqRel);
    let outcome = commit();
    commits.fetch_add(1, AtomicOrdering::AcqRel);
    outcome
}

/// `PRAGMA wal_checkpoint(<mode>)`; a failure is logged (the WAL is then checkpointed later).
fn checkpoint(conn: &Connection, mode: &str) {
    if let Err(err) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
        tracing::warn!(error = %err, "WAL checkpoint failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::actor::ActorType;

    fn settings() -> DbSettings {
        DbSettings {
            synchronous: "NORMAL".into(),
            readers: 2,
            wal_autocheckpoint: 1000,
        }
    }

    const ITEMS: crate::db::query::SortSpec = crate::db::query::SortSpec {
        columns: &[("k", "t.k")],
        default_key: "k",
        default_order: crate::db::query::SortOrder::Asc,
        default_page_size: 20,
        tie_breaker: "t.id",
    };

    /// A database with a table `t` of rows `k` ('a' or 'b').
    fn items_database(dir: &Path) -> Database {
        let path = dir.join("totals.db");
        super::super::prepare_file(&path, super::super::Schema::Tenant, &settings()).expect("prepare");
        let db = Database::open(&path, &settings(), None).expect("open");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime
            .block_on(db.write(|tx| {
                Ok(tx.execute_batch(
                    "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL);
                     CREATE INDEX t_k ON t (k, id);
                     INSERT INTO t (k) VALUES ('a'), ('a'), ('b');",
                )?)
            }))
            .expect("table");
        db
    }

    /// The page of every `k = 'a'` row: (rows on it, its total).
    async fn rows_and_total(db: &Database) -> (usize, i64) {
        let (rows, total) = page_of_a(db, 1, 10_000, None).await;
        (rows.len(), total)
    }

    /// The statements of `read` that walk the list's index: its count, its page's
    /// rowids or its whole order.
    fn index_reads(statements: &[String]) -> Vec<&str> {
        statements
            .iter()
            .map(String::as_str)
            .filter(|sql| {
                sql.starts_with("SELECT count(*)") || sql.starts_with("SELECT t.rowid") || sql.contains("OFFSET")
            })
            .collect()
    }

    #[test]
    fn a_list_is_read_from_its_index_once_until_something_is_committed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = items_database(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let reads = |expected: (usize, i64)| {
            let statements = crate::db::query::statements_of(|| {
                assert_eq!(runtime.block_on(rows_and_total(&db)), expected);
            });
            index_reads(&statements).len()
        };
        assert_eq!(reads((2, 2)), 1, "its whole order, whose length is the total");
        assert_eq!(reads((2, 2)), 0, "nothing committed: the order and total are kept");
        runtime
            .block_on(db.write(|tx| Ok(tx.execute("INSERT INTO t (k) VALUES ('a')", [])?)))
            .expect("insert");
        assert_eq!(reads((3, 3)), 1, "a commit: read again");
        assert_eq!(reads((3, 3)), 0);
    }

    /// `(rowids on the page, total)` of page `page` (of `size`) of the `k = 'a'` rows,
    /// in `sort_order` (default ascending).
    async fn page_of_a(db: &Database, page: i64, size: i64, sort_order: Option<&'static str>) -> (Vec<i64>, i64) {
        db.read(move |conn| {
            let mut filter = crate::db::query::Filter::new();
            filter.push("t.k = ?", [rusqlite::types::Value::Text("a".into())]);
            let order = crate::db::query::Order::checked(&ITEMS, None, sort_order, page, Some(size))?;
            let page = crate::db::query::fetch_page(conn, "t.id", "t t", &filter, &order, |row| row.get::<_, i64>(0))?;
            Ok((page.data, page.meta.total_count))
        })
        .await
        .expect("page")
    }

    #[test]
    fn a_value_a_list_reads_beside_its_rows_is_read_once_until_something_is_committed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = items_database(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let value = |reads: Arc<std::sync::atomic::AtomicUsize>| {
            runtime
                .block_on(db.read(move |conn| {
                    let _snapshot = crate::db::query::snapshot(conn)?;
                    conn.query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0))?;
                    let kept = crate::db::query::kept("names", || {
                        reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        conn.query_row("SELECT max(id) FROM t", [], |row| row.get::<_, i64>(0))
                    })?;
                    Ok(*kept)
                }))
                .expect("read")
        };
        assert_eq!(value(reads.clone()), 3);
        assert_eq!(value(reads.clone()), 3);
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 1, "kept");
        runtime
            .block_on(db.write(|tx| Ok(tx.execute("INSERT INTO t (k) VALUES ('b')", [])?)))
            .expect("insert");
        assert_eq!(value(reads.clone()), 4, "a commit: read again");
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[test]
    fn pages_cut_from_a_kept_order_are_the_pages_of_the_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = items_database(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime
            .block_on(db.write(|tx| {
                let mut insert = tx.prepare("INSERT INTO t (k) VALUES ('a')")?;
                for _ in 0..45 {
                    insert.execute([])?;
                }
                Ok(())
            }))
            .expect("rows");
        // 47 rows 'a' (ids 1, 2, 4..=48), newest first.
        let all: Vec<i64> = (1..=48).rev().filter(|id| *id != 3).collect();
        for (page, expected) in [
            (1, &all[0..20]),
            (2, &all[20..40]),
            (3, &all[40..47]),
            (4, &all[47..47]),
        ] {
            let statements = crate::db::query::statements_of(|| {
                assert_eq!(
                    runtime.block_on(page_of_a(&db, page, 20, Some("desc"))),
                    (expected.to_vec(), 47),
                    "page {page}"
                );
            });
            assert_eq!(index_reads(&statements).len(), usize::from(page == 1), "page {page}");
        }
    }

    #[test]
    fn a_kept_page_looks_its_rows_up_in_the_order_of_its_ids_without_a_temporary_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = items_database(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(page_of_a(&db, 1, 1, Some("desc")));
        let statements = crate::db::query::statements_of(|| {
            assert_eq!(runtime.block_on(page_of_a(&db, 1, 2, Some("desc"))), (vec![2, 1], 2));
        });
        let rows = statements
            .iter()
            .find(|sql| sql.contains("json_each"))
            .expect("the page's rows, looked up by rowid");
        let conn = Connection::open(dir.path().join("totals.db")).expect("open");
        let plan = crate::testing::query_plan(&conn, rows).join(" | ");
        assert!(
            !plan.contains("TEMP B-TREE") && !plan.contains("SUBQUERY"),
            "{rows}\n{plan}"
        );
        assert!(plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"), "{plan}");
    }

    #[test]
    fn a_list_longer_than_an_order_kept_is_paged_along_its_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = items_database(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let longer = super::super::totals::ORDER_KEPT_MAX as i64;
        runtime
            .block_on(db.write(move |tx| {
                let mut insert = tx.prepare("INSERT INTO t (k) VALUES ('a')")?;
                for _ in 0..longer {
                    insert.execute([])?;
                }
                Ok(())
            }))
            .expect("rows");
        let total = longer + 2;
        let statements = crate::db::query::statements_of(|| {
            let (rows, counted) = runtime.block_on(page_of_a(&db, 2, 100, Some("desc")));
            assert_eq!(counted, total);
            assert_eq!(
                rows,
                ((total - 199)..=(total - 100)).rev().map(|n| n + 1).collect::<Vec<_>>()
            );
        });
        let reads = index_reads(&statements);
        assert!(reads.iter().any(|sql| sql.contains("OFFSET")), "{reads:?}");
        assert!(reads.iter().any(|sql| sql.starts_with("SELECT count(*)")), "{reads:?}");
        // Known too long now: the next page is paged at once, without reading the order.
        let statements = crate::db::query::statements_of(|| {
            runtime.block_on(page_of_a(&db, 3, 100, Some("desc")));
        });
        assert_eq!(index_reads(&statements).len(), 1, "{statements:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_list_total_matches_its_rows_while_writes_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Arc::new(
            tokio::task::spawn_blocking({
                let dir = dir.path().to_path_buf();
                move || items_database(&dir)
            })
            .await
            .expect("database"),
        );
        let writer = tokio::spawn({
            let db = db.clone();
            async move {
                for n in 0..300 {
                    let k = if n % 3 == 0 { "b" } else { "a" };
                    db.write(move |tx| Ok(tx.execute("INSERT INTO t (k) VALUES (?1)", [k])?))
                        .await
                        .expect("insert");
                }
            }
        });
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut pages = 0;
                    loop {
                        let (rows, total) = rows_and_total(&db).await;
                        assert_eq!(rows as i64, total, "the total of the rows on the page");
                        pages += 1;
                        if total == 202 {
                            return pages;
                        }
                    }
                })
            })
            .collect();
        writer.await.expect("writer");
        for reader in readers {
            assert!(reader.await.expect("reader") > 0);
        }
    }

    /// An event that writes its number into `emitted` (its outbox) when recorded.
    struct Numbered(u64);

    impl Event for Numbered {
        fn record(&self, conn: &Connection) -> Result<(), ApiError> {
            conn.execute("INSERT INTO emitted (n) VALUES (?1)", [self.0 as i64])?;
            Ok(())
        }
    }

    /// A database whose sink keeps the numbers of the events it is handed, in order.
    async fn recording_database(dir: &Path) -> (Database, Arc<Mutex<Vec<u64>>>) {
        recording_database_with(dir, &settings()).await
    }

    async fn recording_database_with(dir: &Path, settings: &DbSettings) -> (Database, Arc<Mutex<Vec<u64>>>) {
        let path = dir.join("events.db");
        super::super::prepare_file(&path, super::super::Schema::Tenant, settings).expect("prepare");
        let heard: Arc<Mutex<Vec<u64>>> = Arc::default();
        let kept = heard.clone();
        let sink: EventSink = Arc::new(move |events: Vec<Box<dyn Event>>| {
            for event in events {
                let event = (event as Box<dyn Any>)
                    .downcast::<Numbered>()
                    .expect("a numbered event");
                kept.lock().unwrap().push(event.0);
            }
        });
        let db = Database::open(&path, settings, Some(sink)).expect("open");
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE emitted (n INTEGER NOT NULL)")?))
            .await
            .expect("outbox table");
        (db, heard)
    }

    async fn outbox(db: &Database) -> Vec<u64> {
        db.read(|conn| {
            let mut rows = conn.prepare("SELECT n FROM emitted ORDER BY rowid")?;
            let numbers = rows.query_map([], |row| row.get::<_, i64>(0))?;
            Ok(numbers.map(|n| n.map(|n| n as u64)).collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .expect("outbox")
    }

    /// Holds the writer for a moment, so the jobs sent meanwhile commit as one group.
    fn hold_the_writer(db: &Arc<Database>) -> tokio::task::JoinHandle<()> {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|_| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                Ok(())
            })
            .await
            .expect("held");
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_event_emitted_in_a_job_whose_savepoint_rolls_back_reaches_no_consumer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, heard) = recording_database(dir.path()).await;
        let db = Arc::new(db);
        let held = hold_the_writer(&db);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let jobs: Vec<_> = [(1, true), (2, false), (3, true)]
            .into_iter()
            .map(|(n, succeeds)| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |tx| {
                        tx.emit(Numbered(n))?;
                        if succeeds {
                            Ok(())
                        } else {
                            Err(ApiError::conflict("rolled back on purpose"))
                        }
                    })
                    .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for job in jobs {
            outcomes.push(job.await.expect("job").is_ok());
        }
        held.await.expect("held");
        assert_eq!(outcomes, [true, false, true]);
        // The three tasks may reach the writer in any order; what counts is who is heard.
        let mut heard = heard.lock().unwrap().clone();
        heard.sort();
        assert_eq!(heard, [1, 3], "the sink heard the rolled-back event");
        let mut rows = outbox(&db).await;
        rows.sort();
        assert_eq!(rows, [1, 3], "the rolled-back event left its row");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_of_one_group_commit_reach_consumers_in_commit_order() {
        // With FULL the groups hear of their commit from the WAL's sync thread.
        for synchronous in ["NORMAL", "FULL"] {
            events_reach_consumers_in_commit_order(synchronous).await;
        }
    }

    async fn events_reach_consumers_in_commit_order(synchronous: &str) {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = DbSettings {
            synchronous: synchronous.into(),
            ..settings()
        };
        let (db, heard) = recording_database_with(dir.path(), &settings).await;
        let db = Arc::new(db);
        let held = hold_the_writer(&db);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Each job takes its number when the writer runs it: the order of the commit.
        let next = Arc::new(AtomicU64::new(0));
        let jobs: Vec<_> = (0..40)
            .map(|_| {
                let (db, next) = (db.clone(), next.clone());
                tokio::spawn(async move {
                    db.write(move |tx| {
                        let first = next.fetch_add(2, Ordering::SeqCst);
                        tx.emit(Numbered(first))?;
                        tx.emit(Numbered(first + 1))
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.expect("job").expect("committed");
        }
        held.await.expect("held");
        let expected: Vec<u64> = (0..80).collect();
        assert_eq!(*heard.lock().unwrap(), expected, "{synchronous}");
        assert_eq!(outbox(&db).await, expected, "{synchronous}");
    }

    /// Under `synchronous = FULL` the COMMIT itself no longer waits for the disk: a job
    /// hears it committed only once the WAL's fsync is done, and hears of a failed one.
    #[tokio::test]
    async fn under_full_sync_a_write_is_acknowledged_only_after_the_wal_is_synced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = DbSettings {
            synchronous: "FULL".into(),
            ..settings()
        };
        let (db, heard) = recording_database_with(dir.path(), &settings).await;
        let synchronous: i64 = db
            .write(|tx| Ok(tx.query_row("PRAGMA synchronous", [], |row| row.get(0))?))
            .await
            .expect("synced write");
        assert_eq!(synchronous, 1, "the writer commits with NORMAL (1) and syncs apart");
        // The WAL's sync now fails (the file is gone from its path; SQLite keeps it open).
        std::fs::remove_file(crate::db::wal_path(&dir.path().join("events.db"))).expect("remove the WAL");
        let unsynced = db.write(|tx| tx.emit(Numbered(7))).await;
        assert!(
            matches!(&unsynced, Err(ApiError::Internal(message)) if message.contains("WAL fsync failed")),
            "{unsynced:?}"
        );
        assert!(
            heard.lock().unwrap().is_empty(),
            "the event of an unsynced write was sent"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_read_runs_on_the_callers_thread_and_a_long_one_on_the_blocking_pool() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = recording_database(dir.path()).await;
        let caller = std::thread::current().id();
        let short = db.read(|_| Ok(std::thread::current().id())).await.expect("read");
        let long = db
            .read_long(|_| Ok(std::thread::current().id()))
            .await
            .expect("read_long");
        assert_eq!(short, caller);
        assert_ne!(long, caller);
    }

    /// The users kept between requests are forgotten at a change of a user, of their
    /// departments (a department's deletion included) or of their provider, and only then.
    #[tokio::test]
    async fn the_user_generation_moves_only_with_a_change_to_what_a_user_is() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tenant.db");
        crate::db::prepare_file(&path, crate::db::Schema::Tenant, &settings()).expect("prepare");
        let db = Database::open(&path, &settings(), None).expect("open");
        let write = |sql: String| {
            let db = &db;
            async move {
                let (users, all) = (db.user_generation(), db.write_generation());
                db.write(move |tx| Ok(tx.execute_batch(&sql)?)).await.expect("write");
                (db.user_generation() != users, db.write_generation() != all)
            }
        };
        let at = "'2026-01-01T00:00:00Z'";
        let customer =
            format!("INSERT INTO customers (id, name, inserted_at, updated_at) VALUES ('c1', 'Ana', {at}, {at})");
        assert_eq!(write(customer).await, (false, true), "another table");
        let user = format!(
            "INSERT INTO users (id, name, email, password_hash, role, inserted_at, updated_at) \
             VALUES ('u1', 'Bia', 'bia@example.com', 'x', 'attendant', {at}, {at})"
        );
        assert_eq!(write(user).await, (true, true), "a new user");
        let department = format!(
            "INSERT INTO departments (id, name, identifier, inserted_at, updated_at) VALUES ('d1', 'Sala', 'sala', {at}, {at})"
        );
        assert_eq!(write(department).await, (false, true), "a department alone");
        let member =
            format!("INSERT INTO department_members (department_id, user_id, inserted_at) VALUES ('d1', 'u1', {at})");
        assert_eq!(write(member).await, (true, true), "a membership");
        assert_eq!(
            write("DELETE FROM departments WHERE id = 'd1'".into()).await,
            (true, true),
            "a cascade"
        );
        assert_eq!(
            write("UPDATE users SET role = 'manager' WHERE id = 'u1'".into()).await,
            (true, true),
            "a role"
        );
        assert_eq!(
            write("UPDATE customers SET name = 'Ana Maria'".into()).await,
            (false, true),
            "another row"
        );
    }

    #[tokio::test]
    async fn a_read_that_panics_is_an_internal_error_and_the_reader_serves_the_next() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = recording_database(dir.path()).await;
        for _ in 0..2 * settings().readers {
            let failed = db.read(|_| -> Result<(), ApiError> { panic!("a bug in a read") }).await;
            assert!(matches!(failed, Err(ApiError::Internal(_))), "{failed:?}");
        }
        let answer: i64 = db
            .read(|conn| Ok(conn.query_row("SELECT 41 + 1", [], |row| row.get(0))?))
            .await
            .expect("the next read");
        assert_eq!(answer, 42);
    }

    #[tokio::test]
    async fn the_actor_of_a_job_is_the_one_of_the_request_that_sent_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = recording_database(dir.path()).await;
        let outside = db.write(|tx| Ok(tx.actor().kind)).await.expect("write");
        assert_eq!(outside, ActorType::System);
        let actor = Actor {
            kind: ActorType::ApiKey,
            id: Some("k1".into()),
            name: Some("ERP".into()),
            ip: None,
        };
        let seen = actor::scope(actor, db.write(|tx| Ok(tx.actor().id.clone())))
            .await
            .expect("write");
        assert_eq!(seen.as_deref(), Some("k1"));
    }

    fn threads() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Threads of this process whose name starts with `prefix`.
    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .flatten()
                    .filter(|task| {
                        std::fs::read_to_string(task.path().join("comm")).is_ok_and(|name| name.starts_with(prefix))
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// The writer's commits never checkpoint: past `wal_autocheckpoint` pages the
    /// database's checkpoint thread does it beside them, the WAL stays within a few times
    /// that limit, and the thread ends with its database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_wal_is_checkpointed_beside_the_writer_and_stays_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = DbSettings {
            wal_autocheckpoint: 20,
            ..settings()
        };
        let path = dir.path().join("walcheck.db");
        super::super::prepare_file(&path, super::super::Schema::Tenant, &settings).expect("prepare");
        let db = Database::open(&path, &settings, None).expect("open");
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE filler (body TEXT NOT NULL)")?))
            .await
            .expect("table");
        let page_size: i64 = db
            .read(|conn| Ok(conn.query_row("PRAGMA page_size", [], |r| r.get(0))?))
            .await
            .expect("page size");
        let page_size = page_size as u64;
        let mut largest_wal = 0;
        for n in 0..300 {
            db.write(move |tx| {
                tx.execute("INSERT INTO filler (body) VALUES (?1)", [format!("{n:04}").repeat(500)])?;
                Ok(())
            })
            .await
            .expect("write");
            let wal = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
            largest_wal = largest_wal.max(wal);
        }
        // Thread names are cut to 15 bytes: this is every database's checkpoint thread
        // (no other test fills a WAL).
        assert_eq!(threads_named("db-checkpoint"), 1, "no checkpoint thread");
        // Four times the limit (the writer's backstop) plus the commit that crossed it.
        assert!(largest_wal <= 6 * 20 * page_size, "WAL grew to {largest_wal} bytes");
        let kept: i64 = db
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM filler", [], |r| r.get(0))?))
            .await
            .expect("count");
        assert_eq!(kept, 300);
        drop(db);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            threads_named("db-checkpoint"),
            0,
            "the checkpoint thread outlived its database"
        );
    }

    /// A closed database leaves no thread behind: its writer and its pool's workers end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_database_ends_its_threads() {
        let dir = tempfile::tempdir().expect("temp dir");
        // FULL, the default: with its WAL sync thread.
        let settings = DbSettings {
            synchronous: "FULL".into(),
            ..settings()
        };
        let path = dir.path().join("t.db");
        super::super::prepare_file(&path, super::super::Schema::Tenant, &settings).expect("prepare");
        let warm = Database::open(&path, &settings, None).expect("open");
        warm.read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .expect("read");
        drop(warm);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let before = threads();
        for _ in 0..20 {
            let db = Database::open(&path, &settings, None).expect("open");
            db.read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                .await
                .expect("read");
            db.write(|conn| Ok(conn.execute_batch("SELECT 1")?))
                .await
                .expect("write");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let after = threads();
        assert!(after <= before + 2, "threads {before} → {after}");
    }
}
