//! A rich, fictional record for the tests and the `sample` example: a rural
//! Dejiang household of five built through `hedui_domain::merge::build_record`
//! with the example policy, with findings from all eight departments and
//! every kind of flag. Every name, number and place is made up.
//!
//! Included by `src/lib.rs` under `cfg(test)` and by `examples/sample.rs`
//! with `#[path]`, so it only uses the public APIs of its dependencies.
#![allow(dead_code)]

use chrono::NaiveDate;
use hedui_domain::department::ALL;
use hedui_domain::ids::{resident_check_char, uscc_check_char};
use hedui_domain::merge::{RecordHeader, SourceAnswer, build_record};
use hedui_domain::policy::Policy;
use hedui_domain::reply::ValidatedReply;
use hedui_domain::request::ValidatedSubmission;
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    AccountType, Authorization, BankAccount, BusinessRole, BusinessRoleRecord, Department, EntityStatus, EntityType,
    FinancialProduct, FundAccount, FundAccountStatus, HousingFindings, HousingFundFindings, HrssFindings, Hukou,
    HukouType, IdentityStatus, IncomeCategory, IncomeWindow, InsuranceRecord, InsuranceState, InsuranceType, Lease,
    LifeStatus, MarketSupervisionFindings, Member, NaturalResourcesFindings, PbocFindings, PersonResult, Property,
    PropertyUse, PublicRental, PublicSecurityFindings, PurchaseContract, Purpose, Relation, Residence, SelfBuilt,
    Signer, SourceOutcome, SubmitVerificationRequest, TaxFindings, TaxRecord, Vehicle, VehicleStatus, VehicleType,
    VerificationRecord,
};

pub const POLICY: &str = include_str!("../../../deploy/policies/example.toml");

pub const RECORD_ID: &str = "0193f4a2-7c1e-7b3d-9a52-6e0f1c2d3b4a";

/// A valid 18-character ID number from its first 17 digits.
pub fn id(first17: &str) -> String {
    let check = resident_check_char(first17).expect("17 digits");
    format!("{first17}{check}")
}

/// A valid unified social credit code from its first 17 characters.
fn uscc(first17: &str) -> String {
    let check = uscc_check_char(first17).expect("17 characters");
    format!("{first17}{check}")
}

pub fn applicant() -> String {
    id("52062619470120583")
}
pub fn spouse() -> String {
    id("52062619571119120")
}
pub fn son() -> String {
    id("52222619850312401")
}
pub fn granddaughter() -> String {
    id("52062620150608002")
}
pub fn brother() -> String {
    id("52222619520914301")
}

pub fn policy() -> Policy {
    Policy::from_toml(POLICY).expect("the example policy is valid")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date")
}

fn member(name: &str, id_number: String, relation: Relation, lacks_capacity: bool) -> Member {
    Member {
        name: name.into(),
        id_number,
        relation: relation as i32,
        lacks_capacity,
    }
}

pub fn members() -> Vec<Member> {
    vec![
        member("杨光明", applicant(), Relation::Applicant, false),
        member("田秀英", spouse(), Relation::Spouse, false),
        member("杨小军", son(), Relation::Child, false),
        member("杨丽", granddaughter(), Relation::Grandchild, false),
        member("杨光华", brother(), Relation::Sibling, true),
    ]
}

fn submission() -> ValidatedSubmission {
    let req = SubmitVerificationRequest {
        idempotency_key: "sample-1".into(),
        household: Some(hedui_proto::v1::Household {
            household_ref: "DJ-QL-2026-0042".into(),
            residence: Residence::Rural as i32,
            members: members(),
        }),
        purpose: Purpose::MinimumLiving as i32,
        income_window: Some(IncomeWindow {
            from_month: "2025-11".into(),
            to_month: "2026-10".into(),
        }),
        asset_reference_date: "2026-11-25".into(),
        authorization_ref: "DJ-SQ-2026-000187".into(),
        authorization: None,
    };
    ValidatedSubmission::parse(&req, today()).expect("the sample submission is valid")
}

pub fn authorization() -> Authorization {
    let signer = |name: &str, id_number: String, on_behalf_of: Vec<String>| Signer {
        name: name.into(),
        id_number,
        as_guardian: !on_behalf_of.is_empty(),
        on_behalf_of,
    };
    Authorization {
        form_number: "DJ-SQ-2026-000187".into(),
        signers: vec![
            signer("杨光明", applicant(), vec![]),
            signer("杨光明", applicant(), vec![brother()]),
            signer("田秀英", spouse(), vec![]),
            signer("杨小军", son(), vec![]),
            signer("杨小军", son(), vec![granddaughter()]),
        ],
        signed_date: "2026-11-20".into(),
        scan_sha256: "9f2b6c0e4d8a1f37b5c2e9d04a6f8b1c3e5d7a9b0c2e4f6a8b1d3c5e7f9a0b2c".into(),
        purpose: Purpose::MinimumLiving as i32,
        valid_until: "2027-11-19".into(),
    }
}

