use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use hedui_domain::policy::{Policy, PolicyInput};
use hedui_proto::v1::{
    Department, Flag, FlagKind, HouseholdSummary, Reason, Residence, SourceOutcome, SourceResult, Verdict,
};

use super::explain::{self, Template};
use super::*;

#[path = "../../hedui-report/src/fixture.rs"]
mod fixture;

/// Message id → the set of `$variables` its text uses, read from the .ftl
/// text (every message is one line).
fn messages(ftl: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for line in ftl.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (id, value) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("not a message line: {line}"));
        let mut vars = BTreeSet::new();
        let mut rest = value;
        while let Some(at) = rest.find('$') {
            let name: String = rest[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + 1 + name.len()..];
            vars.insert(name);
        }
        assert!(out.insert(id.to_owned(), vars).is_none(), "{id} is defined twice");
    }
    out
}

#[test]
fn both_catalogs_parse_without_errors() {
    for (name, ftl) in [("zh-CN", ZH_CN_FTL), ("en", EN_FTL)] {
        if let Err((_, errors)) = FluentResource::try_new(ftl.to_owned()) {
            panic!("{name}.ftl: {errors:?}");
        }
    }
}

#[test]
fn every_message_exists_in_both_languages_with_the_same_arguments() {
    let zh = messages(ZH_CN_FTL);
    let en = messages(EN_FTL);
    let zh_ids: BTreeSet<_> = zh.keys().collect();
    let en_ids: BTreeSet<_> = en.keys().collect();
    assert_eq!(zh_ids, en_ids, "message ids differ between zh-CN.ftl and en.ftl");
    for (id, vars) in &zh {
        assert_eq!(vars, &en[id], "{id}: the two languages use different arguments");
        assert!(has(Lang::Zh, id) && has(Lang::En, id), "{id} does not load");
    }
}

#[test]
fn every_template_has_its_message_and_every_argument_is_used() {
    let zh = messages(ZH_CN_FTL);
    let en = messages(EN_FTL);
    for list in explain::ALL {
        for Template { id, english } in *list {
            let shown: BTreeSet<String> = explain::placeholders(english)
                .into_iter()
                .filter(|p| !p.starts_with('_'))
                .map(str::to_owned)
                .collect();
            for (lang, catalog) in [("zh-CN", &zh), ("en", &en)] {
                let vars = catalog.get(*id).unwrap_or_else(|| panic!("{id} is missing in {lang}"));
                assert_eq!(
                    vars, &shown,
                    "{id} in {lang}: arguments differ from its template {english:?}"
                );
            }
        }
    }
}

#[test]
fn every_enum_value_has_its_words() {
    for lang in [Lang::Zh, Lang::En] {
        for v in 0..=5 {
            for (what, text) in [
                ("verdict", verdict(lang, v)),
                ("verdict explained", verdict_explained(lang, v)),
                ("rule result", rule_result(lang, v)),
                ("flag", flag(lang, v)),
                ("flag advice", flag_advice(lang, v)),
            ] {
                assert!(!text.contains('-') || lang == Lang::En, "{what} {v}: {text}");
                assert!(!text.is_empty(), "{what} {v} is empty");
            }
        }
        for v in 0..=7 {
            assert!(!outcome(lang, v).starts_with("outcome-"), "outcome {v}");
        }
        for v in 0..=9 {
            assert!(!department(lang, v).starts_with("department-"), "department {v}");
        }
        for r in [
            "income.per_capita",
            "flags.deceased-member",
            "real_estate.commercial",
            "x",
        ] {
            assert!(!rule(lang, r).starts_with("rule-"), "{r}");
        }
    }
}

#[test]
fn the_verdicts_and_outcomes_say_what_caseworkers_say() {
    let v = |x: Verdict| verdict(Lang::Zh, x as i32);
    assert_eq!(v(Verdict::MeetsCriteria), "符合条件");
    assert_eq!(v(Verdict::DoesNotMeet), "不符合条件");
    assert_eq!(v(Verdict::NeedsReview), "需人工复核");
    assert_eq!(v(Verdict::Incomplete), "核对不完整");
    let o = |x: SourceOutcome| outcome(Lang::Zh, x as i32);
    assert_eq!(
        [
            o(SourceOutcome::Ok),
            o(SourceOutcome::NoRecord),
            o(SourceOutcome::Timeout),
            o(SourceOutcome::Unavailable),
            o(SourceOutcome::Error),
            o(SourceOutcome::Refused)
        ],
        ["已答复", "无记录", "超时", "无法连接", "出错", "拒绝"]
    );
    assert_eq!(department(Lang::Zh, Department::Pboc as i32), "人民银行");
    assert_eq!(verdict(Lang::En, Verdict::Incomplete as i32), "incomplete");
}

