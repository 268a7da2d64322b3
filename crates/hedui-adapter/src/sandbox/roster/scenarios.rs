//! The one thing each scenario adds to its household.

use super::*;

/// Financial assets that are clearly above 24 months of the standard per
/// person, whatever the size of the household: at least three times the
/// limit.
pub(super) fn far_above_asset_limit(rng: &mut Rng, fam: &Fam) -> i64 {
    let limit = fam.members.len() as i64 * fam.standard_fen() * 24;
    (limit * 3 + rng.range(0, 200_000) * 100) / 10_000 * 10_000
}

/// Adds what the scenario is about.
pub(super) fn apply(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, scenario: Scenario, ordinal: usize) {
    let owner = fam.main_adult();
    let at = At {
        owner,
        owner_birth: Some((fam.members[owner].birth, 18)),
        ordinal,
    };
    if let Some(f) = effect(scenario) {
        f(ctx, rng, fam, at);
    }
}

/// The household's main adult, whose birth date bounds the dates of what
/// they own, and the household's number within its scenario.
#[derive(Clone, Copy)]
struct At {
    owner: usize,
    owner_birth: Option<(NaiveDate, i64)>,
    ordinal: usize,
}

/// One scenario's addition to a household.
type Effect = fn(&mut Ctx, &mut Rng, &mut Fam, At);

/// What the scenario adds beyond the baseline; `None` for the scenarios the
/// baseline (and the household's shape) already show.
fn effect(scenario: Scenario) -> Option<Effect> {
    let f: Effect = match scenario {
        Scenario::Qualifies
        | Scenario::Pensioner
        | Scenario::PublicRental
        | Scenario::NoTaxRecord
        | Scenario::LargeHousehold => return None,
        Scenario::MotorcycleOnly => motorcycle_only,
        Scenario::ExemptVehicles => exempt_vehicles,
        Scenario::DangerHouseRenovation => danger_house_renovation,
        Scenario::CarDeregistered => car_deregistered,
        Scenario::BusinessDeregistered => business_deregistered,
        Scenario::CarOwner => car_owner,
        Scenario::TruckOwner => truck_owner,
        Scenario::RecentCarPurchase => recent_car_purchase,
        Scenario::BusinessOwner => business_owner,
        Scenario::IndividualBusiness => individual_business,
        Scenario::LargeIndividualBusiness => large_individual_business,
        Scenario::Investor => investor,
        Scenario::HighDeposits => high_deposits,
        Scenario::FinancialProducts => financial_products,
        Scenario::HighIncome => high_income,
        Scenario::CommercialProperty => commercial_property,
        Scenario::MultipleHomes => multiple_homes,
        Scenario::RecentHomePurchase => recent_home_purchase,
        Scenario::DeceasedMember => deceased_member,
        Scenario::DepartmentsDisagree => departments_disagree,
        Scenario::NameMismatch => name_mismatch,
        Scenario::IdNotFound => id_not_found,
        Scenario::SourceOffline => source_offline,
    };
    Some(f)
}

fn motorcycle_only(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let t = if rng.chance(70) {
        VehicleType::Motorcycle
    } else {
        VehicleType::Tricycle
    };
    let date = ctx.past_date(rng, OLD_DAYS + 100, 10 * 365, owner_birth);
    add_vehicle(ctx, rng, fam, owner, t, VehicleStatus::Active, date);
}

fn exempt_vehicles(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let date = ctx.past_date(rng, OLD_DAYS + 100, 8 * 365, owner_birth);
    add_vehicle(
        ctx,
        rng,
        fam,
        owner,
        VehicleType::Agricultural,
        VehicleStatus::Active,
        date,
    );
    let date = ctx.past_date(rng, OLD_DAYS + 100, 8 * 365, owner_birth);
    add_vehicle(
        ctx,
        rng,
        fam,
        owner,
        VehicleType::Disability,
        VehicleStatus::Active,
        date,
    );
}

fn danger_house_renovation(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, _at: At) {
    let location = fam.members[0]
        .rec
        .properties
        .first()
        .map(|p| p.location.clone())
        .unwrap_or_else(|| format!("德江县{}", fam.place));
    let date = ctx.past_date(rng, OLD_DAYS + 100, 8 * 365, None);
    let d = &mut fam.members[0];
    d.rec.housing.self_built.retain(|s| !s.danger_house_renovation);
    d.rec.housing.self_built.push(SelfBuilt {
        location,
        danger_house_renovation: true,
        record_date: fmt_date(date),
    });
}

