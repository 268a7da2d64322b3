//! Merging the departments' answers into one checked record per household.
//!
//! [`build_record`] is the only way the hub makes a record: it lays out the
//! per-source outcomes, each member's findings, the household summary and
//! the flags, evaluates the policy, and seals the digest. It is pure; the
//! caller supplies the ids and the time.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use hedui_proto::v1::{
    Authorization, Department, EntityStatus, Flag, FlagKind, FundAccountStatus, HouseholdSummary, IdentityStatus,
    InsuranceState, LifeStatus, MemberFindings, PersonResult, PropertyUse, SourceOutcome, SourceResult, VehicleCount,
    VehicleStatus, VerificationRecord, person_result::Findings,
};

use crate::department::{ALL, slug};
use crate::policy::{Policy, PolicyInput};
use crate::reply::ValidatedReply;
use crate::request::ValidatedSubmission;
use crate::window::YearMonth;

/// What happened when one department was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceAnswer {
    /// The department.
    pub department: Department,
    /// The outcome. `OK` and `NO_RECORD` come with a reply; the others never do.
    pub outcome: SourceOutcome,
    /// Time from sending the query to the answer or the deadline.
    pub latency_ms: u32,
    /// Why the outcome is not OK, or for an answer from data older than the
    /// adapter's maximum age, the adapter's note on it; without personal data.
    pub detail: String,
    /// The validated reply, for `OK` and `NO_RECORD`.
    pub reply: Option<ValidatedReply>,
    /// Whether the query left the hub for this answer. False for a
    /// department the hub did not ask (its circuit breaker was open, the
    /// hub was stopping before a slot was free) and for an answer kept
    /// from an earlier version; the audit log marks those "not asked", so
    /// the departments' service report does not count them.
    pub sent: bool,
}

impl SourceAnswer {
    /// An answer that passed validation: `OK` when the department knows at
    /// least one member, `NO_RECORD` otherwise.
    pub fn answered(department: Department, latency_ms: u32, reply: ValidatedReply) -> Self {
        let outcome = if reply.has_record() {
            SourceOutcome::Ok
        } else {
            SourceOutcome::NoRecord
        };
        Self {
            department,
            outcome,
            latency_ms,
            detail: String::new(),
            reply: Some(reply),
            sent: true,
        }
    }

    /// A department that gave no usable answer.
    pub fn failed(department: Department, outcome: SourceOutcome, latency_ms: u32, detail: impl Into<String>) -> Self {
        debug_assert!(!matches!(outcome, SourceOutcome::Ok | SourceOutcome::NoRecord));
        Self {
            department,
            outcome,
            latency_ms,
            detail: detail.into(),
            reply: None,
            sent: true,
        }
    }

    /// The same answer, for a query that was never sent.
    pub fn not_sent(mut self) -> Self {
        self.sent = false;
        self
    }
}

/// The identifiers and time of a new record, chosen by the caller.
#[derive(Debug, Clone)]
pub struct RecordHeader {
    /// The record id (a UUID).
    pub record_id: String,
    /// The request id sent to the departments (a UUID).
    pub request_id: String,
    /// When the record is made, RFC 3339 UTC.
    pub created_at: String,
}

