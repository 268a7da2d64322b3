//! The hub's runtime role on PostgreSQL: a role that owns nothing, so it can
//! never switch the append-only rules off.
//!
//! PostgreSQL lets a table's owner (and a superuser) `ALTER TABLE … DISABLE
//! TRIGGER`, `DROP` and `TRUNCATE` whatever the triggers say. So migrations
//! run as an *owner* role, and the hub as a *runtime* role that holds
//! exactly the privileges of [`RUNTIME_PRIVILEGES`]: INSERT and SELECT on
//! the append-only tables (the audit log and reviews), what the batch
//! engine needs on its own tables, and nothing else. Without ownership it
//! cannot alter, disable, drop or truncate anything, and without UPDATE or
//! DELETE on the audit tables it cannot touch a row even if the triggers
//! were gone.
//!
//! [`Store::grant_runtime`] sets this up as the owner (`hedui migrate
//! --grant-runtime ROLE`). It is idempotent: it revokes everything the role
//! holds in the schema, grants the list, and then checks the role's
//! effective privileges (which include those of PUBLIC and of every role it
//! belongs to) against the list, inside one transaction that is committed
//! only when they match exactly. No default privileges are set: a table added
//! by a later migration stays closed to the hub until the next `hedui migrate
//! --grant-runtime`, which knows what the hub needs of it (fail closed).
//!
//! SQLite has no roles; what protects its file is the file's permissions
//! and the signed checkpoints that `hedui audit verify` checks.

use sqlx::Row as _;

use crate::dialect::built;
use crate::{Backend, Store, StoreError};

/// Privileges that a table can carry, in PostgreSQL's names.
const TABLE_PRIVILEGES: [&str; 7] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
];

/// Every table the hub uses and exactly what it needs of each. A table that
/// a migration adds must be listed here; the PostgreSQL test of
/// `--grant-runtime` fails on a migrated schema holding a table that is not.
pub const RUNTIME_PRIVILEGES: &[(&str, &[&str])] = &[
    // Read at start-up to check the schema version (the hub never migrates
    // as this role).
    ("schema_migrations", &["SELECT"]),
    // Records and versions are written once and never changed.
    ("records", &["SELECT", "INSERT"]),
    ("record_persons", &["SELECT", "INSERT"]),
    // Append-only: the triggers refuse UPDATE and DELETE; the role cannot
    // even try.
    ("record_reviews", &["SELECT", "INSERT"]),
    ("audit_entries", &["SELECT", "INSERT"]),
    ("audit_persons", &["SELECT", "INSERT"]),
    ("audit_checkpoints", &["SELECT", "INSERT"]),
    // The proof index: derived from the leaves, added to, never changed.
    ("audit_nodes", &["SELECT", "INSERT"]),
    // The batch engine moves batches and their households through their
    // states and leases (`SELECT … FOR UPDATE` needs UPDATE too). Nothing is
    // ever deleted.
    ("batches", &["SELECT", "INSERT", "UPDATE"]),
    ("batch_items", &["SELECT", "INSERT", "UPDATE"]),
    // A call claims its idempotency key, renews the claim while it runs and
    // releases it when done (by making it lapse; nothing is deleted), and a
    // hub's next start releases its previous run's claims. A claim is no
    // evidence: the record and the audit log are.
    ("idempotency_claims", &["SELECT", "INSERT", "UPDATE"]),
];

