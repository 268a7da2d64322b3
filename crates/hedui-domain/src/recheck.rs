//! Re-checks (复核) of a record: which departments to ask again, how to keep
//! the answers of the others, how the new version is sealed, and what
//! changed between two versions.
//!
//! A re-check never edits a record. It builds a new version from the
//! previous version's household, purpose, window, asset date and
//! authorization, with fresh answers for the departments asked again and the
//! previous version's answers for the rest, evaluated under the current
//! policy. The new version names the one it replaces.

use chrono::NaiveDate;
use hedui_proto::v1::{
    Authorization, Department, HouseholdSummary, PersonResult, RecordChange, SourceOutcome, SubmitVerificationRequest,
    Verdict, VerificationRecord, person_result::Findings,
};

use crate::department::{ALL, slug};
use crate::error::{FieldViolation, ValidationError};
use crate::merge::{RecordHeader, SourceAnswer, build_record};
use crate::money::yuan;
use crate::policy::Policy;
use crate::reply::ValidatedReply;
use crate::request::ValidatedSubmission;

/// The version of a record; records made before versions existed carry 0
/// and are version 1.
pub fn version_of(record: &VerificationRecord) -> u32 {
    record.version.max(1)
}

/// True when the department answered (OK or NO_RECORD).
pub fn answered(outcome: i32) -> bool {
    outcome == SourceOutcome::Ok as i32 || outcome == SourceOutcome::NoRecord as i32
}

/// The departments of `record` that did not answer, in department order.
/// These are what an `INCOMPLETE` record needs re-checked.
pub fn unanswered(record: &VerificationRecord) -> Vec<Department> {
    ALL.iter()
        .copied()
        .filter(|d| {
            !record
                .sources
                .iter()
                .any(|s| s.department == *d as i32 && answered(s.outcome))
        })
        .collect()
}

/// Parses the departments of a re-check request (raw enum values). Unknown
/// and unspecified values are named by index (`departments[1]`); duplicates
/// are folded. The result is in department order.
pub fn parse_departments(values: &[i32]) -> Result<Vec<Department>, ValidationError> {
    let mut violations = Vec::new();
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match Department::try_from(*v) {
            Ok(Department::Unspecified) | Err(_) => {
                let names: Vec<&str> = ALL.iter().map(|d| slug(*d)).collect();
                violations.push(FieldViolation::new(
                    format!("departments[{i}]"),
                    format!("unknown department {v}; expected one of {}", names.join(", ")),
                ));
            }
            Ok(d) => out.push(d),
        }
    }
    ValidationError::check(violations)?;
    Ok(ALL.iter().copied().filter(|d| out.contains(d)).collect())
}

/// The departments a re-check asks: the ones named, or else every one that
/// did not answer. An empty result means there is nothing to ask; the
/// caller refuses the request.
pub fn departments_to_ask(previous: &VerificationRecord, named: &[Department]) -> Vec<Department> {
    if named.is_empty() {
        unanswered(previous)
    } else {
        ALL.iter().copied().filter(|d| named.contains(d)).collect()
    }
}

/// The submission a re-check of `previous` stands for: the same household,
/// purpose, income window, asset date and authorization reference, under
/// the re-check's own idempotency key. Validated as any submission is, so
/// the key is checked here too.
pub fn submission_of(
    previous: &VerificationRecord,
    idempotency_key: &str,
    today: NaiveDate,
) -> Result<ValidatedSubmission, ValidationError> {
    let req = SubmitVerificationRequest {
        idempotency_key: idempotency_key.to_owned(),
        household: previous.household.clone(),
        purpose: previous.purpose,
        income_window: previous.income_window.clone(),
        asset_reference_date: previous.asset_reference_date.clone(),
        authorization_ref: previous.authorization_ref.clone(),
        authorization: previous.authorization.clone(),
    };
    ValidatedSubmission::parse(&req, today)
}

/// The answers of `previous` for the departments in `keep`, as they were:
/// a department that answered keeps its findings for every member, one that
/// failed keeps its outcome and detail. Errors when the record does not hold
/// what an answer needs (a findings list that skips a member, a data date
/// that does not parse); such a record cannot have been made by this hub.
pub fn kept_answers(previous: &VerificationRecord, keep: &[Department]) -> Result<Vec<SourceAnswer>, String> {
    let mut out = Vec::new();
    for d in keep {
        let Some(source) = previous.sources.iter().find(|s| s.department == *d as i32) else {
            continue;
        };
        let outcome = SourceOutcome::try_from(source.outcome).unwrap_or(SourceOutcome::Unspecified);
        if !answered(source.outcome) {
            out.push(SourceAnswer {
                department: *d,
                outcome,
                latency_ms: source.latency_ms,
                detail: source.detail.clone(),
                reply: None,
                sent: false,
            });
            continue;
        }
        let data_as_of = crate::window::parse_date(&source.data_as_of)
            .map_err(|e| format!("sources.{}.data_as_of: {e}", slug(*d)))?;
        let mut results = Vec::new();
        for (i, m) in previous.members.iter().enumerate() {
            let r = m
                .result_departments
                .iter()
                .position(|x| *x == *d as i32)
                .and_then(|j| m.results.get(j))
                .ok_or_else(|| format!("members[{i}] has no result from {}", slug(*d)))?;
            results.push(r.clone());
        }
        out.push(SourceAnswer {
            department: *d,
            outcome,
            latency_ms: source.latency_ms,
            detail: source.detail.clone(),
            reply: Some(ValidatedReply { data_as_of, results }),
            sent: false,
        });
    }
    Ok(out)
}

