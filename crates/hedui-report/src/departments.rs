//! The departments' service report (部门核对服务情况): for the county joint
//! meeting office (联席会议办公室), which supervises the partner
//! departments, per department over a period: how many queries it was sent,
//! the share it answered (OK or NO_RECORD), its timeouts, outages, errors
//! and refusals, its p50 and p95 latency, and how old its data was.
//!
//! The source of truth is the stored records: every record keeps one
//! `SourceResult` per department with its outcome, latency and data date.
//! [`Tally`] takes records one at a time (the caller streams them), and
//! [`Tally::finish`] computes the figures. Nothing here holds personal data:
//! only departments and counts.

use std::fmt::Write as _;

use chrono::NaiveDate;
use hedui_domain::department::{ALL, name_zh, slug};
use hedui_proto::v1::{Department, SourceOutcome, VerificationRecord};

use crate::escape;

/// The figures of one department over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentRow {
    /// The department.
    pub department: Department,
    /// Queries sent (one per record that lists the department).
    pub queries: u64,
    /// Answered with data.
    pub ok: u64,
    /// Answered "no such person / nothing held".
    pub no_record: u64,
    /// No answer within the deadline.
    pub timeouts: u64,
    /// Could not be reached.
    pub unavailable: u64,
    /// Answered with an error or a malformed reply.
    pub errors: u64,
    /// Refused the query (for example a grant it did not accept).
    pub refused: u64,
    /// Median latency in ms, over every query (answered or not).
    pub p50_ms: Option<u32>,
    /// 95th percentile latency in ms.
    pub p95_ms: Option<u32>,
    /// Median age of the data in days (record day minus `data_as_of`), over
    /// the answers that gave a data date.
    pub data_age_median_days: Option<i64>,
    /// Oldest data in days.
    pub data_age_max_days: Option<i64>,
}

impl DepartmentRow {
    /// Answered (OK or NO_RECORD) as a share of queries, 0 to 1; `None`
    /// when no query was sent.
    pub fn answered_share(&self) -> Option<f64> {
        (self.queries > 0).then(|| (self.ok + self.no_record) as f64 / self.queries as f64)
    }
}

/// The report over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentReport {
    /// First day (UTC) of the period.
    pub from: NaiveDate,
    /// Last day (UTC) of the period, included.
    pub to: NaiveDate,
    /// Records made in the period.
    pub records: u64,
    /// One row per department, in the usual department order.
    pub rows: Vec<DepartmentRow>,
}

#[derive(Default)]
struct Counts {
    outcomes: [u64; 6],
    latencies: Vec<u32>,
    ages: Vec<i64>,
}

/// Accumulates records into the report's figures.
pub struct Tally {
    from: NaiveDate,
    to: NaiveDate,
    records: u64,
    counts: Vec<Counts>,
}

const OUTCOMES: [SourceOutcome; 6] = [
    SourceOutcome::Ok,
    SourceOutcome::NoRecord,
    SourceOutcome::Timeout,
    SourceOutcome::Unavailable,
    SourceOutcome::Error,
    SourceOutcome::Refused,
];

impl Tally {
    /// An empty tally for the period `from..=to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Tally {
            from,
            to,
            records: 0,
            counts: ALL.iter().map(|_| Counts::default()).collect(),
        }
    }

    /// Counts one record.
    pub fn add(&mut self, record: &VerificationRecord) {
        self.records += 1;
        let made = record.created_at.get(..10).and_then(|d| d.parse::<NaiveDate>().ok());
        for s in &record.sources {
            let Some(i) = ALL.iter().position(|d| *d as i32 == s.department) else {
                continue;
            };
            let c = &mut self.counts[i];
            // An outcome this build does not know counts as an error.
            let o = OUTCOMES.iter().position(|o| *o as i32 == s.outcome).unwrap_or(4);
            c.outcomes[o] += 1;
            c.latencies.push(s.latency_ms);
            if let (Some(made), Ok(as_of)) = (made, s.data_as_of.parse::<NaiveDate>()) {
                c.ages.push((made - as_of).num_days());
            }
        }
    }

    /// The figures.
    pub fn finish(self) -> DepartmentReport {
        let rows = ALL
            .iter()
            .zip(self.counts)
            .map(|(d, mut c)| {
                c.latencies.sort_unstable();
                c.ages.sort_unstable();
                let [ok, no_record, timeouts, unavailable, errors, refused] = c.outcomes;
                DepartmentRow {
                    department: *d,
                    queries: c.outcomes.iter().sum(),
                    ok,
                    no_record,
                    timeouts,
                    unavailable,
                    errors,
                    refused,
                    p50_ms: percentile(&c.latencies, 50),
                    p95_ms: percentile(&c.latencies, 95),
                    data_age_median_days: percentile(&c.ages, 50),
                    data_age_max_days: c.ages.last().copied(),
                }
            })
            .collect();
        DepartmentReport {
            from: self.from,
            to: self.to,
            records: self.records,
            rows,
        }
    }
}

