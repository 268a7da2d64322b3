//! The SQLite backend: the embedded default. Placeholders are `?`.

use std::str::FromStr;
use std::time::Duration;

use hedui_audit::checkpoint::SignedCheckpoint;
use hedui_audit::entry::AuditEntry;
use hedui_audit::merkle::Hash;
use hedui_proto::v1::Review;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor as _, Row as _, SqlitePool};

use crate::audit::{
    AuditFilter, CheckpointRow, EntryRow, RecordStored, leaf_from_bytes, parse_checkpoint, parse_entry,
};
use crate::versions::{PutVersionOutcome, ReviewRow, missing_previous, review_from_columns};
use crate::{ListBounds, PutOutcome, RawRecord, RecordRow, Result, StoreError, SummaryRow};

/// The migrations this backend knows, in order. The version is the position
/// (1-based); the SQL is compiled in.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_records",
        include_str!("../../../migrations/sqlite/0001_records.sql"),
    ),
    ("0002_audit", include_str!("../../../migrations/sqlite/0002_audit.sql")),
    (
        "0003_reviews_versions",
        include_str!("../../../migrations/sqlite/0003_reviews_versions.sql"),
    ),
    (
        "0004_batches",
        include_str!("../../../migrations/sqlite/0004_batches.sql"),
    ),
    (
        "0005_record_binding",
        include_str!("../../../migrations/sqlite/0005_record_binding.sql"),
    ),
];

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

pub(crate) async fn schema_version(pool: &SqlitePool) -> Result<i64> {
    if !has_migrations_table(pool).await? {
        return Ok(0);
    }
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

async fn has_migrations_table(pool: &SqlitePool) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            .fetch_one(pool)
            .await?;
    Ok(n > 0)
}

pub(crate) async fn applied_migrations(pool: &SqlitePool) -> Result<Vec<crate::AppliedMigration>> {
    if !has_migrations_table(pool).await? {
        return Ok(Vec::new());
    }
    // A table made before checksums were recorded has no such column.
    let sql = if has_checksum_column(pool).await? {
        "SELECT version, name, applied_at, checksum FROM schema_migrations ORDER BY version"
    } else {
        "SELECT version, name, applied_at, NULL AS checksum FROM schema_migrations ORDER BY version"
    };
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::AppliedMigration {
            version: r.get("version"),
            name: r.get("name"),
            applied_at: r.get("applied_at"),
            checksum: r.get("checksum"),
        })
        .collect())
}

async fn has_checksum_column<'e>(conn: impl sqlx::SqliteExecutor<'e>) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'")
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Whether every applied migration has its checksum recorded.
async fn checksums_recorded(pool: &SqlitePool) -> Result<bool> {
    if !has_checksum_column(pool).await? {
        return Ok(false);
    }
    let missing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL")
        .fetch_one(pool)
        .await?;
    Ok(missing == 0)
}

/// One page of records created in `[from, before)`, after the key `after`
/// (created_at, record_id), oldest first.
pub(crate) async fn records_page(
    pool: &SqlitePool,
    from: &str,
    before: &str,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<RawRecord>> {
    // The empty string sorts before every stored key.
    let (after_at, after_id) = after.map_or(("", ""), |(a, i)| (a.as_str(), i.as_str()));
    let rows = sqlx::query(
        "SELECT r.record_id, r.body, r.entry_seq, a.entry AS bound_entry
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq
         WHERE created_at >= ? AND created_at < ? AND (created_at, record_id) > (?, ?)
         ORDER BY created_at, record_id LIMIT ?",
    )
    .bind(from)
    .bind(before)
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(raw_record).collect())
}

