//! The command line: subcommand definitions and their thin bodies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hedui_adapter::SandboxSource;
use hedui_adapter::sandbox::Sandbox;
use hedui_domain::ids::ResidentId;
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_proto::v1::{GetRecordRequest, ListRecordsRequest, RecordSummary, Verdict, VerificationRecord};
use hedui_store::{ListFilter, Store};
use tonic::transport::Channel;

use crate::{config, demo, household_file, render};

/// hedui (核对): household economic-status verification for social assistance.
#[derive(Debug, Parser)]
#[command(name = "hedui", version, about, long_about = None)]
pub struct Cli {
    /// The language of what a caseworker reads (verdicts, reasons): zh or en.
    /// Default: Chinese when LC_ALL or LANG starts with zh_CN, else English.
    #[arg(long, global = true, value_parser = parse_lang)]
    pub lang: Option<hedui_i18n::Lang>,
    #[command(subcommand)]
    pub command: Command,
}

fn parse_lang(s: &str) -> Result<hedui_i18n::Lang, String> {
    hedui_i18n::Lang::parse(s).ok_or_else(|| format!("unknown language {s:?}; expected zh or en"))
}

impl Cli {
    /// The default log level: servers report what they do, client commands
    /// keep quiet unless something is wrong.
    pub fn log_level(&self) -> &'static str {
        match self.command {
            Command::Hub(_) | Command::Adapter(_) => "info",
            Command::Verify(_)
            | Command::Record(_)
            | Command::Keygen(_)
            | Command::Pki(_)
            | Command::Audit(_)
            | Command::Batch(_)
            | Command::Config(_)
            | Command::Migrate(_)
            | Command::Report(_)
            | Command::Completions { .. } => "warn",
            // The demo simulates failing departments on purpose; their
            // warnings would only clutter its table.
            Command::Demo(_) | Command::Bench(_) => "error",
        }
    }
}

