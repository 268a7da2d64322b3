//! The policy's tests: reading, validation errors and evaluation.

use super::words::FLAG_KINDS;
use super::*;
use hedui_proto::v1::{
    BusinessRoleRecord, HousingFindings, MarketSupervisionFindings, Member, NaturalResourcesFindings, PersonResult,
    Property, PublicSecurityFindings, PurchaseContract, Relation, Vehicle,
};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../../../deploy/policies/example.toml");

/// A complete policy with round numbers, so each test can change one line.
const BASE: &str = r#"
version = "test-1"
required_departments = ["public-security", "natural-resources", "housing", "tax", "market-supervision", "housing-fund", "pboc", "hrss"]

[standard]
urban_monthly_fen = 76000
rural_monthly_fen = 58000

[income]
meets_when_equal = true
outcome = "does-not-meet"

[assets]
max_months_of_standard_per_capita = 24
outcome = "does-not-meet"

[vehicles]
exempt_types = ["motorcycle", "tricycle", "agricultural", "disability"]
max_non_exempt = 0
outcome = "does-not-meet"

[real_estate]
max_residential = 1
residential_outcome = "needs-review"
max_commercial = 0
commercial_outcome = "does-not-meet"

[recent_purchase]
months = 12
property_uses = ["residential", "commercial", "industrial"]
outcome = "needs-review"

[business]
roles = ["legal-representative", "senior-manager", "investor", "operator"]
outcome = "does-not-meet"
individual_business_outcome = "needs-review"
max_subscribed_capital_fen = 10000000
subscribed_capital_outcome = "does-not-meet"

[flags]
needs_review = ["identity-mismatch", "identity-not-found", "deceased-member", "departments-disagree", "recent-acquisition"]
"#;

fn policy() -> Policy {
    Policy::from_toml(BASE).expect("the base test policy is valid")
}

/// The base policy with one line replaced.
fn policy_with(from: &str, to: &str) -> Policy {
    assert!(BASE.contains(from), "test edits a line that exists: {from}");
    Policy::from_toml(&BASE.replacen(from, to, 1)).expect("edited policy is valid")
}

fn error_with(from: &str, to: &str) -> PolicyError {
    assert!(BASE.contains(from), "test edits a line that exists: {from}");
    Policy::from_toml(&BASE.replacen(from, to, 1)).expect_err("edited policy is invalid")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn all_ok() -> Vec<SourceResult> {
    department::ALL
        .iter()
        .map(|d| SourceResult {
            department: *d as i32,
            outcome: SourceOutcome::Ok as i32,
            ..Default::default()
        })
        .collect()
}

fn member(name: &str, id: &str, results: Vec<(Department, Findings)>) -> MemberFindings {
    MemberFindings {
        member: Some(Member {
            name: name.to_owned(),
            id_number: id.to_owned(),
            relation: Relation::Applicant as i32,
            lacks_capacity: false,
        }),
        result_departments: results.iter().map(|(d, _)| *d as i32).collect(),
        results: results
            .into_iter()
            .map(|(_, f)| PersonResult {
                id_number: id.to_owned(),
                identity_status: 1,
                findings: Some(f),
            })
            .collect(),
    }
}

fn plain_member() -> MemberFindings {
    member("张三", "522226198001010018", vec![])
}

fn vehicles(list: &[(VehicleType, VehicleStatus)]) -> (Department, Findings) {
    (
        Department::PublicSecurity,
        Findings::PublicSecurity(PublicSecurityFindings {
            life_status: 1,
            vehicles: list
                .iter()
                .map(|(t, s)| Vehicle {
                    plate: "贵D12345".to_owned(),
                    vehicle_type: *t as i32,
                    registration_date: "2015-01-01".to_owned(),
                    status: *s as i32,
                })
                .collect(),
            ..Default::default()
        }),
    )
}

fn role(role: BusinessRole, entity: EntityType, status: EntityStatus) -> (Department, Findings) {
    (
        Department::MarketSupervision,
        Findings::MarketSupervision(MarketSupervisionFindings {
            roles: vec![BusinessRoleRecord {
                entity_name: "德江县某某商贸有限公司".to_owned(),
                uscc: "91522626MA6DLXXXXX".to_owned(),
                entity_type: entity as i32,
                role: role as i32,
                subscribed_capital_fen: 0,
                status: status as i32,
                established_date: "2018-05-01".to_owned(),
            }],
        }),
    )
}

fn contract(signed: &str) -> (Department, Findings) {
    (
        Department::Housing,
        Findings::Housing(HousingFindings {
            purchases: vec![PurchaseContract {
                contract_number: "WQ2025-0001".to_owned(),
                location: "德江县青龙街道".to_owned(),
                floor_area_centi_m2: 9800,
                price_fen: 40_000_000,
                signed_date: signed.to_owned(),
            }],
            ..Default::default()
        }),
    )
}

fn property(use_: PropertyUse, acquired: &str) -> (Department, Findings) {
    (
        Department::NaturalResources,
        Findings::NaturalResources(NaturalResourcesFindings {
            properties: vec![Property {
                certificate_number: "黔(2025)德江县不动产权第0000001号".to_owned(),
                location: "德江县".to_owned(),
                r#use: use_ as i32,
                floor_area_centi_m2: 12000,
                share_percent: 100,
                acquired_date: acquired.to_owned(),
            }],
        }),
    )
}

fn flag(kind: FlagKind, detail: &str) -> Flag {
    Flag {
        kind: kind as i32,
        member_index: Some(0),
        departments: vec![1],
        detail: detail.to_owned(),
    }
}

/// A household that passes every rule of the base policy.
fn clean_summary() -> HouseholdSummary {
    HouseholdSummary {
        member_count: 1,
        window_months: 12,
        monthly_income_per_capita_fen: 30_000,
        financial_assets_per_capita_fen: 100_000,
        residential_properties: 1,
        ..Default::default()
    }
}

struct Case {
    residence: Residence,
    summary: HouseholdSummary,
    members: Vec<MemberFindings>,
    sources: Vec<SourceResult>,
    flags: Vec<Flag>,
    reference_date: NaiveDate,
}

impl Case {
    fn new() -> Self {
        Case {
            residence: Residence::Rural,
            summary: clean_summary(),
            members: vec![plain_member()],
            sources: all_ok(),
            flags: vec![],
            reference_date: date("2026-03-31"),
        }
    }

    fn eval(&self, p: &Policy) -> Evaluation {
        p.evaluate(&PolicyInput {
            residence: self.residence,
            summary: &self.summary,
            members: &self.members,
            sources: &self.sources,
            flags: &self.flags,
            reference_date: self.reference_date,
        })
    }
}

fn reasons_for<'a>(e: &'a Evaluation, rule: &str) -> Vec<&'a Reason> {
    e.reasons.iter().filter(|r| r.rule == rule).collect()
}

