//! The PostgreSQL backend. Placeholders are `$1`, `$2`, …
//!
//! Connections are made **without TLS**: this build enables no `tls-*`
//! feature of sqlx, because the bureau's PostgreSQL is reached over a
//! private network or a unix socket. A URL that demands TLS
//! (`sslmode=require`, `verify-ca`, `verify-full`) is refused with
//! [`StoreError::Url`] rather than failing later.

use std::str::FromStr;
use std::time::Duration;

use hedui_audit::checkpoint::SignedCheckpoint;
use hedui_audit::entry::AuditEntry;
use hedui_audit::merkle::Hash;
use hedui_proto::v1::Review;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection as _, Executor as _, PgConnection, PgPool, Row as _};

use crate::audit::{
    AuditFilter, CheckpointRow, EntryRow, RecordStored, leaf_from_bytes, parse_checkpoint, parse_entry,
};
use crate::versions::{PutVersionOutcome, ReviewRow, missing_previous, review_from_columns};
use crate::{ListBounds, PutOutcome, RawRecord, RecordRow, Result, StoreError, SummaryRow};

/// The migrations this backend knows, in order; the same versions as the
/// SQLite list, written for PostgreSQL.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_records",
        include_str!("../../../migrations/postgres/0001_records.sql"),
    ),
    (
        "0002_audit",
        include_str!("../../../migrations/postgres/0002_audit.sql"),
    ),
    (
        "0003_reviews_versions",
        include_str!("../../../migrations/postgres/0003_reviews_versions.sql"),
    ),
    (
        "0004_batches",
        include_str!("../../../migrations/postgres/0004_batches.sql"),
    ),
    (
        "0005_record_binding",
        include_str!("../../../migrations/postgres/0005_record_binding.sql"),
    ),
];

/// At most this many connections per hub.
const MAX_CONNECTIONS: u32 = 16;
/// How long `Store::open` waits for the server to answer at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a query waits for a free connection from the pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);
/// Session settings applied to every connection unless the URL's `options`
/// already set them. Every statement hedui runs is small, except reading the
/// whole audit log at start, which the statement timeout leaves room for; a
/// lock held by another hub is waited on for at most `lock_timeout`; and a
/// transaction abandoned half-way does not hold its locks forever.
const SESSION_DEFAULTS: &[(&str, &str)] = &[
    ("statement_timeout", "120s"),
    ("lock_timeout", "30s"),
    ("idle_in_transaction_session_timeout", "60s"),
];
/// The `pg_advisory_xact_lock` key taken by the migration transaction, so
/// that two hubs starting at once on one database migrate it once.
/// ("hedui-mg" in ASCII.)
const MIGRATION_LOCK_KEY: i64 = 0x6865_6475_692d_6d67;
/// The advisory lock that serialises audit appends across hubs ("hedui-au").
const AUDIT_LOCK_KEY: i64 = 0x6865_6475_692d_6175;

/// Connects to the PostgreSQL database at `url`. The database must exist.
pub(crate) async fn connect(url: &str) -> Result<PgPool> {
    let mut opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(format!("{e}")))?;
    if matches!(
        opts.get_ssl_mode(),
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
    ) {
        return Err(StoreError::Url(
            "this hedui connects to PostgreSQL without TLS and cannot honour sslmode=require/verify-ca/verify-full; \
             reach the database over a private network or a unix socket and drop the sslmode parameter"
                .into(),
        ));
    }
    if opts.get_application_name().is_none() {
        opts = opts.application_name("hedui");
    }
    // `options` is a command line such as `-c statement_timeout=5s` or
    // `--statement_timeout=5s`; a setting named there is left alone.
    let given: Vec<String> = opts
        .get_options()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|word| word.trim_start_matches('-').split_once('=').map(|(k, _)| k.to_owned()))
        .collect();
    let defaults: Vec<_> = SESSION_DEFAULTS
        .iter()
        .filter(|(name, _)| !given.iter().any(|g| g == name))
        .collect();
    let opts = opts.options(defaults.into_iter().map(|(k, v)| (*k, *v)));
    let place = describe(&opts);

    // One direct attempt first: the pool retries a refused connection until
    // its acquire timeout and then reports only "pool timed out", which does
    // not tell the operator which server was meant.
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts)).await {
        Ok(Ok(conn)) => {
            // Only a probe; failing to say goodbye politely changes nothing.
            let _ = conn.close().await;
        }
        Ok(Err(e)) => return Err(cannot_connect(&place, e)),
        Err(_) => {
            return Err(cannot_connect(
                &place,
                sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                )),
            ));
        }
    }
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(opts)
        .await
        .map_err(|e| cannot_connect(&place, e))
}

