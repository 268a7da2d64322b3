//! `hedui report departments`: the departments' service report for the
//! county joint meeting office, of one quarter in China Standard Time
//! against the one before, asked of the hub (`AuditService/
//! GetDepartmentReport`, admins only) over the usual client connection, so
//! no database password is needed.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use clap::Subcommand;
use hedui_proto::v1::GetDepartmentReportRequest;
use hedui_proto::v1::audit_service_client::AuditServiceClient;
use hedui_report::departments::{render_csv, render_html, render_text};

use crate::client::{ClientArgs, Output, channel_to_hub, explain};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Per department over a quarter, compared with the quarter before:
    /// queries the hub sent, share answered, timeouts, outages, errors,
    /// refusals, p50/p95 latency. Counted by the hub from the audit log;
    /// needs an admin certificate.
    Departments {
        /// The quarter, e.g. 2026Q4, in China Standard Time (2026Q4 is
        /// 1 October 00:00 to 1 January 00:00 in Beijing).
        #[arg(long)]
        quarter: String,
        /// Write to this file: .html (Chinese, for printing) or .csv (UTF-8
        /// with a byte-order mark). Without it, a table (or with --output
        /// json, the hub's answer) goes to stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The county printed at the top of the HTML page.
        #[arg(long, env = "HEDUI_COUNTY", default_value = "德江县")]
        county: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn run(c: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Departments {
        quarter,
        out,
        county,
        client,
    } = c;
    // Checked here as well as at the hub, so a typo is named before any
    // connection is made.
    let quarter = hedui_domain::quarter::Quarter::parse(&quarter).map_err(|e| anyhow!("--quarter: {e}"))?;
    let format = match &out {
        None => None,
        Some(p) => Some(format_of(p)?),
    };
    let mut hub = AuditServiceClient::new(channel_to_hub(&client.hub, &client.tls).await?);
    let report = hub
        .get_department_report(GetDepartmentReportRequest {
            quarter: quarter.to_string(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    let (Some(path), Some(format)) = (out, format) else {
        match client.output {
            Output::Human => print!("{}", render_text(&report)),
            Output::Json | Output::Jsonl => crate::output::one(
                &crate::output::message(&report, "hedui.v1.GetDepartmentReportResponse"),
                client.output,
            ),
        }
        return Ok(());
    };
    let text = match format {
        Format::Html => render_html(&report, &county),
        Format::Csv => render_csv(&report),
    };
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let households = report.current.as_ref().map_or(0, |p| p.requests);
    eprintln!(
        "department report for {quarter} ({households} households verified), compared with {}, written to {}",
        quarter.previous(),
        path.display()
    );
    Ok(())
}

enum Format {
    Csv,
    Html,
}

/// The file's format from its name.
fn format_of(p: &std::path::Path) -> anyhow::Result<Format> {
    match p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => Ok(Format::Html),
        Some("csv") => Ok(Format::Csv),
        _ => bail!("--out {}: the name must end in .html or .csv", p.display()),
    }
}
