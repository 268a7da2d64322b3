//! Where an adapter remembers the grants it has accepted, so that each is
//! accepted once, ever, by the department.
//!
//! A grant is identified by its request id and department (the hub issues
//! one grant per department per request). [`GrantStore::claim`] records its
//! first use and refuses any later one. The check is a unique key: the
//! `INSERT` of a grant already seen fails, so two adapter processes on one
//! store cannot both accept it, and the insert has committed (durably:
//! SQLite with `synchronous = FULL`, or the department's database) before
//! the department's data is asked. An adapter restarted in the middle of a
//! grant's life still refuses it.
//!
//! [`SqlGrantStore`] commits in groups: claims that arrive while a commit
//! is on disk wait for one writer task, which inserts all of them (up to
//! [`MAX_CLAIM_GROUP`]) in one transaction, so one sync, and answers each
//! caller only after that commit. Each insert skips a key already stored
//! (`ON CONFLICT DO NOTHING`, MySQL `INSERT IGNORE`) instead of failing
//! the transaction, and a row it did not insert is that caller's
//! [`ClaimError::Replayed`]; a grant id twice in one group is accepted for
//! the first caller only. A failed transaction commits nothing and every
//! caller in the group is told [`ClaimError::Unavailable`] (fail closed).
//!
//! Entries are kept until their grant expires, plus
//! [`MAX_CLOCK_SKEW_MS`] so that another adapter whose clock is behind
//! cannot accept a grant that this one has already forgotten; after that
//! the grant is refused as expired anyway. [`SqlGrantStore`] prunes them
//! at most once a minute, during a claim.
//!
//! The table, the same on every database (`hedui_grant_seen`):
//!
//! ```sql
//! CREATE TABLE hedui_grant_seen (
//!     request_id    VARCHAR(64) NOT NULL,
//!     department    VARCHAR(32) NOT NULL,
//!     expires_at_ms BIGINT      NOT NULL,
//!     seen_at_ms    BIGINT      NOT NULL,
//!     PRIMARY KEY (request_id, department)
//! );
//! ```

use std::path::Path;
use std::str::FromStr as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use hedui_domain::department::slug;
use hedui_proto::v1::Department;
use hedui_trust::grant::{MAX_CLOCK_SKEW_MS, ReplayGuard};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// How often [`SqlGrantStore`] deletes expired entries, at most.
pub const PRUNE_EVERY_MS: i64 = 60 * 1000;

/// The most claims [`SqlGrantStore`] commits in one transaction; more
/// waiting go into the next one.
pub const MAX_CLAIM_GROUP: usize = 256;

/// Why a grant could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The grant was accepted before, by this adapter or another one on
    /// the same store.
    #[error("grant has already been used")]
    Replayed,
    /// The store could not be written: the grant is not accepted (fail
    /// closed) and the caller is told to retry. The message names no
    /// person.
    #[error("the grant store cannot be written: {0}")]
    Unavailable(String),
}

/// The grants an adapter has accepted.
#[tonic::async_trait]
pub trait GrantStore: Send + Sync + 'static {
    /// Records the first use of the grant for `request_id` and
    /// `department`, valid until `expires_at_unix_ms`; returns only once
    /// the record is durable. A grant already recorded gives
    /// [`ClaimError::Replayed`].
    async fn claim(
        &self,
        request_id: &str,
        department: Department,
        expires_at_unix_ms: i64,
        now_unix_ms: i64,
    ) -> Result<(), ClaimError>;

    /// Deletes the entries whose grant expired more than
    /// [`MAX_CLOCK_SKEW_MS`] before `now_unix_ms`; returns how many.
    async fn prune(&self, now_unix_ms: i64) -> Result<u64, ClaimError>;

    /// Where the store is, for the start-up message (no password).
    fn describe(&self) -> String;
}

/// A store in memory: forgotten at restart, and private to one process.
/// For tests and for an adapter without a query log (such as `hedui
/// bench`); a served adapter keeps a durable store.
#[derive(Debug, Default)]
pub struct MemoryGrantStore(Mutex<ReplayGuard>);

