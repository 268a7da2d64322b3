//! Durable storage of checked records.
//!
//! Two backends sit behind one API, chosen by the database URL in
//! [`Store::open`]:
//!
//! - **SQLite** (`sqlite://PATH`, `sqlite::memory:`, or a plain file path) is
//!   the embedded default: the database file is created on first run.
//! - **PostgreSQL** (`postgres://…` or `postgresql://…`) for a bureau that
//!   runs several hubs on one database. The connection is made *without TLS*:
//!   this build has no TLS support for PostgreSQL, because the bureau's
//!   PostgreSQL is reached over a private network or a unix socket
//!   (`postgres:///hedui?host=/var/run/postgresql`).
//!
//! A record is stored as its protobuf encoding plus a few columns to filter
//! on, and its digest is checked again on every read, so a record altered on
//! disk is reported instead of served.
//!
//! The queries and row mapping are written once (`sql/`) and compiled for
//! each backend against its own sqlx types; a small [`dialect::Dialect`]
//! carries what really differs in the SQL text, and each backend's module
//! (`sqlite.rs`, `postgres.rs`) keeps only what is its own: connecting, and
//! how writers take turns (SQLite's single writer, PostgreSQL's advisory
//! locks). Each backend has its own migrations (`migrations/sqlite/`,
//! `migrations/postgres/`) under the same names, compiled into the binary
//! and applied in order inside a transaction each, so a schema version
//! means the same on both. A database
//! whose schema is newer than this binary knows is refused, and so is one
//! on which an applied migration differs from the binary's (its SHA-256,
//! kept in `schema_migrations.checksum`, or its name). One test suite
//! (`tests/store/`) runs every case on both backends.

use std::sync::Arc;

use hedui_proto::v1::{Purpose, RecordSummary, Verdict, VerificationRecord};
use prost::Message as _;

pub use envelope::{Aad, DataKeys, EnvelopeError, KeyProvider};
pub use key_file::{KEY_RELOAD_CHECK_INTERVAL, ReloadingKeys};

mod dialect;
mod postgres;
mod sqlite;

use dialect::Dialect;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, reached, read or written.
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
    /// An audit append was built on a log of `expected` entries, but the
    /// stored log already holds `found`: another hub appended meanwhile. The
    /// appender catches up and tries again; nothing was written.
    #[error("the audit log holds {found} entries, not the {expected} this append was built on")]
    AuditBehind {
        /// The size the append assumed.
        expected: u64,
        /// The size found under the lock.
        found: u64,
    },
    /// A migration recorded as applied is not the one this binary carries:
    /// its file was edited after it was applied (the checksum differs), or
    /// another migration stands at its version (the name differs). Nothing
    /// is served or migrated on such a schema.
    #[error(
        "migration {name} (schema version {version}) was applied from a different file than this hedui carries: {problem}; restore the migration as it was applied (or the database from a backup) rather than editing applied migrations"
    )]
    MigrationChanged {
        /// The schema version.
        version: i64,
        /// The migration's name as this binary knows it.
        name: String,
        /// What differs.
        problem: String,
    },
    /// A row's personal data could not be encrypted or decrypted: no data
    /// key, a KEK the key file lacks, the wrong KEK, a truncated wrapped
    /// key, a payload moved from another row. Nothing was written.
    #[error("{row}: {source}")]
    Envelope {
        /// The row, such as `record 0190… version 1`.
        row: String,
        /// What went wrong.
        source: EnvelopeError,
    },
    /// The record was erased under retention: only its tombstone is left.
    #[error(
        "record {record_id} was erased under the retention period on {erased_at}; its content and data key are deleted, its digest and verdict stay in `record list`"
    )]
    Erased {
        /// The record id.
        record_id: String,
        /// When it was erased, RFC 3339 UTC.
        erased_at: String,
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

impl StoreError {
    /// True when the database server could not be reached (refused, timed
    /// out, reset): a condition that may pass, so worth retrying at start-up.
    /// Every other error (bad URL, schema too new, SQL errors) is final.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut)
        )
    }
}

