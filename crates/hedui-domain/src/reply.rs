//! Validation of a department's reply at the hub.
//!
//! A partner's adapter is outside the hub's control, so nothing in a reply is
//! trusted: a reply that names a person who was not asked about, leaves one
//! out, carries negative money, an unset enum, a bad date or a bad USCC, or
//! the findings of another department, is rejected whole and the source ends
//! as `ERROR`. The error text names the offending field by index and never
//! contains personal data, because it is stored in the record and may be
//! logged.

use std::collections::HashMap;

use chrono::NaiveDate;
use hedui_proto::v1::{
    AccountType, BusinessRole, Department, EntityStatus, EntityType, FundAccountStatus, HukouType, IdentityStatus,
    IncomeCategory, InsuranceState, InsuranceType, LifeStatus, PersonResult, PropertyUse, QueryResponse, VehicleStatus,
    VehicleType, person_result::Findings,
};

use crate::ids::{ResidentId, Uscc};
use crate::money::check_fen;
use crate::window::{IncomeWindow, YearMonth, parse_date};

/// Longest free-text field a department may send (address, employer…), in
/// characters.
const MAX_TEXT_CHARS: usize = 200;
/// Most entries of one kind (vehicles, accounts…) accepted for one person.
const MAX_ENTRIES: usize = 500;

/// A reply that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedReply {
    /// The date of the department's data.
    pub data_as_of: NaiveDate,
    /// One result per asked person, in the order they were asked, with ID
    /// numbers normalised to the 18-character form that was asked.
    pub results: Vec<PersonResult>,
}

impl ValidatedReply {
    /// True when the department knows at least one of the persons.
    pub fn has_record(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.identity_status != IdentityStatus::NotFound as i32)
    }
}

/// What the hub asked, needed to judge the reply.
#[derive(Debug, Clone, Copy)]
pub struct AskedContext<'a> {
    /// The persons asked about, in order.
    pub persons: &'a [ResidentId],
    /// The income window asked for.
    pub window: &'a IncomeWindow,
    /// Today, the latest date any record may carry.
    pub today: NaiveDate,
}

/// Validates `reply` from `department`. The error is a plain description
/// that names the field by index, for example
/// `results[1].tax.records[0].taxable_income_fen: must not be negative, got -5 fen`.
pub fn validate(
    department: Department,
    asked: AskedContext<'_>,
    reply: &QueryResponse,
) -> Result<ValidatedReply, String> {
    let data_as_of = parse_date(&reply.data_as_of).map_err(|e| format!("data_as_of: {e}"))?;
    if data_as_of > asked.today {
        return Err(format!("data_as_of: {data_as_of} is in the future"));
    }
    let index: HashMap<&str, usize> = asked.persons.iter().enumerate().map(|(i, p)| (p.as_str(), i)).collect();
    let mut slots: Vec<Option<PersonResult>> = vec![None; asked.persons.len()];
    for (ri, result) in reply.results.iter().enumerate() {
        let at = format!("results[{ri}]");
        // Partner databases may still hold the 15-digit form; it matches the
        // 18-digit number it expands to.
        let id = ResidentId::parse_any(&result.id_number, asked.today).map_err(|e| format!("{at}.id_number: {e}"))?;
        let Some(&slot) = index.get(id.as_str()) else {
            return Err(format!("{at}.id_number: names a person who was not asked about"));
        };
        if slots[slot].is_some() {
            return Err(format!("{at}.id_number: person {} answered twice", slot + 1));
        }
        let mut normalised = result.clone();
        normalised.id_number = id.as_str().to_owned();
        check_result(department, asked, &normalised, &at)?;
        slots[slot] = Some(normalised);
    }
    let mut results = Vec::with_capacity(slots.len());
    for (i, slot) in slots.into_iter().enumerate() {
        results.push(slot.ok_or_else(|| format!("results: no result for person {}", i + 1))?);
    }
    Ok(ValidatedReply { data_as_of, results })
}