/// Builds the sealed next version of `previous` from the answers (fresh and
/// kept together), under `policy`. It links back to `previous` and carries
/// the next version number.
pub fn build_next_version(
    header: RecordHeader,
    submission: &ValidatedSubmission,
    authorization: Option<Authorization>,
    answers: Vec<SourceAnswer>,
    policy: &Policy,
    previous: &VerificationRecord,
) -> VerificationRecord {
    let mut record = build_record(header, submission, authorization, answers, policy);
    record.previous_record_id = previous.record_id.clone();
    record.version = version_of(previous) + 1;
    crate::digest::seal(&mut record);
    record
}

/// What differs between two versions of a record, in plain words: each
/// department's outcome, each member's findings per department, the
/// household summary, the flags, the verdict and the policy version.
/// Versions that differ only in ids and times give an empty list.
pub fn changes(before: &VerificationRecord, after: &VerificationRecord) -> Vec<RecordChange> {
    let mut out = Vec::new();
    let mut push = |what: String, b: String, a: String| {
        if b != a {
            out.push(RecordChange {
                what,
                before: b,
                after: a,
            });
        }
    };
    for d in ALL {
        let find = |r: &VerificationRecord| r.sources.iter().find(|s| s.department == d as i32).cloned();
        let (b, a) = (find(before), find(after));
        push(
            format!("source {}", slug(d)),
            b.as_ref().map_or("absent".to_owned(), |s| outcome_words(s.outcome)),
            a.as_ref().map_or("absent".to_owned(), |s| outcome_words(s.outcome)),
        );
        if let (Some(b), Some(a)) = (&b, &a)
            && answered(b.outcome)
            && answered(a.outcome)
        {
            push(
                format!("source {} data date", slug(d)),
                b.data_as_of.clone(),
                a.data_as_of.clone(),
            );
        }
    }
    let members = before.members.len().max(after.members.len());
    for i in 0..members {
        for d in ALL {
            let find = |r: &VerificationRecord| -> Option<PersonResult> {
                let m = r.members.get(i)?;
                let j = m.result_departments.iter().position(|x| *x == d as i32)?;
                m.results.get(j).cloned()
            };
            let (b, a) = (find(before), find(after));
            if b != a {
                let (bw, mut aw) = (describe(b.as_ref()), describe(a.as_ref()));
                if bw == aw {
                    // Same counts, different entries: still a change.
                    aw.push_str(" (entries changed)");
                }
                push(format!("member {} findings from {}", i + 1, slug(d)), bw, aw);
            }
        }
    }
    let default = HouseholdSummary::default();
    let sb = before.summary.as_ref().unwrap_or(&default);
    let sa = after.summary.as_ref().unwrap_or(&default);
    for (field, b, a, money) in summary_fields(sb, sa) {
        let words = |v: i64| if money { yuan(v) } else { v.to_string() };
        push(format!("summary.{field}"), words(b), words(a));
    }
    let vehicles = |s: &HouseholdSummary| {
        s.vehicles
            .iter()
            .map(|v| format!("{}×{}", v.count, vehicle_words(v.vehicle_type)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    push("summary.vehicles".into(), vehicles(sb), vehicles(sa));
    for f in &before.flags {
        if !after.flags.contains(f) {
            push("flag".into(), f.detail.clone(), "(gone)".into());
        }
    }
    for f in &after.flags {
        if !before.flags.contains(f) {
            push("flag".into(), "(none)".into(), f.detail.clone());
        }
    }
    push(
        "verdict".into(),
        verdict_words(before.verdict),
        verdict_words(after.verdict),
    );
    push(
        "policy version".into(),
        before.policy_version.clone(),
        after.policy_version.clone(),
    );
    out
}

/// The household figures compared by [`changes`]: name, before, after, and
/// whether the figure is money in fen.
fn summary_fields(b: &HouseholdSummary, a: &HouseholdSummary) -> Vec<(&'static str, i64, i64, bool)> {
    vec![
        ("member_count", b.member_count.into(), a.member_count.into(), false),
        ("window_months", b.window_months.into(), a.window_months.into(), false),
        ("window_income_fen", b.window_income_fen, a.window_income_fen, true),
        (
            "yearly_income_per_capita_fen",
            b.yearly_income_per_capita_fen,
            a.yearly_income_per_capita_fen,
            true,
        ),
        (
            "monthly_income_per_capita_fen",
            b.monthly_income_per_capita_fen,
            a.monthly_income_per_capita_fen,
            true,
        ),
        (
            "financial_assets_fen",
            b.financial_assets_fen,
            a.financial_assets_fen,
            true,
        ),
        (
            "financial_assets_per_capita_fen",
            b.financial_assets_per_capita_fen,
            a.financial_assets_per_capita_fen,
            true,
        ),
        (
            "residential_properties",
            b.residential_properties.into(),
            a.residential_properties.into(),
            false,
        ),
        (
            "commercial_properties",
            b.commercial_properties.into(),
            a.commercial_properties.into(),
            false,
        ),
        (
            "active_business_roles",
            b.active_business_roles.into(),
            a.active_business_roles.into(),
            false,
        ),
        (
            "subscribed_capital_fen",
            b.subscribed_capital_fen,
            a.subscribed_capital_fen,
            true,
        ),
        (
            "housing_fund_balance_fen",
            b.housing_fund_balance_fen,
            a.housing_fund_balance_fen,
            true,
        ),
        (
            "housing_fund_monthly_contribution_fen",
            b.housing_fund_monthly_contribution_fen,
            a.housing_fund_monthly_contribution_fen,
            true,
        ),
        (
            "insured_contributing",
            b.insured_contributing.into(),
            a.insured_contributing.into(),
            false,
        ),
        (
            "insured_receiving",
            b.insured_receiving.into(),
            a.insured_receiving.into(),
            false,
        ),
        (
            "monthly_benefits_fen",
            b.monthly_benefits_fen,
            a.monthly_benefits_fen,
            true,
        ),
        (
            "housing_purchases",
            b.housing_purchases.into(),
            a.housing_purchases.into(),
            false,
        ),
    ]
}

/// A department's outcome in words: `ok`, `no record`, `unavailable`…
pub fn outcome_words(v: i32) -> String {
    match SourceOutcome::try_from(v) {
        Ok(o) => o
            .as_str_name()
            .trim_start_matches("SOURCE_OUTCOME_")
            .to_lowercase()
            .replace('_', " "),
        Err(_) => format!("unknown outcome {v}"),
    }
}

/// The verdict's name: `MEETS_CRITERIA`, `INCOMPLETE`…
pub fn verdict_words(v: i32) -> String {
    match Verdict::try_from(v) {
        Ok(v) => v.as_str_name().trim_start_matches("VERDICT_").to_owned(),
        Err(_) => format!("unknown verdict {v}"),
    }
}

fn vehicle_words(v: i32) -> String {
    match hedui_proto::v1::VehicleType::try_from(v) {
        Ok(t) => t
            .as_str_name()
            .trim_start_matches("VEHICLE_TYPE_")
            .to_lowercase()
            .replace('_', " "),
        Err(_) => format!("type {v}"),
    }
}

/// One department's result for one member, in a few words, without
/// personal data: the identity status and how many entries it holds.
fn describe(r: Option<&PersonResult>) -> String {
    let Some(r) = r else {
        return "no answer".to_owned();
    };
    let status = hedui_proto::v1::IdentityStatus::try_from(r.identity_status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("IDENTITY_STATUS_")
                .to_lowercase()
                .replace('_', " ")
        })
        .unwrap_or_else(|_| format!("identity status {}", r.identity_status));
    let entries = match &r.findings {
        None => return status,
        Some(Findings::PublicSecurity(f)) => format!("{} vehicle(s)", f.vehicles.len()),
        Some(Findings::NaturalResources(f)) => format!("{} propert(ies)", f.properties.len()),
        Some(Findings::Housing(f)) => format!(
            "{} purchase(s), {} lease(s), {} public rental(s), {} self-built",
            f.purchases.len(),
            f.leases.len(),
            f.public_rentals.len(),
            f.self_built.len()
        ),
        Some(Findings::Tax(f)) => format!(
            "{} tax record(s), {} taxable in total",
            f.records.len(),
            yuan(f.records.iter().map(|t| t.taxable_income_fen).sum())
        ),
        Some(Findings::MarketSupervision(f)) => format!("{} business role(s)", f.roles.len()),
        Some(Findings::HousingFund(f)) => format!(
            "{} account(s), balance {}",
            f.accounts.len(),
            yuan(f.accounts.iter().map(|a| a.balance_fen).sum())
        ),
        Some(Findings::Pboc(f)) => format!(
            "{} account(s), {} product(s), balance {}",
            f.accounts.len(),
            f.products.len(),
            yuan(f.accounts.iter().map(|a| a.balance_fen).sum())
        ),
        Some(Findings::Hrss(f)) => format!("{} insurance record(s)", f.insurance.len()),
    };
    format!("{status}, {entries}")
}

#[cfg(test)]
mod tests;