/// Result alias for the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Records read per query by [`Store::for_each_record_created`].
const RECORD_PAGE: i64 = 500;

/// One row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The schema version it brought the database to.
    pub version: i64,
    /// Its name, e.g. `0002_audit`.
    pub name: String,
    /// When it was applied (RFC 3339 UTC).
    pub applied_at: String,
    /// The SHA-256 (hex) of the migration's SQL as applied; `None` for a
    /// row written before checksums were recorded, until the next
    /// [`Store::migrate`] records the current file's.
    pub checksum: Option<String>,
}

/// The SHA-256 (lower-case hex) of a migration's SQL, as recorded in
/// `schema_migrations.checksum`.
pub fn migration_checksum(sql: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(sql.as_bytes()))
}

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
    /// Only versions that no re-check has replaced.
    pub latest_only: bool,
    /// Only records made for this purpose.
    pub purpose: Option<Purpose>,
    /// Only records of this household reference, exactly.
    pub household_ref: Option<String>,
    /// Only records listed after this one in the list's order (newest
    /// first): its `(created_at, record_id)`. The next page of a list.
    pub after: Option<(String, String)>,
}

/// Which database a [`Store`] is backed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// An SQLite file (or in-memory database).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// The record store.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// When set, every record read also checks the hub's seal under this
    /// key and the record's binding to the audit entry that stored it (see
    /// [`Store::with_seal_key`]).
    seal_key: Option<hedui_trust::VerifyingKey>,
    /// The data keys: every payload written is encrypted under them and
    /// every sealed payload read is decrypted with them (see
    /// [`Store::with_data_keys`]).
    keys: Option<Arc<dyn KeyProvider>>,
    /// An SQLite file's checkpointer, which stops with the last clone.
    checkpointer: Option<Arc<sqlite::Checkpointer>>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_kind())
            .finish_non_exhaustive()
    }
}

/// Calls the function of the same name in the backend's module with the pool
/// and the given arguments. (Defined before `mod audit`, which uses it.)
macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.backend {
            $crate::Backend::Sqlite(pool) => $crate::sqlite::$f(pool $(, $arg)*).await,
            $crate::Backend::Postgres(pool) => $crate::postgres::$f(pool $(, $arg)*).await,
        }
    };
}

/// A connection pool to a store's database with exactly the settings the
/// store uses (on SQLite: WAL, `synchronous = FULL`, the busy timeout), and
/// none of its tables or migrations: for a tool that measures the database
/// itself, such as `hedui bench`'s raw durable insert rate, whose scratch
/// table therefore lives in the tool and not in the store.
pub enum RawPool {
    /// SQLite, with the store's checkpointer beside the pool.
    Sqlite(sqlx::SqlitePool, WalCheckpoints),
    /// PostgreSQL.
    Postgres(sqlx::PgPool),
}

impl RawPool {
    /// Connects to the database at `url`, as [`Store::open`] would, without
    /// migrating or reading anything.
    pub async fn connect(url: &str) -> Result<RawPool> {
        Ok(match kind_of(url)? {
            BackendKind::Postgres => RawPool::Postgres(postgres::connect(url).await?),
            BackendKind::Sqlite => {
                let (pool, checkpointer) = sqlite::connect(url).await?;
                RawPool::Sqlite(pool, WalCheckpoints(checkpointer))
            }
        })
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        match self {
            RawPool::Sqlite(p, WalCheckpoints(checkpointer)) => {
                if let Some(c) = checkpointer {
                    c.close().await;
                }
                p.close().await
            }
            RawPool::Postgres(p) => p.close().await,
        }
    }
}

/// A [`RawPool`]'s SQLite checkpointer, as a store has one: no connection
/// of the pool checkpoints the write-ahead log inside a commit; this does,
/// on its own connection, until the pool is closed or this is dropped.
pub struct WalCheckpoints(Option<Arc<sqlite::Checkpointer>>);

