//! The tabular form of each department's findings, shared by the `sql` and
//! `snapshot` backends.
//!
//! Every department serves a fixed set of *categories* (`identity`,
//! `tax_records`, `vehicles`…). A category is a table with named columns:
//! the `sql` backend gets it from one parameterized query per category, the
//! `snapshot` backend from one CSV file per category. [`CATEGORIES`] names
//! the columns of each and what they hold; [`convert`] checks one value
//! against its column; [`build`] turns the rows of one person into their
//! `PersonResult`.
//!
//! Error messages name the category, the row number and the column, never
//! a value: a value may be a name, an ID number or a balance.

use std::collections::HashMap;

use chrono::NaiveDate;
use hedui_domain::ids::Uscc;
use hedui_domain::window::{IncomeWindow, YearMonth, parse_date};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    AccountType, BankAccount, BusinessRole, BusinessRoleRecord, Department, EntityStatus, EntityType, FinancialProduct,
    FundAccount, FundAccountStatus, HousingFindings, HousingFundFindings, HrssFindings, Hukou, HukouType,
    IdentityStatus, IncomeCategory, InsuranceRecord, InsuranceState, InsuranceType, Lease, LifeStatus,
    MarketSupervisionFindings, NaturalResourcesFindings, PbocFindings, PersonResult, Property, PropertyUse,
    PublicRental, PublicSecurityFindings, PurchaseContract, SelfBuilt, TaxFindings, TaxRecord, Vehicle, VehicleStatus,
    VehicleType,
};

/// Longest text value accepted, in characters (the hub's own bound).
pub const MAX_TEXT_CHARS: usize = 200;
/// Largest amount accepted, in fen: 100 billion yuan.
pub const MAX_FEN: i64 = 10_000_000_000_000;

/// What a column holds and how it is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text, required, at most [`MAX_TEXT_CHARS`], no control characters.
    Text,
    /// Text that may be empty or NULL.
    OptText,
    /// A whole, non-negative number (fen, hundredths of m²), at most [`MAX_FEN`].
    Amount,
    /// A whole percentage, 1 to 100.
    Percent,
    /// A date, `YYYY-MM-DD` (or a DATE column).
    Date,
    /// A date that may be empty or NULL.
    OptDate,
    /// A month, `YYYY-MM`.
    Month,
    /// True or false (`true`/`false`, `1`/`0`, `是`/`否`).
    Bool,
    /// A unified social credit code (GB 32100-2015).
    Uscc,
    /// One of a protobuf enum's values, written as its lower-case suffix
    /// (`wages` for `INCOME_CATEGORY_WAGES`).
    /// Stored snapshots hold the number, checked by the second function.
    Enum(&'static str, fn(&str) -> Option<i32>, fn(i32) -> bool),
}

impl Kind {
    /// A short description for error messages and the guide.
    pub fn describe(&self) -> String {
        match self {
            Kind::Text => "text".into(),
            Kind::OptText => "text, may be empty".into(),
            Kind::Amount => "a whole number, not negative".into(),
            Kind::Percent => "a whole number from 1 to 100".into(),
            Kind::Date => "a date YYYY-MM-DD".into(),
            Kind::OptDate => "a date YYYY-MM-DD, may be empty".into(),
            Kind::Month => "a month YYYY-MM".into(),
            Kind::Bool => "true or false".into(),
            Kind::Uscc => "an 18-character unified social credit code".into(),
            Kind::Enum(prefix, ..) => format!("one of the {prefix}* values in lower case"),
        }
    }
}

/// One column of a category.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The column name the query or the CSV header must use.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
}

/// One category of a department: its name and its columns.
#[derive(Debug, Clone, Copy)]
pub struct Category {
    /// The department serving it.
    pub department: Department,
    /// The name, as in `Describe` and the configuration.
    pub name: &'static str,
    /// The columns, in the order the guide lists them.
    pub columns: &'static [Column],
    /// At most one row per person (the household register).
    pub single: bool,
}

impl Category {
    /// The column names, comma-separated, for messages.
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }
}

