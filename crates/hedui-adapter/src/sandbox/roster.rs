//! The fictional roster of Dejiang county households and the department data
//! behind each of them.
//!
//! Each household is built from a scenario: a composition (who lives there,
//! how old), a baseline that a household on the 低保 roll typically shows (a
//! homestead or one small flat, a few hundred yuan in the bank, resident
//! medical and pension insurance, perhaps a low wage), and then the one thing
//! the scenario is meant to show (a car, a company, a large deposit...). The
//! baseline is kept comfortably inside the example policy so that a household
//! breaks exactly the rule its scenario names and nothing else.

use std::collections::HashSet;

use chrono::{Datelike, Days, NaiveDate};
use hedui_proto::v1::{
    AccountType, BankAccount, BusinessRole, BusinessRoleRecord, Department, EntityStatus, EntityType, FinancialProduct,
    FundAccount, FundAccountStatus, Household, HukouType, IncomeCategory, InsuranceRecord, InsuranceState,
    InsuranceType, Lease, LifeStatus, Member, Property, PropertyUse, PublicRental, PublicSecurityFindings,
    PurchaseContract, Relation, Residence, SelfBuilt, Vehicle, VehicleStatus, VehicleType, Verdict,
};

use super::names;
use super::records::{ALL_MONTHS, FundEntry, PersonRecord, TaxStream, fmt_date};
use super::rng::Rng;
use super::{SandboxFault, SandboxHousehold};
use hedui_domain::ids::{USCC_ALPHABET, uscc_check_char};

mod baseline;
mod compose;
mod scenarios;

use baseline::*;
use compose::*;
use scenarios::*;

/// The seed of the whole roster. Changing it changes every name and number.
const SEED: u64 = 0x4445_4A49_414E_4721;

/// The monthly urban 低保 standard of the example policy, in fen.
pub(crate) const URBAN_STANDARD_FEN: i64 = 76_000;
/// The monthly rural 低保 standard of the example policy, in fen.
pub(crate) const RURAL_STANDARD_FEN: i64 = 58_000;

/// Days back from `as_of` before which "old" dates (homes bought, vehicles
/// registered) are placed: more than the longest income window of 24 months,
/// so that nothing but a scenario's own purchase reads as a recent
/// acquisition.
const OLD_DAYS: i64 = 800;

/// What a household was built to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Qualifies,
    Pensioner,
    MotorcycleOnly,
    ExemptVehicles,
    DangerHouseRenovation,
    PublicRental,
    NoTaxRecord,
    CarDeregistered,
    BusinessDeregistered,
    LargeHousehold,
    CarOwner,
    TruckOwner,
    RecentCarPurchase,
    BusinessOwner,
    IndividualBusiness,
    LargeIndividualBusiness,
    Investor,
    HighDeposits,
    FinancialProducts,
    HighIncome,
    CommercialProperty,
    MultipleHomes,
    RecentHomePurchase,
    DeceasedMember,
    DepartmentsDisagree,
    NameMismatch,
    IdNotFound,
    SourceOffline,
}

/// How many households of each scenario the roster holds, in the order they
/// are generated before the roster is shuffled.
pub(crate) const PLAN: [(Scenario, usize); 28] = [
    (Scenario::Qualifies, 90),
    (Scenario::Pensioner, 15),
    (Scenario::MotorcycleOnly, 10),
    (Scenario::ExemptVehicles, 4),
    (Scenario::DangerHouseRenovation, 8),
    (Scenario::PublicRental, 6),
    (Scenario::NoTaxRecord, 4),
    (Scenario::CarDeregistered, 3),
    (Scenario::BusinessDeregistered, 3),
    (Scenario::LargeHousehold, 1),
    (Scenario::CarOwner, 8),
    (Scenario::TruckOwner, 3),
    (Scenario::RecentCarPurchase, 3),
    (Scenario::BusinessOwner, 6),
    (Scenario::IndividualBusiness, 3),
    (Scenario::LargeIndividualBusiness, 2),
    (Scenario::Investor, 3),
    (Scenario::HighDeposits, 6),
    (Scenario::FinancialProducts, 3),
    (Scenario::HighIncome, 8),
    (Scenario::CommercialProperty, 3),
    (Scenario::MultipleHomes, 4),
    (Scenario::RecentHomePurchase, 4),
    (Scenario::DeceasedMember, 3),
    (Scenario::DepartmentsDisagree, 2),
    (Scenario::NameMismatch, 3),
    (Scenario::IdNotFound, 2),
    (Scenario::SourceOffline, 2),
];

