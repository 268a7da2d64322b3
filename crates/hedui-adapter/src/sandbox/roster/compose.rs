//! Who lives in a household: its shape for a scenario, its members' ages,
//! names and relations, its address and its home.

use super::*;

/// A household size between 1 and 8, weighted towards 3 and 4.
pub(super) fn general_size(rng: &mut Rng) -> usize {
    match rng.range(0, 99) {
        0..=9 => 1,
        10..=27 => 2,
        28..=49 => 3,
        50..=71 => 4,
        72..=85 => 5,
        86..=93 => 6,
        94..=97 => 7,
        _ => 8,
    }
}

/// An applicant age range that lets a household of `size` hold the
/// generations it needs.
pub(super) fn applicant_ages(size: usize) -> (i64, i64) {
    match size {
        1 | 2 => (24, 78),
        3..=5 => (28, 58),
        _ => (46, 62),
    }
}

/// Residence, composition, housing and Chinese description of a scenario.
pub(super) fn shape(
    rng: &mut Rng,
    scenario: Scenario,
    ordinal: usize,
) -> (Residence, Composition, Housing, &'static str) {
    use Residence::{Rural, Urban};
    let general = |rng: &mut Rng| {
        let size = general_size(rng);
        Composition::General {
            size,
            age: applicant_ages(size),
            spouse: None,
            parents: false,
        }
    };
    let with_spouse = |rng: &mut Rng, lo: usize, hi: usize, age: (i64, i64)| Composition::General {
        size: rng.range(lo as i64, hi as i64) as usize,
        age,
        spouse: Some(true),
        parents: false,
    };
    let zh = scenario.zh();
    match scenario {
        Scenario::Qualifies => match rng.range(0, 99) {
            0..=44 => (Rural, general(rng), Housing::Homestead, ZH_RURAL),
            45..=64 => (Urban, general(rng), Housing::OwnFlat, ZH_URBAN_FLAT),
            65..=79 => (Urban, general(rng), Housing::Lease, ZH_URBAN_LEASE),
            80..=86 => (Rural, Composition::Grandparents, Housing::Homestead, ZH_GRANDPARENTS),
            87..=93 => {
                let residence = if rng.chance(50) { Urban } else { Rural };
                let housing = if residence == Urban {
                    Housing::OwnFlat
                } else {
                    Housing::Homestead
                };
                (residence, Composition::DisabledAdult, housing, ZH_DISABLED)
            }
            _ => (Urban, general(rng), Housing::Lease, ZH_MIGRANT),
        },
        Scenario::Pensioner => {
            let size = match rng.range(0, 9) {
                0..=3 => 1,
                4..=7 => 2,
                _ => 3,
            };
            let residence = if rng.chance(35) { Urban } else { Rural };
            let housing = if residence == Urban {
                Housing::OwnFlat
            } else {
                Housing::Homestead
            };
            (residence, Composition::Elderly { size }, housing, zh)
        }
        Scenario::PublicRental => (Urban, general(rng), Housing::PublicRental, zh),
        Scenario::LargeHousehold => (Rural, Composition::Large, Housing::Homestead, zh),
        Scenario::ExemptVehicles | Scenario::DangerHouseRenovation => {
            let size = rng.range(2, 5) as usize;
            (
                Rural,
                Composition::General {
                    size,
                    age: (32, 58),
                    spouse: None,
                    parents: false,
                },
                Housing::Homestead,
                zh,
            )
        }
        Scenario::HighIncome => (Urban, with_spouse(rng, 2, 4, (28, 48)), Housing::OwnFlat, zh),
        Scenario::RecentHomePurchase => (Urban, with_spouse(rng, 2, 4, (26, 45)), Housing::Nothing, zh),
        Scenario::DeceasedMember => {
            let size = rng.range(3, 6) as usize;
            let residence = if ordinal.is_multiple_of(2) { Rural } else { Urban };
            let housing = if residence == Urban {
                Housing::OwnFlat
            } else {
                Housing::Homestead
            };
            (
                residence,
                Composition::General {
                    size,
                    age: (40, 55),
                    spouse: None,
                    parents: true,
                },
                housing,
                zh,
            )
        }
        Scenario::DepartmentsDisagree => (Rural, with_spouse(rng, 3, 5, (32, 50)), Housing::Homestead, zh),
        Scenario::NameMismatch | Scenario::IdNotFound => {
            let residence = if rng.chance(50) { Urban } else { Rural };
            let housing = if residence == Urban {
                Housing::Lease
            } else {
                Housing::Homestead
            };
            (residence, with_spouse(rng, 2, 5, (28, 60)), housing, zh)
        }
        Scenario::CarOwner
        | Scenario::TruckOwner
        | Scenario::RecentCarPurchase
        | Scenario::BusinessOwner
        | Scenario::IndividualBusiness
        | Scenario::LargeIndividualBusiness
        | Scenario::Investor
        | Scenario::HighDeposits
        | Scenario::FinancialProducts
        | Scenario::CommercialProperty
        | Scenario::MultipleHomes
        | Scenario::BusinessDeregistered
        | Scenario::CarDeregistered => {
            // Scenarios about an adult's possessions need an adult applicant
            // of working age.
            let size = rng.range(1, 5) as usize;
            let comp = Composition::General {
                size,
                age: (28, 58),
                spouse: None,
                parents: false,
            };
            if rng.chance(45) {
                (Urban, comp, Housing::OwnFlat, zh)
            } else {
                (Rural, comp, Housing::Homestead, zh)
            }
        }
        Scenario::MotorcycleOnly | Scenario::NoTaxRecord | Scenario::SourceOffline => {
            let size = rng.range(1, 6) as usize;
            let comp = Composition::General {
                size,
                age: applicant_ages(size),
                spouse: None,
                parents: false,
            };
            if rng.chance(30) {
                (Urban, comp, Housing::Lease, zh)
            } else {
                (Rural, comp, Housing::Homestead, zh)
            }
        }
    }
}

