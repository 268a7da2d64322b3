//! `hedui verify` and all of `hedui record`: show, list, report, verify,
//! review and re-check (复核), history, and the hint an INCOMPLETE record
//! prints. Paging of `record list` is in [`page`].

mod page;
pub use page::Page;

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use hedui_domain::department::slug;
use hedui_domain::recheck::{outcome_words, unanswered, verdict_words, version_of};
use hedui_domain::review::outcome_slug;
use hedui_proto::v1::{
    Department, GetRecordHistoryRequest, GetRecordHistoryResponse, RecheckRecordRequest, RecheckRecordResponse,
    ReviewOutcome, ReviewRecordRequest, Verdict, VerificationRecord,
};

use clap::{Args, Subcommand, ValueEnum};
use hedui_domain::ids::ResidentId;
use hedui_proto::v1::{GetRecordRequest, ListRecordsRequest, RecordSummary};
use hedui_store::{ListFilter, Store};

use crate::client::{ClientArgs, Output, connect, explain};
use crate::household_file;
use crate::render;

/// Departments given as `tax,pboc`, checked when the command line is parsed.
#[derive(Debug, Clone)]
pub struct DepartmentList(pub Vec<Department>);

/// Parses `--departments`: comma-separated names (`tax,pboc`, `税务,人行`);
/// an unknown one is refused with the accepted names before anything is
/// sent.
pub fn parse_departments(s: &str) -> Result<DepartmentList, String> {
    hedui_domain::words::parse_list(s).map(DepartmentList)
}

/// Parses `--outcome`: confirmed, corrected or objection (确认, 更正, 异议).
pub fn parse_outcome(s: &str) -> Result<ReviewOutcome, String> {
    hedui_domain::words::parse(s)
}

fn check_id(id: &str) -> anyhow::Result<()> {
    uuid::Uuid::parse_str(id).map_err(|_| anyhow!("record id {id:?} is not a UUID"))?;
    Ok(())
}

/// `hedui record review`: records a review and prints it.
pub async fn review(
    id: String,
    outcome: ReviewOutcome,
    note: Option<String>,
    client: &ClientArgs,
) -> anyhow::Result<()> {
    check_id(&id)?;
    let note = note.unwrap_or_default();
    // The same rules as the hub, so a bad note is named without a network trip.
    hedui_domain::review::parse(outcome as i32, &note).map_err(|e| {
        let lines: Vec<String> = e
            .violations
            .iter()
            .map(|v| format!("  --{}: {}", v.field, v.description))
            .collect();
        anyhow!("the review is invalid:\n{}", lines.join("\n"))
    })?;
    let review = connect(client)
        .await?
        .review_record(ReviewRecordRequest {
            record_id: id,
            outcome: outcome as i32,
            note,
        })
        .await
        .map_err(explain)?
        .into_inner()
        .review
        .ok_or_else(|| anyhow!("the hub answered without the review"))?;
    match client.output {
        Output::Json | Output::Jsonl => {
            crate::output::one(&crate::output::message(&review, "hedui.v1.Review"), client.output)
        }
        Output::Human => println!(
            "review {} of record {} stored: {} by {} at {}{}",
            review.review_id,
            review.record_id,
            outcome_slug(ReviewOutcome::try_from(review.outcome).unwrap_or_default()),
            review.reviewer,
            review.created_at,
            if review.note.is_empty() {
                String::new()
            } else {
                format!("\n  note: {}", review.note)
            }
        ),
    }
    Ok(())
}

/// `hedui record recheck`: asks departments again and prints the new version
/// and what changed.
pub async fn recheck(
    id: String,
    departments: Option<DepartmentList>,
    idempotency_key: Option<String>,
    client: &ClientArgs,
) -> anyhow::Result<()> {
    check_id(&id)?;
    let key = idempotency_key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let req = RecheckRecordRequest {
        record_id: id,
        departments: departments
            .map(|d| d.0.iter().map(|d| *d as i32).collect())
            .unwrap_or_default(),
        idempotency_key: key.clone(),
    };
    let resp = connect(client)
        .await?
        .recheck_record(req)
        .await
        .map_err(explain)?
        .into_inner();
    match client.output {
        Output::Json | Output::Jsonl => crate::output::one(
            &crate::output::message(&resp, "hedui.v1.RecheckRecordResponse"),
            client.output,
        ),
        Output::Human => {
            let record = resp
                .record
                .as_ref()
                .ok_or_else(|| anyhow!("the hub answered without a record"))?;
            print!("{}", render::record(record));
            print!("{}", version_line(record));
            print!("{}", changes_text(&resp));
            if resp.replayed {
                println!("(this version was made earlier for idempotency key {key}; nothing was queried again)");
            } else {
                println!("idempotency key: {key} (reuse it with --idempotency-key to retry safely)");
            }
            print!("{}", incomplete_hint(record));
        }
    }
    Ok(())
}

