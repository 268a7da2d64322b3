//! Durable storage of checked records.
//!
//! SQLite is the embedded default: the database file is created on first
//! run and migrated on open. A record is stored as its protobuf encoding
//! plus a few columns to filter on, and its digest is checked again on every
//! read, so a record altered on disk is reported instead of served.
//!
//! Migrations are SQL files under `migrations/sqlite/`, compiled into the
//! binary and applied in order inside a transaction each. A database whose
//! schema is newer than this binary knows is refused.

use std::str::FromStr;
use std::time::Duration;

use hedui_proto::v1::{Purpose, RecordSummary, Verdict, VerificationRecord};
use prost::Message as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, SqlitePool};

/// The migrations this binary knows, in order. The version is the position
/// (1-based); the SQL is compiled in.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_records",
        include_str!("../../../migrations/sqlite/0001_records.sql"),
    ),
    ("0002_audit", include_str!("../../../migrations/sqlite/0002_audit.sql")),
];

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database URL is not one this build understands.
    #[error("database url: {0}")]
    Url(String),
    /// The schema was written by a newer hedui.
    #[error(
        "the database schema is at version {found}, but this hedui only knows up to version {known}; upgrade hedui before using this database"
    )]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Highest version this binary knows.
        known: i64,
    },
    /// A stored record does not decode or fails its integrity check.
    #[error("record {record_id} is corrupt: {problem}")]
    Corrupt {
        /// The record id.
        record_id: String,
        /// What is wrong.
        problem: String,
    },
}

/// Result alias for the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The outcome of storing a record under an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    /// The record was stored.
    Inserted,
    /// The key was already used; this is the record stored under it and the
    /// hash of the request that made it.
    Existing {
        /// The earlier record.
        record: Box<VerificationRecord>,
        /// The earlier request's hash.
        request_hash: String,
    },
}

/// Filters for [`Store::list_records`]. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this verdict.
    pub verdict: Option<Verdict>,
    /// Only records created on or after this day (UTC).
    pub created_from: Option<chrono::NaiveDate>,
    /// Only records created on or before this day (UTC).
    pub created_to: Option<chrono::NaiveDate>,
    /// Only records whose household includes this normalised ID number.
    pub id_number: Option<String>,
    /// At most this many records.
    pub limit: u32,
}