impl Store {
    /// Opens the database at `url` and applies any pending migrations.
    ///
    /// - `postgres://…` or `postgresql://…`: PostgreSQL (no TLS; see the
    ///   crate documentation). The database must exist. A server that cannot
    ///   be reached is reported as [`StoreError::Database`] naming the
    ///   address; retrying is up to the caller.
    /// - `sqlite://PATH`, `sqlite::memory:`, or a plain file path: SQLite,
    ///   creating the file if needed.
    ///
    /// Any other `scheme://` is refused with [`StoreError::Url`].
    pub async fn open(url: &str) -> Result<Store> {
        let store = Self::open_without_migrating(url).await?;
        store.migrate().await?;
        tracing::info!(backend = ?store.backend_kind(), "store opened");
        Ok(store)
    }

    /// Opens the database at `url` as [`Store::open`] does, but applies no
    /// migration: for `hedui migrate --status` and for a hub told not to
    /// migrate on start. A schema newer than this binary knows is still
    /// refused; an older one is left as it is ([`Store::schema_version`]
    /// tells which).
    pub async fn open_without_migrating(url: &str) -> Result<Store> {
        // Decided before any await, so that the future holds no borrow of
        // `url`'s parts and stays `Send` wherever it is spawned.
        let kind = kind_of(url)?;
        let (backend, checkpointer) = match kind {
            BackendKind::Postgres => (Backend::Postgres(postgres::connect(url).await?), None),
            BackendKind::Sqlite => {
                let (pool, checkpointer) = sqlite::connect(url).await?;
                (Backend::Sqlite(pool), checkpointer)
            }
        };
        let store = Store {
            backend,
            seal_key: None,
            keys: None,
            checkpointer,
        };
        let found = store.schema_version().await?;
        let known = Self::known_schema_version();
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        store.check_applied_migrations().await?;
        Ok(store)
    }