fn check_result(department: Department, asked: AskedContext<'_>, r: &PersonResult, at: &str) -> Result<(), String> {
    let status = enum_value::<IdentityStatus>(r.identity_status, &format!("{at}.identity_status"))?;
    let Some(findings) = &r.findings else {
        return if status == IdentityStatus::Found {
            Err(format!("{at}.findings: missing for a person with status FOUND"))
        } else {
            Ok(())
        };
    };
    if status != IdentityStatus::Found {
        return Err(format!("{at}.findings: present for a person who was not found"));
    }
    let from = findings_department(findings);
    if from != department {
        return Err(format!(
            "{at}.findings: carries {} findings in a reply from {}",
            crate::department::slug(from),
            crate::department::slug(department)
        ));
    }
    let c = Checker {
        today: asked.today,
        window: asked.window,
    };
    match findings {
        Findings::PublicSecurity(f) => c.public_security(f, &format!("{at}.public_security")),
        Findings::NaturalResources(f) => c.natural_resources(f, &format!("{at}.natural_resources")),
        Findings::Housing(f) => c.housing(f, &format!("{at}.housing")),
        Findings::Tax(f) => c.tax(f, &format!("{at}.tax")),
        Findings::MarketSupervision(f) => c.market(f, &format!("{at}.market_supervision")),
        Findings::HousingFund(f) => c.housing_fund(f, &format!("{at}.housing_fund")),
        Findings::Pboc(f) => c.pboc(f, &format!("{at}.pboc")),
        Findings::Hrss(f) => c.hrss(f, &format!("{at}.hrss")),
    }
}

/// The department whose message a findings value is.
pub fn findings_department(f: &Findings) -> Department {
    match f {
        Findings::PublicSecurity(_) => Department::PublicSecurity,
        Findings::NaturalResources(_) => Department::NaturalResources,
        Findings::Housing(_) => Department::Housing,
        Findings::Tax(_) => Department::Tax,
        Findings::MarketSupervision(_) => Department::MarketSupervision,
        Findings::HousingFund(_) => Department::HousingFund,
        Findings::Pboc(_) => Department::Pboc,
        Findings::Hrss(_) => Department::Hrss,
    }
}

fn enum_value<E: TryFrom<i32> + Default + PartialEq>(v: i32, field: &str) -> Result<E, String> {
    match E::try_from(v) {
        Ok(e) if e != E::default() => Ok(e),
        Ok(_) => Err(format!("{field}: is not set")),
        Err(_) => Err(format!("{field}: unknown value {v}")),
    }
}

struct Checker<'a> {
    today: NaiveDate,
    window: &'a IncomeWindow,
}

