use hedui_domain::department::{ALL, name_zh};
use hedui_proto::v1::{Department, SourceOutcome, Verdict, VerificationRecord};
use serde_json::Value;

use super::*;
use crate::fixture::{self, RECORD_ID};

const BUREAU: &str = "德江县民政局";
const COUNTY: &str = "德江县";

fn html_with(record: &VerificationRecord, policy: Option<&Policy>) -> String {
    render_html(
        record,
        &ReportContext {
            bureau: BUREAU,
            county: COUNTY,
            policy,
            printed_at: "2026-11-27T01:30:00Z",
            superseded_by: None,
        },
    )
}

fn html(record: &VerificationRecord) -> String {
    html_with(record, Some(&fixture::policy()))
}

fn json(record: &VerificationRecord) -> Value {
    let p = fixture::policy();
    let text = render_json(
        record,
        &ReportContext {
            bureau: BUREAU,
            county: COUNTY,
            policy: Some(&p),
            printed_at: "2026-11-27",
            superseded_by: None,
        },
    );
    serde_json::from_str(&text).expect("render_json gives valid JSON")
}

/// The text of a section, from its heading to the next `<h2>`.
fn section<'a>(html: &'a str, heading: &str) -> &'a str {
    let start = html.find(heading).unwrap_or_else(|| panic!("no section {heading}"));
    let rest = &html[start..];
    let end = rest[heading.len()..]
        .find("<h2>")
        .map(|e| e + heading.len())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// A rule id as the reasons table prints it, with a break point after each dot.
fn rule(id: &str) -> String {
    id.replace('.', ".<wbr>")
}

/// The `<tr>…</tr>` of a table section that mentions `needle`.
fn row<'a>(section: &'a str, needle: &str) -> &'a str {
    section
        .match_indices("<tr")
        .map(|(at, _)| {
            let rest = &section[at..];
            &rest[..rest.find("</tr>").map_or(rest.len(), |end| end + "</tr>".len())]
        })
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle} in {section}"))
}

fn all_ids() -> Vec<String> {
    vec![
        fixture::applicant(),
        fixture::spouse(),
        fixture::son(),
        fixture::granddaughter(),
        fixture::brother(),
    ]
}

// --- masking and escaping ---------------------------------------------------

#[test]
fn mask_id_keeps_only_the_last_four_characters() {
    assert_eq!(mask_id("52062619470120583X"), "**************583X");
    assert_eq!(mask_id("522226198001010018"), "**************0018");
    assert_eq!(mask_id("12345"), "*2345");
    assert_eq!(mask_id("1234"), "****");
    assert_eq!(mask_id(""), "");
    // Characters, not bytes.
    assert_eq!(mask_id("张三李四王五"), "**李四王五");
}

#[test]
fn escape_covers_the_five_characters() {
    assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    assert_eq!(escape("杨光明"), "杨光明");
}

#[test]
fn full_id_numbers_never_appear_only_their_last_four() {
    for record in [fixture::rich_record(), fixture::incomplete_record()] {
        let page = html(&record);
        let doc = json(&record).to_string();
        for id in all_ids() {
            assert!(!page.contains(&id), "the HTML shows {id}");
            assert!(
                !page.contains(&id[..14]),
                "the HTML shows the first 14 characters of {id}"
            );
            assert!(!doc.contains(&id), "the JSON shows {id}");
            assert!(
                !doc.contains(&id[..14]),
                "the JSON shows the first 14 characters of {id}"
            );
            assert!(page.contains(&mask_id(&id)), "the HTML lacks the masked {id}");
            assert!(doc.contains(&mask_id(&id)), "the JSON lacks the masked {id}");
        }
    }
}

