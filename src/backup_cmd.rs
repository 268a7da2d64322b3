//! `hedui backup` and `hedui restore`: a consistent copy of the hub's SQLite
//! database while the hub serves, and putting one back, verified. The work
//! is `hedui_store::backup`; this reads the arguments and prints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use hedui_store::Store;
use hedui_store::backup::{self, BackupInfo};

use crate::config;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup. It must not exist: a backup never
    /// overwrites a file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// The database to copy: sqlite://PATH or a file path (PostgreSQL is
    /// backed up with pg_dump; see deploy/README.md). Default: the
    /// `database_url` of --config.
    #[arg(long, env = "HEDUI_DATABASE_URL")]
    pub database: Option<String>,
    /// The hub configuration file whose `database_url` to copy (with its
    /// HEDUI__… variables, as `hedui hub` reads it). A relative SQLite path
    /// is taken from the current directory, as the hub takes it: run this
    /// where the hub runs (its WorkingDirectory, /var/lib/hedui).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file, as `hedui backup` wrote it.
    pub file: PathBuf,
    /// The directory to restore into: new, or empty. The database is
    /// written there as hedui.db; point the hub's `database_url` at it.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The hub's public key, `ed25519:<hex>` or a file holding it, to verify
    /// the restored audit log and records with.
    #[arg(long, required_unless_present = "config")]
    pub key: Option<String>,
    /// The hub configuration file: its `hub_key` gives the public key, when
    /// --key is not given, and its `data_key` the data keys, when
    /// --data-key is not given.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The hub's data key file: the records are encrypted, and a backup is
    /// verified by reading every one of them.
    #[arg(long)]
    pub data_key: Option<PathBuf>,
}

pub async fn backup(a: BackupArgs) -> anyhow::Result<()> {
    let (url, flag) = match (&a.database, &a.config) {
        (Some(d), _) => (d.clone(), "--database"),
        (None, Some(c)) => {
            let file = config::load_layers(Some(c), config::env_layer()?)?;
            (file.database_url.expose().clone(), "database_url")
        }
        (None, None) => bail!(
            "give the database to back up: --database sqlite://PATH, or --config with the hub's configuration file"
        ),
    };
    let shown = hedui_store::redact_url(&url);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!("{flag} {shown}: {}", backup::BackupError::Postgres);
    }
    if !url.contains("://") || url.starts_with("sqlite:") {
        // Opening a mistyped path would make a new, empty database and back
        // that up.
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(&url);
        let path = path.split('?').next().unwrap_or(path);
        if path.contains(":memory:") {
            bail!("{flag} {shown}: an in-memory database has nothing to back up");
        }
        if !Path::new(path).is_file() {
            bail!("{flag} {shown}: no such database file");
        }
    }
    let started = Instant::now();
    let store = Store::open_without_migrating(&url)
        .await
        .with_context(|| format!("{flag} {shown}"))?;
    let result = store.backup_to(&a.out).await;
    store.close().await;
    let info = result.map_err(|e| match e {
        backup::BackupError::Exists(_) => anyhow!("--out {e}"),
        e => anyhow!("{e}"),
    })?;
    println!(
        "wrote {}: {} in {:.1} s, of {shown}",
        a.out.display(),
        describe(&info),
        started.elapsed().as_secs_f64()
    );
    println!(
        "the backup holds no key: keep the hub key (hub_key) and the data key file (data_key, without which no record in it can be read) in their own backup, apart from this file (deploy/README.md, Backups)"
    );
    Ok(())
}

pub async fn restore(a: RestoreArgs) -> anyhow::Result<()> {
    let key = match (&a.key, &a.config) {
        (Some(k), _) => public_key(k)?,
        (None, Some(c)) => {
            let file = config::load_layers(Some(c), config::env_layer()?)?;
            let base = c.parent().unwrap_or(Path::new("."));
            config::load_signing_key(&base.join(&file.hub_key))
                .with_context(|| format!("--config {}: hub_key", c.display()))?
                .verifying_key()
        }
        (None, None) => bail!("give the hub's public key with --key, or its configuration with --config"),
    };
    let started = Instant::now();
    let data_key = match (&a.data_key, &a.config) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(c)) => {
            let file = config::load_layers(Some(c), config::env_layer()?)?;
            Some(c.parent().unwrap_or(Path::new(".")).join(&file.data_key))
        }
        (None, None) => None,
    };
    let keys = data_key
        .map(|p| config::load_data_keys(&p).map(|k| k.into_provider()))
        .transpose()?;
    let restored = backup::restore(&a.file, &a.data_dir, &key, keys)
        .await
        .map_err(|e| match e {
            backup::BackupError::NotEmpty { .. } => anyhow!("--data-dir {e}"),
            e => anyhow!("{e}"),
        })?;
    println!(
        "restored {} to {}: {} in {:.1} s",
        a.file.display(),
        restored.path.display(),
        describe(&restored.info),
        started.elapsed().as_secs_f64()
    );
    match &restored.verified {
        Some((report, _)) if report.checkpoints == 0 => {
            println!(
                "OK: {} audit entries match their rows and hash to the tree head {}; {} records match their digest, the hub's seal, their index rows and their audit entry, and read back",
                report.entries, report.head_root_hex, report.records
            );
            println!(
                "note: the backup was taken before the hub signed its first checkpoint, so no signature covers its entries yet; the hub signs one within checkpoint_interval_s of starting on it, and then `hedui audit verify --database` covers them"
            );
        }
        Some((report, read)) => {
            println!(
                "OK: {} audit entries: {} verified against {} signed checkpoint(s), {} after the last one against the tree head {}",
                report.entries,
                report.signed_entries,
                report.checkpoints,
                report.after_checkpoint,
                report.head_root_hex
            );
            println!(
                "OK: {} records (every version) match their digest, the hub's seal, their index rows and the audit entry that stored them; {read} read back through the hub's read path",
                report.records
            );
        }
        None => println!(
            "note: the backup's schema (version {}) is older than this hedui's ({}); it was restored unverified. Start the hub on it (it migrates the schema), then run `hedui audit verify --database sqlite://{} --key …`",
            restored.info.schema_version,
            Store::known_schema_version(),
            restored.path.display()
        ),
    }
    println!(
        "start the hub with database_url = \"sqlite://{}\"",
        restored.path.display()
    );
    Ok(())
}

/// `--key`: `ed25519:<hex>`, or a file holding it.
fn public_key(arg: &str) -> anyhow::Result<hedui_trust::VerifyingKey> {
    let text = if arg.starts_with("ed25519:") {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).with_context(|| format!("--key {arg}: not a key and not a readable file"))?
    };
    hedui_audit::checkpoint::parse_public_key(text.trim()).map_err(|e| anyhow!("--key {arg}: {e}"))
}

/// What a backup holds, in words.
fn describe(info: &BackupInfo) -> String {
    format!(
        "schema version {}, {} records, {} audit entries, {} signed checkpoint(s), {:.1} MB",
        info.schema_version,
        info.records,
        info.audit_entries,
        info.checkpoints,
        info.bytes as f64 / 1_000_000.0
    )
}