/// Applies the pending migrations, one transaction each. Each transaction
/// is `BEGIN IMMEDIATE`, so it holds the write lock (waiting for it under
/// the busy timeout) before it creates the bookkeeping table or reads the
/// version: two processes opening one new file at once take turns and apply
/// each migration once.
pub(crate) async fn migrate(pool: &SqlitePool, known: i64) -> Result<()> {
    // Usually there is nothing to do, and that is found out by reading only.
    let has_table: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            .fetch_one(pool)
            .await?;
    if has_table == 1 {
        let current = schema_version(pool).await?;
        if current > known {
            return Err(StoreError::SchemaTooNew { found: current, known });
        }
        if current == known && checksums_recorded(pool).await? {
            return Ok(());
        }
    }
    loop {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        (&mut *tx)
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    applied_at TEXT NOT NULL,
                    checksum TEXT
                ) STRICT",
            )
            .await?;
        // A table made before checksums were recorded gets the column, and
        // the migrations applied then get the checksums of this binary's
        // files (which `Store::migrate` has checked by name).
        if !has_checksum_column(&mut *tx).await? {
            (&mut *tx)
                .execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")
                .await?;
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            sqlx::query(
                "UPDATE schema_migrations SET checksum = ? WHERE version = ? AND name = ? AND checksum IS NULL",
            )
            .bind(crate::migration_checksum(sql))
            .bind(i as i64 + 1)
            .bind(*name)
            .execute(&mut *tx)
            .await?;
        }
        let current: i64 = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?
            .unwrap_or(0);
        if current > known {
            return Err(StoreError::SchemaTooNew { found: current, known });
        }
        let Some((name, sql)) = MIGRATIONS.get(current as usize) else {
            tx.commit().await?;
            return Ok(());
        };
        let version = current + 1;
        // `Executor::execute` with a plain string runs every statement in it
        // (as `raw_sql` does) and returns a boxed `Send` future.
        (&mut *tx).execute(*sql).await?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (?, ?, ?, ?)")
            .bind(version)
            .bind(*name)
            .bind(crate::now_rfc3339())
            .bind(crate::migration_checksum(sql))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, name, backend = "sqlite", "applied migration");
    }
}

pub(crate) async fn put_record(
    pool: &SqlitePool,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<PutOutcome> {
    let mut tx = pool.begin().await?;
    let inserted = insert_record(&mut tx, row, idempotency_key, request_hash).await?;
    if !inserted {
        tx.rollback().await?;
        let (record, request_hash) = get_by_idempotency_key(pool, idempotency_key)
            .await?
            .ok_or_else(crate::missing_existing)?;
        return Ok(PutOutcome::Existing {
            record: Box::new(crate::decode(record.record_id, record.body)?),
            request_hash,
        });
    }
    tx.commit().await?;
    Ok(PutOutcome::Inserted)
}

/// Inserts a record and its person index in `tx` unless its idempotency key
/// is taken; returns whether it was inserted. Used alone by `put_record` and
/// inside the audit log's group commit.
pub(crate) async fn insert_record(
    tx: &mut sqlx::SqliteConnection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                              digest, idempotency_key, request_hash, body, root_record_id, entry_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(row.record_id)
    .bind(row.created_at)
    .bind(row.household_ref)
    .bind(row.verdict)
    .bind(row.purpose)
    .bind(row.member_count)
    .bind(row.digest)
    .bind(idempotency_key)
    .bind(request_hash)
    .bind(row.body.as_slice())
    // A first record is the root of its own lineage.
    .bind(row.record_id)
    .bind(row.entry_seq)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        return Ok(false);
    }
    for id_number in &row.id_numbers {
        sqlx::query("INSERT OR IGNORE INTO record_persons (record_id, id_number) VALUES (?, ?)")
            .bind(row.record_id)
            .bind(id_number)
            .execute(&mut *tx)
            .await?;
    }
    Ok(true)
}

pub(crate) async fn get_record(pool: &SqlitePool, record_id: &str) -> Result<Option<RawRecord>> {
    let row = sqlx::query(&format!("{RAW_RECORD} WHERE r.record_id = ?"))
        .bind(record_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(raw_record))
}

pub(crate) async fn get_by_idempotency_key(pool: &SqlitePool, key: &str) -> Result<Option<(RawRecord, String)>> {
    let row = sqlx::query(&format!("{RAW_RECORD} WHERE r.idempotency_key = ?"))
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| (raw_record(&r), r.get("request_hash"))))
}

/// The columns of a [`RawRecord`] (and the request hash), joined with the
/// audit entry the record is bound to.
const RAW_RECORD: &str = "SELECT r.record_id, r.body, r.entry_seq, r.request_hash, a.entry AS bound_entry
     FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq";

fn raw_record(r: &sqlx::sqlite::SqliteRow) -> RawRecord {
    RawRecord {
        record_id: r.get("record_id"),
        body: r.get("body"),
        entry_seq: r.get("entry_seq"),
        bound_entry: r.get("bound_entry"),
    }
}

