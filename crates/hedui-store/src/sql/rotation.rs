//! Counting rows by KEK and re-wrapping their data keys (see
//! `crate::rotation`).

use sqlx::Row as _;

use super::{Pool, begin_write, built};
use crate::Result;
use crate::rotation::WrappedRow;

/// `(table, kek_id, rows)` for every KEK some sealed row names.
pub(crate) async fn kek_counts(pool: &Pool) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT 'records', kek_id, COUNT(*) FROM records WHERE kek_id IS NOT NULL GROUP BY kek_id
         UNION ALL
         SELECT 'batch_items', kek_id, COUNT(*) FROM batch_items WHERE kek_id IS NOT NULL GROUP BY kek_id
         UNION ALL
         SELECT 'record_reviews', kek_id, COUNT(*) FROM record_reviews WHERE kek_id IS NOT NULL GROUP BY kek_id",
    )
    .fetch_all(pool)
    .await?)
}

/// Up to `limit` rows of `table` (`records`, `batch_items` or
/// `record_reviews`) whose data key a KEK other than `primary` wraps.
pub(crate) async fn wrapped_by_other_keks(
    pool: &Pool,
    table: &'static str,
    primary: &str,
    limit: i64,
) -> Result<Vec<WrappedRow>> {
    let (id, seq) = match table {
        "records" => ("record_id", "version"),
        "batch_items" => ("batch_id", "seq"),
        _ => ("review_id", "CAST(0 AS BIGINT)"),
    };
    let rows = sqlx::query(built(format!(
        "SELECT {id} AS id, {seq} AS seq, kek_id, wrapped_key FROM {table}
         WHERE kek_id IS NOT NULL AND kek_id <> $1 ORDER BY {id}, {seq} LIMIT $2"
    )))
    .bind(primary)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| WrappedRow {
            id: r.get("id"),
            seq: r.get::<i64, _>("seq"),
            kek_id: r.get("kek_id"),
            wrapped_key: r.get("wrapped_key"),
        })
        .collect())
}

/// Stores the re-wrapped data keys, in one transaction; each row is
/// changed only if it still names the KEK it was read under (the second
/// of each pair). Returns how many of each table changed.
pub(crate) async fn store_rewrapped(
    pool: &Pool,
    records: &[(WrappedRow, String)],
    items: &[(WrappedRow, String)],
    reviews: &[(WrappedRow, String)],
) -> Result<(u64, u64, u64)> {
    let mut tx = begin_write(pool).await?;
    let mut counts = [0u64; 3];
    for (i, (rows, sql)) in [
        (
            records,
            "UPDATE records SET kek_id = $1, wrapped_key = $2 WHERE record_id = $3 AND version = $4 AND kek_id = $5",
        ),
        (
            items,
            "UPDATE batch_items SET kek_id = $1, wrapped_key = $2 WHERE batch_id = $3 AND seq = $4 AND kek_id = $5",
        ),
        (
            reviews,
            "UPDATE record_reviews SET kek_id = $1, wrapped_key = $2 WHERE review_id = $3 AND $4 = 0 AND kek_id = $5",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for (row, old) in rows {
            counts[i] += sqlx::query(sql)
                .bind(row.kek_id.as_str())
                .bind(row.wrapped_key.as_slice())
                .bind(&row.id)
                .bind(row.seq)
                .bind(old.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
    }
    tx.commit().await?;
    Ok((counts[0], counts[1], counts[2]))
}