/// The members' relations, ages and sexes for a composition.
pub(super) fn compose(rng: &mut Rng, composition: Composition) -> Vec<Slot> {
    match composition {
        Composition::General {
            size,
            age,
            spouse,
            parents,
        } => compose_general(rng, size, age, spouse, parents),
        Composition::Grandparents => {
            let mut v = vec![Slot::new(Relation::Applicant, rng.range(18, 24), rng.chance(50))];
            let grandfather = rng.chance(70);
            if grandfather {
                v.push(Slot::new(Relation::Grandparent, rng.range(68, 84), true));
            }
            if !grandfather || rng.chance(70) {
                v.push(Slot::new(Relation::Grandparent, rng.range(66, 84), false));
            }
            if rng.chance(50) {
                v.push(Slot::new(Relation::Sibling, rng.range(9, 17), rng.chance(50)));
            }
            v
        }
        Composition::DisabledAdult => {
            let a = rng.range(50, 68);
            let male = rng.chance(50);
            let mut v = vec![Slot::new(Relation::Applicant, a, male)];
            let mut youngest = a;
            if rng.chance(60) {
                let s = (a + rng.range(-4, 4)).max(46);
                youngest = youngest.min(s);
                v.push(Slot::new(Relation::Spouse, s, !male));
            }
            let mut child = Slot::new(Relation::Child, rng.range(20, (youngest - 20).min(40)), rng.chance(50));
            child.lacks_capacity = true;
            v.push(child);
            v
        }
        Composition::Elderly { size } => {
            let a = rng.range(62, 86);
            let male = rng.chance(50);
            let mut v = vec![Slot::new(Relation::Applicant, a, male)];
            if size >= 2 {
                v.push(Slot::new(Relation::Spouse, (a + rng.range(-4, 4)).max(60), !male));
            }
            if size >= 3 {
                v.push(Slot::new(Relation::Grandchild, rng.range(6, 15), rng.chance(50)));
            }
            v
        }
        Composition::Large => compose_large(rng),
    }
}