/// Output format of client commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Readable text (default).
    #[value(alias = "text")]
    Human,
    /// proto3 JSON, for scripts: an object, or an array for a list.
    Json,
    /// JSON Lines: one compact object per line (each item of a list).
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the hub.
    Hub(HubArgs),
    /// Serve one department's adapter.
    Adapter(AdapterArgs),
    /// Submit a household file for verification and print the record.
    Verify(VerifyArgs),
    /// Read stored records.
    #[command(subcommand)]
    Record(RecordCommand),
    /// Run the whole system on loopback with the sample Dejiang households.
    Demo(demo::DemoArgs),
    /// Make the hub's ed25519 key, which signs grants; prints the public key
    /// that adapters are started with.
    Keygen(KeygenArgs),
    /// The county's certificate authority and its certificates.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Read, export and verify the hub's audit log (auditors and admins).
    #[command(subcommand)]
    Audit(crate::audit_cmd::AuditCommand),
    /// Measure what the hub adds to a verification (see docs/PERFORMANCE.md);
    /// run it with `cargo run --release -- bench`.
    Bench(crate::bench::BenchArgs),
    /// Print the default hub configuration, or check one.
    #[command(subcommand)]
    Config(crate::ops_cmd::ConfigCommand),
    /// Apply the database's pending schema migrations, or show them (--status).
    Migrate(crate::ops_cmd::MigrateArgs),
    /// Reports for supervisors: the departments' quarterly service report.
    #[command(subcommand)]
    Report(crate::report_cmd::ReportCommand),
    /// Re-check a whole roster on the hub, durably: submit, watch, results.
    #[command(subcommand)]
    Batch(crate::batch_cmd::BatchCommand),
    /// Print the shell completion script for bash, zsh, fish or powershell,
    /// e.g. `hedui completions bash > /etc/bash_completion.d/hedui`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create the county CA (ca.crt and ca.key) in --dir.
    Init {
        /// Directory for the CA; created if needed. An existing CA is never overwritten.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The county, written into the CA's name (ASCII letters, digits, . _ -), e.g. dejiang.
        #[arg(long)]
        county: String,
        /// How long the CA is valid, in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issue a certificate for a role: caseworker, auditor, admin, hub or adapter:<department>.
    Issue {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The role, e.g. caseworker or adapter:tax.
        #[arg(long)]
        role: String,
        /// The holder's name: 1 to 64 of A-Z a-z 0-9 . _ @ -, e.g. zhang.san or dejiang-tax-01.
        #[arg(long)]
        name: String,
        /// How long the certificate is valid, in days [default: 90 for people (caseworker,
        /// auditor, admin), 365 for services (hub, adapter)].
        #[arg(long)]
        days: Option<u32>,
        /// Extra DNS names or IP addresses for a hub or adapter (localhost and 127.0.0.1 are always included).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Where to write <name>.crt and <name>.key; defaults to --dir.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the certificate, its key and the CA certificate as a password-protected
        /// PKCS#12 file (.p12 or .pfx) for a person to import into Chrome, Firefox or Windows.
        #[arg(long, value_name = "PATH")]
        p12: Option<PathBuf>,
        /// A file whose first line is the .p12 password; without it a random password is
        /// generated and printed once.
        #[arg(long, value_name = "FILE", requires = "p12")]
        p12_password_file: Option<PathBuf>,
    },
    /// Issue a new certificate and key for the holder of an existing certificate, keeping its
    /// role, name and host names; by default written over the old pair, which running
    /// processes pick up without a restart.
    Renew {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The certificate to renew (it may have expired).
        #[arg(long)]
        cert: PathBuf,
        /// How long the new certificate is valid, in days [default: 90 for people, 365 for
        /// services].
        #[arg(long)]
        days: Option<u32>,
        /// Where to write <name>.crt and <name>.key; defaults to the old certificate's directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write a password-protected PKCS#12 file (.p12 or .pfx) for a browser, as
        /// `pki issue --p12` does.
        #[arg(long, value_name = "PATH")]
        p12: Option<PathBuf>,
        /// A file whose first line is the .p12 password; without it a random password is
        /// generated and printed once.
        #[arg(long, value_name = "FILE", requires = "p12")]
        p12_password_file: Option<PathBuf>,
    },
    /// Record the revocation of a certificate in --dir/revoked.tsv; `hedui pki crl` then
    /// publishes it.
    Revoke {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The certificate's serial in hex, as `hedui pki issue` printed it (colons allowed).
        #[arg(long)]
        serial: String,
        /// Why: keyCompromise, cessationOfOperation, superseded, affiliationChanged or
        /// unspecified.
        #[arg(long)]
        reason: String,
    },
    /// Sign the revocation list (PEM) with the county CA, for hubs, adapters and the console
    /// (their `crl` setting).
    Crl {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// How many days the list is valid; publish a new one before then.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Where to write the list; defaults to --dir/ca.crl.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; an existing file is never overwritten.
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct HubArgs {
    /// The hub configuration file (see deploy/hub.example.toml).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Override the listen address from the file.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Override the database URL from the file.
    #[arg(long, env = "HEDUI_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Serve plaintext and identify nobody, ignoring [tls]. For development
    /// on one machine only; never in production.
    #[arg(long)]
    pub insecure_dev: bool,
    /// Do not apply migrations at start-up (overrides migrate_on_start);
    /// the hub refuses a database whose schema is behind.
    #[arg(long)]
    pub no_migrate: bool,
}

/// A certificate, its key and the county CA, for mutual TLS.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// The county CA certificate (made by `hedui pki init`).
    #[arg(long, env = "HEDUI_CA")]
    pub ca: Option<PathBuf>,
    /// This party's certificate (made by `hedui pki issue`).
    #[arg(long, env = "HEDUI_CERT")]
    pub cert: Option<PathBuf>,
    /// This party's private key.
    #[arg(long, env = "HEDUI_KEY")]
    pub key: Option<PathBuf>,
    /// The county CA's revocation list (PEM, written by `hedui pki crl`);
    /// peers whose certificates it names are refused. Reloaded when it
    /// changes. Without it, revocation is not checked.
    #[arg(long, env = "HEDUI_CRL")]
    pub crl: Option<PathBuf>,
}

impl TlsArgs {
    /// The three files, or an error naming the missing flag.
    pub fn files(&self) -> anyhow::Result<hedui_tls::TlsFiles> {
        let need = |p: &Option<PathBuf>, flag: &str, env: &str| {
            p.clone()
                .ok_or_else(|| anyhow!("--{flag} (or {env}) is required for mutual TLS"))
        };
        Ok(hedui_tls::TlsFiles {
            ca: need(&self.ca, "ca", "HEDUI_CA")?,
            cert: need(&self.cert, "cert", "HEDUI_CERT")?,
            key: need(&self.key, "key", "HEDUI_KEY")?,
            crl: self.crl.clone(),
        })
    }
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

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The hub's address. `https://` uses mutual TLS with --ca/--cert/--key;
    /// `http://` only reaches a hub started with --insecure-dev.
    #[arg(long, env = "HEDUI_HUB", default_value = "https://127.0.0.1:7300")]
    pub hub: String,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Output format: human (or text), json (proto3 JSON, camelCase; a
    /// list is an array) or jsonl (one object per line).
    #[arg(long, value_enum, default_value = "human")]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The household file, .toml or .json (see deploy/examples/).
    pub file: PathBuf,
    /// Retry key; reuse the key printed by an earlier attempt to get the
    /// same record instead of a second verification.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct RecordSource {
    /// Read from a local database file instead of asking the hub.
    #[arg(long, conflicts_with = "hub")]
    pub database: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Show one record.
    Show {
        /// The record id.
        id: String,
        #[command(flatten)]
        source: RecordSource,
    },
    /// Check an exported record offline: its digest and the hub's seal,
    /// with only the hub's public key. Exits non-zero when it does not hold.
    Verify {
        /// The record as `hedui record show ID --output json` writes it.
        file: PathBuf,
        /// The hub's public key, `ed25519:<hex>` or a file holding it.
        #[arg(long)]
        key: String,
    },
    /// Write the printable verification report (核对报告) of one record.
    Report {
        /// The record id.
        id: String,
        /// html (for printing on A4), pdf (A4, made here, no browser) or
        /// json. Default: from the extension of -o, else html.
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
        /// Write to this file instead of standard output; its extension
        /// must match the format.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The CJK font embedded in a PDF (.ttf, .otf or .ttc). Default: the
        /// first of Debian's fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei.
        #[arg(long, env = "HEDUI_CJK_FONT")]
        font: Option<PathBuf>,
        /// The bureau printed at the top.
        #[arg(long, env = "HEDUI_BUREAU", default_value = "德江县民政局")]
        bureau: String,
        /// The county printed at the top.
        #[arg(long, env = "HEDUI_COUNTY", default_value = "德江县")]
        county: String,
        /// The policy file, to show the thresholds beside the figures; its
        /// version must be the one the record names.
        #[arg(long)]
        policy: Option<PathBuf>,
        #[command(flatten)]
        source: RecordSource,
    },
    /// List records, newest first.
    List {
        /// Only this verdict: MEETS_CRITERIA, DOES_NOT_MEET, NEEDS_REVIEW or
        /// INCOMPLETE, or in Chinese: 符合条件, 不符合条件, 需人工复核, 核对不完整.
        #[arg(long, value_parser = parse_verdict)]
        verdict: Option<Verdict>,
        /// Only records made on or after this day, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Only records made on or before this day, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        /// Only records about this person.
        #[arg(long)]
        id_number: Option<String>,
        /// Records per page (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Which page of --limit records, from 1 (the newest). The hub
        /// lists the newest 1000 matching records; for older ones narrow
        /// with --to.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        /// Only the latest version of each record, leaving out versions a
        /// re-check has replaced (with --verdict INCOMPLETE: what is still
        /// to complete).
        #[arg(long)]
        latest: bool,
        #[command(flatten)]
        source: RecordSource,
    },
    /// Record a review (复核) of a record: a home visit's result or the
    /// household's objection. The record itself never changes.
    Review {
        /// The record id.
        id: String,
        /// confirmed, corrected or objection (确认, 更正, 异议).
        #[arg(long, value_parser = crate::record_cmd::parse_outcome)]
        outcome: hedui_proto::v1::ReviewOutcome,
        /// What was found or objected to; required for corrected and
        /// objection; at most 2000 characters on one line.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Ask departments again and make a new version of the record. Without
    /// --departments, asks the ones that did not answer.
    Recheck {
        /// The record id (the latest version of the record).
        id: String,
        /// Departments to ask again, comma-separated, e.g. tax,pboc or
        /// 税务,人行 (short or full Chinese names: 公安, 自然资源, 住建, 税务,
        /// 市场监管, 公积金, 人行, 人社).
        #[arg(long, value_parser = crate::record_cmd::parse_departments)]
        departments: Option<crate::record_cmd::DepartmentList>,
        /// Retry key; reuse the key printed by an earlier attempt to get the
        /// same new version instead of a second re-check.
        #[arg(long)]
        idempotency_key: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Every version of a record and every review, in order.
    History {
        /// The id of any version of the record.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Parses `--verdict`: MEETS_CRITERIA, meets-criteria, 符合条件, 符合… (see
/// [`hedui_domain::words`]).
fn parse_verdict(s: &str) -> Result<Verdict, String> {
    hedui_domain::words::parse(s)
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    render::set_lang(hedui_i18n::Lang::detect(cli.lang));
    match cli.command {
        Command::Hub(a) => hub(a).await,
        Command::Adapter(a) => adapter(a).await,
        Command::Verify(a) => verify(a).await,
        Command::Record(c) => record(c).await,
        Command::Demo(a) => demo::run(a).await,
        Command::Keygen(a) => keygen(a),
        Command::Pki(c) => pki(c),
        Command::Audit(c) => crate::audit_cmd::run(c).await,
        Command::Bench(a) => crate::bench::run(a).await,
        Command::Config(c) => crate::ops_cmd::config(c),
        Command::Migrate(a) => crate::ops_cmd::migrate(a).await,
        Command::Report(c) => crate::report_cmd::run(c).await,
        Command::Batch(c) => crate::batch_cmd::run(c).await,
        Command::Completions { shell } => {
            completions(shell);
            Ok(())
        }
    }
}

/// Writes the completion script of `shell` for the whole command line to
/// standard output.
fn completions(shell: clap_complete::Shell) {
    use clap::CommandFactory as _;
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "hedui", &mut std::io::stdout());
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}

async fn hub(a: HubArgs) -> anyhow::Result<()> {
    let mut cfg = config::load_hub(&a.config)?;
    if a.insecure_dev {
        eprintln!(
            "WARNING: --insecure-dev: the hub serves PLAINTEXT, identifies nobody and lets everyone call everything. Never use this outside a developer's machine."
        );
        cfg.tls = None;
    } else if cfg.tls.is_none() {
        bail!(
            "{}: [tls] is required (ca, cert, key); run `hedui pki init` and `hedui pki issue --role hub`, or pass --insecure-dev for local development",
            a.config.display()
        );
    }
    if let Some(l) = a.listen {
        cfg.listen = l;
    }
    if let Some(d) = a.database_url {
        cfg.database_url = d;
    }
    if a.no_migrate {
        cfg.ops.migrate_on_start = false;
    }
    if cfg.adapters.is_empty() {
        bail!(
            "{}: no [adapters.*] are configured; the hub would have nobody to ask",
            a.config.display()
        );
    }
    let console = config::load_console(&a.config)?;
    let tls = cfg.tls.clone();
    let app = hedui_hub::Application::build(cfg).await?;
    eprintln!("hedui hub listening on {}", app.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let console_task = match (console, tls) {
        (Some(c), Some(tls)) => {
            let console = hedui_console::Console::bind(c.listen, tls, app.state(), c.settings).await?;
            eprintln!("console: https://{}/", console.local_addr());
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(console.serve_until(async move {
                let _ = rx.wait_for(|s| *s).await;
            })))
        }
        (Some(_), None) => bail!(
            "{}: [console] needs [tls]: the console signs people in by their certificates",
            a.config.display()
        ),
        (None, _) => None,
    };
    let stop = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    app.run_until(stop).await?;
    if let Some(t) = console_task {
        let _ = t.await;
    }
    Ok(())
}

async fn adapter(a: AdapterArgs) -> anyhow::Result<()> {
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
            serve_adapter(source, department, "sandbox", a, Default::default(), None).await
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
                    serve_adapter(source, department, "sql", a, config.log, in_db).await
                }
                hedui_adapter::config::BackendConfig::Snapshot(_) => {
                    let source = Arc::new(
                        hedui_adapter::snapshot::SnapshotSource::open(&config)
                            .await
                            .map_err(anyhow::Error::msg)?,
                    );
                    crate::adapter_cmd::print_snapshot_status(&source);
                    let _watcher = hedui_adapter::snapshot::spawn_watcher(source.clone());
                    serve_adapter(source, department, "snapshot", a, config.log, None).await
                }
            }
        }
    }
}

/// Serves `source` with the listener, keys, query log and TLS of `a`, the
/// `[log]` section of the configuration file under them, and the grant
/// store in the department's database when that is configured.
async fn serve_adapter<S: hedui_adapter::Source>(
    source: Arc<S>,
    department: hedui_proto::v1::Department,
    backend: &str,
    a: AdapterArgs,
    log: hedui_adapter::config::LogConfig,
    grants_in_db: Option<Arc<dyn hedui_adapter::grants::GrantStore>>,
) -> anyhow::Result<()> {
    if a.hub_keys.is_empty() {
        bail!("--hub-key is required to serve");
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
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
        let tls = hedui_tls::ServerTls::load(a.tls.files()?)?;
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
    };
    hedui_adapter::serve(source, listener, &options, shutdown_signal()).await?;
    Ok(())
}

pub async fn connect(client: &ClientArgs) -> anyhow::Result<VerificationServiceClient<Channel>> {
    let channel = channel_to_hub(&client.hub, &client.tls).await?;
    Ok(VerificationServiceClient::new(channel).max_decoding_message_size(16 * 1024 * 1024))
}

/// A connected channel to the hub, over mutual TLS for `https://` addresses.
pub async fn channel_to_hub(hub: &str, tls: &TlsArgs) -> anyhow::Result<Channel> {
    // An address without a scheme (`hub.dejiang:7300`) means mutual TLS.
    let with_scheme = if hub.contains("://") {
        hub.to_owned()
    } else {
        format!("https://{hub}")
    };
    let hub = with_scheme.as_str();
    if hub.starts_with("https://") {
        let files = tls.files()?;
        let ca = files.ca.clone();
        let cert = files.cert.clone();
        // A connection failure may show only at the first call (the channel
        // connects lazily): `explain` names the hub and files then.
        let _ = HUB.set(Hub {
            address: hub.to_owned(),
            files: Some((ca.clone(), cert.clone())),
        });
        let tls = hedui_tls::ClientTls::load(files)?;
        // Connect once now, so an unreachable hub, a certificate from
        // another CA or a refusal of ours is reported as such, by name.
        hedui_tls::probe(hub, &tls, Some(hedui_tls::Role::Hub), CONNECT_TIMEOUT)
            .await
            .map_err(|e| cannot_connect(hub, Some((&ca, &cert)), &e))?;
        Ok(hedui_tls::channel(
            hub,
            tls,
            Some(hedui_tls::Role::Hub),
            CONNECT_TIMEOUT,
        )?)
    } else {
        let _ = HUB.set(Hub {
            address: hub.to_owned(),
            files: None,
        });
        tonic::transport::Endpoint::from_shared(hub.to_owned())
            .map_err(|e| anyhow!("--hub {hub:?}: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .connect()
            .await
            .map_err(|e| cannot_connect(hub, None, &e))
    }
}

/// The hub this process talks to (a command talks to one), for the words
/// of a connection failure reported by [`explain`].
struct Hub {
    address: String,
    /// The CA and certificate files of a TLS connection.
    files: Option<(PathBuf, PathBuf)>,
}

static HUB: std::sync::OnceLock<Hub> = std::sync::OnceLock::new();

/// How long a client waits for the hub to accept a connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Says why the hub at `hub` could not be reached, from the cause at the end
/// of the error's chain; `files` are the CA and certificate files of a TLS
/// connection, to name them.
fn cannot_connect(
    hub: &str,
    files: Option<(&std::path::Path, &std::path::Path)>,
    err: &(dyn std::error::Error + 'static),
) -> anyhow::Error {
    match hedui_tls::connect_failure(err) {
        Some(f) => anyhow!("{}", failure_words(Some(hub), files, &f)),
        None => anyhow!("cannot connect to the hub at {hub}: {}", chain(err)),
    }
}

/// An error and its causes on one line: `a: b: c`, without repeats.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Words for a connection failure. `hub` is the address when known;
/// `files` the CA and certificate files when known.
fn failure_words(
    hub: Option<&str>,
    files: Option<(&std::path::Path, &std::path::Path)>,
    f: &hedui_tls::ConnectFailure,
) -> String {
    use hedui_tls::ConnectFailure as F;
    let at = match hub {
        Some(h) => format!("cannot connect to the hub at {h}"),
        None => "the connection to the hub failed".to_owned(),
    };
    let ca = files.map_or_else(|| "--ca".to_owned(), |(ca, _)| ca.display().to_string());
    let cert = files.map_or_else(|| "--cert".to_owned(), |(_, cert)| cert.display().to_string());
    match f {
        F::Refused => format!("{at}: connection refused (is `hedui hub` running?)"),
        F::TimedOut => format!(
            "{at}: no answer within {} s (check the address, and that no firewall drops the port)",
            CONNECT_TIMEOUT.as_secs()
        ),
        F::Unresolved => format!("{at}: the host name cannot be resolved (check the address)"),
        F::UnknownIssuer => format!(
            "{at}: the hub's certificate is not signed by the CA in {ca} (is it the county's CA, the one the hub's certificate was issued by?)"
        ),
        F::WrongName => format!(
            "{at}: the hub's certificate is not issued for this host name; use a name it was issued for, or reissue it with `hedui pki issue --role hub --host NAME`"
        ),
        F::Expired => format!(
            "{at}: the hub's certificate has expired or is not valid yet (check this machine's clock, or renew the certificate)"
        ),
        F::Revoked => format!(
            "{at}: the hub's certificate is revoked (it is on the revocation list given with --crl); the hub must be given a new certificate"
        ),
        F::BadServerCertificate(why) => format!("{at}: the hub's certificate is not usable: {why}"),
        F::OurCertificateRefused(why) => format!("the hub refused the connection: {why} (certificate {cert})"),
        F::WrongRole { presented, .. } => {
            format!("{at}: the server there is not a hub; its certificate is for {presented}")
        }
        F::NoIdentity(why) => format!("{at}: the server there is not a hedui hub: {why}"),
        F::Broken(why) => format!("{at}: {why}"),
    }
}

/// Turns a gRPC error into a message a caseworker can act on. Only a status
/// the hub itself sent is "the hub refused"; one made on this side (the
/// connection failed or broke) says what happened to the connection.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    if let Some(source) = std::error::Error::source(&status) {
        let hub = HUB.get();
        let address = hub.map(|h| h.address.as_str());
        let files = hub
            .and_then(|h| h.files.as_ref())
            .map(|(ca, cert)| (ca.as_path(), cert.as_path()));
        return match hedui_tls::connect_failure(source) {
            Some(f) => anyhow!("{}", failure_words(address, files, &f)),
            None => anyhow!(
                "the connection to the hub{} failed: {}",
                address.map(|a| format!(" at {a}")).unwrap_or_default(),
                chain(source)
            ),
        };
    }
    let preconditions = hedui_proto::status::precondition_violations(&status);
    if !preconditions.is_empty() {
        let lines: Vec<String> = preconditions.iter().map(|(s, d)| format!("  {s}: {d}")).collect();
        return anyhow!(
            "the hub refused: {}:\n{}",
            status.message().split(';').next().unwrap_or(""),
            lines.join("\n")
        );
    }
    let violations = hedui_proto::status::field_violations(&status);
    if violations.is_empty() {
        return anyhow!("the hub refused: {} ({})", status.message(), code_words(status.code()));
    }
    let lines: Vec<String> = violations.iter().map(|(f, d)| format!("  {f}: {d}")).collect();
    anyhow!("the hub refused the request as invalid:\n{}", lines.join("\n"))
}

/// What a gRPC status code means, in words.
fn code_words(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "ok",
        C::Cancelled => "cancelled",
        C::Unknown => "unknown error",
        C::InvalidArgument => "invalid argument",
        C::DeadlineExceeded => "took too long",
        C::NotFound => "not found",
        C::AlreadyExists => "already exists",
        C::PermissionDenied => "not allowed for this certificate's role",
        C::ResourceExhausted => "too many requests; try again later",
        C::FailedPrecondition => "not possible in the current state",
        C::Aborted => "aborted",
        C::OutOfRange => "out of range",
        C::Unimplemented => "not supported by this hub",
        C::Internal => "internal error on the hub",
        C::Unavailable => "unavailable; try again later",
        C::DataLoss => "data loss",
        C::Unauthenticated => "no valid certificate",
    }
}

async fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let mut req = household_file::read(&a.file, today)?;
    if let Some(k) = a.idempotency_key {
        req.idempotency_key = k;
    }
    // Check locally first, so a bad file is reported without a network trip
    // and with the same wording the hub would use.
    let checked = hedui_hub::service::parse_submission(&req, today).and_then(|(sub, auth)| {
        hedui_trust::authorization::check_covers(&auth, &sub.household, sub.purpose, today)
            .map_err(hedui_hub::service::HubError::Unauthorized)
    });
    if let Err(e) = checked {
        bail!("{}: {}", a.file.display(), local_problem(e));
    }
    let key = req.idempotency_key.clone();
    let mut client = connect(&a.client).await?;
    let resp = client.submit_verification(req).await.map_err(explain)?.into_inner();
    let record = resp
        .record
        .ok_or_else(|| anyhow!("the hub answered without a record"))?;
    print_record(&record, a.client.output, Some((&key, resp.replayed)));
    Ok(())
}