#[test]
fn every_text_from_the_record_is_escaped() {
    let mut r = fixture::rich_record();
    let evil = "<script>alert('x')</script>";
    r.household.as_mut().unwrap().members[0].name = evil.into();
    r.members[0].member.as_mut().unwrap().name = evil.into();
    r.household.as_mut().unwrap().household_ref = "<b>H</b>".into();
    r.authorization.as_mut().unwrap().signers[0].name = evil.into();
    r.reasons[0].detail = "<img src=x onerror=alert(1)>".into();
    r.flags[0].detail = evil.into();
    r.sources[0].detail = "</td></tr></table><script>".into();
    r.policy_version = "v\"><script>".into();
    r.record_id = "id</style><script>alert(1)</script>".into();
    let page = html(&r);
    assert!(!page.to_lowercase().contains("<script"), "unescaped script tag");
    assert!(!page.contains("<img"), "unescaped img tag");
    assert!(!page.contains("<b>H</b>"));
    // maud leaves `'` as it is: the page quotes every attribute with `"`.
    assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
    // A reason the catalog cannot say is not shown at all, escaped or not.
    assert!(!page.contains("onerror"));
    // The record id in the page-margin CSS keeps only safe characters.
    let style = &page[page.find("<style>").unwrap() + "<style>".len()..page.find("</style>").unwrap()];
    assert!(!style.contains("</style") && !style.contains('<'));
}

// --- content of the HTML ----------------------------------------------------

#[test]
fn the_header_names_the_bureau_record_purpose_and_dates() {
    let page = html(&fixture::rich_record());
    for s in [
        "德江县民政局",
        "德江县",
        "<h1>居民家庭经济状况核对报告</h1>",
        RECORD_ID,
        "2026-11-26 16:15（北京时间）",
        "最低生活保障",
        "2025-11 至 2026-10（共 12 个月）",
        "2026-11-25",
        "DJ-QL-2026-0042",
        "农村",
        "dejiang-example-2026.1",
        "打印时间：2026-11-27 09:30（北京时间）",
    ] {
        assert!(page.contains(s), "missing {s}");
    }
}

#[test]
fn the_authorization_shows_the_form_and_who_signed_for_whom() {
    let page = html(&fixture::rich_record());
    let auth = section(&page, "一、授权书");
    for s in [
        "DJ-SQ-2026-000187",
        "2026-11-20",
        "2027-11-19",
        "9f2b6c0e4d8a1f37b5c2e9d04a6f8b1c3e5d7a9b0c2e4f6a8b1d3c5e7f9a0b2c",
        "最低生活保障",
    ] {
        assert!(auth.contains(s), "missing {s}");
    }
    assert!(row(auth, "田秀英").contains("本人"));
    assert!(auth.contains("监护人，代 1 人签字（成员 5 杨光华）"));
    assert!(auth.contains("监护人，代 1 人签字（成员 4 杨丽）"));

    let mut r = fixture::rich_record();
    r.authorization = None;
    let page = html(&r);
    assert!(section(&page, "一、授权书").contains("只有授权书编号"));
}

#[test]
fn the_household_table_has_masked_ids_relations_and_capacity() {
    let page = html(&fixture::rich_record());
    let hh = section(&page, "二、家庭成员");
    for h in ["序号", "姓名", "身份证号", "与申请人关系", "是否无民事行为能力"] {
        assert!(hh.contains(h), "missing column {h}");
    }
    let applicant = row(hh, "杨光明");
    assert!(applicant.contains("申请人本人") && applicant.contains(&mask_id(&fixture::applicant())));
    assert!(applicant.contains(">否<"));
    let brother = row(hh, "杨光华");
    assert!(brother.contains("兄弟姐妹") && brother.contains(">是<"));
    assert!(row(hh, "杨丽").contains("孙子女/外孙子女"));
}

#[test]
fn each_department_shows_its_chinese_name_and_outcome() {
    let r = fixture::record_with(&[
        (Department::Tax, SourceOutcome::Timeout, "deadline"),
        (Department::Pboc, SourceOutcome::Unavailable, "connection refused"),
        (Department::Hrss, SourceOutcome::Error, "malformed reply"),
        (Department::MarketSupervision, SourceOutcome::Refused, "grant rejected"),
        (Department::HousingFund, SourceOutcome::NoRecord, ""),
    ]);
    let page = html(&r);
    let table = section(&page, "三、各部门核对情况");
    let expect = [
        (Department::PublicSecurity, "已答复"),
        (Department::NaturalResources, "已答复"),
        (Department::Housing, "已答复"),
        (Department::Tax, "超时"),
        (Department::MarketSupervision, "拒绝"),
        (Department::HousingFund, "无记录"),
        (Department::Pboc, "无法连接"),
        (Department::Hrss, "出错"),
    ];
    for (d, outcome) in expect {
        let line = row(table, &format!("<td>{}</td>", name_zh(d)));
        assert!(line.contains(&format!("<b>{outcome}</b>")), "{d:?}: {line}");
    }
    assert!(row(table, "税务局").contains(">5000<"), "latency in ms");
    assert!(row(table, "公安局").contains("2026-11-25"), "date of the data");
    // The hub's English detail becomes a Chinese note.
    assert!(row(table, "人民银行").contains("无法连接该部门"));
    assert!(!table.contains("connection refused"));
    // A member's findings say why a department has nothing for them.
    let f = section(&page, "四、成员核对明细");
    assert!(
        row(f, "未答复的部门").contains("税务局（超时）、市场监督管理局（拒绝）、人民银行（无法连接）、人社局（出错）")
    );
    assert!(row(f, "其他部门").contains("住房公积金管理中心"));
}