pub(crate) async fn list_records(pool: &SqlitePool, f: &ListBounds<'_>) -> Result<Vec<(SummaryRow, RawRecord)>> {
    let mut sql = String::from(
        "SELECT r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest,
                r.version, r.previous_record_id,
                (SELECT s.record_id FROM records s WHERE s.previous_record_id = r.record_id) AS superseded_by,
                r.body, r.entry_seq, a.entry AS bound_entry
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq WHERE 1 = 1",
    );
    if f.verdict.is_some() {
        sql.push_str(" AND r.verdict = ?");
    }
    if f.created_from.is_some() {
        sql.push_str(" AND r.created_at >= ?");
    }
    if f.created_before.is_some() {
        sql.push_str(" AND r.created_at < ?");
    }
    if f.id_number.is_some() {
        sql.push_str(" AND r.record_id IN (SELECT record_id FROM record_persons WHERE id_number = ?)");
    }
    if f.latest_only {
        sql.push_str(" AND NOT EXISTS (SELECT 1 FROM records s WHERE s.previous_record_id = r.record_id)");
    }
    if f.purpose.is_some() {
        sql.push_str(" AND r.purpose = ?");
    }
    if f.household_ref.is_some() {
        sql.push_str(" AND r.household_ref = ?");
    }
    if f.after.is_some() {
        sql.push_str(" AND (r.created_at < ? OR (r.created_at = ? AND r.record_id < ?))");
    }
    sql.push_str(" ORDER BY r.created_at DESC, r.record_id DESC LIMIT ?");
    let mut q = sqlx::query(&sql);
    if let Some(v) = f.verdict {
        q = q.bind(v);
    }
    if let Some(d) = &f.created_from {
        q = q.bind(d);
    }
    if let Some(d) = &f.created_before {
        q = q.bind(d);
    }
    if let Some(id) = f.id_number {
        q = q.bind(id);
    }
    if let Some(p) = f.purpose {
        q = q.bind(p);
    }
    if let Some(h) = f.household_ref {
        q = q.bind(h);
    }
    if let Some((created, id)) = f.after {
        q = q.bind(created).bind(created).bind(id);
    }
    q = q.bind(f.limit);
    let rows = q.fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (summary_row(&r), raw_record(&r))).collect())
}

pub(crate) async fn ping(pool: &SqlitePool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(crate) async fn execute_raw(pool: &SqlitePool, sql: &str) -> Result<u64> {
    Ok(sqlx::raw_sql(sql).execute(pool).await?.rows_affected())
}

/// Appends `entries` unless the log's size under the lock is not the first
/// entry's seq; returns that size either way (equal means written).
pub(crate) async fn append_audit(
    pool: &SqlitePool,
    entries: &[EntryRow<'_>],
    records: &[crate::audit::RecordInsert<'_>],
) -> Result<(i64, Vec<RecordStored>)> {
    // BEGIN IMMEDIATE takes SQLite's write lock before the size is read, so
    // the read and the inserts are one serialised step.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_entries")
        .fetch_one(&mut *tx)
        .await?;
    if entries.first().is_some_and(|e| e.seq != size) {
        tx.rollback().await?;
        return Ok((size, Vec::new()));
    }
    let mut stored = Vec::with_capacity(records.len());
    for r in records {
        stored.push(write_record(&mut tx, &r.row, r.idempotency_key, r.request_hash).await?);
    }
    if stored.iter().any(|s| *s != RecordStored::Inserted) {
        // No entry may name a record that is not stored: write nothing, and
        // let the appender drop the refused records' entries and try again.
        tx.rollback().await?;
        return Ok((size, stored));
    }
    insert_audit_rows(&mut tx, entries).await?;
    tx.commit().await?;
    Ok((size, stored))
}

/// Stores one record of an audit append in `tx`, which holds the log's
/// lock: a first record unless its key is taken; a new version unless its
/// key is taken or the version it replaces already has a successor. Every
/// writer of records goes through this lock, so the checks and the insert
/// see the same database.
async fn write_record(
    tx: &mut sqlx::SqliteConnection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<RecordStored> {
    let taken: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE idempotency_key = ?")
        .bind(idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Ok(RecordStored::KeyTaken);
    }
    let Some(previous) = row.previous_record_id else {
        insert_record(tx, row, idempotency_key, request_hash).await?;
        return Ok(RecordStored::Inserted);
    };
    let root: String = sqlx::query_scalar("SELECT root_record_id FROM records WHERE record_id = ?")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| missing_previous(previous))?;
    let successor: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE previous_record_id = ?")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?;
    if successor.is_some() {
        let latest: String =
            sqlx::query_scalar("SELECT record_id FROM records WHERE root_record_id = ? ORDER BY version DESC LIMIT 1")
                .bind(&root)
                .fetch_one(&mut *tx)
                .await?;
        return Ok(RecordStored::Superseded {
            latest_record_id: latest,
        });
    }
    insert_version(tx, row, idempotency_key, request_hash, previous, &root).await?;
    Ok(RecordStored::Inserted)
}

pub(crate) async fn audit_leaves_range(pool: &SqlitePool, from: i64, to: i64) -> Result<Vec<Hash>> {
    let rows = sqlx::query("SELECT leaf FROM audit_entries WHERE seq >= ? AND seq < ? ORDER BY seq")
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| leaf_from_bytes(&r.get::<Vec<u8>, _>("leaf")))
        .collect()
}

pub(crate) async fn audit_leaves(pool: &SqlitePool, upto: i64) -> Result<Vec<Hash>> {
    let rows = sqlx::query("SELECT leaf FROM audit_entries WHERE seq < ? ORDER BY seq")
        .bind(upto)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| leaf_from_bytes(&r.get::<Vec<u8>, _>("leaf")))
        .collect()
}

pub(crate) async fn audit_size(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
        .fetch_one(pool)
        .await?)
}