/// `hedui record history`: every version and every review, in order.
pub async fn history(id: String, client: &ClientArgs) -> anyhow::Result<()> {
    check_id(&id)?;
    let resp = connect(client)
        .await?
        .get_record_history(GetRecordHistoryRequest { record_id: id })
        .await
        .map_err(explain)?
        .into_inner();
    match client.output {
        Output::Json | Output::Jsonl => crate::output::one(
            &crate::output::message(&resp, "hedui.v1.GetRecordHistoryResponse"),
            client.output,
        ),
        Output::Human => print!("{}", history_text(&resp)),
    }
    Ok(())
}

/// The reviews of one record, in the order made, and the record that
/// replaces it (a re-check's newer version) when there is one, from the hub
/// or from a local database file (for `hedui record report` and `show`).
pub async fn reviews_and_successor(
    id: &str,
    source: &RecordSource,
) -> anyhow::Result<(Vec<hedui_proto::v1::Review>, Option<String>)> {
    let id = &uuid::Uuid::parse_str(id)
        .map_err(|_| anyhow!("record id {id:?} is not a UUID"))?
        .to_string();
    let (reviews, versions) = match &source.database {
        Some(db) => {
            let store = open_local(db, source.data_key.as_deref()).await?;
            (store.reviews(id).await?, store.lineage(id).await?)
        }
        None => {
            let history = connect(&source.client)
                .await?
                .get_record_history(GetRecordHistoryRequest {
                    record_id: id.to_owned(),
                })
                .await
                .map_err(explain)?
                .into_inner();
            let reviews = history.reviews.into_iter().filter(|r| &r.record_id == id).collect();
            (reviews, history.versions)
        }
    };
    let successor = versions
        .iter()
        .find(|v| &v.record_id == id)
        .map(|v| v.superseded_by.clone())
        .filter(|s| !s.is_empty());
    Ok((reviews, successor))
}

/// What `hedui record report` was asked.
pub struct ReportArgs {
    pub id: String,
    pub format: Option<ReportFormat>,
    pub out: Option<PathBuf>,
    pub font: Option<PathBuf>,
    pub bureau: String,
    pub county: String,
    pub policy: Option<PathBuf>,
    pub source: RecordSource,
}

/// The format of the report: the one asked for, else the one the output
/// file's extension names, else HTML. An extension that names another
/// format, or none this command writes, is an error: a file called
/// `report.pdf` that holds HTML helps nobody.
pub fn report_format(format: Option<ReportFormat>, out: Option<&Path>) -> anyhow::Result<ReportFormat> {
    let ext = out
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let named = match ext.as_deref() {
        None => None,
        Some("html" | "htm") => Some(ReportFormat::Html),
        Some("json") => Some(ReportFormat::Json),
        Some("pdf") => Some(ReportFormat::Pdf),
        Some(other) => bail!("-o: cannot write a report as .{other}; use .html, .pdf or .json"),
    };
    match (format, named) {
        (Some(f), Some(n)) if f != n => bail!(
            "-o: the file ends in .{} but --format is {}; make them match",
            ext.unwrap_or_default(),
            format_name(f)
        ),
        (Some(f), _) => Ok(f),
        (None, Some(n)) => Ok(n),
        (None, None) => Ok(ReportFormat::Html),
    }
}

fn format_name(f: ReportFormat) -> &'static str {
    match f {
        ReportFormat::Html => "html",
        ReportFormat::Json => "json",
        ReportFormat::Pdf => "pdf",
    }
}