macro_rules! e {
    ($prefix:literal, $t:ty) => {
        Kind::Enum(
            $prefix,
            |s| <$t>::from_str_name(s).map(|v| v as i32),
            |v| <$t>::try_from(v).is_ok(),
        )
    };
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

const IDENTITY: &[Column] = &[col("name", Kind::Text)];

/// Every category of every department. Each department's first category is
/// `identity`: the name the department holds for the ID number.
pub const CATEGORIES: &[Category] = &[
    cat(Department::PublicSecurity, "identity", IDENTITY, true),
    cat(
        Department::PublicSecurity,
        "hukou",
        &[
            col("life_status", e!("LIFE_STATUS_", LifeStatus)),
            col("death_date", Kind::OptDate),
            col("address", Kind::Text),
            col("hukou_type", e!("HUKOU_TYPE_", HukouType)),
            col("relation_to_head", Kind::OptText),
        ],
        true,
    ),
    cat(
        Department::PublicSecurity,
        "vehicles",
        &[
            col("plate", Kind::Text),
            col("vehicle_type", e!("VEHICLE_TYPE_", VehicleType)),
            col("registration_date", Kind::Date),
            col("status", e!("VEHICLE_STATUS_", VehicleStatus)),
        ],
        false,
    ),
    cat(Department::NaturalResources, "identity", IDENTITY, true),
    cat(
        Department::NaturalResources,
        "real_estate",
        &[
            col("certificate_number", Kind::Text),
            col("location", Kind::Text),
            col("use", e!("PROPERTY_USE_", PropertyUse)),
            col("floor_area_centi_m2", Kind::Amount),
            col("share_percent", Kind::Percent),
            col("acquired_date", Kind::Date),
        ],
        false,
    ),
    cat(Department::Housing, "identity", IDENTITY, true),
    cat(
        Department::Housing,
        "housing_purchases",
        &[
            col("contract_number", Kind::Text),
            col("location", Kind::Text),
            col("floor_area_centi_m2", Kind::Amount),
            col("price_fen", Kind::Amount),
            col("signed_date", Kind::Date),
        ],
        false,
    ),
    cat(
        Department::Housing,
        "leases",
        &[
            col("location", Kind::Text),
            col("monthly_rent_fen", Kind::Amount),
            col("start_date", Kind::Date),
            col("end_date", Kind::OptDate),
        ],
        false,
    ),
    cat(
        Department::Housing,
        "public_rentals",
        &[col("location", Kind::Text), col("allocated_date", Kind::Date)],
        false,
    ),
    cat(
        Department::Housing,
        "self_built",
        &[
            col("location", Kind::Text),
            col("danger_house_renovation", Kind::Bool),
            col("record_date", Kind::Date),
        ],
        false,
    ),
    cat(Department::Tax, "identity", IDENTITY, true),
    cat(
        Department::Tax,
        "tax_records",
        &[
            col("period", Kind::Month),
            col("category", e!("INCOME_CATEGORY_", IncomeCategory)),
            col("taxable_income_fen", Kind::Amount),
            col("tax_paid_fen", Kind::Amount),
        ],
        false,
    ),
    cat(Department::MarketSupervision, "identity", IDENTITY, true),
    cat(
        Department::MarketSupervision,
        "business_roles",
        &[
            col("entity_name", Kind::Text),
            col("uscc", Kind::Uscc),
            col("entity_type", e!("ENTITY_TYPE_", EntityType)),
            col("role", e!("BUSINESS_ROLE_", BusinessRole)),
            col("subscribed_capital_fen", Kind::Amount),
            col("status", e!("ENTITY_STATUS_", EntityStatus)),
            col("established_date", Kind::Date),
        ],
        false,
    ),
    cat(Department::HousingFund, "identity", IDENTITY, true),
    cat(
        Department::HousingFund,
        "housing_fund",
        &[
            col("status", e!("FUND_ACCOUNT_STATUS_", FundAccountStatus)),
            col("balance_fen", Kind::Amount),
            col("monthly_contribution_fen", Kind::Amount),
            col("employer", Kind::OptText),
            col("withdrawals_in_window_fen", Kind::Amount),
        ],
        false,
    ),
    cat(Department::Pboc, "identity", IDENTITY, true),
    cat(
        Department::Pboc,
        "bank_accounts",
        &[
            col("bank", Kind::Text),
            col("account_type", e!("ACCOUNT_TYPE_", AccountType)),
            col("balance_fen", Kind::Amount),
            col("masked_account_number", Kind::Text),
        ],
        false,
    ),
    cat(
        Department::Pboc,
        "financial_products",
        &[
            col("issuer", Kind::Text),
            col("kind", Kind::Text),
            col("value_fen", Kind::Amount),
        ],
        false,
    ),
    cat(Department::Hrss, "identity", IDENTITY, true),
    cat(
        Department::Hrss,
        "social_insurance",
        &[
            col("insurance_type", e!("INSURANCE_TYPE_", InsuranceType)),
            col("state", e!("INSURANCE_STATE_", InsuranceState)),
            col("monthly_base_fen", Kind::Amount),
            col("monthly_benefit_fen", Kind::Amount),
            col("employer", Kind::OptText),
        ],
        false,
    ),
];

const fn cat(department: Department, name: &'static str, columns: &'static [Column], single: bool) -> Category {
    Category {
        department,
        name,
        columns,
        single,
    }
}

/// The categories of `department`, `identity` first.
pub fn categories(department: Department) -> Vec<&'static Category> {
    CATEGORIES.iter().filter(|c| c.department == department).collect()
}