impl Scenario {
    /// The short English slug shown in the demo.
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Scenario::Qualifies => "qualifies",
            Scenario::Pensioner => "pensioner",
            Scenario::MotorcycleOnly => "motorcycle-only",
            Scenario::ExemptVehicles => "exempt-vehicles",
            Scenario::DangerHouseRenovation => "danger-house-renovation",
            Scenario::PublicRental => "public-rental",
            Scenario::NoTaxRecord => "no-tax-record",
            Scenario::CarDeregistered => "car-deregistered",
            Scenario::BusinessDeregistered => "business-deregistered",
            Scenario::LargeHousehold => "large-household",
            Scenario::CarOwner => "car-owner",
            Scenario::TruckOwner => "truck-owner",
            Scenario::RecentCarPurchase => "recent-car-purchase",
            Scenario::BusinessOwner => "business-owner",
            Scenario::IndividualBusiness => "individual-business",
            Scenario::LargeIndividualBusiness => "shop-large-capital",
            Scenario::Investor => "investor",
            Scenario::HighDeposits => "high-deposits",
            Scenario::FinancialProducts => "financial-products",
            Scenario::HighIncome => "high-income",
            Scenario::CommercialProperty => "commercial-property",
            Scenario::MultipleHomes => "multiple-homes",
            Scenario::RecentHomePurchase => "recent-home-purchase",
            Scenario::DeceasedMember => "deceased-member",
            Scenario::DepartmentsDisagree => "departments-disagree",
            Scenario::NameMismatch => "name-mismatch",
            Scenario::IdNotFound => "id-not-found",
            Scenario::SourceOffline => "source-offline",
        }
    }

    /// The one-line Chinese description for the demo table. Plain
    /// "qualifies" households get a line that fits their composition instead.
    fn zh(self) -> &'static str {
        match self {
            Scenario::Qualifies => "家庭无车无房，收入低于标准",
            Scenario::Pensioner => "老年家庭，仅领取少量养老金",
            Scenario::MotorcycleOnly => "仅有摩托车或三轮车（豁免车辆），收入低于标准",
            Scenario::ExemptVehicles => "仅有农用车和残疾人专用车（豁免车辆）",
            Scenario::DangerHouseRenovation => "农村危房改造户，一处宅基地，收入低于标准",
            Scenario::PublicRental => "城镇家庭住公租房，收入低于标准",
            Scenario::NoTaxRecord => "全家在税务局无任何纳税记录",
            Scenario::CarDeregistered => "名下汽车已注销报废，不计入车辆",
            Scenario::BusinessDeregistered => "曾任已注销企业的法定代表人，不计入经营",
            Scenario::LargeHousehold => "三十人大家庭，人均收入低于标准",
            Scenario::CarOwner => "家庭成员名下有正常使用的小型汽车",
            Scenario::TruckOwner => "家庭成员名下有正常使用的货车",
            Scenario::RecentCarPurchase => "核对期内新购小型汽车",
            Scenario::BusinessOwner => "家庭成员担任在营企业法定代表人或高级管理人员",
            Scenario::IndividualBusiness => "经营小型个体工商户（小卖部等），经营所得较低",
            Scenario::LargeIndividualBusiness => "经营个体工商户，认缴资金超过十万元",
            Scenario::Investor => "家庭成员为在营企业股东，认缴出资超过十万元",
            Scenario::HighDeposits => "银行存款远超人均24个月低保标准",
            Scenario::FinancialProducts => "持有大额理财、基金和证券资金",
            Scenario::HighIncome => "夫妻双职工，工资、公积金、社保齐全，收入高于标准",
            Scenario::CommercialProperty => "名下有商业用房（门面）",
            Scenario::MultipleHomes => "名下有两套及以上住房",
            Scenario::RecentHomePurchase => "申请前三个月内网签购买商品房",
            Scenario::DeceasedMember => "成员已死亡注销户口，人社仍在发放养老金",
            Scenario::DepartmentsDisagree => "成员已死亡，税务仍有死亡后的工资申报",
            Scenario::NameMismatch => "申报姓名与户籍登记姓名不一致",
            Scenario::IdNotFound => "成员身份证号在公安户籍中查无此人",
            Scenario::SourceOffline => "演示：部门接口超时或不可用，核对不完整",
        }
    }

    /// The verdict the household should get under the example policy.
    pub(crate) fn expected(self) -> Verdict {
        match self {
            Scenario::Qualifies
            | Scenario::Pensioner
            | Scenario::MotorcycleOnly
            | Scenario::ExemptVehicles
            | Scenario::DangerHouseRenovation
            | Scenario::PublicRental
            | Scenario::NoTaxRecord
            | Scenario::CarDeregistered
            | Scenario::BusinessDeregistered
            | Scenario::LargeHousehold => Verdict::MeetsCriteria,
            Scenario::CarOwner
            | Scenario::TruckOwner
            | Scenario::RecentCarPurchase
            | Scenario::BusinessOwner
            | Scenario::LargeIndividualBusiness
            | Scenario::Investor
            | Scenario::HighDeposits
            | Scenario::FinancialProducts
            | Scenario::HighIncome
            | Scenario::CommercialProperty => Verdict::DoesNotMeet,
            // The example policy sends a second home and a small shop to a
            // home visit rather than refusing outright.
            Scenario::MultipleHomes
            | Scenario::IndividualBusiness
            | Scenario::RecentHomePurchase
            | Scenario::DeceasedMember
            | Scenario::DepartmentsDisagree
            | Scenario::NameMismatch
            | Scenario::IdNotFound => Verdict::NeedsReview,
            Scenario::SourceOffline => Verdict::Incomplete,
        }
    }
}

