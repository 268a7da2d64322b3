//! `hedui audit reconcile`: a department's query log against a hub export.
//! Reads three files and two keys, calls `hedui_audit::reconcile`, prints
//! what was proven and every difference, and exits non-zero on any.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use hedui_audit::adapter_log::parse_checkpoints;
use hedui_audit::export::ExportBundle;
use hedui_audit::reconcile::reconcile;

/// The arguments of `hedui audit reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The hub's audit export (JSON from `hedui audit export`), ideally
    /// unfiltered over the period.
    #[arg(long)]
    hub_export: PathBuf,
    /// The hub's public key, `ed25519:<hex>` or a file holding it, as
    /// received from the bureau.
    #[arg(long)]
    key: String,
    /// The department's query log, as the adapter wrote it.
    #[arg(long)]
    adapter_log: PathBuf,
    /// The adapter's signed checkpoints; default: beside the log,
    /// `<log>.checkpoints.jsonl`.
    #[arg(long)]
    adapter_checkpoints: Option<PathBuf>,
    /// The department's log-signing public key, `ed25519:<hex>` or a file
    /// holding it, as received from the department.
    #[arg(long)]
    adapter_key: String,
    /// From this time: YYYY-MM-DD or RFC 3339 (UTC). Default: the time both
    /// logs cover.
    #[arg(long)]
    from: Option<String>,
    /// Before this time: YYYY-MM-DD or RFC 3339 (UTC, exclusive).
    #[arg(long)]
    to: Option<String>,
    /// Items this many minutes from the period's edges whose counterpart
    /// is missing are reported as unproven rather than as differences.
    #[arg(long, default_value_t = 10)]
    margin_minutes: u32,
}

/// Reads a public key given inline or as a file. A key given inline is not
/// echoed in the error: it may be a secret key pasted by mistake.
fn load_key(flag: &str, arg: &str) -> anyhow::Result<hedui_trust::VerifyingKey> {
    if arg.starts_with("ed25519") {
        return hedui_audit::checkpoint::parse_public_key(arg).map_err(|e| anyhow!("{flag}: {e}"));
    }
    let text =
        std::fs::read_to_string(arg).with_context(|| format!("{flag} {arg}: not a key and not a readable file"))?;
    hedui_audit::checkpoint::parse_public_key(text.trim()).map_err(|e| anyhow!("{flag} {arg}: {e}"))
}

fn parse_time(flag: &str, s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| anyhow!("{flag} {s:?}: expected YYYY-MM-DD or an RFC 3339 time"))
}

fn read(flag: &str, p: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("{flag} {}: cannot read", p.display()))
}

/// Runs `hedui audit reconcile`.
pub fn run(a: ReconcileArgs) -> anyhow::Result<()> {
    let hub_key = load_key("--key", &a.key)?;
    let adapter_key = load_key("--adapter-key", &a.adapter_key)?;
    let margin = chrono::Duration::minutes(i64::from(a.margin_minutes));
    let range = match (&a.from, &a.to) {
        (Some(f), Some(t)) => {
            let (from, to) = (parse_time("--from", f)?, parse_time("--to", t)?);
            if to <= from {
                bail!("--to must be after --from");
            }
            Some((from, to))
        }
        (None, None) => None,
        _ => bail!("give both --from and --to, or neither (the time both logs cover)"),
    };

    let bundle: ExportBundle = serde_json::from_str(&read("--hub-export", &a.hub_export)?)
        .map_err(|e| anyhow!("--hub-export {}: not an audit export: {e}", a.hub_export.display()))?;
    let log = read("--adapter-log", &a.adapter_log)?;
    let cp_path = a
        .adapter_checkpoints
        .clone()
        .unwrap_or_else(|| a.adapter_log.with_extension("checkpoints.jsonl"));
    let checkpoints = match std::fs::read_to_string(&cp_path) {
        Ok(text) => {
            parse_checkpoints(&text).map_err(|e| anyhow!("--adapter-checkpoints {}: {e}", cp_path.display()))?
        }
        // Reported below as "no valid signed checkpoint".
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && a.adapter_checkpoints.is_none() => Vec::new(),
        Err(e) => bail!("--adapter-checkpoints {}: {e}", cp_path.display()),
    };
    let r = reconcile(&bundle, &hub_key, &log, &checkpoints, &adapter_key, range, margin);
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    println!(
        "department {}: period {} to {}",
        if r.department.is_empty() {
            "(unknown)"
        } else {
            &r.department
        },
        fmt(r.period.from),
        fmt(r.period.to)
    );
    match &r.hub {
        Some(h) => println!(
            "hub export: {} entries verified against its signed checkpoint (tree size {}){}",
            h.entries_verified,
            h.tree_size,
            if r.hub_export_complete { ", the whole log" } else { "" }
        ),
        None => println!("hub export: DOES NOT VERIFY"),
    }
    println!(
        "adapter log: {} lines signed by the department's key, {} after the last checkpoint",
        r.adapter_signed_lines, r.adapter_unsigned_lines
    );
    println!(
        "queries the department received: {}; hub source.query entries: {}; matched: {}",
        r.received, r.hub_entries, r.matched
    );
    for n in &r.notes {
        println!("note: {n}");
    }
    if r.is_clean() {
        println!(
            "OK: every query the department received has a hub entry for the same grant, and every answer the hub logged was received"
        );
        return Ok(());
    }
    for d in &r.differences {
        println!("DIFFERENCE: {d}");
    }
    bail!(
        "{} difference(s) between the hub's log and the department's",
        r.differences.len()
    )
}