impl Checker<'_> {
    fn text(&self, s: &str, field: &str) -> Result<(), String> {
        if s.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("{field}: longer than {MAX_TEXT_CHARS} characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(format!("{field}: contains a control character"));
        }
        Ok(())
    }

    fn date(&self, s: &str, field: &str, required: bool) -> Result<Option<NaiveDate>, String> {
        if s.is_empty() {
            return if required {
                Err(format!("{field}: is required"))
            } else {
                Ok(None)
            };
        }
        let d = parse_date(s).map_err(|e| format!("{field}: {e}"))?;
        if d > self.today {
            return Err(format!("{field}: {d} is in the future"));
        }
        Ok(Some(d))
    }

    fn fen(&self, v: i64, field: &str) -> Result<(), String> {
        check_fen(field, v)
            .map(|_| ())
            .map_err(|e| format!("{}: {}", e.field, e.description))
    }

    fn count<T>(&self, items: &[T], field: &str) -> Result<(), String> {
        if items.len() > MAX_ENTRIES {
            return Err(format!(
                "{field}: {} entries; at most {MAX_ENTRIES} accepted",
                items.len()
            ));
        }
        Ok(())
    }

    fn public_security(&self, f: &hedui_proto::v1::PublicSecurityFindings, at: &str) -> Result<(), String> {
        let life = enum_value::<LifeStatus>(f.life_status, &format!("{at}.life_status"))?;
        let death = self.date(&f.death_date, &format!("{at}.death_date"), false)?;
        match (life, death) {
            (LifeStatus::Deceased, None) => {
                return Err(format!("{at}.death_date: is required for a deceased person"));
            }
            (LifeStatus::Alive, Some(_)) => {
                return Err(format!("{at}.death_date: set for a living person"));
            }
            _ => {}
        }
        if let Some(h) = &f.hukou {
            self.text(&h.address, &format!("{at}.hukou.address"))?;
            self.text(&h.relation_to_head, &format!("{at}.hukou.relation_to_head"))?;
            enum_value::<HukouType>(h.hukou_type, &format!("{at}.hukou.hukou_type"))?;
        }
        self.count(&f.vehicles, &format!("{at}.vehicles"))?;
        for (i, v) in f.vehicles.iter().enumerate() {
            let vat = format!("{at}.vehicles[{i}]");
            self.text(&v.plate, &format!("{vat}.plate"))?;
            enum_value::<VehicleType>(v.vehicle_type, &format!("{vat}.vehicle_type"))?;
            enum_value::<VehicleStatus>(v.status, &format!("{vat}.status"))?;
            self.date(&v.registration_date, &format!("{vat}.registration_date"), true)?;
        }
        Ok(())
    }

    fn natural_resources(&self, f: &hedui_proto::v1::NaturalResourcesFindings, at: &str) -> Result<(), String> {
        self.count(&f.properties, &format!("{at}.properties"))?;
        for (i, p) in f.properties.iter().enumerate() {
            let pat = format!("{at}.properties[{i}]");
            self.text(&p.certificate_number, &format!("{pat}.certificate_number"))?;
            self.text(&p.location, &format!("{pat}.location"))?;
            enum_value::<PropertyUse>(p.r#use, &format!("{pat}.use"))?;
            if p.floor_area_centi_m2 < 0 {
                return Err(format!("{pat}.floor_area_centi_m2: must not be negative"));
            }
            if !(1..=100).contains(&p.share_percent) {
                return Err(format!(
                    "{pat}.share_percent: must be 1 to 100, got {}",
                    p.share_percent
                ));
            }
            self.date(&p.acquired_date, &format!("{pat}.acquired_date"), true)?;
        }
        Ok(())
    }

    fn housing(&self, f: &hedui_proto::v1::HousingFindings, at: &str) -> Result<(), String> {
        self.count(&f.purchases, &format!("{at}.purchases"))?;
        for (i, p) in f.purchases.iter().enumerate() {
            let pat = format!("{at}.purchases[{i}]");
            self.text(&p.contract_number, &format!("{pat}.contract_number"))?;
            self.text(&p.location, &format!("{pat}.location"))?;
            if p.floor_area_centi_m2 < 0 {
                return Err(format!("{pat}.floor_area_centi_m2: must not be negative"));
            }
            self.fen(p.price_fen, &format!("{pat}.price_fen"))?;
            self.date(&p.signed_date, &format!("{pat}.signed_date"), true)?;
        }
        self.count(&f.leases, &format!("{at}.leases"))?;
        for (i, l) in f.leases.iter().enumerate() {
            let lat = format!("{at}.leases[{i}]");
            self.text(&l.location, &format!("{lat}.location"))?;
            self.fen(l.monthly_rent_fen, &format!("{lat}.monthly_rent_fen"))?;
            let start = self.date(&l.start_date, &format!("{lat}.start_date"), true)?;
            // A lease may end in the future, so only the format is checked.
            if !l.end_date.is_empty() {
                let end = parse_date(&l.end_date).map_err(|e| format!("{lat}.end_date: {e}"))?;
                if start.is_some_and(|s| end < s) {
                    return Err(format!("{lat}.end_date: before start_date"));
                }
            }
        }
        self.count(&f.public_rentals, &format!("{at}.public_rentals"))?;
        for (i, p) in f.public_rentals.iter().enumerate() {
            let pat = format!("{at}.public_rentals[{i}]");
            self.text(&p.location, &format!("{pat}.location"))?;
            self.date(&p.allocated_date, &format!("{pat}.allocated_date"), true)?;
        }
        self.count(&f.self_built, &format!("{at}.self_built"))?;
        for (i, s) in f.self_built.iter().enumerate() {
            let sat = format!("{at}.self_built[{i}]");
            self.text(&s.location, &format!("{sat}.location"))?;
            self.date(&s.record_date, &format!("{sat}.record_date"), true)?;
        }
        Ok(())
    }

    fn tax(&self, f: &hedui_proto::v1::TaxFindings, at: &str) -> Result<(), String> {
        self.count(&f.records, &format!("{at}.records"))?;
        for (i, r) in f.records.iter().enumerate() {
            let rat = format!("{at}.records[{i}]");
            let period = YearMonth::parse(&r.period).map_err(|e| format!("{rat}.period: {e}"))?;
            if !self.window.contains_month(period) {
                return Err(format!("{rat}.period: {period} is outside the income window"));
            }
            enum_value::<IncomeCategory>(r.category, &format!("{rat}.category"))?;
            self.fen(r.taxable_income_fen, &format!("{rat}.taxable_income_fen"))?;
            self.fen(r.tax_paid_fen, &format!("{rat}.tax_paid_fen"))?;
        }
        Ok(())
    }

    fn market(&self, f: &hedui_proto::v1::MarketSupervisionFindings, at: &str) -> Result<(), String> {
        self.count(&f.roles, &format!("{at}.roles"))?;
        for (i, r) in f.roles.iter().enumerate() {
            let rat = format!("{at}.roles[{i}]");
            self.text(&r.entity_name, &format!("{rat}.entity_name"))?;
            Uscc::parse(&r.uscc).map_err(|e| format!("{rat}.uscc: {e}"))?;
            enum_value::<EntityType>(r.entity_type, &format!("{rat}.entity_type"))?;
            enum_value::<BusinessRole>(r.role, &format!("{rat}.role"))?;
            enum_value::<EntityStatus>(r.status, &format!("{rat}.status"))?;
            self.fen(r.subscribed_capital_fen, &format!("{rat}.subscribed_capital_fen"))?;
            self.date(&r.established_date, &format!("{rat}.established_date"), true)?;
        }
        Ok(())
    }

    fn housing_fund(&self, f: &hedui_proto::v1::HousingFundFindings, at: &str) -> Result<(), String> {
        self.count(&f.accounts, &format!("{at}.accounts"))?;
        for (i, a) in f.accounts.iter().enumerate() {
            let aat = format!("{at}.accounts[{i}]");
            enum_value::<FundAccountStatus>(a.status, &format!("{aat}.status"))?;
            self.fen(a.balance_fen, &format!("{aat}.balance_fen"))?;
            self.fen(a.monthly_contribution_fen, &format!("{aat}.monthly_contribution_fen"))?;
            self.fen(a.withdrawals_in_window_fen, &format!("{aat}.withdrawals_in_window_fen"))?;
            self.text(&a.employer, &format!("{aat}.employer"))?;
        }
        Ok(())
    }

    fn pboc(&self, f: &hedui_proto::v1::PbocFindings, at: &str) -> Result<(), String> {
        self.count(&f.accounts, &format!("{at}.accounts"))?;
        for (i, a) in f.accounts.iter().enumerate() {
            let aat = format!("{at}.accounts[{i}]");
            self.text(&a.bank, &format!("{aat}.bank"))?;
            self.text(&a.masked_account_number, &format!("{aat}.masked_account_number"))?;
            enum_value::<AccountType>(a.account_type, &format!("{aat}.account_type"))?;
            self.fen(a.balance_fen, &format!("{aat}.balance_fen"))?;
        }
        self.count(&f.products, &format!("{at}.products"))?;
        for (i, p) in f.products.iter().enumerate() {
            let pat = format!("{at}.products[{i}]");
            self.text(&p.issuer, &format!("{pat}.issuer"))?;
            self.text(&p.kind, &format!("{pat}.kind"))?;
            self.fen(p.value_fen, &format!("{pat}.value_fen"))?;
        }
        Ok(())
    }

    fn hrss(&self, f: &hedui_proto::v1::HrssFindings, at: &str) -> Result<(), String> {
        self.count(&f.insurance, &format!("{at}.insurance"))?;
        for (i, r) in f.insurance.iter().enumerate() {
            let iat = format!("{at}.insurance[{i}]");
            enum_value::<InsuranceType>(r.insurance_type, &format!("{iat}.insurance_type"))?;
            enum_value::<InsuranceState>(r.state, &format!("{iat}.state"))?;
            self.fen(r.monthly_base_fen, &format!("{iat}.monthly_base_fen"))?;
            self.fen(r.monthly_benefit_fen, &format!("{iat}.monthly_benefit_fen"))?;
            self.text(&r.employer, &format!("{iat}.employer"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_proto::v1::{
        BankAccount, BusinessRoleRecord, MarketSupervisionFindings, PbocFindings, TaxFindings, TaxRecord,
    };

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn persons() -> Vec<ResidentId> {
        ["520626194701205831", "52222619930616389X"]
            .iter()
            .map(|s| ResidentId::parse(s, today()).unwrap())
            .collect()
    }

    fn window() -> IncomeWindow {
        IncomeWindow {
            from: YearMonth::parse("2025-11").unwrap(),
            to: YearMonth::parse("2026-10").unwrap(),
        }
    }

    fn found(id: &str, f: Findings) -> PersonResult {
        PersonResult {
            id_number: id.into(),
            identity_status: IdentityStatus::Found as i32,
            findings: Some(f),
        }
    }

    fn not_found(id: &str) -> PersonResult {
        PersonResult {
            id_number: id.into(),
            identity_status: IdentityStatus::NotFound as i32,
            findings: None,
        }
    }

    fn pboc(balance: i64) -> Findings {
        Findings::Pboc(PbocFindings {
            accounts: vec![BankAccount {
                bank: "农业银行".into(),
                account_type: AccountType::Demand as i32,
                balance_fen: balance,
                masked_account_number: "****1234".into(),
            }],
            products: vec![],
        })
    }

    fn run(dept: Department, results: Vec<PersonResult>) -> Result<ValidatedReply, String> {
        let p = persons();
        let w = window();
        let reply = QueryResponse {
            results,
            data_as_of: "2026-11-01".into(),
            stale_reason: String::new(),
        };
        validate(
            dept,
            AskedContext {
                persons: &p,
                window: &w,
                today: today(),
            },
            &reply,
        )
    }

    #[test]
    fn a_good_reply_is_reordered_to_the_asked_order() {
        let r = run(
            Department::Pboc,
            vec![not_found("52222619930616389x"), found("520626194701205831", pboc(100))],
        )
        .unwrap();
        assert_eq!(r.results[0].id_number, "520626194701205831");
        assert_eq!(r.results[1].id_number, "52222619930616389X");
        assert!(r.has_record());
    }

    #[test]
    fn unknown_person_is_rejected() {
        let e = run(
            Department::Pboc,
            vec![
                not_found("520626194701205831"),
                not_found("52222619930616389X"),
                not_found("110101197310286235"),
            ],
        )
        .unwrap_err();
        assert!(e.contains("not asked about"), "{e}");
        assert!(!e.contains("110101"), "no personal data in the error: {e}");
    }

    #[test]
    fn missing_and_duplicate_persons_are_rejected() {
        let e = run(Department::Pboc, vec![not_found("520626194701205831")]).unwrap_err();
        assert!(e.contains("no result for person 2"), "{e}");
        let e = run(
            Department::Pboc,
            vec![not_found("520626194701205831"), not_found("520626194701205831")],
        )
        .unwrap_err();
        assert!(e.contains("answered twice"), "{e}");
    }

    #[test]
    fn legacy_fifteen_digit_numbers_match_their_eighteen_digit_form() {
        // 520626470120583 expands to 520626194701205831.
        let r = run(
            Department::Pboc,
            vec![not_found("520626470120583"), not_found("52222619930616389X")],
        );
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn negative_money_is_rejected() {
        let e = run(
            Department::Pboc,
            vec![found("520626194701205831", pboc(-5)), not_found("52222619930616389X")],
        )
        .unwrap_err();
        assert!(e.contains("results[0].pboc.accounts[0].balance_fen"), "{e}");
    }

    #[test]
    fn findings_of_another_department_are_rejected() {
        let e = run(
            Department::Tax,
            vec![found("520626194701205831", pboc(5)), not_found("52222619930616389X")],
        )
        .unwrap_err();
        assert!(e.contains("carries pboc findings in a reply from tax"), "{e}");
    }

    #[test]
    fn tax_period_outside_the_window_is_rejected() {
        let tax = |period: &str| {
            Findings::Tax(TaxFindings {
                records: vec![TaxRecord {
                    period: period.into(),
                    category: IncomeCategory::Wages as i32,
                    taxable_income_fen: 100,
                    tax_paid_fen: 0,
                }],
            })
        };
        assert!(
            run(
                Department::Tax,
                vec![
                    found("520626194701205831", tax("2026-10")),
                    not_found("52222619930616389X")
                ]
            )
            .is_ok()
        );
        let e = run(
            Department::Tax,
            vec![
                found("520626194701205831", tax("2026-11")),
                not_found("52222619930616389X"),
            ],
        )
        .unwrap_err();
        assert!(e.contains("outside the income window"), "{e}");
    }

    #[test]
    fn bad_uscc_and_unset_enums_are_rejected() {
        let role = |uscc: &str, role: i32| {
            Findings::MarketSupervision(MarketSupervisionFindings {
                roles: vec![BusinessRoleRecord {
                    entity_name: "德江县某某商贸有限公司".into(),
                    uscc: uscc.into(),
                    entity_type: EntityType::Company as i32,
                    role,
                    subscribed_capital_fen: 0,
                    status: EntityStatus::Active as i32,
                    established_date: "2019-05-01".into(),
                }],
            })
        };
        let ok = role("91110000600037341L", BusinessRole::Investor as i32);
        assert!(
            run(
                Department::MarketSupervision,
                vec![found("520626194701205831", ok), not_found("52222619930616389X")]
            )
            .is_ok()
        );
        let e = run(
            Department::MarketSupervision,
            vec![
                found("520626194701205831", role("91520626MA6D123420", 5)),
                not_found("52222619930616389X"),
            ],
        )
        .unwrap_err();
        assert!(e.contains("uscc"), "{e}");
        let e = run(
            Department::MarketSupervision,
            vec![
                found("520626194701205831", role("91110000600037341L", 0)),
                not_found("52222619930616389X"),
            ],
        )
        .unwrap_err();
        assert!(e.contains("role: is not set"), "{e}");
    }

    #[test]
    fn findings_for_a_person_not_found_are_rejected() {
        let mut r = found("520626194701205831", pboc(1));
        r.identity_status = IdentityStatus::NameMismatch as i32;
        let e = run(Department::Pboc, vec![r, not_found("52222619930616389X")]).unwrap_err();
        assert!(e.contains("not found"), "{e}");
    }

    #[test]
    fn bad_data_date_is_rejected() {
        let p = persons();
        let w = window();
        let ctx = AskedContext {
            persons: &p,
            window: &w,
            today: today(),
        };
        for bad in ["", "2026-02-30", "2027-01-01"] {
            let reply = QueryResponse {
                results: vec![],
                data_as_of: bad.into(),
                stale_reason: String::new(),
            };
            assert!(
                validate(Department::Tax, ctx, &reply)
                    .unwrap_err()
                    .starts_with("data_as_of")
            );
        }
    }
}
