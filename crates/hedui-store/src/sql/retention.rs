//! Finding and erasing what the retention period has expired (see
//! `crate::retention`).

use super::{Pool, begin_write, built};
use crate::Result;
use crate::retention::{Erased, Expired};

/// Items of batches that finished (DONE or CANCELLED) before `$1` and still
/// hold their stored request.
const EXPIRED_ITEMS: &str = "SELECT i.batch_id, i.seq FROM batch_items i JOIN batches b ON b.batch_id = i.batch_id
     WHERE i.erased_at IS NULL AND b.state IN ('DONE', 'CANCELLED') AND b.finished_at < $1";

pub(crate) async fn expired(pool: &Pool, cutoff: &str) -> Result<Expired> {
    let (records, oldest, newest): (i64, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM records WHERE erased_at IS NULL AND created_at < $1",
    )
    .bind(cutoff)
    .fetch_one(pool)
    .await?;
    let reviews: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM record_reviews v JOIN records r ON r.record_id = v.record_id
         WHERE v.erased_at IS NULL AND r.erased_at IS NULL AND r.created_at < $1",
    )
    .bind(cutoff)
    .fetch_one(pool)
    .await?;
    let batch_items: i64 = sqlx::query_scalar(built(format!("SELECT COUNT(*) FROM ({EXPIRED_ITEMS}) e")))
        .bind(cutoff)
        .fetch_one(pool)
        .await?;
    Ok(Expired {
        records: records as u64,
        oldest,
        newest,
        reviews: reviews as u64,
        batch_items: batch_items as u64,
    })
}

/// Erases up to `limit` expired records, their person index and their
/// reviews' notes in one transaction: a crash leaves every record either
/// whole or a tombstone.
pub(crate) async fn erase_records(pool: &Pool, cutoff: &str, erased_at: &str, limit: i64) -> Result<Erased> {
    let mut tx = begin_write(pool).await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT record_id FROM records WHERE erased_at IS NULL AND created_at < $1
         ORDER BY created_at, record_id LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut erased = Erased::default();
    for id in &ids {
        erased.persons += sqlx::query("DELETE FROM record_persons WHERE record_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        erased.reviews += sqlx::query(
            "UPDATE record_reviews SET note = '', kek_id = NULL, wrapped_key = NULL, sealed_note = NULL, erased_at = $1
             WHERE record_id = $2 AND erased_at IS NULL",
        )
        .bind(erased_at)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Another run may have erased it meanwhile: counted once.
        erased.records += sqlx::query(
            "UPDATE records SET body = $1, kek_id = NULL, wrapped_key = NULL, erased_at = $2
             WHERE record_id = $3 AND erased_at IS NULL",
        )
        .bind(Vec::<u8>::new())
        .bind(erased_at)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(erased)
}

/// Erases the stored requests of up to `limit` items of batches that
/// finished before the cutoff, in one statement.
pub(crate) async fn erase_batch_items(pool: &Pool, cutoff: &str, erased_at: &str, limit: i64) -> Result<u64> {
    Ok(sqlx::query(built(format!(
        "UPDATE batch_items SET request = $2, kek_id = NULL, wrapped_key = NULL, erased_at = $3
         WHERE (batch_id, seq) IN (SELECT batch_id, seq FROM ({EXPIRED_ITEMS} ORDER BY i.batch_id, i.seq LIMIT $4) e)"
    )))
    .bind(cutoff)
    .bind(Vec::<u8>::new())
    .bind(erased_at)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected())
}