/// The CJK font for a PDF: `--font` (or HEDUI_CJK_FONT) when given, else
/// the first Debian font package's file that exists.
#[cfg(feature = "pdf")]
pub fn load_cjk_font(explicit: Option<&Path>) -> anyhow::Result<hedui_report::pdf::CjkFont> {
    let read = |path: &Path| -> anyhow::Result<hedui_report::pdf::CjkFont> {
        let data = std::fs::read(path).with_context(|| format!("--font {}", path.display()))?;
        hedui_report::pdf::CjkFont::from_bytes(data).map_err(|e| anyhow!("--font {}: {e}", path.display()))
    };
    if let Some(path) = explicit {
        return read(path);
    }
    for path in hedui_report::pdf::DEBIAN_CJK_FONTS {
        let path = Path::new(path);
        if path.exists() {
            return read(path);
        }
    }
    bail!(
        "no CJK font found for the PDF (tried {}); install one (apt-get install fonts-noto-cjk) or give --font FILE",
        hedui_report::pdf::DEBIAN_CJK_FONTS.join(", ")
    )
}

/// `hedui record report`: the 核对报告 of one record, with its reviews and
/// the version that replaces it, as HTML, PDF or JSON.
pub async fn report(a: ReportArgs) -> anyhow::Result<()> {
    let format = report_format(a.format, a.out.as_deref())?;
    if format == ReportFormat::Pdf && a.out.is_none() && std::io::stdout().is_terminal() {
        bail!("a PDF is not shown on a terminal; give -o FILE.pdf or redirect the output");
    }
    let record = crate::record_cmd::fetch_record(&a.id, &a.source).await?;
    let policy = a.policy.as_deref().map(crate::config::load_policy).transpose()?;
    let printed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (reviews, superseded_by) = reviews_and_successor(&a.id, &a.source).await?;
    let ctx = hedui_report::ReportContext {
        bureau: &a.bureau,
        county: &a.county,
        policy: policy.as_ref(),
        printed_at: &printed_at,
        superseded_by: superseded_by.as_deref(),
    };
    let bytes = match format {
        ReportFormat::Html => hedui_report::render_html_with_reviews(&record, &ctx, &reviews).into_bytes(),
        ReportFormat::Json => hedui_report::render_json_with_reviews(&record, &ctx, &reviews).into_bytes(),
        ReportFormat::Pdf => pdf_bytes(&record, &ctx, &reviews, a.font.as_deref())?,
    };
    match a.out {
        Some(path) => {
            // Written beside the target and renamed over it: never half a file.
            let tmp = path.with_extension(format!("{}.part", format_name(format)));
            std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
            let how = match format {
                ReportFormat::Html => " (print on A4 from a browser)",
                ReportFormat::Pdf => " (A4)",
                ReportFormat::Json => "",
            };
            eprintln!("report written to {}{how}", path.display());
        }
        None => std::io::stdout().write_all(&bytes).context("cannot write the report")?,
    }
    Ok(())
}

/// The report as a PDF with the CJK font's used glyphs embedded.
#[cfg(feature = "pdf")]
fn pdf_bytes(
    record: &VerificationRecord,
    ctx: &hedui_report::ReportContext<'_>,
    reviews: &[hedui_proto::v1::Review],
    font: Option<&Path>,
) -> anyhow::Result<Vec<u8>> {
    let font = load_cjk_font(font)?;
    Ok(hedui_report::render_pdf(record, ctx, Some(reviews), &font)?)
}

#[cfg(not(feature = "pdf"))]
fn pdf_bytes(
    _: &VerificationRecord,
    _: &hedui_report::ReportContext<'_>,
    _: &[hedui_proto::v1::Review],
    _: Option<&Path>,
) -> anyhow::Result<Vec<u8>> {
    bail!("this hedui was built without PDF support (the pdf feature); use --format html")
}

/// For a version a re-check replaced: which version replaces it, as one
/// line in the chosen language. Empty for the latest version.
pub fn superseded_line(r: &VerificationRecord, superseded_by: Option<&str>) -> String {
    match superseded_by {
        None => String::new(),
        Some(next) => match render::lang() {
            hedui_i18n::Lang::Zh => format!(
                "本记录已被第 {} 版（记录 {next}）替代，请以最新版本为准\n",
                version_of(r) + 1
            ),
            hedui_i18n::Lang::En => format!("Replaced by version {} ({next}); use the latest\n", version_of(r) + 1),
        },
    }
}

/// The version of a record and the one it replaces, as one line.
pub fn version_line(r: &VerificationRecord) -> String {
    if r.previous_record_id.is_empty() {
        format!("Version {}\n", version_of(r))
    } else {
        format!("Version {} (replaces {})\n", version_of(r), r.previous_record_id)
    }
}

