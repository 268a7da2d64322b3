//! Human-readable text for records and lists.

use std::fmt::Write as _;
use std::sync::OnceLock;

use hedui_i18n::Lang;
use hedui_roster::results::ResultRow;

use hedui_domain::department::slug;
use hedui_domain::money::yuan;
use hedui_domain::purpose::{purpose_slug, relation_slug, residence_slug};
use hedui_proto::v1::{
    Department, FlagKind, IdentityStatus, Purpose, RecordSummary, Relation, Residence, SourceOutcome, VehicleType,
    Verdict, VerificationRecord, person_result::Findings,
};

/// The language of the words a caseworker reads, chosen once per run
/// (`--lang`, else the locale).
static LANG: OnceLock<Lang> = OnceLock::new();

/// Sets the language of this run; the first call wins.
pub fn set_lang(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language of this run: English until [`set_lang`] says otherwise.
pub fn lang() -> Lang {
    LANG.get().copied().unwrap_or(Lang::En)
}

/// One household's line of a batch's results file: the roster crate's row,
/// with the 主要依据 and 核查提示 columns in Chinese from the catalog
/// (the results file is for caseworkers, whatever the command's language).
pub fn result_row(first_row: usize, record: &VerificationRecord) -> ResultRow {
    let mut row = ResultRow::from_record(first_row, record);
    row.reasons = hedui_report::words::reasons_zh(record);
    row.flags = hedui_report::words::flags_zh(record);
    row
}

/// The short name of a verdict, e.g. `MEETS_CRITERIA`.
pub fn verdict_name(v: i32) -> &'static str {
    Verdict::try_from(v)
        .unwrap_or_default()
        .as_str_name()
        .trim_start_matches("VERDICT_")
}

/// The short name of a source outcome, e.g. `TIMEOUT`.
pub fn outcome_name(v: i32) -> &'static str {
    SourceOutcome::try_from(v)
        .unwrap_or_default()
        .as_str_name()
        .trim_start_matches("SOURCE_OUTCOME_")
}

fn dept(v: i32) -> &'static str {
    slug(Department::try_from(v).unwrap_or_default())
}

fn flag_name(v: i32) -> &'static str {
    FlagKind::try_from(v)
        .unwrap_or_default()
        .as_str_name()
        .trim_start_matches("FLAG_KIND_")
}

fn vehicle_name(v: i32) -> &'static str {
    VehicleType::try_from(v)
        .unwrap_or_default()
        .as_str_name()
        .trim_start_matches("VEHICLE_TYPE_")
}

/// One line about what a department found for one person.
pub fn describe_findings(f: &Findings) -> String {
    match f {
        Findings::PublicSecurity(p) => {
            let life = if p.life_status == hedui_proto::v1::LifeStatus::Deceased as i32 {
                format!("DECEASED {}", p.death_date)
            } else {
                "alive".to_owned()
            };
            format!("{life}, {} vehicle(s)", p.vehicles.len())
        }
        Findings::NaturalResources(n) => format!("{} property registration(s)", n.properties.len()),
        Findings::Housing(h) => format!(
            "{} purchase(s), {} lease(s), {} public rental(s), {} self-built",
            h.purchases.len(),
            h.leases.len(),
            h.public_rentals.len(),
            h.self_built.len()
        ),
        Findings::Tax(t) => {
            let total: i64 = t.records.iter().map(|r| r.taxable_income_fen).sum();
            format!("{} record(s), taxable income {} yuan", t.records.len(), yuan(total))
        }
        Findings::MarketSupervision(m) => format!("{} business role(s)", m.roles.len()),
        Findings::HousingFund(h) => {
            let bal: i64 = h.accounts.iter().map(|a| a.balance_fen).sum();
            format!("{} account(s), balance {} yuan", h.accounts.len(), yuan(bal))
        }
        Findings::Pboc(p) => {
            let bal: i64 = p.accounts.iter().map(|a| a.balance_fen).sum::<i64>()
                + p.products.iter().map(|x| x.value_fen).sum::<i64>();
            format!(
                "{} account(s), {} product(s), total {} yuan",
                p.accounts.len(),
                p.products.len(),
                yuan(bal)
            )
        }
        Findings::Hrss(h) => format!("{} insurance record(s)", h.insurance.len()),
    }
}