/// Why the runtime role could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The store is SQLite, which has no roles.
    #[error(
        "SQLite has no database roles: nothing to grant. What protects an SQLite database is the file's \
         permissions (only the hub's system user may read or write it, mode 0600) and the signed checkpoints, \
         against which `hedui audit verify` finds any change made behind the hub's back"
    )]
    NoRoles,
    /// The role name is not usable.
    #[error("role {0:?}: must be 1 to 63 bytes, without NUL")]
    BadName(String),
    /// No such role.
    #[error(
        "role {role:?} does not exist; create it first, as a user allowed to create roles:\n  CREATE ROLE {quoted} LOGIN PASSWORD '…';\nthen run this again"
    )]
    NoSuchRole {
        /// The role asked for.
        role: String,
        /// Its name, quoted for SQL.
        quoted: String,
    },
    /// The role would not be limited by any grant.
    #[error("role {role:?} {why}; the hub's runtime role must be an ordinary role that owns nothing")]
    Unlimited {
        /// The role.
        role: String,
        /// Why it cannot be limited.
        why: String,
    },
    /// The role owns, or may act as the owner of, tables of the schema.
    #[error(
        "role {role:?} owns or may act as the owner of {tables} in schema {schema:?}, so it could disable their triggers; \
         give them to the owner role as a superuser (REASSIGN OWNED BY {quoted} TO <owner role>;) or remove the membership, then run this again"
    )]
    ActsAsOwner {
        /// The role.
        role: String,
        /// Its name, quoted for SQL.
        quoted: String,
        /// The schema.
        schema: String,
        /// The tables, with their owners.
        tables: String,
    },
    /// After the grants, the role still holds privileges it must not have,
    /// through PUBLIC or a role it belongs to. Nothing was changed.
    #[error(
        "role {role:?} would still hold {extra} through PUBLIC or a role it belongs to; revoke those grants \
         (see `\\dp` in psql) and run this again; nothing was changed"
    )]
    StillHolds {
        /// The role.
        role: String,
        /// The extra privileges, as `PRIVILEGE on table`.
        extra: String,
    },
    /// The database refused.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// What [`Store::grant_runtime`] set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeGrant {
    /// The runtime role.
    pub role: String,
    /// The schema the tables are in.
    pub schema: String,
    /// Each table of the schema that hedui knows, with the privileges the
    /// role now holds on it.
    pub granted: Vec<(String, Vec<&'static str>)>,
    /// Tables in the schema that hedui does not know; the role holds nothing
    /// on them.
    pub unknown_tables: Vec<String>,
    /// True when the role may create objects in the schema (through PUBLIC):
    /// harmless to hedui's tables, which it still cannot alter, but worth
    /// knowing.
    pub may_create_in_schema: bool,
}

/// `name` quoted as an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl StoreError {
    /// True when the database refused for lack of a privilege (SQLSTATE
    /// 42501), as it refuses the runtime role a migration.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42501"))
    }
}

