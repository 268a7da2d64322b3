//! Saying again, from the catalog, the English sentences a record carries.
//!
//! The policy (`hedui_domain::policy`), the merge and the hub write each
//! sentence from a fixed template. A [`Template`] here is the same sentence
//! with `{name}` where the figures go; [`say`] matches a sentence against
//! the templates, checks every captured value (a count is digits, money is
//! `123.45`, a department is a known slug, …), turns words inside the
//! values into the catalog's words (`tax` → 税务局) and formats the
//! template's message. A value that does not check makes the template not
//! match, so a sentence is either said whole or not at all.
//!
//! A capture whose name starts with `_` (the plural of a noun, an adapter's
//! free text) is matched but not shown.
//!
//! The tests evaluate the real policy and merge on households that reach
//! every template, and fail when one of their sentences is not recognised:
//! a change of wording there fails here, not on a caseworker's report.

use crate::{Lang, has, tr, tr_args};

/// One sentence of the record: the message id of the catalog and the
/// English template it is recognised by.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// The catalog's message id.
    pub id: &'static str,
    /// The sentence with `{name}` placeholders; two placeholders never touch.
    pub english: &'static str,
}

const fn t(id: &'static str, english: &'static str) -> Template {
    Template { id, english }
}

/// The policy's reasons (`hedui_domain::policy`), most specific first.
pub const REASON_TEMPLATES: &[Template] = &[
    t(
        "reason-source-missing",
        "required source {dept} has no recorded outcome",
    ),
    t(
        "reason-source-failed-detail",
        "required source {dept} did not answer: outcome {outcome} ({source_detail})",
    ),
    t(
        "reason-source-failed",
        "required source {dept} did not answer: outcome {outcome}",
    ),
    t(
        "reason-sources-all",
        "all {count} required sources answered: {answered}",
    ),
    t(
        "reason-residence-unset",
        "the household's residence is not set; the lower standard of {standard} yuan was applied",
    ),
    t(
        "reason-income-below",
        "per-capita monthly income {income} yuan is below the {which} standard of {standard} yuan",
    ),
    t(
        "reason-income-equal-accepted",
        "per-capita monthly income {income} yuan is equal to the {which} standard of {standard} yuan, which the policy accepts",
    ),
    t(
        "reason-income-equal-refused",
        "per-capita monthly income {income} yuan is equal to the {which} standard of {standard} yuan; the policy requires it to be below",
    ),
    t(
        "reason-income-above",
        "per-capita monthly income {income} yuan is above the {which} standard of {standard} yuan",
    ),
    t(
        "reason-assets-within",
        "financial assets per person {assets} yuan are at most {months} months of the {which} standard ({limit} yuan)",
    ),
    t(
        "reason-assets-exceed",
        "financial assets per person {assets} yuan exceed {months} months of the {which} standard ({limit} yuan)",
    ),
    t(
        "reason-vehicles-by-type-exempt",
        "the household has {total} active non-exempt {_noun} ({by_type}); the policy allows at most {max}; {exempt} active {_noun2} of an exempt type not counted",
    ),
    t(
        "reason-vehicles-exempt",
        "the household has {total} active non-exempt {_noun}; the policy allows at most {max}; {exempt} active {_noun2} of an exempt type not counted",
    ),
    t(
        "reason-vehicles-by-type",
        "the household has {total} active non-exempt {_noun} ({by_type}); the policy allows at most {max}",
    ),
    t(
        "reason-vehicles",
        "the household has {total} active non-exempt {_noun}; the policy allows at most {max}",
    ),
    t(
        "reason-residential",
        "the household holds {count} residential {_noun}; the policy allows at most {max}",
    ),
    t(
        "reason-commercial",
        "the household holds {count} commercial or industrial {_noun}; the policy allows at most {max}",
    ),
    t(
        "reason-recent",
        "member {member} has {what} on {date}, within {months} months before the reference date {ref_date} (on or after {cutoff})",
    ),
    t(
        "reason-recent-none-undated",
        "no purchase contract or counted property acquisition is dated within {months} months before the reference date {ref_date} (on or after {cutoff}); {undated} {_noun} without a readable date could not be placed",
    ),
    t(
        "reason-recent-none",
        "no purchase contract or counted property acquisition is dated within {months} months before the reference date {ref_date} (on or after {cutoff})",
    ),
    t(
        "reason-business-role",
        "member {member} is {role} of an active {entity}",
    ),
    t("reason-business-no-roles", "the policy counts no business role"),
    t(
        "reason-business-none",
        "no member holds a counted role ({roles}) in an active entity",
    ),
    t(
        "reason-capital-above",
        "subscribed capital in active entities {capital} yuan is above the limit of {limit} yuan",
    ),
    t(
        "reason-capital-within",
        "subscribed capital in active entities {capital} yuan is at most the limit of {limit} yuan",
    ),
    t("reason-flags-none-listed", "the policy sends no flag kind to review"),
    t(
        "reason-flags-none",
        "no flag of a kind that needs review ({kinds}) was raised",
    ),
];