#[tonic::async_trait]
impl GrantStore for MemoryGrantStore {
    async fn claim(
        &self,
        request_id: &str,
        department: Department,
        expires_at_unix_ms: i64,
        now_unix_ms: i64,
    ) -> Result<(), ClaimError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check_and_remember(request_id, department, expires_at_unix_ms, now_unix_ms)
            .map_err(|_| ClaimError::Replayed)
    }

    async fn prune(&self, _now_unix_ms: i64) -> Result<u64, ClaimError> {
        // The guard prunes itself on every claim.
        Ok(0)
    }

    fn describe(&self) -> String {
        "in memory (forgotten at restart)".to_owned()
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
    Sqlite(sqlx::SqlitePool),
}

/// A durable store in a SQL table `hedui_grant_seen`: the adapter's own
/// SQLite file, or the department's database of the `sql` backend
/// (PostgreSQL, MySQL/MariaDB or SQLite).
#[derive(Debug)]
pub struct SqlGrantStore {
    pool: Pool,
    place: String,
    last_prune_ms: AtomicI64,
    /// To the writer task that commits claims in groups; it stops when the
    /// store is dropped.
    claims: tokio::sync::mpsc::UnboundedSender<PendingClaim>,
}

/// One claim waiting for the group commit, and where to send its answer.
#[derive(Debug)]
struct PendingClaim {
    request_id: String,
    department: &'static str,
    expires_at_ms: i64,
    seen_at_ms: i64,
    answer: tokio::sync::oneshot::Sender<Result<(), ClaimError>>,
}

const SQLITE_SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS hedui_grant_seen (
        request_id VARCHAR(64) NOT NULL,
        department VARCHAR(32) NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        seen_at_ms BIGINT NOT NULL,
        PRIMARY KEY (request_id, department))",
    "CREATE INDEX IF NOT EXISTS hedui_grant_seen_expiry ON hedui_grant_seen (expires_at_ms)",
];
const POSTGRES_SCHEMA: [&str; 2] = SQLITE_SCHEMA;
#[cfg(feature = "mysql")]
const MYSQL_SCHEMA: [&str; 1] = ["CREATE TABLE IF NOT EXISTS hedui_grant_seen (
        request_id VARCHAR(64) NOT NULL,
        department VARCHAR(32) NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        seen_at_ms BIGINT NOT NULL,
        PRIMARY KEY (request_id, department),
        INDEX hedui_grant_seen_expiry (expires_at_ms))"];

impl SqlGrantStore {
    /// Opens (creating) the adapter's own SQLite file at `path`, in WAL
    /// mode with `synchronous = FULL`, so that a claim is on disk when it
    /// returns. Several adapter processes on one host may share the file.
    pub async fn open_file(path: &Path) -> Result<SqlGrantStore, String> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("grant store: cannot create {}: {e}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| e.to_string())?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        // Several adapters starting at once on one new file (see
        // `hedui_ops::sqlite`): one of them used to stop with "database is
        // locked", resetting the connections already queued on its port.
        let pool = hedui_ops::sqlite::connect_retrying_busy(
            &SqlitePoolOptions::new().max_connections(2),
            &options,
            Duration::from_secs(10),
        )
        .await
        .map_err(|e| format!("grant store: cannot open {shown}: {e}"))?;
        Self::with_pool(Pool::Sqlite(pool), format!("SQLite file {shown}")).await
    }

    /// A store in the department's PostgreSQL database, reusing its pool.
    pub async fn postgres(pool: sqlx::PgPool) -> Result<SqlGrantStore, String> {
        Self::with_pool(
            Pool::Postgres(pool),
            "the department's database (PostgreSQL)".to_owned(),
        )
        .await
    }

    #[cfg(feature = "mysql")]
    /// A store in the department's MySQL or MariaDB database.
    pub async fn mysql(pool: sqlx::MySqlPool) -> Result<SqlGrantStore, String> {
        Self::with_pool(Pool::MySql(pool), "the department's database (MySQL)".to_owned()).await
    }

    /// A store in the department's SQLite database.
    pub async fn sqlite(pool: sqlx::SqlitePool) -> Result<SqlGrantStore, String> {
        Self::with_pool(Pool::Sqlite(pool), "the department's database (SQLite)".to_owned()).await
    }