/// What a re-check changed, one line each.
pub fn changes_text(resp: &RecheckRecordResponse) -> String {
    let mut o = String::new();
    let asked: Vec<&str> = resp
        .asked
        .iter()
        .map(|d| slug(Department::try_from(*d).unwrap_or_default()))
        .collect();
    let _ = writeln!(o, "\nAsked again: {}", asked.join(", "));
    if resp.changes.is_empty() {
        let _ = writeln!(o, "Changes from the previous version: none");
    } else {
        let _ = writeln!(o, "Changes from the previous version:");
        for c in &resp.changes {
            let _ = writeln!(o, "  {}: {} → {}", c.what, c.before, c.after);
        }
    }
    o
}

/// For an INCOMPLETE record: which departments did not answer and the exact
/// command that asks them again. Empty for any other verdict.
pub fn incomplete_hint(r: &VerificationRecord) -> String {
    if r.verdict != Verdict::Incomplete as i32 {
        return String::new();
    }
    let missing = unanswered(r);
    if missing.is_empty() {
        return String::new();
    }
    let mut o = String::new();
    let _ = writeln!(o, "\nINCOMPLETE: these departments did not answer:");
    for d in &missing {
        let outcome = r
            .sources
            .iter()
            .find(|s| s.department == *d as i32)
            .map(|s| outcome_words(s.outcome))
            .unwrap_or_else(|| "absent".to_owned());
        let _ = writeln!(o, "  {:<19} {outcome}", slug(*d));
    }
    let slugs: Vec<&str> = missing.iter().map(|d| slug(*d)).collect();
    let _ = writeln!(
        o,
        "To complete it, re-check them (if no later version exists: see hedui record history):"
    );
    let _ = writeln!(
        o,
        "  hedui record recheck {} --departments {}",
        r.record_id,
        slugs.join(",")
    );
    o
}

/// Versions (oldest first) and reviews (in the order made) as text.
pub fn history_text(h: &GetRecordHistoryResponse) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Versions (oldest first):");
    let _ = writeln!(
        o,
        "  {:<4} {:<36}  {:<24}  {:<14}  REPLACES",
        "VER", "RECORD", "CREATED", "VERDICT"
    );
    for v in &h.versions {
        let _ = writeln!(
            o,
            "  {:<4} {:<36}  {:<24}  {:<14}  {}",
            v.version.max(1),
            v.record_id,
            v.created_at,
            verdict_words(v.verdict),
            if v.previous_record_id.is_empty() {
                "-"
            } else {
                v.previous_record_id.as_str()
            }
        );
    }
    if h.reviews.is_empty() {
        let _ = writeln!(o, "Reviews: none");
    } else {
        let _ = writeln!(o, "Reviews (in the order made):");
        for r in &h.reviews {
            let _ = writeln!(
                o,
                "  {}  {:<10} by {} on record {}",
                r.created_at,
                outcome_slug(ReviewOutcome::try_from(r.outcome).unwrap_or_default()),
                r.reviewer,
                r.record_id
            );
            if !r.note.is_empty() {
                let _ = writeln!(o, "      {}", r.note);
            }
        }
    }
    o
}

#[cfg(test)]
mod tests;

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
    /// With --database: the hub's data key file (default: keys/data.key
    /// beside an SQLite database file).
    #[arg(long, requires = "database")]
    pub data_key: Option<std::path::PathBuf>,
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

pub async fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let mut req = household_file::read(&a.file, today)?;
    if let Some(k) = a.idempotency_key {
        req.idempotency_key = k;
    }
    // Check locally first, so a bad file is reported without a network trip
    // and with the same wording the hub would use.
    let checked = hedui_trust::submission::parse(&req, today)
        .map_err(hedui_hub::service::HubError::from)
        .and_then(|(sub, auth)| {
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

pub async fn record(c: RecordCommand) -> anyhow::Result<()> {
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
                    open_local(db, source.data_key.as_deref())
                        .await?
                        .list_records(&filter)
                        .await?
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

pub async fn open_local(db: &str, data_key: Option<&std::path::Path>) -> anyhow::Result<Store> {
    let is_server = db.starts_with("postgres://") || db.starts_with("postgresql://");
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    if !is_server && !path.contains(":memory:") && !std::path::Path::new(path).exists() {
        bail!("--database {db}: no such file");
    }
    let store = Store::open(db)
        .await
        .with_context(|| format!("--database {}", hedui_store::redact_url(db)))?;
    crate::config::with_local_data_key(store, data_key, db)
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
        Some(db) => open_local(db, source.data_key.as_deref())
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
