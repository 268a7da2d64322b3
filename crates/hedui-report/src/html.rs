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

// ---------------------------------------------------------------------------
// Each member's findings
// ---------------------------------------------------------------------------

fn findings(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        (heading(numeral, "成员核对明细"))
        @if r.members.is_empty() {
            p { "记录中没有成员核对明细。" }
        }
        @for (i, m) in r.members.iter().enumerate() {
            (member_findings(r, i, m))
        }
    }
}

fn member_findings(r: &VerificationRecord, i: usize, m: &MemberFindings) -> Markup {
    let member = m.member.clone().unwrap_or_default();
    let relation = Relation::try_from(member.relation).map(relation_zh).unwrap_or("未知");
    // A row for every result that says something (found, name mismatch),
    // in the record's order; then one row naming the departments that know
    // nothing of this member, and one naming those that gave no answer.
    let mut no_record: Vec<String> = Vec::new();
    let mut no_data: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut said: Vec<(i32, &PersonResult)> = Vec::new();
    for (d, res) in m.result_departments.iter().zip(&m.results) {
        seen.push(*d);
        if res.identity_status == IdentityStatus::NotFound as i32 {
            no_record.push(department_zh(*d));
        } else {
            said.push((*d, res));
        }
    }
    for d in ALL {
        if seen.contains(&(d as i32)) {
            continue;
        }
        match r.sources.iter().find(|s| s.department == d as i32).map(|s| s.outcome) {
            Some(o) if words::answered(o) => no_record.push(name_zh(d).to_owned()),
            Some(o) => no_data.push(format!("{}（{}）", name_zh(d), outcome_zh(o))),
            None => no_data.push(format!("{}（未记录结果）", name_zh(d))),
        }
    }
    html! {
        h3 {
            "成员 " (i + 1) "　" (member.name) "　"
            span.muted { (relation) "，身份证号 " span.mono { (mask_id(&member.id_number)) } }
        }
        table {
            (colgroup(&[Some(19), Some(14), None]))
            thead { tr { th { "部门" } th { "核对结果" } th { "明细" } } }
            tbody {
                @for (d, res) in said {
                    @let found = res.identity_status == IdentityStatus::Found as i32;
                    @let status = words::identity_zh(res.identity_status);
                    tr class=[attention(!found)] {
                        td { (department_zh(d)) }
                        td { @if found { (status) } @else { b { (status) } } }
                        td { (result_detail(res)) }
                    }
                }
                @if let [only] = no_record.as_slice() {
                    tr { td { (only) } td { "无记录" } td { "该部门没有该成员的记录" } }
                } @else if !no_record.is_empty() {
                    tr { td { "其他部门" } td { "无记录" } td { (no_record.join("、")) " 均没有该成员的记录" } }
                }
                @if !no_data.is_empty() {
                    tr.attention { td { "未答复的部门" } td { b { "未取得数据" } } td { (no_data.join("、")) } }
                }
            }
        }
    }
}

