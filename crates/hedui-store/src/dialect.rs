//! What really differs between the two backends' SQL, in one place.
//!
//! The store's queries are written once (`sql/`), in the part of SQL both
//! engines read the same way: `$1`, `$2`, … placeholders (sqlx's SQLite
//! driver binds `$N` by its number, as PostgreSQL does), `ON CONFLICT … DO
//! NOTHING` and `DO UPDATE` upserts, `CASE WHEN` for counting booleans,
//! `CAST(… AS …)`. A [`Dialect`] says the rest: how a transaction that
//! writes begins, how a read locks rows, a case-blind `LIKE`, whether text
//! can hold NUL, the catalog and the bookkeeping table of the migration
//! runner, and each backend's migration files.

use sqlx::SqlSafeStr as _;

/// SQL text put together at run time, as sqlx takes it.
///
/// sqlx 0.9 takes a `&'static str` as it is, and any other SQL text only
/// through `AssertSqlSafe`, the caller's word that no input can reach the
/// text. The store gives that word here, once, for every statement it
/// builds (`sql/`, `backup`, `runtime_role`): each is made only of this
/// crate's constant SQL, the [`Dialect`]'s fixed fragments, table and
/// column names written in this crate, numbered placeholders, and
/// identifiers that DDL cannot bind (a role, a schema), which pass through
/// `runtime_role::quote_ident` first. Every value is bound, never spliced
/// in, so no request, file or stored content changes a statement. Nothing
/// else may be passed here.
pub(crate) fn built(sql: String) -> sqlx::SqlStr {
    sqlx::AssertSqlSafe(sql).into_sql_str()
}

/// The SQL spoken by one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: one writer at a time, for the whole database.
    Sqlite,
    /// PostgreSQL: row locks, several writers (and hubs) at once.
    Postgres,
}

/// The migrations as `(name, SQL)`, in order; version `n` is the `n`-th
/// (1-based). Each backend has its own files under the same names, so a
/// schema version means the same on both.
macro_rules! migrations {
    ($($name:literal),+ $(,)?) => {
        const SQLITE_MIGRATIONS: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("../../../migrations/sqlite/", $name, ".sql")))),+];
        const POSTGRES_MIGRATIONS: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("../../../migrations/postgres/", $name, ".sql")))),+];
    };
}

migrations!(
    "0001_records",
    "0002_audit",
    "0003_reviews_versions",
    "0004_batches",
    "0005_record_binding",
    "0006_encryption_at_rest",
    "0007_audit_nodes",
    "0008_key_rotation",
    "0009_retention",
);

