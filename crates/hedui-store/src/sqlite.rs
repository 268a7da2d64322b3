//! The SQLite backend, the embedded default: what is its own. The queries
//! are in `sql/`, compiled here against sqlx's SQLite types.
//!
//! SQLite has one writer at a time for the whole database: writers that
//! must take turns begin with `BEGIN IMMEDIATE`, which takes the write lock
//! before the first read, and a batch claim is a single `UPDATE …
//! RETURNING`, atomic by itself.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::dialect::{Dialect, Serial};
use crate::{Result, StoreError};

type Db = sqlx::Sqlite;
const DIALECT: Dialect = Dialect::Sqlite;

#[allow(clippy::duplicate_mod)] // also compiled as `postgres::sql`, on purpose
#[path = "sql/mod.rs"]
mod sql;
pub(crate) use sql::*;

/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the checkpointer copies what the write-ahead log holds into
/// the database file (see [`Checkpointer`]).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A log longer than this (in pages of 4 KiB: 64 MiB) after a passive
/// checkpoint is checkpointed again with `RESTART` (see [`Checkpointer`]).
/// Each `RESTART` holds commits up for a moment, so the threshold is set
/// high enough to make them rare: at 16 MiB, one every few seconds made
/// the overhead's p99 worse in `hedui bench` (docs/PERFORMANCE.md).
const RESTART_AT_FRAMES: i64 = 16_384;

/// The size the log's file is cut back to when the log starts again from
/// its beginning (`journal_size_limit`): the `RESTART` threshold, in bytes.
/// SQLite otherwise keeps the file at its high-water size, and a roster's
/// upload beside a running batch had left 902 MB of it for good.
const LOG_FILE_LIMIT_BYTES: i64 = RESTART_AT_FRAMES * 4096;

/// Each connection's page cache, in KiB (`PRAGMA cache_size` takes a
/// negative number as KiB).
const PAGE_CACHE_KIB: u32 = 1024;

/// How long a `RESTART` checkpoint waits for the write lock and for
/// readers to leave the log, and so how long it may hold commits up. A
/// long reader (a backup, an export) makes it give up; it is then not
/// tried again for [`RESTART_PAUSE`].
const RESTART_PATIENCE: Duration = Duration::from_millis(100);

