//! The printable verification report (核对报告) of one checked record.
//!
//! [`render_html`] gives one self-contained HTML page in Chinese, laid out
//! for A4 paper, that a caseworker prints for the case file: the header, the
//! authorization (授权书), the household, each department's outcome, each
//! member's findings, the household summary against the policy, the verdict
//! with its reasons, the flags with what to check on the home visit, the
//! departments to re-check when the record is incomplete, the integrity
//! digest and room for signatures and the seal. [`render_json`] gives the
//! same content as a stable JSON document.
//!
//! The report never prints a full resident ID number: every one goes through
//! [`mask_id`]. Every text taken from the record is HTML-escaped. The page
//! loads nothing from the network (no fonts, scripts or images), so it
//! prints the same on an offline machine.

use hedui_domain::policy::Policy;
use hedui_proto::v1::{Department, Residence, Review, Verdict, VerificationRecord};

pub mod departments;
mod html;
mod json;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod percent;
pub mod words;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

/// Everything the report needs that is not in the record.
#[derive(Debug, Clone, Copy)]
pub struct ReportContext<'a> {
    /// The bureau that prints the report, e.g. "德江县民政局".
    pub bureau: &'a str,
    /// The county, e.g. "德江县".
    pub county: &'a str,
    /// The policy whose version the record names, if the caller has it, to
    /// show the thresholds. A policy of another version is not used for
    /// thresholds; the report says so.
    pub policy: Option<&'a Policy>,
    /// When the report was printed, RFC 3339 or a date; shown in the footer.
    pub printed_at: &'a str,
    /// The record that replaces this one (a re-check's newer version), when
    /// there is one: the caller reads it from the store's summary
    /// (`superseded_by`), since the record itself never changes.
    pub superseded_by: Option<&'a str>,
}

/// The report as one self-contained HTML page in Chinese, for A4 paper.
pub fn render_html(record: &VerificationRecord, ctx: &ReportContext<'_>) -> String {
    html::render(record, ctx, None)
}

/// [`render_html`] with the record's reviews (复核结果: home visits and
/// objections), listed in their own section in the order given.
pub fn render_html_with_reviews(record: &VerificationRecord, ctx: &ReportContext<'_>, reviews: &[Review]) -> String {
    html::render(record, ctx, Some(reviews))
}

/// The report as an A4 PDF with the used glyphs of `font` embedded: the
/// same content as [`render_html_with_reviews`] (reviews when given).
#[cfg(feature = "pdf")]
pub fn render_pdf(
    record: &VerificationRecord,
    ctx: &ReportContext<'_>,
    reviews: Option<&[Review]>,
    font: &pdf::CjkFont,
) -> Result<Vec<u8>, pdf::PdfError> {
    pdf::html_to_pdf(&html::render(record, ctx, reviews), &record.record_id, font)
}

/// The report's content as a stable JSON document (pretty-printed, keys in a
/// deterministic order, enums by their proto names, money in fen, ID numbers
/// masked).
pub fn render_json(record: &VerificationRecord, ctx: &ReportContext<'_>) -> String {
    json::render(record, ctx, None)
}

/// [`render_json`] with the record's reviews, as a `reviews` array.
pub fn render_json_with_reviews(record: &VerificationRecord, ctx: &ReportContext<'_>, reviews: &[Review]) -> String {
    json::render(record, ctx, Some(reviews))
}

/// Masks every character of a resident ID number but the last four:
/// `"**************583X"` for an 18-character number. A value of four
/// characters or fewer is masked entirely, since showing it would show all
/// of it.
pub fn mask_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 4 {
        return "*".repeat(n);
    }
    let mut out = "*".repeat(n - 4);
    out.extend(id.chars().skip(n - 4));
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// What both renderings compute from the record
// ---------------------------------------------------------------------------

/// The policy of the context when it is the version the record names.
fn matching_policy<'a>(record: &VerificationRecord, ctx: &ReportContext<'a>) -> Option<&'a Policy> {
    ctx.policy.filter(|p| p.version() == record.policy_version)
}

/// The departments to re-check: every department whose outcome is neither
/// OK nor NO_RECORD, and every known department with no outcome in the
/// record at all, in the record's department order.
fn recheck_departments(record: &VerificationRecord) -> Vec<Department> {
    let mut out: Vec<Department> = Vec::new();
    for d in hedui_domain::department::ALL {
        let mine: Vec<_> = record.sources.iter().filter(|s| s.department == d as i32).collect();
        if mine.is_empty() || mine.iter().any(|s| !words::answered(s.outcome)) {
            out.push(d);
        }
    }
    out
}

/// `hedui record recheck <id> --departments tax,pboc`, or `None` when there
/// is nothing to re-check.
fn recheck_command(record: &VerificationRecord, departments: &[Department]) -> Option<String> {
    if departments.is_empty() {
        return None;
    }
    let slugs: Vec<&str> = departments.iter().map(|d| hedui_domain::department::slug(*d)).collect();
    Some(format!(
        "hedui record recheck {} --departments {}",
        record.record_id,
        slugs.join(",")
    ))
}