/// Builds the sealed record for `submission` from the departments' answers.
/// Departments without an answer are recorded as `UNAVAILABLE`.
pub fn build_record(
    header: RecordHeader,
    submission: &ValidatedSubmission,
    authorization: Option<Authorization>,
    answers: Vec<SourceAnswer>,
    policy: &Policy,
) -> VerificationRecord {
    let mut by_dept: BTreeMap<i32, SourceAnswer> = answers.into_iter().map(|a| (a.department as i32, a)).collect();
    let answers: Vec<SourceAnswer> = ALL
        .iter()
        .map(|d| {
            by_dept.remove(&(*d as i32)).unwrap_or_else(|| {
                SourceAnswer::failed(
                    *d,
                    SourceOutcome::Unavailable,
                    0,
                    "no adapter is configured for this department",
                )
            })
        })
        .collect();

    let sources: Vec<SourceResult> = answers
        .iter()
        .map(|a| SourceResult {
            department: a.department as i32,
            outcome: a.outcome as i32,
            latency_ms: a.latency_ms,
            data_as_of: a.reply.as_ref().map(|r| r.data_as_of.to_string()).unwrap_or_default(),
            detail: a.detail.clone(),
        })
        .collect();

    let household = submission.household.to_proto();
    let members: Vec<MemberFindings> = household
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut results = Vec::new();
            let mut result_departments = Vec::new();
            for a in &answers {
                if let Some(r) = a.reply.as_ref().and_then(|r| r.results.get(i)) {
                    results.push(r.clone());
                    result_departments.push(a.department as i32);
                }
            }
            MemberFindings {
                member: Some(m.clone()),
                results,
                result_departments,
            }
        })
        .collect();

    let window_start = submission.window.from.first_day();
    let summary = summarize(submission, &members);
    let flags = flag(submission, &members, window_start);
    let evaluation = policy.evaluate(&PolicyInput {
        residence: submission.household.residence,
        summary: &summary,
        members: &members,
        sources: &sources,
        flags: &flags,
        reference_date: submission.asset_reference_date,
    });

    let mut record = VerificationRecord {
        record_id: header.record_id,
        request_id: header.request_id,
        created_at: header.created_at,
        household: Some(household),
        purpose: submission.purpose as i32,
        income_window: Some(submission.window.to_proto()),
        asset_reference_date: submission.asset_reference_date.to_string(),
        authorization_ref: submission.authorization_ref.clone(),
        sources,
        members,
        summary: Some(summary),
        flags,
        verdict: evaluation.verdict as i32,
        reasons: evaluation.reasons,
        policy_version: policy.version().to_owned(),
        digest: String::new(),
        authorization,
        previous_record_id: String::new(),
        version: 1,
        // The hub seals the record with its key when it stores it.
        hub_signature: String::new(),
    };
    crate::digest::seal(&mut record);
    record
}

/// The findings of one member, paired with the department that gave each.
fn findings_of(m: &MemberFindings) -> impl Iterator<Item = (Department, &PersonResult)> {
    m.result_departments
        .iter()
        .zip(&m.results)
        .map(|(d, r)| (Department::try_from(*d).unwrap_or(Department::Unspecified), r))
}

