use super::*;
use hedui_proto::v1::{
    BankAccount, Household, HrssFindings, IdentityStatus, IncomeCategory, InsuranceRecord, InsuranceType, Member,
    NaturalResourcesFindings, PbocFindings, Property, PublicSecurityFindings, Purpose, Relation, Residence,
    SubmitVerificationRequest, TaxFindings, TaxRecord, Vehicle, VehicleType, Verdict,
};

const POLICY: &str = include_str!("../../../../deploy/policies/example.toml");
const A: &str = "520626194701205831";
const B: &str = "520626195711191204";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn submission() -> ValidatedSubmission {
    let req = SubmitVerificationRequest {
        idempotency_key: "k".into(),
        household: Some(Household {
            household_ref: "H1".into(),
            residence: Residence::Rural as i32,
            members: vec![
                Member {
                    name: "杨光明".into(),
                    id_number: A.into(),
                    relation: Relation::Applicant as i32,
                    lacks_capacity: false,
                },
                Member {
                    name: "田秀英".into(),
                    id_number: B.into(),
                    relation: Relation::Spouse as i32,
                    lacks_capacity: false,
                },
            ],
        }),
        purpose: Purpose::MinimumLiving as i32,
        income_window: Some(hedui_proto::v1::IncomeWindow {
            from_month: "2025-11".into(),
            to_month: "2026-10".into(),
        }),
        asset_reference_date: "2026-11-26".into(),
        authorization_ref: "SQ-1".into(),
        authorization: None,
    };
    ValidatedSubmission::parse(&req, today()).unwrap()
}

fn header() -> RecordHeader {
    RecordHeader {
        record_id: "r".into(),
        request_id: "q".into(),
        created_at: "2026-11-26T00:00:00.000Z".into(),
    }
}

fn found(id: &str, f: Findings) -> PersonResult {
    PersonResult {
        id_number: id.into(),
        identity_status: IdentityStatus::Found as i32,
        findings: Some(f),
    }
}

fn status(id: &str, s: IdentityStatus) -> PersonResult {
    PersonResult {
        id_number: id.into(),
        identity_status: s as i32,
        findings: None,
    }
}

fn alive() -> Findings {
    Findings::PublicSecurity(PublicSecurityFindings {
        life_status: LifeStatus::Alive as i32,
        ..Default::default()
    })
}

fn reply(results: Vec<PersonResult>) -> ValidatedReply {
    ValidatedReply {
        data_as_of: today(),
        results,
    }
}

/// Every department answers "known, nothing found", except those overridden.
fn answers(overrides: Vec<(Department, Vec<PersonResult>)>) -> Vec<SourceAnswer> {
    ALL.iter()
        .map(|d| {
            let results = overrides
                .iter()
                .find(|(od, _)| od == d)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| {
                    if *d == Department::PublicSecurity {
                        vec![found(A, alive()), found(B, alive())]
                    } else {
                        vec![status(A, IdentityStatus::NotFound), status(B, IdentityStatus::NotFound)]
                    }
                });
            SourceAnswer::answered(*d, 5, reply(results))
        })
        .collect()
}

fn build(answers: Vec<SourceAnswer>) -> VerificationRecord {
    build_record(
        header(),
        &submission(),
        None,
        answers,
        &Policy::from_toml(POLICY).unwrap(),
    )
}

fn has_flag(r: &VerificationRecord, k: FlagKind) -> bool {
    r.flags.iter().any(|f| f.kind == k as i32)
}

#[test]
fn a_quiet_household_meets_the_criteria_and_is_sealed() {
    let r = build(answers(vec![]));
    assert_eq!(r.verdict, Verdict::MeetsCriteria as i32, "{:#?}", r.reasons);
    assert_eq!(r.sources.len(), 8);
    assert_eq!(r.sources[0].outcome, SourceOutcome::Ok as i32);
    assert_eq!(r.sources[3].outcome, SourceOutcome::NoRecord as i32);
    assert!(r.flags.is_empty());
    assert!(crate::digest::verify(&r));
    assert_eq!(r.members.len(), 2);
    assert_eq!(r.members[0].results.len(), 8);
}

