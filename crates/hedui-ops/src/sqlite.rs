//! Opening an SQLite file in WAL mode when another process may be opening
//! it at the same moment: the hub's store, an adapter's grant store (which
//! several adapters on one host may share) and its snapshot.
//!
//! Turning a new file to WAL needs an exclusive lock, and SQLite answers
//! "database is locked" at once, without the busy handler, when another
//! process is doing the same. So the first connection is retried, with a
//! growing pause, for as long as the caller's patience.

use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// Opens a pool with `pool` and `opts`, retrying while the file is locked
/// (`SQLITE_BUSY`) for up to `patience`; any other error at once. The pool
/// does not ping a connection before handing it out.
pub async fn connect_retrying_busy(
    pool: &SqlitePoolOptions,
    opts: &SqliteConnectOptions,
    patience: Duration,
) -> Result<SqlitePool, sqlx::Error> {
    // No ping before each acquire: the connection is a file handle in this
    // process, which no far end can drop, and the ping was a round trip to
    // its worker thread before every statement or transaction of a pool
    // (three on each verification's path in the hub).
    let pool = pool.clone().test_before_acquire(false);
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match pool.clone().connect_with(opts.clone()).await {
            Err(e) if is_busy(&e) && started.elapsed() < patience => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

/// Whether `e` is SQLITE_BUSY, or one of its extended codes.
pub fn is_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many pools opening one new file at once all succeed. With no
    /// patience (`Duration::ZERO`), two of three runs of this test failed
    /// with "database is locked" in a late round; an adapter sharing a
    /// grant file stopped on that, and its caller's connection was reset.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pools_opening_one_new_file_at_once_all_open() {
        for round in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("shared.sqlite");
            let opts = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10));
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let opts = opts.clone();
                    tokio::spawn(async move {
                        connect_retrying_busy(
                            &SqlitePoolOptions::new().max_connections(1),
                            &opts,
                            Duration::from_secs(10),
                        )
                        .await
                    })
                })
                .collect();
            for t in tasks {
                let pool = t.await.unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
                pool.close().await;
            }
        }
    }
}