/// The merge's flag details (`hedui_domain::merge`); a `flags.*` reason
/// carries its flag's detail.
pub const FLAG_TEMPLATES: &[Template] = &[
    t(
        "flag-detail-identity-not-found",
        "public security has no record of member {member}'s ID number",
    ),
    t(
        "flag-detail-deceased",
        "public security records member {member} as deceased on {date}",
    ),
    t(
        "flag-detail-name-mismatch",
        "the name given for member {member} does not match the ID number at {depts}",
    ),
    t(
        "flag-detail-name-disagree",
        "departments disagree on whether member {member}'s name matches the ID number",
    ),
    t(
        "flag-detail-active-after-death",
        "member {member} is recorded as deceased on {date}, but {depts} show activity after that date",
    ),
    t(
        "flag-detail-recent",
        "{dept} reports {what} on {date} for member {member}, inside the income window",
    ),
];

/// A department's outcome detail, as the hub writes it (`hedui_hub::fanout`
/// and the merge).
pub const SOURCE_TEMPLATES: &[Template] = &[
    t("source-no-answer", "no answer within {ms} ms"),
    t(
        "source-breaker-open",
        "not asked: the circuit breaker is open because this department kept failing; it is tried again in {secs} s",
    ),
    t("source-connection-failed", "the connection failed: {_message}"),
    t("source-malformed", "malformed reply: {_problem}"),
    t("source-stale", "stale data: {_reason}"),
    t("source-not-configured", "no adapter is configured for this department"),
];

/// Validation messages (`hedui_domain::ids`, `household`).
pub const VIOLATION_TEMPLATES: &[Template] = &[
    t(
        "violation-check-char",
        "check character should be '{expected}', found '{found}'",
    ),
    t("violation-no-members", "household has no members"),
    t("violation-no-applicant", "no member has relation applicant"),
    t(
        "violation-duplicate-id",
        "duplicate ID number; same as members[{first}]",
    ),
    t(
        "violation-one-applicant",
        "only one member may be the applicant; members[{first}] already is",
    ),
    t("violation-required", "is required"),
    t("violation-required-as", "is required, as {_form}"),
    t("violation-choose", "is required; expected one of {_choices}"),
    t(
        "violation-unknown-value",
        "unknown value {_value}; expected one of {_choices}",
    ),
    t("violation-no-signer", "at least one signer is required"),
    t("violation-uuid", "must be a UUID"),
    t("violation-empty", "must not be empty"),
];