    async fn with_pool(pool: Pool, place: String) -> Result<SqlGrantStore, String> {
        let create = async {
            match &pool {
                Pool::Postgres(p) => {
                    for s in POSTGRES_SCHEMA {
                        sqlx::query(s).execute(p).await?;
                    }
                }
                #[cfg(feature = "mysql")]
                Pool::MySql(p) => {
                    for s in MYSQL_SCHEMA {
                        sqlx::query(s).execute(p).await?;
                    }
                }
                Pool::Sqlite(p) => {
                    for s in SQLITE_SCHEMA {
                        sqlx::query(s).execute(p).await?;
                    }
                }
            }
            Ok::<_, sqlx::Error>(())
        };
        if let Err(first) = create.await {
            // Two adapters creating the table at once can collide in the
            // catalogue; the second attempt then finds it.
            let probe = "SELECT 1 FROM hedui_grant_seen LIMIT 1";
            let again = async {
                match &pool {
                    Pool::Postgres(p) => sqlx::query(probe).execute(p).await.map(|_| ()),
                    #[cfg(feature = "mysql")]
                    Pool::MySql(p) => sqlx::query(probe).execute(p).await.map(|_| ()),
                    Pool::Sqlite(p) => sqlx::query(probe).execute(p).await.map(|_| ()),
                }
            };
            again.await.map_err(|_| {
                format!(
                    "grant store in {place}: cannot create the table hedui_grant_seen ({first}); create it as the adapter guide shows and give the adapter's role SELECT, INSERT and DELETE on it"
                )
            })?;
        }
        let (claims, waiting) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(commit_claims(pool.clone(), waiting));
        Ok(SqlGrantStore {
            pool,
            place,
            last_prune_ms: AtomicI64::new(i64::MIN),
            claims,
        })
    }

