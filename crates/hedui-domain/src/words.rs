//! The one table of the Chinese words for hedui's enum values: what reports
//! print, and what a caseworker may type or write wherever a word is asked
//! for (`--purpose 低保`, `--departments 税务,人行`, `--outcome 异议`,
//! `--verdict 需人工复核`, a household file's `purpose`, a roster's
//! 与申请人关系 and 城乡 columns).
//!
//! Each value has a name (the full word reports print, 最低生活保障), a
//! short word (the one people say and rosters carry, 低保) and any other
//! words commonly used for it. The English name is the protobuf name
//! without its prefix, in lower case with hyphens (`minimum-living`); it
//! is accepted too, in any case and with `-` or `_`, as is the protobuf name
//! itself (`PURPOSE_MINIMUM_LIVING`).
//!
//! Configuration files, certificates and policy files keep to the English
//! names ([`crate::department::parse_slug`] and friends): they are read by
//! programs, and one spelling there is safer.

use hedui_proto::v1::{Department, Purpose, Relation, Residence, ReviewOutcome, Verdict};

/// The words of one enum value.
#[derive(Debug, Clone, Copy)]
pub struct Words<E: 'static> {
    /// The value.
    pub value: E,
    /// The full name, as reports print it: 最低生活保障.
    pub name: &'static str,
    /// The short word people say and rosters carry: 低保. May equal `name`.
    pub short: &'static str,
    /// Other words read as this value.
    pub also: &'static [&'static str],
}

impl<E> Words<E> {
    /// Every Chinese word of the value: name, short word, the others.
    pub fn all(&self) -> impl Iterator<Item = &'static str> {
        [self.name, self.short].into_iter().chain(self.also.iter().copied())
    }
}

/// An enum that has Chinese words.
pub trait Worded: Copy + PartialEq + Sized + 'static {
    /// What a value is called in messages: `purpose`.
    const WHAT: &'static str;
    /// The prefix of its protobuf names: `PURPOSE_`.
    const PREFIX: &'static str;
    /// Every valid value (never `*_UNSPECIFIED`), in protobuf order.
    const TABLE: &'static [Words<Self>];
    /// The protobuf name: `PURPOSE_MINIMUM_LIVING`.
    fn proto_name(self) -> &'static str;
}

const fn w<E>(value: E, name: &'static str, short: &'static str, also: &'static [&'static str]) -> Words<E> {
    Words {
        value,
        name,
        short,
        also,
    }
}

impl Worded for Purpose {
    const WHAT: &'static str = "purpose";
    const PREFIX: &'static str = "PURPOSE_";
    const TABLE: &'static [Words<Self>] = &[
        w(Purpose::MinimumLiving, "最低生活保障", "低保", &["城乡低保"]),
        w(
            Purpose::ExtremePoverty,
            "特困人员救助供养",
            "特困",
            &["特困供养", "特困人员"],
        ),
        w(Purpose::Medical, "医疗救助", "医疗", &[]),
        w(Purpose::Education, "教育救助", "教育", &[]),
        w(Purpose::Housing, "住房救助", "住房", &[]),
        w(Purpose::Employment, "就业救助", "就业", &[]),
        w(Purpose::Temporary, "临时救助", "临时", &[]),
        w(
            Purpose::LowIncome,
            "低收入家庭认定",
            "低收入",
            &["低收入家庭", "低收入人口认定"],
        ),
    ];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Worded for Department {
    const WHAT: &'static str = "department";
    const PREFIX: &'static str = "DEPARTMENT_";
    const TABLE: &'static [Words<Self>] = &[
        w(Department::PublicSecurity, "公安局", "公安", &["公安机关"]),
        w(
            Department::NaturalResources,
            "自然资源局",
            "自然资源",
            &["自然资源和规划局", "不动产登记"],
        ),
        w(Department::Housing, "住建局", "住建", &["住房和城乡建设局"]),
        w(Department::Tax, "税务局", "税务", &["税务机关"]),
        w(
            Department::MarketSupervision,
            "市场监督管理局",
            "市场监管",
            &["市场监管局", "市监局"],
        ),
        w(
            Department::HousingFund,
            "住房公积金管理中心",
            "公积金",
            &["公积金中心", "住房公积金"],
        ),
        w(Department::Pboc, "人民银行", "人行", &["中国人民银行"]),
        w(Department::Hrss, "人社局", "人社", &["人力资源和社会保障局"]),
    ];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Worded for Verdict {
    const WHAT: &'static str = "verdict";
    const PREFIX: &'static str = "VERDICT_";
    const TABLE: &'static [Words<Self>] = &[
        w(Verdict::MeetsCriteria, "符合条件", "符合", &[]),
        w(Verdict::DoesNotMeet, "不符合条件", "不符合", &[]),
        w(Verdict::NeedsReview, "需人工复核", "需复核", &["人工复核"]),
        w(Verdict::Incomplete, "核对不完整", "不完整", &[]),
    ];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Worded for ReviewOutcome {
    const WHAT: &'static str = "outcome";
    const PREFIX: &'static str = "REVIEW_OUTCOME_";
    const TABLE: &'static [Words<Self>] = &[
        w(ReviewOutcome::Confirmed, "确认", "确认", &["确认无误", "属实"]),
        w(ReviewOutcome::Corrected, "更正", "更正", &["纠正"]),
        w(ReviewOutcome::Objection, "异议", "异议", &["提出异议"]),
    ];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Worded for Relation {
    const WHAT: &'static str = "relation";
    const PREFIX: &'static str = "RELATION_";
    // The short word is what the roster generator writes.
    const TABLE: &'static [Words<Self>] = &[
        w(Relation::Applicant, "申请人本人", "本人", &["申请人"]),
        w(Relation::Spouse, "配偶", "配偶", &["丈夫", "妻子"]),
        w(Relation::Child, "子女", "子女", &["儿子", "女儿"]),
        w(Relation::Parent, "父母", "父母", &["父亲", "母亲"]),
        w(
            Relation::Grandparent,
            "祖父母/外祖父母",
            "祖父母",
            &["外祖父母", "祖父", "祖母", "外祖父", "外祖母"],
        ),
        w(
            Relation::Grandchild,
            "孙子女/外孙子女",
            "孙子女",
            &["外孙子女", "孙子", "孙女", "外孙", "外孙女"],
        ),
        w(
            Relation::Sibling,
            "兄弟姐妹",
            "兄弟姐妹",
            &["兄弟", "姐妹", "哥哥", "弟弟", "姐姐", "妹妹"],
        ),
        w(Relation::ChildInLaw, "儿媳/女婿", "儿媳/女婿", &["儿媳", "女婿"]),
        w(Relation::Other, "其他共同生活的家庭成员", "其他", &[]),
    ];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Worded for Residence {
    const WHAT: &'static str = "residence";
    const PREFIX: &'static str = "RESIDENCE_";
    const TABLE: &'static [Words<Self>] = &[
        w(Residence::Urban, "城市", "城镇", &[]),
        w(Residence::Rural, "农村", "农村", &[]),
    ];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