#[test]
fn a_department_missing_from_the_record_is_shown_and_rechecked() {
    let mut r = fixture::incomplete_record();
    r.sources.retain(|s| s.department != Department::Hrss as i32);
    let page = html(&r);
    assert!(row(section(&page, "三、各部门核对情况"), "人社局").contains("未记录结果"));
    assert!(page.contains("请复核：税务局、人民银行、人社局"));
    assert!(page.contains(&format!("hedui record recheck {RECORD_ID} --departments tax,pboc,hrss")));
}

#[test]
fn each_members_findings_are_readable() {
    let page = html(&fixture::rich_record());
    let f = section(&page, "四、成员核对明细");
    for s in [
        // Public security: life status, hukou and vehicles.
        "<b>生存状态：已死亡</b>，死亡日期 2026-03-02",
        "户籍：贵州省铜仁市德江县青龙街道龙溪村三组28号，农村户口，与户主关系：户主",
        "号牌 <span class=\"mono\">贵DA5821</span>，小型汽车，2026-05-01 登记，正常",
        "摩托车，2014-07-19 登记，正常",
        "货车，2009-03-03 登记，注销/报废",
        // Natural resources: certificate, location, use, area, share, date.
        "不动产权证号 <span class=\"wrap\">黔(2016)德江县不动产权第0001234号</span>",
        "用途：宅基地；面积 120.50 平方米；份额 100%；取得日期 2016-04-12",
        "面积 89.37 平方米；份额 50%；取得日期 2026-03-20",
        // Housing.
        "商品房网签合同 <span class=\"wrap\">WQ-520626-2026-000318-DJSAHY</span>",
        "总价 328,000.00 元；签约日期 2026-02-15",
        "月租金 800.00 元；2024-09-01 至 未约定",
        "公租房：德江县青龙街道公租房小区5栋102室；配租日期 2020-06-30",
        "危房改造：德江县青龙街道龙溪村三组28号；日期 2019-08-01",
        // Tax, summed by category with the months.
        "工资薪金：应纳税所得额合计 42,000.00 元，已缴税额 0.00 元；12 个月（2025-11—2026-10）",
        "经营所得：应纳税所得额合计 3,600.00 元，已缴税额 36.00 元；3 个月（2026-03—2026-04、2026-07）",
        // Market supervision.
        "德江县青龙街道杨记小吃店（个体工商户）",
        "职务：经营者；认缴出资 50,000.00 元；存续/在营；成立日期 2021-05-10",
        "职务：投资人/股东；认缴出资 200,000.00 元；注销",
        // Housing fund.
        "正常缴存；余额 18,650.00 元；月缴存额 480.00 元；单位：德江县龙溪建筑工程有限公司",
        // PBoC: masked account numbers as given, balances in yuan.
        "德江县农村商业银行，活期，账号 <span class=\"mono\">6228************1234</span>，余额 12,560.34 元",
        "金融产品：中国银行，理财，市值 20,000.00 元",
        "<b>合计 80,000.00 元</b>",
        // HRSS.
        "基本养老保险：领取待遇；月领取 160.00 元",
        "医疗保险：参保缴费；月缴费基数 3,500.00 元",
        // Nothing found, and a name that does not match.
        "无机动车登记",
        "姓名与身份证号不符",
    ] {
        assert!(f.contains(s), "missing {s}");
    }
    // The brother's tax row is the mismatch.
    let brother = &f[f.find("杨光华").unwrap()..];
    assert!(row(brother, "税务局").contains("<b>姓名与身份证号不符</b>"));
    assert!(row(brother, "其他部门").contains("<td>无记录</td>"));
    assert!(
        row(brother, "其他部门")
            .contains("自然资源局、市场监督管理局、住房公积金管理中心、人民银行、人社局 均没有该成员的记录")
    );
    // The USCC is shown in full; it is a business's public identifier.
    let uscc = f.split("统一社会信用代码 <span class=\"mono\">").nth(1).unwrap();
    assert!(uscc.starts_with("92520626MA6EXL0Q2"));
}