fn print_record(record: &VerificationRecord, output: Output, key: Option<(&str, bool)>) {
    match output {
        Output::Json | Output::Jsonl => {
            crate::output::one(&crate::output::message(record, "hedui.v1.VerificationRecord"), output)
        }
        Output::Human => {
            print!("{}", render::record(record));
            print!("{}", crate::record_cmd::version_line(record));
            if let Some((key, replayed)) = key {
                if replayed {
                    println!("(this record was made earlier for idempotency key {key}; nothing was queried again)");
                } else {
                    println!("idempotency key: {key} (reuse it with --idempotency-key to retry safely)");
                }
            }
            print!("{}", crate::record_cmd::incomplete_hint(record));
        }
    }
}

async fn record(c: RecordCommand) -> anyhow::Result<()> {
    match c {
        RecordCommand::Report {
            id,
            format,
            out,
            bureau,
            county,
            policy,
            font,
            source,
        } => {
            crate::record_cmd::report(crate::record_cmd::ReportArgs {
                id,
                format,
                out,
                font,
                bureau,
                county,
                policy,
                source,
            })
            .await?;
        }
        RecordCommand::Verify { file, key } => {
            crate::record_verify::run(&file, &crate::config::load_verifying_key(&key)?)?;
        }
        RecordCommand::Show { id, source } => {
            let record = fetch_record(&id, &source).await?;
            print_record(&record, source.client.output, None);
            if source.client.output == Output::Human {
                let (_, superseded_by) = crate::record_cmd::reviews_and_successor(&id, &source).await?;
                print!(
                    "{}",
                    crate::record_cmd::superseded_line(&record, superseded_by.as_deref())
                );
            }
        }
        RecordCommand::List {
            verdict,
            from,
            to,
            id_number,
            limit,
            page,
            latest,
            source,
        } => {
            let page = crate::record_cmd::Page::new(page, limit)?;
            let today = chrono::Utc::now().date_naive();
            let date = |s: &Option<String>, flag: &str| -> anyhow::Result<Option<chrono::NaiveDate>> {
                s.as_deref()
                    .map(hedui_domain::window::parse_date)
                    .transpose()
                    .map_err(|e| anyhow!("--{flag}: {e}"))
            };
            let (created_from, created_to) = (date(&from, "from")?, date(&to, "to")?);
            let id_number = id_number
                .map(|s| ResidentId::parse(&s, today).map(|id| id.as_str().to_owned()))
                .transpose()
                .map_err(|e| anyhow!("--id-number: {e}"))?;
            let records: Vec<RecordSummary> = match &source.database {
                Some(db) => {
                    let filter = ListFilter {
                        verdict,
                        created_from,
                        created_to,
                        id_number,
                        limit: page.fetch(),
                        latest_only: latest,
                        ..Default::default()
                    };
                    open_local(db).await?.list_records(&filter).await?
                }
                None => {
                    let mut client = connect(&source.client).await?;
                    let req = ListRecordsRequest {
                        verdict: verdict.map(|v| v as i32).unwrap_or(0),
                        created_from: from.unwrap_or_default(),
                        created_to: to.unwrap_or_default(),
                        id_number: id_number.unwrap_or_default(),
                        limit: page.fetch(),
                        latest_only: latest,
                        ..Default::default()
                    };
                    client.list_records(req).await.map_err(explain)?.into_inner().records
                }
            };
            let (records, more) = page.cut(records);
            match source.client.output {
                Output::Json | Output::Jsonl => crate::output::list(
                    records
                        .iter()
                        .map(|r| crate::output::message(r, "hedui.v1.RecordSummary"))
                        .collect(),
                    source.client.output,
                ),
                Output::Human => print!("{}", render::summaries(&records)),
            }
            // On stderr, so JSON on stdout stays one document.
            if let Some(line) = more {
                eprintln!("{line}");
            }
        }
        RecordCommand::Review {
            id,
            outcome,
            note,
            client,
        } => crate::record_cmd::review(id, outcome, note, &client).await?,
        RecordCommand::Recheck {
            id,
            departments,
            idempotency_key,
            client,
        } => crate::record_cmd::recheck(id, departments, idempotency_key, &client).await?,
        RecordCommand::History { id, client } => crate::record_cmd::history(id, &client).await?,
    }
    Ok(())
}

