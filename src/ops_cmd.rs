//! Operators' commands: `hedui config` and `hedui migrate`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use hedui_store::Store;

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
    /// Only show the schema version and the applied and pending migrations.
    #[arg(long)]
    pub status: bool,
}

pub fn config(c: ConfigCommand) -> anyhow::Result<()> {
    match c {
        ConfigCommand::Default => print!("{}", config::DEFAULT_TOML),
        ConfigCommand::Check { config: path } => {
            let file = config::load_layers(Some(&path), config::env_layer()?)?;
            // Loads the policy, the key and the certificates' paths exactly as
            // `hedui hub` would, so a missing file is found now.
            config::to_hub_config(file.clone(), path.parent().unwrap_or(std::path::Path::new(".")))
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
    let known = Store::known_migrations();
    if !a.status {
        let applied = store.migrate().await.with_context(|| format!("migrating {shown}"))?;
        println!("{shown}: applied {applied} migration(s)");
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
    store.close().await;
    Ok(())
}