/// The words of `value`; `None` only for `*_UNSPECIFIED`.
pub fn words<E: Worded>(value: E) -> Option<&'static Words<E>> {
    E::TABLE.iter().find(|w| w.value == value)
}

/// The full Chinese name of `value` (最低生活保障), or 未指定 for
/// `*_UNSPECIFIED`.
pub fn name<E: Worded>(value: E) -> &'static str {
    words(value).map_or("未指定", |w| w.name)
}

/// The short Chinese word of `value` (低保), or 未指定 for `*_UNSPECIFIED`.
pub fn short<E: Worded>(value: E) -> &'static str {
    words(value).map_or("未指定", |w| w.short)
}

/// The English name of `value`: `minimum-living`, `public-security`.
pub fn english<E: Worded>(value: E) -> String {
    value
        .proto_name()
        .trim_start_matches(E::PREFIX)
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// What the error of [`parse`] lists: `minimum-living (低保), …`.
fn accepted<E: Worded>() -> String {
    let names: Vec<String> = E::TABLE
        .iter()
        .map(|w| format!("{} ({})", english(w.value), w.short))
        .collect();
    names.join(", ")
}

/// Parses a word for a value of `E`: any of its Chinese words, its English
/// name (any case, `-` or `_`) or its protobuf name. The error names the
/// accepted words.
pub fn parse<E: Worded>(s: &str) -> Result<E, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("is empty; expected one of {}", accepted::<E>()));
    }
    if let Some(w) = E::TABLE.iter().find(|w| w.all().any(|x| x == t)) {
        return Ok(w.value);
    }
    let upper = t.to_ascii_uppercase().replace('-', "_");
    let bare = upper.strip_prefix(E::PREFIX).unwrap_or(&upper);
    E::TABLE
        .iter()
        .find(|w| w.value.proto_name().strip_prefix(E::PREFIX) == Some(bare))
        .map(|w| w.value)
        .ok_or_else(|| format!("unknown {} {t:?}; expected one of {}", E::WHAT, accepted::<E>()))
}

