//! A verification request that passed validation.

use chrono::NaiveDate;
use hedui_proto::v1::{Purpose, SubmitVerificationRequest};

use crate::error::{FieldViolation, ValidationError};
use crate::household::{ValidatedHousehold, validate_label};
use crate::purpose::parse_purpose;
use crate::window::{IncomeWindow, parse_date};

/// The longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// The longest authorization form number, in characters.
pub const MAX_AUTHORIZATION_REF_CHARS: usize = 64;

/// A `SubmitVerificationRequest` that passed
/// [`ValidatedSubmission::parse`]: everything the hub needs to query the
/// departments, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedSubmission {
    /// The client's idempotency key: 1 to 128 printable ASCII characters
    /// without spaces.
    pub idempotency_key: String,
    /// The household.
    pub household: ValidatedHousehold,
    /// Why the household is checked; never `Unspecified`.
    pub purpose: Purpose,
    /// The income window.
    pub window: IncomeWindow,
    /// The date on which assets are reported; today when the request left
    /// it empty, never after today.
    pub asset_reference_date: NaiveDate,
    /// The signed authorization (授权书) form number.
    pub authorization_ref: String,
}

impl ValidatedSubmission {
    /// Validates a request, reporting every violation at once. Field paths
    /// are the request's own field names (`idempotency_key`,
    /// `household.members[1].name`, `income_window.to_month`, ...).
    pub fn parse(r: &SubmitVerificationRequest, today: NaiveDate) -> Result<Self, ValidationError> {
        let mut violations = Vec::new();

        if let Err(e) = check_idempotency_key(&r.idempotency_key) {
            violations.push(FieldViolation::new("idempotency_key", e));
        }

        let household = match &r.household {
            None => {
                violations.push(FieldViolation::new("household", "is required"));
                None
            }
            Some(h) => ValidatedHousehold::parse(h, today, "household")
                .map_err(|e| violations.extend(e.violations))
                .ok(),
        };

        let purpose = parse_purpose(r.purpose, "purpose").map_err(|e| violations.push(e)).ok();

        let window = match &r.income_window {
            None => {
                violations.push(FieldViolation::new("income_window", "is required"));
                None
            }
            Some(w) => IncomeWindow::parse(w, today, "income_window")
                .map_err(|e| violations.extend(e.violations))
                .ok(),
        };

        let asset_reference_date = if r.asset_reference_date.is_empty() {
            Some(today)
        } else {
            match parse_date(&r.asset_reference_date) {
                Ok(d) if d > today => {
                    violations.push(FieldViolation::new(
                        "asset_reference_date",
                        format!("{d} is in the future; today is {today}"),
                    ));
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    violations.push(FieldViolation::new("asset_reference_date", e));
                    None
                }
            }
        };

        if let Err(e) = validate_label(&r.authorization_ref, MAX_AUTHORIZATION_REF_CHARS) {
            violations.push(FieldViolation::new("authorization_ref", e));
        }

        ValidationError::check(violations)?;
        // No violations means every part above parsed.
        match (household, purpose, window, asset_reference_date) {
            (Some(household), Some(purpose), Some(window), Some(asset_reference_date)) => Ok(ValidatedSubmission {
                idempotency_key: r.idempotency_key.clone(),
                household,
                purpose,
                window,
                asset_reference_date,
                authorization_ref: r.authorization_ref.clone(),
            }),
            _ => unreachable!("a part failed to parse without a violation"),
        }
    }
}

