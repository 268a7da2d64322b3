//! `hedui audit`: what auditors run. Listing and "who looked at me" ask the
//! hub; `verify` works offline with only the hub's public key.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use hedui_audit::entry::AuditEntry;
use hedui_audit::export::{ExportBundle, verify_bundle};
use hedui_proto::v1::audit_service_client::AuditServiceClient;
use hedui_proto::v1::{
    AuditEntryView, AuditFilter, ExportAuditRequest, GetCheckpointRequest, ListAuditEntriesRequest, WhoAccessedRequest,
};

use crate::client::{ClientArgs, Output, channel_to_hub, explain};
use crate::config::load_verifying_key;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit entries, oldest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Every access to one person's data: the answer to "who looked at me".
    Who {
        /// The person's resident ID number.
        #[arg(long)]
        id_number: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show the latest signed checkpoint, or have the hub sign one now.
    Checkpoint {
        /// Sign a new checkpoint over the whole log now.
        #[arg(long)]
        fresh: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Export entries with inclusion proofs and a signed checkpoint, for
    /// offline verification.
    Export {
        #[command(flatten)]
        filter: FilterArgs,
        /// Where to write the bundle (JSON).
        #[arg(long, short)]
        out: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Verify an export bundle, or a whole database, against the signed
    /// checkpoints, with only the hub's public key. Exits non-zero on any
    /// mismatch.
    Verify {
        /// The export bundle to verify.
        #[arg(required_unless_present = "database")]
        file: Option<PathBuf>,
        /// Verify every entry of this hub database instead (detects edited,
        /// deleted or reordered rows).
        #[arg(long, conflicts_with = "file")]
        database: Option<String>,
        /// The hub's public key, `ed25519:<hex>` or a file holding it, as
        /// received from the bureau (never the one inside the bundle).
        #[arg(long)]
        key: String,
        /// With --database: first have the hub at this address sign a
        /// checkpoint now, so that the entries after the last stored one
        /// are verified against a signed head too. Uses the auditor's
        /// certificate from HEDUI_CA, HEDUI_CERT and HEDUI_KEY.
        #[arg(long, requires = "database")]
        fresh_from_hub: Option<String>,
        /// With --database: the hub's data key file, to decrypt the records
        /// (default: keys/data.key beside an SQLite database file).
        #[arg(long, requires = "database")]
        data_key: Option<PathBuf>,
    },
    /// Reconcile a department's query log with a hub export: every query
    /// the department received has a hub entry for the same grant, every
    /// answer the hub logged was received, and both logs verify.
    Reconcile(crate::reconcile_cmd::ReconcileArgs),
}

/// Filters for listing and export.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// From this instant, inclusive: YYYY-MM-DD (midnight UTC) or RFC 3339
    /// with any offset; without a fraction, from the start of that second.
    #[arg(long)]
    pub from: Option<String>,
    /// Before this instant, exclusive: YYYY-MM-DD (midnight UTC) or RFC
    /// 3339; `--to …T14:58:41Z` includes everything in 14:58:40.
    #[arg(long)]
    pub to: Option<String>,
    /// Only this actor, e.g. caseworker:zhang.san.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only entries about this person.
    #[arg(long)]
    pub id_number: Option<String>,
    /// Only entries naming this department, e.g. tax or 税务.
    #[arg(long, value_parser = department_slug)]
    pub department: Option<String>,
    /// Only this action, e.g. SubmitVerification or source.query.
    #[arg(long)]
    pub action: Option<String>,
    /// At most this many entries. `audit list` shows 1000 unless told;
    /// an export holds every matching entry unless told.
    #[arg(long)]
    pub limit: Option<u32>,
}

/// `--department` in any of its words, as the slug the hub filters on.
fn department_slug(s: &str) -> Result<String, String> {
    hedui_domain::words::parse::<hedui_proto::v1::Department>(s).map(hedui_domain::words::english)
}

impl FilterArgs {
    fn to_proto(&self, default_limit: u32) -> AuditFilter {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        AuditFilter {
            from: s(&self.from),
            to: s(&self.to),
            actor: s(&self.actor),
            id_number: s(&self.id_number),
            department: s(&self.department),
            action: s(&self.action),
            after_seq: 0,
            limit: self.limit.unwrap_or(default_limit),
        }
    }
}

async fn client(c: &ClientArgs) -> anyhow::Result<AuditServiceClient<tonic::transport::Channel>> {
    Ok(AuditServiceClient::new(channel_to_hub(&c.hub, &c.tls).await?).max_decoding_message_size(64 * 1024 * 1024))
}

fn parse(v: &AuditEntryView) -> anyhow::Result<AuditEntry> {
    serde_json::from_str(&v.canonical_json).with_context(|| format!("entry {} from the hub does not parse", v.seq))
}

fn print_entries(views: &[AuditEntryView], output: Output) -> anyhow::Result<()> {
    if output != Output::Human {
        // The entries as the log holds them, with the names in camelCase
        // like the rest of --output json; `audit export` keeps the exact
        // canonical text that the hashes cover.
        let items = views
            .iter()
            .map(|v| {
                serde_json::from_str(&v.canonical_json)
                    .map(crate::output::camel)
                    .with_context(|| format!("entry {} from the hub does not parse", v.seq))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        crate::output::list(items, output);
        return Ok(());
    }
    if views.is_empty() {
        println!("no entries match");
        return Ok(());
    }
    println!(
        "{:>7}  {:<24}  {:<32}  {:<22}  {:<15}  {:<18}  PERSONS",
        "SEQ", "TIME", "ACTOR", "ACTION", "PURPOSE", "STATUS"
    );
    for v in views {
        let e = parse(v)?;
        let persons: Vec<&str> = e.persons.iter().map(|p| p.masked.as_str()).collect();
        let action = if e.departments.len() == 1 {
            format!("{} {}", e.action, e.departments[0])
        } else {
            e.action.clone()
        };
        println!(
            "{:>7}  {:<24}  {:<32}  {:<22}  {:<15}  {:<18}  {}",
            e.seq,
            e.time,
            e.actor,
            action,
            e.purpose,
            e.status,
            persons.join(" ")
        );
    }
    println!("{} entries", views.len());
    Ok(())
}

pub async fn run(c: AuditCommand) -> anyhow::Result<()> {
    match c {
        AuditCommand::List { filter, client: c } => {
            let resp = client(&c)
                .await?
                .list_audit_entries(ListAuditEntriesRequest {
                    filter: Some(filter.to_proto(1000)),
                })
                .await
                .map_err(explain)?
                .into_inner();
            print_entries(&resp.entries, c.output)?;
            if c.output == Output::Human {
                println!("(the log holds {} entries in all)", resp.tree_size);
            }
        }
        AuditCommand::Who { id_number, client: c } => {
            let resp = client(&c)
                .await?
                .who_accessed(WhoAccessedRequest { id_number })
                .await
                .map_err(explain)?
                .into_inner();
            print_entries(&resp.entries, c.output)?;
        }
        AuditCommand::Checkpoint { fresh, client: c } => {
            let resp = client(&c)
                .await?
                .get_checkpoint(GetCheckpointRequest { fresh })
                .await
                .map_err(explain)?
                .into_inner();
            if c.output == Output::Human {
                println!("{}", resp.checkpoint_json);
                println!("signed by {}", resp.public_key);
            } else {
                let checkpoint: serde_json::Value = serde_json::from_str(&resp.checkpoint_json)
                    .context("the checkpoint from the hub does not parse")?;
                crate::output::one(
                    &serde_json::json!({
                        "checkpoint": crate::output::camel(checkpoint),
                        "publicKey": resp.public_key,
                    }),
                    c.output,
                );
            }
        }
        AuditCommand::Export { filter, out, client: c } => {
            let resp = client(&c)
                .await?
                .max_decoding_message_size(1024 * 1024 * 1024)
                .export_audit(ExportAuditRequest {
                    filter: Some(filter.to_proto(0)),
                })
                .await
                .map_err(explain)?
                .into_inner();
            std::fs::write(&out, &resp.bundle_json).with_context(|| format!("cannot write {}", out.display()))?;
            if c.output != Output::Human {
                crate::output::one(
                    &serde_json::json!({"entryCount": resp.entry_count, "file": out.display().to_string()}),
                    c.output,
                );
                return Ok(());
            }
            println!("{} entries with proofs written to {}", resp.entry_count, out.display());
            if let Ok(bundle) = serde_json::from_slice::<ExportBundle>(&resp.bundle_json)
                && let Some(scope) = &bundle.scope
            {
                println!("{}", scope_words(&scope.statement));
            }
            println!(
                "verify offline with: hedui audit verify {} --key <the hub's public key>",
                out.display()
            );
        }
        AuditCommand::Verify {
            file,
            database,
            key,
            fresh_from_hub,
            data_key,
        } => {
            let key = load_verifying_key(&key)?;
            match (file, database) {
                (Some(file), _) => {
                    let text = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                    let bundle: ExportBundle = serde_json::from_slice(&text)
                        .map_err(|e| anyhow!("{}: not an audit export: {e}", file.display()))?;
                    let report = verify_bundle(&bundle, &key).map_err(|e| anyhow!("VERIFICATION FAILED: {e}"))?;
                    println!(
                        "OK: {} entries verified against {} signed checkpoint(s); tree size {}, root {}",
                        report.entries_verified, report.checkpoints_verified, report.tree_size, report.root_hex
                    );
                    println!("inclusion: proven for each of the {} entries", report.entries_verified);
                    match &report.scope {
                        Some(s) => println!("{}", scope_words(s)),
                        None => println!(
                            "completeness: not claimed (the export carries no signed scope; it was made by an \
                             older hub): entries could have been left out"
                        ),
                    }
                }
                (None, Some(db)) => {
                    let fresh = match fresh_from_hub {
                        Some(hub) => Some(fresh_checkpoint(&hub).await?),
                        None => None,
                    };
                    verify_database(&db, &key, fresh, data_key.as_deref()).await?
                }
                (None, None) => bail!("give an export file or --database"),
            }
        }
        AuditCommand::Reconcile(a) => crate::reconcile_cmd::run(a)?,
    }
    Ok(())
}

/// `hedui audit verify --database`: every row of the log and of the records
/// against each other, the signed checkpoints and the hub's seal. Prints
/// what was covered and every problem, naming its row; fails on any.
async fn verify_database(
    db: &str,
    key: &hedui_trust::VerifyingKey,
    fresh: Option<hedui_audit::checkpoint::SignedCheckpoint>,
    data_key: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let store = hedui_store::Store::open(db)
        .await
        .with_context(|| format!("cannot open {}", hedui_store::redact_url(db)))?;
    let store = crate::config::with_local_data_key(store, data_key, db)?;
    let report = store.check_integrity_with(key, fresh).await?;
    if !report.problems.is_empty() {
        for p in &report.problems {
            eprintln!("  {p}");
        }
        bail!(
            "VERIFICATION FAILED: {} problem(s) in {} (listed above); the database was changed outside the hub",
            report.problems.len(),
            hedui_store::redact_url(db)
        );
    }
    println!(
        "OK: {} entries: {} verified against {} signed checkpoint(s)",
        report.entries, report.signed_entries, report.checkpoints
    );
    match report.fresh_checkpoint_applied {
        Some(true) => println!("OK: the hub signed a checkpoint at verify time, and the log matches it"),
        Some(false) => println!(
            "note: the hub's fresh checkpoint covers more entries than this copy holds (the copy is older than the \
             hub's log); it was not applied"
        ),
        None => {}
    }
    if report.after_checkpoint > 0 {
        println!(
            "OK: {} entries after the last checkpoint, verified against the current tree head {} (unsigned: add \
             --fresh-from-hub <the hub's address> to have the hub sign a checkpoint now)",
            report.after_checkpoint, report.head_root_hex
        );
    }
    println!(
        "OK: {} records (every version) match their digest, the hub's seal, their index rows and the audit entry \
         that stored them; every entry that names a record names a stored one",
        report.records
    );
    Ok(())
}

/// What an export's signed scope proves, in words.
fn scope_words(s: &hedui_audit::scope::ScopeStatement) -> String {
    if s.entry_count == 0 {
        return format!("completeness: the hub found no entry for {}", s.selection);
    }
    if s.complete {
        format!(
            "completeness: proven: every entry from seq {} to {} ({} entries) of a log of {}, as the hub exported \
             them for {}",
            s.first_seq, s.last_seq, s.entry_count, s.tree_size, s.selection
        )
    } else {
        format!(
            "completeness: not proven: the export is filtered ({}); it holds the {} entries the hub selected, which \
             the hub signed, but whether the filter left out a matching entry cannot be checked offline",
            s.selection, s.entry_count
        )
    }
}

/// A checkpoint the hub at `hub` signs now, with the auditor certificate
/// from the environment.
async fn fresh_checkpoint(hub: &str) -> anyhow::Result<hedui_audit::checkpoint::SignedCheckpoint> {
    let tls = crate::client::TlsArgs {
        ca: std::env::var_os("HEDUI_CA").map(PathBuf::from),
        cert: std::env::var_os("HEDUI_CERT").map(PathBuf::from),
        key: std::env::var_os("HEDUI_KEY").map(PathBuf::from),
        crl: std::env::var_os("HEDUI_CRL").map(PathBuf::from),
    };
    let resp = AuditServiceClient::new(channel_to_hub(hub, &tls).await?)
        .get_checkpoint(GetCheckpointRequest { fresh: true })
        .await
        .map_err(explain)?
        .into_inner();
    serde_json::from_str(&resp.checkpoint_json).context("the hub's checkpoint does not parse")
}