/// The single reason of a rule, with its verdict.
fn only(e: &Evaluation, rule: &str) -> (Verdict, String) {
    let rs = reasons_for(e, rule);
    assert_eq!(rs.len(), 1, "exactly one reason for {rule}: {:#?}", e.reasons);
    (Verdict::try_from(rs[0].leads_to).unwrap(), rs[0].detail.clone())
}

// --- The example file and parsing -----------------------------------

#[test]
fn example_policy_parses() {
    let p = Policy::from_toml(EXAMPLE).expect("deploy/policies/example.toml is valid");
    assert_eq!(p.version(), "dejiang-example-2026.1");
    assert_eq!(p.required_departments(), &department::ALL[..]);
    assert!(p.monthly_standard_fen(Residence::Urban) > 0);
    assert!(p.monthly_standard_fen(Residence::Rural) > 0);
    assert!(p.description().contains("example"));
    assert!(p.description_zh().contains("示例"));
}

#[test]
fn description_zh_is_optional_and_must_be_a_string() {
    assert_eq!(policy().description_zh(), "");
    let p = Policy::from_toml(&format!("description_zh = \"示例政策\"\n{BASE}")).unwrap();
    assert_eq!(p.description_zh(), "示例政策");
    let err = Policy::from_toml(&format!("description_zh = 3\n{BASE}")).unwrap_err();
    assert_eq!(err.key(), Some("description_zh"));
}

#[test]
fn base_policy_accessors() {
    let p = policy();
    assert_eq!(p.version(), "test-1");
    assert_eq!(p.description(), "");
    assert_eq!(p.monthly_standard_fen(Residence::Urban), 76_000);
    assert_eq!(p.monthly_standard_fen(Residence::Rural), 58_000);
    assert_eq!(p.monthly_standard_fen(Residence::Unspecified), 58_000);
}

#[test]
fn unknown_top_level_key_is_rejected_and_named() {
    let err = Policy::from_toml(&format!("colour = \"red\"\n{BASE}")).unwrap_err();
    assert_eq!(err.key(), Some("colour"));
    assert!(err.to_string().starts_with("colour: unknown key"), "{err}");
}

#[test]
fn unknown_nested_key_is_rejected_and_named() {
    let err = error_with(
        "meets_when_equal = true",
        "meets_when_equal = true\noutcom = \"needs-review\"",
    );
    assert_eq!(err.key(), Some("income.outcom"));
    assert!(
        err.to_string().contains("expected one of meets_when_equal, outcome"),
        "{err}"
    );
}

