//! What a household on the 低保 roll typically shows: a modest home,
//! resident insurance, small accounts and incomes; and the helpers that add
//! a vehicle or a business.

use super::*;

/// Resident insurance for everybody, small pensions for the elderly, a few
/// small bank accounts, and the household's home.
pub(super) fn baseline(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, housing: Housing, scenario: Scenario) {
    for d in &mut fam.members {
        d.rec.hrss = resident_insurance(rng, d.age);
        d.rec.pboc.accounts = small_accounts(rng, d.age);
    }
    // Most homes are held by the applicant alone; some couples hold theirs
    // jointly, which puts the same certificate under two people.
    let owners = {
        let couple = fam.couple();
        if couple.len() == 2 && rng.chance(15) {
            couple
        } else if let Some(g) = fam.index_of(Relation::Grandparent) {
            vec![g]
        } else {
            vec![0]
        }
    };
    let owner_birth = Some((fam.members[owners[0]].birth, 20));
    match housing {
        Housing::Homestead => {
            let acquired = ctx.past_date(rng, OLD_DAYS + 400, 30 * 365, owner_birth);
            // The homestead lies at the registered address.
            let location = fam.address.trim_start_matches("贵州省").to_owned();
            let area = rng.range(8_000, 16_000);
            add_property(
                ctx,
                fam,
                &owners,
                PropertyUse::Homestead,
                area,
                acquired,
                location.clone(),
            );
            if rng.chance(30) {
                let date = ctx.past_date(rng, OLD_DAYS + 200, 20 * 365, owner_birth);
                fam.members[owners[0]].rec.housing.self_built.push(SelfBuilt {
                    location,
                    danger_house_renovation: false,
                    record_date: fmt_date(date),
                });
            }
        }
        Housing::OwnFlat => {
            let acquired = ctx.past_date(rng, OLD_DAYS + 400, 22 * 365, owner_birth);
            let location = flat_location(rng);
            add_property(
                ctx,
                fam,
                &owners,
                PropertyUse::Residential,
                rng.range(4_500, 8_500),
                acquired,
                location,
            );
        }
        Housing::Lease => {
            let start = ctx.past_date(rng, 200, 5 * 365, Some((fam.members[0].birth, 18)));
            fam.members[0].rec.housing.leases.push(Lease {
                location: flat_location(rng),
                monthly_rent_fen: rng.range(4, 9) * 10_000,
                start_date: fmt_date(start),
                // Open-ended, so that no date lies after the data date.
                end_date: String::new(),
            });
        }
        Housing::PublicRental => {
            let allocated = ctx.past_date(rng, OLD_DAYS, 8 * 365, Some((fam.members[0].birth, 18)));
            fam.members[0].rec.housing.public_rentals.push(PublicRental {
                location: format!(
                    "德江县{}公租房小区{}栋{}",
                    fam.place,
                    rng.range(1, 9),
                    rng.range(1, 6) * 100 + rng.range(1, 8)
                ),
                allocated_date: fmt_date(allocated),
            });
        }
        Housing::Nothing => {}
    }
    if rng.chance(10) {
        // A provident-fund account left over from an earlier job, suspended
        // with a small balance: common, and not a sign of income.
        let i = fam.main_adult();
        if fam.members[i].working_age() {
            fam.members[i].rec.fund.push(FundEntry {
                account: FundAccount {
                    status: FundAccountStatus::Suspended as i32,
                    balance_fen: rng.range(500, 6_000) * 100,
                    monthly_contribution_fen: 0,
                    employer: rng.pick(names::EMPLOYERS).to_string(),
                    withdrawals_in_window_fen: 0,
                },
                withdrawals: Vec::new(),
            });
        }
    }
    let own_income = matches!(
        scenario,
        Scenario::NoTaxRecord
            | Scenario::HighIncome
            | Scenario::DepartmentsDisagree
            | Scenario::Pensioner
            | Scenario::IndividualBusiness
    );
    if scenario == Scenario::Pensioner {
        pensions(rng, fam);
    }
    if !own_income {
        small_incomes(rng, fam);
    }
}

