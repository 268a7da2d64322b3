//! What each department holds about one person, and how a department turns
//! that into its findings message for one query.

use chrono::{Datelike, NaiveDate};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    BusinessRoleRecord, Department, FundAccount, HousingFindings, HousingFundFindings, HrssFindings, IncomeCategory,
    IncomeWindow, InsuranceRecord, MarketSupervisionFindings, NaturalResourcesFindings, PbocFindings, Property,
    PublicSecurityFindings, TaxFindings, TaxRecord,
};

/// The longest window the tax department answers for, in months. The hub
/// asks for at most 24; the cap only keeps a malformed request cheap.
const MAX_WINDOW_MONTHS: i32 = 60;

/// Every calendar month, as a bit mask with bit 0 for January.
pub(crate) const ALL_MONTHS: u16 = 0x0FFF;

/// One person in the registers of all eight departments. An empty list (or
/// `None` for public security) means that the department has no record of the
/// person and answers `NOT_FOUND`.
#[derive(Debug, Clone, Default)]
pub(crate) struct PersonRecord {
    /// The name every department's register holds for this ID number.
    pub register_name: String,
    /// The 18-character resident ID number.
    pub id_number: String,
    /// Life status, household registration and vehicles.
    pub public_security: Option<PublicSecurityFindings>,
    /// Real-estate registrations.
    pub properties: Vec<Property>,
    /// Purchases, leases, public rentals and self-built records.
    pub housing: HousingFindings,
    /// Streams of taxable income, expanded into monthly records per query.
    pub tax: Vec<TaxStream>,
    /// Roles in market entities.
    pub roles: Vec<BusinessRoleRecord>,
    /// Provident-fund accounts.
    pub fund: Vec<FundEntry>,
    /// Bank accounts and financial products.
    pub pboc: PbocFindings,
    /// Social-insurance records.
    pub hrss: Vec<InsuranceRecord>,
}

/// A regular monthly income that the tax department records. Records are
/// generated for the months of the asked window, so they always lie inside it
/// whatever window the hub asks for.
#[derive(Debug, Clone)]
pub(crate) struct TaxStream {
    /// Category of the income.
    pub category: IncomeCategory,
    /// Taxable income in each month it is paid, in fen.
    pub monthly_fen: i64,
    /// Calendar months in which it is paid (bit 0 is January); seasonal
    /// migrant work leaves gaps.
    pub months: u16,
}

/// A provident-fund account with the dated withdrawals that the answer sums
/// over the asked window.
#[derive(Debug, Clone)]
pub(crate) struct FundEntry {
    /// The account; its `withdrawals_in_window_fen` is filled in per query.
    pub account: FundAccount,
    /// Withdrawals: date and amount in fen.
    pub withdrawals: Vec<(NaiveDate, i64)>,
}

/// An inclusive range of months as month numbers (`year * 12 + month0`),
/// already clipped to the data date. `from > to` means an empty window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    from: i32,
    to: i32,
}

impl Window {
    /// The window of a request, clipped so that no month is after the month
    /// of `as_of` (a department has no data from the future). A missing or
    /// malformed window falls back to the 12 months ending with `as_of`'s
    /// month, because the SDK validates requests before they get here and the
    /// sandbox only needs to stay well-behaved.
    pub(crate) fn of(window: Option<&IncomeWindow>, as_of: NaiveDate) -> Window {
        let last = month_number(as_of);
        let parsed = window.and_then(|w| Some((parse_month(&w.from_month)?, parse_month(&w.to_month)?)));
        let (from, to) = parsed.unwrap_or((last - 11, last));
        let to = to.min(last);
        Window {
            from: from.max(to - (MAX_WINDOW_MONTHS - 1)),
            to,
        }
    }

    /// True when `date` falls in one of the window's months.
    pub(crate) fn contains(&self, date: NaiveDate) -> bool {
        (self.from..=self.to).contains(&month_number(date))
    }
}

