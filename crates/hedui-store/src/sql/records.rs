//! Records, their person index, idempotency claims and the integrity read.

use sqlx::Row as _;

use super::{DIALECT, Params, Pool, Query, RAW_COLUMNS, RAW_RECORD, SUMMARY_COLUMNS, built, raw_record, summary_row};
use crate::{KeyProvider, ListBounds, PutOutcome, RawRecord, RecordRow, Result, SummaryRow};

/// One page of records created in `[from, before)`, after the key `after`
/// (created_at, record_id), oldest first.
pub(crate) async fn records_page(
    pool: &Pool,
    from: &str,
    before: &str,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<RawRecord>> {
    // The empty string sorts before every stored key.
    let (after_at, after_id) = after.map_or(("", ""), |(a, i)| (a.as_str(), i.as_str()));
    let rows = sqlx::query(
        "SELECT r.record_id, r.version, r.body, r.kek_id, r.wrapped_key, r.entry_seq, a.entry AS bound_entry, r.erased_at
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq
         WHERE created_at >= $1 AND created_at < $2 AND (created_at, record_id) > ($3, $4) AND r.erased_at IS NULL
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

pub(crate) async fn put_record(
    pool: &Pool,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
    keys: Option<&dyn KeyProvider>,
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
            record: Box::new(crate::decode(keys, &record)?),
            request_hash,
        });
    }
    tx.commit().await?;
    Ok(PutOutcome::Inserted)
}

/// Inserts a record and its person index in `tx` unless its idempotency key
/// is taken; returns whether it was inserted. Used alone by `put_record` and
/// inside the audit log's group commit.
pub(super) async fn insert_record(
    tx: &mut super::Connection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<bool> {
    let q = sqlx::query(
        "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                              digest, idempotency_key, request_hash, body, kek_id, wrapped_key,
                              root_record_id, entry_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (idempotency_key) DO NOTHING",
    );
    let inserted = bind_record_columns(q, row, idempotency_key, request_hash)
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
    insert_persons(tx, row).await?;
    Ok(true)
}

/// Binds the columns every insert of a record starts with, in this order:
/// `record_id, created_at, household_ref, verdict, purpose, member_count,
/// digest, idempotency_key, request_hash, body, kek_id, wrapped_key`.
pub(super) fn bind_record_columns<'q>(
    q: Query<'q>,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
) -> Query<'q> {
    q.bind(row.record_id)
        .bind(row.created_at)
        .bind(row.household_ref)
        .bind(row.verdict)
        .bind(row.purpose)
        .bind(row.member_count)
        .bind(row.digest)
        .bind(idempotency_key)
        .bind(request_hash)
        .bind(row.body.as_slice())
        .bind(row.kek_id.as_deref())
        .bind(row.wrapped_key.as_deref())
}

/// Members per INSERT of a record's person index: a household is one
/// statement (a statement per member was a round trip each to SQLite's
/// worker thread, on the audit log's commit path), well under the
/// bind-parameter limit.
const MEMBERS_PER_STATEMENT: usize = 500;