/// The `p`-th percentile of sorted values by the nearest-rank method: the
/// smallest value with at least `p`% of the values at or below it.
pub fn percentile<T: Copy>(sorted: &[T], p: u32) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    sorted.get((rank - 1) as usize).copied()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn share(r: &DepartmentRow) -> String {
    r.answered_share()
        .map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", s * 100.0))
}

/// A plain-text table for the terminal.
pub fn render_text(r: &DepartmentReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Department service report {} to {}: {} records",
        r.from, r.to, r.records
    );
    let _ = writeln!(
        o,
        "{:<20} {:>8} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9}",
        "department",
        "queries",
        "answered",
        "timeout",
        "unavail",
        "error",
        "refused",
        "p50 ms",
        "p95 ms",
        "age med d",
        "age max d"
    );
    for row in &r.rows {
        let _ = writeln!(
            o,
            "{:<20} {:>8} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9}",
            slug(row.department),
            row.queries,
            share(row),
            row.timeouts,
            row.unavailable,
            row.errors,
            row.refused,
            opt(row.p50_ms),
            opt(row.p95_ms),
            opt(row.data_age_median_days),
            opt(row.data_age_max_days),
        );
    }
    o
}

/// CSV with a UTF-8 byte-order mark, so that spreadsheet programs on the
/// bureau's Windows machines read the Chinese names correctly.
pub fn render_csv(r: &DepartmentReport) -> String {
    let mut o = String::from("\u{feff}");
    o.push_str(
        "department,部门,queries,answered,answered_share,ok,no_record,timeouts,unavailable,errors,refused,p50_ms,p95_ms,data_age_median_days,data_age_max_days\r\n",
    );
    let blank = |v: Option<String>| v.unwrap_or_default();
    for row in &r.rows {
        let _ = write!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            slug(row.department),
            name_zh(row.department),
            row.queries,
            row.ok + row.no_record,
            blank(row.answered_share().map(|s| format!("{s:.4}"))),
            row.ok,
            row.no_record,
            row.timeouts,
            row.unavailable,
            row.errors,
            row.refused,
            blank(row.p50_ms.map(|v| v.to_string())),
            blank(row.p95_ms.map(|v| v.to_string())),
            blank(row.data_age_median_days.map(|v| v.to_string())),
            blank(row.data_age_max_days.map(|v| v.to_string())),
        );
    }
    o
}

const STYLE: &str = r#"
@page { size: A4 landscape; margin: 15mm }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif;
  font-size: 10pt; color: #000; margin: 0 }