    /// Refuses a database on which an applied migration differs from this
    /// binary's: by name, or by checksum where one was recorded. Rows
    /// beyond the versions this binary knows are left to the version check.
    async fn check_applied_migrations(&self) -> Result<()> {
        let known = match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite.migrations(),
            Backend::Postgres(_) => Dialect::Postgres.migrations(),
        };
        for m in self.applied_migrations().await? {
            let Some((name, sql)) = usize::try_from(m.version - 1).ok().and_then(|i| known.get(i)) else {
                continue;
            };
            let changed = |problem: String| StoreError::MigrationChanged {
                version: m.version,
                name: (*name).to_owned(),
                problem,
            };
            if m.name != *name {
                return Err(changed(format!("the database records {:?} at this version", m.name)));
            }
            let file = migration_checksum(sql);
            if let Some(stored) = &m.checksum
                && *stored != file
            {
                return Err(changed(format!(
                    "its SHA-256 was {stored} when applied, the file's is {file}"
                )));
            }
        }
        Ok(())
    }

    /// This store, checking on every record read, besides the digest:
    ///
    /// - the hub's seal ([`hedui_trust::seal`]) under `key`, so a record
    ///   edited and re-sealed with a recomputed digest is refused;
    /// - its binding to the audit entry that stored it (`entry_seq`): that
    ///   entry must exist and carry the record's digest.
    ///
    /// A record that fails either is [`StoreError::Corrupt`], never served.
    /// The hub always reads through such a store; so does `hedui audit
    /// verify --database`.
    pub fn with_seal_key(mut self, key: hedui_trust::VerifyingKey) -> Store {
        self.seal_key = Some(key);
        self
    }

    /// This store, encrypting every payload of personal data it writes (a
    /// record's body, a batch item's request, a review's note) under a
    /// fresh data key wrapped by `keys`' current KEK, indexing members' ID
    /// numbers by `keys`' keyed hash, and decrypting what it reads. A store
    /// without data keys refuses to write personal data and to read a
    /// sealed row ([`EnvelopeError::NoKeys`]); it still reads rows written
    /// before encryption (see [`Store::encrypt_plaintext`]).
    pub fn with_data_keys(mut self, keys: Arc<dyn KeyProvider>) -> Store {
        self.keys = Some(keys);
        self
    }

    /// The data keys, when the store has them.
    pub fn data_keys(&self) -> Option<&dyn KeyProvider> {
        self.keys.as_deref()
    }

    /// The data keys, or the error for `row` saying there are none.
    pub(crate) fn require_keys(&self, row: impl FnOnce() -> String) -> Result<&dyn KeyProvider> {
        self.keys.as_deref().ok_or_else(|| StoreError::Envelope {
            row: row(),
            source: EnvelopeError::NoKeys,
        })
    }

    /// `record`'s row with its body encrypted and its members' ID numbers
    /// replaced by their keyed hashes.
    pub(crate) fn sealed_row<'a>(&self, record: &'a VerificationRecord) -> Result<RecordRow<'a>> {
        let mut row = RecordRow::new(record);
        let what = || format!("record {} version {}", record.record_id, row.version);
        let keys = self.require_keys(what)?;
        let aad = Aad::Record {
            record_id: row.record_id,
            version: row.version,
        };
        let sealed =
            envelope::seal(keys, aad, &row.body).map_err(|source| StoreError::Envelope { row: what(), source })?;
        row.body = sealed.payload;
        row.kek_id = Some(sealed.kek_id);
        row.wrapped_key = Some(sealed.wrapped_key);
        row.id_numbers = row.id_numbers.iter().map(|id| keys.person_index(id)).collect();
        Ok(row)
    }

    /// How a searched ID number is stored in `record_persons`: its keyed
    /// hash. Without data keys, the number itself (only rows written before
    /// encryption hold those).
    pub(crate) fn person_index(&self, id_number: &str) -> String {
        match self.data_keys() {
            Some(k) => k.person_index(id_number),
            None => id_number.to_owned(),
        }
    }

    /// Which database this store is backed by.
    pub fn backend_kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The highest schema version this binary knows.
    pub fn known_schema_version() -> i64 {
        Dialect::Sqlite.migrations().len() as i64
    }

    /// The names of the migrations this binary knows, in order; version
    /// `n` is the `n`-th (1-based).
    pub fn known_migrations() -> Vec<&'static str> {
        Dialect::Sqlite.migrations().iter().map(|(name, _)| *name).collect()
    }

    /// The schema version of the open database; 0 for a database that no
    /// hedui has migrated yet.
    pub async fn schema_version(&self) -> Result<i64> {
        dispatch!(self.schema_version())
    }

    /// The migrations applied to this database, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<AppliedMigration>> {
        dispatch!(self.applied_migrations())
    }

    /// Applies every pending migration, each in its own transaction, and
    /// returns how many were applied. Safe to run from several processes at
    /// once: each migration is applied once.
    ///
    /// Every migration it applies is recorded with its checksum
    /// ([`migration_checksum`]); a migration applied before checksums were
    /// recorded gets the checksum of this binary's file. An applied
    /// migration whose file has changed since is refused by name
    /// ([`StoreError::MigrationChanged`]), before and after migrating.
    pub async fn migrate(&self) -> Result<usize> {
        self.check_applied_migrations().await?;
        let before = self.schema_version().await?;
        dispatch!(self.migrate(Self::known_schema_version()))?;
        self.check_applied_migrations().await?;
        let after = self.schema_version().await?;
        Ok(usize::try_from(after - before).unwrap_or(0))
    }

    /// Calls `f` with every record created on or after `from` and before
    /// `before` (UTC days), oldest first, checked against its digest. Records
    /// are read a page at a time, so memory does not grow with the range.
    pub async fn for_each_record_created(
        &self,
        from: chrono::NaiveDate,
        before: chrono::NaiveDate,
        mut f: impl FnMut(VerificationRecord) + Send,
    ) -> Result<u64> {
        let (from, before) = (from.to_string(), before.to_string());
        let mut after: Option<(String, String)> = None;
        let mut count = 0;
        loop {
            let page = dispatch!(self.records_page(&from, &before, after.as_ref(), RECORD_PAGE))?;
            let full = page.len() as i64 == RECORD_PAGE;
            for raw in page {
                let record = self.check(raw)?;
                after = Some((record.created_at.clone(), record.record_id.clone()));
                count += 1;
                f(record);
            }
            if !full {
                return Ok(count);
            }
        }
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
        let row = self.sealed_row(record)?;
        dispatch!(self.put_record(&row, idempotency_key, request_hash, self.data_keys()))
    }

    /// The record with `record_id`, checked against its digest.
    pub async fn get_record(&self, record_id: &str) -> Result<Option<VerificationRecord>> {
        dispatch!(self.get_record(record_id))?
            .map(|raw| self.check(raw))
            .transpose()
    }

    /// The record stored under `key`, with the hash of the request that made it.
    pub async fn get_by_idempotency_key(&self, key: &str) -> Result<Option<(VerificationRecord, String)>> {
        dispatch!(self.get_by_idempotency_key(key))?
            .map(|(raw, hash)| Ok((self.check(raw)?, hash)))
            .transpose()
    }

    /// Summaries of the records matching `filter`, newest first.
    ///
    /// The filter columns are only an index: each listed row's record is
    /// read and checked as [`Store::get_record`] does, and its columns (and,
    /// for a search by ID number, its members) must agree with the sealed
    /// record. A row that does not is [`StoreError::Corrupt`] naming it, so
    /// an edited `verdict` column cannot put a record in the wrong list.
    pub async fn list_records(&self, filter: &ListFilter) -> Result<Vec<RecordSummary>> {
        // The index holds keyed hashes: search by the number's hash, and by
        // the number itself for rows written before encryption that `hedui
        // migrate` has not re-indexed yet.
        let hashed = filter.id_number.as_deref().map(|id| self.person_index(id));
        let mut bounds = ListBounds::new(filter);
        bounds.id_number_plain = bounds.id_number;
        bounds.id_number = hashed.as_deref();
        let rows = dispatch!(self.list_records(&bounds))?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, raw) in rows {
            if raw.erased_at.is_some() {
                // A tombstone is listed with its marker; it has no content
                // left to check, and no person index to be found by.
                out.push(row.into());
                continue;
            }
            let record = self.check(raw)?;
            row.check_against(&record)?;
            if let Some(id) = filter.id_number.as_deref() {
                let listed = record
                    .household
                    .iter()
                    .flat_map(|h| &h.members)
                    .any(|m| m.id_number == id);
                if !listed {
                    return Err(StoreError::Corrupt {
                        record_id: row.record_id,
                        problem: "record_persons lists a person who is not a member of the sealed record".into(),
                    });
                }
            }
            out.push(row.into());
        }
        Ok(out)
    }

    /// Checks a record read from the database: it decodes, matches its
    /// digest and, with a seal key, carries the hub's seal and is bound to
    /// the audit entry that stored it.
    pub(crate) fn check(&self, raw: RawRecord) -> Result<VerificationRecord> {
        let record = decode(self.data_keys(), &raw)?;
        let Some(key) = &self.seal_key else {
            return Ok(record);
        };
        let corrupt = |problem: String| StoreError::Corrupt {
            record_id: raw.record_id.clone(),
            problem,
        };
        hedui_trust::seal::verify(&record, key).map_err(|e| corrupt(e.to_string()))?;
        let Some(seq) = raw.entry_seq else {
            return Err(corrupt(
                "it is not bound to an audit entry (entry_seq is empty): no entry of the log stored it".into(),
            ));
        };
        let Some(text) = raw.bound_entry else {
            return Err(corrupt(format!("the audit entry {seq} that stored it is missing")));
        };
        let entry = audit::parse_entry(seq, &text)?;
        if entry.seq != seq as u64 || entry.record_digest != record.digest {
            return Err(corrupt(format!(
                "its digest is not the one audit entry {seq} recorded when it was stored"
            )));
        }
        Ok(record)
    }

    /// Claims `idempotency_key` for the call `owner` until `expires_at_ms`
    /// (ms since the epoch), unless another call holds a claim that has not
    /// lapsed at `now_ms`. Durable before it returns. Returns `None` when
    /// the claim is taken (or renewed: the owner is the same), or the time
    /// at which the other call's claim lapses.
    pub async fn claim_key(
        &self,
        idempotency_key: &str,
        owner: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<Option<i64>> {
        dispatch!(self.claim_key(idempotency_key, owner, now_ms, expires_at_ms))
    }

    /// Releases every claim whose owner starts with `prefix` (a hub's
    /// previous run, whose calls died with it). Returns how many. A claim
    /// is released by making it lapse; nothing is deleted.
    pub async fn release_claims(&self, prefix: &str) -> Result<u64> {
        dispatch!(self.release_claims(prefix))
    }

    /// Releases the claim of `owner` on `key`, when its call has ended.
    pub async fn release_claim(&self, key: &str, owner: &str) -> Result<()> {
        dispatch!(self.release_claim(key, owner))
    }

    /// Checks that the database answers; used by health checks.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }

    /// Closes the pool, waiting for connections to finish (and stops an
    /// SQLite file's checkpointer first, for every clone of this store).
    pub async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.close().await;
        }
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// The first column of every row `sql` returns, as bytes. Only for
    /// tests that look at what the database holds (such as that no personal
    /// data is stored in plaintext).
    #[doc(hidden)]
    pub async fn fetch_bytes_for_tests(&self, sql: &str) -> Result<Vec<Vec<u8>>> {
        dispatch!(self.fetch_scalars(sql))
    }

    /// [`Store::fetch_bytes_for_tests`] for a text column.
    #[doc(hidden)]
    pub async fn fetch_text_for_tests(&self, sql: &str) -> Result<Vec<String>> {
        dispatch!(self.fetch_scalars(sql))
    }

    /// Applies the migrations up to schema version `version` only. Only for
    /// tests that build a database as an older hedui left it (such as one
    /// written before encryption at rest); hedui itself always migrates to
    /// the latest.
    #[doc(hidden)]
    pub async fn migrate_to_for_tests(&self, version: i64) -> Result<()> {
        dispatch!(self.migrate(version))
    }

    /// Runs `sql` (one or more statements, no parameters) as it is and
    /// returns the number of rows it changed. Only for tests that must reach
    /// past the store's API, such as forging a row to check that the store
    /// notices; never used by hedui itself.
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> Result<u64> {
        dispatch!(self.execute_raw(sql))
    }
}

