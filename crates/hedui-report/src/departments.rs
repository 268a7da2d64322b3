//! The departments' service report (部门数据服务情况): for the county joint
//! meeting office (联席会议办公室), which supervises the partner
//! departments, per department over one quarter in China Standard Time,
//! compared with the quarter before: how many queries the hub sent it, the
//! share it answered (OK or NO_RECORD), its timeouts, outages, errors,
//! refusals and queries abandoned at shutdown, and its p50 and p95 latency.
//!
//! The figures are the hub's (`AuditService/GetDepartmentReport`, counted
//! from the audit log's `source.query` entries); this module only writes
//! them as text, CSV with a BOM, or a printable Chinese HTML page. Shares go
//! through [`crate::percent`], so a department that failed once is never
//! shown at 100.0 %. Nothing here holds personal data: only departments and
//! counts.

use std::fmt::Write as _;

use hedui_domain::department::{name_zh, slug};
use hedui_proto::v1::{Department, DepartmentFigures, DepartmentReportPeriod, GetDepartmentReportResponse};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::percent::{percent, percent_tenths, points_change};

/// Queries answered (OK or NO_RECORD).
pub fn answered(f: &DepartmentFigures) -> u64 {
    f.ok + f.no_record
}

/// The answered share as printed (`99.9%`), or `-` with no query.
pub fn answered_share(f: &DepartmentFigures) -> String {
    percent(answered(f), f.queries).unwrap_or_else(|| "-".to_owned())
}

/// One department's row of this quarter with the same department's row of
/// the previous one (absent when the hub sent none).
pub struct Row<'a> {
    /// This quarter.
    pub now: &'a DepartmentFigures,
    /// The previous quarter.
    pub before: Option<&'a DepartmentFigures>,
}

impl Row<'_> {
    /// The department.
    pub fn department(&self) -> Department {
        Department::try_from(self.now.department).unwrap_or(Department::Unspecified)
    }

    /// The previous quarter's queries (0 when absent).
    pub fn queries_before(&self) -> u64 {
        self.before.map_or(0, |b| b.queries)
    }

    /// The change in queries, with a sign (`+12`, `-3`, `0`).
    pub fn queries_change(&self) -> String {
        let d = i128::from(self.now.queries) - i128::from(self.queries_before());
        if d > 0 { format!("+{d}") } else { d.to_string() }
    }

    /// The previous quarter's answered share as printed, or `-`.
    pub fn share_before(&self) -> String {
        self.before.map_or_else(|| "-".to_owned(), answered_share)
    }

    /// The change in the answered share, in percentage points of the shown
    /// figures (`-0.1`), or `-` when either quarter had no query.
    pub fn share_change(&self) -> String {
        let tenths = |f: &DepartmentFigures| percent_tenths(answered(f), f.queries);
        points_change(tenths(self.now), self.before.and_then(tenths)).unwrap_or_else(|| "-".to_owned())
    }
}

/// The rows of `r`: this quarter's departments, each with the previous
/// quarter's figures for the same department.
pub fn rows(r: &GetDepartmentReportResponse) -> Vec<Row<'_>> {
    let before = r.previous.as_ref().map_or(&[][..], |p| p.departments.as_slice());
    r.current
        .as_ref()
        .map_or(&[][..], |p| p.departments.as_slice())
        .iter()
        .map(|now| Row {
            now,
            before: before.iter().find(|b| b.department == now.department),
        })
        .collect()
}

fn period(r: &GetDepartmentReportResponse) -> (&DepartmentReportPeriod, &DepartmentReportPeriod) {
    static EMPTY: DepartmentReportPeriod = DepartmentReportPeriod {
        quarter: String::new(),
        from: String::new(),
        to: String::new(),
        requests: 0,
        departments: Vec::new(),
    };
    (
        r.current.as_ref().unwrap_or(&EMPTY),
        r.previous.as_ref().unwrap_or(&EMPTY),
    )
}

fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A plain-text table for the terminal.
pub fn render_text(r: &GetDepartmentReportResponse) -> String {
    let (now, before) = period(r);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Department service report {} ({} to {}, China Standard Time), compared with {}",
        now.quarter, now.from, now.to, before.quarter
    );
    let _ = writeln!(
        o,
        "households verified: {} ({}: {}); counted from the audit log's source.query entries at {}",
        now.requests, before.quarter, before.requests, r.counted_at
    );
    let _ = writeln!(
        o,
        "{:<19} {:>8} {:>8} {:>7} {:>9} {:>9} {:>7} {:>7} {:>7} {:>6} {:>7} {:>9} {:>9} {:>7} {:>7}",
        "department",
        "queries",
        "previous",
        "change",
        "answered",
        "previous",
        "change",
        "timeout",
        "unavail",
        "error",
        "refused",
        "abandoned",
        "not asked",
        "p50 ms",
        "p95 ms"
    );
    for row in rows(r) {
        let f = row.now;
        let _ = writeln!(
            o,
            "{:<19} {:>8} {:>8} {:>7} {:>9} {:>9} {:>7} {:>7} {:>7} {:>6} {:>7} {:>9} {:>9} {:>7} {:>7}",
            slug(row.department()),
            f.queries,
            row.queries_before(),
            row.queries_change(),
            answered_share(f),
            row.share_before(),
            row.share_change(),
            f.timeouts,
            f.unavailable,
            f.errors,
            f.refused,
            f.abandoned,
            f.not_asked,
            opt(f.p50_ms),
            opt(f.p95_ms),
        );
    }
    o
}

/// CSV with a UTF-8 byte-order mark, so that spreadsheet programs on the
/// bureau's Windows machines read the Chinese names correctly. Shares are
/// percentages with one decimal, as printed.
pub fn render_csv(r: &GetDepartmentReportResponse) -> String {
    let (now, before) = period(r);
    let mut o = String::from("\u{feff}");
    o.push_str(
        "quarter,department,部门,queries,answered,answered_percent,ok,no_record,timeouts,unavailable,errors,refused,abandoned,not_asked,p50_ms,p95_ms,previous_quarter,previous_queries,previous_answered,previous_answered_percent,queries_change,answered_percent_change\r\n",
    );
    let pct =
        |part: u64, whole: u64| percent(part, whole).map_or_else(String::new, |p| p.trim_end_matches('%').to_owned());
    for row in rows(r) {
        let f = row.now;
        let blank = |v: Option<u32>| v.map_or_else(String::new, |v| v.to_string());
        let change = row.share_change();
        let _ = write!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            now.quarter,
            slug(row.department()),
            name_zh(row.department()),
            f.queries,
            answered(f),
            pct(answered(f), f.queries),
            f.ok,
            f.no_record,
            f.timeouts,
            f.unavailable,
            f.errors,
            f.refused,
            f.abandoned,
            f.not_asked,
            blank(f.p50_ms),
            blank(f.p95_ms),
            before.quarter,
            row.queries_before(),
            row.before.map_or(0, answered),
            row.before.map_or_else(String::new, |b| pct(answered(b), b.queries)),
            row.queries_change(),
            if change == "-" { String::new() } else { change },
        );
    }
    o
}

/// `2026Q4` as `2026年第四季度`; anything else as it is.
pub fn quarter_zh(q: &str) -> String {
    let words = ["一", "二", "三", "四"];
    match q.split_once(['Q', 'q']) {
        Some((y, n)) if y.len() == 4 => match n.parse::<usize>() {
            Ok(n @ 1..=4) => format!("{y}年第{}季度", words[n - 1]),
            _ => q.to_owned(),
        },
        _ => q.to_owned(),
    }
}

/// The day of an RFC 3339 instant as written (`2026-10-01`).
fn day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