#[test]
fn the_summary_compares_with_the_policy_thresholds() {
    let r = fixture::rich_record();
    let page = html(&r);
    let s = section(&page, "五、家庭汇总与政策标准");
    let income = row(s, "人均月收入");
    assert!(income.contains("农村低保标准 580.00 元/人·月"), "{income}");
    assert!(income.contains("城市 760.00 元，农村 580.00 元"));
    let assets = row(s, "人均金融资产");
    assert!(assets.contains("不超过 24 个月农村低保标准"), "{assets}");
    assert!(assets.contains("13,920.00 元/人"));
    assert!(row(s, "在用机动车").contains("<b>不符合</b>"));
    assert!(row(s, "商品房网签合同").contains("<b>需人工复核</b>"));
    assert!(s.contains("dejiang-example-2026.1"));
    assert!(
        s.contains("政策说明：最低生活保障（低保）示例政策"),
        "the policy's description_zh is shown"
    );
    assert!(!s.contains("numbers are examples"), "the English description is not");

    let without = html_with(&r, None);
    let s = section(&without, "五、家庭汇总与政策标准");
    assert!(s.contains("dejiang-example-2026.1") && s.contains("未随报告提供"));
    assert!(!s.contains("580.00"));

    let other = Policy::from_toml(
        &fixture::POLICY.replace("version = \"dejiang-example-2026.1\"", "version = \"dejiang-2027.1\""),
    )
    .unwrap();
    let mismatched = html_with(&r, Some(&other));
    let s = section(&mismatched, "五、家庭汇总与政策标准");
    assert!(s.contains("dejiang-2027.1") && s.contains("与记录不符"));
    assert!(!s.contains("580.00"), "a policy of another version gives no thresholds");
}

#[test]
fn the_verdict_is_in_chinese_with_rule_names_and_details() {
    let r = fixture::rich_record();
    assert_eq!(r.verdict, Verdict::DoesNotMeet as i32);
    let page = html(&r);
    let v = section(&page, "六、核对结论及依据");
    assert!(v.contains("<span class=\"value\">不符合条件</span>"));
    let vehicles = row(v, &rule("vehicles.count"));
    assert!(vehicles.contains("车辆") && vehicles.contains("<b>不符合</b>"));
    assert!(
        vehicles.contains("本户在用的非豁免机动车 1 辆（小型汽车 1 辆）"),
        "{vehicles}"
    );
    assert!(row(v, &rule("income.per_capita")).contains("<td>收入<br>"));
    assert!(row(v, &rule("assets.per_capita")).contains("<td>金融资产<br>"));
    assert!(row(v, &rule("real_estate.residential_count")).contains("<td>房产<br>"));
    assert!(row(v, &rule("recent_purchase")).contains("<td>近期购房<br>"));
    assert!(row(v, &rule("business.role")).contains("<td>经营情况<br>"));
    assert!(row(v, &rule("flags.deceased-member")).contains("<td>核查提示<br>"));
    assert!(row(v, &rule("sources.required")).contains("<td>数据来源<br>"));
    assert!(!page.contains("请复核"), "a complete record asks for no re-check");

    for (verdict, zh) in [
        (Verdict::MeetsCriteria, "符合条件"),
        (Verdict::NeedsReview, "需人工复核"),
        (Verdict::Incomplete, "核对不完整"),
    ] {
        let mut r = fixture::rich_record();
        r.verdict = verdict as i32;
        let page = html(&r);
        assert!(page.contains(&format!("<span class=\"value\">{zh}</span>")), "{zh}");
    }
}