#[test]
fn language_is_chosen_by_flag_then_lc_all_then_lang() {
    assert_eq!(Lang::from_locale(None, Some("zh_CN.UTF-8")), Lang::Zh);
    assert_eq!(Lang::from_locale(Some("zh_CN.GB18030"), Some("en_US.UTF-8")), Lang::Zh);
    assert_eq!(Lang::from_locale(Some("C"), Some("zh_CN.UTF-8")), Lang::En);
    assert_eq!(Lang::from_locale(Some(""), Some("zh_CN.UTF-8")), Lang::Zh);
    assert_eq!(Lang::from_locale(None, Some("zh_TW.UTF-8")), Lang::En);
    assert_eq!(Lang::from_locale(None, None), Lang::En);
    assert_eq!(Lang::parse("zh"), Some(Lang::Zh));
    assert_eq!(Lang::parse("zh_CN"), Some(Lang::Zh));
    assert_eq!(Lang::parse("EN"), Some(Lang::En));
    assert_eq!(Lang::parse("fr"), None);
    assert_eq!(Lang::detect(Some(Lang::Zh)), Lang::Zh);
}

#[test]
fn validation_errors_name_the_member_and_the_field_in_chinese() {
    assert_eq!(
        violation(
            Lang::Zh,
            "household.members[1].id_number",
            "check character should be 'X', found '1'"
        ),
        "第2位成员·身份证号：校验码应为 X，实为 1"
    );
    assert_eq!(
        violation(
            Lang::Zh,
            "household.members[2].id_number",
            "duplicate ID number; same as members[0]"
        ),
        "第3位成员·身份证号：身份证号重复，与第1位成员相同"
    );
    assert_eq!(
        field_label(Lang::Zh, "authorization.signers[0].on_behalf_of[1]").as_deref(),
        Some("第1位签字人·代签成员")
    );
    assert_eq!(field_label(Lang::Zh, "household.pets"), None);
    assert_eq!(
        violation(Lang::En, "household.members[1].name", "is required"),
        "member 2 · name: is required"
    );
}

// ---------------------------------------------------------------------------
// The sentences of real records
// ---------------------------------------------------------------------------

fn policy_with(edit: &[(&str, &str)]) -> Policy {
    let mut text = fixture::POLICY.to_owned();
    for (from, to) in edit {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("the example policy has no {from:?}"));
        // A key ending in `[` stands for its whole array, up to its `]`.
        let end = if from.ends_with('[') {
            start + text[start..].find(']').expect("the array ends") + 1
        } else {
            start + from.len()
        };
        text.replace_range(start..end, to);
    }
    Policy::from_toml(&text).expect("an edited example policy")
}

fn all_answered() -> Vec<SourceResult> {
    hedui_domain::department::ALL
        .iter()
        .map(|d| SourceResult {
            department: *d as i32,
            outcome: SourceOutcome::Ok as i32,
            ..Default::default()
        })
        .collect()
}

