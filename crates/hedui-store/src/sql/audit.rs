//! The audit log: appends (with the records they store), reads and
//! checkpoints.

use std::time::Instant;

use hedui_audit::checkpoint::SignedCheckpoint;
use hedui_audit::entry::AuditEntry;
use hedui_audit::merkle::Hash;
use sqlx::Row as _;

use super::{Connection, DIALECT, Db, Params, Pool, begin_serialised, built};
use crate::Result;
use crate::audit::{
    AppendPhases, AuditFilter, CheckpointRow, ClaimTaken, ClaimToTake, EntryRow, RecordStored, leaf_from_bytes,
    parse_checkpoint, parse_entry,
};
use crate::dialect::Serial;

/// Entries per INSERT statement: a few statements per group commit instead
/// of one per row, well under the bind-parameter limit.
const AUDIT_ROWS_PER_STATEMENT: usize = 256;
/// Person index rows per INSERT statement.
const PERSON_ROWS_PER_STATEMENT: usize = 1000;

/// Appends `entries` unless the log's size under the lock is not the first
/// entry's seq; returns that size either way (equal means written).
pub(crate) async fn append_audit(
    pool: &Pool,
    entries: &[EntryRow<'_>],
    records: &[crate::audit::RecordInsert<'_>],
    claims: &[ClaimToTake<'_>],
    phases: &mut AppendPhases,
) -> Result<(i64, Vec<RecordStored>, Vec<ClaimTaken>)> {
    // One appender at a time across every hub on this database, from
    // before the size is read until commit or rollback: the read and the
    // inserts are one serialised step.
    let started = Instant::now();
    let mut tx = begin_serialised(pool, Serial::Audit).await?;
    let begun = Instant::now();
    phases.begin = begun - started;
    let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_entries")
        .fetch_one(&mut *tx)
        .await?;
    if entries.first().is_some_and(|e| e.seq != size) {
        tx.rollback().await?;
        return Ok((size, Vec::new(), Vec::new()));
    }
    let mut claimed = Vec::with_capacity(claims.len());
    for c in claims {
        claimed.push(take_claim(&mut tx, c).await?);
    }
    let mut stored = Vec::with_capacity(records.len());
    for r in records {
        stored.push(write_record(&mut tx, &r.row, r.idempotency_key, r.request_hash).await?);
    }
    if stored.iter().any(|s| *s != RecordStored::Inserted) || claimed.iter().any(|c| *c != ClaimTaken::Taken) {
        // No entry may name a record that is not stored, and no intent is
        // logged for a call that will not ask: write nothing, and let the
        // appender drop the refused appends and try again.
        tx.rollback().await?;
        return Ok((size, stored, claimed));
    }
    insert_audit_rows(&mut tx, entries).await?;
    // Batch items end in the transaction of their records: one durable
    // commit for the record, its entries and the item's DONE. An item whose
    // lease was lost meanwhile is left to the hub that holds it now, which
    // finds this record under the key and marks it itself.
    let items: Vec<crate::batch::ItemDone<'_>> = records.iter().filter_map(|r| r.batch_item).collect();
    if !items.is_empty() {
        super::batch::mark_items_done(&mut tx, &items).await?;
    }
    let written = Instant::now();
    phases.statements = written - begun;
    tx.commit().await?;
    phases.commit = written.elapsed();
    Ok((size, stored, claimed))
}

/// Takes one idempotency claim in `tx`, which holds the log's lock: a key
/// under which a record is stored is not claimed (the caller replays the
/// record); otherwise one statement takes a free key, renews the caller's
/// own claim, or takes over a lapsed one, and leaves a live holder's claim
/// as it is. A taken claim is that one statement (a verification's intent
/// is on the caseworker's path); a refused one reads what refused it.
async fn take_claim(tx: &mut Connection, c: &ClaimToTake<'_>) -> Result<ClaimTaken> {
    let taken: Option<String> = sqlx::query_scalar(super::records::CLAIM_UNLESS_STORED)
        .bind(c.idempotency_key)
        .bind(c.owner)
        .bind(c.expires_at_ms)
        .bind(c.now_ms)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Ok(ClaimTaken::Taken);
    }
    let stored: Option<String> = sqlx::query_scalar("SELECT record_id FROM records WHERE idempotency_key = $1")
        .bind(c.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
    if stored.is_some() {
        return Ok(ClaimTaken::Stored);
    }
    let held: Option<i64> = sqlx::query_scalar("SELECT expires_at FROM idempotency_claims WHERE idempotency_key = $1")
        .bind(c.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(ClaimTaken::HeldUntil(held.unwrap_or(c.now_ms)))
}

/// Stores one record of an audit append in `tx`, which holds the log's
/// lock: a first record unless its key is taken; a new version unless its
/// key is taken or the version it replaces already has a successor. Every
/// writer of records goes through this lock, so the checks and the insert
/// see the same database.
async fn write_record(
    tx: &mut Connection,
    row: &crate::RecordRow<'_>,
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
        super::insert_record(tx, row, idempotency_key, request_hash).await?;
        return Ok(RecordStored::Inserted);
    };
    let (root, replaced) = super::root_and_successor(tx, previous).await?;
    if replaced {
        return Ok(RecordStored::Superseded {
            latest_record_id: super::latest_of_root(&mut *tx, &root).await?,
        });
    }
    super::insert_version(tx, row, idempotency_key, request_hash, previous, &root).await?;
    Ok(RecordStored::Inserted)
}

/// Inserts the entries and their person index with multi-row statements.
async fn insert_audit_rows(tx: &mut Connection, entries: &[EntryRow<'_>]) -> Result<()> {
    for chunk in entries.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::<Db>::new(
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
        let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO audit_persons (key_hash, seq) ");
        q.push_values(chunk, |mut b, (key_hash, seq)| {
            b.push_bind(*key_hash).push_bind(*seq);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

pub(crate) async fn audit_leaves_range(pool: &Pool, from: i64, to: i64) -> Result<Vec<Hash>> {
    let rows = sqlx::query("SELECT leaf FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq")
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| leaf_from_bytes(&r.get::<Vec<u8>, _>("leaf")))
        .collect()
}

pub(crate) async fn audit_leaves(pool: &Pool, upto: i64) -> Result<Vec<Hash>> {
    audit_leaves_range(pool, i64::MIN, upto).await
}

pub(crate) async fn audit_size(pool: &Pool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
        .fetch_one(pool)
        .await?)
}

pub(crate) async fn audit_entries(pool: &Pool, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let exact = [
        &filter.actor,
        &filter.action,
        &filter.department,
        &filter.person_key_hash,
    ];
    if exact.iter().copied().flatten().any(|v| DIALECT.unstorable(v)) {
        return Ok(Vec::new());
    }
    let from = filter.from.as_deref().map(|b| DIALECT.range_bound(b, ">=", ">"));
    let to = filter.to.as_deref().map(|b| DIALECT.range_bound(b, "<", "<="));
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
        let pattern = format!("('%,' || {} || ',%')", p.next());
        sql.push_str(" AND ");
        sql.push_str(&DIALECT.like_ignoring_ascii_case("(',' || e.departments || ',')", &pattern));
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
    let mut q = sqlx::query(built(sql));
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

pub(crate) async fn audit_all(pool: &Pool) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query("SELECT seq, entry FROM audit_entries ORDER BY seq")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| parse_entry(r.get("seq"), &r.get::<String, _>("entry")))
        .collect()
}

pub(crate) async fn audit_page(pool: &Pool, from: i64, limit: i64) -> Result<Vec<(AuditEntry, Hash)>> {
    let rows = sqlx::query("SELECT seq, entry, leaf FROM audit_entries WHERE seq >= $1 ORDER BY seq LIMIT $2")
        .bind(from)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            let entry = parse_entry(r.get("seq"), &r.get::<String, _>("entry"))?;
            Ok((entry, leaf_from_bytes(&r.get::<Vec<u8>, _>("leaf"))?))
        })
        .collect()
}

pub(crate) async fn put_checkpoint(pool: &Pool, cp: &CheckpointRow<'_>) -> Result<()> {
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

pub(crate) async fn checkpoints(pool: &Pool) -> Result<Vec<SignedCheckpoint>> {
    let rows = sqlx::query("SELECT tree_size, checkpoint FROM audit_checkpoints ORDER BY tree_size")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| parse_checkpoint(r.get("tree_size"), &r.get::<String, _>("checkpoint")))
        .collect()
}

/// The largest node id below `end_key`, if any: chunk roots are the
/// lowest level stored and are written in order, so this names the last
/// chunk indexed.
pub(crate) async fn audit_node_last(pool: &Pool, end_key: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MAX(node_id) FROM audit_nodes WHERE node_id < $1")
            .bind(end_key)
            .fetch_one(pool)
            .await?,
    )
}

/// The stored nodes among `keys`, as `(node_id, hash)`.
pub(crate) async fn audit_nodes(pool: &Pool, keys: &[i64]) -> Result<Vec<(i64, Hash)>> {
    let mut out = Vec::with_capacity(keys.len());
    for part in keys.chunks(500) {
        let mut p = Params::default();
        let list: Vec<String> = part.iter().map(|_| p.next()).collect();
        let sql = built(format!(
            "SELECT node_id, hash FROM audit_nodes WHERE node_id IN ({})",
            list.join(", ")
        ));
        let mut q = sqlx::query(sql);
        for k in part {
            q = q.bind(*k);
        }
        for r in q.fetch_all(pool).await? {
            out.push((
                r.get::<i64, _>("node_id"),
                leaf_from_bytes(&r.get::<Vec<u8>, _>("hash"))?,
            ));
        }
    }
    Ok(out)
}

/// Adds nodes to the proof index in one transaction. A node another hub
/// indexed first is left as it is (they computed it from the same leaves).
pub(crate) async fn put_audit_nodes(pool: &Pool, nodes: &[(i64, Hash)]) -> Result<()> {
    let mut tx = super::begin_write(pool).await?;
    for part in nodes.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut p = Params::default();
        let values: Vec<String> = part.iter().map(|_| format!("({}, {})", p.next(), p.next())).collect();
        let sql = built(format!(
            "INSERT INTO audit_nodes (node_id, hash) VALUES {} ON CONFLICT (node_id) DO NOTHING",
            values.join(", ")
        ));
        let mut q = sqlx::query(sql);
        for (k, h) in part {
            q = q.bind(*k).bind(h.to_vec());
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
