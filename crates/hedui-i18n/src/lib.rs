//! The message catalog: every word a caseworker reads, in Chinese (zh-CN)
//! and English, in one place.
//!
//! The words live in two Fluent files, `locales/zh-CN.ftl` and
//! `locales/en.ftl`, compiled into the binary with `include_str!`. Every
//! message exists in both with the same arguments (the tests check), so a
//! missing translation fails the build's tests, not a caseworker's screen.
//!
//! Three kinds of text are translated here:
//! - enum values of the record: verdicts, source outcomes, departments,
//!   flags, rules ([`verdict`], [`outcome`], [`department`], [`flag`], …);
//! - the sentences the hub wrote into a record in English: the policy's
//!   reasons, the merge's flag details and a department's outcome detail.
//!   Records are sealed with a digest, so their text cannot change; instead
//!   [`reason`], [`flag_detail`] and [`source_note`] recognise each sentence
//!   by its template (see [`explain`]) and say it again from the catalog.
//!   A sentence this build does not know is never shown half-translated: a
//!   generic Chinese sentence says where to find it;
//! - validation errors, named by the field's label and the member's
//!   position ([`violation`]: `第2位成员·身份证号：校验码应为 X，实为 1`).
//!
//! [`Lang::detect`] picks the language: `--lang`, then `LC_ALL`, then `LANG`;
//! Chinese when the locale starts with `zh_CN`, English otherwise.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use hedui_proto::v1::{Department, Flag, FlagKind, Reason, SourceOutcome, SourceResult, Verdict};

pub mod explain;

/// The Chinese catalog, as shipped.
pub const ZH_CN_FTL: &str = include_str!("../locales/zh-CN.ftl");
/// The English catalog, as shipped.
pub const EN_FTL: &str = include_str!("../locales/en.ftl");

/// A language of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Simplified Chinese (zh-CN): what caseworkers read.
    Zh,
    /// English: the default of the command line for IT staff.
    En,
}

impl Lang {
    /// Parses a `--lang` value: `zh`, `zh-CN`, `zh_CN` (any case) or `en`,
    /// `en-US`, … `None` for anything else.
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        if s == "zh" || s.starts_with("zh-cn") || s.starts_with("zh-hans") {
            Some(Lang::Zh)
        } else if s == "en" || s.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language of a locale environment: `LC_ALL` when set and not
    /// empty, else `LANG`; Chinese when it starts with `zh_CN`.
    pub fn from_locale(lc_all: Option<&str>, lang: Option<&str>) -> Lang {
        let locale = lc_all.filter(|s| !s.is_empty()).or(lang).unwrap_or("");
        if locale.starts_with("zh_CN") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// `flag` when given, otherwise the process's locale
    /// ([`Lang::from_locale`] of `LC_ALL` and `LANG`).
    pub fn detect(flag: Option<Lang>) -> Lang {
        flag.unwrap_or_else(|| {
            Lang::from_locale(
                std::env::var("LC_ALL").ok().as_deref(),
                std::env::var("LANG").ok().as_deref(),
            )
        })
    }

    fn bundle(self) -> &'static FluentBundle<FluentResource> {
        static ZH: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
        static EN: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
        match self {
            Lang::Zh => ZH.get_or_init(|| build(ZH_CN_FTL, "zh-CN")),
            Lang::En => EN.get_or_init(|| build(EN_FTL, "en")),
        }
    }
}

fn build(ftl: &'static str, tag: &str) -> FluentBundle<FluentResource> {
    // A catalog with a syntax error still loads its good messages; the tests
    // make sure the shipped ones have none.
    let res = FluentResource::try_new(ftl.to_owned()).unwrap_or_else(|(res, _)| res);
    let lang: unic_langid::LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around arguments: the text goes into CSV
    // cells, PDFs and terminals, where they would be stray characters.
    bundle.set_use_isolating(false);
    // Both catalogs have unique ids (tested), so adding cannot fail.
    let _ = bundle.add_resource(res);
    bundle
}

/// Whether the catalog of `lang` has a message `id`.
pub fn has(lang: Lang, id: &str) -> bool {
    lang.bundle().has_message(id)
}

/// The message `id` with no arguments. A missing id gives the id itself,
/// which the tests make impossible for the ids the code uses.
pub fn tr(lang: Lang, id: &str) -> String {
    tr_args(lang, id, &[])
}