    /// The number of grants remembered (for tests and `hedui adapter
    /// check`).
    pub async fn len(&self) -> Result<u64, ClaimError> {
        let q = "SELECT COUNT(*) FROM hedui_grant_seen";
        let n: i64 = match &self.pool {
            Pool::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await,
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => sqlx::query_scalar(q).fetch_one(p).await,
            Pool::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await,
        }
        .map_err(|e| unavailable(&e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// True when no grant is remembered.
    pub async fn is_empty(&self) -> Result<bool, ClaimError> {
        Ok(self.len().await? == 0)
    }
}

/// Inserts each claim marked `first` with `sql` in one transaction on
/// `pool` and commits; gives, per claim, whether its row is new. Nothing
/// counts as new unless the commit succeeded. A macro rather than a
/// generic function: the three drivers share no executor bound worth the
/// `where` clause.
macro_rules! insert_all {
    ($pool:expr, $group:expr, $first:expr, $sql:expr $(,)?) => {
        async {
            let mut tx = $pool.begin().await?;
            let mut new = Vec::with_capacity($group.len());
            for (c, first) in $group.iter().zip($first.iter()) {
                if !*first {
                    new.push(false);
                    continue;
                }
                let done = sqlx::query($sql)
                    .bind(c.request_id.as_str())
                    .bind(c.department)
                    .bind(c.expires_at_ms)
                    .bind(c.seen_at_ms)
                    .execute(&mut *tx)
                    .await?;
                new.push(done.rows_affected() == 1);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(new)
        }
    };
}

fn writer_stopped() -> ClaimError {
    ClaimError::Unavailable("the grant store's writer has stopped".to_owned())
}

/// The writer task of a [`SqlGrantStore`]: takes every claim waiting (up
/// to [`MAX_CLAIM_GROUP`]), inserts them in one transaction, and answers
/// each caller only once that transaction has committed, i.e. is durable.
async fn commit_claims(pool: Pool, mut waiting: tokio::sync::mpsc::UnboundedReceiver<PendingClaim>) {
    let mut group = Vec::with_capacity(MAX_CLAIM_GROUP);
    while waiting.recv_many(&mut group, MAX_CLAIM_GROUP).await > 0 {
        let answers = claim_group(&pool, &group).await;
        for (claim, answer) in group.drain(..).zip(answers) {
            // A caller that went away (its request was cancelled) needs no
            // answer; its claim stands, like one cancelled after a commit.
            let _ = claim.answer.send(answer);
        }
    }
}

/// Claims `group` in one transaction; one answer per claim, in order.
async fn claim_group(pool: &Pool, group: &[PendingClaim]) -> Vec<Result<(), ClaimError>> {
    // A grant id twice in the group: only its first claim is inserted, the
    // later ones are replays whatever the database says.
    let mut seen = std::collections::HashSet::new();
    let first: Vec<bool> = group
        .iter()
        .map(|c| seen.insert((c.request_id.as_str(), c.department)))
        .collect();
    let inserted = match pool {
        Pool::Postgres(p) => {
            insert_all!(
                p,
                group,
                first,
                "INSERT INTO hedui_grant_seen (request_id, department, expires_at_ms, seen_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .await
        }
        // INSERT IGNORE rather than ON DUPLICATE KEY UPDATE: the rows it
        // reports do not depend on the pool's CLIENT_FOUND_ROWS setting.
        #[cfg(feature = "mysql")]
        Pool::MySql(p) => {
            insert_all!(
                p,
                group,
                first,
                "INSERT IGNORE INTO hedui_grant_seen (request_id, department, expires_at_ms, seen_at_ms) VALUES (?, ?, ?, ?)",
            )
            .await
        }
        Pool::Sqlite(p) => {
            insert_all!(
                p,
                group,
                first,
                "INSERT INTO hedui_grant_seen (request_id, department, expires_at_ms, seen_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .await
        }
    };
    match inserted {
        Ok(inserted) => inserted
            .into_iter()
            .map(|new| if new { Ok(()) } else { Err(ClaimError::Replayed) })
            .collect(),
        Err(e) => {
            let e = unavailable(&e);
            group.iter().map(|_| Err(e.clone())).collect()
        }
    }
}

fn unavailable(e: &sqlx::Error) -> ClaimError {
    // sqlx errors name tables, constraints and connection problems, never
    // bound values, so they carry no person.
    ClaimError::Unavailable(e.to_string())
}

#[tonic::async_trait]
impl GrantStore for SqlGrantStore {
    async fn claim(
        &self,
        request_id: &str,
        department: Department,
        expires_at_unix_ms: i64,
        now_unix_ms: i64,
    ) -> Result<(), ClaimError> {
        let last = self.last_prune_ms.load(Ordering::Relaxed);
        if now_unix_ms.saturating_sub(last) >= PRUNE_EVERY_MS
            && self
                .last_prune_ms
                .compare_exchange(last, now_unix_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Err(e) = self.prune(now_unix_ms).await
        {
            // Pruning is housekeeping: a failure leaves rows behind but
            // refuses nothing that should be accepted.
            tracing::warn!(error = %e, "cannot prune the grant store");
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let pending = PendingClaim {
            request_id: request_id.to_owned(),
            department: slug(department),
            expires_at_ms: expires_at_unix_ms,
            seen_at_ms: now_unix_ms,
            answer,
        };
        if self.claims.send(pending).is_err() {
            return Err(writer_stopped());
        }
        answered.await.unwrap_or_else(|_| Err(writer_stopped()))
    }

    async fn prune(&self, now_unix_ms: i64) -> Result<u64, ClaimError> {
        let cutoff = now_unix_ms.saturating_sub(MAX_CLOCK_SKEW_MS);
        let done = match &self.pool {
            Pool::Postgres(p) => sqlx::query("DELETE FROM hedui_grant_seen WHERE expires_at_ms < $1")
                .bind(cutoff)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => sqlx::query("DELETE FROM hedui_grant_seen WHERE expires_at_ms < ?")
                .bind(cutoff)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
            Pool::Sqlite(p) => sqlx::query("DELETE FROM hedui_grant_seen WHERE expires_at_ms < ?")
                .bind(cutoff)
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
        };
        done.map_err(|e| unavailable(&e))
    }

    fn describe(&self) -> String {
        self.place.clone()
    }
}