pub async fn open_local(db: &str) -> anyhow::Result<Store> {
    let is_server = db.starts_with("postgres://") || db.starts_with("postgresql://");
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    if !is_server && !path.contains(":memory:") && !std::path::Path::new(path).exists() {
        bail!("--database {db}: no such file");
    }
    Store::open(db)
        .await
        .with_context(|| format!("--database {}", hedui_store::redact_url(db)))
}

fn keygen(a: KeygenArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    let key = hedui_trust::SigningKey::generate(&mut rand_core::OsRng);
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(&a.out).with_context(|| {
        format!(
            "cannot create {} (an existing key is never overwritten)",
            a.out.display()
        )
    })?;
    writeln!(f, "{}", hedui_audit::checkpoint::format_signing_key(&key))?;
    f.sync_all()?;
    println!("{}", hedui_audit::checkpoint::format_public_key(&key.verifying_key()));
    eprintln!(
        "secret key written to {}; give adapters the public key above (--hub-key), or, for a department's log-signing key, give it to the auditors (--adapter-key)",
        a.out.display()
    );
    Ok(())
}

/// Words for a problem found in a household file before sending it.
fn local_problem(e: hedui_hub::service::HubError) -> String {
    use hedui_hub::service::HubError;
    match e {
        HubError::Invalid(v) => {
            let lines: Vec<String> = v
                .violations
                .iter()
                .map(|v| format!("  {}: {}", v.field, v.description))
                .collect();
            format!("the household is invalid:\n{}", lines.join("\n"))
        }
        HubError::Unauthorized(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("  {}: {}", p.field, p.reason))
                .collect();
            format!(
                "the authorization (授权书) does not cover this verification:\n{}",
                lines.join("\n")
            )
        }
        other => other.to_string(),
    }
}

