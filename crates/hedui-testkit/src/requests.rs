//! Sandbox requests: what a caseworker submits for a sandbox household.
//!
//! Every site asks the same thing: 最低生活保障 (`MINIMUM_LIVING`), the
//! last twelve months, no asset reference date, and an authorization signed
//! by every member who must sign, valid for a year from `today`. Only the
//! form number and the idempotency key differ, so those are the arguments.

use chrono::NaiveDate;
use hedui_adapter::sandbox::{Sandbox, SandboxHousehold};
use hedui_domain::window::IncomeWindow;
use hedui_proto::v1::{Authorization, Household, Purpose, SubmitVerificationRequest};

/// The purpose of every sandbox request.
pub const PURPOSE: Purpose = Purpose::MinimumLiving;

/// A complete authorization (授权书) for `household`, on form `form`,
/// signed `today` and valid for 365 days.
pub fn authorization(household: &Household, form: &str, today: NaiveDate) -> Authorization {
    hedui_trust::authorization::complete_for(household, PURPOSE, form, today, today + chrono::Days::new(365))
}

/// A valid request for `household` as of `today`, quoting the authorization
/// on form `form`, under `idempotency_key` (empty: none).
pub fn request(
    household: &Household,
    form: &str,
    idempotency_key: &str,
    today: NaiveDate,
) -> SubmitVerificationRequest {
    SubmitVerificationRequest {
        idempotency_key: idempotency_key.to_owned(),
        household: Some(household.clone()),
        purpose: PURPOSE as i32,
        income_window: Some(IncomeWindow::last_months(today, 12).to_proto()),
        asset_reference_date: String::new(),
        authorization_ref: form.to_owned(),
        authorization: Some(authorization(household, form, today)),
    }
}

/// The sandbox households whose eight departments all answer: all but the
/// ones built to simulate a department that is offline.
pub fn answering(sandbox: &Sandbox) -> impl Iterator<Item = &SandboxHousehold> {
    sandbox.households().iter().filter(|h| h.scenario != "source-offline")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_request_passes_the_hubs_checks() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date");
        let sandbox = Sandbox::dejiang(today);
        for h in answering(&sandbox).take(20) {
            let req = request(&h.household, "SQ-KIT-0001", "kit-1", today);
            let (sub, auth) = hedui_trust::submission::parse(&req, today).expect("a valid request");
            hedui_trust::authorization::check_covers(&auth, &sub.household, sub.purpose, today)
                .expect("the authorization covers the household");
        }
    }
}
