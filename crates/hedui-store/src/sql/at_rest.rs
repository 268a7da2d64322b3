//! Finding and sealing the rows written before encryption at rest (see
//! `crate::at_rest`).

use super::{Pool, begin_write, built, raw_record, reindex_persons};
use crate::at_rest::SealedRow;
use crate::{RawRecord, Result};

pub(crate) async fn plaintext_counts(pool: &Pool, erased_known: bool) -> Result<(i64, i64, i64)> {
    let live = if erased_known { " AND erased_at IS NULL" } else { "" };
    let count = |table: &'static str| built(format!("SELECT COUNT(*) FROM {table} WHERE kek_id IS NULL{live}"));
    let records: i64 = sqlx::query_scalar(count("records")).fetch_one(pool).await?;
    let items: i64 = sqlx::query_scalar(count("batch_items")).fetch_one(pool).await?;
    let reviews: i64 = sqlx::query_scalar(count("record_reviews")).fetch_one(pool).await?;
    Ok((records, items, reviews))
}

pub(crate) async fn records_by_kek(pool: &Pool) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT kek_id, COUNT(*) FROM records WHERE kek_id IS NOT NULL GROUP BY kek_id ORDER BY kek_id")
            .fetch_all(pool)
            .await?,
    )
}

pub(crate) async fn plaintext_records(pool: &Pool, limit: i64) -> Result<Vec<RawRecord>> {
    let rows = sqlx::query(
        "SELECT r.record_id, r.version, r.body, r.kek_id, r.wrapped_key, r.entry_seq, NULL AS bound_entry, r.erased_at
         FROM records r WHERE r.kek_id IS NULL AND r.erased_at IS NULL ORDER BY r.record_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(raw_record).collect())
}

pub(crate) async fn plaintext_batch_items(pool: &Pool, limit: i64) -> Result<Vec<(String, i64, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT batch_id, seq, request FROM batch_items WHERE kek_id IS NULL AND erased_at IS NULL ORDER BY batch_id, seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn plaintext_reviews(pool: &Pool, limit: i64) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT review_id, note FROM record_reviews WHERE kek_id IS NULL AND erased_at IS NULL ORDER BY review_id LIMIT $1")
            .bind(limit)
            .fetch_all(pool)
            .await?,
    )
}

/// Replaces each plaintext row by its sealed form, in one transaction; a
/// row no longer plaintext is left alone. Returns how many of each changed.
pub(crate) async fn store_sealed(
    pool: &Pool,
    records: &[SealedRow],
    items: &[SealedRow],
    reviews: &[SealedRow],
) -> Result<(u64, u64, u64)> {
    let mut tx = begin_write(pool).await?;
    let mut counts = (0, 0, 0);
    for r in records {
        let changed = sqlx::query(
            "UPDATE records SET body = $1, kek_id = $2, wrapped_key = $3
             WHERE record_id = $4 AND version = $5 AND kek_id IS NULL AND erased_at IS NULL",
        )
        .bind(r.sealed.payload.as_slice())
        .bind(r.sealed.kek_id.as_str())
        .bind(r.sealed.wrapped_key.as_slice())
        .bind(&r.id)
        .bind(r.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            let (plain, hashed): (Vec<String>, Vec<String>) = r.persons.iter().cloned().unzip();
            reindex_persons(&mut tx, &r.id, &plain, &hashed).await?;
            counts.0 += 1;
        }
    }
    for i in items {
        counts.1 += sqlx::query(
            "UPDATE batch_items SET request = $1, kek_id = $2, wrapped_key = $3
             WHERE batch_id = $4 AND seq = $5 AND kek_id IS NULL AND erased_at IS NULL",
        )
        .bind(i.sealed.payload.as_slice())
        .bind(i.sealed.kek_id.as_str())
        .bind(i.sealed.wrapped_key.as_slice())
        .bind(&i.id)
        .bind(i.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    for v in reviews {
        counts.2 += sqlx::query(
            "UPDATE record_reviews SET note = '', kek_id = $1, wrapped_key = $2, sealed_note = $3
             WHERE review_id = $4 AND kek_id IS NULL AND erased_at IS NULL",
        )
        .bind(v.sealed.kek_id.as_str())
        .bind(v.sealed.wrapped_key.as_slice())
        .bind(v.sealed.payload.as_slice())
        .bind(&v.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(counts)
}