fn pki(c: PkiCommand) -> anyhow::Result<()> {
    match c {
        PkiCommand::Init { dir, county, days } => {
            let files = hedui_tls::pki::init_ca(&dir, &county, days)?;
            println!(
                "CA for {county} created: {} (keep {} secret and offline)",
                files.cert.display(),
                files.key.display()
            );
        }
        PkiCommand::Issue {
            dir,
            role,
            name,
            days,
            hosts,
            out,
            p12,
            p12_password_file,
        } => {
            let role = hedui_tls::Role::parse(&role).map_err(|e| anyhow!("--role: {e}"))?;
            let days = days.unwrap_or_else(|| hedui_tls::pki::default_days(&role));
            let out = out.unwrap_or_else(|| dir.clone());
            let Some(p12) = p12 else {
                let f = hedui_tls::pki::issue(&dir, &role, &name, days, &hosts, &out)?;
                print_issued(&role, &name, &f);
                return Ok(());
            };
            // The password is settled before anything is issued, so a bad
            // password file leaves no new certificate behind.
            let (password, generated) = match &p12_password_file {
                Some(file) => (read_p12_password(file)?, false),
                None => (hedui_tls::pki::P12Password::generate()?, true),
            };
            let f = hedui_tls::pki::issue_with_p12(&dir, &role, &name, days, &hosts, &out, (&p12, &password)).map_err(
                |e| match e {
                    hedui_tls::pki::PkiError::Invalid(m) if m.starts_with("p12:") => anyhow!("--{m}"),
                    other => other.into(),
                },
            )?;
            print_issued(&role, &name, &f);
            println!("wrote {} for importing into a browser", p12.display());
            if generated {
                println!(
                    "p12 password: {}\n(generated; shown only this once and not stored anywhere: give it to {name} separately from the file)",
                    password.expose()
                );
            }
        }
        PkiCommand::Renew {
            dir,
            cert,
            days,
            out,
            p12,
            p12_password_file,
        } => {
            let password = match (&p12, &p12_password_file) {
                (None, _) => None,
                (Some(_), Some(file)) => Some((read_p12_password(file)?, false)),
                (Some(_), None) => Some((hedui_tls::pki::P12Password::generate()?, true)),
            };
            let p12_arg = p12.as_deref().zip(password.as_ref().map(|(p, _)| p));
            let r =
                hedui_tls::pki::renew_with_p12(&dir, &cert, days, out.as_deref(), p12_arg).map_err(|e| match e {
                    hedui_tls::pki::PkiError::Invalid(m) if m.starts_with("p12:") => anyhow!("--{m}"),
                    other => flag_error(other),
                })?;
            print_issued(&r.role, &r.name, &r.files);
            if let (Some(p12), Some((password, generated))) = (&p12, &password) {
                println!("wrote {} for importing into a browser", p12.display());
                if *generated {
                    println!(
                        "p12 password: {}\n(generated; shown only this once and not stored anywhere: give it to {} separately from the file)",
                        password.expose(),
                        r.name
                    );
                }
            }
            println!(
                "the old certificate (serial {}) stays valid until it expires; to withdraw it now: hedui pki revoke --dir {} --serial {} --reason superseded",
                r.old_serial,
                dir.display(),
                r.old_serial
            );
        }
        PkiCommand::Revoke { dir, serial, reason } => {
            let reason = hedui_tls::revocation::Reason::parse(&reason).map_err(flag_error)?;
            let r = hedui_tls::revocation::revoke(&dir, &serial, reason).map_err(flag_error)?;
            match &r.holder {
                Some((role, name)) => println!(
                    "revoked {role} certificate of {name} (serial {}, {})",
                    r.revocation.serial,
                    reason.as_str()
                ),
                None => println!(
                    "revoked serial {} ({}); this CA keeps no register of issued certificates, so the serial could not be checked",
                    r.revocation.serial,
                    reason.as_str()
                ),
            }
            println!(
                "publish it: hedui pki crl --dir {} and copy the list to the hubs and adapters",
                dir.display()
            );
        }
        PkiCommand::Crl { dir, days, out } => {
            let out = out.unwrap_or_else(|| dir.join(hedui_tls::revocation::CRL_FILE));
            let w = hedui_tls::revocation::write_crl(&dir, days, &out).map_err(flag_error)?;
            println!(
                "wrote {} listing {} revoked certificate(s); next update {} (sign a new one before then)",
                w.path.display(),
                w.revoked,
                w.next_update
            );
        }
    }
    Ok(())
}

