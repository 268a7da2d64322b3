//! `hedui record review`, `recheck` and `history`: reviews and re-checks of
//! records (复核), and the hint an INCOMPLETE record prints.

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

use crate::cli::{ClientArgs, Output, RecordSource, ReportFormat, connect, explain, open_local};
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
            let store = open_local(db).await?;
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
    let record = crate::cli::fetch_record(&a.id, &a.source).await?;
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
mod tests {
    use super::*;
    use hedui_proto::v1::{RecordChange, RecordSummary, Review, SourceOutcome, SourceResult};

    #[test]
    fn an_incomplete_record_says_how_to_complete_it() {
        let mut r = VerificationRecord {
            record_id: "0199c0de-0000-7000-8000-000000000001".into(),
            verdict: Verdict::Incomplete as i32,
            ..Default::default()
        };
        for d in hedui_domain::department::ALL {
            let outcome = match d {
                Department::Tax => SourceOutcome::Timeout,
                Department::Pboc => SourceOutcome::Unavailable,
                _ => SourceOutcome::Ok,
            };
            r.sources.push(SourceResult {
                department: d as i32,
                outcome: outcome as i32,
                ..Default::default()
            });
        }
        let hint = incomplete_hint(&r);
        assert!(hint.contains("tax                 timeout"), "{hint}");
        assert!(hint.contains("pboc                unavailable"), "{hint}");
        assert!(
            hint.contains("hedui record recheck 0199c0de-0000-7000-8000-000000000001 --departments tax,pboc"),
            "{hint}"
        );
        r.verdict = Verdict::NeedsReview as i32;
        assert_eq!(incomplete_hint(&r), "");
    }

    #[test]
    fn a_bad_department_is_refused_with_the_valid_slugs() {
        let e = parse_departments("tax,tx").unwrap_err();
        assert!(e.contains("\"tx\"") && e.contains("public-security"), "{e}");
        assert_eq!(parse_departments("pboc").unwrap().0, [Department::Pboc]);
    }

    #[test]
    fn history_and_changes_read_in_order() {
        let h = GetRecordHistoryResponse {
            versions: vec![
                RecordSummary {
                    record_id: "v1".into(),
                    version: 1,
                    verdict: Verdict::Incomplete as i32,
                    ..Default::default()
                },
                RecordSummary {
                    record_id: "v2".into(),
                    version: 2,
                    previous_record_id: "v1".into(),
                    verdict: Verdict::MeetsCriteria as i32,
                    ..Default::default()
                },
            ],
            reviews: vec![Review {
                record_id: "v2".into(),
                outcome: ReviewOutcome::Objection as i32,
                note: "户主不认可".into(),
                reviewer: "caseworker:zhang.san".into(),
                ..Default::default()
            }],
        };
        let text = history_text(&h);
        let v1 = text.find("INCOMPLETE").unwrap();
        let v2 = text.find("MEETS_CRITERIA").unwrap();
        assert!(v1 < v2, "{text}");
        assert!(
            text.contains("objection  by caseworker:zhang.san on record v2"),
            "{text}"
        );
        assert!(text.contains("户主不认可"), "{text}");
        let c = changes_text(&RecheckRecordResponse {
            asked: vec![Department::Tax as i32],
            changes: vec![RecordChange {
                what: "verdict".into(),
                before: "INCOMPLETE".into(),
                after: "MEETS_CRITERIA".into(),
            }],
            ..Default::default()
        });
        assert!(c.contains("Asked again: tax"), "{c}");
        assert!(c.contains("verdict: INCOMPLETE → MEETS_CRITERIA"), "{c}");
    }

    #[test]
    fn the_report_format_comes_from_the_flag_or_the_extension_and_they_must_agree() {
        use crate::cli::ReportFormat::{Html, Json, Pdf};
        let f = |format, out: Option<&str>| report_format(format, out.map(Path::new));
        assert_eq!(f(None, None).unwrap(), Html);
        assert_eq!(f(None, Some("report.pdf")).unwrap(), Pdf);
        assert_eq!(f(None, Some("report.PDF")).unwrap(), Pdf);
        assert_eq!(f(None, Some("r.json")).unwrap(), Json);
        assert_eq!(f(None, Some("r.htm")).unwrap(), Html);
        assert_eq!(f(Some(Pdf), Some("r.pdf")).unwrap(), Pdf);
        assert_eq!(f(Some(Json), Some("report")).unwrap(), Json);
        let err = f(Some(Html), Some("report.pdf")).unwrap_err().to_string();
        assert!(err.contains(".pdf") && err.contains("--format is html"), "{err}");
        let err = f(None, Some("report.txt")).unwrap_err().to_string();
        assert!(err.contains(".txt") && err.contains(".html, .pdf or .json"), "{err}");
    }

