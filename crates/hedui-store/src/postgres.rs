//! The PostgreSQL backend: what is its own. The queries are in `sql/`,
//! compiled here against sqlx's PostgreSQL types.
//!
//! Connections are made **without TLS**: this build enables no `tls-*`
//! feature of sqlx, because the bureau's PostgreSQL is reached over a
//! private network or a unix socket. A URL that demands TLS
//! (`sslmode=require`, `verify-ca`, `verify-full`) is refused with
//! [`StoreError::Url`] rather than failing later.
//!
//! Several hubs may share one database: writers that must take turns (the
//! migration runner, audit appends) take a transaction-scoped advisory
//! lock, and batch claims pass over rows another claim holds
//! (`FOR UPDATE SKIP LOCKED`, see [`Dialect::skip_locked`]).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection as _, PgConnection, PgPool};

use crate::dialect::{Dialect, Serial};
use crate::{Result, StoreError};

type Db = sqlx::Postgres;
const DIALECT: Dialect = Dialect::Postgres;

#[allow(clippy::duplicate_mod)] // also compiled as `sqlite::sql`, on purpose
#[path = "sql/mod.rs"]
mod sql;
pub(crate) use sql::*;

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

/// Begins a transaction that takes turns with every other one of its kind
/// on this database, across hubs: it first takes the kind's
/// transaction-scoped advisory lock, released at commit or rollback.
async fn begin_serialised(pool: &PgPool, kind: Serial) -> Result<sqlx::Transaction<'static, Db>> {
    let key = match kind {
        Serial::Migration => MIGRATION_LOCK_KEY,
        Serial::Audit => AUDIT_LOCK_KEY,
    };
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Applies the pending migrations, one transaction each, under the
/// migration lock.
pub(crate) async fn migrate(pool: &PgPool, known: i64) -> Result<()> {
    apply_migrations(pool, known).await
}
