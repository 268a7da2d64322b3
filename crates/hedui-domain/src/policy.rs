//! The county's policy as data, and its evaluation into a verdict.
//!
//! Thresholds are set locally and change every year, so a policy is a
//! versioned TOML file (see `deploy/policies/example.toml` for every key).
//! [`Policy::from_toml`] reads and validates it; [`Policy::evaluate`] applies
//! it to one checked record and returns the verdict with its reasons.
//!
//! Evaluation is pure: it reads only its input and the policy, never a file
//! or the clock, so the same record and policy always give the same verdict
//! and the same reasons in the same order. That is what lets an auditor
//! re-run a stored record against the stored policy version.
//!
//! Two principles shape the rules:
//! - **Fail closed.** A required department that did not answer (or whose
//!   outcome is missing) makes the verdict `INCOMPLETE`, whatever else the
//!   record says. An unknown residence, vehicle type or flag kind never helps
//!   the household pass silently.
//! - **Explain everything.** Every rule adds a reason, whether it fires or
//!   passes, citing the figures, so even `MEETS_CRITERIA` explains itself.
//!   Reasons never carry names or ID numbers; members are "member 2"
//!   (1-based, in the order of the record).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Months, NaiveDate};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    BusinessRole, Department, EntityStatus, EntityType, Flag, FlagKind, HouseholdSummary, MemberFindings, PropertyUse,
    Reason, Residence, SourceOutcome, SourceResult, VehicleStatus, VehicleType, Verdict,
};
use toml::{Table, Value};

use crate::department;
use crate::money::{check_fen, yuan};

/// The longest look-back or multiple, in months, that a policy may use. Ten
/// years is far beyond any published practice, so a larger number is a typo.
const MAX_MONTHS: i64 = 120;

/// The longest version string; it is stored in every record and printed in
/// reports.
const MAX_VERSION_LEN: usize = 64;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a policy file was rejected. Every variant except [`PolicyError::Syntax`]
/// names the TOML key, dotted, with `[i]` for list elements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not valid TOML.
    #[error("invalid toml: {0}")]
    Syntax(String),
    /// A key that the policy format does not define, usually a typo.
    #[error("{key}: unknown key; expected one of {expected}")]
    UnknownKey {
        /// The dotted key, for example `income.outcom`.
        key: String,
        /// The keys allowed at that place, comma-separated.
        expected: String,
    },
    /// A key that every policy must set is absent.
    #[error("{key}: missing key")]
    MissingKey {
        /// The dotted key.
        key: String,
    },
    /// A key holds a value of the wrong TOML type.
    #[error("{key}: expected {expected}, found {found}")]
    WrongType {
        /// The dotted key.
        key: String,
        /// The TOML type wanted, for example "integer".
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// A key holds a value of the right type that is not allowed.
    #[error("{key}: {message}")]
    InvalidValue {
        /// The dotted key.
        key: String,
        /// What is wrong, lower case, no trailing period.
        message: String,
    },
}

impl PolicyError {
    /// The dotted key the error is about, when it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            PolicyError::Syntax(_) => None,
            PolicyError::UnknownKey { key, .. }
            | PolicyError::MissingKey { key }
            | PolicyError::WrongType { key, .. }
            | PolicyError::InvalidValue { key, .. } => Some(key),
        }
    }
}

// ---------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------

/// What a broken rule leads to. `MEETS_CRITERIA` and `INCOMPLETE` are not
/// offered: a broken rule must never pass, and `INCOMPLETE` is reserved for
/// missing sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    DoesNotMeet,
    NeedsReview,
}

impl Outcome {
    fn verdict(self) -> Verdict {
        match self {
            Outcome::DoesNotMeet => Verdict::DoesNotMeet,
            Outcome::NeedsReview => Verdict::NeedsReview,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "does-not-meet" => Some(Outcome::DoesNotMeet),
            "needs-review" => Some(Outcome::NeedsReview),
            _ => None,
        }
    }
}

/// `[standard]`: the monthly 低保 standards.
#[derive(Debug, Clone)]
struct Standard {
    urban_monthly_fen: i64,
    rural_monthly_fen: i64,
}

/// `[income]`: per-capita monthly income against the standard.
#[derive(Debug, Clone)]
struct IncomeRule {
    meets_when_equal: bool,
    outcome: Outcome,
}

/// `[assets]`: financial assets per person against N months of the standard.
#[derive(Debug, Clone)]
struct AssetsRule {
    max_months_of_standard_per_capita: u32,
    outcome: Outcome,
}

/// `[vehicles]`: active vehicles that are not of an exempt type.
#[derive(Debug, Clone)]
struct VehiclesRule {
    exempt_types: Vec<VehicleType>,
    max_non_exempt: u32,
    outcome: Outcome,
}

/// `[real_estate]`: how many homes and commercial properties.
#[derive(Debug, Clone)]
struct RealEstateRule {
    max_residential: u32,
    residential_outcome: Outcome,
    max_commercial: u32,
    commercial_outcome: Outcome,
}