pub(crate) async fn audit_entries(pool: &SqlitePool, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut sql = String::from("SELECT e.seq, e.entry FROM audit_entries e WHERE 1 = 1");
    if filter.from.is_some() {
        sql.push_str(" AND e.time >= ?");
    }
    if filter.to.is_some() {
        sql.push_str(" AND e.time < ?");
    }
    if filter.actor.is_some() {
        sql.push_str(" AND e.actor = ?");
    }
    if filter.action.is_some() {
        sql.push_str(" AND e.action = ?");
    }
    if filter.department.is_some() {
        // SQLite's LIKE ignores ASCII case; the PostgreSQL backend matches it.
        sql.push_str(" AND (',' || e.departments || ',') LIKE ('%,' || ? || ',%')");
    }
    if filter.person_key_hash.is_some() {
        sql.push_str(" AND e.seq IN (SELECT seq FROM audit_persons WHERE key_hash = ?)");
    }
    if filter.after_seq.is_some() {
        sql.push_str(" AND e.seq >= ?");
    }
    sql.push_str(" ORDER BY e.seq LIMIT ?");
    let mut q = sqlx::query(&sql);
    for v in [
        &filter.from,
        &filter.to,
        &filter.actor,
        &filter.action,
        &filter.department,
        &filter.person_key_hash,
    ]
    .into_iter()
    .flatten()
    {
        q = q.bind(v);
    }
    if let Some(s) = filter.after_seq {
        q = q.bind(i64::try_from(s).unwrap_or(i64::MAX));
    }
    q = q.bind(i64::from(filter.limit.max(1)));
    let rows = q.fetch_all(pool).await?;
    rows.into_iter()
        .map(|r| parse_entry(r.get("seq"), &r.get::<String, _>("entry")))
        .collect()
}

pub(crate) async fn audit_all(pool: &SqlitePool) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query("SELECT seq, entry FROM audit_entries ORDER BY seq")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| parse_entry(r.get("seq"), &r.get::<String, _>("entry")))
        .collect()
}

pub(crate) async fn put_checkpoint(pool: &SqlitePool, cp: &CheckpointRow<'_>) -> Result<()> {
    sqlx::query("INSERT OR IGNORE INTO audit_checkpoints (tree_size, time, checkpoint) VALUES (?, ?, ?)")
        .bind(cp.tree_size)
        .bind(cp.time)
        .bind(&cp.json)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn checkpoints(pool: &SqlitePool) -> Result<Vec<SignedCheckpoint>> {
    let rows = sqlx::query("SELECT tree_size, checkpoint FROM audit_checkpoints ORDER BY tree_size")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| parse_checkpoint(r.get("tree_size"), &r.get::<String, _>("checkpoint")))
        .collect()
}

/// Entries per INSERT statement: a few statements per group commit instead
/// of one per row, well under the bind-parameter limit.
const AUDIT_ROWS_PER_STATEMENT: usize = 256;
/// Person index rows per INSERT statement.
const PERSON_ROWS_PER_STATEMENT: usize = 1000;

