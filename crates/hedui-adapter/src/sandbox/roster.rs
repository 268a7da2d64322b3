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

/// The characters of a unified social credit code, in value order.
pub(crate) const USCC_ALPHABET: [u8; 31] = *b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The GB 32100-2015 check character of the first 17 characters of a USCC.
pub(crate) fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.bytes().zip(USCC_WEIGHTS) {
        let value = USCC_ALPHABET.iter().position(|&a| a == c)? as u32;
        sum += value * w;
    }
    Some(USCC_ALPHABET[((31 - sum % 31) % 31) as usize] as char)
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

/// A household size between 1 and 8, weighted towards 3 and 4.
fn general_size(rng: &mut Rng) -> usize {
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
fn applicant_ages(size: usize) -> (i64, i64) {
    match size {
        1 | 2 => (24, 78),
        3..=5 => (28, 58),
        _ => (46, 62),
    }
}

/// Residence, composition, housing and Chinese description of a scenario.
fn shape(rng: &mut Rng, scenario: Scenario, ordinal: usize) -> (Residence, Composition, Housing, &'static str) {
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
fn compose(rng: &mut Rng, composition: Composition) -> Vec<Slot> {
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
fn compose_general(rng: &mut Rng, size: usize, age: (i64, i64), spouse: Option<bool>, parents: bool) -> Vec<Slot> {
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
fn compose_large(rng: &mut Rng) -> Vec<Slot> {
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
fn given_name(rng: &mut Rng, male: bool) -> String {
    let chars = if male { names::MALE_CHARS } else { names::FEMALE_CHARS };
    let first = *rng.pick(chars);
    if rng.chance(20) {
        first.to_owned()
    } else {
        format!("{first}{}", rng.pick(chars))
    }
}

/// A surname different from `other`.
fn other_surname(rng: &mut Rng, other: &str) -> &'static str {
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
fn new_family(ctx: &mut Ctx, rng: &mut Rng, residence: Residence, slots: &[Slot], zh: &'static str) -> Fam {
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
fn address(rng: &mut Rng, residence: Residence) -> (String, String) {
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
fn flat_location(rng: &mut Rng) -> String {
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
fn add_property(
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

/// Resident insurance for everybody, small pensions for the elderly, a few
/// small bank accounts, and the household's home.
fn baseline(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, housing: Housing, scenario: Scenario) {
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
fn resident_insurance(rng: &mut Rng, age: i64) -> Vec<InsuranceRecord> {
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
fn small_accounts(rng: &mut Rng, age: i64) -> Vec<BankAccount> {
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
fn account(rng: &mut Rng, bank: &str, account_type: AccountType, balance_fen: i64) -> BankAccount {
    BankAccount {
        bank: bank.to_owned(),
        account_type: account_type as i32,
        balance_fen,
        masked_account_number: format!("{}{:04}", "*".repeat(15), rng.range(0, 9999)),
    }
}

/// Pensioners in town sometimes draw a small employee pension instead of
/// the resident one; it is capped so the household stays under the standard.
fn pensions(rng: &mut Rng, fam: &mut Fam) {
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
fn small_incomes(rng: &mut Rng, fam: &mut Fam) {
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
fn employee_insurance(hrss: &mut Vec<InsuranceRecord>, wage_fen: i64, employer: &str, unemployment: bool) {
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
fn add_vehicle(
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
fn entity_name(rng: &mut Rng, entity_type: EntityType) -> String {
    let trade = rng.pick(names::TRADE_NAMES);
    if entity_type == EntityType::IndividualBusiness {
        format!("德江县{trade}{}", rng.pick(names::SHOP_KINDS))
    } else {
        format!("德江县{trade}{}", rng.pick(names::COMPANY_KINDS))
    }
}

/// One market entity with the roles a person holds in it.
struct Entity {
    entity_type: EntityType,
    status: EntityStatus,
    /// Established this many days before `as_of`.
    age_days: (i64, i64),
    roles: Vec<(BusinessRole, i64)>,
}

fn add_entity(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, person: usize, e: Entity) {
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

/// Financial assets that are clearly above 24 months of the standard per
/// person, whatever the size of the household: at least three times the
/// limit.
fn far_above_asset_limit(rng: &mut Rng, fam: &Fam) -> i64 {
    let limit = fam.members.len() as i64 * fam.standard_fen() * 24;
    (limit * 3 + rng.range(0, 200_000) * 100) / 10_000 * 10_000
}

/// Adds what the scenario is about.
fn apply(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam, scenario: Scenario, ordinal: usize) {
    let owner = fam.main_adult();
    let owner_birth = Some((fam.members[owner].birth, 18));
    match scenario {
        Scenario::Qualifies
        | Scenario::Pensioner
        | Scenario::PublicRental
        | Scenario::NoTaxRecord
        | Scenario::LargeHousehold
        | Scenario::SourceOffline => {}
        Scenario::MotorcycleOnly => {
            let t = if rng.chance(70) {
                VehicleType::Motorcycle
            } else {
                VehicleType::Tricycle
            };
            let date = ctx.past_date(rng, OLD_DAYS + 100, 10 * 365, owner_birth);
            add_vehicle(ctx, rng, fam, owner, t, VehicleStatus::Active, date);
        }
        Scenario::ExemptVehicles => {
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
        Scenario::DangerHouseRenovation => {
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
        Scenario::CarDeregistered => {
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
        Scenario::BusinessDeregistered => {
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
        Scenario::CarOwner => {
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
        Scenario::TruckOwner => {
            let date = ctx.past_date(rng, OLD_DAYS + 100, 6 * 365, owner_birth);
            add_vehicle(ctx, rng, fam, owner, VehicleType::Truck, VehicleStatus::Active, date);
        }
        Scenario::RecentCarPurchase => {
            let date = ctx.days_ago(rng.range(45, 150));
            add_vehicle(ctx, rng, fam, owner, VehicleType::Car, VehicleStatus::Active, date);
        }
        Scenario::BusinessOwner => {
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
        Scenario::IndividualBusiness => {
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
        Scenario::LargeIndividualBusiness => {
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
        Scenario::Investor => {
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
        Scenario::HighDeposits => {
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
        Scenario::FinancialProducts => {
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
        Scenario::HighIncome => {
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
        Scenario::CommercialProperty => {
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
        Scenario::MultipleHomes => {
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
        Scenario::RecentHomePurchase => recent_home_purchase(ctx, rng, fam),
        Scenario::DeceasedMember => {
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
        Scenario::DepartmentsDisagree => {
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
        Scenario::NameMismatch => {
            let i = fam.index_of(Relation::Spouse).unwrap_or(0);
            let claimed = misspelled(rng, &fam.members[i].rec.register_name, fam.members[i].male);
            fam.members[i].claimed = Some(claimed);
        }
        Scenario::IdNotFound => {
            let i = fam
                .members
                .iter()
                .rposition(|d| d.relation != Relation::Applicant)
                .unwrap_or(0);
            fam.members[i].unknown = true;
        }
    }
    if scenario == Scenario::SourceOffline {
        let fault = if ordinal.is_multiple_of(2) {
            (Department::Pboc, SandboxFault::Timeout)
        } else {
            (Department::Hrss, SandboxFault::Unavailable)
        };
        for d in &fam.members {
            ctx.roster.faults.push((d.rec.id_number.clone(), fault.0, fault.1));
        }
    }
}

/// The register name with the last character of the given name replaced, the
/// way a homophone or a typing slip changes a name on a form.
fn misspelled(rng: &mut Rng, name: &str, male: bool) -> String {
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
fn recent_home_purchase(ctx: &mut Ctx, rng: &mut Rng, fam: &mut Fam) {
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