#[test]
fn every_flag_comes_with_what_to_check_on_the_home_visit() {
    let page = html(&fixture::rich_record());
    let f = section(&page, "七、核查提示与入户核查要点");
    for (kind, advice) in [
        ("姓名与身份证号不符", "当面核验该成员的居民身份证原件和户口簿"),
        (
            "成员已登记死亡",
            "核实该成员是否已死亡、是否仍在领取养老金，必要时调取死亡证明",
        ),
        ("部门信息不一致", "对照各部门记录逐项核实"),
        (
            "核对期内新增车辆或房产",
            "核实该车辆或房产的取得时间、方式（购买、继承、赠与）、资金来源",
        ),
        ("公安无此身份证号", "核实身份证号码是否填错、户口是否已注销或迁出"),
    ] {
        let line = row(f, kind);
        assert!(line.contains(advice), "{kind}: {line}");
    }
    let deceased = row(f, "成员已登记死亡");
    assert!(deceased.contains("成员 2 田秀英") && deceased.contains("公安局"));
    assert!(
        deceased.contains("公安局登记第2位成员已于 2026-03-02 死亡"),
        "{deceased}"
    );
    assert!(f.contains("核查结果（手写）"));

    let mut quiet = fixture::rich_record();
    quiet.flags.clear();
    assert!(html(&quiet).contains("本次核对没有核查提示"));
}

#[test]
fn an_incomplete_record_names_the_departments_to_recheck_and_the_command() {
    let r = fixture::incomplete_record();
    assert_eq!(r.verdict, Verdict::Incomplete as i32);
    let page = html(&r);
    let v = section(&page, "六、核对结论及依据");
    assert!(v.contains("<span class=\"value\">核对不完整</span>"));
    assert!(v.contains("请复核：税务局、人民银行"));
    assert!(v.contains(&format!(
        "<code>hedui record recheck {RECORD_ID} --departments tax,pboc</code>"
    )));
    assert!(row(v, "必需部门税务局未答复").contains("<td>数据来源<br>"));
    assert!(section(&page, "五、家庭汇总与政策标准").contains("有部门未答复"));
}

#[test]
fn the_digest_is_shown_checked_and_explained() {
    let r = fixture::rich_record();
    assert_eq!(r.digest.len(), 64);
    let page = html(&r);
    let d = section(&page, "八、记录完整性校验");
    assert!(d.contains(&r.digest));
    assert!(d.contains("已重新计算，与记录内容一致"));
    // One sentence a caseworker understands, and no protobuf lecture.
    assert!(d.contains("“数字指纹”") && d.contains("不一致的记录不会被提供"));
    assert!(!d.contains("protobuf") && !d.contains("digest 字段"));

    let mut tampered = r.clone();
    tampered.summary.as_mut().unwrap().financial_assets_fen = 1;
    assert!(section(&html(&tampered), "八、记录完整性校验").contains("不一致"));
}

#[test]
fn there_is_room_to_sign_and_seal() {
    let page = html(&fixture::rich_record());
    let s = section(&page, "九、签字");
    for label in ["核对经办人（签字）", "复核人（签字）", "日期：", "单位（盖章）"] {
        assert!(s.contains(label), "missing {label}");
    }
    assert_eq!(s.matches("年　　月　　日").count(), 3);
}

#[test]
fn the_page_is_laid_out_for_a4_and_loads_nothing() {
    let page = html(&fixture::rich_record());
    for s in [
        "<!DOCTYPE html>",
        "<meta charset=\"utf-8\">",
        "@page { size: A4; margin: 15mm }",
        "table { page-break-inside: auto } tr { page-break-inside: avoid }",
        "thead { display: table-header-group }",
        "word-break: break-all",
        r#""Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif"#,
    ] {
        assert!(page.contains(s), "missing {s}");
    }
    for s in ["http://", "https://", "url(", "<link", "<script", "@import", "<img"] {
        assert!(!page.contains(s), "external resource {s}");
    }
}

// --- JSON -------------------------------------------------------------------