/// How long the checkpointer waits before another `RESTART` after one that
/// could not finish.
const RESTART_PAUSE: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the SQLite database at `url`: `sqlite://PATH`,
/// `sqlite::memory:`, or a plain file path. A file database comes with its
/// [`Checkpointer`], which must live as long as the pool.
pub(crate) async fn connect(url: &str) -> Result<(SqlitePool, Option<Arc<Checkpointer>>)> {
    let url = if url.starts_with("sqlite:") {
        url.to_owned()
    } else {
        format!("sqlite://{url}")
    };
    let opts = SqliteConnectOptions::from_str(&url)
        .map_err(|e| StoreError::Url(format!("{e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Records are the bureau's evidence: an acknowledged record must
        // survive a power cut, so every commit is synced.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // No connection of the pool checkpoints: SQLite's automatic
        // checkpoint runs inside the commit that crosses 1,000 pages of
        // log, and made that one commit (an audit append, which the
        // caseworker waits for) take milliseconds, not a fraction of one.
        // The `Checkpointer` does it on its own connection instead.
        .pragma("wal_autocheckpoint", "0")
        .pragma("journal_size_limit", LOG_FILE_LIMIT_BYTES.to_string())
        // Each connection's page cache: 1 MiB, not SQLite's 2 MiB. Nine
        // connections' caches fill up in a long batch and are part of the
        // hub's resident memory; a page not cached is read again from the
        // system's file cache.
        .pragma("cache_size", format!("-{}", PAGE_CACHE_KIB));
    let in_memory = url.contains(":memory:");
    let pool_options = SqlitePoolOptions::new()
        // An in-memory database exists once per connection.
        .max_connections(if in_memory { 1 } else { 8 });
    // Another process may be turning the same new file to WAL (see
    // `hedui_ops::sqlite`): retried for as long as the busy timeout.
    let pool = hedui_ops::sqlite::connect_retrying_busy(&pool_options, &opts, BUSY_TIMEOUT).await?;
    let checkpointer = (!in_memory).then(|| Arc::new(Checkpointer::start(opts)));
    Ok((pool, checkpointer))
}

/// Checkpoints a file database's write-ahead log every
/// [`CHECKPOINT_EVERY`], on a connection of its own, off every caller's
/// path: `PRAGMA wal_checkpoint(PASSIVE)`, which waits for no reader or
/// writer and copies whatever no reader still needs. Durability is the
/// same as with SQLite's automatic checkpoint: a commit is durable once it
/// is synced to the log, and the log is never truncated before its pages
/// are synced to the database.
///
/// A passive checkpoint alone does not bound the log under steady writing:
/// the log starts again from its beginning only when a writer finds every
/// page of it copied, and with commits every few milliseconds the copy
/// never catches up. A batch grew the log to 1.4 GB in 100 s that way. So
/// when the log is longer than [`RESTART_AT_FRAMES`] after a passive
/// checkpoint, a `RESTART` checkpoint follows: it takes the write lock
/// (commits wait for it, as they waited for the automatic checkpoint
/// inside a commit), copies the rest and waits for readers to leave the
/// log, so that the next commit starts it again from the beginning.
///
/// It stops when dropped (with the last clone of its store) or closed
/// ([`Checkpointer::close`]); the last connection to close then
/// checkpoints what is left and removes the log, as SQLite always does.
pub(crate) struct Checkpointer {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    fn start(opts: SqliteConnectOptions) -> Checkpointer {
        let (stop, stopped) = oneshot::channel();
        // The busy timeout bounds how long a RESTART holds commits up.
        let opts = opts.busy_timeout(RESTART_PATIENCE);
        let task = tokio::spawn(checkpoint_until(opts, CHECKPOINT_EVERY, RESTART_AT_FRAMES, stopped));
        Checkpointer {
            stop: Mutex::new(Some(stop)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Stops checkpointing and closes the checkpointer's connection.
    pub(crate) async fn close(&self) {
        drop(self.stop.lock().unwrap_or_else(|p| p.into_inner()).take());
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            // A task that panicked or was cancelled has nothing left to do.
            let _ = task.await;
        }
    }
}

/// The checkpointer's loop, until `stopped` (sent or dropped).
async fn checkpoint_until(
    opts: SqliteConnectOptions,
    every: Duration,
    restart_at_frames: i64,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn: Option<sqlx::SqliteConnection> = None;
    let mut restart_after = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {}
        }
        if conn.is_none() {
            match opts.connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "the SQLite checkpointer cannot connect; retrying");
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let restart_at = if tokio::time::Instant::now() < restart_after {
            i64::MAX
        } else {
            restart_at_frames
        };
        match checkpoint(c, restart_at).await {
            Ok(Checkpointed::Done) => {}
            Ok(Checkpointed::Restarted { log_frames, took }) => {
                tracing::debug!(
                    log_frames,
                    took_ms = took.as_secs_f64() * 1e3,
                    "the SQLite log started again"
                );
            }
            Ok(Checkpointed::RestartGaveUp { log_frames, waited }) => {
                tracing::info!(
                    log_frames,
                    waited_ms = waited.as_secs_f64() * 1e3,
                    pause_s = RESTART_PAUSE.as_secs(),
                    "a reader or a writer kept the SQLite log from starting again; trying later"
                );
                restart_after = tokio::time::Instant::now() + RESTART_PAUSE;
            }
            Err(e) => {
                tracing::warn!(error = %e, "an SQLite checkpoint failed; reconnecting");
                conn = None;
            }
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
}

/// What a round of the checkpointer did.
#[derive(Debug, PartialEq, Eq)]
enum Checkpointed {
    /// A passive checkpoint; the log was short enough.
    Done,
    /// A passive checkpoint, then a `RESTART` one, which let the log
    /// start again.
    Restarted {
        /// Pages in the log before it.
        log_frames: i64,
        /// How long the `RESTART` held commits up.
        took: Duration,
    },
    /// The `RESTART` gave up within its patience (a long reader, or a
    /// writer holding on).
    RestartGaveUp {
        /// Pages in the log.
        log_frames: i64,
        /// How long it tried.
        waited: Duration,
    },
}

/// One passive checkpoint, and a `RESTART` one when the log is still longer
/// than `restart_at_frames` pages.
async fn checkpoint(
    c: &mut sqlx::SqliteConnection,
    restart_at_frames: i64,
) -> std::result::Result<Checkpointed, sqlx::Error> {
    let (_busy, log_frames, _copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *c)
        .await?;
    if log_frames <= restart_at_frames {
        return Ok(Checkpointed::Done);
    }
    let started = std::time::Instant::now();
    let restarted = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(RESTART)")
        .fetch_one(&mut *c)
        .await;
    let took = started.elapsed();
    match restarted {
        Ok((0, _, _)) => Ok(Checkpointed::Restarted { log_frames, took }),
        Err(e) if !hedui_ops::sqlite::is_busy(&e) => Err(e),
        // SQLITE_BUSY, as an answer or as an error: it gave up waiting.
        _ => Ok(Checkpointed::RestartGaveUp {
            log_frames,
            waited: took,
        }),
    }
}

/// Begins a transaction that takes turns with every other writer: SQLite's
/// one write lock, taken before the first read and waited for under the
/// busy timeout. Every kind takes the same lock.
async fn begin_serialised(pool: &SqlitePool, _: Serial) -> Result<sqlx::Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Applies the pending migrations, one transaction each. Usually there is
/// nothing to do, and that is found out by reading only, without taking
/// the database's one write lock on every open.
pub(crate) async fn migrate(pool: &SqlitePool, known: i64) -> Result<()> {
    if up_to_date(pool, known).await? {
        return Ok(());
    }
    apply_migrations(pool, known).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new database at `path` in WAL mode with no automatic checkpoint,
    /// as the store's pool has it, and its log's file cut back to 1 MiB
    /// when the log starts again, holding one table `t (b BLOB)`: its
    /// options and a pool of `connections`.
    async fn scratch_log(path: &std::path::Path, connections: u32) -> (SqliteConnectOptions, SqlitePool) {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", (1 << 20).to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(opts.clone())
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (b BLOB NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        (opts, pool)
    }

    /// The log stays bounded while one connection commits without pause
    /// and another reads without pause: the case in which passive
    /// checkpoints alone never let the log start again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stays_bounded_under_steady_writes_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let (opts, pool) = scratch_log(&dir.path().join("steady.db"), 2).await;
        let (stop, stopped) = oneshot::channel();
        // 256 pages: 1 MiB of log, checked every 50 ms.
        let checkpoints = tokio::spawn(checkpoint_until(opts, Duration::from_millis(50), 256, stopped));
        let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader = {
            let (pool, writing) = (pool.clone(), writing.clone());
            tokio::spawn(async move {
                while writing.load(std::sync::atomic::Ordering::Relaxed) {
                    let _: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                }
            })
        };
        // 48 MiB in commits of 64 KiB: without the RESTART, the log would
        // hold all of it.
        let mut written = 0u64;
        while written < 48 << 20 {
            sqlx::query("INSERT INTO t SELECT randomblob(65536)")
                .execute(&pool)
                .await
                .unwrap();
            written += 65536;
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        reader.await.unwrap();
        let log = std::fs::metadata(dir.path().join("steady.db-wal")).unwrap().len();
        drop(stop);
        checkpoints.await.unwrap();
        pool.close().await;
        assert!(
            log < 16 << 20,
            "the log grew to {log} bytes while {written} bytes were written"
        );
    }

    /// Once a `RESTART` has let the log start again, the next commit cuts
    /// its file back to the limit, so a burst of writes (a roster's upload)
    /// does not leave a file of its high-water size behind.
    #[tokio::test]
    async fn a_restarted_log_is_cut_back_to_its_file_limit() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("burst.db-wal");
        let (opts, pool) = scratch_log(&dir.path().join("burst.db"), 2).await;
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..128 {
            sqlx::query("INSERT INTO t SELECT randomblob(65536)")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let burst = std::fs::metadata(&wal).unwrap().len();
        assert!(burst > 8 << 20, "the burst left {burst} bytes of log");
        let mut c = opts.connect().await.unwrap();
        assert!(matches!(
            checkpoint(&mut c, 1).await.unwrap(),
            Checkpointed::Restarted { .. }
        ));
        sqlx::query("INSERT INTO t SELECT randomblob(16)")
            .execute(&pool)
            .await
            .unwrap();
        let after = std::fs::metadata(&wal).unwrap().len();
        assert!(
            after <= 1 << 20,
            "the log's file is {after} bytes after it started again"
        );
        c.close().await.unwrap();
        pool.close().await;
    }

    /// A reader that stays in the log (a backup, an export) makes the
    /// `RESTART` give up within its patience, and commits go on meanwhile:
    /// the checkpointer never holds them up for the store's 10 s busy
    /// timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_reader_makes_the_restart_give_up_without_holding_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (opts, pool) = scratch_log(&dir.path().join("long-reader.db"), 3).await;
        sqlx::query("INSERT INTO t SELECT randomblob(65536)")
            .execute(&pool)
            .await
            .unwrap();
        // The long reader: a read transaction that stays open on the log.
        let mut reader = pool.begin().await.unwrap();
        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut *reader)
            .await
            .unwrap();
        for _ in 0..8 {
            sqlx::query("INSERT INTO t SELECT randomblob(65536)")
                .execute(&pool)
                .await
                .unwrap();
        }
        let mut c = opts.busy_timeout(RESTART_PATIENCE).connect().await.unwrap();
        let started = std::time::Instant::now();
        // A threshold of one page: the log is long.
        let outcome = checkpoint(&mut c, 1).await.unwrap();
        let waited = started.elapsed();
        assert!(matches!(outcome, Checkpointed::RestartGaveUp { .. }), "{outcome:?}");
        assert!(waited < Duration::from_secs(5), "the RESTART waited {waited:?}");
        // Commits go on once it has given up.
        sqlx::query("INSERT INTO t SELECT randomblob(16)")
            .execute(&pool)
            .await
            .unwrap();
        reader.rollback().await.unwrap();
        // Without the reader it finishes.
        assert!(matches!(
            checkpoint(&mut c, 1).await.unwrap(),
            Checkpointed::Restarted { .. }
        ));
        c.close().await.unwrap();
        pool.close().await;
    }
}
