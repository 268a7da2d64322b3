//! The household's signed authorization (授权书).
//!
//! Two steps, kept apart because they fail differently. [`parse`] checks
//! the shape of an authorization from the wire and reports every problem as
//! a field violation (`INVALID_ARGUMENT`): the caseworker typed something
//! that cannot be right. [`check_covers`] then checks that a well-formed
//! authorization actually permits this request for this household on this
//! day (`FAILED_PRECONDITION`): the form may be perfectly typed and still
//! not cover a member, or have expired.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use chrono::NaiveDate;
use hedui_domain::household::{MAX_MEMBERS, ValidatedHousehold, validate_label, validate_name};
use hedui_domain::ids::ResidentId;
use hedui_domain::purpose::{parse_purpose, purpose_slug};
use hedui_domain::request::MAX_AUTHORIZATION_REF_CHARS;
use hedui_domain::window::parse_date;
use hedui_domain::{FieldViolation, ValidationError};
use hedui_proto::v1::{Authorization, Purpose, Signer};

/// The most signers an authorization may list. Every member signs at most
/// once for themselves, and guardians from outside the household can add as
/// many entries again; anything beyond that is a broken form, not a family.
pub const MAX_SIGNERS: usize = 2 * MAX_MEMBERS;

/// The age from which a person signs for themselves and may act as a
/// guardian.
pub const ADULT_AGE: u32 = 18;

/// The length of a SHA-256 digest written as hexadecimal.
const SHA256_HEX_CHARS: usize = 64;

/// The field path under which [`check_covers`] reports problems. It matches
/// the `authorization` field of the submission that carries the form.
const AUTH_FIELD: &str = "authorization";

/// One person who signed the authorization, after validation.
///
/// `Debug` leaves the name out, so a signer printed into a log leaks no
/// personal data; the ID numbers print masked through [`ResidentId`].
#[derive(Clone, PartialEq, Eq)]
pub struct ValidatedSigner {
    /// Full name, as validated by [`validate_name`].
    pub name: String,
    /// The signer's ID number, normalised.
    pub id: ResidentId,
    /// True when this entry is a guardian's signature for `on_behalf_of`.
    pub as_guardian: bool,
    /// The members this guardian signs for; empty when `as_guardian` is
    /// false, never empty when it is true, never the signer themselves and
    /// no ID number twice.
    pub on_behalf_of: Vec<ResidentId>,
}

impl fmt::Debug for ValidatedSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedSigner")
            .field("name", &"<redacted>")
            .field("id", &self.id)
            .field("as_guardian", &self.as_guardian)
            .field("on_behalf_of", &self.on_behalf_of)
            .finish()
    }
}

/// An authorization that passed [`parse`]: every field is well formed, but
/// whether it covers a given request is only known after
/// [`check_covers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAuthorization {
    /// The form number, 1 to 64 characters; the `authorization_ref` of
    /// queries and records.
    pub form_number: String,
    /// Everyone who signed, 1 to [`MAX_SIGNERS`], no one signing for
    /// themselves twice.
    pub signers: Vec<ValidatedSigner>,
    /// The date the form was signed, not after the day it was parsed.
    pub signed_date: NaiveDate,
    /// SHA-256 of the scanned form, 64 lower-case hexadecimal characters.
    pub scan_sha256: String,
    /// The assistance type consented to; never `Unspecified`.
    pub purpose: Purpose,
    /// The last day the authorization is valid, not before `signed_date`.
    pub valid_until: NaiveDate,
}

