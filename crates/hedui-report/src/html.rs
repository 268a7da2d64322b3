//! The HTML report, written with `maud` templates: every text spliced into
//! the page is escaped unless it is marked `PreEscaped`, which only the
//! style sheet is. ID numbers go through [`mask_id`] before they are
//! spliced, and are escaped too.

use std::collections::BTreeMap;

use hedui_domain::department::{ALL, name_zh};
use hedui_domain::money::yuan;
use hedui_domain::purpose::{purpose_zh, relation_zh, residence_zh};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    Authorization, Department, HouseholdSummary, IdentityStatus, LifeStatus, MemberFindings, PersonResult, Purpose,
    Relation, Residence, Review, ReviewOutcome, Verdict, VerificationRecord,
};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::words::{self, department_zh, outcome_zh};

mod conclusion;
mod members;
mod summary;

use conclusion::*;
use members::*;
use summary::*;

const ZH: hedui_i18n::Lang = hedui_i18n::Lang::Zh;
use crate::{
    ReportContext, area_m2, assets_months, beijing_time, mask_id, member_by_id, member_label, month_runs,
    recheck_command, recheck_departments, residence, rule_result,
};

const TITLE: &str = "居民家庭经济状况核对报告";

const STYLE: &str = r#"
@page { size: A4; margin: 15mm }
* { box-sizing: border-box }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact }
body {
  font-family: "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif;
  font-size: 10pt; line-height: 1.45; color: #000; margin: 0;
}
@media screen {
  html { background: #d9d9d9 }
  body { background: #fff; max-width: 210mm; margin: 8mm auto; padding: 15mm }
}
.mono, code {
  font-family: "Noto Sans Mono CJK SC", "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 9pt;
}
/* Codes move to the next line whole when they fit there, and break anywhere
   only when longer than a line; digests and commands break anywhere. */
.wrap, .mono { word-break: normal; overflow-wrap: anywhere }
code, .digest { word-break: break-all; overflow-wrap: anywhere }
.rule { word-break: normal; overflow-wrap: anywhere; font-size: 8pt }
table.keep { page-break-inside: avoid; break-inside: avoid }
.nowrap { white-space: nowrap }
.muted { color: #333; font-size: 8.5pt; font-weight: normal }
header.top { text-align: center; margin-bottom: 3mm }
header.top .bureau { font-size: 12pt; letter-spacing: 0.05em }
h1 { font-size: 18pt; margin: 1.5mm 0 3mm; letter-spacing: 0.12em }
h2 {
  font-size: 12pt; margin: 5mm 0 2mm; padding-bottom: 0.8mm; border-bottom: 1.2pt solid #000;
  page-break-after: avoid; break-after: avoid;
}
h3 { font-size: 10.5pt; margin: 3.5mm 0 1.5mm; page-break-after: avoid; break-after: avoid }
p { margin: 1mm 0 2mm }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 0 0 2mm }
table { page-break-inside: auto } tr { page-break-inside: avoid }
thead { display: table-header-group }
th, td {
  border: 0.6pt solid #444; padding: 0.9mm 1.5mm; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; word-break: normal;
}
thead th { background: #e6e6e6 }
th { font-weight: bold }
table.kv th { background: #f0f0f0; width: 17% }
td.num, th.num { text-align: right; white-space: nowrap }
td.c, th.c { text-align: center }
tr.attention td { background: #f2f2f2 }
.item { margin: 0 0 0.6mm }
.item + .item { border-top: 0.4pt dotted #888; padding-top: 0.6mm }
.verdict {
  border: 2pt solid #000; padding: 2.5mm 4mm; margin: 1mm 0 3mm;
  page-break-inside: avoid; break-inside: avoid;
}
.verdict .label { font-size: 10pt }
.verdict .value { font-size: 17pt; font-weight: bold; letter-spacing: 0.1em }
.notice { border: 1pt dashed #000; padding: 2mm 3mm; margin: 2mm 0; page-break-inside: avoid; break-inside: avoid }
.notice .depts { font-size: 12pt; font-weight: bold }
.digest { font-size: 10pt }
.keep { page-break-inside: avoid; break-inside: avoid }
table.sign { margin-top: 3mm }
table.sign td { border: none; padding: 0 1mm; height: 13mm; vertical-align: bottom }
table.sign .line { border-bottom: 0.8pt solid #000 }
table.sign td.seal { height: 36mm; vertical-align: top; padding-top: 2mm }
footer.end { margin-top: 4mm; padding-top: 1.5mm; border-top: 0.6pt solid #000; font-size: 8.5pt; color: #222 }
"#;

/// Renders the whole page.
pub fn render(record: &VerificationRecord, ctx: &ReportContext<'_>, reviews: Option<&[Review]>) -> String {
    page(record, ctx, reviews).into_string()
}

fn page(r: &VerificationRecord, ctx: &ReportContext<'_>, reviews: Option<&[Review]>) -> Markup {
    let mut n = Numbering::default();
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (TITLE) " · " (r.record_id) }
                // Not escaped: the style sheet is a constant of this file,
                // and the margin boxes keep only `[A-Za-z0-9-]` of the
                // record id, so nothing from the record can end the
                // `<style>` element or the CSS string.
                style { (PreEscaped(STYLE)) (PreEscaped(page_margin_boxes(r))) }
            }
            body {
                (header(r, ctx))
                (authorization(r, n.next()))
                (household(r, n.next()))
                (sources(r, n.next()))
                (findings(r, n.next()))
                (summary(r, ctx, n.next()))
                (verdict(r, n.next()))
                (flags(r, n.next()))
                @if let Some(reviews) = reviews {
                    (review_list(reviews, n.next()))
                }
                (integrity(r, n.next()))
                (signatures(n.next()))
                (footer(r, ctx))
            }
        }
    }
}

/// The numbers of the sections in the order they are written: each section
/// takes the next Chinese numeral (一、二、…), so a section that is only
/// sometimes there (复核记录) never leaves a gap or an unnumbered heading.
#[derive(Default)]
struct Numbering(usize);

impl Numbering {
    fn next(&mut self) -> &'static str {
        const NUMERALS: [&str; 12] = [
            "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
        ];
        let numeral = NUMERALS.get(self.0).copied().unwrap_or("十二");
        self.0 += 1;
        numeral
    }
}

/// A section heading: `<h2>三、各部门核对情况</h2>`.
fn heading(numeral: &str, title: &str) -> Markup {
    html! { h2 { (numeral) "、" (title) } }
}

/// Page numbers and the record id in the page margins, so a loose page can
/// be put back in its file. Only characters that are safe inside a CSS
/// string in a `<style>` element are kept from the record id. The empty top
/// box keeps Chromium from printing its own header (date and page title)
/// when its "headers and footers" option is on; the bottom boxes replace its
/// footer (file path and page number).
fn page_margin_boxes(r: &VerificationRecord) -> String {
    let id: String = r
        .record_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    format!(
        "@page {{\n  @top-right {{ content: \"\" }}\n  @bottom-left {{ content: \"{TITLE} · 记录编号 {id}\"; font-size: 7.5pt; color: #333 }}\n  \
         @bottom-right {{ content: \"第 \" counter(page) \" 页，共 \" counter(pages) \" 页\"; font-size: 7.5pt; color: #333 }}\n}}\n"
    )
}

/// `<colgroup>` with these widths in per cent; `None` for the column that
/// takes the rest.
fn colgroup(widths: &[Option<u8>]) -> Markup {
    html! {
        colgroup {
            @for w in widths {
                @if let Some(w) = w {
                    col style=(format!("width:{w}%"));
                } @else {
                    col;
                }
            }
        }
    }
}

/// `class="attention"` on a row that needs a second look.
fn attention(yes: bool) -> Option<&'static str> {
    yes.then_some("attention")
}

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

fn header(r: &VerificationRecord, ctx: &ReportContext<'_>) -> Markup {
    let h = r.household.clone().unwrap_or_default();
    let w = r.income_window.clone().unwrap_or_default();
    let purpose = Purpose::try_from(r.purpose).map(purpose_zh).unwrap_or("未知");
    let res = Residence::try_from(h.residence).map(residence_zh).unwrap_or("未知");
    let months = r.summary.as_ref().map(|s| s.window_months).unwrap_or_default();
    html! {
        header.top {
            div.bureau { (ctx.bureau) }
            h1 { (TITLE) }
        }
        table class="kv keep" {
            (colgroup(&[Some(16), Some(34), Some(16), None]))
            tr { th { "记录编号" } td colspan="3" class="mono" { (r.record_id) } }
            tr {
                th { "核对日期" } td { (beijing_time(&r.created_at)) }
                th { "救助类型" } td { (purpose) }
            }
            tr {
                th { "收入核对期间" } td { (w.from_month) " 至 " (w.to_month) "（共 " (months) " 个月）" }
                th { "资产基准日" } td { (r.asset_reference_date) }
            }
            tr {
                th { "户编号" } td.wrap { (h.household_ref) }
                th { "城乡类别" } td { (res) }
            }
            tr {
                th { "所属县" } td { (ctx.county) }
                th { "家庭人口" } td { (h.members.len()) " 人" }
            }
            tr { th { "政策版本" } td colspan="3" class="mono" { (r.policy_version) } }
            @if !r.previous_record_id.is_empty() {
                tr {
                    th { "记录版本" }
                    td colspan="3" {
                        "第 " (r.version.max(1)) " 版（复核后生成，替代记录 "
                        span.mono { (r.previous_record_id) } "）"
                    }
                }
            }
            @if let Some(next) = ctx.superseded_by {
                tr.attention {
                    th { "已被替代" }
                    td colspan="3" {
                        b { "本记录已被第 " (r.version.max(1) + 1) " 版（记录 " span.mono { (next) } "）替代" }
                        "，请以最新版本为准。"
                    }
                }
            }
            tr {
                th { "核对结论" }
                td colspan="3" {
                    b { (words::verdict_zh(r.verdict)) }
                    "　"
                    span.muted { "（详见第六部分；结论为系统建议，由民政部门审核决定）" }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------

fn authorization(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        (heading(numeral, "授权书"))
        @if let Some(a) = &r.authorization {
            (authorization_table(r, a))
        } @else {
            p {
                "记录中没有授权书的内容，只有授权书编号："
                span.mono { (r.authorization_ref) }
                "。请对照案卷中的授权书原件。"
            }
        }
    }
}

fn authorization_table(r: &VerificationRecord, a: &Authorization) -> Markup {
    let purpose = Purpose::try_from(a.purpose).map(purpose_zh).unwrap_or("未知");
    html! {
        table.kv {
            tr {
                th { "授权书编号" } td.mono { (a.form_number) }
                th { "授权用途" } td { (purpose) }
            }
            tr {
                th { "签署日期" } td { (a.signed_date) }
                th { "有效期至" } td { (a.valid_until) }
            }
            tr { th { "扫描件 SHA-256" } td colspan="3" class="mono" { (a.scan_sha256) } }
        }
        table.keep {
            (colgroup(&[Some(7), Some(17), Some(24), None]))
            thead { tr { th.c { "序号" } th { "签字人" } th { "身份证号" } th { "签字身份" } } }
            tbody {
                @for (i, s) in a.signers.iter().enumerate() {
                    tr {
                        td.c { (i + 1) }
                        td { (s.name) }
                        td.mono { (mask_id(&s.id_number)) }
                        td {
                            @if s.as_guardian {
                                "监护人，代 " (s.on_behalf_of.len()) " 人签字（" (on_behalf_of(r, &s.on_behalf_of)) "）"
                            } @else {
                                "本人"
                            }
                        }
                    }
                }
                @if a.signers.is_empty() {
                    tr { td colspan="4" { "授权书中没有签字人。" } }
                }
            }
        }
        p.muted {
            "扫描件 SHA-256 用于核对案卷中的授权书扫描件：对扫描文件计算 SHA-256（例如 "
            code { "sha256sum 文件名" }
            "），结果应与上表一致。"
        }
    }
}

/// Whom a guardian signed for: `成员 5 杨光华、非本户成员 ***…1234`.
fn on_behalf_of(r: &VerificationRecord, ids: &[String]) -> String {
    let names: Vec<String> = ids
        .iter()
        .map(|id| match member_by_id(r, id) {
            Some(m) => member_label(r, m),
            None => format!("非本户成员 {}", mask_id(id)),
        })
        .collect();
    names.join("、")
}

// ---------------------------------------------------------------------------
// Household
// ---------------------------------------------------------------------------

fn household(r: &VerificationRecord, numeral: &str) -> Markup {
    let members = r.household.as_ref().map(|h| h.members.as_slice()).unwrap_or_default();
    html! {
        (heading(numeral, "家庭成员"))
        table.keep {
            (colgroup(&[Some(7), Some(20), Some(27), Some(26), None]))
            thead {
                tr { th.c { "序号" } th { "姓名" } th { "身份证号" } th { "与申请人关系" } th { "是否无民事行为能力" } }
            }
            tbody {
                @for (i, m) in members.iter().enumerate() {
                    tr {
                        td.c { (i + 1) }
                        td { (m.name) }
                        td.mono { (mask_id(&m.id_number)) }
                        td { (Relation::try_from(m.relation).map(relation_zh).unwrap_or("未知")) }
                        td.c { (if m.lacks_capacity { "是" } else { "否" }) }
                    }
                }
            }
        }
        p.muted { "身份证号只显示后四位。" }
    }
}

// ---------------------------------------------------------------------------
// Department outcomes
// ---------------------------------------------------------------------------

fn sources(r: &VerificationRecord, numeral: &str) -> Markup {
    // Departments with no outcome at all are numbered after those with one.
    let missing: Vec<Department> = ALL
        .into_iter()
        .filter(|d| !r.sources.iter().any(|s| s.department == *d as i32))
        .collect();
    html! {
        (heading(numeral, "各部门核对情况"))
        table.keep {
            (colgroup(&[Some(7), Some(22), Some(12), Some(12), Some(15), None]))
            thead {
                tr {
                    th.c { "序号" } th { "部门" } th { "结果" } th.num { "用时（毫秒）" } th { "数据日期" } th { "说明" }
                }
            }
            tbody {
                @for (i, s) in r.sources.iter().enumerate() {
                    tr class=[attention(!words::answered(s.outcome))] {
                        td.c { (i + 1) }
                        td { (department_zh(s.department)) }
                        td { b { (outcome_zh(s.outcome)) } }
                        td.num { (s.latency_ms) }
                        td { @if s.data_as_of.is_empty() { "—" } @else { (s.data_as_of) } }
                        td.muted { (hedui_i18n::source_note(ZH, s)) }
                    }
                }
                @for (i, d) in missing.iter().enumerate() {
                    tr.attention {
                        td.c { (r.sources.len() + i + 1) }
                        td { (name_zh(*d)) }
                        td { b { "未记录结果" } }
                        td.num { "—" }
                        td { "—" }
                        td.muted { (hedui_i18n::tr(ZH, "source-note-missing")) }
                    }
                }
            }
        }
        p.muted {
            "“已答复”表示该部门查到至少一名成员；“无记录”表示该部门已答复但没有任何成员的记录。超时、无法连接、出错、拒绝均表示未取得该部门的数据。"
        }
    }
}