/// A roster's row problems (`hedui-roster`), beside [`VIOLATION_TEMPLATES`]
/// for what the domain's validation says of a member.
pub const ROSTER_TEMPLATES: &[Template] = &[
    t(
        "roster-differs-in-household",
        "{text} differs from {other} in row {row} of the same household; leave it blank or repeat the same value",
    ),
    t(
        "roster-differs-for-guardian",
        "{text} differs from {other} in row {row} for the same guardian",
    ),
    t(
        "roster-differs-from-member",
        "{text} differs from the name of the member in row {row} with this guardian ID number",
    ),
    t(
        "roster-not-a-date",
        "{text} is not a date; write it as 2026-11-02, 2026/11/2, 2026年11月2日 or 20261102",
    ),
    t("roster-no-month", "{text} is not a date: there is no month {month}"),
    t("roster-no-day", "{text} is not a date: {ym} has no day {day}"),
    t(
        "roster-year-range",
        "{text}: the year {year} is out of range (1880 to 9999)",
    ),
    t(
        "roster-not-residence",
        "{text} is not a residence; expected 城镇 or 农村 (urban or rural)",
    ),
    t(
        "roster-not-relation",
        "{text} is not a relation; expected one of {_choices}",
    ),
    t("roster-required-for", "is required, for example {_example}"),
    t("roster-required-because", "is required: {_why}"),
    t("roster-blank-guardian", "is given but {column} is blank"),
    t(
        "roster-not-yes-no",
        "{text} is not 是 or 否 (yes or no; Y/N and √ are read too)",
    ),
];

/// Every template list, for the tests.
pub const ALL: &[&[Template]] = &[
    REASON_TEMPLATES,
    FLAG_TEMPLATES,
    SOURCE_TEMPLATES,
    VIOLATION_TEMPLATES,
    ROSTER_TEMPLATES,
];

/// The sentence `text` said in `lang` from the first template of `templates`
/// that recognises it, or `None`.
pub fn say(lang: Lang, templates: &[Template], text: &str) -> Option<String> {
    templates.iter().find_map(|tpl| {
        let captures = capture(tpl.english, text)?;
        let mut args = Vec::new();
        for (name, value) in captures {
            if name.starts_with('_') {
                continue;
            }
            args.push((name, value_in(lang, name, value)?));
        }
        Some(tr_args(lang, tpl.id, &args))
    })
}

/// The names of a template's placeholders, in order.
pub fn placeholders(english: &str) -> Vec<&str> {
    segments(english)
        .into_iter()
        .filter_map(|s| match s {
            Seg::Var(v) => Some(v),
            Seg::Lit(_) => None,
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Lit(&'a str),
    Var(&'a str),
}

fn segments(tpl: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    let mut rest = tpl;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Seg::Lit(&rest[..open]));
        }
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(Seg::Var(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Seg::Lit(rest));
    }
    out
}

/// Matches the whole of `text` against `tpl`: each placeholder takes the
/// shortest non-empty text after which the rest still matches.
fn capture<'t>(tpl: &'static str, text: &'t str) -> Option<Vec<(&'static str, &'t str)>> {
    let segs = segments(tpl);
    let mut caps = Vec::new();
    matches(&segs, text, &mut caps).then_some(caps)
}

fn matches<'t>(segs: &[Seg<'static>], text: &'t str, caps: &mut Vec<(&'static str, &'t str)>) -> bool {
    match segs.split_first() {
        None => text.is_empty(),
        Some((Seg::Lit(l), rest)) => text.strip_prefix(l).is_some_and(|t| matches(rest, t, caps)),
        Some((Seg::Var(name), [])) => {
            if text.is_empty() {
                return false;
            }
            caps.push((name, text));
            true
        }
        Some((Seg::Var(name), rest)) => {
            let Some(Seg::Lit(next)) = rest.first() else {
                return false;
            };
            let mut from = 1;
            while from <= text.len() {
                let Some(found) = text.get(from..).and_then(|t| t.find(next)) else {
                    return false;
                };
                let end = from + found;
                let mark = caps.len();
                caps.push((name, &text[..end]));
                if matches(rest, &text[end..], caps) {
                    return true;
                }
                caps.truncate(mark);
                from = end + 1;
                while from < text.len() && !text.is_char_boundary(from) {
                    from += 1;
                }
            }
            false
        }
    }
}