/// `[recent_purchase]`: purchases shortly before the reference date.
#[derive(Debug, Clone)]
struct RecentPurchaseRule {
    months: u32,
    property_uses: Vec<PropertyUse>,
    outcome: Outcome,
}

/// `[business]`: roles in active market entities and subscribed capital.
#[derive(Debug, Clone)]
struct BusinessRule {
    roles: Vec<BusinessRole>,
    outcome: Outcome,
    individual_business_outcome: Outcome,
    max_subscribed_capital_fen: i64,
    subscribed_capital_outcome: Outcome,
}

/// `[flags]`: which merge flags send the household to a home visit.
#[derive(Debug, Clone)]
struct FlagsRule {
    needs_review: Vec<FlagKind>,
}

/// A validated, versioned policy. Built only by [`Policy::from_toml`], so
/// every value in it has been checked.
#[derive(Debug, Clone)]
pub struct Policy {
    version: String,
    description: String,
    description_zh: String,
    required_departments: Vec<Department>,
    standard: Standard,
    income: IncomeRule,
    assets: AssetsRule,
    vehicles: VehiclesRule,
    real_estate: RealEstateRule,
    recent_purchase: RecentPurchaseRule,
    business: BusinessRule,
    flags: FlagsRule,
}

/// Everything one evaluation reads: the household's residence and the parts
/// of its checked record that the merge produced.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// Urban or rural; decides which 低保 standard applies.
    pub residence: Residence,
    /// The household-level figures computed by the merge.
    pub summary: &'a HouseholdSummary,
    /// Each member's findings, in member order; rules that need detail
    /// (vehicle types and status, business roles, purchase dates) read these.
    pub members: &'a [MemberFindings],
    /// One outcome per department that was asked.
    pub sources: &'a [SourceResult],
    /// The flags the merge raised.
    pub flags: &'a [Flag],
    /// The asset reference date; "recent" purchases are counted back from it.
    pub reference_date: NaiveDate,
}

/// The verdict of one evaluation and every reason behind it, in a fixed
/// order: sources, residence, income, assets, vehicles, real estate, recent
/// purchases, business, flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The overall verdict.
    pub verdict: Verdict,
    /// Every rule's reason, passing ones included.
    pub reasons: Vec<Reason>,
}

impl Policy {
    /// Reads and validates a policy file. Unknown keys are rejected anywhere
    /// in the file, every key except `description` and
    /// `description_zh` is required (so the file
    /// alone shows what is applied), money must not be negative, month counts
    /// must be 1 to 120, and every slug must be known.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| syntax_error(text, &e))?;
        let root = Reader::new(String::new(), &table, ROOT_KEYS)?;

        let version = root.string("version")?;
        validate_version(&root.path("version"), version)?;
        let description = root.optional_string("description")?.unwrap_or_default().to_owned();
        let description_zh = root.optional_string("description_zh")?.unwrap_or_default().to_owned();

        let required_departments = root.slug_list(
            "required_departments",
            "department",
            |s| department::parse_slug(s).ok(),
            &department_slugs(),
        )?;
        if required_departments.is_empty() {
            return Err(invalid(
                root.path("required_departments"),
                "must name at least one department",
            ));
        }

        let s = root.section("standard", STANDARD_KEYS)?;
        let standard = Standard {
            urban_monthly_fen: s.positive_money("urban_monthly_fen")?,
            rural_monthly_fen: s.positive_money("rural_monthly_fen")?,
        };