/// Parses a list of words separated by commas (`,`, `，` or `、`), as
/// `--departments 税务,人行` gives it: each once, in the order given.
pub fn parse_list<E: Worded>(s: &str) -> Result<Vec<E>, String> {
    let mut out = Vec::new();
    for part in s.split([',', '，', '、']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let v = parse::<E>(part)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(format!("names no {}; expected some of {}", E::WHAT, accepted::<E>()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of `E` has words, every word (and the English and
    /// protobuf names) parses back to its value, and no word names two.
    fn round_trips<E: Worded + std::fmt::Debug>(every: &[E]) {
        assert_eq!(E::TABLE.len(), every.len(), "{}: table size", E::WHAT);
        let mut seen: Vec<&str> = Vec::new();
        for &v in every {
            let words = words(v).unwrap_or_else(|| panic!("{v:?} has no Chinese word"));
            assert!(!words.name.is_empty() && !words.short.is_empty());
            for word in words.all() {
                assert_eq!(parse::<E>(word), Ok(v), "{word}");
                assert_eq!(parse::<E>(&format!(" {word} ")), Ok(v), "{word}");
                if !(word == words.name && word == words.short) {
                    assert!(!seen.contains(&word), "{word} names two {}s", E::WHAT);
                }
                seen.push(word);
            }
            let english = english(v);
            assert_eq!(parse::<E>(&english), Ok(v));
            assert_eq!(parse::<E>(&english.to_ascii_uppercase()), Ok(v));
            assert_eq!(parse::<E>(&english.replace('-', "_")), Ok(v));
            assert_eq!(parse::<E>(v.proto_name()), Ok(v));
        }
        let err = parse::<E>("无此项").unwrap_err();
        assert!(err.starts_with(&format!("unknown {} \"无此项\"", E::WHAT)), "{err}");
        assert!(parse::<E>(" ").unwrap_err().starts_with("is empty"));
        assert!(parse::<E>(&format!("{}UNSPECIFIED", E::PREFIX)).is_err());
        assert!(parse::<E>("unspecified").is_err());
    }

    #[test]
    fn every_value_has_chinese_words_that_parse_back() {
        round_trips(&crate::purpose::PURPOSES);
        round_trips(&crate::department::ALL);
        round_trips(&crate::purpose::RELATIONS);
        round_trips(&crate::purpose::RESIDENCES);
        round_trips(&[
            Verdict::MeetsCriteria,
            Verdict::DoesNotMeet,
            Verdict::NeedsReview,
            Verdict::Incomplete,
        ]);
        round_trips(&[
            ReviewOutcome::Confirmed,
            ReviewOutcome::Corrected,
            ReviewOutcome::Objection,
        ]);
    }

    #[test]
    fn english_names_are_the_existing_slugs() {
        for p in crate::purpose::PURPOSES {
            assert_eq!(english(p), crate::purpose::purpose_slug(p));
        }
        for d in crate::department::ALL {
            assert_eq!(english(d), crate::department::slug(d));
        }
        for r in crate::purpose::RELATIONS {
            assert_eq!(english(r), crate::purpose::relation_slug(r));
        }
        for o in [
            ReviewOutcome::Confirmed,
            ReviewOutcome::Corrected,
            ReviewOutcome::Objection,
        ] {
            assert_eq!(english(o), crate::review::outcome_slug(o));
        }
    }

    #[test]
    fn the_words_the_issue_names() {
        assert_eq!(parse("低保"), Ok(Purpose::MinimumLiving));
        assert_eq!(parse("最低生活保障"), Ok(Purpose::MinimumLiving));
        assert_eq!(parse("确认"), Ok(ReviewOutcome::Confirmed));
        assert_eq!(parse("更正"), Ok(ReviewOutcome::Corrected));
        assert_eq!(parse("异议"), Ok(ReviewOutcome::Objection));
        assert_eq!(parse("需人工复核"), Ok(Verdict::NeedsReview));
        assert_eq!(parse("NEEDS_REVIEW"), Ok(Verdict::NeedsReview));
        assert_eq!(parse("needs-review"), Ok(Verdict::NeedsReview));
        assert_eq!(parse("核对不完整"), Ok(Verdict::Incomplete));
        assert_eq!(parse_list("税务,人行"), Ok(vec![Department::Tax, Department::Pboc]));
        assert_eq!(
            parse_list("人民银行，税务局、tax, 人行"),
            Ok(vec![Department::Pboc, Department::Tax])
        );
        assert_eq!(name(Purpose::LowIncome), "低收入家庭认定");
        assert_eq!(short(Department::HousingFund), "公积金");
        assert_eq!(name(Purpose::Unspecified), "未指定");
    }

    #[test]
    fn errors_name_the_accepted_words() {
        let e = parse::<Department>("tx").unwrap_err();
        assert!(
            e.contains("\"tx\"") && e.contains("housing-fund (公积金)") && e.contains("pboc (人行)"),
            "{e}"
        );
        let e = parse::<Purpose>("dibao").unwrap_err();
        assert!(
            e.starts_with("unknown purpose \"dibao\"; expected one of minimum-living (低保), "),
            "{e}"
        );
        assert!(
            parse_list::<Department>(", ，")
                .unwrap_err()
                .starts_with("names no department")
        );
        assert!(parse_list::<Department>("税务,警察").unwrap_err().contains("\"警察\""));
    }
}