#[test]
fn unknown_section_is_rejected() {
    let err = Policy::from_toml(&format!("{BASE}\n[pets]\ndogs = 1\n")).unwrap_err();
    assert_eq!(err.key(), Some("pets"));
}

#[test]
fn bad_outcome_string_is_rejected() {
    let err = error_with(
        "outcome = \"needs-review\"\n\n[business]",
        "outcome = \"maybe\"\n\n[business]",
    );
    assert_eq!(err.key(), Some("recent_purchase.outcome"));
    assert_eq!(
        err.to_string(),
        "recent_purchase.outcome: unknown outcome \"maybe\"; expected \"does-not-meet\" or \"needs-review\""
    );
    // "meets-criteria" is not an outcome: a broken rule must never pass.
    let err = error_with(
        "commercial_outcome = \"does-not-meet\"",
        "commercial_outcome = \"meets-criteria\"",
    );
    assert_eq!(err.key(), Some("real_estate.commercial_outcome"));
}

#[test]
fn invalid_toml_is_rejected() {
    let err = Policy::from_toml("version = \"x\"\n[standard\n").unwrap_err();
    assert!(matches!(err, PolicyError::Syntax(_)), "{err:?}");
    assert!(err.to_string().starts_with("invalid toml: line 2"), "{err}");
    assert!(matches!(
        Policy::from_toml("").unwrap_err(),
        PolicyError::MissingKey { .. }
    ));
}

#[test]
fn unknown_slugs_are_rejected_with_index() {
    let err = error_with(
        "exempt_types = [\"motorcycle\", \"tricycle\", \"agricultural\", \"disability\"]",
        "exempt_types = [\"motorcycle\", \"boat\"]",
    );
    assert_eq!(
        err.to_string().split(';').next().unwrap(),
        "vehicles.exempt_types[1]: unknown vehicle type \"boat\""
    );
    let err = error_with(
        "\"public-security\", \"natural-resources\"",
        "\"public-security\", \"police\"",
    );
    assert_eq!(err.key(), Some("required_departments[1]"));
    assert!(err.to_string().contains("unknown department \"police\""), "{err}");
    let err = error_with("roles = [\"legal-representative\"", "roles = [\"boss\"");
    assert_eq!(err.key(), Some("business.roles[0]"));
    let err = error_with("needs_review = [\"identity-mismatch\"", "needs_review = [\"ghost\"");
    assert_eq!(err.key(), Some("flags.needs_review[0]"));
    let err = error_with("property_uses = [\"residential\"", "property_uses = [\"castle\"");
    assert_eq!(err.key(), Some("recent_purchase.property_uses[0]"));
}

#[test]
fn duplicate_slugs_are_rejected() {
    let err = error_with("\"hrss\"]", "\"hrss\", \"tax\"]");
    assert_eq!(err.key(), Some("required_departments[8]"));
    assert!(err.to_string().contains("duplicate department \"tax\""), "{err}");
}

#[test]
fn empty_required_departments_are_rejected() {
    let err = Policy::from_toml(&BASE.replacen(
            "required_departments = [\"public-security\", \"natural-resources\", \"housing\", \"tax\", \"market-supervision\", \"housing-fund\", \"pboc\", \"hrss\"]",
            "required_departments = []",
            1,
        ))
        .unwrap_err();
    assert_eq!(err.key(), Some("required_departments"));
}

#[test]
fn values_are_validated() {
    let err = error_with("months = 12", "months = 0");
    assert_eq!(
        err.to_string(),
        "recent_purchase.months: must be 1 to 120 months, got 0"
    );
    let err = error_with(
        "max_months_of_standard_per_capita = 24",
        "max_months_of_standard_per_capita = 121",
    );
    assert_eq!(err.key(), Some("assets.max_months_of_standard_per_capita"));
    assert!(Policy::from_toml(&BASE.replacen("months = 12", "months = 120", 1)).is_ok());
    let err = error_with(
        "max_subscribed_capital_fen = 10000000",
        "max_subscribed_capital_fen = -1",
    );
    assert_eq!(
        err.to_string(),
        "business.max_subscribed_capital_fen: must not be negative, got -1 fen"
    );
    let err = error_with("urban_monthly_fen = 76000", "urban_monthly_fen = 0");
    assert_eq!(err.key(), Some("standard.urban_monthly_fen"));
    let err = error_with("max_non_exempt = 0", "max_non_exempt = -2");
    assert_eq!(err.key(), Some("vehicles.max_non_exempt"));
    let err = error_with("version = \"test-1\"", "version = \"test 1\"");
    assert_eq!(err.key(), Some("version"));
}

#[test]
fn implausibly_large_money_is_rejected() {
    let err = error_with(
        "max_subscribed_capital_fen = 10000000",
        "max_subscribed_capital_fen = 1000000000000000000",
    );
    assert_eq!(err.key(), Some("business.max_subscribed_capital_fen"));
    assert!(err.to_string().contains("implausibly large"), "{err}");
}