fn car_deregistered(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let date = ctx.past_date(rng, 9 * 365, 15 * 365, owner_birth);
    add_vehicle(
        ctx,
        rng,
        fam,
        owner,
        VehicleType::Car,
        VehicleStatus::Deregistered,
        date,
    );
}

fn business_deregistered(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    let capital = rng.range(5, 50) * 1_000_000;
    let e = Entity {
        entity_type: EntityType::Company,
        status: EntityStatus::Deregistered,
        age_days: (6 * 365, 12 * 365),
        roles: vec![
            (BusinessRole::LegalRepresentative, 0),
            (BusinessRole::Investor, capital),
        ],
    };
    add_entity(ctx, rng, fam, owner, e);
}

fn car_owner(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let date = ctx.past_date(rng, OLD_DAYS + 100, 8 * 365, owner_birth);
    add_vehicle(ctx, rng, fam, owner, VehicleType::Car, VehicleStatus::Active, date);
    if rng.chance(40) {
        let date = ctx.past_date(rng, OLD_DAYS + 100, 10 * 365, owner_birth);
        add_vehicle(
            ctx,
            rng,
            fam,
            owner,
            VehicleType::Motorcycle,
            VehicleStatus::Active,
            date,
        );
    }
}

fn truck_owner(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let date = ctx.past_date(rng, OLD_DAYS + 100, 6 * 365, owner_birth);
    add_vehicle(ctx, rng, fam, owner, VehicleType::Truck, VehicleStatus::Active, date);
}

fn recent_car_purchase(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    let date = ctx.days_ago(rng.range(45, 150));
    add_vehicle(ctx, rng, fam, owner, VehicleType::Car, VehicleStatus::Active, date);
}

fn business_owner(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, ordinal, .. } = at;
    // Every third owner is the general manager of someone else's
    // company instead of its legal representative.
    let roles = if ordinal % 3 == 2 {
        vec![(BusinessRole::SeniorManager, 0)]
    } else {
        vec![
            (BusinessRole::LegalRepresentative, 0),
            (BusinessRole::Investor, rng.range(20, 100) * 1_000_000),
        ]
    };
    let e = Entity {
        entity_type: EntityType::Company,
        status: EntityStatus::Active,
        age_days: (365, 8 * 365),
        roles,
    };
    add_entity(ctx, rng, fam, owner, e);
    let employer = fam.members[owner].rec.roles[0].entity_name.clone();
    let wage = rng.range(30, 48) * 10_000;
    let d = &mut fam.members[owner];
    d.rec.tax.retain(|s| s.category != IncomeCategory::Wages);
    d.rec.tax.push(TaxStream {
        category: IncomeCategory::Wages,
        monthly_fen: wage,
        months: ALL_MONTHS,
    });
    employee_insurance(&mut d.rec.hrss, wage, &employer, true);
}

fn individual_business(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    // A small shop: the operator role alone, a few ten thousand yuan
    // of capital, and business income sized to keep the household
    // under the standard, so that the role is the only finding.
    let e = Entity {
        entity_type: EntityType::IndividualBusiness,
        status: EntityStatus::Active,
        age_days: (2 * 365, 10 * 365),
        roles: vec![(BusinessRole::Operator, rng.range(2, 8) * 1_000_000)],
    };
    add_entity(ctx, rng, fam, owner, e);
    let cap = fam.members.len() as i64 * fam.standard_fen() * 55 / 100 - fam.benefits_fen();
    let income = (rng.range(8, 20) * 10_000).min(cap).max(5_000) / 100 * 100;
    let d = &mut fam.members[owner];
    d.rec.tax.push(TaxStream {
        category: IncomeCategory::Business,
        monthly_fen: income,
        months: ALL_MONTHS,
    });
}

fn large_individual_business(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    let e = Entity {
        entity_type: EntityType::IndividualBusiness,
        status: EntityStatus::Active,
        age_days: (2 * 365, 10 * 365),
        roles: vec![(BusinessRole::Operator, rng.range(15, 30) * 1_000_000)],
    };
    add_entity(ctx, rng, fam, owner, e);
    let income = rng.range(15, 40) * 10_000;
    let d = &mut fam.members[owner];
    d.rec.tax.push(TaxStream {
        category: IncomeCategory::Business,
        monthly_fen: income,
        months: ALL_MONTHS,
    });
}

fn investor(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    let e = Entity {
        entity_type: if rng.chance(70) {
            EntityType::Company
        } else {
            EntityType::Partnership
        },
        status: EntityStatus::Active,
        age_days: (365, 9 * 365),
        roles: vec![
            (BusinessRole::Investor, rng.range(15, 50) * 1_000_000),
            (BusinessRole::Supervisor, 0),
        ],
    };
    add_entity(ctx, rng, fam, owner, e);
}