/// Where `opts` points, for error messages: never the password.
fn describe(opts: &PgConnectOptions) -> String {
    let at = match opts.get_socket() {
        Some(dir) => format!("unix socket {}/.s.PGSQL.{}", dir.display(), opts.get_port()),
        None if opts.get_host().starts_with('/') => {
            format!("unix socket {}/.s.PGSQL.{}", opts.get_host(), opts.get_port())
        }
        None => format!("{}:{}", opts.get_host(), opts.get_port()),
    };
    format!(
        "PostgreSQL at {at} (database {}, user {})",
        opts.get_database().unwrap_or(opts.get_username()),
        opts.get_username()
    )
}

/// A connection failure as a [`StoreError::Database`] whose text names the
/// server; an I/O failure keeps its kind (refused, timed out, …) so that a
/// caller deciding whether to retry can still tell.
fn cannot_connect(place: &str, e: sqlx::Error) -> StoreError {
    let (kind, why) = match &e {
        sqlx::Error::Io(io) => (io.kind(), io.to_string()),
        sqlx::Error::PoolTimedOut => (std::io::ErrorKind::TimedOut, e.to_string()),
        _ => (std::io::ErrorKind::Other, e.to_string()),
    };
    tracing::warn!(%place, error = %e, "cannot connect to PostgreSQL");
    StoreError::Database(sqlx::Error::Io(std::io::Error::new(
        kind,
        format!("cannot connect to {place}: {why}"),
    )))
}

pub(crate) async fn schema_version(pool: &PgPool) -> Result<i64> {
    if !has_migrations_table(pool).await? {
        return Ok(0);
    }
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

async fn has_migrations_table(pool: &PgPool) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'")
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

pub(crate) async fn applied_migrations(pool: &PgPool) -> Result<Vec<crate::AppliedMigration>> {
    if !has_migrations_table(pool).await? {
        return Ok(Vec::new());
    }
    // A table made before checksums were recorded has no such column.
    let has_checksum: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'checksum'",
    )
    .fetch_one(pool)
    .await?;
    let sql = if has_checksum > 0 {
        "SELECT version, name, applied_at, checksum FROM schema_migrations ORDER BY version"
    } else {
        "SELECT version, name, applied_at, NULL::text AS checksum FROM schema_migrations ORDER BY version"
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

/// One page of records created in `[from, before)`, after the key `after`
/// (created_at, record_id), oldest first.
pub(crate) async fn records_page(
    pool: &PgPool,
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
         WHERE created_at >= $1 AND created_at < $2 AND (created_at, record_id) > ($3, $4)
         ORDER BY created_at, record_id LIMIT $5",
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
/// first takes an advisory lock, then (re)reads the version, so hubs that
/// start at once on one database take turns and each migration runs once.
pub(crate) async fn migrate(pool: &PgPool, known: i64) -> Result<()> {
    loop {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        (&mut *tx)
            .execute(
                // No "relation already exists, skipping" notice on every start.
                "SET LOCAL client_min_messages = warning;
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY NOT NULL,
                 name TEXT NOT NULL,
                 applied_at TEXT NOT NULL,
                 checksum TEXT
             );",
            )
            .await?;
        // A table made before checksums were recorded gets the column.
        let has_checksum: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'checksum')",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !has_checksum {
            (&mut *tx)
                .execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")
                .await?;
        }
        // The migrations applied before checksums were recorded get the
        // checksums of this binary's files (which `Store::migrate` has
        // checked by name).
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            sqlx::query(
                "UPDATE schema_migrations SET checksum = $1 WHERE version = $2 AND name = $3 AND checksum IS NULL",
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
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)")
            .bind(version)
            .bind(*name)
            .bind(crate::now_rfc3339())
            .bind(crate::migration_checksum(sql))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, name, backend = "postgres", "applied migration");
    }
}