fn summarize(submission: &ValidatedSubmission, members: &[MemberFindings]) -> HouseholdSummary {
    let window = &submission.window;
    let months = i64::from(window.months());
    let member_count = members.len() as i64;
    let mut s = HouseholdSummary {
        member_count: members.len() as u32,
        window_months: window.months(),
        ..Default::default()
    };
    let mut vehicles: BTreeMap<i32, u32> = BTreeMap::new();
    // Co-owners appear once per member; a property is counted once.
    let mut residential = BTreeSet::new();
    let mut commercial = BTreeSet::new();
    for m in members {
        let mut receiving = false;
        let mut contributing = false;
        for (_, r) in findings_of(m) {
            let Some(f) = &r.findings else { continue };
            match f {
                Findings::PublicSecurity(ps) => {
                    for v in &ps.vehicles {
                        if is_active_vehicle(v.status) {
                            *vehicles.entry(v.vehicle_type).or_default() += 1;
                        }
                    }
                }
                Findings::NaturalResources(nr) => {
                    for p in &nr.properties {
                        match PropertyUse::try_from(p.r#use) {
                            Ok(PropertyUse::Residential | PropertyUse::Homestead) => {
                                residential.insert(p.certificate_number.clone());
                            }
                            Ok(PropertyUse::Commercial | PropertyUse::Industrial) => {
                                commercial.insert(p.certificate_number.clone());
                            }
                            _ => {}
                        }
                    }
                }
                Findings::Housing(h) => s.housing_purchases += h.purchases.len() as u32,
                Findings::Tax(t) => {
                    s.window_income_fen = s
                        .window_income_fen
                        .saturating_add(t.records.iter().map(|r| r.taxable_income_fen).sum::<i64>());
                }
                Findings::MarketSupervision(ms) => {
                    for role in ms.roles.iter().filter(|r| r.status == EntityStatus::Active as i32) {
                        s.active_business_roles += 1;
                        s.subscribed_capital_fen = s.subscribed_capital_fen.saturating_add(role.subscribed_capital_fen);
                    }
                }
                Findings::HousingFund(hf) => {
                    for a in &hf.accounts {
                        s.housing_fund_balance_fen = s.housing_fund_balance_fen.saturating_add(a.balance_fen);
                        if a.status == FundAccountStatus::Contributing as i32 {
                            s.housing_fund_monthly_contribution_fen = s
                                .housing_fund_monthly_contribution_fen
                                .saturating_add(a.monthly_contribution_fen);
                        }
                    }
                }
                Findings::Pboc(p) => {
                    let total = p
                        .accounts
                        .iter()
                        .map(|a| a.balance_fen)
                        .chain(p.products.iter().map(|x| x.value_fen));
                    for v in total {
                        s.financial_assets_fen = s.financial_assets_fen.saturating_add(v);
                    }
                }
                Findings::Hrss(h) => {
                    for i in &h.insurance {
                        if i.state == InsuranceState::Receiving as i32 {
                            receiving = true;
                            s.monthly_benefits_fen = s.monthly_benefits_fen.saturating_add(i.monthly_benefit_fen);
                        } else if i.state == InsuranceState::Contributing as i32 {
                            contributing = true;
                        }
                    }
                }
            }
        }
        s.insured_receiving += u32::from(receiving);
        s.insured_contributing += u32::from(contributing);
    }
    // Benefits are reported as a monthly amount on the reference date; they
    // count as income for every month of the window.
    s.window_income_fen = s
        .window_income_fen
        .saturating_add(s.monthly_benefits_fen.saturating_mul(months));
    s.vehicles = vehicles
        .into_iter()
        .map(|(t, count)| VehicleCount { vehicle_type: t, count })
        .collect();
    s.residential_properties = residential.len() as u32;
    s.commercial_properties = commercial.len() as u32;
    if member_count > 0 && months > 0 {
        s.monthly_income_per_capita_fen = s.window_income_fen / months / member_count;
        s.yearly_income_per_capita_fen = s.window_income_fen.saturating_mul(12) / months / member_count;
        s.financial_assets_per_capita_fen = s.financial_assets_fen / member_count;
    }
    s
}

fn is_active_vehicle(status: i32) -> bool {
    status == VehicleStatus::Active as i32 || status == VehicleStatus::Restricted as i32
}

fn parse(s: &str) -> Option<NaiveDate> {
    crate::window::parse_date(s).ok()
}

