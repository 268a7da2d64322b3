//! The command line: subcommand definitions and their thin bodies.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};

use crate::{config, demo, render};

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
            | Command::Keys(_)
            | Command::Report(_)
            | Command::Backup(_)
            | Command::Restore(_)
            | Command::Retention(_)
            | Command::Completions { .. } => "warn",
            // The demo simulates failing departments on purpose; their
            // warnings would only clutter its table.
            Command::Demo(_) | Command::Bench(_) => "error",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the hub.
    Hub(HubArgs),
    /// Serve one department's adapter.
    Adapter(crate::adapter_cmd::AdapterArgs),
    /// Submit a household file for verification and print the record.
    Verify(crate::record_cmd::VerifyArgs),
    /// Read stored records.
    #[command(subcommand)]
    Record(crate::record_cmd::RecordCommand),
    /// Run the whole system on loopback with the sample Dejiang households.
    Demo(demo::DemoArgs),
    /// Make the hub's ed25519 key, which signs grants; prints the public key
    /// that adapters are started with.
    Keygen(crate::pki_cmd::KeygenArgs),
    /// The county's certificate authority and its certificates.
    #[command(subcommand)]
    Pki(crate::pki_cmd::PkiCommand),
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
    /// The data key file's KEKs: rotate to a new one while the hub serves,
    /// show what each protects, retire one nothing needs.
    #[command(subcommand)]
    Keys(crate::keys_cmd::KeysCommand),
    /// Reports for supervisors: the departments' quarterly service report.
    #[command(subcommand)]
    Report(crate::report_cmd::ReportCommand),
    /// Re-check a whole roster on the hub, durably: submit, watch, results.
    #[command(subcommand)]
    Batch(crate::batch_cmd::BatchCommand),
    /// Copy the hub's SQLite database to a file while the hub serves:
    /// consistent, verified, never over an existing file.
    Backup(crate::backup_cmd::BackupArgs),
    /// Restore a backup into a new or empty directory and verify its audit
    /// log and every record.
    Restore(crate::backup_cmd::RestoreArgs),
    /// Crypto-shred the records kept past the retention period (admins,
    /// on the hub's machine).
    #[command(subcommand)]
    Retention(crate::retention_cmd::RetentionCommand),
    /// Print the shell completion script for bash, zsh, fish or powershell,
    /// e.g. `hedui completions bash > /etc/bash_completion.d/hedui`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
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

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    render::set_lang(hedui_i18n::Lang::detect(cli.lang));
    match cli.command {
        Command::Hub(a) => hub(a).await,
        Command::Adapter(a) => crate::adapter_cmd::adapter(a).await,
        Command::Verify(a) => crate::record_cmd::verify(a).await,
        Command::Record(c) => crate::record_cmd::record(c).await,
        Command::Demo(a) => demo::run(a).await,
        Command::Keygen(a) => crate::pki_cmd::keygen(a),
        Command::Pki(c) => crate::pki_cmd::pki(c),
        Command::Audit(c) => crate::audit_cmd::run(c).await,
        Command::Bench(a) => crate::bench::run(a).await,
        Command::Config(c) => crate::ops_cmd::config(c),
        Command::Migrate(a) => crate::ops_cmd::migrate(a).await,
        Command::Keys(c) => crate::keys_cmd::run(c).await,
        Command::Report(c) => crate::report_cmd::run(c).await,
        Command::Batch(c) => crate::batch_cmd::run(c).await,
        Command::Backup(a) => crate::backup_cmd::backup(a).await,
        Command::Retention(c) => crate::retention_cmd::run(c).await,
        Command::Restore(a) => crate::backup_cmd::restore(a).await,
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
        crate::signal::shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    app.run_until(stop).await?;
    if let Some(t) = console_task {
        let _ = t.await;
    }
    Ok(())
}
