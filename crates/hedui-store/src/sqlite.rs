//! The SQLite backend, the embedded default: what is its own. The queries
//! are in `sql/`, compiled here against sqlx's SQLite types.
//!
//! SQLite has one writer at a time for the whole database: writers that
//! must take turns begin with `BEGIN IMMEDIATE`, which takes the write lock
//! before the first read, and a batch claim is a single `UPDATE …
//! RETURNING`, atomic by itself.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

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

/// Opens (creating if needed) the SQLite database at `url`: `sqlite://PATH`,
/// `sqlite::memory:`, or a plain file path.
pub(crate) async fn connect(url: &str) -> Result<SqlitePool> {
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
        .busy_timeout(BUSY_TIMEOUT);
    let in_memory = url.contains(":memory:");
    let pool_options = SqlitePoolOptions::new()
        // An in-memory database exists once per connection.
        .max_connections(if in_memory { 1 } else { 8 });
    // Turning a new file to WAL needs an exclusive lock, and SQLite answers
    // "database is locked" at once, without the busy handler, when another
    // process is opening the same new file; so that is retried for as long
    // as the busy timeout.
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match pool_options.clone().connect_with(opts.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SQLITE_BUSY, or one of its extended codes.
fn is_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
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