#[test]
fn a_missing_department_is_unavailable_and_the_verdict_incomplete() {
    let mut a = answers(vec![]);
    a.retain(|x| x.department != Department::Pboc);
    let r = build(a);
    assert_eq!(r.sources[6].outcome, SourceOutcome::Unavailable as i32);
    assert_eq!(r.verdict, Verdict::Incomplete as i32);
}

#[test]
fn income_is_summed_over_members_and_scaled_per_capita() {
    let tax = |fen| {
        Findings::Tax(TaxFindings {
            records: vec![TaxRecord {
                period: "2026-01".into(),
                category: IncomeCategory::Wages as i32,
                taxable_income_fen: fen,
                tax_paid_fen: 0,
            }],
        })
    };
    let pension = Findings::Hrss(HrssFindings {
        insurance: vec![InsuranceRecord {
            insurance_type: InsuranceType::Pension as i32,
            state: InsuranceState::Receiving as i32,
            monthly_base_fen: 0,
            monthly_benefit_fen: 10_000,
            employer: String::new(),
        }],
    });
    let r = build(answers(vec![
        (
            Department::Tax,
            vec![found(A, tax(1_200_000)), found(B, tax(1_200_000))],
        ),
        (
            Department::Hrss,
            vec![found(A, pension), status(B, IdentityStatus::NotFound)],
        ),
    ]));
    let s = r.summary.unwrap();
    // 24,000 yuan of wages plus 12 × 100 yuan of pension over 12 months.
    assert_eq!(s.window_income_fen, 2_400_000 + 120_000);
    assert_eq!(s.monthly_income_per_capita_fen, 2_520_000 / 12 / 2);
    assert_eq!(s.yearly_income_per_capita_fen, 2_520_000 / 2);
    assert_eq!(s.insured_receiving, 1);
    assert_eq!(s.monthly_benefits_fen, 10_000);
}

#[test]
fn co_owned_property_counts_once_and_only_active_vehicles_count() {
    let home = || Property {
        certificate_number: "黔(2020)德江县不动产权第0001号".into(),
        location: "德江县青龙街道".into(),
        r#use: PropertyUse::Residential as i32,
        floor_area_centi_m2: 9_000,
        share_percent: 50,
        acquired_date: "2015-03-01".into(),
    };
    let nr = |p: Property| Findings::NaturalResources(NaturalResourcesFindings { properties: vec![p] });
    let ps = Findings::PublicSecurity(PublicSecurityFindings {
        life_status: LifeStatus::Alive as i32,
        vehicles: vec![
            Vehicle {
                plate: "贵D1".into(),
                vehicle_type: VehicleType::Car as i32,
                registration_date: "2010-01-01".into(),
                status: VehicleStatus::Deregistered as i32,
            },
            Vehicle {
                plate: "贵D2".into(),
                vehicle_type: VehicleType::Motorcycle as i32,
                registration_date: "2012-01-01".into(),
                status: VehicleStatus::Active as i32,
            },
        ],
        ..Default::default()
    });
    let r = build(answers(vec![
        (
            Department::NaturalResources,
            vec![found(A, nr(home())), found(B, nr(home()))],
        ),
        (Department::PublicSecurity, vec![found(A, ps), found(B, alive())]),
    ]));
    let s = r.summary.unwrap();
    assert_eq!(s.residential_properties, 1);
    assert_eq!(
        s.vehicles,
        vec![VehicleCount {
            vehicle_type: VehicleType::Motorcycle as i32,
            count: 1
        }]
    );
}

