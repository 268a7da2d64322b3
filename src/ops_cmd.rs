//! Operators' commands: `hedui config` and `hedui migrate`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use hedui_store::runtime_role::{GrantError, RuntimeGrant};
use hedui_store::{BackendKind, Store};

use crate::config;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the annotated default hub configuration (every key, its
    /// default and what it does).
    Default,
    /// Check a hub configuration (file, then HEDUI__… variables) and print
    /// the effective configuration with secrets redacted.
    Check {
        /// The hub configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database: sqlite://PATH, a file path, or postgres://….
    #[arg(long, env = "HEDUI_DATABASE_URL")]
    pub database: String,
    /// Only show the schema version, the applied and pending migrations,
    /// and how many rows are still stored in plaintext.
    #[arg(long)]
    pub status: bool,
    /// The hub's data key file, to encrypt rows written before encryption
    /// at rest (default: keys/data.key beside an SQLite database file).
    #[arg(long)]
    pub data_key: Option<PathBuf>,
    /// Rows of each table encrypted per transaction; a run stopped midway
    /// resumes where it stopped.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub chunk: i64,
    /// PostgreSQL only: after migrating, make ROLE the hub's runtime role:
    /// INSERT and SELECT on the audit tables and reviews, what the hub needs
    /// on the others, and nothing else (it owns nothing, so it cannot
    /// disable the append-only triggers). Run as the owner of the tables;
    /// ROLE must exist. Safe to run again.
    #[arg(long, value_name = "ROLE", conflicts_with = "status")]
    pub grant_runtime: Option<String>,
}

pub fn config(c: ConfigCommand) -> anyhow::Result<()> {
    match c {
        ConfigCommand::Default => print!("{}", config::DEFAULT_TOML),
        ConfigCommand::Check { config: path } => {
            let file = config::load_layers(Some(&path), config::env_layer()?)?;
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            // Every file it names exists and can be read, and no key can be
            // read by anyone else: all of them at once, by key and path.
            let problems = config::file_problems(&file, base);
            if !problems.is_empty() {
                anyhow::bail!("configuration file {}:\n  {}", path.display(), problems.join("\n  "));
            }
            // Loads the policy and the key exactly as `hedui hub` would.
            config::to_hub_config(file.clone(), base)
                .with_context(|| format!("configuration file {}", path.display()))?;
            let shown = config::render_effective(&file)?;
            println!("{}", shown.trim_end());
            if file.adapters.is_empty() {
                anyhow::bail!(
                    "{}: no [adapters.*] are configured; the hub would have nobody to ask",
                    path.display()
                );
            }
            if file.tls.is_none() {
                eprintln!(
                    "warning: {}: no [tls]; `hedui hub` will start only with --insecure-dev",
                    path.display()
                );
            }
            eprintln!("{}: OK", path.display());
        }
    }
    Ok(())
}

pub async fn migrate(a: MigrateArgs) -> anyhow::Result<()> {
    let shown = hedui_store::redact_url(&a.database);
    if a.database.starts_with("sqlite:") || !a.database.contains("://") {
        // A mistyped path would silently make a new empty database.
        let path = a.database.strip_prefix("sqlite://").unwrap_or(&a.database);
        if a.status && !path.contains(":memory:") && !std::path::Path::new(path).exists() {
            anyhow::bail!("--database {shown}: no such file");
        }
    }
    let store = Store::open_without_migrating(&a.database)
        .await
        .with_context(|| format!("--database {shown}"))?;
    let store = config::with_local_data_key(store, a.data_key.as_deref(), &a.database)?;
    if a.grant_runtime.is_some() && store.backend_kind() == BackendKind::Sqlite {
        // Said before migrating, so the command does nothing rather than half
        // of what was asked.
        store.close().await;
        anyhow::bail!("--grant-runtime: {}", GrantError::NoRoles);
    }
    let known = Store::known_migrations();
    if !a.status {
        let applied = store.migrate().await.with_context(|| format!("migrating {shown}"))?;
        println!("{shown}: applied {applied} migration(s)");
        encrypt_plaintext(&store, a.chunk).await?;
    }
    if let Some(role) = &a.grant_runtime {
        let result = store.grant_runtime(role).await;
        let grant = match result {
            Ok(g) => g,
            Err(e) => {
                store.close().await;
                return Err(anyhow::anyhow!("--grant-runtime {role}: {e}"));
            }
        };
        print_grant(&grant);
    }
    let applied = store.applied_migrations().await?;
    let version = store.schema_version().await?;
    println!(
        "schema version {version} of {} known to this hedui",
        Store::known_schema_version()
    );
    for (i, name) in known.iter().enumerate() {
        let v = i as i64 + 1;
        match applied.iter().find(|m| m.version == v) {
            Some(m) => println!("  {v:>4}  {name:<24} applied {}", m.applied_at),
            None => println!("  {v:>4}  {name:<24} PENDING"),
        }
    }
    if version >= ENCRYPTION_MIGRATION {
        let left = store.plaintext_rows().await?;
        println!(
            "encryption at rest: {} row(s) still plaintext ({} records, {} batch items, {} reviews)",
            left.total(),
            left.records,
            left.batch_items,
            left.reviews
        );
        for (kek, n) in store.records_by_kek().await? {
            println!("  {n:>8} record(s) under KEK {kek}");
        }
    } else {
        println!("encryption at rest: not yet (migration {ENCRYPTION_MIGRATION} is pending); every row is plaintext");
    }
    store.close().await;
    Ok(())
}

/// The schema version that adds encryption at rest.
const ENCRYPTION_MIGRATION: i64 = 6;

/// Encrypts the rows written before encryption at rest, `chunk` rows of
/// each table per transaction, printing progress; stopped at any point, the
/// next run carries on.
async fn encrypt_plaintext(store: &Store, chunk: i64) -> anyhow::Result<()> {
    let mut left = store.plaintext_rows().await?;
    if left.total() == 0 {
        return Ok(());
    }
    if store.data_keys().is_none() {
        anyhow::bail!(
            "{} row(s) were written before encryption at rest and are still plaintext; give the hub's data key file with --data-key to encrypt them",
            left.total()
        );
    }
    let mut done = 0;
    loop {
        let n = store
            .encrypt_plaintext(chunk)
            .await
            .context("encrypting plaintext rows")?;
        if n.total() == 0 {
            break;
        }
        done += n.total();
        left = store.plaintext_rows().await?;
        eprintln!("encrypted {done} row(s); {} left", left.total());
    }
    println!(
        "encrypted {done} row(s) written before encryption at rest; {} left",
        left.total()
    );
    // The plaintext the rows held must not stay behind in freed space.
    if store
        .purge_freed_space()
        .await
        .context("removing the plaintext left in freed space")?
    {
        println!("rebuilt the database file (VACUUM), so no freed page keeps the old plaintext");
    } else {
        println!(
            "PostgreSQL keeps the old row versions until `VACUUM FULL records, record_persons, batch_items, record_reviews` (as the owner, in a quiet hour): run it now"
        );
    }
    Ok(())
}

fn print_grant(g: &RuntimeGrant) {
    println!(
        "runtime role {:?} in schema {:?}: owns nothing; holds only these privileges:",
        g.role, g.schema
    );
    for (table, privileges) in &g.granted {
        println!("  {table:<20} {}", privileges.join(", "));
    }
    for table in &g.unknown_tables {
        println!("  {table:<20} (none: not a table of hedui)");
    }
    if g.may_create_in_schema {
        println!(
            "note: {:?} may create its own tables in schema {:?} through PUBLIC; that cannot touch hedui's tables, \
             but `REVOKE CREATE ON SCHEMA {} FROM PUBLIC;` closes it",
            g.role,
            g.schema,
            hedui_store::runtime_role::quote_ident(&g.schema)
        );
    }
    println!(
        "start the hub as {:?} with migrate_on_start = false (or `hedui hub --no-migrate`); run this command again after every upgrade",
        g.role
    );
}