pub(crate) async fn put_record(
    pool: &PgPool,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<PutOutcome> {
    let mut tx = pool.begin().await?;
    // A concurrent insert under the same key waits here for the other
    // transaction and then does nothing; the read below sees its record.
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
    tx: &mut sqlx::PgConnection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                              digest, idempotency_key, request_hash, body, root_record_id, entry_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
        sqlx::query("INSERT INTO record_persons (record_id, id_number) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(row.record_id)
            .bind(id_number)
            .execute(&mut *tx)
            .await?;
    }
    Ok(true)
}

pub(crate) async fn get_record(pool: &PgPool, record_id: &str) -> Result<Option<RawRecord>> {
    if record_id.contains('\0') {
        return Ok(None); // no stored text has NUL: see `before_nul`
    }
    let row = sqlx::query(&format!("{RAW_RECORD} WHERE r.record_id = $1"))
        .bind(record_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(raw_record))
}

pub(crate) async fn get_by_idempotency_key(pool: &PgPool, key: &str) -> Result<Option<(RawRecord, String)>> {
    if key.contains('\0') {
        return Ok(None); // no stored text has NUL: see `before_nul`
    }
    let row = sqlx::query(&format!("{RAW_RECORD} WHERE r.idempotency_key = $1"))
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| (raw_record(&r), r.get("request_hash"))))
}

/// The columns of a [`RawRecord`] (and the request hash), joined with the
/// audit entry the record is bound to.
const RAW_RECORD: &str = "SELECT r.record_id, r.body, r.entry_seq, r.request_hash, a.entry AS bound_entry
     FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq";

fn raw_record(r: &sqlx::postgres::PgRow) -> RawRecord {
    RawRecord {
        record_id: r.get("record_id"),
        body: r.get("body"),
        entry_seq: r.get("entry_seq"),
        bound_entry: r.get("bound_entry"),
    }
}

/// PostgreSQL text cannot hold NUL (`\0`), so a value given with one would
/// make the query fail where SQLite just finds nothing. Nothing stored can
/// contain NUL, so an equality lookup with one finds nothing, and a range
/// bound with one is its part before the NUL compared strictly (`>=` becomes
/// `>`) or inclusively (`<` becomes `<=`): byte-wise, the same rows. This
/// returns `bound` cut at its first NUL with the operator to use.
fn before_nul<'a>(bound: &'a str, op: &'static str, op_if_cut: &'static str) -> (&'a str, &'static str) {
    match bound.split_once('\0') {
        Some((head, _)) => (head, op_if_cut),
        None => (bound, op),
    }
}

/// Numbers placeholders as a query is built.
#[derive(Default)]
struct Params(usize);