fn flag(submission: &ValidatedSubmission, members: &[MemberFindings], window_start: NaiveDate) -> Vec<Flag> {
    let mut flags = Vec::new();
    let recent = |d: &str| parse(d).is_some_and(|d| d >= window_start && d <= submission.asset_reference_date);
    for (i, m) in members.iter().enumerate() {
        let idx = Some(i as u32);
        let n = i + 1;
        let mut mismatch = Vec::new();
        let mut found_by = Vec::new();
        let mut death: Option<NaiveDate> = None;
        for (d, r) in findings_of(m) {
            match IdentityStatus::try_from(r.identity_status) {
                Ok(IdentityStatus::NameMismatch) => mismatch.push(d as i32),
                Ok(IdentityStatus::Found) => found_by.push(d as i32),
                Ok(IdentityStatus::NotFound) if d == Department::PublicSecurity => flags.push(Flag {
                    kind: FlagKind::IdentityNotFound as i32,
                    member_index: idx,
                    departments: vec![d as i32],
                    detail: format!("public security has no record of member {n}'s ID number"),
                }),
                _ => {}
            }
            if let Some(Findings::PublicSecurity(ps)) = &r.findings
                && ps.life_status == LifeStatus::Deceased as i32
            {
                death = parse(&ps.death_date);
                flags.push(Flag {
                    kind: FlagKind::DeceasedMember as i32,
                    member_index: idx,
                    departments: vec![d as i32],
                    detail: format!("public security records member {n} as deceased on {}", ps.death_date),
                });
            }
        }
        if !mismatch.is_empty() {
            let names: Vec<&str> = mismatch
                .iter()
                .map(|d| slug(Department::try_from(*d).unwrap_or_default()))
                .collect();
            flags.push(Flag {
                kind: FlagKind::IdentityMismatch as i32,
                member_index: idx,
                departments: mismatch.clone(),
                detail: format!(
                    "the name given for member {n} does not match the ID number at {}",
                    names.join(", ")
                ),
            });
            if !found_by.is_empty() {
                let mut both = mismatch.clone();
                both.extend(&found_by);
                flags.push(Flag {
                    kind: FlagKind::DepartmentsDisagree as i32,
                    member_index: idx,
                    departments: both,
                    detail: format!("departments disagree on whether member {n}'s name matches the ID number"),
                });
            }
        }
        if let Some(death) = death {
            let active = activity_after_death(m, death);
            if !active.is_empty() {
                let names: Vec<&str> = active.iter().map(|d| slug(*d)).collect();
                let mut depts = vec![Department::PublicSecurity as i32];
                depts.extend(active.iter().map(|d| *d as i32));
                flags.push(Flag {
                    kind: FlagKind::DepartmentsDisagree as i32,
                    member_index: idx,
                    departments: depts,
                    detail: format!(
                        "member {n} is recorded as deceased on {death}, but {} show activity after that date",
                        names.join(", ")
                    ),
                });
            }
        }
        for (d, r) in findings_of(m) {
            let Some(f) = &r.findings else { continue };
            let acquired: Vec<(&str, &str)> = match f {
                Findings::PublicSecurity(ps) => ps
                    .vehicles
                    .iter()
                    .filter(|v| is_active_vehicle(v.status))
                    .map(|v| ("a vehicle registered", v.registration_date.as_str()))
                    .collect(),
                Findings::NaturalResources(nr) => nr
                    .properties
                    .iter()
                    .map(|p| ("a property acquired", p.acquired_date.as_str()))
                    .collect(),
                Findings::Housing(h) => h
                    .purchases
                    .iter()
                    .map(|p| ("a home purchase contract signed", p.signed_date.as_str()))
                    .collect(),
                _ => Vec::new(),
            };
            for (what, date) in acquired.into_iter().filter(|(_, date)| recent(date)) {
                flags.push(Flag {
                    kind: FlagKind::RecentAcquisition as i32,
                    member_index: idx,
                    departments: vec![d as i32],
                    detail: format!(
                        "{} reports {what} on {date} for member {n}, inside the income window",
                        slug(d)
                    ),
                });
            }
        }
    }
    flags
}

/// Departments other than public security that show a member active after
/// the recorded date of death.
fn activity_after_death(m: &MemberFindings, death: NaiveDate) -> Vec<Department> {
    let death_month = YearMonth::from_date(death);
    let mut out = Vec::new();
    for (d, r) in findings_of(m) {
        let active = match &r.findings {
            Some(Findings::Hrss(h)) => h
                .insurance
                .iter()
                .any(|i| i.state == InsuranceState::Contributing as i32 || i.state == InsuranceState::Receiving as i32),
            Some(Findings::Tax(t)) => t
                .records
                .iter()
                .any(|r| YearMonth::parse(&r.period).is_ok_and(|p| p > death_month) && r.taxable_income_fen > 0),
            Some(Findings::HousingFund(h)) => h
                .accounts
                .iter()
                .any(|a| a.status == FundAccountStatus::Contributing as i32),
            _ => false,
        };
        if active && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests;