#[test]
fn wrong_types_and_missing_keys_are_named() {
    let err = error_with("urban_monthly_fen = 76000", "urban_monthly_fen = 760.00");
    assert_eq!(
        err.to_string(),
        "standard.urban_monthly_fen: expected integer, found float"
    );
    let err = error_with("meets_when_equal = true", "meets_when_equal = \"yes\"");
    assert_eq!(err.key(), Some("income.meets_when_equal"));
    let err = error_with("max_residential = 1\n", "");
    assert_eq!(err.to_string(), "real_estate.max_residential: missing key");
    let err = Policy::from_toml("version = \"v\"\nrequired_departments = [\"tax\"]\nstandard = 5\n").unwrap_err();
    assert_eq!(err.to_string(), "standard: expected table, found integer");
    let err = error_with(
        "roles = [\"legal-representative\"",
        "roles = [1, \"legal-representative\"",
    );
    assert_eq!(err.to_string(), "business.roles[0]: expected string, found integer");
}

// --- Sources ---------------------------------------------------------

#[test]
fn all_sources_answering_adds_a_meets_reason() {
    let mut c = Case::new();
    c.sources[3].outcome = SourceOutcome::NoRecord as i32;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::MeetsCriteria);
    let (v, d) = only(&e, "sources.required");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert!(d.contains("tax no-record"), "{d}");
}

#[test]
fn missing_required_source_is_incomplete() {
    let mut c = Case::new();
    c.sources.retain(|s| s.department != Department::Pboc as i32);
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::Incomplete);
    assert_eq!(
        only(&e, "sources.required"),
        (
            Verdict::Incomplete,
            "required source pboc has no recorded outcome".into()
        )
    );
}

#[test]
fn timeout_is_incomplete_and_never_meets() {
    let mut c = Case::new();
    c.sources[6].outcome = SourceOutcome::Timeout as i32;
    c.sources[6].detail = "no answer within 5000 ms".into();
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::Incomplete);
    let (_, d) = only(&e, "sources.required");
    assert_eq!(
        d,
        "required source pboc did not answer: outcome timeout (no answer within 5000 ms)"
    );
    // The other rules are still listed, all passing.
    assert!(
        e.reasons
            .iter()
            .filter(|r| r.rule != "sources.required")
            .all(|r| r.leads_to == Verdict::MeetsCriteria as i32)
    );
}

#[test]
fn incomplete_wins_over_does_not_meet() {
    let mut c = Case::new();
    c.summary.monthly_income_per_capita_fen = 1_000_000;
    c.sources[0].outcome = SourceOutcome::Refused as i32;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::Incomplete);
    assert_eq!(only(&e, "income.per_capita").0, Verdict::DoesNotMeet);
}

#[test]
fn every_failing_outcome_is_incomplete() {
    for o in [
        SourceOutcome::Unspecified,
        SourceOutcome::Timeout,
        SourceOutcome::Unavailable,
        SourceOutcome::Error,
        SourceOutcome::Refused,
    ] {
        let mut c = Case::new();
        c.sources[2].outcome = o as i32;
        assert_eq!(c.eval(&policy()).verdict, Verdict::Incomplete, "{o:?}");
    }
    let mut c = Case::new();
    c.sources[2].outcome = 99;
    assert_eq!(c.eval(&policy()).verdict, Verdict::Incomplete);
}

#[test]
fn a_duplicate_failing_entry_is_incomplete() {
    let mut c = Case::new();
    c.sources.push(SourceResult {
        department: Department::Tax as i32,
        outcome: SourceOutcome::Error as i32,
        ..Default::default()
    });
    assert_eq!(c.eval(&policy()).verdict, Verdict::Incomplete);
}

#[test]
fn unrequired_source_failing_does_not_matter() {
    let p = policy_with("\"pboc\", \"hrss\"]", "\"pboc\"]");
    let mut c = Case::new();
    c.sources[7].outcome = SourceOutcome::Timeout as i32;
    assert_eq!(c.eval(&p).verdict, Verdict::MeetsCriteria);
    c.sources.pop();
    assert_eq!(c.eval(&p).verdict, Verdict::MeetsCriteria);
}

// --- Income ------------------------------------------------------------

#[test]
fn income_below_standard_meets() {
    let e = Case::new().eval(&policy());
    assert_eq!(
        only(&e, "income.per_capita"),
        (
            Verdict::MeetsCriteria,
            "per-capita monthly income 300.00 yuan is below the rural standard of 580.00 yuan".into()
        )
    );
}

