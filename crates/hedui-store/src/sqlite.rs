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
        .pragma("wal_autocheckpoint", "0");
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
/// are synced to the database. The log's size is bounded as before: by how
/// much is written between two checkpoints, and by the oldest reader.
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
        let task = tokio::spawn(checkpoint_until(opts, stopped));
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
async fn checkpoint_until(opts: SqliteConnectOptions, mut stopped: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn: Option<sqlx::SqliteConnection> = None;
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
        if let Some(c) = conn.as_mut()
            && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *c).await
        {
            tracing::warn!(error = %e, "an SQLite checkpoint failed; reconnecting");
            conn = None;
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
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