impl Store {
    /// Makes `role` the hub's runtime role for this database's current
    /// schema (see the module documentation). Run it as the owner of the
    /// tables, after migrating; it may be run again at any time.
    pub async fn grant_runtime(&self, role: &str) -> Result<RuntimeGrant, GrantError> {
        let pool = match &self.backend {
            Backend::Postgres(pool) => pool,
            Backend::Sqlite(_) => return Err(GrantError::NoRoles),
        };
        if role.is_empty() || role.len() > 63 || role.contains('\0') {
            return Err(GrantError::BadName(role.to_owned()));
        }
        let quoted = quote_ident(role);
        let mut tx = pool.begin().await?;
        let found = sqlx::query(
            "SELECT rolsuper, rolbypassrls, rolname = current_user AS is_me FROM pg_catalog.pg_roles WHERE rolname = $1",
        )
        .bind(role)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(found) = found else {
            return Err(GrantError::NoSuchRole {
                role: role.to_owned(),
                quoted,
            });
        };
        let unlimited = |why: &str| GrantError::Unlimited {
            role: role.to_owned(),
            why: why.to_owned(),
        };
        if found.get::<bool, _>("is_me") {
            return Err(unlimited(
                "is the role running this command, which owns the tables; create a separate role for the hub",
            ));
        }
        if found.get::<bool, _>("rolsuper") {
            return Err(unlimited("is a superuser, which no grant or trigger limits"));
        }
        if found.get::<bool, _>("rolbypassrls") {
            return Err(unlimited("bypasses row-level security"));
        }
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&mut *tx)
            .await?;
        let tables: Vec<(String, String, bool)> = sqlx::query(
            "SELECT c.relname AS name, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
                    pg_catalog.pg_has_role($1::name, c.relowner, 'MEMBER') AS acts_as_owner
             FROM pg_catalog.pg_class c
             WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema()) AND c.relkind IN ('r', 'p')
             ORDER BY c.relname",
        )
        .bind(role)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| (r.get("name"), r.get("owner"), r.get("acts_as_owner")))
        .collect();
        let owned: Vec<String> = tables
            .iter()
            .filter(|(_, _, acts)| *acts)
            .map(|(name, owner, _)| format!("{name} (owner {owner})"))
            .collect();
        if !owned.is_empty() {
            return Err(GrantError::ActsAsOwner {
                role: role.to_owned(),
                quoted,
                schema,
                tables: owned.join(", "),
            });
        }
        let schema_q = quote_ident(&schema);
        for sql in [
            format!("REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM {quoted}"),
            format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema_q} FROM {quoted}"),
            format!("REVOKE CREATE ON SCHEMA {schema_q} FROM {quoted}"),
            // Tables the owner makes later give the role nothing until the
            // next grant, which knows what the hub needs of them.
            format!("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} REVOKE ALL ON TABLES FROM {quoted}"),
            format!("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} REVOKE ALL ON SEQUENCES FROM {quoted}"),
        ] {
            sqlx::query(built(sql)).execute(&mut *tx).await?;
        }
        let has_usage: bool =
            sqlx::query_scalar("SELECT pg_catalog.has_schema_privilege($1::name, current_schema()::text, 'USAGE')")
                .bind(role)
                .fetch_one(&mut *tx)
                .await?;
        if !has_usage {
            sqlx::query(built(format!("GRANT USAGE ON SCHEMA {schema_q} TO {quoted}")))
                .execute(&mut *tx)
                .await?;
        }
        let mut granted = Vec::new();
        let mut unknown_tables = Vec::new();
        for (name, _, _) in &tables {
            match RUNTIME_PRIVILEGES.iter().find(|(t, _)| t == name) {
                Some((_, privileges)) => {
                    sqlx::query(built(format!(
                        "GRANT {} ON TABLE {schema_q}.{} TO {quoted}",
                        privileges.join(", "),
                        quote_ident(name)
                    )))
                    .execute(&mut *tx)
                    .await?;
                    granted.push((name.clone(), privileges.to_vec()));
                }
                None => unknown_tables.push(name.clone()),
            }
        }
        // The role's effective privileges, PUBLIC's and inherited ones
        // included, must be exactly the list: otherwise nothing is changed.
        let mut extra = Vec::new();
        for (name, _, _) in &tables {
            let wanted: &[&str] = RUNTIME_PRIVILEGES
                .iter()
                .find(|(t, _)| t == name)
                .map_or(&[], |(_, p)| p);
            let qualified = format!("{schema_q}.{}", quote_ident(name));
            for privilege in TABLE_PRIVILEGES {
                let holds: bool =
                    sqlx::query_scalar("SELECT pg_catalog.has_table_privilege($1::name, $2::text, $3::text)")
                        .bind(role)
                        .bind(&qualified)
                        .bind(privilege)
                        .fetch_one(&mut *tx)
                        .await?;
                if holds && !wanted.contains(&privilege) {
                    extra.push(format!("{privilege} on {name}"));
                }
            }
        }
        if !extra.is_empty() {
            // Dropping the transaction rolls it back.
            return Err(GrantError::StillHolds {
                role: role.to_owned(),
                extra: extra.join(", "),
            });
        }
        let may_create_in_schema: bool =
            sqlx::query_scalar("SELECT pg_catalog.has_schema_privilege($1::name, current_schema()::text, 'CREATE')")
                .bind(role)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        tracing::info!(role, schema, tables = granted.len(), "runtime role granted");
        Ok(RuntimeGrant {
            role: role.to_owned(),
            schema,
            granted,
            unknown_tables,
            may_create_in_schema,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("hedui_hub"), "\"hedui_hub\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn no_append_only_table_gets_update_or_delete() {
        for t in [
            "audit_entries",
            "audit_persons",
            "audit_checkpoints",
            "audit_nodes",
            "record_reviews",
            "records",
        ] {
            let (_, p) = RUNTIME_PRIVILEGES.iter().find(|(n, _)| *n == t).unwrap();
            assert_eq!(*p, ["SELECT", "INSERT"], "{t}");
        }
        assert!(RUNTIME_PRIVILEGES.iter().all(|(_, p)| {
            p.iter()
                .all(|x| TABLE_PRIVILEGES.contains(x) && !matches!(*x, "DELETE" | "TRUNCATE"))
        }));
    }
}