/// Checks an idempotency key: 1 to 128 characters, each printable ASCII
/// other than space (0x21 to 0x7e), so that keys survive copying through
/// logs, shells and URLs unchanged.
pub fn check_idempotency_key(key: &str) -> Result<(), String> {
    let n = key.chars().count();
    if n == 0 {
        return Err("is required".to_owned());
    }
    if n > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(format!(
            "has {n} characters; at most {MAX_IDEMPOTENCY_KEY_CHARS} are allowed"
        ));
    }
    if let Some((i, c)) = key
        .chars()
        .enumerate()
        .find(|(_, c)| !('\u{21}'..='\u{7e}').contains(c))
    {
        return Err(format!(
            "contains U+{:04X} at position {}; only printable ASCII without spaces is allowed",
            c as u32,
            i + 1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hedui_proto::v1::{Household, Member, Relation, Residence};

    use super::*;
    use crate::ids::resident_check_char;
    use crate::window::YearMonth;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn member(name: &str, id_number: &str, relation: Relation) -> Member {
        Member {
            name: name.into(),
            id_number: id_number.into(),
            relation: relation as i32,
            lacks_capacity: false,
        }
    }

    fn request() -> SubmitVerificationRequest {
        SubmitVerificationRequest {
            idempotency_key: "caseworker-7/2026-11-26/001".into(),
            household: Some(Household {
                household_ref: "DJ-2026-0001".into(),
                residence: Residence::Rural as i32,
                members: vec![
                    member("王秀英", "520626194701205831", Relation::Applicant),
                    member("李建国", "520626195711191204", Relation::Spouse),
                    member("王小明", "52222619930616389X", Relation::Child),
                ],
            }),
            purpose: Purpose::MinimumLiving as i32,
            income_window: Some(hedui_proto::v1::IncomeWindow {
                from_month: "2025-11".into(),
                to_month: "2026-10".into(),
            }),
            asset_reference_date: "2026-11-20".into(),
            authorization_ref: "SQ-2026-000123".into(),
            authorization: None,
        }
    }

    fn violations(r: &SubmitVerificationRequest) -> Vec<(String, String)> {
        ValidatedSubmission::parse(r, today())
            .unwrap_err()
            .violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    fn one(field: &str, description: &str) -> Vec<(String, String)> {
        vec![(field.to_owned(), description.to_owned())]
    }

    fn hh(r: &mut SubmitVerificationRequest) -> &mut Household {
        r.household.as_mut().unwrap()
    }

    #[test]
    fn accepts_a_valid_request() {
        let s = ValidatedSubmission::parse(&request(), today()).unwrap();
        assert_eq!(s.idempotency_key, "caseworker-7/2026-11-26/001");
        assert_eq!(s.purpose, Purpose::MinimumLiving);
        assert_eq!(s.window.from, YearMonth { year: 2025, month: 11 });
        assert_eq!(s.window.months(), 12);
        assert_eq!(s.asset_reference_date, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        assert_eq!(s.authorization_ref, "SQ-2026-000123");
        assert_eq!(s.household.members.len(), 3);
    }

    #[test]
    fn empty_asset_reference_date_means_today() {
        let mut r = request();
        r.asset_reference_date = String::new();
        assert_eq!(
            ValidatedSubmission::parse(&r, today()).unwrap().asset_reference_date,
            today()
        );
        r.asset_reference_date = "2026-11-26".into();
        assert_eq!(
            ValidatedSubmission::parse(&r, today()).unwrap().asset_reference_date,
            today()
        );
    }

    #[test]
    fn bad_asset_reference_date() {
        let mut r = request();
        r.asset_reference_date = "2026-02-30".into();
        assert_eq!(violations(&r), one("asset_reference_date", "no such date: 2026-02-30"));
        r.asset_reference_date = "2026-11-27".into();
        assert_eq!(
            violations(&r),
            one(
                "asset_reference_date",
                "2026-11-27 is in the future; today is 2026-11-26"
            )
        );
        r.asset_reference_date = "26/11/2026".into();
        assert_eq!(
            violations(&r),
            one(
                "asset_reference_date",
                "expected a date as YYYY-MM-DD, found \"26/11/2026\""
            )
        );
    }

    #[test]
    fn idempotency_key() {
        let mut r = request();
        r.idempotency_key = String::new();
        assert_eq!(violations(&r), one("idempotency_key", "is required"));
        r.idempotency_key = "a".repeat(129);
        assert_eq!(
            violations(&r),
            one("idempotency_key", "has 129 characters; at most 128 are allowed")
        );
        r.idempotency_key = "a".repeat(128);
        assert!(ValidatedSubmission::parse(&r, today()).is_ok());
        r.idempotency_key = "key 1".into();
        assert_eq!(
            violations(&r),
            one(
                "idempotency_key",
                "contains U+0020 at position 4; only printable ASCII without spaces is allowed"
            )
        );
        r.idempotency_key = "键".into();
        assert_eq!(
            violations(&r),
            one(
                "idempotency_key",
                "contains U+952E at position 1; only printable ASCII without spaces is allowed"
            )
        );
        r.idempotency_key = "k\u{7f}".into();
        assert_eq!(violations(&r).len(), 1);
    }

    #[test]
    fn missing_parts() {
        let r = SubmitVerificationRequest::default();
        assert_eq!(
            violations(&r),
            vec![
                ("idempotency_key".to_owned(), "is required".to_owned()),
                ("household".to_owned(), "is required".to_owned()),
                (
                    "purpose".to_owned(),
                    "is required; expected one of PURPOSE_MINIMUM_LIVING, PURPOSE_EXTREME_POVERTY, \
                     PURPOSE_MEDICAL, PURPOSE_EDUCATION, PURPOSE_HOUSING, PURPOSE_EMPLOYMENT, \
                     PURPOSE_TEMPORARY, PURPOSE_LOW_INCOME"
                        .to_owned()
                ),
                ("income_window".to_owned(), "is required".to_owned()),
                ("authorization_ref".to_owned(), "is required".to_owned()),
            ]
        );
    }

    #[test]
    fn unknown_purpose() {
        let mut r = request();
        r.purpose = 99;
        let v = violations(&r);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0, "purpose");
        assert!(
            v[0].1
                .starts_with("unknown value 99; expected one of PURPOSE_MINIMUM_LIVING")
        );
    }

    #[test]
    fn authorization_ref() {
        let mut r = request();
        r.authorization_ref = "   ".into();
        assert_eq!(violations(&r), one("authorization_ref", "must not be blank"));
        r.authorization_ref = "SQ\u{0}1".into();
        assert_eq!(
            violations(&r),
            one("authorization_ref", "contains control character U+0000 at position 3")
        );
        r.authorization_ref = "Q".repeat(65);
        assert_eq!(
            violations(&r),
            one("authorization_ref", "has 65 characters; at most 64 are allowed")
        );
    }

    #[test]
    fn bad_check_char() {
        let mut r = request();
        hh(&mut r).members[1].id_number = "520626195711191205".into();
        assert_eq!(
            violations(&r),
            one(
                "household.members[1].id_number",
                "check character should be '4', found '5'"
            )
        );
    }

    #[test]
    fn thirtieth_of_february() {
        let mut r = request();
        hh(&mut r).members[2].id_number = "520626197802301228".into();
        assert_eq!(
            violations(&r),
            one("household.members[2].id_number", "birth date 1978-02-30 does not exist")
        );
    }

    #[test]
    fn duplicate_member() {
        let mut r = request();
        hh(&mut r).members[2].id_number = "520626195711191204".into();
        assert_eq!(
            violations(&r),
            one(
                "household.members[2].id_number",
                "duplicate ID number; same as members[1]"
            )
        );
    }

    #[test]
    fn empty_household() {
        let mut r = request();
        hh(&mut r).members.clear();
        assert_eq!(violations(&r), one("household.members", "household has no members"));
    }

    #[test]
    fn thirty_one_members() {
        let mut r = request();
        let members = &mut hh(&mut r).members;
        for i in 0..28 {
            let first17 = format!("52062619900101{i:03}");
            let id = format!("{first17}{}", resident_check_char(&first17).unwrap());
            members.push(member("张三", &id, Relation::Other));
        }
        assert!(ValidatedSubmission::parse(&r, today()).is_err());
        hh(&mut r).members.pop();
        assert_eq!(
            ValidatedSubmission::parse(&r, today()).unwrap().household.members.len(),
            30
        );
        let first17 = "52062619900101999";
        let id = format!("{first17}{}", resident_check_char(first17).unwrap());
        hh(&mut r).members.push(member("张三", &id, Relation::Other));
        assert_eq!(
            violations(&r),
            one("household.members", "household has 31 members; at most 30 are allowed")
        );
    }

    #[test]
    fn twenty_five_month_window() {
        let mut r = request();
        r.income_window.as_mut().unwrap().from_month = "2024-10".into();
        assert_eq!(
            violations(&r),
            one(
                "income_window.from_month",
                "window 2024-10 to 2026-10 covers 25 months; at most 24 are allowed"
            )
        );
    }

    #[test]
    fn future_window() {
        let mut r = request();
        r.income_window.as_mut().unwrap().to_month = "2026-12".into();
        assert_eq!(
            violations(&r),
            one(
                "income_window.to_month",
                "2026-12 is in the future; the current month is 2026-11"
            )
        );
    }

    #[test]
    fn control_char_in_name() {
        let mut r = request();
        hh(&mut r).members[0].name = "王秀\u{8}英".into();
        assert_eq!(
            violations(&r),
            one(
                "household.members[0].name",
                "contains control character U+0008 at position 3"
            )
        );
    }

    #[test]
    fn violations_from_every_part_are_collected() {
        let mut r = request();
        r.idempotency_key = String::new();
        hh(&mut r).members[0].relation = Relation::Spouse as i32;
        r.purpose = 0;
        r.income_window.as_mut().unwrap().to_month = "2026-1".into();
        r.asset_reference_date = "2027-01-01".into();
        r.authorization_ref = String::new();
        let fields: Vec<String> = violations(&r).into_iter().map(|v| v.0).collect();
        assert_eq!(
            fields,
            [
                "idempotency_key",
                "household.members",
                "purpose",
                "income_window.to_month",
                "asset_reference_date",
                "authorization_ref",
            ]
        );
    }
}