        let s = root.section("income", INCOME_KEYS)?;
        let income = IncomeRule {
            meets_when_equal: s.boolean("meets_when_equal")?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("assets", ASSETS_KEYS)?;
        let assets = AssetsRule {
            max_months_of_standard_per_capita: s.months("max_months_of_standard_per_capita")?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("vehicles", VEHICLES_KEYS)?;
        let vehicles = VehiclesRule {
            exempt_types: s.slug_list(
                "exempt_types",
                "vehicle type",
                parse_vehicle_type,
                &slugs(VEHICLE_TYPES, vehicle_type_slug),
            )?,
            max_non_exempt: s.count("max_non_exempt")?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("real_estate", REAL_ESTATE_KEYS)?;
        let real_estate = RealEstateRule {
            max_residential: s.count("max_residential")?,
            residential_outcome: s.outcome("residential_outcome")?,
            max_commercial: s.count("max_commercial")?,
            commercial_outcome: s.outcome("commercial_outcome")?,
        };

        let s = root.section("recent_purchase", RECENT_PURCHASE_KEYS)?;
        let recent_purchase = RecentPurchaseRule {
            months: s.months("months")?,
            property_uses: s.slug_list(
                "property_uses",
                "property use",
                parse_property_use,
                &slugs(PROPERTY_USES, property_use_slug),
            )?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("business", BUSINESS_KEYS)?;
        let business = BusinessRule {
            roles: s.slug_list(
                "roles",
                "business role",
                parse_business_role,
                &slugs(BUSINESS_ROLES, business_role_slug),
            )?,
            outcome: s.outcome("outcome")?,
            individual_business_outcome: s.outcome("individual_business_outcome")?,
            max_subscribed_capital_fen: s.money("max_subscribed_capital_fen")?,
            subscribed_capital_outcome: s.outcome("subscribed_capital_outcome")?,
        };

        let s = root.section("flags", FLAGS_KEYS)?;
        let flags = FlagsRule {
            needs_review: s.slug_list(
                "needs_review",
                "flag kind",
                parse_flag_kind,
                &slugs(FLAG_KINDS, flag_kind_slug),
            )?,
        };

        Ok(Policy {
            version: version.to_owned(),
            description,
            description_zh,
            required_departments,
            standard,
            income,
            assets,
            vehicles,
            real_estate,
            recent_purchase,
            business,
            flags,
        })
    }

    /// The policy version, stored in every record it was applied to.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The free-text description from the file; empty when it has none.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The description in Chinese (`description_zh`), the one the 核对报告
    /// prints; empty when the file has none.
    pub fn description_zh(&self) -> &str {
        &self.description_zh
    }

    /// The departments that must answer (OK or NO_RECORD) for any verdict
    /// other than `INCOMPLETE`, in the order the file lists them.
    pub fn required_departments(&self) -> &[Department] {
        &self.required_departments
    }

    /// Thresholds for display in reports: the monthly 低保 standard for a
    /// residence, in fen. An unspecified residence gets the lower of the two
    /// standards, because the stricter figure can never let a household pass
    /// that should not.
    pub fn monthly_standard_fen(&self, residence: Residence) -> i64 {
        match residence {
            Residence::Urban => self.standard.urban_monthly_fen,
            Residence::Rural => self.standard.rural_monthly_fen,
            Residence::Unspecified => self.standard.urban_monthly_fen.min(self.standard.rural_monthly_fen),
        }
    }

    /// Applies the policy to one checked record. Pure and deterministic: the
    /// same input gives the same verdict and the same reasons in the same
    /// order.
    pub fn evaluate(&self, input: &PolicyInput<'_>) -> Evaluation {
        let mut reasons = Vec::new();
        self.check_sources(input, &mut reasons);
        self.check_residence(input, &mut reasons);
        self.check_income(input, &mut reasons);
        self.check_assets(input, &mut reasons);
        self.check_vehicles(input, &mut reasons);
        self.check_real_estate(input, &mut reasons);
        self.check_recent_purchases(input, &mut reasons);
        self.check_business(input, &mut reasons);
        self.check_flags(input, &mut reasons);
        Evaluation {
            verdict: overall_verdict(&reasons),
            reasons,
        }
    }

    /// Fail closed: every required department must have answered.
    fn check_sources(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let mut answered = Vec::new();
        let before = reasons.len();
        for &dept in &self.required_departments {
            let slug = department::slug(dept);
            // A department may appear more than once in a malformed record;
            // every entry must be an answer, so one failure is enough.
            let results: Vec<&SourceResult> = input.sources.iter().filter(|s| s.department == dept as i32).collect();
            if results.is_empty() {
                reasons.push(reason(
                    "sources.required",
                    Verdict::Incomplete,
                    format!("required source {slug} has no recorded outcome"),
                ));
                continue;
            }
            for result in results {
                let outcome = SourceOutcome::try_from(result.outcome).unwrap_or(SourceOutcome::Unspecified);
                if matches!(outcome, SourceOutcome::Ok | SourceOutcome::NoRecord) {
                    answered.push(format!("{slug} {}", source_outcome_slug(outcome)));
                } else {
                    let mut detail = format!(
                        "required source {slug} did not answer: outcome {}",
                        source_outcome_slug(outcome)
                    );
                    if !result.detail.is_empty() {
                        detail.push_str(&format!(" ({})", result.detail));
                    }
                    reasons.push(reason("sources.required", Verdict::Incomplete, detail));
                }
            }
        }
        if reasons.len() == before {
            reasons.push(reason(
                "sources.required",
                Verdict::MeetsCriteria,
                format!(
                    "all {} required sources answered: {}",
                    self.required_departments.len(),
                    answered.join(", ")
                ),
            ));
        }
    }

    /// An unspecified residence is malformed input; the lower standard is
    /// used and a caseworker must look.
    fn check_residence(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        if input.residence == Residence::Unspecified {
            reasons.push(reason(
                "residence",
                Verdict::NeedsReview,
                format!(
                    "the household's residence is not set; the lower standard of {} yuan was applied",
                    yuan(self.monthly_standard_fen(Residence::Unspecified))
                ),
            ));
        }
    }

    fn check_income(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let income = input.summary.monthly_income_per_capita_fen;
        let standard = self.monthly_standard_fen(input.residence);
        let which = residence_word(input.residence);
        let figures = format!("per-capita monthly income {} yuan", yuan(income));
        let (leads_to, detail) = if income < standard {
            (
                Verdict::MeetsCriteria,
                format!("{figures} is below the {which} standard of {} yuan", yuan(standard)),
            )
        } else if income == standard && self.income.meets_when_equal {
            (
                Verdict::MeetsCriteria,
                format!(
                    "{figures} is equal to the {which} standard of {} yuan, which the policy accepts",
                    yuan(standard)
                ),
            )
        } else if income == standard {
            (
                self.income.outcome.verdict(),
                format!(
                    "{figures} is equal to the {which} standard of {} yuan; the policy requires it to be below",
                    yuan(standard)
                ),
            )
        } else {
            (
                self.income.outcome.verdict(),
                format!("{figures} is above the {which} standard of {} yuan", yuan(standard)),
            )
        };
        reasons.push(reason("income.per_capita", leads_to, detail));
    }

    fn check_assets(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let assets = input.summary.financial_assets_per_capita_fen;
        let months = self.assets.max_months_of_standard_per_capita;
        let standard = self.monthly_standard_fen(input.residence);
        let limit = standard.saturating_mul(i64::from(months));
        let which = residence_word(input.residence);
        let figures = format!("financial assets per person {} yuan", yuan(assets));
        let limit_text = format!("{months} months of the {which} standard ({} yuan)", yuan(limit));
        let (leads_to, detail) = if assets <= limit {
            (Verdict::MeetsCriteria, format!("{figures} are at most {limit_text}"))
        } else {
            (self.assets.outcome.verdict(), format!("{figures} exceed {limit_text}"))
        };
        reasons.push(reason("assets.per_capita", leads_to, detail));
    }

    /// Counts vehicles from the public-security detail rather than the
    /// summary, because which statuses count is the policy's decision.
    /// A vehicle of an unknown type is never exempt.
    fn check_vehicles(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        // Keyed by the enum's number so the listing follows enum order.
        let mut non_exempt: BTreeMap<i32, u32> = BTreeMap::new();
        let mut exempt = 0u32;
        for (_, findings) in findings_of(input.members) {
            let Findings::PublicSecurity(ps) = findings else {
                continue;
            };
            for v in &ps.vehicles {
                let status = VehicleStatus::try_from(v.status).unwrap_or(VehicleStatus::Unspecified);
                if !matches!(status, VehicleStatus::Active | VehicleStatus::Restricted) {
                    continue;
                }
                let kind = VehicleType::try_from(v.vehicle_type).unwrap_or(VehicleType::Unspecified);
                if kind != VehicleType::Unspecified && self.vehicles.exempt_types.contains(&kind) {
                    exempt += 1;
                } else {
                    *non_exempt.entry(kind as i32).or_default() += 1;
                }
            }
        }
        let total: u32 = non_exempt.values().sum();
        let by_type: Vec<String> = non_exempt
            .iter()
            .map(|(&k, n)| {
                format!(
                    "{} {n}",
                    vehicle_type_slug(VehicleType::try_from(k).unwrap_or(VehicleType::Unspecified))
                )
            })
            .collect();
        let mut detail = format!(
            "the household has {total} active non-exempt {}",
            plural(total == 1, "vehicle", "vehicles")
        );
        if !by_type.is_empty() {
            detail.push_str(&format!(" ({})", by_type.join(", ")));
        }
        detail.push_str(&format!("; the policy allows at most {}", self.vehicles.max_non_exempt));
        if exempt > 0 {
            detail.push_str(&format!(
                "; {exempt} active {} of an exempt type not counted",
                plural(exempt == 1, "vehicle", "vehicles")
            ));
        }
        let leads_to = if total > self.vehicles.max_non_exempt {
            self.vehicles.outcome.verdict()
        } else {
            Verdict::MeetsCriteria
        };
        reasons.push(reason("vehicles.count", leads_to, detail));
    }

    /// Uses the summary's counts, which the merge has already de-duplicated
    /// across members who share a property.
    fn check_real_estate(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let rule = &self.real_estate;
        let n = input.summary.residential_properties;
        let leads_to = if n > rule.max_residential {
            rule.residential_outcome.verdict()
        } else {
            Verdict::MeetsCriteria
        };
        reasons.push(reason(
            "real_estate.residential_count",
            leads_to,
            format!(
                "the household holds {n} residential {}; the policy allows at most {}",
                plural(n == 1, "property or homestead", "properties or homesteads"),
                rule.max_residential
            ),
        ));

        let n = input.summary.commercial_properties;
        let leads_to = if n > rule.max_commercial {
            rule.commercial_outcome.verdict()
        } else {
            Verdict::MeetsCriteria
        };
        reasons.push(reason(
            "real_estate.commercial",
            leads_to,
            format!(
                "the household holds {n} commercial or industrial {}; the policy allows at most {}",
                plural(n == 1, "property", "properties"),
                rule.max_commercial
            ),
        ));
    }

    /// A purchase contract or a property acquisition dated on or after the
    /// cut-off (N months before the reference date) counts. Dates after the
    /// reference date count too: they are even more recent. Records without
    /// a readable date cannot be placed and are reported, not counted.
    fn check_recent_purchases(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let rule = &self.recent_purchase;
        let cutoff = input
            .reference_date
            .checked_sub_months(Months::new(rule.months))
            .unwrap_or(NaiveDate::MIN);
        let window = format!(
            "within {} months before the reference date {} (on or after {})",
            rule.months, input.reference_date, cutoff
        );
        let mut fired = 0usize;
        let mut undated = 0usize;
        for (member, findings) in findings_of(input.members) {
            let dated: Vec<(&str, String)> = match findings {
                Findings::Housing(h) => h
                    .purchases
                    .iter()
                    .map(|p| {
                        (
                            p.signed_date.as_str(),
                            "a commercial-housing purchase contract signed".to_owned(),
                        )
                    })
                    .collect(),
                Findings::NaturalResources(nr) => nr
                    .properties
                    .iter()
                    .filter_map(|p| {
                        let use_ = PropertyUse::try_from(p.r#use).unwrap_or(PropertyUse::Unspecified);
                        // An unknown use is counted: the rule must not miss a
                        // purchase because the registration is incomplete.
                        (use_ == PropertyUse::Unspecified || rule.property_uses.contains(&use_))
                            .then(|| (p.acquired_date.as_str(), property_acquired_words(use_).to_owned()))
                    })
                    .collect(),
                _ => continue,
            };
            for (date, what) in dated {
                match parse_date(date) {
                    Some(d) if d >= cutoff => {
                        fired += 1;
                        reasons.push(reason(
                            "recent_purchase",
                            rule.outcome.verdict(),
                            format!("member {member} has {what} on {d}, {window}"),
                        ));
                    }
                    Some(_) => {}
                    None => undated += 1,
                }
            }
        }
        if fired == 0 {
            let mut detail = format!("no purchase contract or counted property acquisition is dated {window}");
            if undated > 0 {
                detail.push_str(&format!(
                    "; {undated} {} without a readable date could not be placed",
                    plural(undated == 1, "record", "records")
                ));
            }
            reasons.push(reason("recent_purchase", Verdict::MeetsCriteria, detail));
        }
    }

    fn check_business(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let rule = &self.business;
        let mut fired = 0usize;
        for (member, findings) in findings_of(input.members) {
            let Findings::MarketSupervision(ms) = findings else {
                continue;
            };
            for r in &ms.roles {
                if EntityStatus::try_from(r.status) != Ok(EntityStatus::Active) {
                    continue;
                }
                let Ok(role) = BusinessRole::try_from(r.role) else {
                    continue;
                };
                if !rule.roles.contains(&role) {
                    continue;
                }
                let entity = EntityType::try_from(r.entity_type).unwrap_or(EntityType::Unspecified);
                let outcome = if entity == EntityType::IndividualBusiness {
                    rule.individual_business_outcome
                } else {
                    rule.outcome
                };
                fired += 1;
                reasons.push(reason(
                    "business.role",
                    outcome.verdict(),
                    format!(
                        "member {member} is {} of an active {}",
                        business_role_slug(role),
                        entity_type_words(entity)
                    ),
                ));
            }
        }
        if fired == 0 {
            let roles: Vec<&str> = rule.roles.iter().map(|r| business_role_slug(*r)).collect();
            let detail = if roles.is_empty() {
                "the policy counts no business role".to_owned()
            } else {
                format!(
                    "no member holds a counted role ({}) in an active entity",
                    roles.join(", ")
                )
            };
            reasons.push(reason("business.role", Verdict::MeetsCriteria, detail));
        }

        let capital = input.summary.subscribed_capital_fen;
        let figures = format!("subscribed capital in active entities {} yuan", yuan(capital));
        let limit = yuan(rule.max_subscribed_capital_fen);
        let (leads_to, detail) = if capital > rule.max_subscribed_capital_fen {
            (
                rule.subscribed_capital_outcome.verdict(),
                format!("{figures} is above the limit of {limit} yuan"),
            )
        } else {
            (
                Verdict::MeetsCriteria,
                format!("{figures} is at most the limit of {limit} yuan"),
            )
        };
        reasons.push(reason("business.subscribed_capital", leads_to, detail));
    }

    /// Flags of a listed kind lead to review. A flag of a kind this code does
    /// not know also leads to review, since ignoring it could hide a problem.
    fn check_flags(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let mut fired = 0usize;
        for flag in input.flags {
            let kind = FlagKind::try_from(flag.kind).unwrap_or(FlagKind::Unspecified);
            if kind == FlagKind::Unspecified || self.flags.needs_review.contains(&kind) {
                fired += 1;
                reasons.push(reason(
                    &format!("flags.{}", flag_kind_slug(kind)),
                    Verdict::NeedsReview,
                    flag.detail.clone(),
                ));
            }
        }
        if fired == 0 {
            let kinds: Vec<&str> = self.flags.needs_review.iter().map(|k| flag_kind_slug(*k)).collect();
            let detail = if kinds.is_empty() {
                "the policy sends no flag kind to review".to_owned()
            } else {
                format!("no flag of a kind that needs review ({}) was raised", kinds.join(", "))
            };
            reasons.push(reason("flags", Verdict::MeetsCriteria, detail));
        }
    }
}

/// INCOMPLETE beats everything (fail closed), then DOES_NOT_MEET, then
/// NEEDS_REVIEW; only a record with nothing else meets the criteria.
fn overall_verdict(reasons: &[Reason]) -> Verdict {
    let has = |v: Verdict| reasons.iter().any(|r| r.leads_to == v as i32);
    if has(Verdict::Incomplete) {
        Verdict::Incomplete
    } else if has(Verdict::DoesNotMeet) {
        Verdict::DoesNotMeet
    } else if has(Verdict::NeedsReview) || has(Verdict::Unspecified) {
        // An unspecified verdict cannot come from the rules above; treating
        // it as review keeps a future mistake from turning into a pass.
        Verdict::NeedsReview
    } else {
        Verdict::MeetsCriteria
    }
}

fn reason(rule: &str, leads_to: Verdict, detail: String) -> Reason {
    Reason {
        rule: rule.to_owned(),
        leads_to: leads_to as i32,
        detail,
    }
}

/// Every member's findings with the member's 1-based number, in member order
/// and then result order, which keeps the reasons deterministic.
fn findings_of(members: &[MemberFindings]) -> impl Iterator<Item = (usize, &Findings)> {
    members.iter().enumerate().flat_map(|(i, m)| {
        m.results
            .iter()
            .filter_map(move |r| r.findings.as_ref().map(|f| (i + 1, f)))
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Picks the singular or plural noun; `is_one` is whether the count is 1.
fn plural<'a>(is_one: bool, one: &'a str, many: &'a str) -> &'a str {
    if is_one { one } else { many }
}

fn residence_word(r: Residence) -> &'static str {
    match r {
        Residence::Urban => "urban",
        Residence::Rural => "rural",
        Residence::Unspecified => "lower",
    }
}

// ---------------------------------------------------------------------------
// Slugs: the names used in the policy file and in reasons
// ---------------------------------------------------------------------------

const VEHICLE_TYPES: &[VehicleType] = &[
    VehicleType::Car,
    VehicleType::Truck,
    VehicleType::Motorcycle,
    VehicleType::Tricycle,
    VehicleType::Agricultural,
    VehicleType::Disability,
];

fn vehicle_type_slug(t: VehicleType) -> &'static str {
    match t {
        VehicleType::Unspecified => "unspecified",
        VehicleType::Car => "car",
        VehicleType::Truck => "truck",
        VehicleType::Motorcycle => "motorcycle",
        VehicleType::Tricycle => "tricycle",
        VehicleType::Agricultural => "agricultural",
        VehicleType::Disability => "disability",
    }
}

fn parse_vehicle_type(s: &str) -> Option<VehicleType> {
    VEHICLE_TYPES.iter().copied().find(|t| vehicle_type_slug(*t) == s)
}

const PROPERTY_USES: &[PropertyUse] = &[
    PropertyUse::Residential,
    PropertyUse::Commercial,
    PropertyUse::Industrial,
    PropertyUse::Homestead,
];

fn property_use_slug(u: PropertyUse) -> &'static str {
    match u {
        PropertyUse::Unspecified => "unspecified",
        PropertyUse::Residential => "residential",
        PropertyUse::Commercial => "commercial",
        PropertyUse::Industrial => "industrial",
        PropertyUse::Homestead => "homestead",
    }
}

/// How a property acquisition reads in a reason.
fn property_acquired_words(u: PropertyUse) -> &'static str {
    match u {
        PropertyUse::Unspecified => "a property of unknown use acquired",
        PropertyUse::Residential => "a residential property acquired",
        PropertyUse::Commercial => "a commercial property acquired",
        PropertyUse::Industrial => "an industrial property acquired",
        PropertyUse::Homestead => "a homestead acquired",
    }
}

fn parse_property_use(s: &str) -> Option<PropertyUse> {
    PROPERTY_USES.iter().copied().find(|u| property_use_slug(*u) == s)
}

const BUSINESS_ROLES: &[BusinessRole] = &[
    BusinessRole::LegalRepresentative,
    BusinessRole::Director,
    BusinessRole::Supervisor,
    BusinessRole::SeniorManager,
    BusinessRole::Investor,
    BusinessRole::Operator,
];

fn business_role_slug(r: BusinessRole) -> &'static str {
    match r {
        BusinessRole::Unspecified => "unspecified",
        BusinessRole::LegalRepresentative => "legal-representative",
        BusinessRole::Director => "director",
        BusinessRole::Supervisor => "supervisor",
        BusinessRole::SeniorManager => "senior-manager",
        BusinessRole::Investor => "investor",
        BusinessRole::Operator => "operator",
    }
}

fn parse_business_role(s: &str) -> Option<BusinessRole> {
    BUSINESS_ROLES.iter().copied().find(|r| business_role_slug(*r) == s)
}

fn entity_type_words(t: EntityType) -> &'static str {
    match t {
        EntityType::Unspecified => "entity of unspecified type",
        EntityType::Company => "company",
        EntityType::IndividualBusiness => "individual business",
        EntityType::Partnership => "partnership",
        EntityType::Cooperative => "cooperative",
    }
}

const FLAG_KINDS: &[FlagKind] = &[
    FlagKind::IdentityMismatch,
    FlagKind::IdentityNotFound,
    FlagKind::DeceasedMember,
    FlagKind::DepartmentsDisagree,
    FlagKind::RecentAcquisition,
];

/// The slug of a flag kind, as used in `[flags]` and in the rule id
/// `flags.<slug>` of the reasons it produces.
pub fn flag_kind_slug(k: FlagKind) -> &'static str {
    match k {
        FlagKind::Unspecified => "unspecified",
        FlagKind::IdentityMismatch => "identity-mismatch",
        FlagKind::IdentityNotFound => "identity-not-found",
        FlagKind::DeceasedMember => "deceased-member",
        FlagKind::DepartmentsDisagree => "departments-disagree",
        FlagKind::RecentAcquisition => "recent-acquisition",
    }
}