/// A record as the columns both backends store.
pub(crate) struct RecordRow<'a> {
    pub record_id: &'a str,
    pub created_at: &'a str,
    pub household_ref: &'a str,
    pub verdict: &'static str,
    pub purpose: &'static str,
    pub member_count: i64,
    pub digest: &'a str,
    /// The protobuf encoding, or once sealed ([`Store::sealed_row`]) its
    /// ciphertext.
    pub body: Vec<u8>,
    /// Members' ID numbers, or once sealed their keyed hashes.
    pub id_numbers: Vec<String>,
    /// Once sealed, the KEK that wrapped the data key.
    pub kek_id: Option<String>,
    /// Once sealed, the wrapped data key.
    pub wrapped_key: Option<Vec<u8>>,
    /// The version; a record from before versions existed counts as 1.
    pub version: i64,
    /// The version this one replaces, if any.
    pub previous_record_id: Option<&'a str>,
    /// The seq of the audit entry that stores it (written in the same
    /// transaction), or `None` for a record stored outside the audit log
    /// (only the store's own tests do that).
    pub entry_seq: Option<i64>,
}

impl<'a> RecordRow<'a> {
    pub(crate) fn new(record: &'a VerificationRecord) -> Self {
        let members = record
            .household
            .as_ref()
            .map(|h| h.members.as_slice())
            .unwrap_or_default();
        RecordRow {
            record_id: &record.record_id,
            created_at: &record.created_at,
            household_ref: record.household.as_ref().map_or("", |h| h.household_ref.as_str()),
            verdict: Verdict::try_from(record.verdict).unwrap_or_default().as_str_name(),
            purpose: Purpose::try_from(record.purpose).unwrap_or_default().as_str_name(),
            member_count: members.len() as i64,
            digest: &record.digest,
            body: record.encode_to_vec(),
            id_numbers: members.iter().map(|m| m.id_number.clone()).collect(),
            kek_id: None,
            wrapped_key: None,
            version: i64::from(record.version.max(1)),
            previous_record_id: Some(record.previous_record_id.as_str()).filter(|p| !p.is_empty()),
            entry_seq: None,
        }
    }
}