/// Resident medical insurance for almost everybody, resident pension
/// contributions for most working-age adults and a small resident pension for
/// everybody over 60. Resident schemes have no wage base, so the "base" is the
/// monthly share of the yearly premium.
pub(super) fn resident_insurance(rng: &mut Rng, age: i64) -> Vec<InsuranceRecord> {
    let mut v = Vec::new();
    if age >= 60 {
        v.push(InsuranceRecord {
            insurance_type: InsuranceType::Pension as i32,
            state: InsuranceState::Receiving as i32,
            monthly_base_fen: 0,
            monthly_benefit_fen: rng.range(130, 210) * 100,
            employer: String::new(),
        });
    } else if age >= 18 && rng.chance(85) {
        v.push(InsuranceRecord {
            insurance_type: InsuranceType::Pension as i32,
            state: InsuranceState::Contributing as i32,
            monthly_base_fen: 2_500,
            monthly_benefit_fen: 0,
            employer: String::new(),
        });
    }
    if rng.chance(97) {
        v.push(InsuranceRecord {
            insurance_type: InsuranceType::Medical as i32,
            state: InsuranceState::Contributing as i32,
            monthly_base_fen: 3_200,
            monthly_benefit_fen: 0,
            employer: String::new(),
        });
    }
    v
}

/// One to three accounts with a few hundred to a few thousand yuan for most
/// adults, the pension account for the elderly, and now and then a child's
/// savings account. The most an adult can hold this way (9,000 yuan) stays
/// below 24 months of either standard.
pub(super) fn small_accounts(rng: &mut Rng, age: i64) -> Vec<BankAccount> {
    let mut v = Vec::new();
    if age >= 60 {
        let balance = rng.range(50, 2_500) * 100;
        v.push(account(rng, names::PENSION_BANK, AccountType::Demand, balance));
    }
    if age >= 18 && rng.chance(90) {
        for _ in 0..rng.range(1, if age >= 60 { 1 } else { 3 }) {
            let bank = *rng.pick(names::BANKS);
            let kind = if rng.chance(80) {
                AccountType::Demand
            } else {
                AccountType::Time
            };
            let balance = rng.range(30, 3_000) * 100;
            v.push(account(rng, bank, kind, balance));
        }
    } else if age < 18 && rng.chance(15) {
        let bank = *rng.pick(names::BANKS);
        let balance = rng.range(20, 500) * 100;
        v.push(account(rng, bank, AccountType::Demand, balance));
    }
    v
}

/// A bank account with a masked number.
pub(super) fn account(rng: &mut Rng, bank: &str, account_type: AccountType, balance_fen: i64) -> BankAccount {
    BankAccount {
        bank: bank.to_owned(),
        account_type: account_type as i32,
        balance_fen,
        masked_account_number: format!("{}{:04}", "*".repeat(15), rng.range(0, 9999)),
    }
}

/// Pensioners in town sometimes draw a small employee pension instead of
/// the resident one; it is capped so the household stays under the standard.
pub(super) fn pensions(rng: &mut Rng, fam: &mut Fam) {
    if fam.residence != Residence::Urban {
        return;
    }
    let cap = fam.standard_fen() * fam.members.len() as i64 * 70 / 100;
    let d = &mut fam.members[0];
    if let Some(p) = d
        .rec
        .hrss
        .iter_mut()
        .find(|r| r.insurance_type == InsuranceType::Pension as i32)
    {
        p.monthly_benefit_fen = (rng.range(900, 1_400) * 100).min(cap) / 100 * 100;
    }
}

