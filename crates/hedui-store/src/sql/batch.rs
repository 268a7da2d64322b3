//! Batches (see `crate::batch`). On PostgreSQL several hubs may share the
//! database: a claim locks the rows it picks with `FOR UPDATE SKIP LOCKED`,
//! so two claims at once never pick the same item, and neither waits for
//! the other. On SQLite, with one writer, a claim is a single
//! `UPDATE … RETURNING`, atomic by itself.

use sqlx::Row as _;

use super::{Connection, DIALECT, Pool, Row, begin_write, built};
use crate::Result;
use crate::batch::{
    BatchInfo, BatchState, ClaimedItem, InfoParts, ItemDone, ItemOutcome, NewBatch, NewItem, RawClaim, Transition,
};

const HEADER: &str = "SELECT batch_id, label, state, purpose, window_from, window_to, asset_date, created_by_role,
        created_by_name, created_by_serial, created_at, started_at, finished_at FROM batches";

pub(crate) async fn create_batch(pool: &Pool, b: &NewBatch) -> Result<()> {
    sqlx::query(
        "INSERT INTO batches (batch_id, label, state, purpose, window_from, window_to, asset_date,
                              created_by_role, created_by_name, created_by_serial, created_at)
         VALUES ($1, $2, 'DRAFT', $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&b.batch_id)
    .bind(&b.label)
    .bind(&b.purpose)
    .bind(&b.window_from)
    .bind(&b.window_to)
    .bind(&b.asset_date)
    .bind(&b.created_by_role)
    .bind(&b.created_by_name)
    .bind(&b.created_by_serial)
    .bind(&b.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The state of a batch, read in a write transaction: on PostgreSQL the
/// batch row stays locked until the transaction ends.
async fn state_of(conn: &mut Connection, batch_id: &str) -> Result<Option<BatchState>> {
    let sql = built(format!(
        "SELECT state FROM batches WHERE batch_id = $1{}",
        DIALECT.lock_rows()
    ));
    let s: Option<String> = sqlx::query_scalar(sql).bind(batch_id).fetch_optional(conn).await?;
    Ok(s.map(|s| BatchState::parse(&s)))
}

pub(crate) async fn add_batch_items(
    pool: &Pool,
    batch_id: &str,
    items: &[NewItem],
    keys: &dyn crate::KeyProvider,
) -> Result<std::result::Result<i64, Transition>> {
    // The batch row is locked (on SQLite, the database), so concurrent adds
    // number one after another.
    let mut tx = begin_write(pool).await?;
    match state_of(&mut tx, batch_id).await? {
        None => return Ok(Err(Transition::NotFound)),
        Some(BatchState::Draft) => {}
        Some(s) => return Ok(Err(Transition::WrongState(s))),
    }
    let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM batch_items WHERE batch_id = $1")
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await?;
    for item in items {
        seq += 1;
        let sealed =
            crate::envelope::seal(keys, crate::Aad::BatchItem { batch_id, seq }, &item.request).map_err(|source| {
                crate::StoreError::Envelope {
                    row: format!("batch {batch_id} item {seq}"),
                    source,
                }
            })?;
        sqlx::query(
            "INSERT INTO batch_items (batch_id, seq, first_row, household_ref, request, kek_id, wrapped_key,
                                      state, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', 9223372036854775807)",
        )
        .bind(batch_id)
        .bind(seq)
        .bind(item.first_row)
        .bind(&item.household_ref)
        .bind(sealed.payload.as_slice())
        .bind(sealed.kek_id.as_str())
        .bind(sealed.wrapped_key.as_slice())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(seq))
}

pub(crate) async fn start_batch(pool: &Pool, batch_id: &str, now: &str) -> Result<Transition> {
    let mut tx = begin_write(pool).await?;
    match state_of(&mut tx, batch_id).await? {
        None => return Ok(Transition::NotFound),
        Some(BatchState::Draft) => {}
        Some(s) => return Ok(Transition::WrongState(s)),
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batch_items WHERE batch_id = $1")
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await?;
    if n == 0 {
        return Ok(Transition::Empty);
    }
    // A draft's items are never due; now they are.
    sqlx::query("UPDATE batch_items SET next_attempt_at = 0 WHERE batch_id = $1")
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE batches SET state = 'RUNNING', started_at = $1 WHERE batch_id = $2")
        .bind(now)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Transition::Changed)
}

pub(crate) async fn cancel_batch(pool: &Pool, batch_id: &str, now: &str) -> Result<Transition> {
    let mut tx = begin_write(pool).await?;
    match state_of(&mut tx, batch_id).await? {
        None => return Ok(Transition::NotFound),
        Some(BatchState::Draft | BatchState::Running) => {}
        Some(s) => return Ok(Transition::WrongState(s)),
    }
    // Pending items of a cancelled batch are never due again.
    sqlx::query(
        "UPDATE batch_items SET next_attempt_at = 9223372036854775807 WHERE batch_id = $1 AND state = 'PENDING'",
    )
    .bind(batch_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE batches SET state = 'CANCELLED', finished_at = $1 WHERE batch_id = $2")
        .bind(now)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Transition::Changed)
}

fn header(r: &Row) -> (NewBatch, String, Option<String>, Option<String>) {
    (
        NewBatch {
            batch_id: r.get("batch_id"),
            label: r.get("label"),
            purpose: r.get("purpose"),
            window_from: r.get("window_from"),
            window_to: r.get("window_to"),
            asset_date: r.get("asset_date"),
            created_by_role: r.get("created_by_role"),
            created_by_name: r.get("created_by_name"),
            created_by_serial: r.get("created_by_serial"),
            created_at: r.get("created_at"),
        },
        r.get("state"),
        r.get("started_at"),
        r.get("finished_at"),
    )
}

async fn info(pool: &Pool, r: &Row) -> Result<BatchInfo> {
    let (header, state, started_at, finished_at) = header(r);
    let rows = sqlx::query(
        "SELECT state, verdict, SUM(CASE WHEN flagged THEN 1 ELSE 0 END) AS flagged,
                SUM(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) AS retried, COUNT(*) AS n
         FROM batch_items WHERE batch_id = $1 GROUP BY state, verdict",
    )
    .bind(&header.batch_id)
    .fetch_all(pool)
    .await?;
    let groups = rows
        .iter()
        .map(|g| {
            (
                g.get("state"),
                g.get("verdict"),
                g.get("flagged"),
                g.get("retried"),
                g.get("n"),
            )
        })
        .collect();
    Ok(InfoParts {
        header,
        state,
        started_at,
        finished_at,
        groups,
    }
    .into())
}

pub(crate) async fn get_batch(pool: &Pool, batch_id: &str) -> Result<Option<BatchInfo>> {
    let row = sqlx::query(built(format!("{HEADER} WHERE batch_id = $1")))
        .bind(batch_id)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(r) => Ok(Some(info(pool, &r).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn list_batches(pool: &Pool, limit: i64) -> Result<Vec<BatchInfo>> {
    let rows = sqlx::query(built(format!(
        "{HEADER} ORDER BY created_at DESC, batch_id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(info(pool, r).await?);
    }
    Ok(out)
}

pub(crate) async fn claim_batch_items(
    pool: &Pool,
    owner: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: i64,
) -> Result<Vec<RawClaim>> {
    // Two statements, each walking its own index in order (expired leases
    // by `lease_until`, due items by `next_attempt_at`), so a claim reads
    // only the rows it takes however many are waiting. One transaction: on
    // SQLite one turn at the write lock for both.
    let mut tx = begin_write(pool).await?;
    let mut items = claim_where(
        &mut tx,
        "state = 'RUNNING' AND lease_until < $3",
        "lease_until",
        owner,
        now_ms,
        lease_until_ms,
        limit,
    )
    .await?;
    let left = limit - items.len() as i64;
    if left > 0 {
        items.extend(
            claim_where(
                &mut tx,
                "state = 'PENDING' AND next_attempt_at <= $3",
                "next_attempt_at",
                owner,
                now_ms,
                lease_until_ms,
                left,
            )
            .await?,
        );
    }
    tx.commit().await?;
    items.sort_by(|a, b| (&a.item.batch_id, a.item.seq).cmp(&(&b.item.batch_id, b.item.seq)));
    Ok(items)
}

async fn claim_where(
    conn: &mut Connection,
    condition: &'static str,
    order: &'static str,
    owner: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: i64,
) -> Result<Vec<RawClaim>> {
    let sql = built(format!(
        "UPDATE batch_items SET state = 'RUNNING', lease_owner = $1, lease_until = $2, attempts = attempts + 1
         WHERE (batch_id, seq) IN (
             SELECT batch_id, seq FROM batch_items
             WHERE {condition}
               AND batch_id IN (SELECT batch_id FROM batches WHERE state = 'RUNNING')
             ORDER BY {order}
             LIMIT $4{skip_locked})
         RETURNING batch_id, seq, attempts, request, kek_id, wrapped_key",
        skip_locked = DIALECT.skip_locked(),
    ));
    let rows = sqlx::query(sql)
        .bind(owner)
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| RawClaim {
            item: ClaimedItem {
                batch_id: r.get("batch_id"),
                seq: r.get("seq"),
                attempts: r.get("attempts"),
                request: r.get("request"),
            },
            kek_id: r.get("kek_id"),
            wrapped_key: r.get("wrapped_key"),
        })
        .collect())
}

pub(crate) async fn complete_batch_item(
    pool: &Pool,
    batch_id: &str,
    seq: i64,
    owner: &str,
    outcome: &ItemOutcome,
    now: &str,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = ItemDone {
        batch_id,
        seq,
        owner,
        outcome,
        now,
    };
    let held = mark_items_done(&mut tx, &[done]).await?;
    tx.commit().await?;
    Ok(held.first().copied().unwrap_or(false))
}

/// Marks items `DONE` in `tx` where their owner still holds them, and each
/// of their batches `DONE` when nothing of it is left; returns, per item,
/// whether it was still held. Used by a lone completion and inside an audit
/// append, where the items share the transaction (and the durable commit)
/// of their records.
pub(crate) async fn mark_items_done(tx: &mut Connection, items: &[ItemDone<'_>]) -> Result<Vec<bool>> {
    // Each batch row is locked first (on SQLite the write transaction holds
    // the whole database already). Without it two hubs finishing the last
    // two households at once each see the other's item still RUNNING (READ
    // COMMITTED reads before the other commits), neither marks the batch
    // DONE, and it stays RUNNING for ever: a write skew. With it, the second
    // completion waits for the first to commit and its statements then see
    // the first item DONE. Batches are locked in one order, so two such
    // transactions cannot deadlock on them.
    let mut batches: Vec<&str> = items.iter().map(|i| i.batch_id).collect();
    batches.sort_unstable();
    batches.dedup();
    for b in &batches {
        state_of(&mut *tx, b).await?;
    }
    let mut held = Vec::with_capacity(items.len());
    for i in items {
        held.push(
            sqlx::query(
                "UPDATE batch_items SET state = 'DONE', lease_owner = NULL, lease_until = NULL,
                        record_id = $1, verdict = $2, flagged = $3, last_error = $4
                 WHERE batch_id = $5 AND seq = $6 AND state = 'RUNNING' AND lease_owner = $7",
            )
            .bind(i.outcome.record_id.as_deref())
            .bind(&i.outcome.verdict)
            .bind(i.outcome.flagged)
            .bind(&i.outcome.error)
            .bind(i.batch_id)
            .bind(i.seq)
            .bind(i.owner)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1,
        );
    }
    for b in batches {
        let Some(now) = items
            .iter()
            .zip(&held)
            .find(|(i, held)| **held && i.batch_id == b)
            .map(|(i, _)| i.now)
        else {
            continue;
        };
        sqlx::query(
            "UPDATE batches SET state = 'DONE', finished_at = $1
             WHERE batch_id = $2 AND state = 'RUNNING'
               AND NOT EXISTS (SELECT 1 FROM batch_items WHERE batch_id = $3 AND state IN ('PENDING', 'RUNNING'))",
        )
        .bind(now)
        .bind(b)
        .bind(b)
        .execute(&mut *tx)
        .await?;
    }
    Ok(held)
}

pub(crate) async fn reschedule_batch_item(
    pool: &Pool,
    batch_id: &str,
    seq: i64,
    owner: &str,
    next_attempt_ms: i64,
    error: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE batch_items SET state = 'PENDING', lease_owner = NULL, lease_until = NULL,
                next_attempt_at = $1, last_error = $2
         WHERE batch_id = $3 AND seq = $4 AND state = 'RUNNING' AND lease_owner = $5",
    )
    .bind(next_attempt_ms)
    .bind(error)
    .bind(batch_id)
    .bind(seq)
    .bind(owner)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

pub(crate) async fn batch_results(
    pool: &Pool,
    batch_id: &str,
    after_seq: i64,
    limit: i64,
    only_flagged: bool,
) -> Result<Vec<crate::batch::RawResultRow>> {
    let rows = sqlx::query(
        "SELECT i.seq, i.first_row, i.household_ref, i.last_error, i.verdict AS item_verdict, i.flagged,
                r.record_id, r.version, r.body, r.kek_id, r.wrapped_key, r.entry_seq, a.entry AS bound_entry, r.erased_at
         FROM batch_items i LEFT JOIN records r ON r.record_id = i.record_id
                            LEFT JOIN audit_entries a ON a.seq = r.entry_seq
         WHERE i.batch_id = $1 AND i.seq > $2 AND i.state = 'DONE' AND (NOT $3 OR i.flagged)
         ORDER BY i.seq LIMIT $4",
    )
    .bind(batch_id)
    .bind(after_seq)
    .bind(only_flagged)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::batch::RawResultRow {
            seq: r.get("seq"),
            first_row: r.get("first_row"),
            household_ref: r.get("household_ref"),
            error: r.get("last_error"),
            item_verdict: r.get("item_verdict"),
            flagged: r.get::<bool, _>("flagged"),
            record: r
                .get::<Option<String>, _>("record_id")
                .map(|record_id| crate::RawRecord {
                    record_id,
                    version: r.get("version"),
                    body: r.get("body"),
                    kek_id: r.get("kek_id"),
                    wrapped_key: r.get("wrapped_key"),
                    entry_seq: r.get("entry_seq"),
                    bound_entry: r.get("bound_entry"),
                    erased_at: r.get("erased_at"),
                }),
        })
        .collect())
}

pub(crate) async fn get_batch_header(pool: &Pool, batch_id: &str) -> Result<Option<(NewBatch, BatchState)>> {
    let row = sqlx::query(built(format!("{HEADER} WHERE batch_id = $1")))
        .bind(batch_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| {
        let (h, state, _, _) = header(&r);
        (h, BatchState::parse(&state))
    }))
}

pub(crate) async fn release_batch_leases(pool: &Pool, owner: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE batch_items SET state = 'PENDING', lease_owner = NULL, lease_until = NULL
         WHERE state = 'RUNNING' AND lease_owner = $1",
    )
    .bind(owner)
    .execute(pool)
    .await?
    .rows_affected())
}