/// The category `name` of `department`, or an error listing the valid names.
pub fn category(department: Department, name: &str) -> Result<&'static Category, String> {
    categories(department)
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = categories(department).iter().map(|c| c.name).collect();
            format!(
                "unknown category {name:?} for {}; expected one of {}",
                hedui_domain::department::slug(department),
                names.join(", ")
            )
        })
}

/// A value as a database or a file gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL, or an empty CSV field.
    Null,
    /// An integer column.
    Int(i64),
    /// A text column, or any CSV field.
    Text(String),
    /// A DATE column.
    Date(NaiveDate),
    /// A boolean column.
    Bool(bool),
}

/// A checked value: dates and months in their canonical text form, enums
/// as their protobuf number.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An empty optional value.
    Null,
    /// An amount, a percentage or an enum number.
    Int(i64),
    /// Text, a date `YYYY-MM-DD` or a month `YYYY-MM`.
    Text(String),
    /// A flag.
    Bool(bool),
}

impl Value {
    /// As JSON, for the snapshot store.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => (*i).into(),
            Value::Text(s) => s.clone().into(),
            Value::Bool(b) => (*b).into(),
        }
    }

    /// From the snapshot store's JSON; `None` for a shape it never writes.
    pub fn from_json(v: &serde_json::Value) -> Option<Cell> {
        Some(match v {
            serde_json::Value::Null => Cell::Null,
            serde_json::Value::Bool(b) => Cell::Bool(*b),
            serde_json::Value::Number(n) => Cell::Int(n.as_i64()?),
            serde_json::Value::String(s) => Cell::Text(s.clone()),
            _ => return None,
        })
    }

    fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            _ => String::new(),
        }
    }

    fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            _ => 0,
        }
    }
}