/// Validates an authorization from the wire, reporting every violation with
/// a path under `field` (for example `authorization.signers[1].id_number`).
///
/// Checks: the form number is 1 to 64 characters without control or
/// invisible characters or surrounding whitespace; there are 1 to
/// [`MAX_SIGNERS`] signers; each signer has a valid name and 18-character ID
/// number; a signer signing for themselves lists nobody in `on_behalf_of`
/// and appears once, a guardian lists at least one valid ID number there,
/// never their own and none twice; `signed_date` is a date not after
/// `today`; `valid_until` is a date not before `signed_date`; `scan_sha256`
/// is exactly 64 lower-case hexadecimal characters; the purpose is set.
///
/// An authorization that has expired still parses: that is not a typing
/// error, and [`check_covers`] reports it.
pub fn parse(a: &Authorization, today: NaiveDate, field: &str) -> Result<ValidatedAuthorization, ValidationError> {
    let mut violations = Vec::new();

    if let Err(e) = validate_label(&a.form_number, MAX_AUTHORIZATION_REF_CHARS) {
        violations.push(FieldViolation::new(format!("{field}.form_number"), e));
    }

    let signers_field = format!("{field}.signers");
    let n = a.signers.len();
    if n == 0 {
        violations.push(FieldViolation::new(&signers_field, "at least one signer is required"));
    } else if n > MAX_SIGNERS {
        violations.push(FieldViolation::new(
            &signers_field,
            format!("has {n} signers; at most {MAX_SIGNERS} are allowed"),
        ));
    }

    let mut signers = Vec::with_capacity(n);
    // Only signatures for oneself must be unique: two guardians (both
    // parents, say) may sign for the same child, and one guardian may fill
    // in two lines of the form.
    let mut self_signed: HashMap<ResidentId, usize> = HashMap::new();
    for (i, s) in a.signers.iter().enumerate() {
        let at = |sub: &str| format!("{signers_field}[{i}].{sub}");
        let name_ok = validate_name(&s.name)
            .map_err(|e| violations.push(FieldViolation::new(at("name"), e)))
            .is_ok();
        let id = parse_id(&s.id_number, today)
            .map_err(|e| violations.push(FieldViolation::new(at("id_number"), e)))
            .ok();
        if let Some(id) = &id
            && !s.as_guardian
        {
            match self_signed.entry(id.clone()) {
                Entry::Occupied(first) => violations.push(FieldViolation::new(
                    at("id_number"),
                    format!("duplicate signer; same as signers[{}]", first.get()),
                )),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }

        let wards_field = at("on_behalf_of");
        let mut wards_ok = true;
        if !s.as_guardian && !s.on_behalf_of.is_empty() {
            wards_ok = false;
            violations.push(FieldViolation::new(
                &wards_field,
                "must be empty unless as_guardian is true",
            ));
        } else if s.as_guardian && s.on_behalf_of.is_empty() {
            wards_ok = false;
            violations.push(FieldViolation::new(
                &wards_field,
                "a guardian must list the ID numbers of the members they sign for",
            ));
        } else if s.on_behalf_of.len() > MAX_MEMBERS {
            wards_ok = false;
            violations.push(FieldViolation::new(
                &wards_field,
                format!(
                    "lists {} ID numbers; at most {MAX_MEMBERS} are allowed",
                    s.on_behalf_of.len()
                ),
            ));
        }
        let mut wards: Vec<ResidentId> = Vec::with_capacity(s.on_behalf_of.len());
        let mut ward_index: HashMap<ResidentId, usize> = HashMap::new();
        for (j, w) in s.on_behalf_of.iter().enumerate() {
            let wf = format!("{wards_field}[{j}]");
            let Ok(w) = parse_id(w, today).map_err(|e| {
                wards_ok = false;
                violations.push(FieldViolation::new(&wf, e));
            }) else {
                continue;
            };
            if id.as_ref() == Some(&w) {
                wards_ok = false;
                violations.push(FieldViolation::new(
                    &wf,
                    "a guardian cannot sign on behalf of themselves; add a separate signer entry",
                ));
            } else if let Some(first) = ward_index.get(&w) {
                wards_ok = false;
                violations.push(FieldViolation::new(
                    &wf,
                    format!("duplicate ID number; same as on_behalf_of[{first}]"),
                ));
            } else {
                ward_index.insert(w.clone(), j);
                wards.push(w);
            }
        }

        if let (true, true, Some(id)) = (name_ok, wards_ok, id) {
            signers.push(ValidatedSigner {
                name: s.name.clone(),
                id,
                as_guardian: s.as_guardian,
                on_behalf_of: wards,
            });
        }
    }

    let signed_field = format!("{field}.signed_date");
    let signed_date = required_date(&a.signed_date)
        .map_err(|e| violations.push(FieldViolation::new(&signed_field, e)))
        .ok();
    if let Some(d) = signed_date
        && d > today
    {
        violations.push(FieldViolation::new(
            &signed_field,
            format!("{d} is in the future; today is {today}"),
        ));
    }
    let until_field = format!("{field}.valid_until");
    let valid_until = required_date(&a.valid_until)
        .map_err(|e| violations.push(FieldViolation::new(&until_field, e)))
        .ok();
    if let (Some(signed), Some(until)) = (signed_date, valid_until)
        && until < signed
    {
        violations.push(FieldViolation::new(
            &until_field,
            format!("{until} is before signed_date {signed}"),
        ));
    }

    if let Err(e) = check_sha256_hex(&a.scan_sha256) {
        violations.push(FieldViolation::new(format!("{field}.scan_sha256"), e));
    }
    let purpose = parse_purpose(a.purpose, &format!("{field}.purpose"))
        .map_err(|e| violations.push(e))
        .ok();

    ValidationError::check(violations)?;
    Ok(ValidatedAuthorization {
        form_number: a.form_number.clone(),
        signers,
        signed_date: signed_date.expect("no violations, so signed_date parsed"),
        scan_sha256: a.scan_sha256.clone(),
        purpose: purpose.expect("no violations, so the purpose parsed"),
        valid_until: valid_until.expect("no violations, so valid_until parsed"),
    })
}

/// Parses a signer's or ward's ID number, with messages meant for the
/// caseworker. Only the 18-character form is accepted, as for household
/// members, so the same person cannot appear under two spellings.
fn parse_id(s: &str, today: NaiveDate) -> Result<ResidentId, String> {
    if s.is_empty() {
        return Err("is required".to_owned());
    }
    if s.len() == 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            "use the 18-character ID number; the 15-digit first-generation form is not accepted here".to_owned(),
        );
    }
    ResidentId::parse(s, today).map_err(|e| e.to_string())
}