/// Fills `size` places around an applicant aged within `age`: spouse,
/// perhaps parents, children, then a married child's spouse and children,
/// and siblings or other relatives for whatever is left. Ages keep every
/// parent at least 20 years older than their children.
pub(super) fn compose_general(
    rng: &mut Rng,
    size: usize,
    age: (i64, i64),
    spouse: Option<bool>,
    parents: bool,
) -> Vec<Slot> {
    let a_age = rng.range(age.0, age.1);
    let a_male = rng.chance(55);
    let mut v = vec![Slot::new(Relation::Applicant, a_age, a_male)];
    let with_spouse = size >= 2 && spouse.unwrap_or_else(|| size >= 4 || rng.chance(80));
    let mut youngest_parent = a_age;
    if with_spouse {
        let s = (a_age + rng.range(-5, 5)).max(20);
        youngest_parent = youngest_parent.min(s);
        v.push(Slot::new(Relation::Spouse, s, !a_male));
    }
    let wants_parents = parents || (a_age <= 50 && size >= v.len() + 2 && rng.chance(35));
    if wants_parents && size > v.len() {
        let father = (a_age + rng.range(26, 34)).min(96);
        v.push(Slot::new(Relation::Parent, father, true));
        if size > v.len() && rng.chance(70) {
            let mother = (father - rng.range(0, 4)).max(a_age + 22);
            v.push(Slot::new(Relation::Parent, mother, false));
        }
    }
    let oldest_child = youngest_parent - 20;
    let youngest_child = (youngest_parent - 45).max(1);
    if oldest_child >= youngest_child && size > v.len() {
        let free = size - v.len();
        let n = if free <= 3 { free } else { rng.range(2, 4) as usize };
        let mut ages: Vec<i64> = (0..n).map(|_| rng.range(youngest_child, oldest_child)).collect();
        ages.sort_unstable_by(|a, b| b.cmp(a));
        for child_age in ages {
            let male = rng.chance(52);
            v.push(Slot::new(Relation::Child, child_age, male));
        }
    }
    let married = v
        .iter()
        .find(|s| s.relation == Relation::Child && s.age >= 22)
        .map(|s| (s.age, s.male));
    if let Some((child_age, child_male)) = married.filter(|_| size > v.len()) {
        let in_law = (child_age + rng.range(-3, 3)).max(20);
        v.push(Slot::new(Relation::ChildInLaw, in_law, !child_male));
        let top = child_age.min(in_law) - 20;
        let mut grandchildren = 0;
        while top >= 1 && size > v.len() && grandchildren < 3 {
            let male = rng.chance(52);
            v.push(Slot::new(Relation::Grandchild, rng.range(1, top), male));
            grandchildren += 1;
        }
    }
    let mut siblings = 0;
    while size > v.len() {
        if siblings < 2 {
            let male = rng.chance(50);
            v.push(Slot::new(Relation::Sibling, (a_age + rng.range(-8, 8)).max(1), male));
            siblings += 1;
        } else {
            let male = rng.chance(50);
            v.push(Slot::new(Relation::Other, rng.range(5, 40), male));
        }
    }
    v
}

/// The 30-member household: a couple in their sixties with the husband's
/// parents, six married children with their spouses, ten grandchildren and
/// four of the applicant's siblings.
pub(super) fn compose_large(rng: &mut Rng) -> Vec<Slot> {
    let a = rng.range(60, 64);
    let mut v = vec![
        Slot::new(Relation::Applicant, a, true),
        Slot::new(Relation::Spouse, a - 2, false),
    ];
    v.push(Slot::new(Relation::Parent, a + 27, true));
    v.push(Slot::new(Relation::Parent, a + 25, false));
    let mut children = Vec::new();
    for k in 0..6 {
        let age = a - 2 - 21 - k * 2;
        let male = k % 2 == 0;
        children.push((age, male));
        v.push(Slot::new(Relation::Child, age, male));
    }
    for &(age, male) in &children {
        v.push(Slot::new(Relation::ChildInLaw, age - 1, !male));
    }
    for (born, &(age, _)) in children.iter().cycle().take(10).enumerate() {
        let top = age - 1 - 20;
        v.push(Slot::new(
            Relation::Grandchild,
            rng.range(1, top.max(1)),
            born.is_multiple_of(2),
        ));
    }
    for k in 0..4 {
        v.push(Slot::new(Relation::Sibling, a - 3 - 2 * k, k % 2 == 1));
    }
    v
}