/// Every reason, flag and source detail of the fixture's records and of
/// evaluations chosen to reach every template.
fn sentences() -> (Vec<Reason>, Vec<Flag>, Vec<SourceResult>) {
    let rich = fixture::rich_record();
    let incomplete = fixture::incomplete_record();
    let missing = fixture::record_with(&[(Department::Hrss, SourceOutcome::Refused, "")]);
    let mut reasons: Vec<Reason> = [&rich, &incomplete, &missing]
        .iter()
        .flat_map(|r| r.reasons.clone())
        .collect();
    let flags: Vec<Flag> = rich.flags.clone();
    let sources: Vec<SourceResult> = incomplete.sources.clone();

    let date = NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    let eval = |p: &Policy, residence: Residence, summary: &HouseholdSummary, sources: &[SourceResult]| {
        p.evaluate(&PolicyInput {
            residence,
            summary,
            members: &rich.members,
            sources,
            flags: &[],
            reference_date: date,
        })
        .reasons
    };
    let base = policy_with(&[]);
    let strict = policy_with(&[
        ("meets_when_equal = true", "meets_when_equal = false"),
        ("roles = [", "roles = []"),
        ("needs_review = [", "needs_review = []"),
    ]);
    let lenient = policy_with(&[("exempt_types = [", "exempt_types = [\"car\", \"motorcycle\"]")]);
    let no_exempt = policy_with(&[("exempt_types = [", "exempt_types = []")]);
    let standard = base.monthly_standard_fen(Residence::Rural);
    let mut s = HouseholdSummary {
        monthly_income_per_capita_fen: standard,
        ..Default::default()
    };
    reasons.extend(eval(&base, Residence::Rural, &s, &all_answered()));
    reasons.extend(eval(&strict, Residence::Rural, &s, &all_answered()));
    reasons.extend(eval(&no_exempt, Residence::Urban, &s, &all_answered()));
    s.monthly_income_per_capita_fen = standard + 1;
    s.subscribed_capital_fen = i64::MAX / 4;
    reasons.extend(eval(&lenient, Residence::Unspecified, &s, &[]));
    let mut no_members = PolicyInput {
        residence: Residence::Urban,
        summary: &s,
        members: &[],
        sources: &[],
        flags: &[],
        reference_date: date,
    };
    reasons.extend(base.evaluate(&no_members).reasons);
    let undated = [hedui_proto::v1::MemberFindings {
        results: vec![hedui_proto::v1::PersonResult {
            findings: Some(hedui_proto::v1::person_result::Findings::NaturalResources(
                hedui_proto::v1::NaturalResourcesFindings {
                    properties: vec![hedui_proto::v1::Property {
                        r#use: hedui_proto::v1::PropertyUse::Residential as i32,
                        acquired_date: "unknown".into(),
                        ..Default::default()
                    }],
                },
            )),
            ..Default::default()
        }],
        ..Default::default()
    }];
    no_members.members = &undated;
    reasons.extend(base.evaluate(&no_members).reasons);
    no_members.members = &[];
    let unknown_flag = [Flag {
        kind: FlagKind::Unspecified as i32,
        detail: "something the merge of a newer build says".into(),
        ..Default::default()
    }];
    no_members.flags = &unknown_flag;
    reasons.extend(base.evaluate(&no_members).reasons);
    (reasons, flags, sources)
}

#[test]
fn every_reason_and_flag_of_the_policy_and_the_merge_is_said_in_chinese() {
    let (reasons, flags, _) = sentences();
    let mut used = BTreeSet::new();
    for r in &reasons {
        let said = reason(Lang::Zh, r);
        let templates = if r.rule.starts_with("flags.") {
            explain::FLAG_TEMPLATES
        } else {
            explain::REASON_TEMPLATES
        };
        let known = templates
            .iter()
            .find(|t| explain::say(Lang::Zh, &[**t], &r.detail).is_some());
        if r.detail.starts_with("something the merge") {
            assert!(known.is_none());
            assert_eq!(said, "核查提示：需人工复核（详细说明见系统记录）");
            continue;
        }
        let t = known.unwrap_or_else(|| panic!("no template says {}: {:?}", r.rule, r.detail));
        used.insert(t.id);
        assert!(!has_english(&said), "{} → {said}", r.detail);
        assert_eq!(reason(Lang::En, r), r.detail);
    }
    for f in &flags {
        let t = explain::FLAG_TEMPLATES
            .iter()
            .find(|t| explain::say(Lang::Zh, &[**t], &f.detail).is_some())
            .unwrap_or_else(|| panic!("no template says the flag {:?}", f.detail));
        used.insert(t.id);
        assert!(!has_english(&flag_detail(Lang::Zh, f)), "{}", f.detail);
    }
    for list in [explain::REASON_TEMPLATES, explain::FLAG_TEMPLATES] {
        for t in list {
            assert!(
                used.contains(t.id),
                "no test sentence reaches {}: {:?}",
                t.id,
                t.english
            );
        }
    }
}

