//! `hedui adapter check` and `hedui adapter import`: what a partner
//! department's IT staff run before and while serving the `sql` or
//! `snapshot` backend.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::Subcommand;
use hedui_adapter::config::{AdapterConfig, BackendConfig};
use hedui_adapter::mapping;
use hedui_adapter::snapshot::SnapshotSource;
use hedui_adapter::sql::SqlSource;
use hedui_domain::department::slug;
use hedui_domain::window::parse_date;

use crate::cli::{AdapterArgs, Backend};

#[derive(Debug, Subcommand)]
pub enum AdapterAction {
    /// Load and check an adapter configuration without serving: for sql,
    /// connect and check every query's columns; for snapshot, open the store
    /// and show what is imported.
    Check {
        /// The configuration file, e.g. deploy/adapters/tax.toml.
        #[arg(long)]
        config: PathBuf,
        /// Only check the file itself: no database connection, no store.
        #[arg(long)]
        offline: bool,
    },
    /// Import one CSV or Excel export into the snapshot store: the whole file is
    /// checked first, and only a file without errors replaces the category's
    /// previous data.
    Import {
        /// The configuration file of the snapshot backend.
        #[arg(long)]
        config: PathBuf,
        /// The CSV or Excel file, named <category>_<YYYY-MM-DD>.csv (or .xlsx) unless --category is given.
        file: PathBuf,
        /// The category, when the file name does not say it (e.g. tax_records).
        #[arg(long)]
        category: Option<String>,
        /// The export date (YYYY-MM-DD), when the file name does not say it;
        /// by default today.
        #[arg(long)]
        as_of: Option<String>,
    },
}

/// Runs `check` or `import`.
pub async fn run(action: AdapterAction) -> anyhow::Result<()> {
    match action {
        AdapterAction::Check { config, offline } => check(config, offline).await,
        AdapterAction::Import {
            config,
            file,
            category,
            as_of,
        } => import(config, file, category, as_of).await,
    }
}

/// The configuration named by `--config`, whose `[sql]` or `[snapshot]`
/// section chooses the backend, matching `--backend` and `--department`
/// when given.
pub fn load_for(a: &AdapterArgs) -> anyhow::Result<AdapterConfig> {
    let path = a
        .config
        .as_ref()
        .ok_or_else(|| anyhow!("--config is required with --backend sql or snapshot"))?;
    let config = AdapterConfig::load(path)?;
    let wanted = match a.backend {
        None => config.backend_name(),
        Some(Backend::Sql) => "sql",
        Some(Backend::Snapshot) => "snapshot",
        Some(Backend::Sandbox) => "sandbox",
    };
    if config.backend_name() != wanted {
        bail!(
            "{}: the file configures the {} backend, but --backend is {wanted}",
            path.display(),
            config.backend_name()
        );
    }
    if let Some(d) = a.department
        && d != config.department
    {
        bail!(
            "{}: the file is for {}, but --department is {}",
            path.display(),
            slug(config.department),
            slug(d)
        );
    }
    Ok(config)
}

async fn check(path: PathBuf, offline: bool) -> anyhow::Result<()> {
    let config = AdapterConfig::load(&path)?;
    println!(
        "{}: {} ({}), backend {}",
        path.display(),
        slug(config.department),
        hedui_domain::department::name_zh(config.department),
        config.backend_name()
    );
    for c in mapping::categories(config.department) {
        println!("  {:<20} {}", c.name, c.column_list());
    }
    if offline {
        println!("configuration OK (not connected: --offline)");
        return Ok(());
    }
    // The log-signing key is read now, so a bad path shows before serving;
    // its public half is what the department gives its auditors.
    match hedui_adapter::config::load_log_key(None, &config.log).map_err(anyhow::Error::msg)? {
        Some(k) => println!(
            "log signing key: OK; public key for auditors: {}",
            hedui_audit::checkpoint::format_public_key(&k.verifying_key())
        ),
        None => println!("no log.signing_key: the query log will be chained but no checkpoint signed"),
    }
    match &config.backend {
        BackendConfig::Sql(_) => {
            let source = SqlSource::connect(&config).await?;
            println!("connected; every query prepared and its columns match: OK");
            if config.log.grant_store == Some(hedui_adapter::config::GrantStoreConfig::Database) {
                let store = source.grant_store().await.map_err(anyhow::Error::msg)?;
                println!(
                    "grant store in the department's database: OK ({} grants remembered)",
                    store.len().await?
                );
            }
        }
        BackendConfig::Snapshot(_) => {
            let source = SnapshotSource::open(&config).await.map_err(anyhow::Error::msg)?;
            print_snapshot_status(&source);
        }
    }
    Ok(())
}

/// Prints what each category's snapshot holds and whether it is stale.
pub fn print_snapshot_status(source: &SnapshotSource) {
    use hedui_adapter::Source as _;
    let d = source.describe();
    let cfg = source.config();
    println!(
        "snapshot store {}, drop directory {}",
        cfg.store.display(),
        cfg.drop_dir.display()
    );
    if d.data_as_of.is_empty() {
        println!("data: {}", d.stale_reason);
    } else if d.stale {
        println!("data as of {}: STALE: {}", d.data_as_of, d.stale_reason);
    } else {
        println!(
            "data as of {} (at most {} days old allowed): OK",
            d.data_as_of, cfg.max_age_days
        );
    }
}

async fn import(path: PathBuf, file: PathBuf, category: Option<String>, as_of: Option<String>) -> anyhow::Result<()> {
    let config = AdapterConfig::load(&path)?;
    if !matches!(config.backend, BackendConfig::Snapshot(_)) {
        bail!("{}: import needs a [snapshot] configuration", path.display());
    }
    let as_of = as_of
        .map(|s| parse_date(&s).map_err(|e| anyhow!("--as-of: {e}")))
        .transpose()?;
    let source = SnapshotSource::open(&config).await.map_err(anyhow::Error::msg)?;
    let today = chrono::Utc::now().date_naive();
    let done = source.import(&file, category.as_deref(), as_of, today).await?;
    println!(
        "imported {} rows of {} from {}; answers now carry data dated {}",
        done.rows,
        done.category,
        file.display(),
        done.data_as_of
    );
    print_snapshot_status(&source);
    Ok(())
}
