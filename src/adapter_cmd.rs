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

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use hedui_adapter::SandboxSource;
use hedui_adapter::sandbox::Sandbox;

use crate::client::TlsArgs;
use crate::config;
use crate::signal::shutdown_signal;

#[derive(Debug, Subcommand)]
pub enum AdapterAction {
    /// Load and check an adapter configuration without serving: for sql,
    /// connect, prepare every query and check its columns' names and types;
    /// for snapshot, open the store, show what is imported, and fail when a
    /// category was never imported or is older than max_age_days.
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
            for c in mapping::categories(config.department) {
                println!("  sql.queries.{}: prepared; column names and types OK", c.name);
            }
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
            // A category never imported answers UNAVAILABLE, and stale data
            // is flagged in every record: neither is ready to serve.
            let (_, reason) = source.freshness(chrono::Utc::now().date_naive());
            if !reason.is_empty() {
                bail!("{}: not ready to serve: {reason}", path.display());
            }
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

/// Where an adapter's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Synthetic Dejiang data for demos and tests.
    Sandbox,
    /// The department's own database (PostgreSQL, MySQL or SQLite); needs --config.
    Sql,
    /// CSV or Excel exports imported into a local store; needs --config.
    Snapshot,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AdapterArgs {
    /// Check a configuration or import a snapshot file instead of serving.
    #[command(subcommand)]
    pub action: Option<crate::adapter_cmd::AdapterAction>,
    /// The department this adapter answers for: public-security, natural-resources, housing, tax,
    /// market-supervision, housing-fund, pboc or hrss. With --config, taken from the file.
    #[arg(long, value_parser = parse_department)]
    pub department: Option<hedui_proto::v1::Department>,
    /// Where the data comes from. With --config, the file says ([sql] or
    /// [snapshot]) and --backend, if given, must agree; without, sandbox.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// The adapter configuration file (TOML) of the sql or snapshot backend,
    /// e.g. deploy/adapters/tax.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7401")]
    pub listen: SocketAddr,
    /// The hub's public key, `ed25519:<hex>` or a file holding it (printed by
    /// `hedui keygen`). Repeat to trust several during a key rotation.
    #[arg(long = "hub-key", required = true)]
    pub hub_keys: Vec<String>,
    /// The department's own append-only log of the queries received
    /// (overrides log.query_log of --config).
    #[arg(long)]
    pub query_log: Option<PathBuf>,
    /// The department's own key that signs checkpoints of the query log, a
    /// file written by `hedui keygen` (overrides log.signing_key).
    #[arg(long)]
    pub log_key: Option<PathBuf>,
    /// The SQLite file where accepted grants are remembered (overrides
    /// log.grant_store); default beside the query log.
    #[arg(long)]
    pub grant_store: Option<PathBuf>,
    /// A plaintext port serving grpc.health.v1 alone, for probes, e.g.
    /// 0.0.0.0:7411 (overrides health_listen of --config; off by default).
    #[arg(long)]
    pub health_listen: Option<SocketAddr>,
    /// Plain HTTP GET /metrics for Prometheus, e.g. 127.0.0.1:9401
    /// (overrides metrics_listen of --config; off by default).
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds the adapter reports NOT_SERVING but still answers after
    /// SIGTERM (overrides drain_seconds of --config; default 5).
    #[arg(long)]
    pub drain_seconds: Option<u64>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Serve plaintext and accept any caller (grants are still checked).
    /// For development on one machine only.
    #[arg(long)]
    pub insecure_dev: bool,
}

fn parse_department(s: &str) -> Result<hedui_proto::v1::Department, String> {
    hedui_domain::words::parse(s)
}

pub async fn adapter(a: AdapterArgs) -> anyhow::Result<()> {
    if let Some(action) = a.action {
        return crate::adapter_cmd::run(action).await;
    }
    match (a.backend, &a.config) {
        (Some(Backend::Sandbox), Some(_)) => {
            bail!(
                "--config: the sandbox backend takes no configuration file; use --backend sql or snapshot, or leave --backend out to take it from the file"
            );
        }
        (Some(Backend::Sql | Backend::Snapshot), None) => {
            bail!("--config is required with --backend sql or snapshot");
        }
        (None | Some(Backend::Sandbox), None) => {
            let department = a
                .department
                .ok_or_else(|| anyhow!("--department is required with the sandbox backend"))?;
            let sandbox = Arc::new(Sandbox::dejiang(chrono::Utc::now().date_naive()));
            let source = Arc::new(SandboxSource::new(sandbox, department));
            serve_adapter(
                source,
                department,
                "sandbox",
                a,
                Default::default(),
                Default::default(),
                None,
            )
            .await
        }
        (None | Some(Backend::Sql | Backend::Snapshot), Some(_)) => {
            let config = crate::adapter_cmd::load_for(&a)?;
            let department = config.department;
            match config.backend {
                hedui_adapter::config::BackendConfig::Sql(_) => {
                    let source = Arc::new(hedui_adapter::sql::SqlSource::connect(&config).await?);
                    let in_db = match (&config.log.grant_store, &a.grant_store) {
                        (Some(hedui_adapter::config::GrantStoreConfig::Database), None) => {
                            let store = source.grant_store().await.map_err(anyhow::Error::msg)?;
                            Some(Arc::new(store) as Arc<dyn hedui_adapter::grants::GrantStore>)
                        }
                        _ => None,
                    };
                    serve_adapter(source, department, "sql", a, config.log, config.serve, in_db).await
                }
                hedui_adapter::config::BackendConfig::Snapshot(_) => {
                    let source = Arc::new(
                        hedui_adapter::snapshot::SnapshotSource::open(&config)
                            .await
                            .map_err(anyhow::Error::msg)?,
                    );
                    crate::adapter_cmd::print_snapshot_status(&source);
                    let _watcher = hedui_adapter::snapshot::spawn_watcher(source.clone());
                    serve_adapter(source, department, "snapshot", a, config.log, config.serve, None).await
                }
            }
        }
    }
}

/// Serves `source` with the listeners, keys, query log and TLS of `a`, the
/// `[log]` section and the top keys of the configuration file under them,
/// and the grant store in the department's database when that is
/// configured.
#[allow(clippy::too_many_arguments)]
async fn serve_adapter<S: hedui_adapter::Source>(
    source: Arc<S>,
    department: hedui_proto::v1::Department,
    backend: &str,
    a: AdapterArgs,
    log: hedui_adapter::config::LogConfig,
    serve: hedui_adapter::config::ServeConfig,
    grants_in_db: Option<Arc<dyn hedui_adapter::grants::GrantStore>>,
) -> anyhow::Result<()> {
    if a.hub_keys.is_empty() {
        bail!("--hub-key is required to serve");
    }
    let drain_seconds = a
        .drain_seconds
        .or(serve.drain_seconds)
        .unwrap_or(hedui_adapter::config::DEFAULT_DRAIN_SECONDS);
    if drain_seconds > 300 {
        bail!("--drain-seconds: at most 300");
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let bind = async |flag: &str, addr: Option<SocketAddr>| -> anyhow::Result<Option<tokio::net::TcpListener>> {
        let Some(addr) = addr else { return Ok(None) };
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("{flag}: cannot listen on {addr}"))?;
        eprintln!("{flag}: {}", l.local_addr()?);
        Ok(Some(l))
    };
    let ops = hedui_adapter::ops::OpsListeners {
        health: bind("health_listen", a.health_listen.or(serve.health_listen)).await?,
        metrics: bind("metrics_listen", a.metrics_listen.or(serve.metrics_listen)).await?,
    };
    eprintln!(
        "hedui adapter for {} ({backend}) listening on {}",
        hedui_domain::department::slug(department),
        listener.local_addr()?
    );
    let trusted_hub_keys = a
        .hub_keys
        .iter()
        .map(|k| config::load_verifying_key(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let query_log = a.query_log.or(log.query_log.clone()).unwrap_or_else(|| {
        PathBuf::from(format!(
            "hedui-adapter-{}-queries.jsonl",
            hedui_domain::department::slug(department)
        ))
    });
    eprintln!("query log: {}", query_log.display());
    let tls = if a.insecure_dev {
        eprintln!("WARNING: --insecure-dev: the adapter serves PLAINTEXT and cannot tell the hub from anyone else.");
        None
    } else {
        let files = a.tls.files()?;
        config::refuse_exposed("--key", &files.key)?;
        let tls = hedui_tls::ServerTls::load(files)?;
        let expected = hedui_tls::Role::Adapter(department);
        if tls.identity().role != expected {
            bail!(
                "--cert: the certificate is for {}, but this adapter serves {}",
                tls.identity().role,
                expected
            );
        }
        Some(tls)
    };
    if let Some(p) = a.log_key.as_deref().or(log.signing_key.as_deref()) {
        config::refuse_exposed("log.signing_key", p)?;
    }
    let (options_grants, log_signing_key) =
        hedui_adapter::config::resolve_log(a.grant_store, a.log_key, &log, grants_in_db).map_err(anyhow::Error::msg)?;
    if log_signing_key.is_none() {
        eprintln!(
            "WARNING: no log-signing key (--log-key or log.signing_key): the query log is chained but no checkpoint is signed"
        );
    }
    let options = hedui_adapter::AdapterOptions {
        tls,
        trusted_hub_keys,
        query_log: Some(query_log),
        grant_store: options_grants,
        log_signing_key,
        checkpoint_interval: std::time::Duration::from_secs(log.checkpoint_seconds.unwrap_or(60)),
        drain_delay: std::time::Duration::from_secs(drain_seconds),
    };
    hedui_adapter::serve_with_ops(source, listener, &options, ops, shutdown_signal()).await?;
    Ok(())
}