/// Checks one value against its column. The error says what was expected,
/// never what was found (it may be personal data).
pub fn convert(kind: Kind, cell: &Cell) -> Result<Value, String> {
    let text = match cell {
        Cell::Text(s) => Some(s.trim()),
        _ => None,
    };
    let empty = matches!(cell, Cell::Null) || text == Some("");
    match kind {
        Kind::OptText | Kind::OptDate if empty => return Ok(Value::Null),
        _ if empty => return Err("is required".into()),
        _ => {}
    }
    let wrong = || Err(format!("must be {}", kind.describe()));
    match kind {
        Kind::Text | Kind::OptText => {
            let Some(s) = text else { return wrong() };
            if s.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("is longer than {MAX_TEXT_CHARS} characters"));
            }
            if s.chars().any(char::is_control) {
                return Err("contains control characters".into());
            }
            Ok(Value::Text(s.to_owned()))
        }
        Kind::Amount | Kind::Percent => {
            let n = match (cell, text) {
                (Cell::Int(i), _) => *i,
                (_, Some(s)) => match s.parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => return wrong(),
                },
                _ => return wrong(),
            };
            if n < 0 {
                return Err("must not be negative".into());
            }
            if matches!(kind, Kind::Amount) && n > MAX_FEN {
                return Err(format!("is implausibly large (more than {MAX_FEN})"));
            }
            if matches!(kind, Kind::Percent) && !(1..=100).contains(&n) {
                return wrong();
            }
            Ok(Value::Int(n))
        }
        Kind::Date | Kind::OptDate => match (cell, text) {
            (Cell::Date(d), _) => Ok(Value::Text(d.format("%Y-%m-%d").to_string())),
            (_, Some(s)) => parse_date(s)
                .map(|d| Value::Text(d.format("%Y-%m-%d").to_string()))
                .or_else(|_| wrong()),
            _ => wrong(),
        },
        Kind::Month => match text {
            Some(s) => YearMonth::parse(s)
                .map(|_| Value::Text(s.to_owned()))
                .or_else(|_| wrong()),
            None => wrong(),
        },
        Kind::Bool => match (cell, text) {
            (Cell::Bool(b), _) => Ok(Value::Bool(*b)),
            (Cell::Int(0), _) => Ok(Value::Bool(false)),
            (Cell::Int(1), _) => Ok(Value::Bool(true)),
            (_, Some(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "是" | "y" | "yes" => Ok(Value::Bool(true)),
                "false" | "0" | "否" | "n" | "no" => Ok(Value::Bool(false)),
                _ => wrong(),
            },
            _ => wrong(),
        },
        Kind::Uscc => match text {
            Some(s) => Uscc::parse(s)
                .map(|u| Value::Text(u.as_str().to_owned()))
                .map_err(|e| format!("is not a valid unified social credit code: {e}")),
            None => wrong(),
        },
        Kind::Enum(prefix, parse, known) => {
            if let Cell::Int(v) = cell {
                return match i32::try_from(*v) {
                    Ok(v) if v != 0 && known(v) => Ok(Value::Int(i64::from(v))),
                    _ => wrong(),
                };
            }
            let Some(s) = text else { return wrong() };
            let upper = s.to_ascii_uppercase();
            let full = if upper.starts_with(prefix) {
                upper
            } else {
                format!("{prefix}{upper}")
            };
            match parse(&full) {
                // The UNSPECIFIED value is never a real answer.
                Some(v) if v != 0 => Ok(Value::Int(i64::from(v))),
                _ => wrong(),
            }
        }
    }
}

/// One checked row of a category, by column name.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub HashMap<&'static str, Value>);

impl Row {
    fn text(&self, c: &str) -> String {
        self.0.get(c).map(Value::text).unwrap_or_default()
    }
    fn int(&self, c: &str) -> i64 {
        self.0.get(c).map(Value::int).unwrap_or_default()
    }
    fn enum_(&self, c: &str) -> i32 {
        i32::try_from(self.int(c)).unwrap_or_default()
    }
    fn flag(&self, c: &str) -> bool {
        matches!(self.0.get(c), Some(Value::Bool(true)))
    }
}

/// Checks one row of `category` given as cells by column name. `row` is
/// the 1-based row number used in messages. Every problem is reported.
pub fn check_row(category: &Category, row: usize, cells: &HashMap<&str, Cell>) -> Result<Row, Vec<String>> {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for c in category.columns {
        let cell = cells.get(c.name).unwrap_or(&Cell::Null);
        match convert(c.kind, cell) {
            Ok(v) => {
                out.insert(c.name, v);
            }
            Err(e) => errors.push(format!("{} row {row}, column {}: {e}", category.name, c.name)),
        }
    }
    if errors.is_empty() { Ok(Row(out)) } else { Err(errors) }
}

/// True when one of the person's `identity` rows holds the asked name.
pub fn name_matches(identity: &[Row], asked_name: &str) -> bool {
    identity.iter().any(|r| r.text("name") == asked_name.trim())
}