/// The last day of a period whose exclusive end is `to` (midnight in
/// Beijing), as written.
fn last_day(to: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(to)
        .ok()
        .and_then(|t| t.date_naive().pred_opt())
        .map_or_else(|| day(to).to_owned(), |d| d.to_string())
}

const STYLE: &str = r#"
@page { size: A4 landscape; margin: 12mm }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif;
  font-size: 9.5pt; color: #000; margin: 0 }
@media screen { html { background: #d9d9d9 } body { background: #fff; max-width: 297mm; margin: 8mm auto; padding: 12mm } }
header { text-align: center; margin-bottom: 4mm }
h1 { font-size: 16pt; letter-spacing: 0.1em; margin: 1mm 0 2mm }
table { border-collapse: collapse; width: 100%; page-break-inside: avoid }
th, td { border: 0.8pt solid #000; padding: 1mm 1.2mm; text-align: right }
th { background: #eee; text-align: center }
td.name { text-align: left; white-space: nowrap }
.note { font-size: 8.5pt; margin-top: 3mm; line-height: 1.5 }
.sign { margin-top: 10mm; display: flex; justify-content: space-between }
"#;

/// A Chinese HTML page for printing (A4 landscape), self-contained; every
/// text spliced in is escaped.
pub fn render_html(r: &GetDepartmentReportResponse, county: &str) -> String {
    let (now, before) = period(r);
    let page: Markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (county) "居民家庭经济状况核对 部门数据服务情况报告 " (quarter_zh(&now.quarter)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    div { (county) "居民家庭经济状况核对联席会议办公室" }
                    h1 { "部门数据服务情况报告" }
                    div {
                        "统计期间：" (quarter_zh(&now.quarter)) "（" (day(&now.from)) " 至 " (last_day(&now.to)) "，北京时间）"
                        "　对比：" (quarter_zh(&before.quarter))
                        "　核对户次：" (now.requests) "（上季度 " (before.requests) "）"
                    }
                }
                table {
                    thead {
                        tr {
                            th rowspan="2" { "部门" }
                            th colspan="3" { "查询次数" }
                            th colspan="3" { "应答率" }
                            th colspan="2" { "应答" }
                            th colspan="5" { "未应答（本季度）" }
                            th rowspan="2" { "未发送" }
                            th rowspan="2" { "响应时间中位数（毫秒）" }
                            th rowspan="2" { "响应时间 P95（毫秒）" }
                        }
                        tr {
                            th { "本季度" } th { "上季度" } th { "增减" }
                            th { "本季度" } th { "上季度" } th { "增减（百分点）" }
                            th { "有数据" } th { "无记录" }
                            th { "超时" } th { "不可用" } th { "出错" } th { "拒绝" } th { "中断" }
                        }
                    }
                    tbody {
                        @for row in rows(r) {
                            @let f = row.now;
                            tr {
                                td.name { (name_zh(row.department())) }
                                td { (f.queries) } td { (row.queries_before()) } td { (row.queries_change()) }
                                td { (answered_share(f)) } td { (row.share_before()) } td { (row.share_change()) }
                                td { (f.ok) } td { (f.no_record) }
                                td { (f.timeouts) } td { (f.unavailable) } td { (f.errors) } td { (f.refused) } td { (f.abandoned) }
                                td { (f.not_asked) }
                                td { (opt(f.p50_ms)) } td { (opt(f.p95_ms)) }
                            }
                        }
                    }
                }
                div.note {
                    "说明：查询次数为核对平台实际发往该部门的查询，按查询日志中的“向部门查询”条目逐条统计，与部门收到的查询一一对应；部门无法连接时查询已发出，仍计入。"
                    "未发送：因熔断或平台停机而未发出的查询，单列，不计入查询次数。"
                    "应答率 =（有数据 + 无记录）÷ 查询次数，保留一位小数；有未应答的查询时不显示为 100.0%。"
                    "中断：已发出、平台停机时放弃等待的查询。响应时间含超时和失败的查询，按最近秩法计算百分位。"
                    "季度按北京时间划分。“-”表示该期无此项数据。本报告不含任何个人信息。统计时间：" (r.counted_at)
                }
                div.sign { span { "制表人：" } span { "审核人：" } span { "（盖章）" } }
            }
        }
    };
    page.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_domain::department::ALL;

    fn figures(d: Department, queries: u64, ok: u64, timeouts: u64) -> DepartmentFigures {
        DepartmentFigures {
            department: d as i32,
            queries,
            ok,
            timeouts,
            p50_ms: (queries > 0).then_some(20),
            p95_ms: (queries > 0).then_some(300),
            ..Default::default()
        }
    }

    fn report() -> GetDepartmentReportResponse {
        let period = |quarter: &str, from: &str, to: &str, tax: DepartmentFigures| DepartmentReportPeriod {
            quarter: quarter.into(),
            from: from.into(),
            to: to.into(),
            requests: tax.queries,
            departments: ALL
                .iter()
                .map(|d| {
                    if *d == Department::Tax {
                        tax
                    } else {
                        figures(*d, 0, 0, 0)
                    }
                })
                .collect(),
        };
        GetDepartmentReportResponse {
            current: Some(period(
                "2026Q4",
                "2026-10-01T00:00:00+08:00",
                "2027-01-01T00:00:00+08:00",
                DepartmentFigures {
                    not_asked: 2,
                    ..figures(Department::Tax, 3814, 3813, 1)
                },
            )),
            previous: Some(period(
                "2026Q3",
                "2026-07-01T00:00:00+08:00",
                "2026-10-01T00:00:00+08:00",
                figures(Department::Tax, 3000, 3000, 0),
            )),
            tree_size: 9000,
            counted_at: "2027-01-02T09:00:00+08:00".into(),
        }
    }

    #[test]
    fn the_text_compares_with_the_previous_quarter_and_never_shows_a_false_whole() {
        let text = render_text(&report());
        assert!(
            text.contains("2026Q4") && text.contains("compared with 2026Q3"),
            "{text}"
        );
        let tax = text.lines().find(|l| l.starts_with("tax ")).unwrap();
        let cells: Vec<&str> = tax.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "tax", "3814", "3000", "+814", "99.9%", "100.0%", "-0.1", "1", "0", "0", "0", "0", "2", "20", "300"
            ],
            "{text}"
        );
        let housing = text.lines().find(|l| l.starts_with("housing ")).unwrap();
        assert!(housing.contains(" - "), "{housing}");
    }

    #[test]
    fn the_csv_has_a_bom_both_quarters_and_the_change() {
        let csv = render_csv(&report());
        assert!(csv.starts_with('\u{feff}'));
        assert_eq!(csv.lines().count(), 9);
        assert!(
            csv.contains(
                "\r\n2026Q4,tax,税务局,3814,3813,99.9,3813,0,1,0,0,0,0,2,20,300,2026Q3,3000,3000,100.0,+814,-0.1\r\n"
            ),
            "{csv}"
        );
        assert!(csv.contains("\r\n2026Q4,housing,"), "{csv}");
    }

    #[test]
    fn the_page_is_chinese_escaped_and_names_both_quarters() {
        let html = render_html(&report(), "德江县<script>");
        assert!(html.contains("部门数据服务情况报告"));
        assert!(
            html.contains("2026年第四季度（2026-10-01 至 2026-12-31，北京时间）"),
            "{html}"
        );
        assert!(html.contains("对比：2026年第三季度"));
        assert!(html.contains("德江县&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<td>99.9%</td><td>100.0%</td><td>-0.1</td>"), "{html}");
        assert!(!html.contains("data_as_of") && !html.contains("数据时效"));
    }

    #[test]
    fn quarters_are_named_in_chinese() {
        assert_eq!(quarter_zh("2026Q1"), "2026年第一季度");
        assert_eq!(quarter_zh("2026Q4"), "2026年第四季度");
        assert_eq!(quarter_zh("nonsense"), "nonsense");
    }
}