/// Inserts the entries and their person index with multi-row statements.
async fn insert_audit_rows(tx: &mut sqlx::SqliteConnection, entries: &[EntryRow<'_>]) -> Result<()> {
    for chunk in entries.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_entries (seq, time, actor, role, action, departments, status, entry, leaf) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(e.seq)
                .push_bind(e.time)
                .push_bind(e.actor)
                .push_bind(e.role)
                .push_bind(e.action)
                .push_bind(&e.departments)
                .push_bind(e.status)
                .push_bind(&e.entry)
                .push_bind(e.leaf);
        });
        q.build().execute(&mut *tx).await?;
    }
    let persons: Vec<(&str, i64)> = entries
        .iter()
        .flat_map(|e| e.person_key_hashes.iter().map(move |k| (*k, e.seq)))
        .collect();
    for chunk in persons.chunks(PERSON_ROWS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO audit_persons (key_hash, seq) ");
        q.push_values(chunk, |mut b, (key_hash, seq)| {
            b.push_bind(*key_hash).push_bind(*seq);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Versions and reviews (see `versions.rs`)
// ---------------------------------------------------------------------------

pub(crate) async fn put_version(
    pool: &SqlitePool,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<PutVersionOutcome> {
    if row.previous_record_id.is_none() {
        return Ok(put_record(pool, row, idempotency_key, request_hash).await?.into());
    }
    // IMMEDIATE takes the write lock first, so the successor check and the
    // insert see the same database.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    match write_record(&mut tx, row, idempotency_key, request_hash).await? {
        RecordStored::Inserted => {
            tx.commit().await?;
            Ok(PutVersionOutcome::Inserted)
        }
        RecordStored::Superseded { latest_record_id } => {
            tx.rollback().await?;
            Ok(PutVersionOutcome::Superseded { latest_record_id })
        }
        RecordStored::KeyTaken => {
            tx.rollback().await?;
            let (record, request_hash) = get_by_idempotency_key(pool, idempotency_key)
                .await?
                .ok_or_else(crate::missing_existing)?;
            Ok(PutVersionOutcome::Existing {
                record: Box::new(crate::decode(record.record_id, record.body)?),
                request_hash,
            })
        }
    }
}

/// Inserts a new version of `previous` (in the lineage `root`) and its
/// person index in `tx`.
async fn insert_version(
    tx: &mut sqlx::SqliteConnection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
    previous: &str,
    root: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                              digest, idempotency_key, request_hash, body, version, previous_record_id,
                              root_record_id, entry_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(row.record_id)
    .bind(row.created_at)
    .bind(row.household_ref)
    .bind(row.verdict)
    .bind(row.purpose)
    .bind(row.member_count)
    .bind(row.digest)
    .bind(idempotency_key)
    .bind(request_hash)
    .bind(row.body.as_slice())
    .bind(row.version)
    .bind(previous)
    .bind(root)
    .bind(row.entry_seq)
    .execute(&mut *tx)
    .await?;
    for id_number in &row.id_numbers {
        sqlx::query("INSERT OR IGNORE INTO record_persons (record_id, id_number) VALUES (?, ?)")
            .bind(row.record_id)
            .bind(id_number)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(crate) async fn lineage(pool: &SqlitePool, record_id: &str) -> Result<Vec<(SummaryRow, RawRecord)>> {
    let rows = sqlx::query(
        "SELECT r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest,
                r.version, r.previous_record_id,
                (SELECT s.record_id FROM records s WHERE s.previous_record_id = r.record_id) AS superseded_by,
                r.body, r.entry_seq, a.entry AS bound_entry
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq
         WHERE r.root_record_id = (SELECT root_record_id FROM records WHERE record_id = ?)
         ORDER BY r.version, r.created_at",
    )
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (summary_row(&r), raw_record(&r))).collect())
}

pub(crate) async fn add_review(pool: &SqlitePool, r: &ReviewRow<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO record_reviews (review_id, record_id, created_at, outcome, note, reviewer, reviewer_role)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.review_id)
    .bind(r.record_id)
    .bind(r.created_at)
    .bind(r.outcome)
    .bind(r.note)
    .bind(r.reviewer)
    .bind(r.reviewer_role)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn reviews(pool: &SqlitePool, record_id: &str, whole_lineage: bool) -> Result<Vec<Review>> {
    let which = if whole_lineage {
        "v.record_id IN (SELECT record_id FROM records
                         WHERE root_record_id = (SELECT root_record_id FROM records WHERE record_id = ?))"
    } else {
        "v.record_id = ?"
    };
    let sql = format!(
        "SELECT v.review_id, v.record_id, v.created_at, v.outcome, v.note, v.reviewer, v.reviewer_role
         FROM record_reviews v WHERE {which} ORDER BY v.created_at, v.review_id"
    );
    let rows = sqlx::query(&sql).bind(record_id).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            review_from_columns(
                r.get("review_id"),
                r.get("record_id"),
                r.get("created_at"),
                r.get("outcome"),
                r.get("note"),
                r.get("reviewer"),
                r.get("reviewer_role"),
            )
        })
        .collect())
}