fn high_deposits(_ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    let total = far_above_asset_limit(rng, fam);
    let d = &mut fam.members[owner];
    d.rec
        .pboc
        .accounts
        .push(account(rng, names::BANKS[1], AccountType::Time, total));
    let demand = rng.range(100, 600) * 10_000;
    d.rec
        .pboc
        .accounts
        .push(account(rng, names::BANKS[0], AccountType::Demand, demand));
}

fn financial_products(_ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, .. } = at;
    let total = far_above_asset_limit(rng, fam);
    let d = &mut fam.members[owner];
    d.rec.pboc.products.push(FinancialProduct {
        issuer: rng.pick(names::PRODUCT_ISSUERS).to_string(),
        kind: "理财".to_owned(),
        value_fen: total / 10_000 * 6_000,
    });
    d.rec.pboc.products.push(FinancialProduct {
        issuer: rng.pick(names::FUND_ISSUERS).to_string(),
        kind: "基金".to_owned(),
        value_fen: total / 10_000 * 2_500,
    });
    let securities = total / 10_000 * 1_500;
    d.rec
        .pboc
        .accounts
        .push(account(rng, "华安证券德江营业部", AccountType::Securities, securities));
}

fn high_income(_ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, _at: At) {
    for i in fam.couple() {
        let wage = rng.range(65, 120) * 10_000;
        let employer = *rng.pick(names::EMPLOYERS);
        let months_paid = rng.range(36, 120);
        let d = &mut fam.members[i];
        d.rec.tax = vec![TaxStream {
            category: IncomeCategory::Wages,
            monthly_fen: wage,
            months: ALL_MONTHS,
        }];
        employee_insurance(&mut d.rec.hrss, wage, employer, true);
        let contribution = wage * 24 / 100 / 100 * 100;
        d.rec.fund = vec![FundEntry {
            account: FundAccount {
                status: FundAccountStatus::Contributing as i32,
                balance_fen: contribution * months_paid,
                monthly_contribution_fen: contribution,
                employer: employer.to_owned(),
                withdrawals_in_window_fen: 0,
            },
            withdrawals: Vec::new(),
        }];
    }
}

fn commercial_property(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let acquired = ctx.past_date(rng, OLD_DAYS + 400, 12 * 365, owner_birth);
    let location = format!("德江县青龙街道{}{}号门面", rng.pick(names::ROADS), rng.range(1, 300));
    add_property(
        ctx,
        fam,
        &[owner],
        PropertyUse::Commercial,
        rng.range(3_000, 9_000),
        acquired,
        location,
    );
    let rent = rng.range(12, 30) * 10_000;
    fam.members[owner].rec.tax.push(TaxStream {
        category: IncomeCategory::Property,
        monthly_fen: rent,
        months: ALL_MONTHS,
    });
}

fn multiple_homes(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { owner, owner_birth, .. } = at;
    let acquired = ctx.past_date(rng, OLD_DAYS + 300, 9 * 365, owner_birth);
    let location = flat_location(rng);
    add_property(
        ctx,
        fam,
        &[owner],
        PropertyUse::Residential,
        rng.range(8_000, 13_000),
        acquired,
        location,
    );
    if fam.residence == Residence::Urban || rng.chance(50) {
        let acquired = ctx.past_date(rng, OLD_DAYS + 300, 12 * 365, owner_birth);
        let location = flat_location(rng);
        add_property(
            ctx,
            fam,
            &[owner],
            PropertyUse::Residential,
            rng.range(6_000, 10_000),
            acquired,
            location,
        );
    }
}

fn deceased_member(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, _at: At) {
    // The elderly parent died a few months ago; the register shows it
    // but the pension office has not stopped the pension.
    let i = fam.index_of(Relation::Parent).expect("the composition forces a parent");
    fam.members[i].deceased = Some(ctx.days_ago(rng.range(60, 200)));
    let d = &mut fam.members[i];
    if !d.rec.hrss.iter().any(|r| r.state == InsuranceState::Receiving as i32) {
        d.rec.hrss.insert(
            0,
            InsuranceRecord {
                insurance_type: InsuranceType::Pension as i32,
                state: InsuranceState::Receiving as i32,
                monthly_base_fen: 0,
                monthly_benefit_fen: rng.range(130, 210) * 100,
                employer: String::new(),
            },
        );
    }
}

