//! The database's raw durable insert rate, for `hedui bench`: rows shaped
//! like audit entries, in a scratch table `bench_raw_inserts` without the
//! log's triggers and indexes, over a pool of the bench's own with the
//! store's settings ([`hedui_store::RawPool`]). The table is the bench's,
//! never the store's: the hub neither creates nor reads it.

use hedui_audit::entry::AuditEntry;
use hedui_audit::merkle::Hash;
use hedui_store::RawPool;

/// The scratch table's columns but the leaf, whose type differs; a macro
/// so that each `CREATE TABLE` is one `&'static str` (`concat!`), which
/// sqlx takes without asserting it safe.
macro_rules! columns {
    () => {
        "seq BIGINT PRIMARY KEY NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, departments TEXT NOT NULL, status TEXT NOT NULL, entry TEXT NOT NULL"
    };
}

/// Creates the scratch table if needed and empties it.
pub async fn reset(pool: &RawPool) -> anyhow::Result<()> {
    match pool {
        RawPool::Sqlite(p, _) => {
            sqlx::query(concat!(
                "CREATE TABLE IF NOT EXISTS bench_raw_inserts (",
                columns!(),
                ", leaf BLOB NOT NULL)"
            ))
            .execute(p)
            .await?;
            sqlx::query("DELETE FROM bench_raw_inserts").execute(p).await?;
        }
        RawPool::Postgres(p) => {
            sqlx::query(concat!(
                "CREATE TABLE IF NOT EXISTS bench_raw_inserts (",
                columns!(),
                ", leaf BYTEA NOT NULL)"
            ))
            .execute(p)
            .await?;
            sqlx::query("DELETE FROM bench_raw_inserts").execute(p).await?;
        }
    }
    Ok(())
}

/// Inserts `count` copies of `e` (seqs from `first`) in one durable
/// transaction, one plain INSERT per row.
pub async fn insert(
    pool: &RawPool,
    first: i64,
    count: usize,
    e: &AuditEntry,
    text: &str,
    leaf: &Hash,
) -> anyhow::Result<()> {
    let departments = e.departments.join(",");
    let seqs = first..first + count as i64;
    macro_rules! insert_all {
        ($pool:expr, $sql:expr) => {{
            let mut tx = $pool.begin().await?;
            for seq in seqs {
                sqlx::query($sql)
                    .bind(seq)
                    .bind(&e.time)
                    .bind(&e.actor)
                    .bind(&e.role)
                    .bind(&e.action)
                    .bind(&departments)
                    .bind(&e.status)
                    .bind(text)
                    .bind(leaf.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }};
    }
    match pool {
        RawPool::Sqlite(p, _) => insert_all!(
            p,
            "INSERT INTO bench_raw_inserts (seq, time, actor, role, action, departments, status, entry, leaf)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        RawPool::Postgres(p) => insert_all!(
            p,
            "INSERT INTO bench_raw_inserts (seq, time, actor, role, action, departments, status, entry, leaf)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
    }
    Ok(())
}
