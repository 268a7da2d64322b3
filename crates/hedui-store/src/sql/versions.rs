//! Record versions (re-checks) and reviews (see `crate::versions`).

use hedui_proto::v1::Review;
use sqlx::Row as _;

use super::{
    Connection, DIALECT, Db, Pool, Query, RAW_COLUMNS, SUMMARY_COLUMNS, begin_write, bind_record_columns, built,
    raw_record, summary_row,
};
use crate::versions::{PutVersionOutcome, ReviewRow, missing_previous, open_note, review_from_columns};
use crate::{KeyProvider, RawRecord, RecordRow, Result, SummaryRow};

/// The latest version of the lineage whose root is `root`.
pub(super) async fn latest_of_root<'e>(conn: impl sqlx::Executor<'e, Database = Db>, root: &str) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT record_id FROM records WHERE root_record_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(root)
            .fetch_one(conn)
            .await?,
    )
}

/// The record already stored under `key`, as a version outcome.
async fn existing_version(pool: &Pool, key: &str, keys: Option<&dyn KeyProvider>) -> Result<PutVersionOutcome> {
    let (record, request_hash) = super::get_by_idempotency_key(pool, key)
        .await?
        .ok_or_else(crate::missing_existing)?;
    Ok(PutVersionOutcome::Existing {
        record: Box::new(crate::decode(keys, &record)?),
        request_hash,
    })
}

pub(crate) async fn put_version(
    pool: &Pool,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
    keys: Option<&dyn KeyProvider>,
) -> Result<PutVersionOutcome> {
    let Some(previous) = row.previous_record_id else {
        return Ok(super::put_record(pool, row, idempotency_key, request_hash, keys)
            .await?
            .into());
    };
    if super::get_by_idempotency_key(pool, idempotency_key).await?.is_some() {
        return existing_version(pool, idempotency_key, keys).await;
    }
    // On SQLite the transaction holds the write lock from here, so the
    // successor check and the insert see the same database; on PostgreSQL
    // the unique indexes decide a race, below.
    let mut tx = begin_write(pool).await?;
    let (root, replaced) = root_and_successor(&mut tx, previous).await?;
    if replaced {
        tx.rollback().await?;
        return Ok(PutVersionOutcome::Superseded {
            latest_record_id: latest_of_root(pool, &root).await?,
        });
    }
    // A concurrent re-check of the same version, or a concurrent use of the
    // same key, waits here for the other transaction and then conflicts.
    let sql = built(format!("{INSERT_VERSION} ON CONFLICT (idempotency_key) DO NOTHING"));
    let inserted = bind_version(sqlx::query(sql), row, idempotency_key, request_hash, previous, &root)
        .execute(&mut *tx)
        .await;
    match inserted {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => {
            tx.rollback().await?;
            return existing_version(pool, idempotency_key, keys).await;
        }
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("records_previous_record_id") => {
            tx.rollback().await?;
            return Ok(PutVersionOutcome::Superseded {
                latest_record_id: latest_of_root(pool, &root).await?,
            });
        }
        Err(e) => return Err(e.into()),
    }
    super::insert_persons(&mut tx, row).await?;
    tx.commit().await?;
    Ok(PutVersionOutcome::Inserted)
}

/// Inserts a version, with the values [`bind_version`] binds.
const INSERT_VERSION: &str =
    "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                              digest, idempotency_key, request_hash, body, kek_id, wrapped_key, version,
                              previous_record_id, root_record_id, entry_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// Binds the values of [`INSERT_VERSION`] to `q`.
fn bind_version<'q>(
    q: Query<'q>,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
    previous: &str,
    root: &str,
) -> Query<'q> {
    bind_record_columns(q, row, idempotency_key, request_hash)
        .bind(row.version)
        .bind(previous)
        .bind(root)
        .bind(row.entry_seq)
}

/// The lineage root of the version `previous`, and whether a version
/// already replaces it, read in `tx`; a `previous` that is not stored is
/// an error.
pub(super) async fn root_and_successor(tx: &mut Connection, previous: &str) -> Result<(String, bool)> {
    let root: String = sqlx::query_scalar("SELECT root_record_id FROM records WHERE record_id = $1")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| missing_previous(previous))?;
    let successor: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE previous_record_id = $1")
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?;
    Ok((root, successor.is_some()))
}

/// Inserts a new version of `previous` (in the lineage `root`) and its
/// person index in `tx`, inside an audit append (which holds the log's
/// lock, so the checks before it saw the same database).
pub(super) async fn insert_version(
    tx: &mut Connection,
    row: &RecordRow<'_>,
    idempotency_key: &str,
    request_hash: &str,
    previous: &str,
    root: &str,
) -> Result<()> {
    bind_version(
        sqlx::query(INSERT_VERSION),
        row,
        idempotency_key,
        request_hash,
        previous,
        root,
    )
    .execute(&mut *tx)
    .await?;
    super::insert_persons(tx, row).await
}

pub(crate) async fn lineage(pool: &Pool, record_id: &str) -> Result<Vec<(SummaryRow, RawRecord)>> {
    if DIALECT.unstorable(record_id) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(built(format!(
        "SELECT {SUMMARY_COLUMNS}, {RAW_COLUMNS}
         FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq
         WHERE r.root_record_id = (SELECT root_record_id FROM records WHERE record_id = $1)
         ORDER BY r.version, r.created_at"
    )))
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (summary_row(&r), raw_record(&r))).collect())
}

pub(crate) async fn add_review(pool: &Pool, r: &ReviewRow<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO record_reviews (review_id, record_id, created_at, outcome, note, reviewer, reviewer_role,
                                     kek_id, wrapped_key, sealed_note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(r.review_id)
    .bind(r.record_id)
    .bind(r.created_at)
    .bind(r.outcome)
    .bind(r.note)
    .bind(r.reviewer)
    .bind(r.reviewer_role)
    .bind(r.sealed.as_ref().map(|s| s.kek_id.as_str()))
    .bind(r.sealed.as_ref().map(|s| s.wrapped_key.as_slice()))
    .bind(r.sealed.as_ref().map(|s| s.payload.as_slice()))
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn reviews(
    pool: &Pool,
    record_id: &str,
    whole_lineage: bool,
    keys: Option<&dyn KeyProvider>,
) -> Result<Vec<Review>> {
    if DIALECT.unstorable(record_id) {
        return Ok(Vec::new());
    }
    let which = if whole_lineage {
        "v.record_id IN (SELECT record_id FROM records
                         WHERE root_record_id = (SELECT root_record_id FROM records WHERE record_id = $1))"
    } else {
        "v.record_id = $1"
    };
    let sql = built(format!(
        "SELECT v.review_id, v.record_id, v.created_at, v.outcome, v.note, v.reviewer, v.reviewer_role,
                v.kek_id, v.wrapped_key, v.sealed_note
         FROM record_reviews v WHERE {which} ORDER BY v.created_at, v.review_id"
    ));
    let rows = sqlx::query(sql).bind(record_id).fetch_all(pool).await?;
    rows.into_iter()
        .map(|r| {
            let review_id: String = r.get("review_id");
            let note = open_note(
                keys,
                &review_id,
                r.get("note"),
                r.get("kek_id"),
                r.get("wrapped_key"),
                r.get("sealed_note"),
            )?;
            Ok(review_from_columns(
                review_id,
                r.get("record_id"),
                r.get("created_at"),
                r.get("outcome"),
                note,
                r.get("reviewer"),
                r.get("reviewer_role"),
            ))
        })
        .collect()
}