fn departments_disagree(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, _at: At) {
    // The spouse died a few months ago, yet an employer still files
    // wages for them every month.
    let i = fam.index_of(Relation::Spouse).expect("the composition forces a spouse");
    fam.members[i].deceased = Some(ctx.days_ago(rng.range(100, 160)));
    let cap = fam.members.len() as i64 * fam.standard_fen() * 45 / 100;
    let wage = (rng.range(150, 220) * 1_000).min(cap) / 100 * 100;
    let employer = *rng.pick(names::EMPLOYERS);
    let d = &mut fam.members[i];
    d.rec.tax = vec![TaxStream {
        category: IncomeCategory::Wages,
        monthly_fen: wage,
        months: ALL_MONTHS,
    }];
    employee_insurance(&mut d.rec.hrss, wage, employer, false);
}

fn name_mismatch(_ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, _at: At) {
    let i = fam.index_of(Relation::Spouse).unwrap_or(0);
    let claimed = misspelled(rng, &fam.members[i].rec.register_name, fam.members[i].male);
    fam.members[i].claimed = Some(claimed);
}

fn id_not_found(_ctx: &mut Ctx, _rng: &mut Rng, fam: &mut Fam, _at: At) {
    let i = fam
        .members
        .iter()
        .rposition(|d| d.relation != Relation::Applicant)
        .unwrap_or(0);
    fam.members[i].unknown = true;
}

fn source_offline(ctx: &mut Ctx, _rng: &mut Rng, fam: &mut Fam, at: At) {
    let At { ordinal, .. } = at;
    let fault = if ordinal.is_multiple_of(2) {
        (Department::Pboc, SandboxFault::Timeout)
    } else {
        (Department::Hrss, SandboxFault::Unavailable)
    };
    for d in &fam.members {
        ctx.roster.faults.push((d.rec.id_number.clone(), fault.0, fault.1));
    }
}

/// The register name with the last character of the given name replaced, the
/// way a homophone or a typing slip changes a name on a form.
pub(super) fn misspelled(rng: &mut Rng, name: &str, male: bool) -> String {
    let chars = if male { names::MALE_CHARS } else { names::FEMALE_CHARS };
    let mut kept: Vec<char> = name.chars().collect();
    let last = kept.pop().expect("names have at least two characters");
    loop {
        let replacement = rng.pick(chars).chars().next().expect("one character");
        if replacement != last {
            kept.push(replacement);
            return kept.into_iter().collect();
        }
    }
}

/// A family that rented until about three months ago and then signed a
/// commercial-housing contract; the title was registered a little later and
/// the down payment came partly from the provident fund.
fn recent_home_purchase(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, _at: At) {
    let signed = ctx.days_ago(rng.range(80, 100));
    let registered = signed + Days::new(rng.range(7, 25) as u64);
    let area_m2 = rng.range(80, 125);
    let area = area_m2 * 100;
    // Yuan per square metre, a typical county-seat price, times 100 fen.
    let price = area_m2 * rng.range(3_500, 4_800) * 100;
    let location = format!(
        "德江县青龙街道{}小区{}栋{}",
        rng.pick(names::TRADE_NAMES),
        rng.range(1, 15),
        rng.range(2, 26) * 100 + rng.range(1, 4)
    );
    let buyers = fam.couple();
    let contract = ctx.contract(signed);
    for &b in &buyers {
        fam.members[b].rec.housing.purchases.push(PurchaseContract {
            contract_number: contract.clone(),
            location: location.clone(),
            floor_area_centi_m2: area,
            price_fen: price,
            signed_date: fmt_date(signed),
        });
    }
    add_property(ctx, fam, &buyers, PropertyUse::Residential, area, registered, location);
    let lease_start = ctx.past_date(rng, 2 * 365, 5 * 365, Some((fam.members[0].birth, 18)));
    fam.members[0].rec.housing.leases.push(Lease {
        location: flat_location(rng),
        monthly_rent_fen: rng.range(5, 9) * 10_000,
        start_date: fmt_date(lease_start),
        end_date: fmt_date(
            signed
                .checked_sub_days(Days::new(rng.range(1, 20) as u64))
                .unwrap_or(signed),
        ),
    });
    let withdrawn = rng.range(20, 40) * 100_000;
    let employer = *rng.pick(names::EMPLOYERS);
    let balance = rng.range(5, 30) * 10_000;
    fam.members[0].rec.fund = vec![FundEntry {
        account: FundAccount {
            status: FundAccountStatus::Suspended as i32,
            balance_fen: balance,
            monthly_contribution_fen: 0,
            employer: employer.to_owned(),
            withdrawals_in_window_fen: 0,
        },
        withdrawals: vec![(signed, withdrawn)],
    }];
}