fn parse_flag_kind(s: &str) -> Option<FlagKind> {
    FLAG_KINDS.iter().copied().find(|k| flag_kind_slug(*k) == s)
}

fn source_outcome_slug(o: SourceOutcome) -> &'static str {
    match o {
        SourceOutcome::Unspecified => "unspecified",
        SourceOutcome::Ok => "ok",
        SourceOutcome::NoRecord => "no-record",
        SourceOutcome::Timeout => "timeout",
        SourceOutcome::Unavailable => "unavailable",
        SourceOutcome::Error => "error",
        SourceOutcome::Refused => "refused",
    }
}

fn slugs<T: Copy>(all: &[T], slug: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|t| slug(*t)).collect()
}

fn department_slugs() -> Vec<&'static str> {
    slugs(&department::ALL, department::slug)
}

// ---------------------------------------------------------------------------
// Reading the TOML table with errors that name the key
// ---------------------------------------------------------------------------

// The keys allowed in each table. The reader rejects anything else, which is
// what `deny_unknown_fields` does for serde, but with the full dotted key in
// the message.
const ROOT_KEYS: &[&str] = &[
    "version",
    "description",
    "description_zh",
    "required_departments",
    "standard",
    "income",
    "assets",
    "vehicles",
    "real_estate",
    "recent_purchase",
    "business",
    "flags",
];
const STANDARD_KEYS: &[&str] = &["urban_monthly_fen", "rural_monthly_fen"];
const INCOME_KEYS: &[&str] = &["meets_when_equal", "outcome"];
const ASSETS_KEYS: &[&str] = &["max_months_of_standard_per_capita", "outcome"];
const VEHICLES_KEYS: &[&str] = &["exempt_types", "max_non_exempt", "outcome"];
const REAL_ESTATE_KEYS: &[&str] = &[
    "max_residential",
    "residential_outcome",
    "max_commercial",
    "commercial_outcome",
];
const RECENT_PURCHASE_KEYS: &[&str] = &["months", "property_uses", "outcome"];
const BUSINESS_KEYS: &[&str] = &[
    "roles",
    "outcome",
    "individual_business_outcome",
    "max_subscribed_capital_fen",
    "subscribed_capital_outcome",
];
const FLAGS_KEYS: &[&str] = &["needs_review"];