impl Dialect {
    /// The backend's name in logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// The migrations this backend knows, in order, compiled in.
    pub(crate) fn migrations(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Dialect::Sqlite => SQLITE_MIGRATIONS,
            Dialect::Postgres => POSTGRES_MIGRATIONS,
        }
    }

    /// The statement that begins a transaction that reads and then writes,
    /// or `None` for the driver's plain `BEGIN`. SQLite's `BEGIN IMMEDIATE`
    /// takes the database's one write lock (waiting for it under the busy
    /// timeout) before the first read, so what the transaction reads stays
    /// true until it commits; PostgreSQL locks rows instead
    /// ([`Dialect::lock_rows`]).
    pub(crate) fn begin_write(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some("BEGIN IMMEDIATE"),
            Dialect::Postgres => None,
        }
    }

    /// Appended to a `SELECT` in a write transaction: locks the rows it
    /// reads until the transaction ends. Empty on SQLite, whose write
    /// transaction already excludes every other writer.
    pub(crate) fn lock_rows(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Appended to the `SELECT` that picks rows to claim: locks them and
    /// passes over rows another transaction holds, so two claims at once
    /// never pick the same row and neither waits. Empty on SQLite, where a
    /// claim is one `UPDATE … RETURNING`, atomic by itself.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// `text LIKE pattern`, ignoring ASCII case and with no escape
    /// character: SQLite's `LIKE` as it is, and PostgreSQL's `ILIKE` made
    /// to match it.
    pub(crate) fn like_ignoring_ascii_case(self, text: &str, pattern: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{text} LIKE {pattern}"),
            Dialect::Postgres => format!("{text} ILIKE {pattern} ESCAPE ''"),
        }
    }

    /// Whether stored text can hold NUL (`\0`). PostgreSQL text cannot, so
    /// a value given with one would make the query fail where SQLite just
    /// finds nothing; see [`Dialect::range_bound`].
    pub(crate) fn text_holds_nul(self) -> bool {
        match self {
            Dialect::Sqlite => true,
            Dialect::Postgres => false,
        }
    }

    /// Whether no row of this backend can hold `value` as text, so that an
    /// equality lookup of it finds nothing without asking the database.
    pub(crate) fn unstorable(self, value: &str) -> bool {
        !self.text_holds_nul() && value.contains('\0')
    }

    /// A range bound as this backend can bind it, with the operator to
    /// compare with: `op` normally. Where text cannot hold NUL nothing stored
    /// contains one, so a bound with one is its part before the NUL,
    /// compared strictly (`>=` becomes `>`) or inclusively (`<` becomes
    /// `<=`) as `op_if_cut` says: byte-wise, the same rows.
    pub(crate) fn range_bound<'a>(
        self,
        bound: &'a str,
        op: &'static str,
        op_if_cut: &'static str,
    ) -> (&'a str, &'static str) {
        match bound.split_once('\0') {
            Some((head, _)) if !self.text_holds_nul() => (head, op_if_cut),
            _ => (bound, op),
        }
    }

    /// A query counting the tables named `schema_migrations` (0 or 1) in
    /// the database's (on PostgreSQL: the current schema's) catalog.
    pub(crate) fn count_migrations_table(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM pg_catalog.pg_tables
                  WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
            }
        }
    }

    /// A query counting the `checksum` columns of `schema_migrations` (a
    /// table made before checksums were recorded has none).
    pub(crate) fn count_checksum_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.columns
                  WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'checksum'"
            }
        }
    }

    /// Creates the migration runner's bookkeeping table if it is missing.
    pub(crate) fn create_migrations_table(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    applied_at TEXT NOT NULL,
                    checksum TEXT
                ) STRICT"
            }
            // No "relation already exists, skipping" notice on every start.
            Dialect::Postgres => {
                "SET LOCAL client_min_messages = warning;
                 CREATE TABLE IF NOT EXISTS schema_migrations (
                     version BIGINT PRIMARY KEY NOT NULL,
                     name TEXT NOT NULL,
                     applied_at TEXT NOT NULL,
                     checksum TEXT
                 );"
            }
        }
    }
}

/// What a serialised transaction ([`crate::postgres::begin_serialised`],
/// [`crate::sqlite::begin_serialised`]) takes turns on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serial {
    /// Applying migrations: two hubs starting at once migrate once.
    Migration,
    /// Appending to the audit log: the log never forks or gaps.
    Audit,
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn both_backends_know_the_same_migrations_in_the_same_order() {
        let names = |d: Dialect| d.migrations().iter().map(|(name, _)| *name).collect::<Vec<_>>();
        assert_eq!(names(Dialect::Sqlite), names(Dialect::Postgres));
        for (d, dir) in [(Dialect::Sqlite, "sqlite"), (Dialect::Postgres, "postgres")] {
            for (name, sql) in d.migrations() {
                let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../migrations")
                    .join(dir)
                    .join(format!("{name}.sql"));
                assert_eq!(std::fs::read_to_string(&file).unwrap(), *sql, "{}", file.display());
            }
        }
    }

    #[test]
    fn a_bound_with_nul_is_cut_only_where_text_cannot_hold_it() {
        assert_eq!(Dialect::Postgres.range_bound("2026\0x", ">=", ">"), ("2026", ">"));
        assert_eq!(Dialect::Postgres.range_bound("2026", ">=", ">"), ("2026", ">="));
        assert_eq!(Dialect::Sqlite.range_bound("2026\0x", ">=", ">"), ("2026\0x", ">="));
        assert!(Dialect::Postgres.unstorable("a\0b"));
        assert!(!Dialect::Postgres.unstorable("ab"));
        assert!(!Dialect::Sqlite.unstorable("a\0b"));
    }
}
