//! A department query that passed validation: what an adapter's source
//! sees. The adapter SDK validates every incoming query with
//! [`validate_query`] before its source is asked; the fuzz targets run the
//! same function on arbitrary bytes.

use chrono::NaiveDate;
use hedui_proto::v1::{Purpose, QueryRequest};

use crate::error::{FieldViolation, ValidationError};
use crate::household::validate_name;
use crate::ids::ResidentId;
use crate::purpose::parse_purpose;
use crate::window::{IncomeWindow, parse_date};

/// The most persons one query may name; the same bound as a household.
pub const MAX_PERSONS: usize = crate::household::MAX_MEMBERS;

/// A query that passed the SDK's validation. An adapter's source only
/// ever sees these.
#[derive(Debug, Clone)]
pub struct ValidatedQuery {
    /// The hub's request id.
    pub request_id: uuid::Uuid,
    /// Why the household is being checked.
    pub purpose: Purpose,
    /// The persons, in the order asked: the name as given and the ID number.
    pub persons: Vec<(String, ResidentId)>,
    /// The income window.
    pub window: IncomeWindow,
    /// The date for balances and holdings.
    pub asset_reference_date: NaiveDate,
    /// The authorization reference the hub quoted.
    pub authorization_ref: String,
    /// The request as received, for sources that want to pass it on.
    pub raw: QueryRequest,
}

/// Validates a raw query. Every violation names its field.
pub fn validate_query(req: &QueryRequest, today: NaiveDate) -> Result<ValidatedQuery, ValidationError> {
    let mut v = Vec::new();
    let request_id = match uuid::Uuid::parse_str(&req.request_id) {
        Ok(id) => Some(id),
        Err(_) => {
            v.push(FieldViolation::new("request_id", "must be a UUID"));
            None
        }
    };
    let purpose = parse_purpose(req.purpose, "purpose").map_err(|e| v.push(e)).ok();
    if req.persons.is_empty() {
        v.push(FieldViolation::new("persons", "at least one person is required"));
    } else if req.persons.len() > MAX_PERSONS {
        v.push(FieldViolation::new(
            "persons",
            format!("{} persons; at most {MAX_PERSONS} are allowed", req.persons.len()),
        ));
    }
    let mut persons = Vec::with_capacity(req.persons.len());
    for (i, p) in req.persons.iter().enumerate() {
        if let Err(e) = validate_name(&p.name) {
            v.push(FieldViolation::new(format!("persons[{i}].name"), e));
        }
        match ResidentId::parse(&p.id_number, today) {
            Ok(id) => {
                if let Some(j) = persons.iter().position(|(_, other)| other == &id) {
                    v.push(FieldViolation::new(
                        format!("persons[{i}].id_number"),
                        format!("duplicate ID number; same as persons[{j}]"),
                    ));
                }
                persons.push((p.name.clone(), id));
            }
            Err(e) => v.push(FieldViolation::new(format!("persons[{i}].id_number"), e.to_string())),
        }
    }
    let window = match &req.income_window {
        Some(w) => IncomeWindow::parse(w, today, "income_window")
            .map_err(|e| v.extend(e.violations))
            .ok(),
        None => {
            v.push(FieldViolation::new("income_window", "is required"));
            None
        }
    };
    let asset_reference_date = match parse_date(&req.asset_reference_date) {
        Ok(d) if d > today => {
            v.push(FieldViolation::new(
                "asset_reference_date",
                format!("{d} is in the future"),
            ));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            v.push(FieldViolation::new("asset_reference_date", e));
            None
        }
    };
    if req.authorization_ref.trim().is_empty() {
        v.push(FieldViolation::new("authorization_ref", "is required"));
    }
    ValidationError::check(v)?;
    Ok(ValidatedQuery {
        request_id: request_id.expect("checked above"),
        purpose: purpose.expect("checked above"),
        persons,
        window: window.expect("checked above"),
        asset_reference_date: asset_reference_date.expect("checked above"),
        authorization_ref: req.authorization_ref.clone(),
        raw: req.clone(),
    })
}