#[test]
fn income_exactly_at_standard_meets_when_policy_says_so() {
    let mut c = Case::new();
    c.summary.monthly_income_per_capita_fen = 58_000;
    let (v, d) = only(&c.eval(&policy()), "income.per_capita");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert!(d.contains("is equal to the rural standard of 580.00 yuan"), "{d}");
    let strict = policy_with("meets_when_equal = true", "meets_when_equal = false");
    let e = c.eval(&strict);
    assert_eq!(only(&e, "income.per_capita").0, Verdict::DoesNotMeet);
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
}

#[test]
fn income_one_fen_above_standard_does_not_meet() {
    let mut c = Case::new();
    c.residence = Residence::Urban;
    c.summary.monthly_income_per_capita_fen = 76_001;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
    assert_eq!(
        only(&e, "income.per_capita"),
        (
            Verdict::DoesNotMeet,
            "per-capita monthly income 760.01 yuan is above the urban standard of 760.00 yuan".into()
        )
    );
}

#[test]
fn income_outcome_can_be_review() {
    let p = policy_with(
        "outcome = \"does-not-meet\"\n\n[assets]",
        "outcome = \"needs-review\"\n\n[assets]",
    );
    let mut c = Case::new();
    c.summary.monthly_income_per_capita_fen = 81_250;
    let e = c.eval(&p);
    assert_eq!(e.verdict, Verdict::NeedsReview);
    assert!(only(&e, "income.per_capita").1.contains("812.50 yuan is above"));
}

#[test]
fn unspecified_residence_uses_the_lower_standard_and_needs_review() {
    let mut c = Case::new();
    c.residence = Residence::Unspecified;
    c.summary.monthly_income_per_capita_fen = 60_000;
    let e = c.eval(&policy());
    assert_eq!(only(&e, "residence").0, Verdict::NeedsReview);
    assert_eq!(only(&e, "income.per_capita").0, Verdict::DoesNotMeet);
}

// --- Assets ------------------------------------------------------------

#[test]
fn assets_at_limit_meet_and_one_fen_above_does_not() {
    let mut c = Case::new();
    c.summary.financial_assets_per_capita_fen = 24 * 58_000;
    let (v, d) = only(&c.eval(&policy()), "assets.per_capita");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert_eq!(
        d,
        "financial assets per person 13,920.00 yuan are at most 24 months of the rural standard (13,920.00 yuan)"
    );
    c.summary.financial_assets_per_capita_fen += 1;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
    assert!(only(&e, "assets.per_capita").1.contains("13,920.01 yuan exceed"));
}

#[test]
fn assets_outcome_can_be_review() {
    let p = policy_with(
        "max_months_of_standard_per_capita = 24\noutcome = \"does-not-meet\"",
        "max_months_of_standard_per_capita = 24\noutcome = \"needs-review\"",
    );
    let mut c = Case::new();
    c.summary.financial_assets_per_capita_fen = 24 * 58_000 + 1;
    let e = c.eval(&p);
    assert_eq!(e.verdict, Verdict::NeedsReview);
    assert_eq!(only(&e, "assets.per_capita").0, Verdict::NeedsReview);
}

#[test]
fn assets_use_the_residence_standard() {
    let mut c = Case::new();
    c.residence = Residence::Urban;
    c.summary.financial_assets_per_capita_fen = 24 * 76_000;
    assert_eq!(only(&c.eval(&policy()), "assets.per_capita").0, Verdict::MeetsCriteria);
    c.residence = Residence::Rural;
    assert_eq!(only(&c.eval(&policy()), "assets.per_capita").0, Verdict::DoesNotMeet);
}

// --- Vehicles ------------------------------------------------------------

#[test]
fn motorcycle_is_exempt() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![vehicles(&[(VehicleType::Motorcycle, VehicleStatus::Active)])],
    );
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::MeetsCriteria);
    let (_, d) = only(&e, "vehicles.count");
    assert_eq!(
        d,
        "the household has 0 active non-exempt vehicles; the policy allows at most 0; 1 active vehicle of an exempt type not counted"
    );
}

#[test]
fn car_is_not_exempt() {
    let mut c = Case::new();
    c.members.push(member(
        "李四",
        "522226198202020026",
        vec![vehicles(&[
            (VehicleType::Car, VehicleStatus::Active),
            (VehicleType::Motorcycle, VehicleStatus::Active),
        ])],
    ));
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
    assert_eq!(
            only(&e, "vehicles.count"),
            (Verdict::DoesNotMeet, "the household has 1 active non-exempt vehicle (car 1); the policy allows at most 0; 1 active vehicle of an exempt type not counted".into())
        );
}