/// The roster and every department's data.
pub(crate) struct Roster {
    /// The households, in roster order.
    pub households: Vec<SandboxHousehold>,
    /// Every person of every household, as the departments hold them.
    pub persons: Vec<PersonRecord>,
    /// Failures to simulate: ID number, department, fault.
    pub faults: Vec<(String, Department, SandboxFault)>,
}

/// Builds the roster for `as_of`.
pub(crate) fn build(as_of: NaiveDate) -> Roster {
    let mut plan: Vec<(Scenario, usize)> = PLAN
        .iter()
        .flat_map(|&(s, n)| (0..n).map(move |ordinal| (s, ordinal)))
        .collect();
    // Shuffling mixes the special cases into the roster the way they would
    // come in, instead of in blocks; the seed keeps the order fixed.
    Rng::new(SEED).shuffle(&mut plan);
    let mut ctx = Ctx {
        as_of,
        ids: HashSet::new(),
        plates: HashSet::new(),
        usccs: HashSet::new(),
        next_certificate: 1_200,
        next_contract: 300,
        roster: Roster {
            households: Vec::new(),
            persons: Vec::new(),
            faults: Vec::new(),
        },
    };
    for (index, &(scenario, ordinal)) in plan.iter().enumerate() {
        // Every household has its own generator, so that changing one
        // scenario does not reshuffle the names and numbers of all others.
        let mut rng = Rng::new(SEED ^ (index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
        let household = build_household(&mut ctx, &mut rng, index, scenario, ordinal);
        ctx.roster.households.push(household);
    }
    ctx.roster
}

/// State shared across households: the data date, the identifiers already
/// handed out (they must be unique over the whole roster) and the output.
struct Ctx {
    as_of: NaiveDate,
    ids: HashSet<String>,
    plates: HashSet<String>,
    usccs: HashSet<String>,
    next_certificate: u32,
    next_contract: u32,
    roster: Roster,
}

impl Ctx {
    /// The date `days` days before `as_of`.
    fn days_ago(&self, days: i64) -> NaiveDate {
        self.as_of
            .checked_sub_days(Days::new(days.max(0) as u64))
            .unwrap_or(NaiveDate::MIN)
    }

    /// A date between `lo` and `hi` days before `as_of`, but not before the
    /// person was `min_age` years old when their birth date is given.
    fn past_date(&self, rng: &mut Rng, lo: i64, hi: i64, birth: Option<(NaiveDate, i64)>) -> NaiveDate {
        let mut hi = hi;
        if let Some((b, min_age)) = birth {
            let allowed = (self.as_of - b).num_days() - min_age * 366;
            hi = hi.min(allowed);
        }
        self.days_ago(rng.range(lo, hi.max(lo)))
    }

    /// A birth date for someone `age` years old on `as_of`.
    fn birth(&self, rng: &mut Rng, age: i64) -> NaiveDate {
        let year = self.as_of.year() - age.max(1) as i32;
        let month = rng.range(1, 12) as u32;
        let day = rng.range(1, 28) as u32;
        NaiveDate::from_ymd_opt(year, month, day).expect("day 1 to 28 exists in every month")
    }

    /// A new resident ID number (GB 11643-1999), unique over the roster.
    /// People born in 2011 or later carry the Dejiang code 520626; older
    /// people keep 522226, the code of the former Tongren prefecture.
    fn new_id(&mut self, rng: &mut Rng, birth: NaiveDate, male: bool) -> String {
        let area = if birth.year() >= 2011 { "520626" } else { "522226" };
        loop {
            // The sequence number is odd for men and even for women.
            let mut seq = rng.range(1, 999);
            if (seq % 2 == 1) != male {
                seq = if seq == 999 { 998 } else { seq + 1 };
            }
            let first17 = format!(
                "{area}{:04}{:02}{:02}{seq:03}",
                birth.year(),
                birth.month(),
                birth.day()
            );
            let check = hedui_domain::ids::resident_check_char(&first17).expect("17 digits");
            let id = format!("{first17}{check}");
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    /// A new number plate under 贵D, the Tongren prefix: a letter and four
    /// characters for cars and trucks, five digits for everything else.
    fn new_plate(&mut self, rng: &mut Rng, vehicle_type: VehicleType) -> String {
        const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        loop {
            let plate = match vehicle_type {
                VehicleType::Car | VehicleType::Truck => {
                    format!("贵D{}{:04}", *rng.pick(LETTERS) as char, rng.range(0, 9999))
                }
                _ => format!("贵D{:05}", rng.range(0, 99_999)),
            };
            if self.plates.insert(plate.clone()) {
                return plate;
            }
        }
    }

    /// A new unified social credit code (GB 32100-2015) registered in
    /// Dejiang: "9" (market supervision), "1" for an enterprise or "2" for an
    /// individual business, the area code, a nine-character organisation code
    /// with its own GB 11714 check character, and the overall check character.
    fn new_uscc(&mut self, rng: &mut Rng, entity_type: EntityType) -> String {
        let kind = if entity_type == EntityType::IndividualBusiness {
            "92"
        } else {
            "91"
        };
        loop {
            let mut body = String::from("MA");
            for _ in 0..6 {
                // Only characters of the USCC alphabet may appear anywhere in
                // the code.
                body.push(*rng.pick(&USCC_ALPHABET[..]) as char);
            }
            body.push(org_code_check(&body));
            let first17 = format!("{kind}520626{body}");
            let id = format!(
                "{first17}{}",
                uscc_check_char(&first17).expect("built from the alphabet")
            );
            if self.usccs.insert(id.clone()) {
                return id;
            }
        }
    }

    /// A new real-estate certificate number in the Guizhou format.
    fn certificate(&mut self, acquired: NaiveDate) -> String {
        self.next_certificate += 17;
        // Unified real-estate certificates replaced the old ones from 2016,
        // so older holdings carry a certificate from the re-registration.
        let year = acquired.year().max(2016).min(self.as_of.year());
        format!("黔（{year}）德江县不动产权第{:07}号", self.next_certificate)
    }

    /// A new commercial-housing contract number.
    fn contract(&mut self, signed: NaiveDate) -> String {
        self.next_contract += 1;
        format!("DJWQ{}{:06}", signed.year(), self.next_contract)
    }
}

/// The GB 11714 check character of an eight-character organisation code
/// body: digits count as themselves and letters from A = 10 up.
fn org_code_check(body: &str) -> char {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(c, w)| {
            w * if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A') + 10
            }
        })
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).expect("below 10"),
    }
}

