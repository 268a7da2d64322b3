//! `hedui retention apply`: crypto-shreds the records kept past the
//! county's retention period, as an administrator on the hub's machine.
//! The work is `hedui_hub::retention` and `hedui_store::retention`; this
//! reads the arguments and prints.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use hedui_hub::audit::AuditLog;
use hedui_hub::retention::{self, Keep, Runner};
use hedui_store::Store;

use crate::config;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Erase the records created longer ago than the retention period
    /// (`[retention] keep_records` of --config): their content, data key,
    /// person index and review notes go, a tombstone with id, dates,
    /// verdict and digest stays. Every run appends a `retention.apply`
    /// entry to the audit log.
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The hub configuration file: its `[retention]`, `database_url`,
    /// `hub_key` (which signs the audit log the run is entered in) and
    /// `data_key`.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Override the database of --config: sqlite://PATH, a file path, or
    /// postgres://… (as the tables' owner: the hub's runtime role may not
    /// erase).
    #[arg(long, env = "HEDUI_DATABASE_URL")]
    pub database: Option<String>,
    /// Override the data key file of --config.
    #[arg(long)]
    pub data_key: Option<PathBuf>,
    /// Override `keep_records`: whole years ("5y") or days ("1825d").
    /// (A negative value is read, to be refused by name.)
    #[arg(long, allow_hyphen_values = true)]
    pub keep: Option<String>,
    /// Print what would be erased (counts, creation dates) and change
    /// nothing; the run is still entered in the audit log.
    #[arg(long)]
    pub dry_run: bool,
    /// Records erased per transaction: a run stopped midway leaves whole
    /// records and whole tombstones, and the next run erases the rest.
    #[arg(long, default_value_t = retention::DEFAULT_CHUNK, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub chunk: i64,
}

pub async fn run(c: RetentionCommand) -> anyhow::Result<()> {
    match c {
        RetentionCommand::Apply(a) => apply(a).await,
    }
}

async fn apply(a: ApplyArgs) -> anyhow::Result<()> {
    let file = config::load_layers(Some(&a.config), config::env_layer()?)?;
    let base = a.config.parent().unwrap_or(std::path::Path::new("."));
    let keep = match &a.keep {
        Some(k) => Keep::parse(k).map_err(|e| anyhow::anyhow!("--keep: {e}"))?,
        None => match config::retention_settings(&file).with_context(|| a.config.display().to_string())? {
            Some(r) => r.keep,
            None => bail!(
                "{}: no [retention] table, so retention is off; set `keep_records` there (the county's period), or give --keep",
                a.config.display()
            ),
        },
    };
    let url = a.database.clone().unwrap_or_else(|| file.database_url.expose().clone());
    let shown = hedui_store::redact_url(&url);
    if !url.contains("://") || url.starts_with("sqlite:") {
        // A mistyped path would make a new, empty database.
        let path = url.strip_prefix("sqlite://").unwrap_or(&url);
        if !path.contains(":memory:") && !std::path::Path::new(path).exists() {
            bail!("database {shown}: no such file");
        }
    }
    let hub_key = config::load_signing_key(&base.join(&file.hub_key))?;
    let data_key = a.data_key.clone().unwrap_or_else(|| base.join(&file.data_key));
    let store = Store::open_without_migrating(&url)
        .await
        .with_context(|| format!("database {shown}"))?;
    let (version, known) = (store.schema_version().await?, Store::known_schema_version());
    if version != known {
        store.close().await;
        bail!("database {shown}: schema version {version}, this hedui needs {known}; run `hedui migrate` first");
    }
    let store = store.with_data_keys(config::load_data_keys(&data_key)?.into_provider());
    // The real appender: the entry is chained, counted in the next signed
    // checkpoint (signed here before exiting) like every hub entry.
    let audit = AuditLog::open(
        store.clone(),
        hub_key,
        file.audit_origin.clone(),
        std::time::Duration::from_secs(3600),
    )
    .await
    .context("opening the audit log")?;
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let runner = Runner {
        actor: format!("admin:{user}@local"),
        role: "admin".into(),
    };
    let run = retention::apply(&store, &audit, keep, chrono::Utc::now(), &runner, a.dry_run, a.chunk).await;
    let signed = audit.checkpoint().await;
    store.close().await;
    let run = run?;
    signed.context("signing the audit checkpoint after the run")?;
    let e = &run.expired;
    let range = match (&e.oldest, &e.newest) {
        (Some(a), Some(b)) => format!(", created {a} to {b}"),
        _ => String::new(),
    };
    println!(
        "retention: keep {keep}, cutoff {} (records created before it)",
        run.cutoff
    );
    match run.erased {
        None => println!(
            "dry run, nothing changed: would erase {} record(s){range}, {} review note(s), {} batch request(s)",
            e.records, e.reviews, e.batch_items
        ),
        Some(x) => println!(
            "erased {} record(s){range} ({} person index row(s)), {} review note(s), {} batch request(s)",
            x.records, x.persons, x.reviews, x.batch_items
        ),
    }
    println!("audit entry {} ({})", run.entry_seq, retention::ACTION);
    Ok(())
}
