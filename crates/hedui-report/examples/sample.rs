//! Writes sample reports of a fictional household, for looking at the page
//! and for the print check (`check-print.sh`).
//!
//! ```text
//! cargo run -p hedui-report --example sample -- [--incomplete] [--json] [OUT]
//! ```
//!
//! Without `OUT` it writes `/tmp/report.html` (or `.json`). `--incomplete`
//! makes tax time out and the People's Bank unreachable.

#[path = "../src/fixture.rs"]
mod fixture;

use hedui_report::{ReportContext, render_html, render_json};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let incomplete = args.iter().any(|a| a == "--incomplete");
    let json = args.iter().any(|a| a == "--json");
    let out = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| if json { "/tmp/report.json" } else { "/tmp/report.html" }.to_owned());

    let record = if incomplete {
        fixture::incomplete_record()
    } else {
        fixture::rich_record()
    };
    let policy = fixture::policy();
    let ctx = ReportContext {
        bureau: "德江县民政局",
        county: "德江县",
        policy: Some(&policy),
        printed_at: "2026-11-27T01:30:00Z",
        superseded_by: None,
    };
    let text = if json {
        render_json(&record, &ctx)
    } else {
        render_html(&record, &ctx)
    };
    std::fs::write(&out, text)?;
    println!("{out}");
    Ok(())
}