#[test]
fn deregistered_vehicle_is_not_counted_but_restricted_is() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![vehicles(&[(VehicleType::Car, VehicleStatus::Deregistered)])],
    );
    assert_eq!(only(&c.eval(&policy()), "vehicles.count").0, Verdict::MeetsCriteria);
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![vehicles(&[(VehicleType::Truck, VehicleStatus::Restricted)])],
    );
    assert_eq!(only(&c.eval(&policy()), "vehicles.count").0, Verdict::DoesNotMeet);
}

#[test]
fn vehicle_limit_and_unknown_type() {
    let p = policy_with("max_non_exempt = 0", "max_non_exempt = 1");
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![vehicles(&[(VehicleType::Car, VehicleStatus::Active)])],
    );
    assert_eq!(only(&c.eval(&p), "vehicles.count").0, Verdict::MeetsCriteria);
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![vehicles(&[
            (VehicleType::Car, VehicleStatus::Active),
            (VehicleType::Unspecified, VehicleStatus::Active),
        ])],
    );
    let (v, d) = only(&c.eval(&p), "vehicles.count");
    assert_eq!(v, Verdict::DoesNotMeet);
    assert!(d.contains("(unspecified 1, car 1)"), "{d}");
}

#[test]
fn vehicle_outcome_can_be_review() {
    let p = policy_with(
        "max_non_exempt = 0\noutcome = \"does-not-meet\"",
        "max_non_exempt = 0\noutcome = \"needs-review\"",
    );
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![vehicles(&[(VehicleType::Car, VehicleStatus::Active)])],
    );
    assert_eq!(c.eval(&p).verdict, Verdict::NeedsReview);
}

// --- Real estate ---------------------------------------------------------

#[test]
fn residential_count() {
    let mut c = Case::new();
    let (v, d) = only(&c.eval(&policy()), "real_estate.residential_count");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert_eq!(
        d,
        "the household holds 1 residential property or homestead; the policy allows at most 1"
    );
    c.summary.residential_properties = 2;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::NeedsReview);
    assert_eq!(only(&e, "real_estate.residential_count").0, Verdict::NeedsReview);
    let p = policy_with(
        "residential_outcome = \"needs-review\"",
        "residential_outcome = \"does-not-meet\"",
    );
    assert_eq!(c.eval(&p).verdict, Verdict::DoesNotMeet);
}

#[test]
fn commercial_property() {
    let mut c = Case::new();
    assert_eq!(
        only(&c.eval(&policy()), "real_estate.commercial").0,
        Verdict::MeetsCriteria
    );
    c.summary.commercial_properties = 1;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
    assert_eq!(
        only(&e, "real_estate.commercial"),
        (
            Verdict::DoesNotMeet,
            "the household holds 1 commercial or industrial property; the policy allows at most 0".into()
        )
    );
    let p = policy_with(
        "commercial_outcome = \"does-not-meet\"",
        "commercial_outcome = \"needs-review\"",
    );
    assert_eq!(c.eval(&p).verdict, Verdict::NeedsReview);
}

// --- Recent purchases ----------------------------------------------------

#[test]
fn recent_contract_needs_review() {
    let mut c = Case::new();
    c.members
        .push(member("李四", "522226198202020026", vec![contract("2025-11-03")]));
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::NeedsReview);
    assert_eq!(
            only(&e, "recent_purchase"),
            (
                Verdict::NeedsReview,
                "member 2 has a commercial-housing purchase contract signed on 2025-11-03, within 12 months before the reference date 2026-03-31 (on or after 2025-03-31)".into()
            )
        );
}

#[test]
fn recent_purchase_boundaries() {
    let mut c = Case::new();
    c.members[0] = member("张三", "522226198001010018", vec![contract("2025-03-31")]);
    assert_eq!(only(&c.eval(&policy()), "recent_purchase").0, Verdict::NeedsReview);
    c.members[0] = member("张三", "522226198001010018", vec![contract("2025-03-30")]);
    let (v, d) = only(&c.eval(&policy()), "recent_purchase");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert!(d.starts_with("no purchase contract"), "{d}");
    // After the reference date is even more recent.
    c.members[0] = member("张三", "522226198001010018", vec![contract("2026-04-02")]);
    assert_eq!(only(&c.eval(&policy()), "recent_purchase").0, Verdict::NeedsReview);
}

#[test]
fn recent_property_acquisition_by_use() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![property(PropertyUse::Homestead, "2026-01-01")],
    );
    assert_eq!(only(&c.eval(&policy()), "recent_purchase").0, Verdict::MeetsCriteria);
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![property(PropertyUse::Residential, "2026-01-01")],
    );
    let (v, d) = only(&c.eval(&policy()), "recent_purchase");
    assert_eq!(v, Verdict::NeedsReview);
    assert!(
        d.starts_with("member 1 has a residential property acquired on 2026-01-01"),
        "{d}"
    );
    let p = policy_with(
        "outcome = \"needs-review\"\n\n[business]",
        "outcome = \"does-not-meet\"\n\n[business]",
    );
    assert_eq!(c.eval(&p).verdict, Verdict::DoesNotMeet);
}