/// A member's place in the household, before names and numbers.
#[derive(Debug, Clone, Copy)]
struct Slot {
    relation: Relation,
    age: i64,
    male: bool,
    lacks_capacity: bool,
}

impl Slot {
    fn new(relation: Relation, age: i64, male: bool) -> Slot {
        Slot {
            relation,
            age,
            male,
            lacks_capacity: false,
        }
    }
}

/// One member while the household is being built.
struct Draft {
    relation: Relation,
    age: i64,
    male: bool,
    birth: NaiveDate,
    lacks_capacity: bool,
    /// The name the household gives, when it differs from the register.
    claimed: Option<String>,
    deceased: Option<NaiveDate>,
    /// No department knows this ID number.
    unknown: bool,
    vehicles: Vec<Vehicle>,
    rec: PersonRecord,
}

impl Draft {
    fn alive(&self) -> bool {
        self.deceased.is_none()
    }

    fn working_age(&self) -> bool {
        self.alive() && (18..=59).contains(&self.age)
    }

    fn adult(&self) -> bool {
        self.alive() && self.age >= 18
    }
}

/// How the household is housed before the scenario adds anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Housing {
    /// A rural homestead (宅基地).
    Homestead,
    /// One small flat in the county seat.
    OwnFlat,
    /// A registered lease.
    Lease,
    /// A public-rental flat (公租房).
    PublicRental,
    /// No housing record; the scenario adds what it needs.
    Nothing,
}