    #[cfg(feature = "pdf")]
    #[test]
    fn a_missing_font_is_a_clear_error() {
        let err = load_cjk_font(Some(Path::new("/nonexistent/font.ttc")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--font /nonexistent/font.ttc"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("x.ttf");
        std::fs::write(&bad, b"not a font").unwrap();
        let err = load_cjk_font(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("not a TrueType/OpenType font"), "{err}");
    }
}

/// The most records one ListRecords call returns.
const MOST_LISTED: u32 = 1000;

/// One page of `record list`: ListRecords has no cursor, only a limit of
/// at most 1000 newest-first records, so page N asks for the first
/// N × limit + 1 records and shows the last `limit` of them; the one extra
/// record tells whether more match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    page: u32,
    limit: u32,
}

impl Page {
    /// Page `page` (from 1) of `limit` records; an error when it starts
    /// beyond the newest 1000 records the hub lists.
    pub fn new(page: u32, limit: u32) -> anyhow::Result<Page> {
        let limit = limit.clamp(1, MOST_LISTED);
        let skipped = u64::from(page.max(1) - 1) * u64::from(limit);
        if skipped >= u64::from(MOST_LISTED) {
            bail!(
                "--page {page}: with --limit {limit} it starts after record {skipped}, but the hub lists only the newest {MOST_LISTED} matching records; narrow with --to (the day of the oldest record you have seen) or --from"
            );
        }
        Ok(Page {
            page: page.max(1),
            limit,
        })
    }

    /// How many records to ask for.
    pub fn fetch(&self) -> u32 {
        (u64::from(self.page) * u64::from(self.limit) + 1).min(u64::from(MOST_LISTED)) as u32
    }

    /// The records of this page out of the fetched ones, and a line saying
    /// whether more match and how to see them.
    pub fn cut<T: Listed>(&self, mut records: Vec<T>) -> (Vec<T>, Option<String>) {
        let fetched = records.len();
        let first = (self.page as usize - 1) * self.limit as usize;
        let end = (first + self.limit as usize).min(fetched);
        let shown: Vec<T> = if first < fetched {
            records.drain(first..end).collect()
        } else {
            Vec::new()
        };
        let range = format!("records {}–{}", first + 1, end);
        let line = if shown.is_empty() {
            (self.page > 1).then(|| format!("page {} is empty: {fetched} records match", self.page))
        } else if fetched > end {
            Some(format!(
                "showing {range}; more match: add --page {} for the next {}",
                self.page + 1,
                self.limit
            ))
        } else if fetched == MOST_LISTED as usize && fetched == end && self.fetch() == MOST_LISTED {
            // The hub's limit was reached: whether more match is unknown.
            let oldest = shown.last().map(Listed::day).unwrap_or_default();
            Some(format!(
                "showing {range}; more may match beyond the newest {MOST_LISTED} the hub lists: add --to {oldest} (records of that day show again)"
            ))
        } else {
            None
        };
        (shown, line)
    }
}

/// A listed record: its day, for the hint of [`Page::cut`].
pub trait Listed {
    /// `YYYY-MM-DD` of its creation.
    fn day(&self) -> String;
}

impl Listed for hedui_proto::v1::RecordSummary {
    fn day(&self) -> String {
        self.created_at.get(..10).unwrap_or_default().to_owned()
    }
}

#[cfg(test)]
mod page_tests {
    use super::*;

    impl Listed for u32 {
        fn day(&self) -> String {
            format!("day{self}")
        }
    }

    fn list(n: u32) -> Vec<u32> {
        (1..=n).collect()
    }

    #[test]
    fn pages_say_when_more_match() {
        let p = Page::new(1, 2).unwrap();
        assert_eq!(p.fetch(), 3);
        assert_eq!(
            p.cut(list(3)),
            (
                vec![1, 2],
                Some("showing records 1–2; more match: add --page 2 for the next 2".into())
            )
        );
        assert_eq!(p.cut(list(2)), (vec![1, 2], None));
        let p2 = Page::new(2, 2).unwrap();
        assert_eq!(p2.fetch(), 5);
        assert_eq!(p2.cut(list(4)), (vec![3, 4], None));
        assert_eq!(p2.cut(list(3)), (vec![3], None));
        assert_eq!(
            p2.cut(list(2)),
            (vec![], Some("page 2 is empty: 2 records match".into()))
        );
        assert_eq!(Page::new(1, 5).unwrap().cut(Vec::<u32>::new()), (vec![], None));
    }

    #[test]
    fn the_hubs_limit_of_1000_is_said() {
        let p = Page::new(10, 100).unwrap();
        assert_eq!(p.fetch(), 1000);
        let (shown, line) = p.cut(list(1000));
        assert_eq!(shown.len(), 100);
        assert!(line.unwrap().contains("add --to day1000"));
        // Fewer than 1000: the end is known.
        assert_eq!(p.cut(list(950)).1, None);
        let p = Page::new(1, 1000).unwrap();
        assert!(p.cut(list(1000)).1.unwrap().contains("more may match"));
        let e = Page::new(11, 100).unwrap_err().to_string();
        assert!(e.starts_with("--page 11:") && e.contains("--to"), "{e}");
        assert_eq!(Page::new(1, 0).unwrap().fetch(), 2);
    }
}