/// Parses a required `YYYY-MM-DD` date, saying "is required" for an empty
/// string rather than quoting nothing back at the caseworker.
fn required_date(s: &str) -> Result<NaiveDate, String> {
    if s.is_empty() {
        return Err("is required, as YYYY-MM-DD".to_owned());
    }
    parse_date(s)
}

/// Checks a SHA-256 digest written as 64 lower-case hexadecimal characters.
/// Upper case is refused rather than normalised, because the digest is
/// compared byte for byte with the one computed from the scan.
fn check_sha256_hex(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!(
            "is required, as {SHA256_HEX_CHARS} lower-case hexadecimal characters"
        ));
    }
    let n = s.chars().count();
    if n != SHA256_HEX_CHARS {
        return Err(format!("must have {SHA256_HEX_CHARS} characters, found {n}"));
    }
    match s.chars().enumerate().find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f')) {
        None => Ok(()),
        Some((i, c)) if c.is_ascii_hexdigit() => {
            Err(format!("character {} is upper case; use lower-case hexadecimal", i + 1))
        }
        Some((i, c)) => Err(format!(
            "character {} should be a hexadecimal digit, found {c:?}",
            i + 1
        )),
    }
}

/// Why an authorization does not permit a request: the details of a
/// `FAILED_PRECONDITION`.
///
/// The reason names members by their index in the household and signers by
/// their index in the form, never by name or ID number, so a problem can be
/// returned to a client and written to a log as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationProblem {
    /// The household member concerned, by index, or `None` when the problem
    /// is with the authorization as a whole (purpose, dates).
    pub member_index: Option<usize>,
    /// The field to fix, for example `authorization.signers` or
    /// `authorization.valid_until`.
    pub field: String,
    /// What is wrong, in plain lower-case English without a trailing period.
    pub reason: String,
}