impl Params {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

pub(crate) async fn list_records(pool: &PgPool, f: &ListBounds<'_>) -> Result<Vec<(SummaryRow, RawRecord)>> {
    let nul = |s: &str| s.contains('\0');
    if f.id_number.is_some_and(nul)
        || f.household_ref.is_some_and(nul)
        || f.after.is_some_and(|(c, r)| nul(c) || nul(r))
    {
        return Ok(Vec::new()); // no stored text has NUL: see `before_nul`
    }
    let mut p = Params::default();
    let mut sql = String::from(
        "SELECT r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest,
                r.version, r.previous_record_id,
                (SELECT s.record_id FROM records s WHERE s.previous_record_id = r.record_id) AS superseded_by,
                r.body, r.entry_seq, a.entry AS bound_entry
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq WHERE 1 = 1",
    );
    if f.verdict.is_some() {
        sql.push_str(&format!(" AND r.verdict = {}", p.next()));
    }
    if f.created_from.is_some() {
        sql.push_str(&format!(" AND r.created_at >= {}", p.next()));
    }
    if f.created_before.is_some() {
        sql.push_str(&format!(" AND r.created_at < {}", p.next()));
    }
    if f.id_number.is_some() {
        sql.push_str(&format!(
            " AND r.record_id IN (SELECT record_id FROM record_persons WHERE id_number = {})",
            p.next()
        ));
    }
    if f.latest_only {
        sql.push_str(" AND NOT EXISTS (SELECT 1 FROM records s WHERE s.previous_record_id = r.record_id)");
    }
    if f.purpose.is_some() {
        sql.push_str(&format!(" AND r.purpose = {}", p.next()));
    }
    if f.household_ref.is_some() {
        sql.push_str(&format!(" AND r.household_ref = {}", p.next()));
    }
    if f.after.is_some() {
        let (a, b, c) = (p.next(), p.next(), p.next());
        sql.push_str(&format!(
            " AND (r.created_at < {a} OR (r.created_at = {b} AND r.record_id < {c}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY r.created_at DESC, r.record_id DESC LIMIT {}",
        p.next()
    ));
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

pub(crate) async fn ping(pool: &PgPool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(crate) async fn execute_raw(pool: &PgPool, sql: &str) -> Result<u64> {
    Ok(sqlx::raw_sql(sql).execute(pool).await?.rows_affected())
}

/// Appends `entries` unless the log's size under the lock is not the first
/// entry's seq; returns that size either way (equal means written).
pub(crate) async fn append_audit(
    pool: &PgPool,
    entries: &[EntryRow<'_>],
    records: &[crate::audit::RecordInsert<'_>],
) -> Result<(i64, Vec<RecordStored>)> {
    let mut tx = pool.begin().await?;
    // One appender at a time across every hub on this database; released
    // at commit or rollback.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
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
    tx: &mut sqlx::PgConnection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<RecordStored> {
    // Look first, insert second. Letting ON CONFLICT alone decide was tried:
    // the batch of batch::two_hubs_on_one_postgres_share_a_batch_and_an_audit_log
    // then did not finish in 150 s when run with the hub suite (an INSERT on a
    // key that another hub's open group holds waits for that group). A SELECT
    // does not wait.
    let taken: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE idempotency_key = $1")
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
    let root: String = sqlx::query_scalar("SELECT root_record_id FROM records WHERE record_id = $1")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| missing_previous(previous))?;
    let successor: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE previous_record_id = $1")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?;
    if successor.is_some() {
        let latest: String =
            sqlx::query_scalar("SELECT record_id FROM records WHERE root_record_id = $1 ORDER BY version DESC LIMIT 1")
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

pub(crate) async fn audit_leaves_range(pool: &PgPool, from: i64, to: i64) -> Result<Vec<Hash>> {
    let rows = sqlx::query("SELECT leaf FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq")
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| leaf_from_bytes(&r.get::<Vec<u8>, _>("leaf")))
        .collect()
}

pub(crate) async fn audit_leaves(pool: &PgPool, upto: i64) -> Result<Vec<Hash>> {
    let rows = sqlx::query("SELECT leaf FROM audit_entries WHERE seq < $1 ORDER BY seq")
        .bind(upto)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| leaf_from_bytes(&r.get::<Vec<u8>, _>("leaf")))
        .collect()
}

pub(crate) async fn audit_size(pool: &PgPool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
        .fetch_one(pool)
        .await?)
}

pub(crate) async fn audit_entries(pool: &PgPool, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let exact = [
        &filter.actor,
        &filter.action,
        &filter.department,
        &filter.person_key_hash,
    ];
    if exact.iter().copied().flatten().any(|v| v.contains('\0')) {
        return Ok(Vec::new()); // no stored text has NUL: see `before_nul`
    }
    let from = filter.from.as_deref().map(|b| before_nul(b, ">=", ">"));
    let to = filter.to.as_deref().map(|b| before_nul(b, "<", "<="));
    let mut p = Params::default();
    let mut sql = String::from("SELECT e.seq, e.entry FROM audit_entries e WHERE 1 = 1");
    if let Some((_, op)) = from {
        sql.push_str(&format!(" AND e.time {op} {}", p.next()));
    }
    if let Some((_, op)) = to {
        sql.push_str(&format!(" AND e.time {op} {}", p.next()));
    }
    if filter.actor.is_some() {
        sql.push_str(&format!(" AND e.actor = {}", p.next()));
    }
    if filter.action.is_some() {
        sql.push_str(&format!(" AND e.action = {}", p.next()));
    }
    if filter.department.is_some() {
        // As SQLite's LIKE does: ASCII case ignored, no escape character.
        sql.push_str(&format!(
            " AND (',' || e.departments || ',') ILIKE ('%,' || {} || ',%') ESCAPE ''",
            p.next()
        ));
    }
    if filter.person_key_hash.is_some() {
        sql.push_str(&format!(
            " AND e.seq IN (SELECT seq FROM audit_persons WHERE key_hash = {})",
            p.next()
        ));
    }
    if filter.after_seq.is_some() {
        sql.push_str(&format!(" AND e.seq >= {}", p.next()));
    }
    sql.push_str(&format!(" ORDER BY e.seq LIMIT {}", p.next()));
    let mut q = sqlx::query(&sql);
    for (bound, _) in [from, to].into_iter().flatten() {
        q = q.bind(bound);
    }
    for v in exact.into_iter().flatten() {
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

pub(crate) async fn audit_all(pool: &PgPool) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query("SELECT seq, entry FROM audit_entries ORDER BY seq")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| parse_entry(r.get("seq"), &r.get::<String, _>("entry")))
        .collect()
}

pub(crate) async fn put_checkpoint(pool: &PgPool, cp: &CheckpointRow<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (tree_size, time, checkpoint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(cp.tree_size)
    .bind(cp.time)
    .bind(&cp.json)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn checkpoints(pool: &PgPool) -> Result<Vec<SignedCheckpoint>> {
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
async fn insert_audit_rows(tx: &mut sqlx::PgConnection, entries: &[EntryRow<'_>]) -> Result<()> {
    for chunk in entries.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
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
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new("INSERT INTO audit_persons (key_hash, seq) ");
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

async fn latest_of_root(pool: &PgPool, root: &str) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT record_id FROM records WHERE root_record_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(root)
            .fetch_one(pool)
            .await?,
    )
}

/// The record already stored under `key`, as a version outcome.
async fn existing_version(pool: &PgPool, key: &str) -> Result<PutVersionOutcome> {
    let (record, request_hash) = get_by_idempotency_key(pool, key)
        .await?
        .ok_or_else(crate::missing_existing)?;
    Ok(PutVersionOutcome::Existing {
        record: Box::new(crate::decode(record.record_id, record.body)?),
        request_hash,
    })
}

pub(crate) async fn put_version(
    pool: &PgPool,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<PutVersionOutcome> {
    let Some(previous) = row.previous_record_id else {
        return Ok(put_record(pool, row, idempotency_key, request_hash).await?.into());
    };
    if get_by_idempotency_key(pool, idempotency_key).await?.is_some() {
        return existing_version(pool, idempotency_key).await;
    }
    let mut tx = pool.begin().await?;
    let root: String = sqlx::query_scalar("SELECT root_record_id FROM records WHERE record_id = $1")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| missing_previous(previous))?;
    let successor: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE previous_record_id = $1")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?;
    if successor.is_some() {
        tx.rollback().await?;
        return Ok(PutVersionOutcome::Superseded {
            latest_record_id: latest_of_root(pool, &root).await?,
        });
    }
    // A concurrent re-check of the same version, or a concurrent use of the
    // same key, waits here for the other transaction and then conflicts.
    let inserted = sqlx::query(
        "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                              digest, idempotency_key, request_hash, body, version, previous_record_id,
                              root_record_id, entry_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
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
    .bind(row.version)
    .bind(previous)
    .bind(&root)
    .bind(row.entry_seq)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => {
            tx.rollback().await?;
            return existing_version(pool, idempotency_key).await;
        }
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("records_previous_record_id") => {
            tx.rollback().await?;
            return Ok(PutVersionOutcome::Superseded {
                latest_record_id: latest_of_root(pool, &root).await?,
            });
        }
        Err(e) => return Err(e.into()),
    }
    for id_number in &row.id_numbers {
        sqlx::query("INSERT INTO record_persons (record_id, id_number) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(row.record_id)
            .bind(id_number)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(PutVersionOutcome::Inserted)
}

/// Inserts a new version of `previous` (in the lineage `root`) and its
/// person index in `tx`, inside an audit append (which holds the log's
/// lock, so the checks before it saw the same database).
async fn insert_version(
    tx: &mut sqlx::PgConnection,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        sqlx::query("INSERT INTO record_persons (record_id, id_number) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(row.record_id)
            .bind(id_number)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(crate) async fn lineage(pool: &PgPool, record_id: &str) -> Result<Vec<(SummaryRow, RawRecord)>> {
    if record_id.contains('\0') {
        return Ok(Vec::new()); // no stored text has NUL: see `before_nul`
    }
    let rows = sqlx::query(
        "SELECT r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest,
                r.version, r.previous_record_id,
                (SELECT s.record_id FROM records s WHERE s.previous_record_id = r.record_id) AS superseded_by,
                r.body, r.entry_seq, a.entry AS bound_entry
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq
         WHERE r.root_record_id = (SELECT root_record_id FROM records WHERE record_id = $1)
         ORDER BY r.version, r.created_at",
    )
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (summary_row(&r), raw_record(&r))).collect())
}

pub(crate) async fn add_review(pool: &PgPool, r: &ReviewRow<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO record_reviews (review_id, record_id, created_at, outcome, note, reviewer, reviewer_role)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

pub(crate) async fn reviews(pool: &PgPool, record_id: &str, whole_lineage: bool) -> Result<Vec<Review>> {
    if record_id.contains('\0') {
        return Ok(Vec::new()); // no stored text has NUL: see `before_nul`
    }
    let which = if whole_lineage {
        "v.record_id IN (SELECT record_id FROM records
                         WHERE root_record_id = (SELECT root_record_id FROM records WHERE record_id = $1))"
    } else {
        "v.record_id = $1"
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

pub(crate) async fn unbound_records(pool: &PgPool) -> Result<Vec<(String, Vec<u8>)>> {
    let rows =
        sqlx::query("SELECT record_id, body FROM records WHERE entry_seq IS NULL ORDER BY created_at, record_id")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|r| (r.get("record_id"), r.get("body"))).collect())
}

pub(crate) async fn bind_record(pool: &PgPool, row: &RecordRow<'_>) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE records SET entry_seq = $1, body = $2 WHERE record_id = $3 AND digest = $4 AND entry_seq IS NULL",
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

pub(crate) async fn integrity_rows(pool: &PgPool) -> Result<crate::integrity::IntegrityRows> {
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
    pool: &PgPool,
    key: &str,
    owner: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<Option<i64>> {
    // One statement: take a free key, renew our own claim, or take over a
    // lapsed one; otherwise leave the holder's claim as it is.
    let taken: Option<String> = sqlx::query_scalar(
        "INSERT INTO idempotency_claims (idempotency_key, owner, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (idempotency_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE idempotency_claims.owner = excluded.owner OR idempotency_claims.expires_at < $4
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
    let held: Option<i64> = sqlx::query_scalar("SELECT expires_at FROM idempotency_claims WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    // Released between the two statements: free now, so lapsed already.
    Ok(Some(held.unwrap_or(now_ms)))
}

pub(crate) async fn release_claims(pool: &PgPool, prefix: &str) -> Result<u64> {
    // Released by lapsing, not deleted: the hub's role deletes nothing.
    let rows = sqlx::query("UPDATE idempotency_claims SET expires_at = 0 WHERE substr(owner, 1, $1::int) = $2")
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(rows)
}

pub(crate) async fn release_claim(pool: &PgPool, key: &str, owner: &str) -> Result<()> {
    sqlx::query("UPDATE idempotency_claims SET expires_at = 0 WHERE idempotency_key = $1 AND owner = $2")
        .bind(key)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(())
}

/// The summary columns of a records row (see [`SummaryRow`]).
fn summary_row(r: &sqlx::postgres::PgRow) -> SummaryRow {
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
