//! `hedui report departments`: the departments' service report for the
//! county joint meeting office, from the stored records.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use clap::Subcommand;
use hedui_report::departments::{Tally, render_csv, render_html, render_text};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Per department over a period: queries, share answered, timeouts and
    /// errors, p50/p95 latency and the age of the data.
    Departments {
        /// First day, YYYY-MM-DD (UTC, by the day each record was made).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD, included.
        #[arg(long)]
        to: String,
        /// The hub's database: sqlite://PATH, a file path, or postgres://….
        #[arg(long, env = "HEDUI_DATABASE_URL")]
        database: String,
        /// Write to this file: .html (Chinese, for printing) or .csv (UTF-8
        /// with a byte-order mark). Without it, a table goes to stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The county printed at the top of the HTML page.
        #[arg(long, env = "HEDUI_COUNTY", default_value = "德江县")]
        county: String,
    },
}

pub async fn run(c: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Departments {
        from,
        to,
        database,
        out,
        county,
    } = c;
    let day = |s: &str, flag: &str| hedui_domain::window::parse_date(s).map_err(|e| anyhow!("--{flag}: {e}"));
    let (from, to) = (day(&from, "from")?, day(&to, "to")?);
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    let format = match &out {
        None => Format::Text,
        Some(p) => match p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("html" | "htm") => Format::Html,
            Some("csv") => Format::Csv,
            _ => bail!("--out {}: the name must end in .html or .csv", p.display()),
        },
    };
    let store = open_read_only(&database).await?;
    let mut tally = Tally::new(from, to);
    let before = to
        .succ_opt()
        .ok_or_else(|| anyhow!("--to {to}: too far in the future"))?;
    store
        .for_each_record_created(from, before, |r| tally.add(&r))
        .await
        .with_context(|| format!("reading records from {}", hedui_store::redact_url(&database)))?;
    store.close().await;
    let report = tally.finish();
    let printed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text = match format {
        Format::Text => render_text(&report),
        Format::Csv => render_csv(&report),
        Format::Html => render_html(&report, &county, &printed_at),
    };
    match out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "department report for {from} to {to} ({} records) written to {}",
                report.records,
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Opens the database without migrating it: a report never changes the
/// schema of the database it reads.
async fn open_read_only(database: &str) -> anyhow::Result<hedui_store::Store> {
    let shown = hedui_store::redact_url(database);
    let is_server = database.starts_with("postgres://") || database.starts_with("postgresql://");
    let path = database.strip_prefix("sqlite://").unwrap_or(database);
    if !is_server && !std::path::Path::new(path).exists() {
        bail!("--database {shown}: no such file");
    }
    let store = hedui_store::Store::open_without_migrating(database)
        .await
        .with_context(|| format!("--database {shown}"))?;
    if store.schema_version().await? == 0 {
        store.close().await;
        bail!("--database {shown}: not a hedui database (it has no hedui schema)");
    }
    Ok(store)
}

enum Format {
    Text,
    Csv,
    Html,
}