/// A given name of one or (mostly) two characters.
pub(super) fn given_name(rng: &mut Rng, male: bool) -> String {
    let chars = if male { names::MALE_CHARS } else { names::FEMALE_CHARS };
    let first = *rng.pick(chars);
    if rng.chance(20) {
        first.to_owned()
    } else {
        format!("{first}{}", rng.pick(chars))
    }
}

/// A surname different from `other`.
pub(super) fn other_surname(rng: &mut Rng, other: &str) -> &'static str {
    loop {
        let s = *rng.pick(names::SURNAMES);
        if s != other {
            return s;
        }
    }
}

/// Names, birth dates, ID numbers and an address for the slots. Children
/// take the husband's surname, the applicant's father and siblings share the
/// applicant's, and everyone else who married in brings their own.
pub(super) fn new_family(ctx: &mut Ctx, rng: &mut Rng, residence: Residence, slots: &[Slot], zh: &'static str) -> Fam {
    let applicant_surname = *rng.pick(names::SURNAMES);
    let spouse_surname = other_surname(rng, applicant_surname);
    let applicant_male = slots[0].male;
    let has_spouse = slots.iter().any(|s| s.relation == Relation::Spouse);
    let family = if applicant_male || !has_spouse {
        applicant_surname
    } else {
        spouse_surname
    };
    let (address, place) = address(rng, residence);
    let mut members = Vec::with_capacity(slots.len());
    for slot in slots {
        let surname = match slot.relation {
            Relation::Applicant | Relation::Sibling => applicant_surname,
            Relation::Spouse => spouse_surname,
            Relation::Child | Relation::Grandchild => family,
            Relation::Parent | Relation::Grandparent if slot.male => applicant_surname,
            _ => other_surname(rng, family),
        };
        let name = format!("{surname}{}", given_name(rng, slot.male));
        let birth = ctx.birth(rng, slot.age);
        let id = ctx.new_id(rng, birth, slot.male);
        members.push(Draft {
            relation: slot.relation,
            age: slot.age,
            male: slot.male,
            birth,
            lacks_capacity: slot.lacks_capacity,
            claimed: None,
            deceased: None,
            unknown: false,
            vehicles: Vec::new(),
            rec: PersonRecord {
                register_name: name,
                id_number: id,
                ..PersonRecord::default()
            },
        });
    }
    let hukou_type = if residence == Residence::Urban {
        HukouType::Urban
    } else {
        HukouType::Rural
    };
    Fam {
        residence,
        hukou_type,
        address,
        place,
        members,
        zh,
    }
}

/// A registered address and the township or subdistrict it lies in.
pub(super) fn address(rng: &mut Rng, residence: Residence) -> (String, String) {
    if residence == Residence::Urban {
        let place = *rng.pick(names::SUBDISTRICTS);
        let road = rng.pick(names::ROADS);
        let address = format!("贵州省德江县{place}{road}{}号", rng.range(1, 360));
        (address, place.to_owned())
    } else {
        let place = *rng.pick(names::TOWNSHIPS);
        let village = rng.pick(names::VILLAGES);
        let address = format!("贵州省德江县{place}{village}村{}组", rng.range(1, 12));
        (address, place.to_owned())
    }
}

/// A flat's location in the county seat.
pub(super) fn flat_location(rng: &mut Rng) -> String {
    format!(
        "德江县{}{}{}号{}栋{}单元{}",
        rng.pick(names::SUBDISTRICTS),
        rng.pick(names::ROADS),
        rng.range(1, 360),
        rng.range(1, 12),
        rng.range(1, 4),
        rng.range(1, 18) * 100 + rng.range(1, 4)
    )
}

/// Adds one real-estate registration shared equally by `owners`.
pub(super) fn add_property(
    ctx: &mut Ctx,
    fam: &mut Fam,
    owners: &[usize],
    use_: PropertyUse,
    area_centi_m2: i64,
    acquired: NaiveDate,
    location: String,
) {
    let certificate = ctx.certificate(acquired);
    let share = 100 / owners.len().max(1) as u32;
    for &o in owners {
        fam.members[o].rec.properties.push(Property {
            certificate_number: certificate.clone(),
            location: location.clone(),
            r#use: use_ as i32,
            floor_area_centi_m2: area_centi_m2,
            share_percent: share,
            acquired_date: fmt_date(acquired),
        });
    }
}