impl PersonRecord {
    /// The findings of `department` about this person, or `None` when the
    /// department has no record of them.
    pub(crate) fn findings(&self, department: Department, window: Window) -> Option<Findings> {
        match department {
            Department::Unspecified => None,
            Department::PublicSecurity => self.public_security.clone().map(Findings::PublicSecurity),
            Department::NaturalResources => (!self.properties.is_empty()).then(|| {
                Findings::NaturalResources(NaturalResourcesFindings {
                    properties: self.properties.clone(),
                })
            }),
            Department::Housing => {
                let h = &self.housing;
                let known = !(h.purchases.is_empty()
                    && h.leases.is_empty()
                    && h.public_rentals.is_empty()
                    && h.self_built.is_empty());
                known.then(|| Findings::Housing(h.clone()))
            }
            Department::Tax => (!self.tax.is_empty()).then(|| Findings::Tax(self.tax_findings(window))),
            Department::MarketSupervision => (!self.roles.is_empty()).then(|| {
                Findings::MarketSupervision(MarketSupervisionFindings {
                    roles: self.roles.clone(),
                })
            }),
            Department::HousingFund => (!self.fund.is_empty()).then(|| {
                let accounts = self
                    .fund
                    .iter()
                    .map(|f| FundAccount {
                        withdrawals_in_window_fen: f
                            .withdrawals
                            .iter()
                            .filter(|(d, _)| window.contains(*d))
                            .map(|(_, fen)| fen)
                            .sum(),
                        ..f.account.clone()
                    })
                    .collect();
                Findings::HousingFund(HousingFundFindings { accounts })
            }),
            Department::Pboc => (!(self.pboc.accounts.is_empty() && self.pboc.products.is_empty()))
                .then(|| Findings::Pboc(self.pboc.clone())),
            Department::Hrss => (!self.hrss.is_empty()).then(|| {
                Findings::Hrss(HrssFindings {
                    insurance: self.hrss.clone(),
                })
            }),
        }
    }

    /// One record per month of the window and income stream, month by month.
    fn tax_findings(&self, window: Window) -> TaxFindings {
        let mut records = Vec::new();
        for m in window.from..=window.to {
            let calendar_bit = 1u16 << m.rem_euclid(12);
            for s in self.tax.iter().filter(|s| s.months & calendar_bit != 0) {
                records.push(TaxRecord {
                    period: fmt_month(m),
                    category: s.category as i32,
                    taxable_income_fen: s.monthly_fen,
                    tax_paid_fen: tax_due(s.category, s.monthly_fen),
                });
            }
        }
        TaxFindings { records }
    }
}

/// Monthly tax on an income, roughly as withheld in China: wages over the
/// 5,000-yuan monthly allowance on the progressive table, business income at
/// a flat assessed 1%, property and other income at 20% after the 800-yuan or
/// 20% deduction. It only has to be plausible and never above the income.
pub(crate) fn tax_due(category: IncomeCategory, income_fen: i64) -> i64 {
    let income = income_fen.max(0);
    match category {
        IncomeCategory::Wages => {
            let excess = income - 500_000;
            match excess {
                i64::MIN..=0 => 0,
                1..=300_000 => excess * 3 / 100,
                300_001..=1_200_000 => excess / 10 - 21_000,
                1_200_001..=2_500_000 => excess / 5 - 141_000,
                _ => excess / 4 - 266_000,
            }
        }
        IncomeCategory::Business => income / 100,
        IncomeCategory::Property | IncomeCategory::Other => {
            let deducted = if income <= 400_000 {
                income - 80_000
            } else {
                income - income / 5
            };
            deducted.max(0) / 5
        }
        IncomeCategory::Unspecified => 0,
    }
}

/// `YYYY-MM-DD`.
pub(crate) fn fmt_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// The month number of a date: `year * 12 + month0`.
pub(crate) fn month_number(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

/// `YYYY-MM` of a month number.
pub(crate) fn fmt_month(m: i32) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// The month number of `YYYY-MM`, or `None` when it is not one.
pub(crate) fn parse_month(s: &str) -> Option<i32> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}