/// The record store.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies any
    /// pending migrations. `url` is `sqlite://PATH`, `sqlite::memory:`, or a
    /// plain file path.
    pub async fn open(url: &str) -> Result<Store> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        if url.starts_with("postgres") {
            return Err(StoreError::Url("PostgreSQL is not supported by this build yet".into()));
        }
        let opts = SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Url(format!("{e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Records are the bureau's evidence: an acknowledged record must
            // survive a power cut, so every commit is synced.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection.
            .max_connections(if in_memory { 1 } else { 8 })
            .connect_with(opts)
            .await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// The highest schema version this binary knows.
    pub fn known_schema_version() -> i64 {
        MIGRATIONS.len() as i64
    }

    /// The schema version of the open database.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            ) STRICT",
        )
        .execute(&self.pool)
        .await?;
        let current = self.schema_version().await?;
        let known = Self::known_schema_version();
        if current > known {
            return Err(StoreError::SchemaTooNew { found: current, known });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as i64 + 1;
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                .bind(version)
                .bind(*name)
                .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied migration");
        }
        Ok(())
    }

    /// Stores `record` under `idempotency_key`, unless the key was used
    /// before; then nothing is written and the earlier record is returned.
    /// The record and its person index are written in one transaction.
    pub async fn put_record(
        &self,
        record: &VerificationRecord,
        idempotency_key: &str,
        request_hash: &str,
    ) -> Result<PutOutcome> {
        let mut tx = self.pool.begin().await?;
        let household = record.household.clone().unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                                  digest, idempotency_key, request_hash, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&record.record_id)
        .bind(&record.created_at)
        .bind(&household.household_ref)
        .bind(Verdict::try_from(record.verdict).unwrap_or_default().as_str_name())
        .bind(Purpose::try_from(record.purpose).unwrap_or_default().as_str_name())
        .bind(household.members.len() as i64)
        .bind(&record.digest)
        .bind(idempotency_key)
        .bind(request_hash)
        .bind(record.encode_to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            tx.rollback().await?;
            let (record, request_hash) =
                self.get_by_idempotency_key(idempotency_key)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt {
                        record_id: String::new(),
                        problem: "idempotency key conflicts but no record holds it".into(),
                    })?;
            return Ok(PutOutcome::Existing {
                record: Box::new(record),
                request_hash,
            });
        }
        for m in &household.members {
            sqlx::query("INSERT OR IGNORE INTO record_persons (record_id, id_number) VALUES (?, ?)")
                .bind(&record.record_id)
                .bind(&m.id_number)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(PutOutcome::Inserted)
    }

    /// The record with `record_id`, checked against its digest.
    pub async fn get_record(&self, record_id: &str) -> Result<Option<VerificationRecord>> {
        let row = sqlx::query("SELECT record_id, body FROM records WHERE record_id = ?")
            .bind(record_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get("record_id"), r.get("body"))).transpose()
    }

    /// The record stored under `key`, with the hash of the request that made it.
    pub async fn get_by_idempotency_key(&self, key: &str) -> Result<Option<(VerificationRecord, String)>> {
        let row = sqlx::query("SELECT record_id, body, request_hash FROM records WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((decode(r.get("record_id"), r.get("body"))?, r.get("request_hash"))))
            .transpose()
    }

    /// Summaries of the records matching `filter`, newest first.
    pub async fn list_records(&self, filter: &ListFilter) -> Result<Vec<RecordSummary>> {
        let mut sql = String::from(
            "SELECT r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest
             FROM records r WHERE 1 = 1",
        );
        if filter.verdict.is_some() {
            sql.push_str(" AND r.verdict = ?");
        }
        if filter.created_from.is_some() {
            sql.push_str(" AND r.created_at >= ?");
        }
        if filter.created_to.is_some() {
            sql.push_str(" AND r.created_at < ?");
        }
        if filter.id_number.is_some() {
            sql.push_str(" AND r.record_id IN (SELECT record_id FROM record_persons WHERE id_number = ?)");
        }
        sql.push_str(" ORDER BY r.created_at DESC, r.record_id DESC LIMIT ?");
        let mut q = sqlx::query(&sql);
        if let Some(v) = filter.verdict {
            q = q.bind(v.as_str_name());
        }
        if let Some(d) = filter.created_from {
            q = q.bind(d.to_string());
        }
        if let Some(d) = filter.created_to {
            // Records are stamped with full timestamps; "on or before a day"
            // means before the start of the next day.
            q = q.bind(d.succ_opt().unwrap_or(d).to_string());
        }
        if let Some(id) = &filter.id_number {
            q = q.bind(id);
        }
        q = q.bind(i64::from(filter.limit.max(1)));
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| RecordSummary {
                record_id: r.get("record_id"),
                household_ref: r.get("household_ref"),
                created_at: r.get("created_at"),
                verdict: Verdict::from_str_name(r.get("verdict")).unwrap_or_default() as i32,
                purpose: Purpose::from_str_name(r.get("purpose")).unwrap_or_default() as i32,
                member_count: r.get::<i64, _>("member_count") as u32,
                digest: r.get("digest"),
            })
            .collect())
    }

    /// Checks that the database answers; used by health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn decode(record_id: String, body: Vec<u8>) -> Result<VerificationRecord> {
    let record = VerificationRecord::decode(body.as_slice()).map_err(|e| StoreError::Corrupt {
        record_id: record_id.clone(),
        problem: format!("does not decode: {e}"),
    })?;
    if !hedui_domain::digest::verify(&record) {
        return Err(StoreError::Corrupt {
            record_id,
            problem: "content does not match its digest".into(),
        });
    }
    Ok(record)
}

/// SHA-256 hex of a request's encoding, to tell a true retry from a reused
/// idempotency key.
pub fn request_hash(encoded_request: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(encoded_request))
}

pub mod audit;

#[cfg(test)]
mod tests;