#[test]
fn undated_records_are_reported_not_counted() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![contract(""), property(PropertyUse::Residential, "2026/01/01")],
    );
    let (v, d) = only(&c.eval(&policy()), "recent_purchase");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert!(
        d.ends_with("; 2 records without a readable date could not be placed"),
        "{d}"
    );
}

// --- Business ------------------------------------------------------------

#[test]
fn legal_representative_of_active_company_does_not_meet() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![role(
            BusinessRole::LegalRepresentative,
            EntityType::Company,
            EntityStatus::Active,
        )],
    );
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
    assert_eq!(
        only(&e, "business.role"),
        (
            Verdict::DoesNotMeet,
            "member 1 is legal-representative of an active company".into()
        )
    );
}

#[test]
fn inactive_business_is_not_counted() {
    for status in [
        EntityStatus::Revoked,
        EntityStatus::Deregistered,
        EntityStatus::Unspecified,
    ] {
        let mut c = Case::new();
        c.members[0] = member(
            "张三",
            "522226198001010018",
            vec![role(BusinessRole::LegalRepresentative, EntityType::Company, status)],
        );
        let e = c.eval(&policy());
        assert_eq!(e.verdict, Verdict::MeetsCriteria, "{status:?}");
        assert!(
            only(&e, "business.role")
                .1
                .starts_with("no member holds a counted role")
        );
    }
}

#[test]
fn uncounted_role_is_not_counted() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![role(
            BusinessRole::Supervisor,
            EntityType::Company,
            EntityStatus::Active,
        )],
    );
    assert_eq!(c.eval(&policy()).verdict, Verdict::MeetsCriteria);
}

#[test]
fn individual_business_has_its_own_outcome() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![role(
            BusinessRole::Operator,
            EntityType::IndividualBusiness,
            EntityStatus::Active,
        )],
    );
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::NeedsReview);
    assert_eq!(
        only(&e, "business.role"),
        (
            Verdict::NeedsReview,
            "member 1 is operator of an active individual business".into()
        )
    );
    let p = policy_with(
        "individual_business_outcome = \"needs-review\"",
        "individual_business_outcome = \"does-not-meet\"",
    );
    assert_eq!(c.eval(&p).verdict, Verdict::DoesNotMeet);
}

#[test]
fn subscribed_capital_limit() {
    let mut c = Case::new();
    c.summary.subscribed_capital_fen = 10_000_000;
    let (v, d) = only(&c.eval(&policy()), "business.subscribed_capital");
    assert_eq!(v, Verdict::MeetsCriteria);
    assert_eq!(
        d,
        "subscribed capital in active entities 100,000.00 yuan is at most the limit of 100,000.00 yuan"
    );
    c.summary.subscribed_capital_fen += 1;
    let e = c.eval(&policy());
    assert_eq!(e.verdict, Verdict::DoesNotMeet);
    assert_eq!(only(&e, "business.subscribed_capital").0, Verdict::DoesNotMeet);
    let p = policy_with(
        "subscribed_capital_outcome = \"does-not-meet\"",
        "subscribed_capital_outcome = \"needs-review\"",
    );
    assert_eq!(c.eval(&p).verdict, Verdict::NeedsReview);
}

// --- Flags -----------------------------------------------------------------

#[test]
fn each_listed_flag_needs_review_with_its_detail() {
    for kind in FLAG_KINDS {
        let mut c = Case::new();
        c.flags.push(flag(*kind, "something the merge found"));
        let e = c.eval(&policy());
        assert_eq!(e.verdict, Verdict::NeedsReview, "{kind:?}");
        let rule = format!("flags.{}", flag_kind_slug(*kind));
        assert_eq!(
            only(&e, &rule),
            (Verdict::NeedsReview, "something the merge found".into())
        );
        assert!(reasons_for(&e, "flags").is_empty());
    }
}

#[test]
fn unlisted_flag_is_ignored_and_unknown_flag_is_reviewed() {
    let p = policy_with("needs_review = [\"identity-mismatch\", ", "needs_review = [");
    let mut c = Case::new();
    c.flags.push(flag(FlagKind::IdentityMismatch, "x"));
    let e = c.eval(&p);
    assert_eq!(e.verdict, Verdict::MeetsCriteria);
    assert_eq!(only(&e, "flags").0, Verdict::MeetsCriteria);
    c.flags.push(Flag {
        kind: 42,
        detail: "from a newer merge".into(),
        ..Default::default()
    });
    let e = c.eval(&p);
    assert_eq!(e.verdict, Verdict::NeedsReview);
    assert_eq!(only(&e, "flags.unspecified").1, "from a newer merge");
}