/// Indexes the members of a record just inserted in `tx`; a person named
/// twice in one household is indexed once.
pub(super) async fn insert_persons(tx: &mut super::Connection, row: &RecordRow<'_>) -> Result<()> {
    for chunk in row.id_numbers.chunks(MEMBERS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::<super::Db>::new("INSERT INTO record_persons (record_id, id_number) ");
        q.push_values(chunk, |mut b, id_number| {
            b.push_bind(row.record_id).push_bind(id_number);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

pub(crate) async fn get_record(pool: &Pool, record_id: &str) -> Result<Option<RawRecord>> {
    if DIALECT.unstorable(record_id) {
        return Ok(None);
    }
    let row = sqlx::query(built(format!("{RAW_RECORD} WHERE r.record_id = $1")))
        .bind(record_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(raw_record))
}

pub(crate) async fn get_by_idempotency_key(pool: &Pool, key: &str) -> Result<Option<(RawRecord, String)>> {
    if DIALECT.unstorable(key) {
        return Ok(None);
    }
    let row = sqlx::query(built(format!("{RAW_RECORD} WHERE r.idempotency_key = $1")))
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| (raw_record(&r), r.get("request_hash"))))
}

pub(crate) async fn list_records(pool: &Pool, f: &ListBounds<'_>) -> Result<Vec<(SummaryRow, RawRecord)>> {
    let unstorable = |s: &str| DIALECT.unstorable(s);
    if f.id_number.is_some_and(unstorable)
        || f.id_number_plain.is_some_and(unstorable)
        || f.household_ref.is_some_and(unstorable)
        || f.after.is_some_and(|(c, r)| unstorable(c) || unstorable(r))
    {
        return Ok(Vec::new());
    }
    let mut p = Params::default();
    let mut sql = format!(
        "SELECT {SUMMARY_COLUMNS}, {RAW_COLUMNS}
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq WHERE 1 = 1"
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
        let (hashed, plain) = (p.next(), p.next());
        sql.push_str(&format!(
            " AND r.record_id IN (SELECT record_id FROM record_persons WHERE id_number IN ({hashed}, {plain}))"
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
    let mut q = sqlx::query(built(sql));
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
        q = q.bind(id).bind(f.id_number_plain.unwrap_or(id));
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

pub(crate) async fn ping(pool: &Pool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

// The next two run a test's own SQL as it is (`Store::execute_raw_for_tests`
// and the `fetch_*_for_tests`): written by the test, never by a request,
// and never called by hedui itself, so it is asserted safe here.

pub(crate) async fn execute_raw(pool: &Pool, sql: &str) -> Result<u64> {
    Ok(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await?
        .rows_affected())
}

pub(crate) async fn fetch_scalars<T>(pool: &Pool, sql: &str) -> Result<Vec<T>>
where
    T: for<'r> sqlx::Decode<'r, super::Db> + sqlx::Type<super::Db> + Send + Unpin,
{
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?)
}

pub(crate) async fn unbound_records(pool: &Pool) -> Result<Vec<RawRecord>> {
    let rows = sqlx::query(
        "SELECT r.record_id, r.version, r.body, r.kek_id, r.wrapped_key, r.entry_seq, NULL AS bound_entry, r.erased_at
         FROM records r WHERE r.entry_seq IS NULL AND r.erased_at IS NULL ORDER BY r.created_at, r.record_id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(raw_record).collect())
}

pub(crate) async fn bind_record(pool: &Pool, row: &RecordRow<'_>, plain_ids: &[String]) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let kek_id: Option<Option<String>> =
        sqlx::query_scalar("SELECT kek_id FROM records WHERE record_id = $1 AND digest = $2 AND entry_seq IS NULL")
            .bind(row.record_id)
            .bind(row.digest)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(kek_id) = kek_id else {
        return Ok(false);
    };
    let was_plaintext = kek_id.is_none();
    sqlx::query(
        "UPDATE records SET entry_seq = $1, body = $2, kek_id = $3, wrapped_key = $4
         WHERE record_id = $5 AND digest = $6 AND entry_seq IS NULL",
    )
    .bind(row.entry_seq)
    .bind(row.body.as_slice())
    .bind(row.kek_id.as_deref())
    .bind(row.wrapped_key.as_deref())
    .bind(row.record_id)
    .bind(row.digest)
    .execute(&mut *tx)
    .await?;
    if was_plaintext {
        reindex_persons(&mut tx, row.record_id, plain_ids, &row.id_numbers).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Replaces a record's plaintext `record_persons` rows by their keyed
/// hashes (`plain[i]` becomes `hashed[i]`), in `tx`.
pub(super) async fn reindex_persons(
    tx: &mut super::Connection,
    record_id: &str,
    plain: &[String],
    hashed: &[String],
) -> Result<()> {
    for (plain, hashed) in plain.iter().zip(hashed) {
        sqlx::query("UPDATE record_persons SET id_number = $1 WHERE record_id = $2 AND id_number = $3")
            .bind(hashed)
            .bind(record_id)
            .bind(plain)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

pub(crate) async fn integrity_rows(pool: &Pool) -> Result<crate::integrity::IntegrityRows> {
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
    let rows = sqlx::query(built(format!(
        "SELECT {SUMMARY_COLUMNS}, r.entry_seq, r.body, r.kek_id, r.wrapped_key FROM records r
         ORDER BY r.created_at, r.record_id"
    )))
    .fetch_all(pool)
    .await?;
    let records = rows
        .iter()
        .map(|r| crate::integrity::RecordCols {
            summary: summary_row(r),
            raw: RawRecord {
                record_id: r.get("record_id"),
                version: r.get("version"),
                body: r.get("body"),
                kek_id: r.get("kek_id"),
                wrapped_key: r.get("wrapped_key"),
                entry_seq: r.get("entry_seq"),
                bound_entry: None,
                erased_at: r.get("erased_at"),
            },
        })
        .collect();
    Ok(crate::integrity::IntegrityRows {
        entries,
        persons,
        records,
        record_persons,
    })
}

/// An upsert of a claim from `$rows` (the key, owner and expiry as `$1`,
/// `$2`, `$3`) under the one rule of who may take a claim: anyone a free
/// key, the owner its own claim, anyone a lapsed one (`$4` is now). It
/// returns the owner when it took the claim. Written once for both
/// statements below, so the rule cannot drift between them.
macro_rules! claim_upsert {
    ($rows:literal) => {
        concat!(
            "INSERT INTO idempotency_claims (idempotency_key, owner, expires_at) ",
            $rows,
            " ON CONFLICT (idempotency_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
             WHERE idempotency_claims.owner = excluded.owner OR idempotency_claims.expires_at < $4
             RETURNING owner"
        )
    };
}

/// Takes a free key, renews the owner's own claim, or takes over a lapsed
/// one (binds: key, owner, expires at, now); returns the owner when it did.
pub(crate) const CLAIM_KEY: &str = claim_upsert!("VALUES ($1, $2, $3)");

/// [`CLAIM_KEY`], unless a record is stored under the key: then nothing is
/// written and nothing returned. (The `WHERE` also keeps SQLite from
/// reading `ON CONFLICT` as a join's `ON`.)
pub(crate) const CLAIM_UNLESS_STORED: &str =
    claim_upsert!("SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM records WHERE idempotency_key = $1)");

pub(crate) async fn claim_key(
    pool: &Pool,
    key: &str,
    owner: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<Option<i64>> {
    // One statement: take a free key, renew our own claim, or take over a
    // lapsed one; otherwise leave the holder's claim as it is.
    let taken: Option<String> = sqlx::query_scalar(CLAIM_KEY)
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

pub(crate) async fn release_claims(pool: &Pool, prefix: &str) -> Result<u64> {
    // Released by lapsing, not deleted: the hub's role deletes nothing.
    let rows =
        sqlx::query("UPDATE idempotency_claims SET expires_at = 0 WHERE substr(owner, 1, CAST($1 AS INTEGER)) = $2")
            .bind(prefix.chars().count() as i64)
            .bind(prefix)
            .execute(pool)
            .await?
            .rows_affected();
    Ok(rows)
}

pub(crate) async fn release_claim(pool: &Pool, key: &str, owner: &str) -> Result<()> {
    sqlx::query("UPDATE idempotency_claims SET expires_at = 0 WHERE idempotency_key = $1 AND owner = $2")
        .bind(key)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(())
}