pub(crate) async fn unbound_records(pool: &SqlitePool) -> Result<Vec<(String, Vec<u8>)>> {
    let rows =
        sqlx::query("SELECT record_id, body FROM records WHERE entry_seq IS NULL ORDER BY created_at, record_id")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|r| (r.get("record_id"), r.get("body"))).collect())
}

pub(crate) async fn bind_record(pool: &SqlitePool, row: &RecordRow<'_>) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE records SET entry_seq = ?, body = ? WHERE record_id = ? AND digest = ? AND entry_seq IS NULL",
    )
    .bind(row.entry_seq)
    .bind(row.body.as_slice())
    .bind(row.record_id)
    .bind(row.digest)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

pub(crate) async fn integrity_rows(pool: &SqlitePool) -> Result<crate::integrity::IntegrityRows> {
    let entries = sqlx::query_as(
        "SELECT seq, time, actor, role, action, departments, status, entry, leaf FROM audit_entries ORDER BY seq",
    )
    .fetch_all(pool)
    .await?;
    let persons = sqlx::query_as("SELECT key_hash, seq FROM audit_persons ORDER BY seq, key_hash")
        .fetch_all(pool)
        .await?;
    let record_persons = sqlx::query_as("SELECT record_id, id_number FROM record_persons")
        .fetch_all(pool)
        .await?;
    let rows = sqlx::query(
        "SELECT r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest,
                r.version, r.previous_record_id,
                (SELECT s.record_id FROM records s WHERE s.previous_record_id = r.record_id) AS superseded_by,
                r.entry_seq, r.body
         FROM records r ORDER BY r.created_at, r.record_id",
    )
    .fetch_all(pool)
    .await?;
    let records = rows
        .iter()
        .map(|r| crate::integrity::RecordCols {
            summary: summary_row(r),
            entry_seq: r.get("entry_seq"),
            body: r.get("body"),
        })
        .collect();
    Ok(crate::integrity::IntegrityRows {
        entries,
        persons,
        records,
        record_persons,
    })
}

pub(crate) async fn claim_key(
    pool: &SqlitePool,
    key: &str,
    owner: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<Option<i64>> {
    // One statement: take a free key, renew our own claim, or take over a
    // lapsed one; otherwise leave the holder's claim as it is.
    let taken: Option<String> = sqlx::query_scalar(
        "INSERT INTO idempotency_claims (idempotency_key, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (idempotency_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE idempotency_claims.owner = excluded.owner OR idempotency_claims.expires_at < ?
         RETURNING owner",
    )
    .bind(key)
    .bind(owner)
    .bind(expires_at_ms)
    .bind(now_ms)
    .fetch_optional(pool)
    .await?;
    if taken.is_some() {
        return Ok(None);
    }
    let held: Option<i64> = sqlx::query_scalar("SELECT expires_at FROM idempotency_claims WHERE idempotency_key = ?")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    // Released between the two statements: free now, so lapsed already.
    Ok(Some(held.unwrap_or(now_ms)))
}

pub(crate) async fn release_claims(pool: &SqlitePool, prefix: &str) -> Result<u64> {
    // Released by lapsing, not deleted: the hub's role deletes nothing.
    let rows = sqlx::query("UPDATE idempotency_claims SET expires_at = 0 WHERE substr(owner, 1, ?) = ?")
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(rows)
}

pub(crate) async fn release_claim(pool: &SqlitePool, key: &str, owner: &str) -> Result<()> {
    sqlx::query("UPDATE idempotency_claims SET expires_at = 0 WHERE idempotency_key = ? AND owner = ?")
        .bind(key)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(())
}

/// The summary columns of a records row (see [`SummaryRow`]).
fn summary_row(r: &sqlx::sqlite::SqliteRow) -> SummaryRow {
    SummaryRow {
        record_id: r.get("record_id"),
        household_ref: r.get("household_ref"),
        created_at: r.get("created_at"),
        verdict: r.get("verdict"),
        purpose: r.get("purpose"),
        member_count: r.get("member_count"),
        digest: r.get("digest"),
        version: r.get("version"),
        previous_record_id: r.get("previous_record_id"),
        superseded_by: r.get("superseded_by"),
    }
}
