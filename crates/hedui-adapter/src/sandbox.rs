//! The sandbox backend: a fictional roster of Dejiang county (德江县)
//! households and deterministic synthetic data for all eight partner
//! departments.
//!
//! The demo and the tests need data that shows every verdict and every flag
//! of the example policy, without touching anybody's real records. Everything
//! here is generated from fixed seeds by a small built-in generator, so the
//! same `as_of` always gives byte-identical households and answers. Dates are
//! placed relative to `as_of`: a "recent" home purchase is about three months
//! old whatever day the demo runs, and birth dates follow `as_of`'s year, so
//! ID numbers change once a year and ages never do.
//!
//! Each department answers only from its own register, the way a real
//! adapter would: it compares the asked name with the name it holds for the
//! ID number, says `NOT_FOUND` for people it has no record of, and returns
//! findings in its own message type.

mod names;
mod records;
mod rng;
mod roster;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::NaiveDate;
use hedui_proto::v1::{Department, Household, IdentityStatus, PersonResult, QueryRequest, QueryResponse, Verdict};

use records::{PersonRecord, Window, fmt_date};

/// The synthetic data of all eight departments over the Dejiang roster.
#[derive(Clone)]
pub struct Sandbox {
    as_of: NaiveDate,
    households: Vec<SandboxHousehold>,
    persons: Vec<PersonRecord>,
    /// Position in `persons` of each ID number, so that an answer costs one
    /// hash lookup per person asked.
    index: HashMap<String, usize>,
    /// Simulated failures by ID number.
    faults: HashMap<String, Vec<(Department, SandboxFault)>>,
}

/// One household of the roster, as a caseworker would submit it.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxHousehold {
    /// The household: reference `DJ-0001`…, residence and members with the
    /// names the household *claims* (which differ from the register in the
    /// name-mismatch case).
    pub household: Household,
    /// What the household was built to show, as a short English slug, for
    /// example `qualifies`, `car-owner` or `deceased-member`.
    pub scenario: &'static str,
    /// One line in Chinese for the demo table.
    pub scenario_zh: &'static str,
    /// The verdict the household should get under the example policy
    /// (`deploy/policies/example.toml`: monthly 低保 standard 760 yuan urban
    /// and 580 yuan rural; financial assets at most 24 months of it per
    /// person; no cars or trucks; a second home, a small individual business
    /// or a recent purchase means a home visit; commercial property, a role in
    /// an active company or more than 100,000 yuan of subscribed capital means
    /// does-not-meet). `INCOMPLETE` for the `source-offline` households,
    /// whose department is meant to fail (see [`Sandbox::fault`]).
    pub expected_verdict: Verdict,
}

/// A failure the sandbox adapter should simulate for one department, so that
/// the demo can show a source that does not answer and an `INCOMPLETE`
/// verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxFault {
    /// The department does not answer before the hub's deadline.
    Timeout,
    /// The department cannot be reached.
    Unavailable,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The data itself is thousands of records; a count is what a log
        // line needs.
        f.debug_struct("Sandbox")
            .field("as_of", &self.as_of)
            .field("households", &self.households.len())
            .field("persons", &self.persons.len())
            .finish()
    }
}

impl Sandbox {
    /// Builds the roster and every department's data. Dates (purchases,
    /// registrations, tax periods) are placed relative to `as_of`, so "a
    /// recent home purchase" is recent whatever day the demo runs. Same
    /// `as_of` → byte-identical data.
    pub fn dejiang(as_of: NaiveDate) -> Sandbox {
        let roster = roster::build(as_of);
        let index = roster
            .persons
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id_number.clone(), i))
            .collect();
        let mut faults: HashMap<String, Vec<(Department, SandboxFault)>> = HashMap::new();
        for (id, department, fault) in roster.faults {
            faults.entry(id).or_default().push((department, fault));
        }
        Sandbox {
            as_of,
            households: roster.households,
            persons: roster.persons,
            index,
            faults,
        }
    }

    /// The households as a caseworker would submit them (212 of them, one
    /// with 30 members). ID numbers are valid 18-character numbers, unique
    /// over the roster.
    pub fn households(&self) -> &[SandboxHousehold] {
        &self.households
    }

    /// The answer of one department to a query, as that department's adapter
    /// would give it: one result per person asked, in request order, with
    /// `FOUND`, `NOT_FOUND` or `NAME_MISMATCH` from comparing the asked name
    /// against that department's register, findings only when `FOUND`, and
    /// `data_as_of` set to `as_of`. Tax records are generated for the
    /// months of the request's income window up to `as_of`'s month, so they
    /// always lie inside the window. Persons unknown to the sandbox get
    /// `NOT_FOUND`.
    pub fn answer(&self, department: Department, request: &QueryRequest) -> QueryResponse {
        let window = Window::of(request.income_window.as_ref(), self.as_of);
        let results = request
            .persons
            .iter()
            .map(|person| {
                let mut result = PersonResult {
                    id_number: person.id_number.clone(),
                    identity_status: IdentityStatus::NotFound as i32,
                    findings: None,
                };
                let id = person.id_number.trim().to_ascii_uppercase();
                let Some(record) = self.index.get(&id).map(|&i| &self.persons[i]) else {
                    return result;
                };
                let Some(findings) = record.findings(department, window) else {
                    return result;
                };
                if person.name.trim() == record.register_name {
                    result.identity_status = IdentityStatus::Found as i32;
                    result.findings = Some(findings);
                } else {
                    result.identity_status = IdentityStatus::NameMismatch as i32;
                }
                result
            })
            .collect();
        QueryResponse {
            results,
            data_as_of: fmt_date(self.as_of),
            stale_reason: String::new(),
        }
    }

    /// The failure to simulate when `department` is asked about any of the
    /// request's persons, if one of them belongs to a `source-offline`
    /// household; `None` otherwise. [`Sandbox::answer`] itself always
    /// answers, so an adapter that wants the demo's `INCOMPLETE` verdict
    /// checks this first.
    pub fn fault(&self, department: Department, request: &QueryRequest) -> Option<SandboxFault> {
        request.persons.iter().find_map(|p| {
            let id = p.id_number.trim().to_ascii_uppercase();
            self.faults
                .get(&id)?
                .iter()
                .find(|(d, _)| *d == department)
                .map(|(_, f)| *f)
        })
    }

    /// The categories each department serves, for `Describe`, in the words
    /// of the domain description.
    pub fn categories(department: Department) -> Vec<String> {
        let names: &[&str] = match department {
            Department::Unspecified => &[],
            Department::PublicSecurity => &["identity", "hukou", "vehicles"],
            Department::NaturalResources => &["identity", "real_estate"],
            Department::Housing => &[
                "identity",
                "housing_purchases",
                "leases",
                "public_rentals",
                "self_built",
            ],
            Department::Tax => &["identity", "tax_records"],
            Department::MarketSupervision => &["identity", "business_roles"],
            Department::HousingFund => &["identity", "housing_fund"],
            Department::Pboc => &["identity", "bank_accounts", "financial_products"],
            Department::Hrss => &["identity", "social_insurance"],
        };
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The date of the data: every department's `data_as_of`, and the latest
    /// date any record carries.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }
}