/// Turns a TOML syntax error into a one-line message with its position.
fn syntax_error(text: &str, e: &toml::de::Error) -> PolicyError {
    let message = e.message().trim().to_owned();
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            PolicyError::Syntax(format!("line {line}, column {column}: {message}"))
        }
        None => PolicyError::Syntax(message),
    }
}

fn invalid(key: String, message: impl fmt::Display) -> PolicyError {
    PolicyError::InvalidValue {
        key,
        message: message.to_string(),
    }
}

fn validate_version(key: &str, v: &str) -> Result<(), PolicyError> {
    if v.is_empty() || v.len() > MAX_VERSION_LEN {
        return Err(invalid(
            key.to_owned(),
            format!("must be 1 to {MAX_VERSION_LEN} characters"),
        ));
    }
    // The version is stored in records, logs and file names, so it is kept
    // to printable ASCII without spaces.
    if !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid(key.to_owned(), "must be printable ascii without spaces"));
    }
    Ok(())
}

/// One TOML table with its dotted path, checked for unknown keys.
struct Reader<'a> {
    prefix: String,
    table: &'a Table,
}

impl<'a> Reader<'a> {
    fn new(prefix: String, table: &'a Table, allowed: &[&str]) -> Result<Self, PolicyError> {
        let reader = Reader { prefix, table };
        // The table iterates in key order, so the first unknown key reported
        // is the same on every run.
        if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(PolicyError::UnknownKey {
                key: reader.path(unknown),
                expected: allowed.join(", "),
            });
        }
        Ok(reader)
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn value(&self, key: &str) -> Result<&'a Value, PolicyError> {
        self.table
            .get(key)
            .ok_or_else(|| PolicyError::MissingKey { key: self.path(key) })
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> PolicyError {
        PolicyError::WrongType {
            key: self.path(key),
            expected,
            found: found.type_str(),
        }
    }