#[test]
fn the_json_has_the_same_content() {
    let r = fixture::rich_record();
    let j = json(&r);
    assert_eq!(j["format_version"], 1);
    assert_eq!(j["bureau"], BUREAU);
    assert_eq!(j["record"]["record_id"], RECORD_ID);
    assert_eq!(j["record"]["purpose"], "PURPOSE_MINIMUM_LIVING");
    assert_eq!(j["record"]["policy_version"], "dejiang-example-2026.1");
    assert_eq!(j["verdict"], "VERDICT_DOES_NOT_MEET");
    assert_eq!(j["members"].as_array().unwrap().len(), 5);
    assert_eq!(j["members"][0]["id_number_masked"], mask_id(&fixture::applicant()));
    assert_eq!(j["members"][4]["lacks_capacity"], true);
    assert_eq!(j["authorization"]["signers"][1]["as_guardian"], true);
    assert_eq!(j["authorization"]["signers"][1]["on_behalf_of"][0]["member_number"], 5);
    assert_eq!(j["sources"].as_array().unwrap().len(), 8);
    assert_eq!(j["sources"][3]["slug"], "tax");
    assert_eq!(j["sources"][3]["outcome"], "SOURCE_OUTCOME_OK");
    let son = &j["findings"][2]["results"];
    assert_eq!(
        son[0]["findings"]["public_security"]["vehicles"][0]["plate"],
        "贵DA5821"
    );
    assert_eq!(
        son[3]["findings"]["tax"]["by_category"][0]["taxable_income_fen"],
        4_200_000
    );
    assert_eq!(
        j["findings"][4]["results"][3]["identity_status"],
        "IDENTITY_STATUS_NAME_MISMATCH"
    );
    assert_eq!(j["summary"]["thresholds"]["monthly_standard_fen"], 58_000);
    assert_eq!(j["summary"]["thresholds"]["assets_max_months_of_standard"], 24);
    assert_eq!(j["summary"]["thresholds"]["assets_max_per_capita_fen"], 1_392_000);
    let kinds: Vec<&str> = j["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for k in [
        "FLAG_KIND_IDENTITY_MISMATCH",
        "FLAG_KIND_DECEASED_MEMBER",
        "FLAG_KIND_DEPARTMENTS_DISAGREE",
        "FLAG_KIND_RECENT_ACQUISITION",
        "FLAG_KIND_IDENTITY_NOT_FOUND",
    ] {
        assert!(kinds.contains(&k), "missing {k}");
    }
    let deceased = j["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "FLAG_KIND_DECEASED_MEMBER")
        .unwrap();
    assert_eq!(deceased["member_number"], 2);
    assert!(
        deceased["home_visit_advice_zh"]
            .as_str()
            .unwrap()
            .contains("必要时调取死亡证明")
    );
    assert!(j["recheck"].is_null());
    assert_eq!(j["integrity"]["digest"], r.digest.as_str());
    assert_eq!(j["integrity"]["digest_matches"], true);
    assert!(
        j["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["rule"] == "vehicles.count" && x["leads_to"] == "VERDICT_DOES_NOT_MEET")
    );
    // Beside each English sentence of the record, the catalog's Chinese.
    let income = j["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "income.per_capita")
        .unwrap();
    assert_eq!(income["detail_zh"], "人均月收入 822.00 元，高于农村低保标准 580.00 元");
    assert_eq!(deceased["detail_zh"], "公安局登记第2位成员已于 2026-03-02 死亡");
}

#[test]
fn the_json_of_an_incomplete_record_has_the_recheck() {
    let j = json(&fixture::incomplete_record());
    assert_eq!(j["verdict"], "VERDICT_INCOMPLETE");
    let slugs: Vec<&str> = j["recheck"]["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["tax", "pboc"]);
    assert_eq!(
        j["recheck"]["command"],
        format!("hedui record recheck {RECORD_ID} --departments tax,pboc")
    );
    assert_eq!(j["sources"][3]["outcome"], "SOURCE_OUTCOME_TIMEOUT");
    assert_eq!(j["sources"][6]["outcome"], "SOURCE_OUTCOME_UNAVAILABLE");
}

#[test]
fn renderings_are_deterministic() {
    let r = fixture::rich_record();
    assert_eq!(html(&r), html(&r));
    assert_eq!(json(&r), json(&r));
    assert_eq!(
        render_json(
            &r,
            &ReportContext {
                bureau: BUREAU,
                county: COUNTY,
                policy: None,
                printed_at: "x",
                superseded_by: None,
            }
        ),
        render_json(
            &r,
            &ReportContext {
                bureau: BUREAU,
                county: COUNTY,
                policy: None,
                printed_at: "x",
                superseded_by: None,
            }
        )
    );
}

#[test]
fn an_empty_record_renders_without_panicking() {
    let r = VerificationRecord::default();
    let page = html_with(&r, None);
    assert!(page.contains("居民家庭经济状况核对报告"));
    assert!(page.contains("未作结论"));
    let j: Value = serde_json::from_str(&render_json(
        &r,
        &ReportContext {
            bureau: "",
            county: "",
            policy: None,
            printed_at: "",
            superseded_by: None,
        },
    ))
    .unwrap();
    assert_eq!(j["verdict"], "VERDICT_UNSPECIFIED");
    // Every department lacks an outcome, so all eight are listed.
    assert_eq!(
        section(&page, "三、各部门核对情况").matches("未记录结果").count(),
        ALL.len()
    );
}

// --- helpers ------------------------------------------------------------------

#[test]
fn months_collapse_into_runs() {
    assert_eq!(
        month_runs(&[
            "2026-03", "2025-11", "2025-12", "2026-01", "2026-01", "2026-07", "2026-08"
        ]),
        ["2025-11—2026-01", "2026-03", "2026-07—2026-08"]
    );
    assert_eq!(month_runs(&["2025-12", "2026-01"]), ["2025-12—2026-01"]);
    assert_eq!(
        month_runs(&["bad", "2026-13", "2026-02"]),
        ["2026-02", "2026-13", "bad"]
    );
    assert!(month_runs(&[]).is_empty());
}

#[test]
fn areas_and_times_format() {
    assert_eq!(area_m2(12_345), "123.45");
    assert_eq!(area_m2(5), "0.05");
    assert_eq!(area_m2(-150), "-1.50");
    assert_eq!(beijing_time("2026-11-26T20:00:00Z"), "2026-11-27 04:00（北京时间）");
    assert_eq!(beijing_time("2026-11-27"), "2026-11-27");
}

#[test]
fn the_asset_limit_is_read_from_the_applied_rule() {
    assert_eq!(assets_months(&fixture::rich_record()), Some(24));
    assert_eq!(assets_months(&VerificationRecord::default()), None);
}

fn ctx() -> ReportContext<'static> {
    ReportContext {
        bureau: BUREAU,
        county: COUNTY,
        policy: None,
        printed_at: "2026-11-27",
        superseded_by: None,
    }
}

pub(crate) fn reviews() -> Vec<hedui_proto::v1::Review> {
    use hedui_proto::v1::{Review, ReviewOutcome};
    vec![
        Review {
            review_id: "r1".into(),
            record_id: RECORD_ID.into(),
            outcome: ReviewOutcome::Objection as i32,
            note: "户主称<车辆>已出售".into(),
            reviewer: "caseworker:zhang.san".into(),
            reviewer_role: "caseworker".into(),
            created_at: "2026-11-26T02:00:00.000Z".into(),
        },
        Review {
            review_id: "r2".into(),
            record_id: RECORD_ID.into(),
            outcome: ReviewOutcome::Corrected as i32,
            note: "入户核查：车辆已过户".into(),
            reviewer: "caseworker:li.si".into(),
            reviewer_role: "caseworker".into(),
            created_at: "2026-11-27T02:00:00.000Z".into(),
        },
    ]
}

#[test]
fn a_later_version_names_the_one_it_replaces() {
    let mut r = fixture::rich_record();
    let first = html(&r);
    assert!(
        !first.contains("记录版本"),
        "a first version says nothing about versions"
    );
    r.version = 2;
    r.previous_record_id = "0199c0de-0000-7000-8000-00000000aaaa".into();
    hedui_domain::digest::seal(&mut r);
    let page = html(&r);
    assert!(page.contains("第 2 版"), "no version line");
    assert!(page.contains("0199c0de-0000-7000-8000-00000000aaaa"));
    let j = json(&r);
    assert_eq!(j["record"]["version"], 2);
    assert_eq!(
        j["record"]["previous_record_id"],
        "0199c0de-0000-7000-8000-00000000aaaa"
    );
    assert!(j.get("reviews").is_none(), "reviews appear only when given");
}

#[test]
fn reviews_are_listed_in_order_and_escaped() {
    let r = fixture::rich_record();
    assert!(!html(&r).contains("复核记录"));
    let page = render_html_with_reviews(&r, &ctx(), &reviews());
    let s = section(&page, "复核记录");
    let objection = s.find("家庭异议").expect("the objection");
    let corrected = s.find("核查更正").expect("the correction");
    assert!(objection < corrected, "reviews out of order");
    assert!(s.contains("户主称&lt;车辆&gt;已出售"), "the note is not escaped");
    assert!(!s.contains("<车辆>"));
    assert!(s.contains("caseworker:li.si"));
    let none = render_html_with_reviews(&r, &ctx(), &[]);
    assert!(section(&none, "复核记录").contains("尚无复核记录"));

    let j: Value = serde_json::from_str(&render_json_with_reviews(&r, &ctx(), &reviews())).unwrap();
    let list = j["reviews"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["outcome"], "REVIEW_OUTCOME_OBJECTION");
    assert_eq!(list[1]["note"], "入户核查：车辆已过户");
}

/// The page's text as a reader sees it, without the style sheet, commands
/// (`<code>`) and tags; each tag becomes a line break.
pub(crate) fn visible_text(page: &str) -> String {
    let mut s = page.to_owned();
    for (open, close) in [("<style>", "</style>"), ("<code>", "</code>")] {
        while let Some(a) = s.find(open) {
            let b = s[a..].find(close).map(|b| a + b + close.len()).unwrap_or(s.len());
            s.replace_range(a..b, "\n");
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push('\n');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_report_has_no_english_sentence() {
    let reviews = reviews();
    let mut superseded = context();
    superseded.superseded_by = Some("0193f4a2-0000-7000-8000-000000000002");
    for r in [fixture::rich_record(), fixture::incomplete_record()] {
        for page in [html(&r), render_html_with_reviews(&r, &superseded, &reviews)] {
            let text = visible_text(&page);
            for line in text.lines() {
                assert!(!hedui_i18n::has_english_sentence(line), "English in the report: {line}");
            }
        }
    }
}

#[test]
fn sections_are_numbered_in_order_with_or_without_reviews() {
    let r = fixture::rich_record();
    let headings = |page: &str| -> Vec<String> {
        page.split("<h2>")
            .skip(1)
            .map(|h| h.split("</h2>").next().unwrap_or("").to_owned())
            .collect()
    };
    let plain = headings(&html(&r));
    assert_eq!(plain.len(), 9);
    assert_eq!(plain[7], "八、记录完整性校验");
    assert_eq!(plain[8], "九、签字");
    let with = headings(&render_html_with_reviews(&r, &context(), &[]));
    assert_eq!(
        with[7..],
        [
            "八、复核记录".to_owned(),
            "九、记录完整性校验".to_owned(),
            "十、签字".to_owned()
        ]
    );
    assert!(
        with.iter().all(|h| h.contains('、')),
        "every section has a number: {with:?}"
    );
}

#[test]
fn a_replaced_version_says_which_version_replaces_it() {
    let mut r = fixture::rich_record();
    r.version = 2;
    r.previous_record_id = "0193f4a2-0000-7000-8000-000000000001".into();
    let mut ctx = context();
    let next = "0193f4a2-0000-7000-8000-000000000003";
    assert!(!html_with_ctx(&r, &ctx).contains("已被替代"));
    ctx.superseded_by = Some(next);
    let page = html_with_ctx(&r, &ctx);
    let line = row(&page, "已被替代");
    assert!(line.contains("本记录已被第 3 版") && line.contains(next), "{line}");
    assert!(render_json(&r, &ctx).contains(&format!("\"superseded_by\": \"{next}\"")));
}

/// The context with the example policy, as the command gives it.
pub(crate) fn context() -> ReportContext<'static> {
    let policy: &'static Policy = Box::leak(Box::new(fixture::policy()));
    ReportContext {
        policy: Some(policy),
        ..ctx()
    }
}

fn html_with_ctx(r: &VerificationRecord, ctx: &ReportContext<'_>) -> String {
    render_html(r, ctx)
}