// --- Verdict, order and wording ------------------------------------------

#[test]
fn clean_household_meets_and_explains_every_rule() {
    let e = Case::new().eval(&policy());
    assert_eq!(e.verdict, Verdict::MeetsCriteria);
    let rules: Vec<&str> = e.reasons.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "sources.required",
            "income.per_capita",
            "assets.per_capita",
            "vehicles.count",
            "real_estate.residential_count",
            "real_estate.commercial",
            "recent_purchase",
            "business.role",
            "business.subscribed_capital",
            "flags"
        ]
    );
    assert!(e.reasons.iter().all(|r| r.leads_to == Verdict::MeetsCriteria as i32));
}

#[test]
fn does_not_meet_wins_over_needs_review() {
    let mut c = Case::new();
    c.flags
        .push(flag(FlagKind::DeceasedMember, "member 1 is recorded as deceased"));
    c.summary.commercial_properties = 3;
    assert_eq!(c.eval(&policy()).verdict, Verdict::DoesNotMeet);
}

#[test]
fn details_never_carry_names_or_id_numbers() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![
            vehicles(&[(VehicleType::Car, VehicleStatus::Active)]),
            contract("2026-01-01"),
            property(PropertyUse::Commercial, "2026-02-01"),
            role(BusinessRole::Investor, EntityType::Company, EntityStatus::Active),
        ],
    );
    let e = c.eval(&policy());
    for r in &e.reasons {
        for secret in ["张三", "522226198001010018", "贵D12345", "WQ2025", "德江县", "91522626"] {
            assert!(!r.detail.contains(secret), "{} leaks {secret}: {}", r.rule, r.detail);
        }
    }
}

#[test]
fn evaluation_is_deterministic() {
    let mut c = Case::new();
    c.members[0] = member(
        "张三",
        "522226198001010018",
        vec![
            contract("2026-01-01"),
            role(BusinessRole::Investor, EntityType::Company, EntityStatus::Active),
        ],
    );
    c.flags.push(flag(FlagKind::DepartmentsDisagree, "a"));
    c.sources[1].outcome = SourceOutcome::Timeout as i32;
    let p = policy();
    assert_eq!(c.eval(&p), c.eval(&p));
}

fn outcome_strategy() -> impl Strategy<Value = Option<SourceOutcome>> {
    prop_oneof![
        Just(None),
        Just(Some(SourceOutcome::Unspecified)),
        Just(Some(SourceOutcome::Ok)),
        Just(Some(SourceOutcome::NoRecord)),
        Just(Some(SourceOutcome::Timeout)),
        Just(Some(SourceOutcome::Unavailable)),
        Just(Some(SourceOutcome::Error)),
        Just(Some(SourceOutcome::Refused)),
    ]
}

proptest! {
    /// Fail closed: whatever the other figures say, a required source that
    /// is missing or did not answer gives INCOMPLETE, and a record where
    /// every required source answered is never INCOMPLETE.
    #[test]
    fn any_unanswered_required_source_is_incomplete(
        outcomes in proptest::collection::vec(outcome_strategy(), 8),
        required_mask in 1u8..=255,
        income in 0i64..200_000,
        assets in 0i64..3_000_000,
        commercial in 0u32..2,
    ) {
        let required: Vec<&str> = department::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| required_mask & (1 << i) != 0)
            .map(|(_, d)| department::slug(*d))
            .collect();
        let list = required.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let text = BASE.replacen(
            "required_departments = [\"public-security\", \"natural-resources\", \"housing\", \"tax\", \"market-supervision\", \"housing-fund\", \"pboc\", \"hrss\"]",
            &format!("required_departments = [{list}]"),
            1,
        );
        let p = Policy::from_toml(&text).unwrap();
        let mut c = Case::new();
        c.summary.monthly_income_per_capita_fen = income;
        c.summary.financial_assets_per_capita_fen = assets;
        c.summary.commercial_properties = commercial;
        c.sources = department::ALL
            .iter()
            .zip(&outcomes)
            .filter_map(|(d, o)| o.map(|o| SourceResult { department: *d as i32, outcome: o as i32, ..Default::default() }))
            .collect();
        let unanswered = department::ALL.iter().zip(&outcomes).any(|(d, o)| {
            p.required_departments().contains(d) && !matches!(o, Some(SourceOutcome::Ok | SourceOutcome::NoRecord))
        });
        let e = c.eval(&p);
        if unanswered {
            prop_assert_eq!(e.verdict, Verdict::Incomplete);
        } else {
            prop_assert_ne!(e.verdict, Verdict::Incomplete);
        }
        prop_assert!(!(unanswered && e.verdict == Verdict::MeetsCriteria));
    }
}