/// The household's residence, `Unspecified` when absent or unknown.
fn residence(record: &VerificationRecord) -> Residence {
    record
        .household
        .as_ref()
        .and_then(|h| Residence::try_from(h.residence).ok())
        .unwrap_or_default()
}

/// N of "financial assets per person at most N months of the standard", as
/// the policy applied it: read from the `assets.per_capita` reason, which
/// states it as "… N months of the <residence> standard …". The policy file
/// itself does not expose N.
fn assets_months(record: &VerificationRecord) -> Option<u32> {
    let r = record.reasons.iter().find(|r| r.rule == "assets.per_capita")?;
    let before = r
        .detail
        .split(" months of the ")
        .next()
        .filter(|b| b.len() < r.detail.len())?;
    before.rsplit(' ').next()?.parse().ok()
}

/// The most serious verdict among the reasons of rules whose id is `rule`
/// or starts with `rule.`: INCOMPLETE, then DOES_NOT_MEET, then
/// NEEDS_REVIEW, then MEETS_CRITERIA. `None` when no such reason exists.
fn rule_result(record: &VerificationRecord, rule: &str) -> Option<i32> {
    let rank = |v: i32| match Verdict::try_from(v) {
        Ok(Verdict::Incomplete) => 4,
        Ok(Verdict::DoesNotMeet) => 3,
        Ok(Verdict::NeedsReview) => 2,
        Ok(Verdict::MeetsCriteria) => 0,
        Ok(Verdict::Unspecified) | Err(_) => 1,
    };
    record
        .reasons
        .iter()
        .filter(|r| r.rule == rule || r.rule.strip_prefix(rule).is_some_and(|rest| rest.starts_with('.')))
        .map(|r| r.leads_to)
        .max_by_key(|v| rank(*v))
}

/// An area in hundredths of a square metre as square metres: `12345` →
/// `"123.45"`.
fn area_m2(centi: i64) -> String {
    let sign = if centi < 0 { "-" } else { "" };
    let abs = centi.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Months `YYYY-MM` sorted, de-duplicated and collapsed into runs:
/// `["2025-11", "2025-12", "2026-01", "2026-03"]` → `["2025-11—2026-01",
/// "2026-03"]`. Values that are not months are kept as they are, at the end.
fn month_runs(months: &[&str]) -> Vec<String> {
    let parse = |m: &str| -> Option<i64> {
        let (y, mo) = m.split_once('-')?;
        if y.len() != 4 || mo.len() != 2 {
            return None;
        }
        let (y, mo): (i64, i64) = (y.parse().ok()?, mo.parse().ok()?);
        (1..=12).contains(&mo).then_some(y * 12 + mo - 1)
    };
    let mut valid: Vec<i64> = months.iter().filter_map(|m| parse(m)).collect();
    valid.sort_unstable();
    valid.dedup();
    let show = |i: i64| format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < valid.len() {
        let start = valid[i];
        while i + 1 < valid.len() && valid[i + 1] == valid[i] + 1 {
            i += 1;
        }
        let end = valid[i];
        out.push(if start == end {
            show(start)
        } else {
            format!("{}—{}", show(start), show(end))
        });
        i += 1;
    }
    let mut odd: Vec<String> = months
        .iter()
        .filter(|m| parse(m).is_none())
        .map(|m| (*m).to_owned())
        .collect();
    odd.sort();
    odd.dedup();
    out.extend(odd);
    out
}

/// A time stamp in Beijing time (UTC+8), e.g. `2026-11-26 16:05（北京时间）`,
/// when it is RFC 3339; otherwise the text as it is.
fn beijing_time(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => match chrono::FixedOffset::east_opt(8 * 3600) {
            Some(cst) => format!("{}（北京时间）", t.with_timezone(&cst).format("%Y-%m-%d %H:%M")),
            None => s.to_owned(),
        },
        Err(_) => s.to_owned(),
    }
}

/// The display name of member `index` (0-based) of the household, with its
/// 1-based number: `成员 2 田秀英`.
fn member_label(record: &VerificationRecord, index: usize) -> String {
    let name = record
        .household
        .as_ref()
        .and_then(|h| h.members.get(index))
        .map(|m| m.name.as_str());
    match name {
        Some(n) => format!("成员 {} {}", index + 1, n),
        None => format!("成员 {}", index + 1),
    }
}

/// The household member with this ID number (compared ignoring the case of
/// a trailing `x`), as its 0-based index.
fn member_by_id(record: &VerificationRecord, id: &str) -> Option<usize> {
    record
        .household
        .as_ref()?
        .members
        .iter()
        .position(|m| m.id_number.eq_ignore_ascii_case(id))
}