/// The message `id` with named arguments, all given as text.
pub fn tr_args(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    let bundle = lang.bundle();
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        return id.to_owned();
    };
    let mut fargs = FluentArgs::new();
    for (k, v) in args {
        fargs.set(*k, FluentValue::from(v.clone()));
    }
    let mut errors = Vec::new();
    bundle.format_pattern(pattern, Some(&fargs), &mut errors).into_owned()
}

// ---------------------------------------------------------------------------
// Enum values of the record
// ---------------------------------------------------------------------------

/// The verdict's slug (`needs-review`), from its protobuf name.
fn verdict_key(v: i32) -> String {
    hedui_domain::slug::from_proto_name(Verdict::try_from(v).unwrap_or_default().as_str_name(), "VERDICT_")
}

/// The verdict: 符合条件 / 不符合条件 / 需人工复核 / 核对不完整.
pub fn verdict(lang: Lang, v: i32) -> String {
    tr(lang, &format!("verdict-{}", verdict_key(v)))
}

/// One sentence saying what the verdict means for the caseworker.
pub fn verdict_explained(lang: Lang, v: i32) -> String {
    tr(lang, &format!("verdict-{}-explained", verdict_key(v)))
}

/// What one rule led to, in a table cell: 符合 / 不符合 / 需人工复核 / …
pub fn rule_result(lang: Lang, v: i32) -> String {
    let key = match Verdict::try_from(v) {
        Ok(Verdict::MeetsCriteria) => "meets",
        Ok(Verdict::DoesNotMeet) => "does-not-meet",
        Ok(Verdict::NeedsReview) => "needs-review",
        Ok(Verdict::Incomplete) => "incomplete",
        Ok(Verdict::Unspecified) | Err(_) => "unspecified",
    };
    tr(lang, &format!("rule-result-{key}"))
}

/// The slug of a source outcome, as the policy's reasons write it.
pub fn outcome_slug(v: i32) -> &'static str {
    hedui_domain::policy::source_outcome_slug(SourceOutcome::try_from(v).unwrap_or_default())
}

/// A department's outcome: 已答复 / 无记录 / 超时 / 无法连接 / 出错 / 拒绝.
pub fn outcome(lang: Lang, v: i32) -> String {
    tr(lang, &format!("outcome-{}", outcome_slug(v)))
}

/// The slug of a department, as the policy file and the reasons write it.
pub fn department_slug(v: i32) -> Option<&'static str> {
    Department::try_from(v)
        .ok()
        .filter(|d| *d != Department::Unspecified)
        .map(hedui_domain::department::slug)
}

/// A department's name: 公安局, 税务局, …
pub fn department(lang: Lang, v: i32) -> String {
    match department_slug(v) {
        Some(slug) => tr(lang, &format!("department-{slug}")),
        None => tr(lang, "department-unknown"),
    }
}

/// The slug of a flag kind, as the policy file and the rule ids write it.
pub fn flag_slug(v: i32) -> &'static str {
    hedui_domain::policy::flag_kind_slug(FlagKind::try_from(v).unwrap_or_default())
}

/// A flag's name: 姓名与身份证号不符, 成员已登记死亡, …
pub fn flag(lang: Lang, v: i32) -> String {
    tr(lang, &format!("flag-{}", flag_slug(v)))
}

/// What to check on the home visit (入户核查要点) for a flag.
pub fn flag_advice(lang: Lang, v: i32) -> String {
    tr(lang, &format!("flag-advice-{}", flag_slug(v)))
}

/// The name of a rule id, by its group: `income.per_capita` → 收入.
pub fn rule(lang: Lang, rule: &str) -> String {
    let group = rule.split('.').next().unwrap_or(rule);
    let key = match (rule, group) {
        ("recent_purchase", _) => "recent-purchase",
        ("residence", _) => "residence",
        (_, "income") => "income",
        (_, "assets") => "assets",
        (_, "vehicles") => "vehicles",
        (_, "real_estate") => "real-estate",
        (_, "business") => "business",
        (_, "flags") => "flags",
        (_, "sources") => "sources",
        _ => "other",
    };
    tr(lang, &format!("rule-{key}"))
}

// ---------------------------------------------------------------------------
// Sentences the hub wrote into the record
// ---------------------------------------------------------------------------