/// Gives some households a low wage or casual income, sized so that the
/// household's income per person (wages plus pensions) stays between a fifth
/// and two thirds of the standard in every month.
pub(super) fn small_incomes(rng: &mut Rng, fam: &mut Fam) {
    let budget = fam.members.len() as i64 * fam.standard_fen() * rng.range(20, 65) / 100 - fam.benefits_fen();
    let mut workers: Vec<usize> = (0..fam.members.len())
        .filter(|&i| fam.members[i].working_age())
        .collect();
    if budget < 30_000 || workers.is_empty() || !rng.chance(65) {
        return;
    }
    workers.truncate(if workers.len() >= 2 && budget >= 200_000 && rng.chance(50) {
        2
    } else {
        1
    });
    let each = budget / workers.len() as i64 / 100 * 100;
    for &w in &workers {
        let category = if rng.chance(70) {
            IncomeCategory::Wages
        } else {
            IncomeCategory::Other
        };
        let months = if rng.chance(55) {
            ALL_MONTHS
        } else {
            // Seasonal work: a run of five to nine consecutive months.
            let start = rng.range(0, 11);
            (0..rng.range(5, 9)).fold(0u16, |m, k| m | 1 << ((start + k) % 12))
        };
        let d = &mut fam.members[w];
        d.rec.tax.push(TaxStream {
            category,
            monthly_fen: each,
            months,
        });
        if category == IncomeCategory::Wages && rng.chance(35) {
            let employer = *rng.pick(names::EMPLOYERS);
            employee_insurance(&mut d.rec.hrss, each, employer, false);
        }
    }
}

/// Replaces resident insurance with the employee schemes an employer pays:
/// pension, medical and work injury, and unemployment for full employees.
pub(super) fn employee_insurance(hrss: &mut Vec<InsuranceRecord>, wage_fen: i64, employer: &str, unemployment: bool) {
    hrss.retain(|r| r.state == InsuranceState::Receiving as i32);
    let mut kinds = vec![
        InsuranceType::Pension,
        InsuranceType::Medical,
        InsuranceType::WorkInjury,
    ];
    if unemployment {
        kinds.push(InsuranceType::Unemployment);
    }
    for kind in kinds {
        hrss.push(InsuranceRecord {
            insurance_type: kind as i32,
            state: InsuranceState::Contributing as i32,
            monthly_base_fen: wage_fen,
            monthly_benefit_fen: 0,
            employer: employer.to_owned(),
        });
    }
}

/// A vehicle registered to `owner` on `date`.
pub(super) fn add_vehicle(
    ctx: &mut Ctx,
    rng: &mut Rng,
    fam: &mut Fam,
    owner: usize,
    t: VehicleType,
    s: VehicleStatus,
    date: NaiveDate,
) {
    let plate = ctx.new_plate(rng, t);
    fam.members[owner].vehicles.push(Vehicle {
        plate,
        vehicle_type: t as i32,
        registration_date: fmt_date(date),
        status: s as i32,
    });
}

/// A company or shop name.
pub(super) fn entity_name(rng: &mut Rng, entity_type: EntityType) -> String {
    let trade = rng.pick(names::TRADE_NAMES);
    if entity_type == EntityType::IndividualBusiness {
        format!("德江县{trade}{}", rng.pick(names::SHOP_KINDS))
    } else {
        format!("德江县{trade}{}", rng.pick(names::COMPANY_KINDS))
    }
}

/// One market entity with the roles a person holds in it.
pub(super) struct Entity {
    pub(super) entity_type: EntityType,
    pub(super) status: EntityStatus,
    /// Established this many days before `as_of`.
    pub(super) age_days: (i64, i64),
    pub(super) roles: Vec<(BusinessRole, i64)>,
}

pub(super) fn add_entity(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, person: usize, e: Entity) {
    let name = entity_name(rng, e.entity_type);
    let uscc = ctx.new_uscc(rng, e.entity_type);
    let established = ctx.past_date(rng, e.age_days.0, e.age_days.1, Some((fam.members[person].birth, 20)));
    for (role, capital_fen) in e.roles {
        fam.members[person].rec.roles.push(BusinessRoleRecord {
            entity_name: name.clone(),
            uscc: uscc.clone(),
            entity_type: e.entity_type as i32,
            role: role as i32,
            subscribed_capital_fen: capital_fen,
            status: e.status as i32,
            established_date: fmt_date(established),
        });
    }
}