/// A captured value, checked and said in `lang`; `None` when it is not what
/// the placeholder's name promises.
fn value_in(lang: Lang, name: &str, v: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    match name {
        "total" | "max" | "exempt" | "count" | "member" | "months" | "undated" | "ms" | "secs" => {
            digits(v).then(|| v.to_owned())
        }
        // A 0-based index in the English text; people count from 1.
        "first" => digits(v).then(|| v.parse::<u64>().ok().map(|n| (n + 1).to_string()))?,
        "income" | "standard" | "assets" | "limit" | "capital" => {
            // `yuan` groups thousands: 18,582.06.
            let (whole, cents) = v.strip_prefix('-').unwrap_or(v).split_once('.')?;
            let grouped = whole
                .split(',')
                .enumerate()
                .all(|(i, g)| digits(g) && (g.len() == 3 || (i == 0 && g.len() <= 3) || !whole.contains(',')));
            (grouped && cents.len() == 2 && digits(cents)).then(|| v.to_owned())
        }
        "date" | "ref_date" | "cutoff" => {
            let b = v.as_bytes();
            let ok = b.len() == 10
                && b.iter().enumerate().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        *c == b'-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            ok.then(|| v.to_owned())
        }
        "expected" | "found" => (v.chars().count() == 1 && !v.contains('\'')).then(|| v.to_owned()),
        "dept" => word(lang, "department", v),
        "depts" => list(lang, v, |s| word(lang, "department", s)),
        "outcome" => word(lang, "outcome", v),
        "which" => word(lang, "which", v),
        "role" => word(lang, "role", v),
        "roles" => list(lang, v, |s| word(lang, "role", s)),
        "kinds" => list(lang, v, |s| word(lang, "flag", s)),
        "entity" => word(
            lang,
            "entity",
            if v == "entity of unspecified type" {
                "unspecified"
            } else {
                v
            },
        ),
        "answered" => list(lang, v, |item| {
            let (dept, outcome) = item.split_once(' ')?;
            Some(tr_args(
                lang,
                "answered-item",
                &[
                    ("dept", word(lang, "department", dept)?),
                    ("outcome", word(lang, "outcome", outcome)?),
                ],
            ))
        }),
        "by_type" => list(lang, v, |item| {
            let (kind, count) = item.split_once(' ')?;
            Some(tr_args(
                lang,
                "vehicle-count",
                &[
                    ("kind", word(lang, "vehicle", kind)?),
                    ("count", digits(count).then(|| count.to_owned())?),
                ],
            ))
        }),
        "what" => {
            let id = match v {
                "a commercial-housing purchase contract signed" => "acquired-contract",
                "a property of unknown use acquired" => "acquired-property-unspecified",
                "a residential property acquired" => "acquired-property-residential",
                "a commercial property acquired" => "acquired-property-commercial",
                "an industrial property acquired" => "acquired-property-industrial",
                "a homestead acquired" => "acquired-property-homestead",
                "a vehicle registered" => "acquired-vehicle",
                "a property acquired" => "acquired-property",
                "a home purchase contract signed" => "acquired-home-contract",
                _ => return None,
            };
            Some(tr(lang, id))
        }
        // A department's own detail inside a reason: said when known, else
        // a pointer to the record.
        "source_detail" => Some(say(lang, SOURCE_TEMPLATES, v).unwrap_or_else(|| tr(lang, "flag-detail-untranslated"))),
        // A roster's cell values, quoted as typed, and its row numbers.
        "text" | "other" | "ym" | "column" => (v.chars().count() <= 200).then(|| v.to_owned()),
        "row" | "month" | "day" | "year" => digits(v).then(|| v.to_owned()),
        _ => None,
    }
}

/// The catalog's word `prefix-slug`, when the slug is a known one.
fn word(lang: Lang, prefix: &str, slug: &str) -> Option<String> {
    let plain = !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b' ');
    let id = format!("{prefix}-{}", slug.replace(' ', "-"));
    (plain && has(lang, &id)).then(|| tr(lang, &id))
}

/// A `", "`-separated list, each item said by `item`, joined by the
/// catalog's separator.
fn list(lang: Lang, v: &str, item: impl Fn(&str) -> Option<String>) -> Option<String> {
    let items: Option<Vec<String>> = v.split(", ").map(item).collect();
    Some(items?.join(&tr(lang, "list-separator")))
}