/// The full text view of a record.
pub fn record(r: &VerificationRecord) -> String {
    let mut o = String::new();
    let h = r.household.clone().unwrap_or_default();
    let w = r.income_window.clone().unwrap_or_default();
    let _ = writeln!(o, "Record {}  ({})", r.record_id, r.created_at);
    let _ = writeln!(
        o,
        "Household {} · {} · {} member(s) · purpose {}",
        h.household_ref,
        residence_slug(Residence::try_from(h.residence).unwrap_or_default()),
        h.members.len(),
        purpose_slug(Purpose::try_from(r.purpose).unwrap_or_default())
    );
    let _ = writeln!(
        o,
        "Income window {} .. {} · assets as of {} · authorization {} · policy {}",
        w.from_month, w.to_month, r.asset_reference_date, r.authorization_ref, r.policy_version
    );
    if lang() == Lang::Zh {
        verdict_zh(&mut o, r);
    } else {
        verdict_en(&mut o, r);
    }
    if let Some(s) = &r.summary {
        let _ = writeln!(o, "\nHousehold summary:");
        let _ = writeln!(
            o,
            "  income over {} month(s): {} yuan; per person {} yuan/month, {} yuan/year",
            s.window_months,
            yuan(s.window_income_fen),
            yuan(s.monthly_income_per_capita_fen),
            yuan(s.yearly_income_per_capita_fen)
        );
        let _ = writeln!(
            o,
            "  financial assets: {} yuan; per person {} yuan",
            yuan(s.financial_assets_fen),
            yuan(s.financial_assets_per_capita_fen)
        );
        let vehicles: Vec<String> = s
            .vehicles
            .iter()
            .map(|v| format!("{} × {}", vehicle_name(v.vehicle_type), v.count))
            .collect();
        let _ = writeln!(
            o,
            "  vehicles: {}",
            if vehicles.is_empty() {
                "none".to_owned()
            } else {
                vehicles.join(", ")
            }
        );
        let _ = writeln!(
            o,
            "  properties: {} residential, {} commercial; {} purchase contract(s)",
            s.residential_properties, s.commercial_properties, s.housing_purchases
        );
        let _ = writeln!(
            o,
            "  business roles in active entities: {}; subscribed capital {} yuan",
            s.active_business_roles,
            yuan(s.subscribed_capital_fen)
        );
        let _ = writeln!(
            o,
            "  housing fund: balance {} yuan, contributions {} yuan/month",
            yuan(s.housing_fund_balance_fen),
            yuan(s.housing_fund_monthly_contribution_fen)
        );
        let _ = writeln!(
            o,
            "  social insurance: {} contributing, {} receiving, benefits {} yuan/month",
            s.insured_contributing,
            s.insured_receiving,
            yuan(s.monthly_benefits_fen)
        );
    }
    let _ = writeln!(o, "\nMembers:");
    for (i, m) in r.members.iter().enumerate() {
        let member = m.member.clone().unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}. {} {} ({})",
            i + 1,
            member.name,
            member.id_number,
            relation_slug(Relation::try_from(member.relation).unwrap_or_default())
        );
        for (d, res) in m.result_departments.iter().zip(&m.results) {
            let status = IdentityStatus::try_from(res.identity_status).unwrap_or_default();
            let text = match (&res.findings, status) {
                (Some(f), _) => describe_findings(f),
                (None, IdentityStatus::NameMismatch) => "NAME DOES NOT MATCH the ID number".to_owned(),
                (None, _) => "no record".to_owned(),
            };
            let _ = writeln!(o, "       {:<19} {}", dept(*d), text);
        }
    }
    let _ = writeln!(o, "\nDigest (SHA-256): {}", r.digest);
    o
}

/// The verdict, its reasons, the flags and the sources, in English.
fn verdict_en(o: &mut String, r: &VerificationRecord) {
    let _ = writeln!(o, "\nVERDICT: {}", verdict_name(r.verdict));
    for reason in &r.reasons {
        let _ = writeln!(
            o,
            "  - [{}] {} → {}",
            reason.rule,
            reason.detail,
            verdict_name(reason.leads_to)
        );
    }
    if !r.flags.is_empty() {
        let _ = writeln!(o, "\nFlags (check on the home visit):");
        for f in &r.flags {
            let _ = writeln!(o, "  ! {}: {}", flag_name(f.kind), f.detail);
        }
    }
    let _ = writeln!(o, "\nSources:");
    for s in &r.sources {
        let _ = writeln!(
            o,
            "  {:<19} {:<12} {:>6} ms  {}{}",
            dept(s.department),
            outcome_name(s.outcome),
            s.latency_ms,
            if s.data_as_of.is_empty() {
                String::new()
            } else {
                format!("data as of {}", s.data_as_of)
            },
            if s.detail.is_empty() {
                String::new()
            } else {
                format!("  ({})", s.detail)
            }
        );
    }
}