/// A reason of the policy's evaluation, in `lang`. English gives the
/// record's own text. Chinese recognises the sentence by its template; one
/// it does not know gives the rule, its result and where to read more.
pub fn reason(lang: Lang, r: &Reason) -> String {
    if lang == Lang::En {
        return r.detail.clone();
    }
    let templates = if r.rule.starts_with("flags.") {
        explain::FLAG_TEMPLATES
    } else {
        explain::REASON_TEMPLATES
    };
    explain::say(lang, templates, &r.detail).unwrap_or_else(|| {
        tr_args(
            lang,
            "reason-untranslated",
            &[("rule", rule(lang, &r.rule)), ("result", rule_result(lang, r.leads_to))],
        )
    })
}

/// What a flag says, in `lang` (English: the record's own text).
pub fn flag_detail(lang: Lang, f: &Flag) -> String {
    if lang == Lang::En {
        return f.detail.clone();
    }
    explain::say(lang, explain::FLAG_TEMPLATES, &f.detail).unwrap_or_else(|| tr(lang, "flag-detail-untranslated"))
}

/// The 说明 of a department's outcome: the record's detail when this build
/// knows its sentence, else a sentence for the outcome. An answered
/// department with no detail has nothing to say (empty).
pub fn source_note(lang: Lang, s: &SourceResult) -> String {
    if lang == Lang::En {
        return s.detail.clone();
    }
    if let Some(said) = explain::say(lang, explain::SOURCE_TEMPLATES, &s.detail) {
        return said;
    }
    let answered = s.outcome == SourceOutcome::Ok as i32 || s.outcome == SourceOutcome::NoRecord as i32;
    if answered && s.detail.is_empty() {
        return String::new();
    }
    tr(lang, &format!("source-note-{}", outcome_slug(s.outcome)))
}

// ---------------------------------------------------------------------------
// Validation errors
// ---------------------------------------------------------------------------

/// The label of a field path of a validation error:
/// `household.members[1].id_number` → `第2位成员·身份证号`. `None` when a
/// part of the path has no label in the catalog.
pub fn field_label(lang: Lang, path: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for (i, seg) in path.split('.').enumerate() {
        let (name, index) = match seg.split_once('[') {
            Some((name, rest)) => (name, rest.strip_suffix(']').and_then(|n| n.parse::<usize>().ok())),
            None => (seg, None),
        };
        // The message a path starts from is not a field a person fills in.
        if i == 0 && matches!(name, "household" | "submission" | "request" | "authorization") && path.contains('.') {
            continue;
        }
        let label = match (name, index) {
            ("members", Some(n)) => tr_args(lang, "field-member", &[("n", (n + 1).to_string())]),
            ("signers", Some(n)) => tr_args(lang, "field-signer", &[("n", (n + 1).to_string())]),
            (name, _) => {
                let id = format!("field-{}", name.replace('_', "-"));
                if !has(lang, &id) {
                    return None;
                }
                tr(lang, &id)
            }
        };
        parts.push(label);
    }
    let mut it = parts.into_iter();
    let first = it.next()?;
    Some(it.fold(first, |outer, inner| {
        tr_args(lang, "field-joined", &[("outer", outer), ("inner", inner)])
    }))
}

/// One validation error for a person: the field's label and the message,
/// each translated when the catalog knows it, else as given.
pub fn violation(lang: Lang, path: &str, message: &str) -> String {
    let field = field_label(lang, path).unwrap_or_else(|| path.to_owned());
    let message = if lang == Lang::En {
        message.to_owned()
    } else {
        explain::say(lang, explain::VIOLATION_TEMPLATES, message).unwrap_or_else(|| message.to_owned())
    };
    tr_args(lang, "field-error", &[("field", field), ("message", message)])
}

/// Whether `s` holds an English sentence: three or more ASCII words in a
/// row (letters only, two or more, with spaces and punctuation between).
/// Ids, digests, slugs such as `identity-not-found`, codes and a lone word
/// beside Chinese are not sentences.
pub fn has_english_sentence(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii()).any(|chunk| {
        let mut run = 0;
        for token in chunk.split_ascii_whitespace() {
            let word = token.trim_matches(|c: char| ",.;:!?()\"'".contains(c));
            if word.len() >= 2 && word.chars().all(|c| c.is_ascii_alphabetic()) {
                run += 1;
                if run >= 3 {
                    return true;
                }
            } else {
                run = 0;
            }
        }
        false
    })
}

#[cfg(test)]
mod tests;