fn found(id_number: String, f: Findings) -> PersonResult {
    PersonResult {
        id_number,
        identity_status: IdentityStatus::Found as i32,
        findings: Some(f),
    }
}

fn status(id_number: String, s: IdentityStatus) -> PersonResult {
    PersonResult {
        id_number,
        identity_status: s as i32,
        findings: None,
    }
}

fn hukou(relation: &str) -> Option<Hukou> {
    Some(Hukou {
        address: "贵州省铜仁市德江县青龙街道龙溪村三组28号".into(),
        hukou_type: HukouType::Rural as i32,
        relation_to_head: relation.into(),
    })
}

fn public_security() -> Vec<PersonResult> {
    vec![
        found(
            applicant(),
            Findings::PublicSecurity(PublicSecurityFindings {
                life_status: LifeStatus::Alive as i32,
                death_date: String::new(),
                hukou: hukou("户主"),
                vehicles: vec![],
            }),
        ),
        found(
            spouse(),
            Findings::PublicSecurity(PublicSecurityFindings {
                life_status: LifeStatus::Deceased as i32,
                death_date: "2026-03-02".into(),
                hukou: hukou("配偶"),
                vehicles: vec![],
            }),
        ),
        found(
            son(),
            Findings::PublicSecurity(PublicSecurityFindings {
                life_status: LifeStatus::Alive as i32,
                death_date: String::new(),
                hukou: hukou("子"),
                vehicles: vec![
                    Vehicle {
                        plate: "贵DA5821".into(),
                        vehicle_type: VehicleType::Car as i32,
                        registration_date: "2026-05-01".into(),
                        status: VehicleStatus::Active as i32,
                    },
                    Vehicle {
                        plate: "贵D3K217".into(),
                        vehicle_type: VehicleType::Motorcycle as i32,
                        registration_date: "2014-07-19".into(),
                        status: VehicleStatus::Active as i32,
                    },
                    Vehicle {
                        plate: "贵D06633".into(),
                        vehicle_type: VehicleType::Truck as i32,
                        registration_date: "2009-03-03".into(),
                        status: VehicleStatus::Deregistered as i32,
                    },
                ],
            }),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        found(
            brother(),
            Findings::PublicSecurity(PublicSecurityFindings {
                life_status: LifeStatus::Alive as i32,
                death_date: String::new(),
                hukou: hukou("兄弟"),
                vehicles: vec![],
            }),
        ),
    ]
}

fn natural_resources() -> Vec<PersonResult> {
    let nr = |properties| Findings::NaturalResources(NaturalResourcesFindings { properties });
    vec![
        found(
            applicant(),
            nr(vec![Property {
                certificate_number: "黔(2016)德江县不动产权第0001234号".into(),
                location: "德江县青龙街道龙溪村三组28号".into(),
                r#use: PropertyUse::Homestead as i32,
                floor_area_centi_m2: 12_050,
                share_percent: 100,
                acquired_date: "2016-04-12".into(),
            }]),
        ),
        status(spouse(), IdentityStatus::NotFound),
        found(
            son(),
            nr(vec![Property {
                certificate_number: "黔(2026)德江县不动产权第0004567号".into(),
                location: "德江县玉水街道滨江大道188号德江水岸花园3栋2单元1502室".into(),
                r#use: PropertyUse::Residential as i32,
                floor_area_centi_m2: 8_937,
                share_percent: 50,
                acquired_date: "2026-03-20".into(),
            }]),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        status(brother(), IdentityStatus::NotFound),
    ]
}

fn housing() -> Vec<PersonResult> {
    vec![
        found(
            applicant(),
            Findings::Housing(HousingFindings {
                self_built: vec![SelfBuilt {
                    location: "德江县青龙街道龙溪村三组28号".into(),
                    danger_house_renovation: true,
                    record_date: "2019-08-01".into(),
                }],
                ..Default::default()
            }),
        ),
        status(spouse(), IdentityStatus::NotFound),
        found(
            son(),
            Findings::Housing(HousingFindings {
                purchases: vec![PurchaseContract {
                    contract_number: "WQ-520626-2026-000318-DJSAHY".into(),
                    location: "德江县玉水街道滨江大道188号德江水岸花园3栋2单元1502室".into(),
                    floor_area_centi_m2: 8_937,
                    price_fen: 32_800_000,
                    signed_date: "2026-02-15".into(),
                }],
                leases: vec![Lease {
                    location: "铜仁市碧江区川硐街道金滩社区12栋301室".into(),
                    monthly_rent_fen: 80_000,
                    start_date: "2024-09-01".into(),
                    end_date: String::new(),
                }],
                ..Default::default()
            }),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        found(
            brother(),
            Findings::Housing(HousingFindings {
                public_rentals: vec![PublicRental {
                    location: "德江县青龙街道公租房小区5栋102室".into(),
                    allocated_date: "2020-06-30".into(),
                }],
                ..Default::default()
            }),
        ),
    ]
}

fn tax() -> Vec<PersonResult> {
    let mut records: Vec<TaxRecord> = [
        "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
        "2026-09", "2026-10",
    ]
    .iter()
    .map(|m| TaxRecord {
        period: (*m).into(),
        category: IncomeCategory::Wages as i32,
        taxable_income_fen: 350_000,
        tax_paid_fen: 0,
    })
    .collect();
    for m in ["2026-03", "2026-04", "2026-07"] {
        records.push(TaxRecord {
            period: m.into(),
            category: IncomeCategory::Business as i32,
            taxable_income_fen: 120_000,
            tax_paid_fen: 1_200,
        });
    }
    vec![
        status(applicant(), IdentityStatus::NotFound),
        status(spouse(), IdentityStatus::NotFound),
        found(son(), Findings::Tax(TaxFindings { records })),
        status(granddaughter(), IdentityStatus::NotFound),
        status(brother(), IdentityStatus::NameMismatch),
    ]
}

fn market_supervision() -> Vec<PersonResult> {
    vec![
        status(applicant(), IdentityStatus::NotFound),
        status(spouse(), IdentityStatus::NotFound),
        found(
            son(),
            Findings::MarketSupervision(MarketSupervisionFindings {
                roles: vec![
                    BusinessRoleRecord {
                        entity_name: "德江县青龙街道杨记小吃店".into(),
                        uscc: uscc("92520626MA6EXL0Q2"),
                        entity_type: EntityType::IndividualBusiness as i32,
                        role: BusinessRole::Operator as i32,
                        subscribed_capital_fen: 5_000_000,
                        status: EntityStatus::Active as i32,
                        established_date: "2021-05-10".into(),
                    },
                    BusinessRoleRecord {
                        entity_name: "贵州德江龙溪商贸有限公司".into(),
                        uscc: uscc("91520626MA6DT7UK4"),
                        entity_type: EntityType::Company as i32,
                        role: BusinessRole::Investor as i32,
                        subscribed_capital_fen: 20_000_000,
                        status: EntityStatus::Deregistered as i32,
                        established_date: "2017-09-01".into(),
                    },
                ],
            }),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        status(brother(), IdentityStatus::NotFound),
    ]
}

fn housing_fund() -> Vec<PersonResult> {
    vec![
        status(applicant(), IdentityStatus::NotFound),
        status(spouse(), IdentityStatus::NotFound),
        found(
            son(),
            Findings::HousingFund(HousingFundFindings {
                accounts: vec![FundAccount {
                    status: FundAccountStatus::Contributing as i32,
                    balance_fen: 1_865_000,
                    monthly_contribution_fen: 48_000,
                    employer: "德江县龙溪建筑工程有限公司".into(),
                    withdrawals_in_window_fen: 0,
                }],
            }),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        status(brother(), IdentityStatus::NotFound),
    ]
}

fn pboc() -> Vec<PersonResult> {
    vec![
        found(
            applicant(),
            Findings::Pboc(PbocFindings {
                accounts: vec![BankAccount {
                    bank: "德江县农村商业银行".into(),
                    account_type: AccountType::Demand as i32,
                    balance_fen: 1_256_034,
                    masked_account_number: "6228************1234".into(),
                }],
                products: vec![],
            }),
        ),
        found(
            spouse(),
            Findings::Pboc(PbocFindings {
                accounts: vec![BankAccount {
                    bank: "中国邮政储蓄银行".into(),
                    account_type: AccountType::Demand as i32,
                    balance_fen: 35_000,
                    masked_account_number: "6210************0871".into(),
                }],
                products: vec![],
            }),
        ),
        found(
            son(),
            Findings::Pboc(PbocFindings {
                accounts: vec![BankAccount {
                    bank: "中国农业银行".into(),
                    account_type: AccountType::Time as i32,
                    balance_fen: 6_000_000,
                    masked_account_number: "6228************5678".into(),
                }],
                products: vec![FinancialProduct {
                    issuer: "中国银行".into(),
                    kind: "理财".into(),
                    value_fen: 2_000_000,
                }],
            }),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        status(brother(), IdentityStatus::NotFound),
    ]
}

fn hrss() -> Vec<PersonResult> {
    let pension = |benefit| InsuranceRecord {
        insurance_type: InsuranceType::Pension as i32,
        state: InsuranceState::Receiving as i32,
        monthly_base_fen: 0,
        monthly_benefit_fen: benefit,
        employer: String::new(),
    };
    vec![
        found(
            applicant(),
            Findings::Hrss(HrssFindings {
                insurance: vec![pension(16_000)],
            }),
        ),
        found(
            spouse(),
            Findings::Hrss(HrssFindings {
                insurance: vec![pension(15_000)],
            }),
        ),
        found(
            son(),
            Findings::Hrss(HrssFindings {
                insurance: vec![
                    InsuranceRecord {
                        insurance_type: InsuranceType::Pension as i32,
                        state: InsuranceState::Contributing as i32,
                        monthly_base_fen: 350_000,
                        monthly_benefit_fen: 0,
                        employer: "德江县龙溪建筑工程有限公司".into(),
                    },
                    InsuranceRecord {
                        insurance_type: InsuranceType::Medical as i32,
                        state: InsuranceState::Contributing as i32,
                        monthly_base_fen: 350_000,
                        monthly_benefit_fen: 0,
                        employer: "德江县龙溪建筑工程有限公司".into(),
                    },
                ],
            }),
        ),
        status(granddaughter(), IdentityStatus::NotFound),
        status(brother(), IdentityStatus::NotFound),
    ]
}

fn results_of(d: Department) -> Vec<PersonResult> {
    match d {
        Department::PublicSecurity => public_security(),
        Department::NaturalResources => natural_resources(),
        Department::Housing => housing(),
        Department::Tax => tax(),
        Department::MarketSupervision => market_supervision(),
        Department::HousingFund => housing_fund(),
        Department::Pboc => pboc(),
        Department::Hrss => hrss(),
        Department::Unspecified => vec![],
    }
}

/// Builds the record; departments in `failed` get that outcome instead of
/// their answer (`NO_RECORD`: an answer that knows nobody).
pub fn record_with(failed: &[(Department, SourceOutcome, &str)]) -> VerificationRecord {
    let data_as_of = NaiveDate::from_ymd_opt(2026, 11, 25).expect("a date");
    let answers = ALL
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let latency = 180 + 37 * i as u32;
            match failed.iter().find(|(f, _, _)| f == d) {
                Some((_, SourceOutcome::NoRecord, _)) => SourceAnswer::answered(
                    *d,
                    latency,
                    ValidatedReply {
                        data_as_of,
                        results: members()
                            .into_iter()
                            .map(|m| status(m.id_number, IdentityStatus::NotFound))
                            .collect(),
                    },
                ),
                Some((_, outcome, detail)) => {
                    let latency = if *outcome == SourceOutcome::Timeout { 5_000 } else { 12 };
                    SourceAnswer::failed(*d, *outcome, latency, *detail)
                }
                None => SourceAnswer::answered(
                    *d,
                    latency,
                    ValidatedReply {
                        data_as_of,
                        results: results_of(*d),
                    },
                ),
            }
        })
        .collect();
    build_record(
        RecordHeader {
            record_id: RECORD_ID.into(),
            request_id: "0193f4a2-7c1e-7b3d-9a52-000000000001".into(),
            created_at: "2026-11-26T08:15:30.123Z".into(),
        },
        &submission(),
        Some(authorization()),
        answers,
        &policy(),
    )
}

/// Every department answered: the verdict is DOES_NOT_MEET (a car).
pub fn rich_record() -> VerificationRecord {
    record_with(&[])
}

/// Tax timed out and the People's Bank could not be reached: INCOMPLETE.
pub fn incomplete_record() -> VerificationRecord {
    record_with(&[
        (
            Department::Tax,
            SourceOutcome::Timeout,
            "no answer within the 5000 ms deadline",
        ),
        (Department::Pboc, SourceOutcome::Unavailable, "connection refused"),
    ])
}
