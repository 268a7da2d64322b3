//! A verification request and its authorization, validated together.

use chrono::NaiveDate;
use hedui_domain::ValidationError;
use hedui_domain::request::ValidatedSubmission;
use hedui_proto::v1::SubmitVerificationRequest;

use crate::authorization::{self, ValidatedAuthorization};

/// Validates the request and its authorization together, so that every
/// violation of both is reported in one answer, and checks that the
/// authorization is the one the request quotes.
///
/// This is the hub's first step for a submission, and the check that the
/// command line, the console and the batch upload run before sending, so
/// that all of them word a problem the same way. Whether the authorization
/// covers this household and purpose is [`authorization::check_covers`].
pub fn parse(
    req: &SubmitVerificationRequest,
    today: NaiveDate,
) -> Result<(ValidatedSubmission, ValidatedAuthorization), ValidationError> {
    let sub = ValidatedSubmission::parse(req, today);
    let auth = match &req.authorization {
        Some(a) => authorization::parse(a, today, "authorization"),
        None => Err(ValidationError::one(
            "authorization",
            "is required: the household's signed authorization (授权书)",
        )),
    };
    match (sub, auth) {
        (Ok(sub), Ok(auth)) => {
            if auth.form_number != sub.authorization_ref {
                return Err(ValidationError::one(
                    "authorization.form_number",
                    "must equal authorization_ref",
                ));
            }
            Ok((sub, auth))
        }
        (sub, auth) => {
            let mut violations = Vec::new();
            if let Err(e) = sub {
                violations.extend(e.violations);
            }
            if let Err(e) = auth {
                violations.extend(e.violations);
            }
            Err(ValidationError { violations })
        }
    }
}

#[cfg(test)]
mod tests {
    use hedui_domain::ids::resident_check_char;
    use hedui_proto::v1::{Household, IncomeWindow, Member, Purpose, Relation, Residence};

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn request() -> SubmitVerificationRequest {
        let first17 = "52062619800101001";
        let household = Household {
            household_ref: "DJ-2026-0001".into(),
            residence: Residence::Rural as i32,
            members: vec![Member {
                name: "王秀英".into(),
                id_number: format!("{first17}{}", resident_check_char(first17).unwrap()),
                relation: Relation::Applicant as i32,
                lacks_capacity: false,
            }],
        };
        let purpose = Purpose::MinimumLiving;
        let authorization = authorization::complete_for(&household, purpose, "SQ-1", today(), today());
        SubmitVerificationRequest {
            idempotency_key: "k-1".into(),
            household: Some(household),
            purpose: purpose as i32,
            income_window: Some(IncomeWindow {
                from_month: "2026-05".into(),
                to_month: "2026-10".into(),
            }),
            asset_reference_date: "2026-11-01".into(),
            authorization_ref: "SQ-1".into(),
            authorization: Some(authorization),
        }
    }

    fn fields(e: ValidationError) -> Vec<String> {
        e.violations.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_complete_request_parses_with_its_authorization() {
        let (sub, auth) = parse(&request(), today()).unwrap();
        assert_eq!(sub.authorization_ref, "SQ-1");
        assert_eq!(auth.form_number, "SQ-1");
    }

    #[test]
    fn problems_of_the_request_and_of_the_authorization_come_in_one_answer() {
        let mut req = request();
        req.asset_reference_date = "2026-13-01".into();
        req.authorization.as_mut().unwrap().form_number = String::new();
        let got = fields(parse(&req, today()).unwrap_err());
        assert!(got.contains(&"asset_reference_date".to_owned()), "{got:?}");
        assert!(got.iter().any(|f| f.starts_with("authorization.")), "{got:?}");
    }

    #[test]
    fn a_missing_authorization_is_named() {
        let mut req = request();
        req.authorization = None;
        assert_eq!(fields(parse(&req, today()).unwrap_err()), ["authorization"]);
    }

    #[test]
    fn the_authorization_must_be_the_one_the_request_quotes() {
        let mut req = request();
        req.authorization_ref = "SQ-2".into();
        assert_eq!(fields(parse(&req, today()).unwrap_err()), ["authorization.form_number"]);
    }
}
