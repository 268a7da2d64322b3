//! The HTML report. Written with `write!` into one `String`; every text from
//! the record goes through [`escape`] (or [`mask_id`] for ID numbers, whose
//! result is escaped too).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use hedui_domain::department::{ALL, name_zh};
use hedui_domain::money::yuan;
use hedui_domain::purpose::{purpose_zh, relation_zh, residence_zh};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    Authorization, HouseholdSummary, IdentityStatus, LifeStatus, MemberFindings, PersonResult, Purpose, Relation,
    Residence, Review, ReviewOutcome, Verdict, VerificationRecord,
};

use crate::words::{self, department_zh, outcome_zh};

const ZH: hedui_i18n::Lang = hedui_i18n::Lang::Zh;
use crate::{
    ReportContext, area_m2, assets_months, beijing_time, escape, mask_id, member_by_id, member_label, month_runs,
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
    let mut o = String::with_capacity(32 * 1024);
    // Writing into a String cannot fail.
    let _ = page(&mut o, record, ctx, reviews);
    o
}

fn page(o: &mut String, r: &VerificationRecord, ctx: &ReportContext<'_>, reviews: Option<&[Review]>) -> fmt::Result {
    writeln!(o, "<!DOCTYPE html>")?;
    writeln!(o, "<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(o, "<title>{TITLE} · {}</title>", escape(&r.record_id))?;
    writeln!(o, "<style>{STYLE}{}</style>\n</head>\n<body>", page_margin_boxes(r))?;
    header(o, r, ctx)?;
    authorization(o, r)?;
    household(o, r)?;
    sources(o, r)?;
    findings(o, r)?;
    summary(o, r, ctx)?;
    verdict(o, r)?;
    flags(o, r)?;
    if let Some(reviews) = reviews {
        review_list(o, reviews)?;
    }
    integrity(o, r)?;
    signatures(o)?;
    footer(o, r, ctx)?;
    writeln!(o, "</body>\n</html>")?;
    number_sections(o);
    Ok(())
}

/// Numbers the sections in the order they were written: each `<h2>§` gets
/// the next Chinese numeral (一、二、…), so a section that is only sometimes
/// there (复核记录) never leaves a gap or an unnumbered heading.
fn number_sections(o: &mut String) {
    const NUMERALS: [&str; 12] = [
        "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
    ];
    let mut n = 0;
    while let Some(at) = o.find("<h2>§") {
        let numeral = NUMERALS.get(n).copied().unwrap_or("十二");
        o.replace_range(at..at + "<h2>§".len(), &format!("<h2>{numeral}、"));
        n += 1;
    }
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

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

fn header(o: &mut String, r: &VerificationRecord, ctx: &ReportContext<'_>) -> fmt::Result {
    let h = r.household.clone().unwrap_or_default();
    let w = r.income_window.clone().unwrap_or_default();
    let purpose = Purpose::try_from(r.purpose).map(purpose_zh).unwrap_or("未知");
    let res = Residence::try_from(h.residence).map(residence_zh).unwrap_or("未知");
    writeln!(o, "<header class=\"top\">")?;
    writeln!(o, "<div class=\"bureau\">{}</div>", escape(ctx.bureau))?;
    writeln!(o, "<h1>{TITLE}</h1>\n</header>")?;
    writeln!(
        o,
        "<table class=\"kv keep\">\n<colgroup><col style=\"width:16%\"><col style=\"width:34%\"><col style=\"width:16%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<tr><th>记录编号</th><td colspan=\"3\" class=\"mono\">{}</td></tr>",
        escape(&r.record_id)
    )?;
    writeln!(
        o,
        "<tr><th>核对日期</th><td>{}</td><th>救助类型</th><td>{}</td></tr>",
        escape(&beijing_time(&r.created_at)),
        escape(purpose)
    )?;
    writeln!(
        o,
        "<tr><th>收入核对期间</th><td>{} 至 {}（共 {} 个月）</td><th>资产基准日</th><td>{}</td></tr>",
        escape(&w.from_month),
        escape(&w.to_month),
        r.summary.as_ref().map(|s| s.window_months).unwrap_or_default(),
        escape(&r.asset_reference_date)
    )?;
    writeln!(
        o,
        "<tr><th>户编号</th><td class=\"wrap\">{}</td><th>城乡类别</th><td>{}</td></tr>",
        escape(&h.household_ref),
        escape(res)
    )?;
    writeln!(
        o,
        "<tr><th>所属县</th><td>{}</td><th>家庭人口</th><td>{} 人</td></tr>",
        escape(ctx.county),
        h.members.len()
    )?;
    writeln!(
        o,
        "<tr><th>政策版本</th><td colspan=\"3\" class=\"mono\">{}</td></tr>",
        escape(&r.policy_version)
    )?;
    if !r.previous_record_id.is_empty() {
        writeln!(
            o,
            "<tr><th>记录版本</th><td colspan=\"3\">第 {} 版（复核后生成，替代记录 <span class=\"mono\">{}</span>）</td></tr>",
            r.version.max(1),
            escape(&r.previous_record_id)
        )?;
    }
    if let Some(next) = ctx.superseded_by {
        writeln!(
            o,
            "<tr class=\"attention\"><th>已被替代</th><td colspan=\"3\"><b>本记录已被第 {} 版（记录 <span class=\"mono\">{}</span>）替代</b>，请以最新版本为准。</td></tr>",
            r.version.max(1) + 1,
            escape(next)
        )?;
    }
    writeln!(
        o,
        "<tr><th>核对结论</th><td colspan=\"3\"><b>{}</b>　<span class=\"muted\">（详见第六部分；结论为系统建议，由民政部门审核决定）</span></td></tr>",
        words::verdict_zh(r.verdict)
    )?;
    writeln!(o, "</table>")
}

// ---------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------

fn authorization(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    writeln!(o, "<h2>§授权书</h2>")?;
    let Some(a) = &r.authorization else {
        return writeln!(
            o,
            "<p>记录中没有授权书的内容，只有授权书编号：<span class=\"mono\">{}</span>。请对照案卷中的授权书原件。</p>",
            escape(&r.authorization_ref)
        );
    };
    authorization_table(o, r, a)
}

fn authorization_table(o: &mut String, r: &VerificationRecord, a: &Authorization) -> fmt::Result {
    let purpose = Purpose::try_from(a.purpose).map(purpose_zh).unwrap_or("未知");
    writeln!(o, "<table class=\"kv\">")?;
    writeln!(
        o,
        "<tr><th>授权书编号</th><td class=\"mono\">{}</td><th>授权用途</th><td>{}</td></tr>",
        escape(&a.form_number),
        escape(purpose)
    )?;
    writeln!(
        o,
        "<tr><th>签署日期</th><td>{}</td><th>有效期至</th><td>{}</td></tr>",
        escape(&a.signed_date),
        escape(&a.valid_until)
    )?;
    writeln!(
        o,
        "<tr><th>扫描件 SHA-256</th><td colspan=\"3\" class=\"mono\">{}</td></tr>",
        escape(&a.scan_sha256)
    )?;
    writeln!(o, "</table>")?;
    writeln!(
        o,
        "<table class=\"keep\">\n<colgroup><col style=\"width:7%\"><col style=\"width:17%\"><col style=\"width:24%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th class=\"c\">序号</th><th>签字人</th><th>身份证号</th><th>签字身份</th></tr></thead>\n<tbody>"
    )?;
    for (i, s) in a.signers.iter().enumerate() {
        let role = if s.as_guardian {
            let names: Vec<String> = s
                .on_behalf_of
                .iter()
                .map(|id| match member_by_id(r, id) {
                    Some(m) => member_label(r, m),
                    None => format!("非本户成员 {}", mask_id(id)),
                })
                .collect();
            format!(
                "监护人，代 {} 人签字（{}）",
                s.on_behalf_of.len(),
                escape(&names.join("、"))
            )
        } else {
            "本人".to_owned()
        };
        writeln!(
            o,
            "<tr><td class=\"c\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{role}</td></tr>",
            i + 1,
            escape(&s.name),
            escape(&mask_id(&s.id_number))
        )?;
    }
    if a.signers.is_empty() {
        writeln!(o, "<tr><td colspan=\"4\">授权书中没有签字人。</td></tr>")?;
    }
    writeln!(o, "</tbody>\n</table>")?;
    writeln!(
        o,
        "<p class=\"muted\">扫描件 SHA-256 用于核对案卷中的授权书扫描件：对扫描文件计算 SHA-256（例如 <code>sha256sum 文件名</code>），结果应与上表一致。</p>"
    )
}

// ---------------------------------------------------------------------------
// Household
// ---------------------------------------------------------------------------

fn household(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    writeln!(o, "<h2>§家庭成员</h2>")?;
    writeln!(
        o,
        "<table class=\"keep\">\n<colgroup><col style=\"width:7%\"><col style=\"width:20%\"><col style=\"width:27%\"><col style=\"width:26%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th class=\"c\">序号</th><th>姓名</th><th>身份证号</th><th>与申请人关系</th><th>是否无民事行为能力</th></tr></thead>\n<tbody>"
    )?;
    let members = r.household.as_ref().map(|h| h.members.as_slice()).unwrap_or_default();
    for (i, m) in members.iter().enumerate() {
        let relation = Relation::try_from(m.relation).map(relation_zh).unwrap_or("未知");
        writeln!(
            o,
            "<tr><td class=\"c\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"c\">{}</td></tr>",
            i + 1,
            escape(&m.name),
            escape(&mask_id(&m.id_number)),
            escape(relation),
            if m.lacks_capacity { "是" } else { "否" }
        )?;
    }
    writeln!(o, "</tbody>\n</table>")?;
    writeln!(o, "<p class=\"muted\">身份证号只显示后四位。</p>")
}

// ---------------------------------------------------------------------------
// Department outcomes
// ---------------------------------------------------------------------------

fn sources(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    writeln!(o, "<h2>§各部门核对情况</h2>")?;
    writeln!(
        o,
        "<table class=\"keep\">\n<colgroup><col style=\"width:7%\"><col style=\"width:22%\"><col style=\"width:12%\"><col style=\"width:12%\"><col style=\"width:15%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th class=\"c\">序号</th><th>部门</th><th>结果</th><th class=\"num\">用时（毫秒）</th><th>数据日期</th><th>说明</th></tr></thead>\n<tbody>"
    )?;
    let mut n = 0;
    for s in &r.sources {
        n += 1;
        let attention = if words::answered(s.outcome) {
            ""
        } else {
            " class=\"attention\""
        };
        writeln!(
            o,
            "<tr{attention}><td class=\"c\">{n}</td><td>{}</td><td><b>{}</b></td><td class=\"num\">{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            department_zh(s.department),
            outcome_zh(s.outcome),
            s.latency_ms,
            if s.data_as_of.is_empty() {
                "—".to_owned()
            } else {
                escape(&s.data_as_of)
            },
            escape(&hedui_i18n::source_note(ZH, s))
        )?;
    }
    for d in ALL {
        if !r.sources.iter().any(|s| s.department == d as i32) {
            n += 1;
            writeln!(
                o,
                "<tr class=\"attention\"><td class=\"c\">{n}</td><td>{}</td><td><b>未记录结果</b></td><td class=\"num\">—</td><td>—</td><td class=\"muted\">{}</td></tr>",
                name_zh(d),
                hedui_i18n::tr(ZH, "source-note-missing")
            )?;
        }
    }
    writeln!(o, "</tbody>\n</table>")?;
    writeln!(
        o,
        "<p class=\"muted\">“已答复”表示该部门查到至少一名成员；“无记录”表示该部门已答复但没有任何成员的记录。超时、无法连接、出错、拒绝均表示未取得该部门的数据。</p>"
    )
}

// ---------------------------------------------------------------------------
// Each member's findings
// ---------------------------------------------------------------------------

fn findings(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    writeln!(o, "<h2>§成员核对明细</h2>")?;
    if r.members.is_empty() {
        return writeln!(o, "<p>记录中没有成员核对明细。</p>");
    }
    for (i, m) in r.members.iter().enumerate() {
        member_findings(o, r, i, m)?;
    }
    Ok(())
}

fn member_findings(o: &mut String, r: &VerificationRecord, i: usize, m: &MemberFindings) -> fmt::Result {
    let member = m.member.clone().unwrap_or_default();
    let relation = Relation::try_from(member.relation).map(relation_zh).unwrap_or("未知");
    writeln!(
        o,
        "<h3>成员 {}　{}　<span class=\"muted\">{}，身份证号 <span class=\"mono\">{}</span></span></h3>",
        i + 1,
        escape(&member.name),
        escape(relation),
        escape(&mask_id(&member.id_number))
    )?;
    writeln!(
        o,
        "<table>\n<colgroup><col style=\"width:19%\"><col style=\"width:14%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th>部门</th><th>核对结果</th><th>明细</th></tr></thead>\n<tbody>"
    )?;
    // A row for every result that says something (found, name mismatch),
    // in the record's order; then one row naming the departments that know
    // nothing of this member, and one naming those that gave no answer.
    let mut no_record: Vec<String> = Vec::new();
    let mut no_data: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for (d, res) in m.result_departments.iter().zip(&m.results) {
        seen.push(*d);
        if res.identity_status == IdentityStatus::NotFound as i32 {
            no_record.push(department_zh(*d));
            continue;
        }
        let status = words::identity_zh(res.identity_status);
        let (attention, status) = if res.identity_status == IdentityStatus::Found as i32 {
            ("", status.to_owned())
        } else {
            (" class=\"attention\"", format!("<b>{status}</b>"))
        };
        writeln!(
            o,
            "<tr{attention}><td>{}</td><td>{status}</td><td>{}</td></tr>",
            department_zh(*d),
            result_detail(res)
        )?;
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
    if !no_record.is_empty() {
        writeln!(
            o,
            "<tr><td>{}</td><td>无记录</td><td>{}</td></tr>",
            if no_record.len() == 1 {
                no_record[0].as_str()
            } else {
                "其他部门"
            },
            if no_record.len() == 1 {
                "该部门没有该成员的记录".to_owned()
            } else {
                format!("{} 均没有该成员的记录", no_record.join("、"))
            }
        )?;
    }
    if !no_data.is_empty() {
        writeln!(
            o,
            "<tr class=\"attention\"><td>未答复的部门</td><td><b>未取得数据</b></td><td>{}</td></tr>",
            no_data.join("、")
        )?;
    }
    writeln!(o, "</tbody>\n</table>")
}

/// The readable detail of one department's result for one member.
fn result_detail(res: &PersonResult) -> String {
    match IdentityStatus::try_from(res.identity_status) {
        Ok(IdentityStatus::NotFound) => return "无记录".to_owned(),
        Ok(IdentityStatus::NameMismatch) => {
            return "该部门登记的姓名与所报身份证号不符，未返回该成员的数据".to_owned();
        }
        Ok(IdentityStatus::Found) => {}
        Ok(IdentityStatus::Unspecified) | Err(_) => return "核对结果未知".to_owned(),
    }
    let Some(f) = &res.findings else {
        return "已查到本人，未返回明细".to_owned();
    };
    let mut items: Vec<String> = Vec::new();
    let none = |items: &mut Vec<String>, text: &str| {
        if items.is_empty() {
            items.push(text.to_owned());
        }
    };
    match f {
        Findings::PublicSecurity(ps) => {
            let mut life = format!("生存状态：{}", words::life_zh(ps.life_status));
            if ps.life_status == LifeStatus::Deceased as i32 {
                life = format!("<b>{life}</b>");
                if !ps.death_date.is_empty() {
                    life.push_str(&format!("，死亡日期 {}", escape(&ps.death_date)));
                }
            }
            items.push(life);
            if let Some(h) = &ps.hukou {
                items.push(format!(
                    "户籍：{}，{}，与户主关系：{}",
                    escape(&h.address),
                    words::hukou_zh(h.hukou_type),
                    escape(&h.relation_to_head)
                ));
            }
            for v in &ps.vehicles {
                items.push(format!(
                    "车辆：号牌 <span class=\"mono\">{}</span>，{}，{} 登记，{}",
                    escape(&v.plate),
                    words::vehicle_type_zh(v.vehicle_type),
                    escape(&v.registration_date),
                    words::vehicle_status_zh(v.status)
                ));
            }
            if ps.vehicles.is_empty() {
                items.push("无机动车登记".to_owned());
            }
        }
        Findings::NaturalResources(nr) => {
            for p in &nr.properties {
                items.push(format!(
                    "不动产权证号 <span class=\"wrap\">{}</span>；坐落：{}；用途：{}；面积 {} 平方米；份额 {}%；取得日期 {}",
                    escape(&p.certificate_number),
                    escape(&p.location),
                    words::property_use_zh(p.r#use),
                    area_m2(p.floor_area_centi_m2),
                    p.share_percent,
                    escape(&p.acquired_date)
                ));
            }
            none(&mut items, "无不动产登记");
        }
        Findings::Housing(h) => {
            for p in &h.purchases {
                items.push(format!(
                    "商品房网签合同 <span class=\"wrap\">{}</span>；{}；面积 {} 平方米；总价 {} 元；签约日期 {}",
                    escape(&p.contract_number),
                    escape(&p.location),
                    area_m2(p.floor_area_centi_m2),
                    yuan(p.price_fen),
                    escape(&p.signed_date)
                ));
            }
            for l in &h.leases {
                let end = if l.end_date.is_empty() {
                    "未约定".to_owned()
                } else {
                    escape(&l.end_date)
                };
                items.push(format!(
                    "租赁登记：{}；月租金 {} 元；{} 至 {end}",
                    escape(&l.location),
                    yuan(l.monthly_rent_fen),
                    escape(&l.start_date)
                ));
            }
            for p in &h.public_rentals {
                items.push(format!(
                    "公租房：{}；配租日期 {}",
                    escape(&p.location),
                    escape(&p.allocated_date)
                ));
            }
            for s in &h.self_built {
                items.push(format!(
                    "{}：{}；日期 {}",
                    if s.danger_house_renovation {
                        "危房改造"
                    } else {
                        "自建房"
                    },
                    escape(&s.location),
                    escape(&s.record_date)
                ));
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
                items.push(format!(
                    "{}：应纳税所得额合计 {} 元，已缴税额 {} 元；{} 个月（{}）",
                    words::income_category_zh(*cat),
                    yuan(*income),
                    yuan(*tax),
                    distinct,
                    escape(&runs.join("、"))
                ));
            }
            none(&mut items, "核对期内无纳税记录");
        }
        Findings::MarketSupervision(ms) => {
            for b in &ms.roles {
                items.push(format!(
                    "{}（{}）；统一社会信用代码 <span class=\"mono\">{}</span>；职务：{}；认缴出资 {} 元；{}；成立日期 {}",
                    escape(&b.entity_name),
                    words::entity_type_zh(b.entity_type),
                    escape(&b.uscc),
                    words::business_role_zh(b.role),
                    yuan(b.subscribed_capital_fen),
                    words::entity_status_zh(b.status),
                    escape(&b.established_date)
                ));
            }
            none(&mut items, "无市场主体任职或出资记录");
        }
        Findings::HousingFund(hf) => {
            for a in &hf.accounts {
                items.push(format!(
                    "{}；余额 {} 元；月缴存额 {} 元；单位：{}；核对期内提取 {} 元",
                    words::fund_status_zh(a.status),
                    yuan(a.balance_fen),
                    yuan(a.monthly_contribution_fen),
                    if a.employer.is_empty() {
                        "—".to_owned()
                    } else {
                        escape(&a.employer)
                    },
                    yuan(a.withdrawals_in_window_fen)
                ));
            }
            none(&mut items, "无住房公积金账户");
        }
        Findings::Pboc(p) => {
            for a in &p.accounts {
                items.push(format!(
                    "{}，{}，账号 <span class=\"mono\">{}</span>，余额 {} 元",
                    escape(&a.bank),
                    words::account_type_zh(a.account_type),
                    escape(&a.masked_account_number),
                    yuan(a.balance_fen)
                ));
            }
            for x in &p.products {
                items.push(format!(
                    "金融产品：{}，{}，市值 {} 元",
                    escape(&x.issuer),
                    escape(&x.kind),
                    yuan(x.value_fen)
                ));
            }
            if items.is_empty() {
                items.push("无银行账户或金融产品".to_owned());
            } else {
                let total = p
                    .accounts
                    .iter()
                    .map(|a| a.balance_fen)
                    .chain(p.products.iter().map(|x| x.value_fen))
                    .fold(0i64, i64::saturating_add);
                items.push(format!("<b>合计 {} 元</b>", yuan(total)));
            }
        }
        Findings::Hrss(h) => {
            for i in &h.insurance {
                let mut s = format!(
                    "{}：{}",
                    words::insurance_type_zh(i.insurance_type),
                    words::insurance_state_zh(i.state)
                );
                if i.monthly_base_fen > 0 {
                    s.push_str(&format!("；月缴费基数 {} 元", yuan(i.monthly_base_fen)));
                }
                if i.monthly_benefit_fen > 0 {
                    s.push_str(&format!("；月领取 {} 元", yuan(i.monthly_benefit_fen)));
                }
                if !i.employer.is_empty() {
                    s.push_str(&format!("；单位：{}", escape(&i.employer)));
                }
                items.push(s);
            }
            none(&mut items, "无社会保险记录");
        }
    }
    items
        .iter()
        .map(|i| format!("<div class=\"item\">{i}</div>"))
        .collect::<Vec<_>>()
        .join("")
}

// ---------------------------------------------------------------------------
// Household summary against the policy
// ---------------------------------------------------------------------------

fn rule_cell(r: &VerificationRecord, rule: &str) -> String {
    match rule_result(r, rule) {
        Some(v) => {
            let text = hedui_i18n::rule_result(ZH, v);
            match Verdict::try_from(v) {
                Ok(Verdict::MeetsCriteria | Verdict::Unspecified) | Err(_) => text,
                Ok(Verdict::DoesNotMeet | Verdict::NeedsReview | Verdict::Incomplete) => format!("<b>{text}</b>"),
            }
        }
        None => "—".to_owned(),
    }
}

fn summary(o: &mut String, r: &VerificationRecord, ctx: &ReportContext<'_>) -> fmt::Result {
    writeln!(o, "<h2>§家庭汇总与政策标准</h2>")?;
    let s: HouseholdSummary = r.summary.clone().unwrap_or_default();
    let policy = crate::matching_policy(r, ctx);
    let res = residence(r);
    let which = match res {
        Residence::Urban => "城市",
        Residence::Rural => "农村",
        Residence::Unspecified => "城乡类别未定，取较低的",
    };
    let income_standard = match policy {
        Some(p) => format!(
            "{which}低保标准 {} 元/人·月<br><span class=\"muted\">（城市 {} 元，农村 {} 元）</span>",
            yuan(p.monthly_standard_fen(res)),
            yuan(p.monthly_standard_fen(Residence::Urban)),
            yuan(p.monthly_standard_fen(Residence::Rural))
        ),
        None => "见判定依据".to_owned(),
    };
    let assets_standard = match (policy, assets_months(r)) {
        (Some(p), Some(n)) => format!(
            "不超过 {n} 个月{which}低保标准<br>（{} 元/人）",
            yuan(p.monthly_standard_fen(res).saturating_mul(i64::from(n)))
        ),
        (None, Some(n)) => format!("不超过 {n} 个月低保标准"),
        (_, None) => "见判定依据".to_owned(),
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

    if !recheck_departments(r).is_empty() {
        writeln!(o, "<p><b>注意：</b>有部门未答复，以下汇总只包含已答复部门的数据。</p>")?;
    }
    writeln!(
        o,
        "<table>\n<colgroup><col style=\"width:26%\"><col style=\"width:26%\"><col style=\"width:30%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th>项目</th><th>本户情况</th><th>政策标准</th><th>规则结论</th></tr></thead>\n<tbody>"
    )?;
    let rows: Vec<(&str, String, String, String)> = vec![
        (
            "家庭人口",
            format!("{} 人", s.member_count),
            String::new(),
            String::new(),
        ),
        (
            "核对期内家庭收入合计<br><span class=\"muted\">应纳税所得额，加按月计入的养老金等待遇</span>",
            format!("{} 元（{} 个月）", yuan(s.window_income_fen), s.window_months),
            String::new(),
            String::new(),
        ),
        (
            "人均年收入",
            format!("{} 元", yuan(s.yearly_income_per_capita_fen)),
            String::new(),
            String::new(),
        ),
        (
            "人均月收入",
            format!("<b>{} 元</b>", yuan(s.monthly_income_per_capita_fen)),
            income_standard,
            rule_cell(r, "income.per_capita"),
        ),
        (
            "家庭金融资产合计<br><span class=\"muted\">存款、证券资金账户和金融产品</span>",
            format!("{} 元", yuan(s.financial_assets_fen)),
            String::new(),
            String::new(),
        ),
        (
            "人均金融资产",
            format!("<b>{} 元</b>", yuan(s.financial_assets_per_capita_fen)),
            assets_standard,
            rule_cell(r, "assets.per_capita"),
        ),
        (
            "在用机动车",
            vehicles,
            "见判定依据".to_owned(),
            rule_cell(r, "vehicles.count"),
        ),
        (
            "住宅及宅基地",
            format!("{} 处", s.residential_properties),
            "见判定依据".to_owned(),
            rule_cell(r, "real_estate.residential_count"),
        ),
        (
            "商业、工业用房",
            format!("{} 处", s.commercial_properties),
            "见判定依据".to_owned(),
            rule_cell(r, "real_estate.commercial"),
        ),
        (
            "商品房网签合同",
            format!("{} 份", s.housing_purchases),
            "见判定依据".to_owned(),
            rule_cell(r, "recent_purchase"),
        ),
        (
            "在营市场主体任职",
            format!("{} 项", s.active_business_roles),
            "见判定依据".to_owned(),
            rule_cell(r, "business.role"),
        ),
        (
            "在营市场主体认缴出资",
            format!("{} 元", yuan(s.subscribed_capital_fen)),
            "见判定依据".to_owned(),
            rule_cell(r, "business.subscribed_capital"),
        ),
        (
            "住房公积金",
            format!(
                "余额 {} 元；月缴存 {} 元",
                yuan(s.housing_fund_balance_fen),
                yuan(s.housing_fund_monthly_contribution_fen)
            ),
            String::new(),
            String::new(),
        ),
        (
            "社会保险",
            format!(
                "参保缴费 {} 人；领取待遇 {} 人，月领取合计 {} 元",
                s.insured_contributing,
                s.insured_receiving,
                yuan(s.monthly_benefits_fen)
            ),
            String::new(),
            String::new(),
        ),
    ];
    for (label, value, standard, result) in rows {
        let attention = if result.contains("<b>") {
            " class=\"attention\""
        } else {
            ""
        };
        writeln!(
            o,
            "<tr{attention}><th>{label}</th><td>{value}</td><td>{}</td><td>{}</td></tr>",
            if standard.is_empty() { "—" } else { &standard },
            if result.is_empty() { "—" } else { &result }
        )?;
    }
    writeln!(o, "</tbody>\n</table>")?;
    match (ctx.policy, policy) {
        (_, Some(p)) => {
            write!(
                o,
                "<p class=\"muted\">适用政策版本：<span class=\"mono\">{}</span>",
                escape(&r.policy_version)
            )?;
            if !p.description_zh().is_empty() {
                write!(o, "；政策说明：{}", escape(p.description_zh()))?;
            }
            writeln!(o, "。</p>")
        }
        (Some(other), None) => writeln!(
            o,
            "<p class=\"muted\">适用政策版本：<span class=\"mono\">{}</span>。所提供的政策文件版本为 <span class=\"mono\">{}</span>，与记录不符，因此未显示标准；标准以第六部分判定依据为准。</p>",
            escape(&r.policy_version),
            escape(other.version())
        ),
        (None, None) => writeln!(
            o,
            "<p class=\"muted\">适用政策版本：<span class=\"mono\">{}</span>。未随报告提供该版本的政策文件，标准以第六部分判定依据为准。</p>",
            escape(&r.policy_version)
        ),
    }
}

// ---------------------------------------------------------------------------
// Verdict and reasons
// ---------------------------------------------------------------------------

fn verdict(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    // The heading, the verdict and the re-check notice stay on one page.
    writeln!(o, "<div class=\"keep\">\n<h2>§核对结论及依据</h2>")?;
    writeln!(
        o,
        "<div class=\"verdict\"><span class=\"label\">核对结论：</span><span class=\"value\">{}</span><br>{}<br><span class=\"muted\">本结论是系统按政策文件（版本 <span class=\"mono\">{}</span>）作出的建议，不是审批决定；由民政部门审核后决定。</span></div>",
        words::verdict_zh(r.verdict),
        words::verdict_explained(r.verdict),
        escape(&r.policy_version)
    )?;
    if r.verdict == Verdict::Incomplete as i32 {
        recheck(o, r)?;
    }
    writeln!(o, "</div>")?;
    writeln!(
        o,
        "<table>\n<colgroup><col style=\"width:6%\"><col style=\"width:22%\"><col style=\"width:13%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th class=\"c\">序号</th><th>规则</th><th>结论</th><th>依据说明</th></tr></thead>\n<tbody>"
    )?;
    for (i, reason) in r.reasons.iter().enumerate() {
        let passes = reason.leads_to == Verdict::MeetsCriteria as i32;
        let result = match Verdict::try_from(reason.leads_to) {
            Ok(Verdict::MeetsCriteria) => "符合".to_owned(),
            _ => format!("<b>{}</b>", hedui_i18n::rule_result(ZH, reason.leads_to)),
        };
        writeln!(
            o,
            "<tr{}><td class=\"c\">{}</td><td>{}<br><span class=\"mono muted rule\">{}</span></td><td>{result}</td><td>{}</td></tr>",
            if passes { "" } else { " class=\"attention\"" },
            i + 1,
            words::rule_zh(&reason.rule),
            escape(&reason.rule).replace('.', ".<wbr>"),
            escape(&hedui_i18n::reason(ZH, reason))
        )?;
    }
    if r.reasons.is_empty() {
        writeln!(o, "<tr><td colspan=\"4\">记录中没有判定依据。</td></tr>")?;
    }
    writeln!(o, "</tbody>\n</table>")?;
    writeln!(
        o,
        "<p class=\"muted\">依据说明中的“第 N 位成员”指第二部分表中序号为 N 的成员。</p>"
    )
}

fn recheck(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    let depts = recheck_departments(r);
    writeln!(o, "<div class=\"notice\">")?;
    if depts.is_empty() {
        writeln!(o, "<div class=\"depts\">请复核：见下列“数据来源”依据</div>")?;
    } else {
        let names: Vec<&str> = depts.iter().map(|d| name_zh(*d)).collect();
        writeln!(o, "<div class=\"depts\">请复核：{}</div>", names.join("、"))?;
    }
    if let Some(cmd) = recheck_command(r, &depts) {
        writeln!(o, "<div>复核命令：<code>{}</code></div>", escape(&cmd))?;
    }
    writeln!(
        o,
        "<div class=\"muted\">以上部门的结果为超时、无法连接、出错、拒绝或未记录。复核只重新查询这些部门，取得答复后再作结论。</div>\n</div>"
    )
}

// ---------------------------------------------------------------------------
// Flags with what to check on the home visit
// ---------------------------------------------------------------------------

fn flags(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    writeln!(o, "<h2>§核查提示与入户核查要点</h2>")?;
    if r.flags.is_empty() {
        return writeln!(o, "<p>本次核对没有核查提示。</p>");
    }
    writeln!(
        o,
        "<table>\n<colgroup><col style=\"width:21%\"><col style=\"width:27%\"><col style=\"width:33%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th>提示</th><th>情况说明</th><th>入户核查要点</th><th>核查结果（手写）</th></tr></thead>\n<tbody>"
    )?;
    for (i, f) in r.flags.iter().enumerate() {
        let member = f
            .member_index
            .map(|m| format!("<br>{}", escape(&member_label(r, m as usize))))
            .unwrap_or_default();
        let depts: Vec<String> = f.departments.iter().map(|d| department_zh(*d)).collect();
        let depts = if depts.is_empty() {
            String::new()
        } else {
            format!("<br><span class=\"muted\">{}</span>", depts.join("、"))
        };
        writeln!(
            o,
            "<tr><td><b>{}. {}</b>{member}{depts}</td><td>{}</td><td>{}</td><td></td></tr>",
            i + 1,
            words::flag_zh(f.kind),
            escape(&hedui_i18n::flag_detail(ZH, f)),
            words::flag_advice_zh(f.kind)
        )?;
    }
    writeln!(o, "</tbody>\n</table>")
}

// ---------------------------------------------------------------------------
// Reviews (复核结果), when the caller has them
// ---------------------------------------------------------------------------

fn review_list(o: &mut String, reviews: &[Review]) -> fmt::Result {
    writeln!(o, "<h2>§复核记录</h2>")?;
    if reviews.is_empty() {
        return writeln!(o, "<p>本记录尚无复核记录。</p>");
    }
    writeln!(
        o,
        "<table>\n<colgroup><col style=\"width:22%\"><col style=\"width:12%\"><col style=\"width:22%\"><col></colgroup>"
    )?;
    writeln!(
        o,
        "<thead><tr><th>时间</th><th>复核结果</th><th>复核人</th><th>说明</th></tr></thead>\n<tbody>"
    )?;
    for v in reviews {
        let outcome = match ReviewOutcome::try_from(v.outcome) {
            Ok(ReviewOutcome::Confirmed) => "核实无误",
            Ok(ReviewOutcome::Corrected) => "核查更正",
            Ok(ReviewOutcome::Objection) => "家庭异议",
            Ok(ReviewOutcome::Unspecified) | Err(_) => "未知",
        };
        writeln!(
            o,
            "<tr><td>{}</td><td>{outcome}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
            escape(&beijing_time(&v.created_at)),
            escape(&v.reviewer),
            escape(&v.note)
        )?;
    }
    writeln!(o, "</tbody>\n</table>")
}

// ---------------------------------------------------------------------------
// Integrity
// ---------------------------------------------------------------------------

fn integrity(o: &mut String, r: &VerificationRecord) -> fmt::Result {
    writeln!(o, "<h2>§记录完整性校验</h2>")?;
    let ok = hedui_domain::digest::verify(r);
    writeln!(o, "<table class=\"kv keep\">")?;
    writeln!(
        o,
        "<tr><th>记录摘要<br>（SHA-256）</th><td class=\"digest mono\">{}</td></tr>",
        escape(&r.digest)
    )?;
    writeln!(
        o,
        "<tr><th>生成报告时校验</th><td>{}</td></tr>",
        if ok {
            "已重新计算，与记录内容一致"
        } else {
            "<b>不一致：记录内容与摘要不符，本报告不得作为依据，请立即报告系统管理员</b>"
        }
    )?;
    writeln!(
        o,
        "<tr><th>请求编号</th><td class=\"mono\">{}</td></tr>",
        escape(&r.request_id)
    )?;
    writeln!(o, "</table>")?;
    writeln!(
        o,
        "<p class=\"muted keep\">记录摘要是系统为这份核对记录的全部内容生成的“数字指纹”：记录有任何改动，摘要就会不同；系统每次读取记录时都重新核对，不一致的记录不会被提供。</p>"
    )
}

// ---------------------------------------------------------------------------
// Signatures and footer
// ---------------------------------------------------------------------------

fn signatures(o: &mut String) -> fmt::Result {
    writeln!(o, "<div class=\"keep\">")?;
    writeln!(o, "<h2>§签字</h2>")?;
    writeln!(
        o,
        "<table class=\"sign\">\n<colgroup><col style=\"width:22%\"><col style=\"width:33%\"><col style=\"width:10%\"><col></colgroup>"
    )?;
    for who in ["核对经办人（签字）", "复核人（签字）"] {
        writeln!(
            o,
            "<tr><td>{who}：</td><td class=\"line\"></td><td>日期：</td><td class=\"line\">　　　　年　　月　　日</td></tr>"
        )?;
    }
    writeln!(
        o,
        "<tr><td>单位（盖章）：</td><td class=\"seal\" colspan=\"1\"></td><td>日期：</td><td class=\"line\">　　　　年　　月　　日</td></tr>"
    )?;
    writeln!(o, "</table>\n</div>")
}

fn footer(o: &mut String, r: &VerificationRecord, ctx: &ReportContext<'_>) -> fmt::Result {
    writeln!(
        o,
        "<footer class=\"end\">打印时间：{}　·　{}　·　记录编号 <span class=\"mono\">{}</span><br>本报告含家庭成员个人信息，仅用于社会救助家庭经济状况核对，按案卷管理规定保存，不得用于其他用途。</footer>",
        escape(&beijing_time(ctx.printed_at)),
        escape(ctx.bureau),
        escape(&r.record_id)
    )
}