/// Who lives in the household.
#[derive(Debug, Clone, Copy)]
enum Composition {
    /// Applicant, perhaps a spouse, parents, children, in-laws, grandchildren.
    General {
        size: usize,
        age: (i64, i64),
        spouse: Option<bool>,
        parents: bool,
    },
    /// A young adult living with grandparents.
    Grandparents,
    /// Parents with an adult child who lacks legal capacity.
    DisabledAdult,
    /// One or two elderly people, perhaps with a left-behind grandchild.
    Elderly { size: usize },
    /// The 30-member household.
    Large,
}

/// The household while it is being built.
struct Fam {
    residence: Residence,
    hukou_type: HukouType,
    address: String,
    /// The township or subdistrict, for locations of homes.
    place: String,
    members: Vec<Draft>,
    zh: &'static str,
}

impl Fam {
    /// The monthly 低保 standard that applies to the household, in fen.
    fn standard_fen(&self) -> i64 {
        if self.residence == Residence::Urban {
            URBAN_STANDARD_FEN
        } else {
            RURAL_STANDARD_FEN
        }
    }

    fn index_of(&self, relation: Relation) -> Option<usize> {
        self.members.iter().position(|d| d.relation == relation)
    }

    /// The applicant, or the spouse, whichever is an adult first; the
    /// applicant in the worst case. Vehicles, companies and money go to them.
    fn main_adult(&self) -> usize {
        [Relation::Applicant, Relation::Spouse]
            .iter()
            .filter_map(|r| self.index_of(*r))
            .find(|&i| self.members[i].adult())
            .unwrap_or(0)
    }

    /// The applicant and the spouse, when they hold something jointly.
    fn couple(&self) -> Vec<usize> {
        let mut v = vec![0];
        if let Some(s) = self.index_of(Relation::Spouse).filter(|&s| self.members[s].adult()) {
            v.push(s);
        }
        v
    }

    /// Monthly benefits being paid to members, in fen.
    fn benefits_fen(&self) -> i64 {
        self.members
            .iter()
            .flat_map(|d| &d.rec.hrss)
            .filter(|r| r.state == InsuranceState::Receiving as i32)
            .map(|r| r.monthly_benefit_fen)
            .sum()
    }
}

fn build_household(ctx: &mut Ctx, rng: &mut Rng, index: usize, scenario: Scenario, ordinal: usize) -> SandboxHousehold {
    let (residence, composition, housing, zh) = shape(rng, scenario, ordinal);
    let slots = compose(rng, composition);
    let mut fam = new_family(ctx, rng, residence, &slots, zh);
    if zh == ZH_MIGRANT {
        // Families who moved to the county seat keep their rural
        // registration, so public security shows a rural hukou for an urban
        // household.
        fam.hukou_type = HukouType::Rural;
    }
    baseline(ctx, rng, &mut fam, housing, scenario);
    apply(ctx, rng, &mut fam, scenario, ordinal);
    finish(ctx, index, fam, scenario)
}