/// A record as read from the database, before any check: its body and the
/// audit entry its `entry_seq` points at, if any.
pub(crate) struct RawRecord {
    pub record_id: String,
    /// The version column (bound into a sealed body's associated data).
    pub version: i64,
    pub body: Vec<u8>,
    /// Set (with `wrapped_key`) when `body` is sealed.
    pub kek_id: Option<String>,
    pub wrapped_key: Option<Vec<u8>>,
    pub entry_seq: Option<i64>,
    /// The canonical JSON of the entry at `entry_seq`.
    pub bound_entry: Option<String>,
    /// Set when retention erased the record: `body` is empty, no key is left.
    pub erased_at: Option<String>,
}

/// A [`ListFilter`] as the values both backends bind.
pub(crate) struct ListBounds<'a> {
    pub verdict: Option<&'static str>,
    /// `created_at >= this`
    pub created_from: Option<String>,
    /// `created_at < this`
    pub created_before: Option<String>,
    /// The keyed hash of the searched number.
    pub id_number: Option<&'a str>,
    /// The searched number itself (only pre-encryption rows hold it).
    pub id_number_plain: Option<&'a str>,
    pub limit: i64,
    pub latest_only: bool,
    pub purpose: Option<&'static str>,
    pub household_ref: Option<&'a str>,
    pub after: Option<(&'a str, &'a str)>,
}

