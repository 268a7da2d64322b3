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
}

mod evaluate;
mod parse;
mod words;

pub use words::{flag_kind_slug, source_outcome_slug};

#[cfg(test)]
mod tests;