/// The readable detail of one department's result for one member: what
/// was found, one item a line, or a sentence saying why there is nothing.
fn result_detail(res: &PersonResult) -> Markup {
    let text = |s: &str| html! { (s) };
    match IdentityStatus::try_from(res.identity_status) {
        Ok(IdentityStatus::NotFound) => return text("无记录"),
        Ok(IdentityStatus::NameMismatch) => {
            return text("该部门登记的姓名与所报身份证号不符，未返回该成员的数据");
        }
        Ok(IdentityStatus::Found) => {}
        Ok(IdentityStatus::Unspecified) | Err(_) => return text("核对结果未知"),
    }
    let Some(f) = &res.findings else {
        return text("已查到本人，未返回明细");
    };
    let mut items: Vec<Markup> = Vec::new();
    let none = |items: &mut Vec<Markup>, s: &str| {
        if items.is_empty() {
            items.push(text(s));
        }
    };
    match f {
        Findings::PublicSecurity(ps) => {
            let life = words::life_zh(ps.life_status);
            items.push(if ps.life_status == LifeStatus::Deceased as i32 {
                html! {
                    b { "生存状态：" (life) }
                    @if !ps.death_date.is_empty() { "，死亡日期 " (ps.death_date) }
                }
            } else {
                html! { "生存状态：" (life) }
            });
            if let Some(h) = &ps.hukou {
                items.push(html! {
                    "户籍：" (h.address) "，" (words::hukou_zh(h.hukou_type)) "，与户主关系：" (h.relation_to_head)
                });
            }
            for v in &ps.vehicles {
                items.push(html! {
                    "车辆：号牌 " span.mono { (v.plate) } "，" (words::vehicle_type_zh(v.vehicle_type)) "，"
                    (v.registration_date) " 登记，" (words::vehicle_status_zh(v.status))
                });
            }
            if ps.vehicles.is_empty() {
                items.push(text("无机动车登记"));
            }
        }
        Findings::NaturalResources(nr) => {
            for p in &nr.properties {
                items.push(html! {
                    "不动产权证号 " span.wrap { (p.certificate_number) } "；坐落：" (p.location)
                    "；用途：" (words::property_use_zh(p.r#use)) "；面积 " (area_m2(p.floor_area_centi_m2))
                    " 平方米；份额 " (p.share_percent) "%；取得日期 " (p.acquired_date)
                });
            }
            none(&mut items, "无不动产登记");
        }
        Findings::Housing(h) => {
            for p in &h.purchases {
                items.push(html! {
                    "商品房网签合同 " span.wrap { (p.contract_number) } "；" (p.location)
                    "；面积 " (area_m2(p.floor_area_centi_m2)) " 平方米；总价 " (yuan(p.price_fen))
                    " 元；签约日期 " (p.signed_date)
                });
            }
            for l in &h.leases {
                items.push(html! {
                    "租赁登记：" (l.location) "；月租金 " (yuan(l.monthly_rent_fen)) " 元；" (l.start_date) " 至 "
                    @if l.end_date.is_empty() { "未约定" } @else { (l.end_date) }
                });
            }
            for p in &h.public_rentals {
                items.push(html! { "公租房：" (p.location) "；配租日期 " (p.allocated_date) });
            }
            for s in &h.self_built {
                items.push(html! {
                    (if s.danger_house_renovation { "危房改造" } else { "自建房" })
                    "：" (s.location) "；日期 " (s.record_date)
                });
            }
            none(&mut items, "无商品房网签、租赁、公租房或自建房记录");
        }
        Findings::Tax(t) => {
            // Summed by category, with the months each category covers.
            let mut by: BTreeMap<i32, (i64, i64, Vec<&str>)> = BTreeMap::new();
            for rec in &t.records {
                let e = by.entry(rec.category).or_default();
                e.0 = e.0.saturating_add(rec.taxable_income_fen);
                e.1 = e.1.saturating_add(rec.tax_paid_fen);
                e.2.push(rec.period.as_str());
            }
            for (cat, (income, tax, months)) in &by {
                let runs = month_runs(months);
                let distinct = months.iter().collect::<std::collections::BTreeSet<_>>().len();
                items.push(html! {
                    (words::income_category_zh(*cat)) "：应纳税所得额合计 " (yuan(*income)) " 元，已缴税额 "
                    (yuan(*tax)) " 元；" (distinct) " 个月（" (runs.join("、")) "）"
                });
            }
            none(&mut items, "核对期内无纳税记录");
        }
        Findings::MarketSupervision(ms) => {
            for b in &ms.roles {
                items.push(html! {
                    (b.entity_name) "（" (words::entity_type_zh(b.entity_type)) "）；统一社会信用代码 "
                    span.mono { (b.uscc) } "；职务：" (words::business_role_zh(b.role)) "；认缴出资 "
                    (yuan(b.subscribed_capital_fen)) " 元；" (words::entity_status_zh(b.status)) "；成立日期 "
                    (b.established_date)
                });
            }
            none(&mut items, "无市场主体任职或出资记录");
        }
        Findings::HousingFund(hf) => {
            for a in &hf.accounts {
                items.push(html! {
                    (words::fund_status_zh(a.status)) "；余额 " (yuan(a.balance_fen)) " 元；月缴存额 "
                    (yuan(a.monthly_contribution_fen)) " 元；单位："
                    @if a.employer.is_empty() { "—" } @else { (a.employer) }
                    "；核对期内提取 " (yuan(a.withdrawals_in_window_fen)) " 元"
                });
            }
            none(&mut items, "无住房公积金账户");
        }
        Findings::Pboc(p) => {
            for a in &p.accounts {
                items.push(html! {
                    (a.bank) "，" (words::account_type_zh(a.account_type)) "，账号 "
                    span.mono { (a.masked_account_number) } "，余额 " (yuan(a.balance_fen)) " 元"
                });
            }
            for x in &p.products {
                items.push(html! { "金融产品：" (x.issuer) "，" (x.kind) "，市值 " (yuan(x.value_fen)) " 元" });
            }
            if items.is_empty() {
                items.push(text("无银行账户或金融产品"));
            } else {
                let total = p
                    .accounts
                    .iter()
                    .map(|a| a.balance_fen)
                    .chain(p.products.iter().map(|x| x.value_fen))
                    .fold(0i64, i64::saturating_add);
                items.push(html! { b { "合计 " (yuan(total)) " 元" } });
            }
        }
        Findings::Hrss(h) => {
            for i in &h.insurance {
                items.push(html! {
                    (words::insurance_type_zh(i.insurance_type)) "：" (words::insurance_state_zh(i.state))
                    @if i.monthly_base_fen > 0 { "；月缴费基数 " (yuan(i.monthly_base_fen)) " 元" }
                    @if i.monthly_benefit_fen > 0 { "；月领取 " (yuan(i.monthly_benefit_fen)) " 元" }
                    @if !i.employer.is_empty() { "；单位：" (i.employer) }
                });
            }
            none(&mut items, "无社会保险记录");
        }
    }
    html! { @for item in items { div.item { (item) } } }
}

// ---------------------------------------------------------------------------
// Household summary against the policy
// ---------------------------------------------------------------------------

/// The result of the rules `rule` in words, in bold when the rule does not
/// simply pass; `None` when the record has no such rule.
fn rule_cell(r: &VerificationRecord, rule: &str) -> Option<(String, bool)> {
    let v = rule_result(r, rule)?;
    let bold = match Verdict::try_from(v) {
        Ok(Verdict::MeetsCriteria | Verdict::Unspecified) | Err(_) => false,
        Ok(Verdict::DoesNotMeet | Verdict::NeedsReview | Verdict::Incomplete) => true,
    };
    Some((hedui_i18n::rule_result(ZH, v), bold))
}

/// One row of the summary table.
struct SummaryRow {
    /// What the row is about.
    label: &'static str,
    /// A note under the label.
    note: Option<&'static str>,
    /// The household's figure.
    value: Markup,
    /// The policy's standard; `—` when `None`.
    standard: Option<Markup>,
    /// The rules' result (see [`rule_cell`]); `—` when `None`.
    result: Option<(String, bool)>,
}

impl SummaryRow {
    fn plain(label: &'static str, value: Markup) -> Self {
        SummaryRow {
            label,
            note: None,
            value,
            standard: None,
            result: None,
        }
    }

    fn noted(label: &'static str, note: &'static str, value: Markup) -> Self {
        SummaryRow {
            note: Some(note),
            ..SummaryRow::plain(label, value)
        }
    }

    /// A row whose standard is stated in the reasons (判定依据).
    fn by_rule(r: &VerificationRecord, label: &'static str, value: Markup, rule: &str) -> Self {
        SummaryRow {
            standard: Some(html! { "见判定依据" }),
            result: rule_cell(r, rule),
            ..SummaryRow::plain(label, value)
        }
    }
}

fn summary(r: &VerificationRecord, ctx: &ReportContext<'_>, numeral: &str) -> Markup {
    let s: HouseholdSummary = r.summary.clone().unwrap_or_default();
    let policy = crate::matching_policy(r, ctx);
    let res = residence(r);
    let which = match res {
        Residence::Urban => "城市",
        Residence::Rural => "农村",
        Residence::Unspecified => "城乡类别未定，取较低的",
    };
    let income_standard = match policy {
        Some(p) => html! {
            (which) "低保标准 " (yuan(p.monthly_standard_fen(res))) " 元/人·月" br;
            span.muted {
                "（城市 " (yuan(p.monthly_standard_fen(Residence::Urban))) " 元，农村 "
                (yuan(p.monthly_standard_fen(Residence::Rural))) " 元）"
            }
        },
        None => html! { "见判定依据" },
    };
    let assets_standard = match (policy, assets_months(r)) {
        (Some(p), Some(n)) => html! {
            "不超过 " (n) " 个月" (which) "低保标准" br;
            "（" (yuan(p.monthly_standard_fen(res).saturating_mul(i64::from(n)))) " 元/人）"
        },
        (None, Some(n)) => html! { "不超过 " (n) " 个月低保标准" },
        (_, None) => html! { "见判定依据" },
    };
    let vehicles: Vec<String> = s
        .vehicles
        .iter()
        .map(|v| format!("{} {} 辆", words::vehicle_type_zh(v.vehicle_type), v.count))
        .collect();
    let vehicles = if vehicles.is_empty() {
        "无".to_owned()
    } else {
        vehicles.join("，")
    };
    let rows = [
        SummaryRow::plain("家庭人口", html! { (s.member_count) " 人" }),
        SummaryRow::noted(
            "核对期内家庭收入合计",
            "应纳税所得额，加按月计入的养老金等待遇",
            html! { (yuan(s.window_income_fen)) " 元（" (s.window_months) " 个月）" },
        ),
        SummaryRow::plain("人均年收入", html! { (yuan(s.yearly_income_per_capita_fen)) " 元" }),
        SummaryRow {
            standard: Some(income_standard),
            result: rule_cell(r, "income.per_capita"),
            ..SummaryRow::plain(
                "人均月收入",
                html! { b { (yuan(s.monthly_income_per_capita_fen)) " 元" } },
            )
        },
        SummaryRow::noted(
            "家庭金融资产合计",
            "存款、证券资金账户和金融产品",
            html! { (yuan(s.financial_assets_fen)) " 元" },
        ),
        SummaryRow {
            standard: Some(assets_standard),
            result: rule_cell(r, "assets.per_capita"),
            ..SummaryRow::plain(
                "人均金融资产",
                html! { b { (yuan(s.financial_assets_per_capita_fen)) " 元" } },
            )
        },
        SummaryRow::by_rule(r, "在用机动车", html! { (vehicles) }, "vehicles.count"),
        SummaryRow::by_rule(
            r,
            "住宅及宅基地",
            html! { (s.residential_properties) " 处" },
            "real_estate.residential_count",
        ),
        SummaryRow::by_rule(
            r,
            "商业、工业用房",
            html! { (s.commercial_properties) " 处" },
            "real_estate.commercial",
        ),
        SummaryRow::by_rule(
            r,
            "商品房网签合同",
            html! { (s.housing_purchases) " 份" },
            "recent_purchase",
        ),
        SummaryRow::by_rule(
            r,
            "在营市场主体任职",
            html! { (s.active_business_roles) " 项" },
            "business.role",
        ),
        SummaryRow::by_rule(
            r,
            "在营市场主体认缴出资",
            html! { (yuan(s.subscribed_capital_fen)) " 元" },
            "business.subscribed_capital",
        ),
        SummaryRow::plain(
            "住房公积金",
            html! {
                "余额 " (yuan(s.housing_fund_balance_fen)) " 元；月缴存 "
                (yuan(s.housing_fund_monthly_contribution_fen)) " 元"
            },
        ),
        SummaryRow::plain(
            "社会保险",
            html! {
                "参保缴费 " (s.insured_contributing) " 人；领取待遇 " (s.insured_receiving) " 人，月领取合计 "
                (yuan(s.monthly_benefits_fen)) " 元"
            },
        ),
    ];
    html! {
        (heading(numeral, "家庭汇总与政策标准"))
        @if !recheck_departments(r).is_empty() {
            p { b { "注意：" } "有部门未答复，以下汇总只包含已答复部门的数据。" }
        }
        table {
            (colgroup(&[Some(26), Some(26), Some(30), None]))
            thead { tr { th { "项目" } th { "本户情况" } th { "政策标准" } th { "规则结论" } } }
            tbody {
                @for row in rows {
                    @let bold = row.result.as_ref().is_some_and(|(_, bold)| *bold);
                    tr class=[attention(bold)] {
                        th {
                            (row.label)
                            @if let Some(note) = row.note { br; span.muted { (note) } }
                        }
                        td { (row.value) }
                        td { @if let Some(standard) = row.standard { (standard) } @else { "—" } }
                        td {
                            @match row.result {
                                Some((text, true)) => { b { (text) } }
                                Some((text, false)) => { (text) }
                                None => { "—" }
                            }
                        }
                    }
                }
            }
        }
        @match (ctx.policy, policy) {
            (_, Some(p)) => {
                p.muted {
                    "适用政策版本：" span.mono { (r.policy_version) }
                    @if !p.description_zh().is_empty() { "；政策说明：" (p.description_zh()) }
                    "。"
                }
            }
            (Some(other), None) => {
                p.muted {
                    "适用政策版本：" span.mono { (r.policy_version) }
                    "。所提供的政策文件版本为 " span.mono { (other.version()) }
                    "，与记录不符，因此未显示标准；标准以第六部分判定依据为准。"
                }
            }
            (None, None) => {
                p.muted {
                    "适用政策版本：" span.mono { (r.policy_version) }
                    "。未随报告提供该版本的政策文件，标准以第六部分判定依据为准。"
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Verdict and reasons
// ---------------------------------------------------------------------------

fn verdict(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        // The heading, the verdict and the re-check notice stay on one page.
        div.keep {
            (heading(numeral, "核对结论及依据"))
            div.verdict {
                span.label { "核对结论：" }
                span.value { (words::verdict_zh(r.verdict)) }
                br;
                (words::verdict_explained(r.verdict))
                br;
                span.muted {
                    "本结论是系统按政策文件（版本 " span.mono { (r.policy_version) }
                    "）作出的建议，不是审批决定；由民政部门审核后决定。"
                }
            }
            @if r.verdict == Verdict::Incomplete as i32 {
                (recheck(r))
            }
        }
        table {
            (colgroup(&[Some(6), Some(22), Some(13), None]))
            thead { tr { th.c { "序号" } th { "规则" } th { "结论" } th { "依据说明" } } }
            tbody {
                @for (i, reason) in r.reasons.iter().enumerate() {
                    @let passes = reason.leads_to == Verdict::MeetsCriteria as i32;
                    tr class=[attention(!passes)] {
                        td.c { (i + 1) }
                        td {
                            (words::rule_zh(&reason.rule)) br;
                            // A break point after each dot of the rule id.
                            span class="mono muted rule" {
                                @for (j, part) in reason.rule.split('.').enumerate() {
                                    @if j > 0 { "." wbr; }
                                    (part)
                                }
                            }
                        }
                        td {
                            @if let Ok(Verdict::MeetsCriteria) = Verdict::try_from(reason.leads_to) {
                                "符合"
                            } @else {
                                b { (hedui_i18n::rule_result(ZH, reason.leads_to)) }
                            }
                        }
                        td { (hedui_i18n::reason(ZH, reason)) }
                    }
                }
                @if r.reasons.is_empty() {
                    tr { td colspan="4" { "记录中没有判定依据。" } }
                }
            }
        }
        p.muted { "依据说明中的“第 N 位成员”指第二部分表中序号为 N 的成员。" }
    }
}

fn recheck(r: &VerificationRecord) -> Markup {
    let depts = recheck_departments(r);
    let names: Vec<&str> = depts.iter().map(|d| name_zh(*d)).collect();
    html! {
        div.notice {
            @if depts.is_empty() {
                div.depts { "请复核：见下列“数据来源”依据" }
            } @else {
                div.depts { "请复核：" (names.join("、")) }
            }
            @if let Some(cmd) = recheck_command(r, &depts) {
                div { "复核命令：" code { (cmd) } }
            }
            div.muted {
                "以上部门的结果为超时、无法连接、出错、拒绝或未记录。复核只重新查询这些部门，取得答复后再作结论。"
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Flags with what to check on the home visit
// ---------------------------------------------------------------------------

fn flags(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        (heading(numeral, "核查提示与入户核查要点"))
        @if r.flags.is_empty() {
            p { "本次核对没有核查提示。" }
        } @else {
            table {
                (colgroup(&[Some(21), Some(27), Some(33), None]))
                thead {
                    tr { th { "提示" } th { "情况说明" } th { "入户核查要点" } th { "核查结果（手写）" } }
                }
                tbody {
                    @for (i, f) in r.flags.iter().enumerate() {
                        @let depts: Vec<String> = f.departments.iter().map(|d| department_zh(*d)).collect();
                        tr {
                            td {
                                b { (i + 1) ". " (words::flag_zh(f.kind)) }
                                @if let Some(m) = f.member_index {
                                    br; (member_label(r, m as usize))
                                }
                                @if !depts.is_empty() {
                                    br; span.muted { (depts.join("、")) }
                                }
                            }
                            td { (hedui_i18n::flag_detail(ZH, f)) }
                            td { (words::flag_advice_zh(f.kind)) }
                            td {}
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Reviews (复核结果), when the caller has them
// ---------------------------------------------------------------------------

fn review_list(reviews: &[Review], numeral: &str) -> Markup {
    let outcome = |v: &Review| match ReviewOutcome::try_from(v.outcome) {
        Ok(ReviewOutcome::Confirmed) => "核实无误",
        Ok(ReviewOutcome::Corrected) => "核查更正",
        Ok(ReviewOutcome::Objection) => "家庭异议",
        Ok(ReviewOutcome::Unspecified) | Err(_) => "未知",
    };
    html! {
        (heading(numeral, "复核记录"))
        @if reviews.is_empty() {
            p { "本记录尚无复核记录。" }
        } @else {
            table {
                (colgroup(&[Some(22), Some(12), Some(22), None]))
                thead { tr { th { "时间" } th { "复核结果" } th { "复核人" } th { "说明" } } }
                tbody {
                    @for v in reviews {
                        tr {
                            td { (beijing_time(&v.created_at)) }
                            td { (outcome(v)) }
                            td { (v.reviewer) }
                            td.wrap { (v.note) }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Integrity
// ---------------------------------------------------------------------------

fn integrity(r: &VerificationRecord, numeral: &str) -> Markup {
    let ok = hedui_domain::digest::verify(r);
    html! {
        (heading(numeral, "记录完整性校验"))
        table class="kv keep" {
            tr { th { "记录摘要" br; "（SHA-256）" } td class="digest mono" { (r.digest) } }
            tr {
                th { "生成报告时校验" }
                td {
                    @if ok {
                        "已重新计算，与记录内容一致"
                    } @else {
                        b { "不一致：记录内容与摘要不符，本报告不得作为依据，请立即报告系统管理员" }
                    }
                }
            }
            tr { th { "请求编号" } td.mono { (r.request_id) } }
        }
        p class="muted keep" {
            "记录摘要是系统为这份核对记录的全部内容生成的“数字指纹”：记录有任何改动，摘要就会不同；系统每次读取记录时都重新核对，不一致的记录不会被提供。"
        }
    }
}

// ---------------------------------------------------------------------------
// Signatures and footer
// ---------------------------------------------------------------------------

fn signatures(numeral: &str) -> Markup {
    html! {
        div.keep {
            (heading(numeral, "签字"))
            table.sign {
                (colgroup(&[Some(22), Some(33), Some(10), None]))
                @for who in ["核对经办人（签字）", "复核人（签字）"] {
                    tr { td { (who) "：" } td.line {} td { "日期：" } td.line { "　　　　年　　月　　日" } }
                }
                tr {
                    td { "单位（盖章）：" }
                    td class="seal" colspan="1" {}
                    td { "日期：" }
                    td.line { "　　　　年　　月　　日" }
                }
            }
        }
    }
}

fn footer(r: &VerificationRecord, ctx: &ReportContext<'_>) -> Markup {
    html! {
        footer.end {
            "打印时间：" (beijing_time(ctx.printed_at)) "　·　" (ctx.bureau) "　·　记录编号 "
            span.mono { (r.record_id) }
            br;
            "本报告含家庭成员个人信息，仅用于社会救助家庭经济状况核对，按案卷管理规定保存，不得用于其他用途。"
        }
    }
}