const ZH_RURAL: &str = "农村家庭，一处宅基地，收入低于标准";
const ZH_URBAN_FLAT: &str = "城镇家庭，一套小户型住房，收入低于标准";
const ZH_URBAN_LEASE: &str = "城镇家庭租房居住，无车无房";
const ZH_GRANDPARENTS: &str = "孙辈与祖父母共同生活，无稳定收入";
const ZH_DISABLED: &str = "成年重度残疾子女与父母共同生活";
const ZH_MIGRANT: &str = "农村户籍进城务工家庭，租房居住";

/// Chinese relation to the head of the registered household.
fn relation_to_head(d: &Draft, applicant_age: i64, head_is_spouse: bool) -> &'static str {
    match d.relation {
        Relation::Applicant if head_is_spouse => "配偶",
        Relation::Spouse if head_is_spouse => "户主",
        Relation::Applicant => "户主",
        Relation::Spouse => "配偶",
        Relation::Child => {
            if d.male {
                "子"
            } else {
                "女"
            }
        }
        Relation::Parent => {
            if d.male {
                "父亲"
            } else {
                "母亲"
            }
        }
        Relation::Grandparent => {
            if d.male {
                "祖父"
            } else {
                "祖母"
            }
        }
        Relation::Grandchild => {
            if d.male {
                "孙子"
            } else {
                "孙女"
            }
        }
        Relation::Sibling => match (d.male, d.age >= applicant_age) {
            (true, true) => "兄",
            (true, false) => "弟",
            (false, true) => "姐",
            (false, false) => "妹",
        },
        Relation::ChildInLaw => {
            if d.male {
                "女婿"
            } else {
                "儿媳"
            }
        }
        Relation::Other | Relation::Unspecified => "其他",
    }
}

/// Hands the members' records to the departments and returns the household
/// as a caseworker would submit it.
fn finish(ctx: &mut Ctx, index: usize, fam: Fam, scenario: Scenario) -> SandboxHousehold {
    let applicant_age = fam.members[0].age;
    // In a couple where the husband is the registered head, a wife who
    // applies appears as the head's spouse; relations of children and
    // grandchildren read the same either way, so this is only done when
    // nobody else is registered.
    let only_nuclear = fam.members.iter().all(|d| {
        matches!(
            d.relation,
            Relation::Applicant | Relation::Spouse | Relation::Child | Relation::ChildInLaw | Relation::Grandchild
        )
    });
    let head_is_spouse = only_nuclear
        && !fam.members[0].male
        && fam.members.iter().any(|d| d.relation == Relation::Spouse && d.alive())
        // About half of these wives are registered under their husband;
        // the household number decides, so no extra random draw is needed.
        && !index.is_multiple_of(2);
    let mut members = Vec::with_capacity(fam.members.len());
    for d in fam.members {
        let name = d.claimed.clone().unwrap_or_else(|| d.rec.register_name.clone());
        members.push(Member {
            name,
            id_number: d.rec.id_number.clone(),
            relation: d.relation as i32,
            lacks_capacity: d.lacks_capacity,
        });
        let mut rec = d.rec.clone();
        if d.unknown {
            rec = PersonRecord {
                register_name: rec.register_name,
                id_number: rec.id_number,
                ..PersonRecord::default()
            };
        } else {
            rec.public_security = Some(PublicSecurityFindings {
                life_status: if d.alive() {
                    LifeStatus::Alive as i32
                } else {
                    LifeStatus::Deceased as i32
                },
                death_date: d.deceased.map(fmt_date).unwrap_or_default(),
                hukou: Some(hedui_proto::v1::Hukou {
                    address: fam.address.clone(),
                    hukou_type: fam.hukou_type as i32,
                    relation_to_head: relation_to_head(&d, applicant_age, head_is_spouse).to_owned(),
                }),
                vehicles: d.vehicles.clone(),
            });
        }
        ctx.roster.persons.push(rec);
    }
    SandboxHousehold {
        household: Household {
            household_ref: format!("DJ-{:04}", index + 1),
            residence: fam.residence as i32,
            members,
        },
        scenario: scenario.slug(),
        scenario_zh: if scenario == Scenario::Qualifies {
            fam.zh
        } else {
            scenario.zh()
        },
        expected_verdict: scenario.expected(),
    }
}