    fn section(&self, key: &str, allowed: &[&str]) -> Result<Reader<'a>, PolicyError> {
        match self.value(key)? {
            Value::Table(t) => Reader::new(self.path(key), t, allowed),
            other => Err(self.wrong_type(key, "table", other)),
        }
    }

    fn string(&self, key: &str) -> Result<&'a str, PolicyError> {
        match self.value(key)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong_type(key, "string", other)),
        }
    }

    fn optional_string(&self, key: &str) -> Result<Option<&'a str>, PolicyError> {
        if self.table.contains_key(key) {
            self.string(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, PolicyError> {
        match self.value(key)? {
            Value::Boolean(b) => Ok(*b),
            other => Err(self.wrong_type(key, "boolean", other)),
        }
    }

    fn integer(&self, key: &str) -> Result<i64, PolicyError> {
        match self.value(key)? {
            Value::Integer(i) => Ok(*i),
            other => Err(self.wrong_type(key, "integer", other)),
        }
    }

    /// An amount in fen, from zero to [`crate::money::MAX_PLAUSIBLE_FEN`],
    /// checked the same way as amounts from departments.
    fn money(&self, key: &str) -> Result<i64, PolicyError> {
        let v = self.integer(key)?;
        check_fen(&self.path(key), v).map_err(|violation| PolicyError::InvalidValue {
            key: violation.field,
            message: violation.description,
        })
    }

    /// An amount in fen that must be above zero; a zero standard would make
    /// every household fail and is certainly a mistake.
    fn positive_money(&self, key: &str) -> Result<i64, PolicyError> {
        let v = self.money(key)?;
        if v == 0 {
            return Err(invalid(self.path(key), "must be positive, got 0"));
        }
        Ok(v)
    }

    /// A count of things, zero or more.
    fn count(&self, key: &str) -> Result<u32, PolicyError> {
        let v = self.integer(key)?;
        u32::try_from(v).map_err(|_| invalid(self.path(key), format!("must be 0 to {}, got {v}", u32::MAX)))
    }

    /// A number of months, 1 to 120.
    fn months(&self, key: &str) -> Result<u32, PolicyError> {
        let v = self.integer(key)?;
        if !(1..=MAX_MONTHS).contains(&v) {
            return Err(invalid(
                self.path(key),
                format!("must be 1 to {MAX_MONTHS} months, got {v}"),
            ));
        }
        Ok(u32::try_from(v).expect("checked to be 1 to 120"))
    }

    fn outcome(&self, key: &str) -> Result<Outcome, PolicyError> {
        let s = self.string(key)?;
        Outcome::parse(s).ok_or_else(|| {
            invalid(
                self.path(key),
                format!("unknown outcome {s:?}; expected \"does-not-meet\" or \"needs-review\""),
            )
        })
    }

    /// A list of slugs, each known and none repeated.
    fn slug_list<T: PartialEq>(
        &self,
        key: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
        known: &[&str],
    ) -> Result<Vec<T>, PolicyError> {
        let items = match self.value(key)? {
            Value::Array(a) => a,
            other => return Err(self.wrong_type(key, "array of strings", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_key = format!("{}[{i}]", self.path(key));
            let Value::String(s) = item else {
                return Err(PolicyError::WrongType {
                    key: item_key,
                    expected: "string",
                    found: item.type_str(),
                });
            };
            let Some(parsed) = parse(s) else {
                return Err(invalid(
                    item_key,
                    format!("unknown {what} {s:?}; expected one of {}", known.join(", ")),
                ));
            };
            if out.contains(&parsed) {
                return Err(invalid(item_key, format!("duplicate {what} {s:?}")));
            }
            out.push(parsed);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_proto::v1::{
        BusinessRoleRecord, HousingFindings, MarketSupervisionFindings, Member, NaturalResourcesFindings, PersonResult,
        Property, PublicSecurityFindings, PurchaseContract, Relation, Vehicle,
    };
    use proptest::prelude::*;

    const EXAMPLE: &str = include_str!("../../../deploy/policies/example.toml");

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
}
