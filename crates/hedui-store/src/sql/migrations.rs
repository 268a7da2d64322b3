//! The migration runner: the schema version, the applied migrations and
//! applying the pending ones.

use sqlx::{Executor as _, Row as _};

use super::{DIALECT, Db, Pool, begin_serialised};
use crate::dialect::Serial;
use crate::{AppliedMigration, Result, StoreError};

pub(crate) async fn schema_version(pool: &Pool) -> Result<i64> {
    if !has_migrations_table(pool).await? {
        return Ok(0);
    }
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

async fn has_migrations_table(pool: &Pool) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(DIALECT.count_migrations_table())
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// Whether `schema_migrations` has its `checksum` column (a table made
/// before checksums were recorded has none).
async fn has_checksum_column<'e>(conn: impl sqlx::Executor<'e, Database = Db>) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(DIALECT.count_checksum_column())
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

pub(crate) async fn applied_migrations(pool: &Pool) -> Result<Vec<AppliedMigration>> {
    if !has_migrations_table(pool).await? {
        return Ok(Vec::new());
    }
    let sql = if has_checksum_column(pool).await? {
        "SELECT version, name, applied_at, checksum FROM schema_migrations ORDER BY version"
    } else {
        "SELECT version, name, applied_at, CAST(NULL AS TEXT) AS checksum FROM schema_migrations ORDER BY version"
    };
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| AppliedMigration {
            version: r.get("version"),
            name: r.get("name"),
            applied_at: r.get("applied_at"),
            checksum: r.get("checksum"),
        })
        .collect())
}

/// Whether the schema is at `known` with every checksum recorded, found out
/// by reading only: then `migrate` has nothing to do. A schema newer than
/// `known` is refused. (SQLite's `migrate` asks first; PostgreSQL's takes
/// its advisory lock at once, which costs no other writer anything.)
#[allow(dead_code, reason = "compiled for both backends, called by SQLite's")]
pub(crate) async fn up_to_date(pool: &Pool, known: i64) -> Result<bool> {
    if !has_migrations_table(pool).await? {
        return Ok(false);
    }
    let current = schema_version(pool).await?;
    if current > known {
        return Err(StoreError::SchemaTooNew { found: current, known });
    }
    if current < known || !has_checksum_column(pool).await? {
        return Ok(false);
    }
    let missing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL")
        .fetch_one(pool)
        .await?;
    Ok(missing == 0)
}

/// Applies the pending migrations, one transaction each. Each transaction
/// first takes its turn with every other migrating process (see
/// `begin_serialised`), then creates the bookkeeping table if needed and
/// (re)reads the version, so hubs that start at once on one database (or
/// open one new file) take turns and each migration runs once.
pub(crate) async fn apply_migrations(pool: &Pool, known: i64) -> Result<()> {
    let migrations = DIALECT.migrations();
    loop {
        let mut tx = begin_serialised(pool, Serial::Migration).await?;
        (&mut *tx).execute(DIALECT.create_migrations_table()).await?;
        // A table made before checksums were recorded gets the column, and
        // the migrations applied then get the checksums of this binary's
        // files (which `Store::migrate` has checked by name).
        if !has_checksum_column(&mut *tx).await? {
            (&mut *tx)
                .execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")
                .await?;
        }
        for (i, (name, sql)) in migrations.iter().enumerate() {
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
        // `known` is every migration this binary carries, except for
        // tests that build an older schema (`Store::migrate_to_for_tests`).
        let Some((name, sql)) = migrations.get(current as usize).filter(|_| current < known) else {
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
        tracing::info!(version, name, backend = DIALECT.name(), "applied migration");
    }
}