@media screen { html { background: #d9d9d9 } body { background: #fff; max-width: 297mm; margin: 8mm auto; padding: 15mm } }
header { text-align: center; margin-bottom: 4mm }
h1 { font-size: 16pt; letter-spacing: 0.1em; margin: 1mm 0 2mm }
table { border-collapse: collapse; width: 100%; page-break-inside: avoid }
th, td { border: 0.8pt solid #000; padding: 1.2mm 1.5mm; text-align: right }
th { background: #eee; text-align: center }
td.name { text-align: left; white-space: nowrap }
.note { font-size: 8.5pt; margin-top: 3mm; line-height: 1.5 }
.sign { margin-top: 10mm; display: flex; justify-content: space-between }
"#;

/// A Chinese HTML page for printing (A4 landscape), self-contained.
pub fn render_html(r: &DepartmentReport, county: &str, printed_at: &str) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{county}居民家庭经济状况核对 部门数据服务情况报告</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        county = escape(county)
    );
    let _ = writeln!(
        o,
        "<header><div>{county}居民家庭经济状况核对联席会议办公室</div><h1>部门数据服务情况报告</h1><div>统计期间：{} 至 {}（按核对记录生成日期，UTC）　核对记录：{} 份</div></header>",
        r.from,
        r.to,
        r.records,
        county = escape(county)
    );
    o.push_str(
        "<table>\n<thead><tr><th>部门</th><th>查询次数</th><th>应答率</th><th>有数据</th><th>无记录</th><th>超时</th><th>不可用</th><th>出错</th><th>拒绝</th><th>响应时间中位数（毫秒）</th><th>响应时间 P95（毫秒）</th><th>数据时效中位数（天）</th><th>数据时效最长（天）</th></tr></thead>\n<tbody>\n",
    );
    for row in &r.rows {
        let _ = writeln!(
            o,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name_zh(row.department)),
            row.queries,
            share(row),
            row.ok,
            row.no_record,
            row.timeouts,
            row.unavailable,
            row.errors,
            row.refused,
            opt(row.p50_ms),
            opt(row.p95_ms),
            opt(row.data_age_median_days),
            opt(row.data_age_max_days),
        );
    }
    o.push_str("</tbody>\n</table>\n");
    let _ = write!(
        o,
        "<div class=\"note\">说明：应答率 =（有数据 + 无记录）÷ 查询次数。响应时间含超时和失败的查询，按最近秩法计算百分位。数据时效 = 核对记录生成日期 − 部门数据截止日期，只统计给出数据日期的应答。“-”表示本期无此项数据。本报告由核对记录自动统计，不含任何个人信息。打印时间：{}</div>\n<div class=\"sign\"><span>制表人：</span><span>审核人：</span><span>（盖章）</span></div>\n</body>\n</html>\n",
        escape(printed_at)
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_proto::v1::SourceResult;

    fn record(created_at: &str, sources: &[(Department, SourceOutcome, u32, &str)]) -> VerificationRecord {
        VerificationRecord {
            created_at: created_at.into(),
            sources: sources
                .iter()
                .map(|(d, o, ms, as_of)| SourceResult {
                    department: *d as i32,
                    outcome: *o as i32,
                    latency_ms: *ms,
                    data_as_of: (*as_of).into(),
                    detail: String::new(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7u32], 95), Some(7));
        assert_eq!(percentile(&[1u32, 2], 50), Some(1));
        assert_eq!(percentile(&[1u32, 2, 3], 50), Some(2));
        assert_eq!(percentile::<u32>(&[], 50), None);
        // 20 values: the 95th percentile is the 19th.
        let v: Vec<u32> = (1..=20).map(|i| i * 10).collect();
        assert_eq!(percentile(&v, 95), Some(190));
    }

    #[test]
    fn outcomes_shares_latencies_and_data_age_are_counted_per_department() {
        use Department::{Pboc, Tax};
        use SourceOutcome::{Error, NoRecord, Ok, Refused, Timeout, Unavailable};
        let mut t = Tally::new(day("2026-07-01"), day("2026-09-30"));
        t.add(&record(
            "2026-07-10T08:00:00.000Z",
            &[(Tax, Ok, 100, "2026-07-01"), (Pboc, Timeout, 10000, "")],
        ));
        t.add(&record(
            "2026-07-11T08:00:00.000Z",
            &[(Tax, NoRecord, 300, "2026-06-30"), (Pboc, Ok, 50, "2026-07-11")],
        ));
        t.add(&record(
            "2026-08-01T08:00:00.000Z",
            &[(Tax, Unavailable, 5, ""), (Pboc, Error, 70, "")],
        ));
        t.add(&record("2026-08-02T08:00:00.000Z", &[(Tax, Refused, 20, "")]));
        let r = t.finish();
        assert_eq!(r.records, 4);
        assert_eq!(r.rows.len(), 8);
        let tax = r.rows.iter().find(|x| x.department == Tax).unwrap();
        assert_eq!(
            (
                tax.queries,
                tax.ok,
                tax.no_record,
                tax.unavailable,
                tax.refused,
                tax.timeouts,
                tax.errors
            ),
            (4, 1, 1, 1, 1, 0, 0)
        );
        assert_eq!(tax.answered_share(), Some(0.5));
        // Latencies 5, 20, 100, 300: p50 is the 2nd, p95 the 4th.
        assert_eq!((tax.p50_ms, tax.p95_ms), (Some(20), Some(300)));
        // Data ages 9 and 11 days.
        assert_eq!((tax.data_age_median_days, tax.data_age_max_days), (Some(9), Some(11)));
        let pboc = r.rows.iter().find(|x| x.department == Pboc).unwrap();
        assert_eq!((pboc.queries, pboc.timeouts, pboc.errors, pboc.ok), (3, 1, 1, 1));
        assert_eq!((pboc.p50_ms, pboc.p95_ms), (Some(70), Some(10000)));
        assert_eq!((pboc.data_age_median_days, pboc.data_age_max_days), (Some(0), Some(0)));
        let housing = r.rows.iter().find(|x| x.department == Department::Housing).unwrap();
        assert_eq!(housing.queries, 0);
        assert_eq!(housing.answered_share(), None);
        assert_eq!(housing.p50_ms, None);

        let text = render_text(&r);
        assert!(text.contains("4 records"), "{text}");
        assert!(
            text.lines().any(|l| l.starts_with("tax ") && l.contains("50.0%")),
            "{text}"
        );
        let csv = render_csv(&r);
        assert!(csv.starts_with('\u{feff}'));
        assert_eq!(csv.lines().count(), 9);
        assert!(
            csv.contains("\r\ntax,税务局,4,2,0.5000,1,1,0,1,0,1,20,300,9,11\r\n"),
            "{csv}"
        );
        let html = render_html(&r, "德江县<script>", "2026-10-01");
        assert!(html.contains("部门数据服务情况报告"));
        assert!(html.contains("德江县&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("50.0%"));
    }
}