/// A PKI error whose message starts with a field's name gets that field
/// as a flag (`serial: …` becomes `--serial: …`).
fn flag_error(e: hedui_tls::pki::PkiError) -> anyhow::Error {
    match e {
        hedui_tls::pki::PkiError::Invalid(m)
            if ["serial:", "reason:", "days:", "cert:", "valid_days:"]
                .iter()
                .any(|f| m.starts_with(f)) =>
        {
            let m = m.replacen("valid_days:", "days:", 1);
            anyhow!("--{m}")
        }
        other => other.into(),
    }
}

fn print_issued(role: &hedui_tls::Role, name: &str, f: &hedui_tls::pki::IssuedFiles) {
    println!(
        "issued {role} certificate for {name}: {} and {} (serial {}, valid until {})",
        f.cert.display(),
        f.key.display(),
        f.serial,
        f.not_after
    );
}

/// Reads the .p12 password from the first line of `file`; the line ending
/// is not part of it, so `echo secret > file` works as expected.
fn read_p12_password(file: &std::path::Path) -> anyhow::Result<hedui_tls::pki::P12Password> {
    let flag = "--p12-password-file";
    let text = std::fs::read_to_string(file).map_err(|e| anyhow!("{flag}: {}: {e}", file.display()))?;
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        return Err(anyhow!(
            "{flag}: {}: the first line is empty; put the password there",
            file.display()
        ));
    }
    hedui_tls::pki::P12Password::new(first).map_err(|e| anyhow!("{flag}: {}: {e}", file.display()))
}

/// Output format of `hedui record report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// HTML for printing on A4.
    Html,
    /// JSON with the same content.
    Json,
    /// PDF on A4, with the CJK font's used glyphs embedded.
    Pdf,
}

/// One record, from the hub or from a local database file.
pub async fn fetch_record(id: &str, source: &RecordSource) -> anyhow::Result<VerificationRecord> {
    uuid::Uuid::parse_str(id).map_err(|_| anyhow!("record id {id:?} is not a UUID"))?;
    match &source.database {
        Some(db) => open_local(db)
            .await?
            .get_record(id)
            .await?
            .ok_or_else(|| anyhow!("no record with id {id} in {db}")),
        None => connect(&source.client)
            .await?
            .get_record(GetRecordRequest {
                record_id: id.to_owned(),
            })
            .await
            .map_err(explain)?
            .into_inner()
            .record
            .ok_or_else(|| anyhow!("the hub answered without a record")),
    }
}