/// The verdict, its reasons, the flags and the sources, in Chinese from the
/// catalog (`--lang zh`).
fn verdict_zh(o: &mut String, r: &VerificationRecord) {
    let zh = Lang::Zh;
    let _ = writeln!(o, "\n核对结论：{}", hedui_i18n::verdict(zh, r.verdict));
    let _ = writeln!(o, "  {}", hedui_i18n::verdict_explained(zh, r.verdict));
    let _ = writeln!(o, "依据：");
    for reason in &r.reasons {
        let _ = writeln!(
            o,
            "  - {}（{}）：{} → {}",
            hedui_i18n::rule(zh, &reason.rule),
            reason.rule,
            hedui_i18n::reason(zh, reason),
            hedui_i18n::rule_result(zh, reason.leads_to)
        );
    }
    if !r.flags.is_empty() {
        let _ = writeln!(o, "\n核查提示（入户核查时核实）：");
        for f in &r.flags {
            let _ = writeln!(
                o,
                "  ! {}：{}",
                hedui_i18n::flag(zh, f.kind),
                hedui_i18n::flag_detail(zh, f)
            );
        }
    }
    let _ = writeln!(o, "\n各部门核对情况：");
    for s in &r.sources {
        let note = hedui_i18n::source_note(zh, s);
        let _ = writeln!(
            o,
            "  {}  {}  {} 毫秒{}{}",
            hedui_i18n::department(zh, s.department),
            hedui_i18n::outcome(zh, s.outcome),
            s.latency_ms,
            if s.data_as_of.is_empty() {
                String::new()
            } else {
                format!("  数据日期 {}", s.data_as_of)
            },
            if note.is_empty() {
                String::new()
            } else {
                format!("  （{note}）")
            }
        );
    }
}

/// A table of record summaries.
pub fn summaries(records: &[RecordSummary]) -> String {
    let mut o = String::new();
    if records.is_empty() {
        o.push_str("no records match\n");
        return o;
    }
    let _ = writeln!(
        o,
        "{:<36}  {:<24}  {:<14}  {:<8}  {:<16}",
        "RECORD", "CREATED", "VERDICT", "MEMBERS", "HOUSEHOLD"
    );
    for s in records {
        let _ = writeln!(
            o,
            "{:<36}  {:<24}  {:<14}  {:<8}  {:<16}",
            s.record_id,
            s.created_at,
            verdict_name(s.verdict),
            s.member_count,
            s.household_ref
        );
        // A tombstone says so: its content is gone for good.
        if !s.erased_at.is_empty() {
            let _ = writeln!(o, "{:<36}  (erased under retention on {})", "", s.erased_at);
        }
        // A version a re-check replaced says so, so nobody acts on it.
        if !s.superseded_by.is_empty() {
            let _ = writeln!(
                o,
                "{:<36}  (version {}, replaced by {})",
                "",
                s.version.max(1),
                s.superseded_by
            );
        }
    }
    let _ = writeln!(o, "{} record(s)", records.len());
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn the_results_file_has_no_english_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        let mut sink = hedui_roster::results::create(&path).unwrap();
        for (i, record) in [fixture::rich_record(), fixture::incomplete_record()]
            .iter()
            .enumerate()
        {
            sink.write(&result_row(2 + 5 * i, record)).unwrap();
        }
        sink.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("不符合条件") && text.contains("核对不完整"));
        assert!(
            text.contains("人均月收入 822.00 元，高于农村低保标准 580.00 元"),
            "{text}"
        );
        assert!(text.contains("公安局登记第2位成员已于 2026-03-02 死亡"), "{text}");
        for line in text.lines() {
            assert!(
                !hedui_i18n::has_english_sentence(line),
                "English in the results: {line}"
            );
        }
    }

    #[test]
    fn record_show_in_chinese_gives_the_verdict_and_reasons_in_chinese() {
        let r = fixture::incomplete_record();
        let mut o = String::new();
        verdict_zh(&mut o, &r);
        assert!(o.contains("核对结论：核对不完整"), "{o}");
        assert!(o.contains("必需部门税务局未答复"), "{o}");
        assert!(o.contains("人民银行  无法连接"), "{o}");
        for line in o.lines() {
            assert!(!hedui_i18n::has_english_sentence(line), "{line}");
        }
        let mut en = String::new();
        verdict_en(&mut en, &r);
        assert!(en.contains("VERDICT: INCOMPLETE") && en.contains("required source tax did not answer"));
    }
}