#[test]
fn financial_assets_add_accounts_and_products() {
    let pboc = Findings::Pboc(PbocFindings {
        accounts: vec![BankAccount {
            bank: "农商行".into(),
            account_type: 1,
            balance_fen: 300_000,
            masked_account_number: "****1".into(),
        }],
        products: vec![hedui_proto::v1::FinancialProduct {
            issuer: "x".into(),
            kind: "理财".into(),
            value_fen: 100_000,
        }],
    });
    let r = build(answers(vec![(
        Department::Pboc,
        vec![found(A, pboc), status(B, IdentityStatus::NotFound)],
    )]));
    let s = r.summary.unwrap();
    assert_eq!(s.financial_assets_fen, 400_000);
    assert_eq!(s.financial_assets_per_capita_fen, 200_000);
}

#[test]
fn a_name_mismatch_is_flagged_and_disagreement_when_another_department_matches() {
    let r = build(answers(vec![
        (
            Department::PublicSecurity,
            vec![status(A, IdentityStatus::NameMismatch), found(B, alive())],
        ),
        (
            Department::HousingFund,
            vec![
                found(A, Findings::HousingFund(Default::default())),
                status(B, IdentityStatus::NotFound),
            ],
        ),
    ]));
    assert!(has_flag(&r, FlagKind::IdentityMismatch));
    assert!(has_flag(&r, FlagKind::DepartmentsDisagree));
    assert_ne!(r.verdict, Verdict::MeetsCriteria as i32);
    // Flags name members by position, never by name or number.
    for f in &r.flags {
        assert!(!f.detail.contains(A) && !f.detail.contains("杨光明"), "{}", f.detail);
    }
}

#[test]
fn an_unknown_id_at_public_security_is_flagged() {
    let r = build(answers(vec![(
        Department::PublicSecurity,
        vec![found(A, alive()), status(B, IdentityStatus::NotFound)],
    )]));
    assert!(has_flag(&r, FlagKind::IdentityNotFound));
}

#[test]
fn a_deceased_member_drawing_a_pension_is_two_flags() {
    let dead = Findings::PublicSecurity(PublicSecurityFindings {
        life_status: LifeStatus::Deceased as i32,
        death_date: "2026-03-02".into(),
        ..Default::default()
    });
    let pension = Findings::Hrss(HrssFindings {
        insurance: vec![InsuranceRecord {
            insurance_type: InsuranceType::Pension as i32,
            state: InsuranceState::Receiving as i32,
            monthly_benefit_fen: 15_000,
            ..Default::default()
        }],
    });
    let r = build(answers(vec![
        (Department::PublicSecurity, vec![found(A, alive()), found(B, dead)]),
        (
            Department::Hrss,
            vec![status(A, IdentityStatus::NotFound), found(B, pension)],
        ),
    ]));
    assert!(has_flag(&r, FlagKind::DeceasedMember));
    let disagree = r
        .flags
        .iter()
        .find(|f| f.kind == FlagKind::DepartmentsDisagree as i32)
        .unwrap();
    assert_eq!(disagree.member_index, Some(1));
    assert!(disagree.detail.contains("hrss"));
}

#[test]
fn an_asset_acquired_inside_the_window_is_flagged_but_an_old_one_is_not() {
    let car = |date: &str| {
        Findings::PublicSecurity(PublicSecurityFindings {
            life_status: LifeStatus::Alive as i32,
            vehicles: vec![Vehicle {
                plate: "贵D3".into(),
                vehicle_type: VehicleType::Car as i32,
                registration_date: date.into(),
                status: VehicleStatus::Active as i32,
            }],
            ..Default::default()
        })
    };
    let r = build(answers(vec![(
        Department::PublicSecurity,
        vec![found(A, car("2026-05-01")), found(B, alive())],
    )]));
    assert!(has_flag(&r, FlagKind::RecentAcquisition));
    let r = build(answers(vec![(
        Department::PublicSecurity,
        vec![found(A, car("2019-05-01")), found(B, alive())],
    )]));
    assert!(!has_flag(&r, FlagKind::RecentAcquisition));
    assert_eq!(
        r.verdict,
        Verdict::DoesNotMeet as i32,
        "a car is still a car: {:#?}",
        r.reasons
    );
}

#[test]
fn the_same_input_gives_the_same_record() {
    assert_eq!(build(answers(vec![])), build(answers(vec![])));
}