impl<'a> ListBounds<'a> {
    fn new(filter: &'a ListFilter) -> Self {
        ListBounds {
            verdict: filter.verdict.map(|v| v.as_str_name()),
            created_from: filter.created_from.map(|d| d.to_string()),
            // Records are stamped with full timestamps; "on or before a day"
            // means before the start of the next day.
            created_before: filter.created_to.map(|d| d.succ_opt().unwrap_or(d).to_string()),
            id_number: filter.id_number.as_deref(),
            id_number_plain: None,
            limit: i64::from(filter.limit.max(1)),
            latest_only: filter.latest_only,
            purpose: filter.purpose.map(|p| p.as_str_name()),
            household_ref: filter.household_ref.as_deref(),
            after: filter.after.as_ref().map(|(c, r)| (c.as_str(), r.as_str())),
        }
    }
}

/// The idempotency key is taken, yet no record holds it.
pub fn missing_record_for_key() -> StoreError {
    missing_existing()
}

/// The idempotency key is taken, yet no record holds it.
pub(crate) fn missing_existing() -> StoreError {
    StoreError::Corrupt {
        record_id: String::new(),
        problem: "idempotency key conflicts but no record holds it".into(),
    }
}

/// The time a migration was applied, as stored in `schema_migrations`.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Decrypts (when sealed) and decodes a record read from the database and
/// checks its digest.
pub(crate) fn decode(keys: Option<&dyn KeyProvider>, raw: &RawRecord) -> Result<VerificationRecord> {
    if let Some(erased_at) = &raw.erased_at {
        return Err(retention::erased(&raw.record_id, erased_at));
    }
    let record_id = raw.record_id.clone();
    let aad = Aad::Record {
        record_id: &raw.record_id,
        version: raw.version,
    };
    let body = envelope::open_columns(keys, aad, raw.kek_id.as_deref(), raw.wrapped_key.as_deref(), &raw.body)
        .map_err(|source| StoreError::Envelope {
            row: format!("record {} version {}", raw.record_id, raw.version),
            source,
        })?;
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

pub mod at_rest;
pub mod audit;
pub mod backup;
pub mod envelope;
pub mod integrity;
pub mod key_file;
mod proofs;
pub mod retention;
pub mod rotation;
mod summary;
mod versions;

pub(crate) use summary::SummaryRow;

pub use versions::PutVersionOutcome;
pub mod batch;
pub mod runtime_role;

mod url;
use url::kind_of;
pub use url::redact_url;

#[cfg(test)]
mod tests;