#[test]
fn reasons_are_said_with_their_figures() {
    let said = |detail: &str| {
        reason(
            Lang::Zh,
            &Reason {
                rule: "x".into(),
                leads_to: Verdict::DoesNotMeet as i32,
                detail: detail.into(),
            },
        )
    };
    assert_eq!(
        said("per-capita monthly income 812.50 yuan is above the rural standard of 580.00 yuan"),
        "人均月收入 812.50 元，高于农村低保标准 580.00 元"
    );
    assert_eq!(
        said("required source tax did not answer: outcome timeout (no answer within 5000 ms)"),
        "必需部门税务局未答复：结果为“超时”（在 5000 毫秒内未答复）"
    );
    assert_eq!(
        said("all 2 required sources answered: tax ok, pboc no-record"),
        "2 个必需部门均已答复：税务局已答复、人民银行无记录"
    );
    assert_eq!(
        said("member 2 is investor of an active individual business"),
        "第2位成员是一家在营个体工商户的投资人/股东"
    );
    // A figure that is not one does not pass as one: the sentence is not
    // said half-translated.
    assert_eq!(
        said("per-capita monthly income lots yuan is above the rural standard of 580.00 yuan"),
        "其他规则：不符合（详细说明见系统记录）"
    );
}

#[test]
fn a_departments_note_is_chinese_whatever_the_hub_wrote() {
    let note = |outcome: SourceOutcome, detail: &str| {
        source_note(
            Lang::Zh,
            &SourceResult {
                department: Department::Tax as i32,
                outcome: outcome as i32,
                detail: detail.into(),
                ..Default::default()
            },
        )
    };
    assert_eq!(
        note(SourceOutcome::Timeout, "no answer within 5000 ms"),
        "在 5000 毫秒内未答复"
    );
    assert_eq!(
        note(
            SourceOutcome::Unavailable,
            "not asked: the circuit breaker is open because this department kept failing; it is tried again in 30 s"
        ),
        "该部门连续失败，本次未查询（已暂停），30 秒后再试"
    );
    assert_eq!(
        note(
            SourceOutcome::Unavailable,
            "the connection failed: tcp connect error: Connection refused"
        ),
        "无法连接该部门的服务"
    );
    assert_eq!(note(SourceOutcome::Error, "Internal: boom"), "该部门的答复出错");
    assert_eq!(
        note(SourceOutcome::Refused, "PermissionDenied: grant expired"),
        "该部门拒绝了查询"
    );
    assert_eq!(note(SourceOutcome::Ok, ""), "");
    assert_eq!(
        note(SourceOutcome::Ok, "stale data: export of 2026-10-31"),
        "该部门说明所提供的数据不是最新的"
    );
    let (_, _, sources) = sentences();
    for s in &sources {
        assert!(!has_english(&source_note(Lang::Zh, s)), "{}", s.detail);
    }
}

fn has_english(s: &str) -> bool {
    has_english_sentence(s)
}

#[test]
fn english_sentences_are_told_from_codes() {
    assert!(has_english_sentence("见 the record for details"));
    assert!(!has_english_sentence(
        "记录编号 0193f4a2-7c1e 摘要 SHA-256 ab12 命令 hedui record"
    ));
    assert!(!has_english_sentence("税务局 tax 超时 timeout 人民银行 pboc"));
    assert!(!has_english_sentence("核查提示 flags.identity-not-found"));
    assert!(has_english_sentence(
        "required source tax did not answer: outcome timeout"
    ));
}

/// The verdicts and departments the catalog prints in Chinese are the names
/// of hedui-domain's table of words, so what a caseworker reads is what
/// they can type back (`--verdict 需人工复核`, `--departments 税务局`).
#[test]
fn chinese_names_are_the_words_the_command_line_reads() {
    use hedui_domain::words;
    for v in [
        Verdict::MeetsCriteria,
        Verdict::DoesNotMeet,
        Verdict::NeedsReview,
        Verdict::Incomplete,
    ] {
        let shown = verdict(Lang::Zh, v as i32);
        assert_eq!(shown, words::name(v));
        assert_eq!(words::parse::<Verdict>(&shown), Ok(v));
    }
    for d in hedui_domain::department::ALL {
        let shown = department(Lang::Zh, d as i32);
        assert_eq!(shown, words::name(d));
        assert_eq!(words::parse::<Department>(&shown), Ok(d));
        assert_eq!(department_slug(d as i32), Some(words::english(d).as_str()));
    }
}