/// Builds the result for one person from their rows in every category of
/// `department` (`identity` included). `asked_name` is compared with the
/// registered name. Tax records outside `window` are left out.
pub fn build(
    department: Department,
    id_number: &str,
    asked_name: &str,
    rows: &HashMap<&'static str, Vec<Row>>,
    window: &IncomeWindow,
) -> Result<PersonResult, String> {
    let none = Vec::new();
    let get = |c: &str| rows.get(c).unwrap_or(&none);
    let identity = get("identity");
    let mut result = PersonResult {
        id_number: id_number.to_owned(),
        identity_status: IdentityStatus::NotFound as i32,
        findings: None,
    };
    if identity.is_empty() {
        return Ok(result);
    }
    if !name_matches(identity, asked_name) {
        result.identity_status = IdentityStatus::NameMismatch as i32;
        return Ok(result);
    }
    result.identity_status = IdentityStatus::Found as i32;
    for c in categories(department).iter().filter(|c| c.single) {
        if get(c.name).len() > 1 {
            return Err(format!(
                "{}: {} rows for one person; at most one is allowed",
                c.name,
                get(c.name).len()
            ));
        }
    }
    let findings = match department {
        Department::Unspecified => return Err("no department".into()),
        Department::PublicSecurity => {
            let Some(h) = get("hukou").first() else {
                return Err("hukou: no row for a person found in identity; public security must give one".into());
            };
            Findings::PublicSecurity(PublicSecurityFindings {
                life_status: h.enum_("life_status"),
                death_date: h.text("death_date"),
                hukou: Some(Hukou {
                    address: h.text("address"),
                    hukou_type: h.enum_("hukou_type"),
                    relation_to_head: h.text("relation_to_head"),
                }),
                vehicles: get("vehicles")
                    .iter()
                    .map(|r| Vehicle {
                        plate: r.text("plate"),
                        vehicle_type: r.enum_("vehicle_type"),
                        registration_date: r.text("registration_date"),
                        status: r.enum_("status"),
                    })
                    .collect(),
            })
        }
        Department::NaturalResources => Findings::NaturalResources(NaturalResourcesFindings {
            properties: get("real_estate")
                .iter()
                .map(|r| Property {
                    certificate_number: r.text("certificate_number"),
                    location: r.text("location"),
                    r#use: r.enum_("use"),
                    floor_area_centi_m2: r.int("floor_area_centi_m2"),
                    share_percent: u32::try_from(r.int("share_percent")).unwrap_or_default(),
                    acquired_date: r.text("acquired_date"),
                })
                .collect(),
        }),
        Department::Housing => Findings::Housing(HousingFindings {
            purchases: get("housing_purchases")
                .iter()
                .map(|r| PurchaseContract {
                    contract_number: r.text("contract_number"),
                    location: r.text("location"),
                    floor_area_centi_m2: r.int("floor_area_centi_m2"),
                    price_fen: r.int("price_fen"),
                    signed_date: r.text("signed_date"),
                })
                .collect(),
            leases: get("leases")
                .iter()
                .map(|r| Lease {
                    location: r.text("location"),
                    monthly_rent_fen: r.int("monthly_rent_fen"),
                    start_date: r.text("start_date"),
                    end_date: r.text("end_date"),
                })
                .collect(),
            public_rentals: get("public_rentals")
                .iter()
                .map(|r| PublicRental {
                    location: r.text("location"),
                    allocated_date: r.text("allocated_date"),
                })
                .collect(),
            self_built: get("self_built")
                .iter()
                .map(|r| SelfBuilt {
                    location: r.text("location"),
                    danger_house_renovation: r.flag("danger_house_renovation"),
                    record_date: r.text("record_date"),
                })
                .collect(),
        }),
        Department::Tax => Findings::Tax(TaxFindings {
            records: get("tax_records")
                .iter()
                .filter(|r| YearMonth::parse(&r.text("period")).is_ok_and(|m| window.contains_month(m)))
                .map(|r| TaxRecord {
                    period: r.text("period"),
                    category: r.enum_("category"),
                    taxable_income_fen: r.int("taxable_income_fen"),
                    tax_paid_fen: r.int("tax_paid_fen"),
                })
                .collect(),
        }),
        Department::MarketSupervision => Findings::MarketSupervision(MarketSupervisionFindings {
            roles: get("business_roles")
                .iter()
                .map(|r| BusinessRoleRecord {
                    entity_name: r.text("entity_name"),
                    uscc: r.text("uscc"),
                    entity_type: r.enum_("entity_type"),
                    role: r.enum_("role"),
                    subscribed_capital_fen: r.int("subscribed_capital_fen"),
                    status: r.enum_("status"),
                    established_date: r.text("established_date"),
                })
                .collect(),
        }),
        Department::HousingFund => Findings::HousingFund(HousingFundFindings {
            accounts: get("housing_fund")
                .iter()
                .map(|r| FundAccount {
                    status: r.enum_("status"),
                    balance_fen: r.int("balance_fen"),
                    monthly_contribution_fen: r.int("monthly_contribution_fen"),
                    employer: r.text("employer"),
                    withdrawals_in_window_fen: r.int("withdrawals_in_window_fen"),
                })
                .collect(),
        }),
        Department::Pboc => Findings::Pboc(PbocFindings {
            accounts: get("bank_accounts")
                .iter()
                .map(|r| BankAccount {
                    bank: r.text("bank"),
                    account_type: r.enum_("account_type"),
                    balance_fen: r.int("balance_fen"),
                    masked_account_number: r.text("masked_account_number"),
                })
                .collect(),
            products: get("financial_products")
                .iter()
                .map(|r| FinancialProduct {
                    issuer: r.text("issuer"),
                    kind: r.text("kind"),
                    value_fen: r.int("value_fen"),
                })
                .collect(),
        }),
        Department::Hrss => Findings::Hrss(HrssFindings {
            insurance: get("social_insurance")
                .iter()
                .map(|r| InsuranceRecord {
                    insurance_type: r.enum_("insurance_type"),
                    state: r.enum_("state"),
                    monthly_base_fen: r.int("monthly_base_fen"),
                    monthly_benefit_fen: r.int("monthly_benefit_fen"),
                    employer: r.text("employer"),
                })
                .collect(),
        }),
    };
    result.findings = Some(findings);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_department_has_identity_first_and_the_sandbox_categories() {
        for d in hedui_domain::department::ALL {
            let names: Vec<&str> = categories(d).iter().map(|c| c.name).collect();
            assert_eq!(names[0], "identity", "{d:?}");
            assert_eq!(names, crate::sandbox::Sandbox::categories(d), "{d:?}");
        }
    }

    #[test]
    fn values_are_checked_without_echoing_them() {
        let income = e!("INCOME_CATEGORY_", IncomeCategory);
        assert_eq!(convert(income, &Cell::Text("Wages".into())), Ok(Value::Int(1)));
        assert_eq!(
            convert(income, &Cell::Text("INCOME_CATEGORY_OTHER".into())),
            Ok(Value::Int(4))
        );
        assert!(convert(income, &Cell::Text("unspecified".into())).is_err());
        assert_eq!(
            convert(Kind::Amount, &Cell::Text(" 1200 ".into())),
            Ok(Value::Int(1200))
        );
        let err = convert(Kind::Amount, &Cell::Text("12.50".into())).unwrap_err();
        assert_eq!(err, "must be a whole number, not negative");
        assert_eq!(
            convert(Kind::Amount, &Cell::Int(-1)).unwrap_err(),
            "must not be negative"
        );
        assert!(convert(Kind::Date, &Cell::Text("2026-02-30".into())).is_err());
        assert_eq!(
            convert(
                Kind::Date,
                &Cell::Date(NaiveDate::from_ymd_opt(2026, 2, 3).expect("date"))
            ),
            Ok(Value::Text("2026-02-03".into()))
        );
        assert_eq!(convert(Kind::OptDate, &Cell::Null), Ok(Value::Null));
        assert_eq!(convert(Kind::Text, &Cell::Null).unwrap_err(), "is required");
        assert_eq!(convert(Kind::Bool, &Cell::Text("是".into())), Ok(Value::Bool(true)));
        assert!(convert(Kind::Percent, &Cell::Int(0)).is_err());
        assert!(convert(Kind::Uscc, &Cell::Text("91520626MA6DKXXXX0".into())).is_err());
        assert!(convert(Kind::Month, &Cell::Text("2026-13".into())).is_err());
    }

    #[test]
    fn identity_decides_found_not_found_and_mismatch() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
        let w = IncomeWindow::last_months(today, 12);
        let mut rows: HashMap<&'static str, Vec<Row>> = HashMap::new();
        let r = build(Department::Tax, "X", "张三", &rows, &w).expect("builds");
        assert_eq!(r.identity_status, IdentityStatus::NotFound as i32);
        rows.insert("identity", vec![Row([("name", Value::Text("张三".into()))].into())]);
        let r = build(Department::Tax, "X", "李四", &rows, &w).expect("builds");
        assert_eq!(r.identity_status, IdentityStatus::NameMismatch as i32);
        assert!(r.findings.is_none());
        let r = build(Department::Tax, "X", "张三", &rows, &w).expect("builds");
        assert_eq!(r.identity_status, IdentityStatus::Found as i32);
        assert_eq!(r.findings, Some(Findings::Tax(TaxFindings { records: vec![] })));
        // Public security must give the household register of a known person.
        let err = build(Department::PublicSecurity, "X", "张三", &rows, &w).unwrap_err();
        assert!(err.starts_with("hukou:"), "{err}");
    }
}