impl AuthorizationProblem {
    fn new(member_index: Option<usize>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            member_index,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for AuthorizationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Checks that `auth` permits querying every member of `household` for
/// `purpose` on `today`, and lists every reason it does not.
///
/// Rules:
/// - the authorization's purpose is the request's purpose;
/// - it is signed no later than `today` and still valid on `today`
///   (`today <= valid_until`);
/// - every adult member (18 or older on `today`, from the birth date in the
///   ID number) with legal capacity signed for themselves: a signer entry
///   with their ID number, `as_guardian` false and exactly the member's
///   name;
/// - every minor and every member who lacks capacity is listed in the
///   `on_behalf_of` of at least one guardian entry whose signer is an
///   adult, does not lack capacity (known when the guardian is a member of
///   the household) and, when the guardian is a member, signed under the
///   member's name. The guardian need not belong to the household.
///
/// Signers who are not in the household are ignored rather than refused:
/// a form signed before someone moved out still covers those who remain.
pub fn check_covers(
    auth: &ValidatedAuthorization,
    household: &ValidatedHousehold,
    purpose: Purpose,
    today: NaiveDate,
) -> Result<(), Vec<AuthorizationProblem>> {
    let mut problems = Vec::new();

    if auth.purpose != purpose {
        problems.push(AuthorizationProblem::new(
            None,
            format!("{AUTH_FIELD}.purpose"),
            format!(
                "the authorization is for {} but the request is for {}",
                purpose_slug(auth.purpose),
                purpose_slug(purpose)
            ),
        ));
    }
    if auth.signed_date > today {
        problems.push(AuthorizationProblem::new(
            None,
            format!("{AUTH_FIELD}.signed_date"),
            "the authorization is dated after today",
        ));
    }
    if today > auth.valid_until {
        problems.push(AuthorizationProblem::new(
            None,
            format!("{AUTH_FIELD}.valid_until"),
            format!("the authorization was valid until {} and has expired", auth.valid_until),
        ));
    }

    let member_by_id: HashMap<&ResidentId, usize> =
        household.members.iter().enumerate().map(|(i, m)| (&m.id, i)).collect();
    let signers_field = format!("{AUTH_FIELD}.signers");

    for (i, m) in household.members.iter().enumerate() {
        let minor = m.id.age_on(today) < ADULT_AGE;
        if minor || m.lacks_capacity {
            let why = if minor { "is a minor" } else { "lacks legal capacity" };
            let guardians: Vec<(usize, &ValidatedSigner)> = auth
                .signers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.as_guardian && s.on_behalf_of.contains(&m.id))
                .collect();
            if guardians.is_empty() {
                problems.push(AuthorizationProblem::new(
                    Some(i),
                    &signers_field,
                    format!("member {i} {why} and no guardian signed for them"),
                ));
                continue;
            }
            // One eligible guardian is enough; the others are only reported
            // when nobody eligible signed, since then each of them is a
            // reason the member is not covered.
            let unfit: Vec<(usize, String)> = guardians
                .iter()
                .filter_map(|&(k, g)| guardian_unfit(g, household, &member_by_id, today).map(|why_not| (k, why_not)))
                .collect();
            if unfit.len() == guardians.len() {
                for (k, why_not) in unfit {
                    problems.push(AuthorizationProblem::new(
                        Some(i),
                        format!("{signers_field}[{k}]"),
                        format!("member {i} {why} and the guardian who signed for them {why_not}"),
                    ));
                }
            }
        } else {
            let own = auth
                .signers
                .iter()
                .enumerate()
                .find(|(_, s)| !s.as_guardian && s.id == m.id);
            match own {
                None => problems.push(AuthorizationProblem::new(
                    Some(i),
                    &signers_field,
                    format!("member {i} is an adult and did not sign for themselves"),
                )),
                Some((k, s)) if s.name != m.name => problems.push(AuthorizationProblem::new(
                    Some(i),
                    format!("{signers_field}[{k}].name"),
                    format!("member {i} signed under a name that differs from the name in the household"),
                )),
                Some(_) => {}
            }
        }
    }

    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Why a guardian's signature does not count, as the end of a sentence that
/// starts "the guardian who signed for them", or `None` when it counts.
fn guardian_unfit(
    g: &ValidatedSigner,
    household: &ValidatedHousehold,
    member_by_id: &HashMap<&ResidentId, usize>,
    today: NaiveDate,
) -> Option<String> {
    if g.id.age_on(today) < ADULT_AGE {
        return Some("is a minor".to_owned());
    }
    // Capacity is only known for members; an outside guardian is taken as
    // the caseworker recorded them.
    let &j = member_by_id.get(&g.id)?;
    let member = &household.members[j];
    if member.lacks_capacity {
        Some(format!("is member {j}, who lacks legal capacity"))
    } else if member.name != g.name {
        Some(format!(
            "is member {j} but signed under a name that differs from the name in the household"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;

/// The authorization a fully signed form for `household` would carry: every
/// adult member who has capacity signs for themselves, and the applicant (or,
/// if the applicant cannot, the first such adult) signs as guardian for every
/// minor and every member lacking capacity. Members whose ID number does not
/// parse are left out, so the hub will report them.
///
/// This is what the demo, the sandbox batches and the tests submit; a real
/// submission copies the signers from the scanned form.
pub fn complete_for(
    household: &hedui_proto::v1::Household,
    purpose: Purpose,
    form_number: &str,
    signed_date: NaiveDate,
    valid_until: NaiveDate,
) -> Authorization {
    let today = signed_date;
    let parsed: Vec<(&hedui_proto::v1::Member, Option<ResidentId>)> = household
        .members
        .iter()
        .map(|m| (m, ResidentId::parse(&m.id_number, today).ok()))
        .collect();
    let capable_adult = |m: &hedui_proto::v1::Member, id: &Option<ResidentId>| {
        !m.lacks_capacity && id.as_ref().is_some_and(|id| id.age_on(today) >= ADULT_AGE)
    };
    let mut signers: Vec<Signer> = parsed
        .iter()
        .filter(|(m, id)| capable_adult(m, id))
        .map(|(m, id)| Signer {
            name: m.name.clone(),
            id_number: id.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
            as_guardian: false,
            on_behalf_of: Vec::new(),
        })
        .collect();
    let dependants: Vec<String> = parsed
        .iter()
        .filter(|(m, id)| id.is_some() && !capable_adult(m, id))
        .filter_map(|(_, id)| id.as_ref().map(|i| i.as_str().to_owned()))
        .collect();
    let applicant = parsed
        .iter()
        .find(|(m, id)| m.relation == hedui_proto::v1::Relation::Applicant as i32 && capable_adult(m, id))
        .or_else(|| parsed.iter().find(|(m, id)| capable_adult(m, id)));
    if let (false, Some((m, Some(id)))) = (dependants.is_empty(), applicant) {
        signers.push(Signer {
            name: m.name.clone(),
            id_number: id.as_str().to_owned(),
            as_guardian: true,
            on_behalf_of: dependants,
        });
    }
    // The scan's hash stands for the scanned form; here it is derived from
    // the form number so the same household always gets the same value.
    let scan = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(format!("scan of {form_number}").as_bytes()))
    };
    Authorization {
        form_number: form_number.to_owned(),
        signers,
        signed_date: signed_date.to_string(),
        scan_sha256: scan,
        purpose: purpose as i32,
        valid_until: valid_until.to_string(),
    }
}

#[cfg(test)]
mod complete_for_tests {
    use super::*;
    use hedui_proto::v1::{Household, Member, Relation};

    #[test]
    fn a_complete_form_covers_adults_minors_and_members_lacking_capacity() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let m = |name: &str, id: &str, rel: Relation, lacks: bool| Member {
            name: name.into(),
            id_number: id.into(),
            relation: rel as i32,
            lacks_capacity: lacks,
        };
        let h = Household {
            household_ref: "H".into(),
            residence: 2,
            members: vec![
                m("杨光明", "520626194701205831", Relation::Applicant, false),
                m("田秀英", "520626195711191204", Relation::Spouse, true),
                m("杨小雨", "520602201502228565", Relation::Grandchild, false),
            ],
        };
        let auth = complete_for(
            &h,
            Purpose::MinimumLiving,
            "SQ-1",
            today,
            today + chrono::Days::new(365),
        );
        let parsed = parse(&auth, today, "authorization").unwrap();
        let household = hedui_domain::household::ValidatedHousehold::parse(&h, today, "household").unwrap();
        assert_eq!(check_covers(&parsed, &household, Purpose::MinimumLiving, today), Ok(()));
        assert_eq!(auth.signers.len(), 2);
        assert_eq!(auth.signers[1].on_behalf_of.len(), 2);
    }
}
