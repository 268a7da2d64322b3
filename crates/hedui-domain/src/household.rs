//! A household that passed validation.
//!
//! [`ValidatedHousehold::parse`] is the one door from the wire type to the
//! domain: it reports every problem at once, so a caseworker fixes a form in
//! one round instead of one field per round.

use std::collections::HashMap;

use chrono::NaiveDate;
use hedui_proto::v1::{Household, Member, Relation, Residence};

use crate::error::{FieldViolation, ValidationError};
use crate::ids::ResidentId;
use crate::purpose::{parse_relation, parse_residence};

/// The most members a household may have.
pub const MAX_MEMBERS: usize = 30;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 50;

/// The longest household reference, in characters.
pub const MAX_HOUSEHOLD_REF_CHARS: usize = 64;

/// True for characters that are invisible but change how text reads or
/// compares: zero-width characters, bidirectional controls and the byte
/// order mark. They let two names that look the same differ, or make a name
/// display in a misleading order.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// The first character that has no place in a name or a reference, as an
/// error message, or `None`.
fn forbidden_char(s: &str) -> Option<String> {
    s.chars().enumerate().find_map(|(i, c)| {
        let position = i + 1;
        let code = c as u32;
        if c.is_control() {
            Some(format!(
                "contains control character U+{code:04X} at position {position}"
            ))
        } else if is_invisible_format(c) {
            Some(format!(
                "contains invisible formatting character U+{code:04X} at position {position}"
            ))
        } else if c == '\u{FFFD}' {
            // The replacement character is what a broken encoding leaves
            // behind; the real character is lost.
            Some(format!(
                "contains U+FFFD (left by a broken text encoding) at position {position}"
            ))
        } else {
            None
        }
    })
}

/// Checks a person's name: 1 to 50 characters (not bytes); no control
/// characters (C0, DEL, C1); no invisible formatting characters such as
/// zero-width spaces or bidirectional overrides; no whitespace at either end.
/// The middle dot `·` of ethnic-minority and transliterated names is
/// allowed, as are spaces inside a name.
pub fn validate_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 {
        return Err("must not be empty".to_owned());
    }
    if n > MAX_NAME_CHARS {
        return Err(format!("has {n} characters; at most {MAX_NAME_CHARS} are allowed"));
    }
    if let Some(e) = forbidden_char(name) {
        return Err(e);
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err("must not start or end with whitespace".to_owned());
    }
    Ok(())
}

/// Checks a free-text reference such as a household reference or an
/// authorization form number: 1 to `max_chars` characters, not blank, no
/// whitespace at either end, no control or invisible formatting characters.
/// References are compared byte for byte, so a stray space would make a
/// second, different reference.
pub fn validate_label(s: &str, max_chars: usize) -> Result<(), String> {
    let n = s.chars().count();
    if n == 0 {
        return Err("is required".to_owned());
    }
    if n > max_chars {
        return Err(format!("has {n} characters; at most {max_chars} are allowed"));
    }
    if let Some(e) = forbidden_char(s) {
        return Err(e);
    }
    if s.trim().is_empty() {
        return Err("must not be blank".to_owned());
    }
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err("must not start or end with whitespace".to_owned());
    }
    Ok(())
}

/// One member of a validated household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedMember {
    /// Full name, as validated by [`validate_name`].
    pub name: String,
    /// The ID number, normalised.
    pub id: ResidentId,
    /// Relation to the applicant; never `Unspecified`.
    pub relation: Relation,
    /// True when a guardian signs for the member.
    pub lacks_capacity: bool,
}

/// A household that passed [`ValidatedHousehold::parse`]: a valid reference
/// and residence, 1 to [`MAX_MEMBERS`] members with valid names and ID
/// numbers, exactly one applicant and no ID number twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedHousehold {
    /// The bureau's reference for the household or case (户编号).
    pub household_ref: String,
    /// Urban or rural; never `Unspecified`.
    pub residence: Residence,
    /// The members, in the order submitted.
    pub members: Vec<ValidatedMember>,
}

impl ValidatedHousehold {
    /// Validates a household from the wire, reporting every violation with
    /// a path under `field` (for example `household.members[2].id_number`).
    ///
    /// ID numbers must be in the 18-character form here: a caseworker types
    /// them from the card, and the 15-digit form is only tolerated in
    /// departments' old data.
    pub fn parse(h: &Household, today: NaiveDate, field: &str) -> Result<Self, ValidationError> {
        let mut violations = Vec::new();

        if let Err(e) = validate_label(&h.household_ref, MAX_HOUSEHOLD_REF_CHARS) {
            violations.push(FieldViolation::new(format!("{field}.household_ref"), e));
        }
        let residence = parse_residence(h.residence, &format!("{field}.residence"))
            .map_err(|e| violations.push(e))
            .ok();

        let members_field = format!("{field}.members");
        let n = h.members.len();
        if n == 0 {
            violations.push(FieldViolation::new(&members_field, "household has no members"));
        } else if n > MAX_MEMBERS {
            violations.push(FieldViolation::new(
                &members_field,
                format!("household has {n} members; at most {MAX_MEMBERS} are allowed"),
            ));
        }

        let mut members = Vec::with_capacity(n);
        let mut seen: HashMap<ResidentId, usize> = HashMap::new();
        let mut applicant: Option<usize> = None;
        for (i, m) in h.members.iter().enumerate() {
            let at = |sub: &str| format!("{members_field}[{i}].{sub}");
            let name_ok = validate_name(&m.name)
                .map_err(|e| violations.push(FieldViolation::new(at("name"), e)))
                .is_ok();
            let id = parse_member_id(&m.id_number, today)
                .map_err(|e| violations.push(FieldViolation::new(at("id_number"), e)))
                .ok();
            if let Some(id) = &id {
                if let Some(first) = seen.get(id) {
                    violations.push(FieldViolation::new(
                        at("id_number"),
                        format!("duplicate ID number; same as members[{first}]"),
                    ));
                } else {
                    seen.insert(id.clone(), i);
                }
            }
            let relation = parse_relation(m.relation, &at("relation"))
                .map_err(|e| violations.push(e))
                .ok();
            if relation == Some(Relation::Applicant) {
                match applicant {
                    Some(first) => violations.push(FieldViolation::new(
                        at("relation"),
                        format!("only one member may be the applicant; members[{first}] already is"),
                    )),
                    None => applicant = Some(i),
                }
            }
            if let (true, Some(id), Some(relation)) = (name_ok, id, relation) {
                members.push(ValidatedMember {
                    name: m.name.clone(),
                    id,
                    relation,
                    lacks_capacity: m.lacks_capacity,
                });
            }
        }
        if n > 0 && applicant.is_none() {
            violations.push(FieldViolation::new(&members_field, "no member has relation applicant"));
        }

        ValidationError::check(violations)?;
        Ok(ValidatedHousehold {
            household_ref: h.household_ref.clone(),
            residence: residence.expect("no violations, so the residence parsed"),
            members,
        })
    }

    /// The household as it goes on the wire and into records, with ID
    /// numbers normalised.
    pub fn to_proto(&self) -> Household {
        Household {
            household_ref: self.household_ref.clone(),
            residence: self.residence as i32,
            members: self
                .members
                .iter()
                .map(|m| Member {
                    name: m.name.clone(),
                    id_number: m.id.as_str().to_owned(),
                    relation: m.relation as i32,
                    lacks_capacity: m.lacks_capacity,
                })
                .collect(),
        }
    }

    /// The member whose relation is `Applicant`.
    ///
    /// # Panics
    ///
    /// When there is none, which [`ValidatedHousehold::parse`] never lets
    /// through; only a household assembled by hand can get here.
    pub fn applicant(&self) -> &ValidatedMember {
        self.members
            .iter()
            .find(|m| m.relation == Relation::Applicant)
            .expect("a validated household has exactly one applicant")
    }
}

/// Parses a member's ID number, with messages meant for the caseworker.
fn parse_member_id(s: &str, today: NaiveDate) -> Result<ResidentId, String> {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::resident_check_char;
    use crate::ids::testgen::valid_id;
    use crate::purpose::RELATIONS;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    /// The `i`-th of 1000 distinct valid ID numbers.
    fn id(i: usize) -> String {
        let first17 = format!("52062619800101{i:03}");
        format!("{first17}{}", resident_check_char(&first17).unwrap())
    }

    fn member(name: &str, id_number: &str, relation: Relation) -> Member {
        Member {
            name: name.into(),
            id_number: id_number.into(),
            relation: relation as i32,
            lacks_capacity: false,
        }
    }

    fn household(members: Vec<Member>) -> Household {
        Household {
            household_ref: "DJ-2026-0001".into(),
            residence: Residence::Rural as i32,
            members,
        }
    }

    fn family() -> Household {
        household(vec![
            member("王秀英", "520626194701205831", Relation::Applicant),
            member("李建国", "520626195711191204", Relation::Spouse),
            member("王小明", "52222619930616389x", Relation::Child),
        ])
    }

    fn sized(n: usize) -> Household {
        household(
            (0..n)
                .map(|i| {
                    member(
                        "张三",
                        &id(i),
                        if i == 0 { Relation::Applicant } else { Relation::Child },
                    )
                })
                .collect(),
        )
    }

    fn violations(h: &Household) -> Vec<(String, String)> {
        ValidatedHousehold::parse(h, today(), "household")
            .unwrap_err()
            .violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    fn one(field: &str, description: &str) -> Vec<(String, String)> {
        vec![(field.to_owned(), description.to_owned())]
    }

    #[test]
    fn accepts_a_family_and_normalises_ids() {
        let h = ValidatedHousehold::parse(&family(), today(), "household").unwrap();
        assert_eq!(h.members.len(), 3);
        assert_eq!(h.residence, Residence::Rural);
        assert_eq!(h.applicant().name, "王秀英");
        assert_eq!(h.members[2].id.as_str(), "52222619930616389X");
        let mut want = family();
        want.members[2].id_number = "52222619930616389X".into();
        assert_eq!(h.to_proto(), want);
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("王秀英"), Ok(()));
        assert_eq!(validate_name("阿依古丽·买买提"), Ok(()));
        assert_eq!(validate_name("John Smith"), Ok(()));
        assert_eq!(validate_name(&"张".repeat(50)), Ok(()));
        assert_eq!(
            validate_name(&"张".repeat(51)).unwrap_err(),
            "has 51 characters; at most 50 are allowed"
        );
        assert_eq!(validate_name("").unwrap_err(), "must not be empty");
        assert_eq!(
            validate_name("王\u{7}英").unwrap_err(),
            "contains control character U+0007 at position 2"
        );
        assert_eq!(
            validate_name("王\0").unwrap_err(),
            "contains control character U+0000 at position 2"
        );
        assert!(validate_name("王\u{7f}").is_err());
        assert!(validate_name("王\u{85}").is_err());
        assert!(validate_name("王\n英").is_err());
        assert_eq!(
            validate_name("王\u{200B}英").unwrap_err(),
            "contains invisible formatting character U+200B at position 2"
        );
        for c in [
            '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{FEFF}',
        ] {
            assert!(validate_name(&format!("王{c}英")).is_err(), "U+{:04X}", c as u32);
        }
        assert!(validate_name("王\u{FFFD}英").is_err());
        assert_eq!(
            validate_name(" 王秀英").unwrap_err(),
            "must not start or end with whitespace"
        );
        assert_eq!(
            validate_name("王秀英\u{3000}").unwrap_err(),
            "must not start or end with whitespace"
        );
    }

    #[test]
    fn labels() {
        assert_eq!(validate_label("DJ-2026-0001", 64), Ok(()));
        assert_eq!(validate_label("", 64).unwrap_err(), "is required");
        assert_eq!(validate_label("   ", 64).unwrap_err(), "must not be blank");
        assert_eq!(
            validate_label(" a", 64).unwrap_err(),
            "must not start or end with whitespace"
        );
        assert_eq!(
            validate_label(&"a".repeat(65), 64).unwrap_err(),
            "has 65 characters; at most 64 are allowed"
        );
        assert!(validate_label(&"德".repeat(64), 64).is_ok());
        assert!(validate_label("a\tb", 64).is_err());
    }

    #[test]
    fn thirty_members_are_allowed_thirty_one_are_not() {
        assert_eq!(
            ValidatedHousehold::parse(&sized(30), today(), "household")
                .unwrap()
                .members
                .len(),
            30
        );
        assert_eq!(
            violations(&sized(31)),
            one("household.members", "household has 31 members; at most 30 are allowed")
        );
    }

    #[test]
    fn empty_household() {
        assert_eq!(
            violations(&household(vec![])),
            one("household.members", "household has no members")
        );
    }

    #[test]
    fn household_ref_and_residence() {
        let mut h = family();
        h.household_ref = String::new();
        h.residence = 0;
        assert_eq!(
            violations(&h),
            vec![
                ("household.household_ref".to_owned(), "is required".to_owned()),
                (
                    "household.residence".to_owned(),
                    "is required; expected one of RESIDENCE_URBAN, RESIDENCE_RURAL".to_owned()
                ),
            ]
        );
        h.household_ref = "户\u{1b}[31m".into();
        h.residence = 9;
        let v = violations(&h);
        assert_eq!(
            v[0],
            (
                "household.household_ref".to_owned(),
                "contains control character U+001B at position 2".to_owned()
            )
        );
        assert!(v[1].1.starts_with("unknown value 9"));
        h.household_ref = "x".repeat(65);
        h.residence = Residence::Urban as i32;
        assert_eq!(
            violations(&h),
            one("household.household_ref", "has 65 characters; at most 64 are allowed")
        );
    }

    #[test]
    fn applicant_count() {
        let mut h = family();
        h.members[0].relation = Relation::Spouse as i32;
        assert_eq!(
            violations(&h),
            one("household.members", "no member has relation applicant")
        );

        let mut h = family();
        h.members[1].relation = Relation::Applicant as i32;
        h.members[2].relation = Relation::Applicant as i32;
        assert_eq!(
            violations(&h),
            vec![
                (
                    "household.members[1].relation".to_owned(),
                    "only one member may be the applicant; members[0] already is".to_owned()
                ),
                (
                    "household.members[2].relation".to_owned(),
                    "only one member may be the applicant; members[0] already is".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn relation_must_be_set_and_known() {
        let mut h = family();
        h.members[1].relation = 0;
        h.members[2].relation = 99;
        let v = violations(&h);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0, "household.members[1].relation");
        assert!(v[0].1.starts_with("is required; expected one of RELATION_APPLICANT"));
        assert_eq!(v[1].0, "household.members[2].relation");
        assert!(v[1].1.starts_with("unknown value 99"));
    }

    #[test]
    fn id_numbers() {
        let mut h = family();
        h.members[0].id_number = "520626194701205830".into();
        h.members[1].id_number = "520626780314123".into();
        h.members[2].id_number = String::new();
        assert_eq!(
            violations(&h),
            vec![
                (
                    "household.members[0].id_number".to_owned(),
                    "check character should be '1', found '0'".to_owned()
                ),
                (
                    "household.members[1].id_number".to_owned(),
                    "use the 18-character ID number; the 15-digit first-generation form is not accepted here"
                        .to_owned()
                ),
                ("household.members[2].id_number".to_owned(), "is required".to_owned()),
            ]
        );
        let mut h = family();
        h.members[1].id_number = "520626197802301228".into();
        assert_eq!(
            violations(&h),
            one("household.members[1].id_number", "birth date 1978-02-30 does not exist")
        );
    }

    #[test]
    fn duplicate_ids_are_caught_after_normalising() {
        let mut h = family();
        h.members.push(member("王小红", "52222619930616389X", Relation::Child));
        h.members.push(member("王秀英", "520626194701205831", Relation::Other));
        assert_eq!(
            violations(&h),
            vec![
                (
                    "household.members[3].id_number".to_owned(),
                    "duplicate ID number; same as members[2]".to_owned()
                ),
                (
                    "household.members[4].id_number".to_owned(),
                    "duplicate ID number; same as members[0]".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn every_violation_is_reported() {
        let mut h = family();
        h.residence = 0;
        h.members[0].name = " 王".into();
        h.members[0].relation = Relation::Child as i32;
        h.members[1].id_number = "12345".into();
        h.members[2].name = "王\u{202E}英".into();
        let fields: Vec<String> = violations(&h).into_iter().map(|v| v.0).collect();
        assert_eq!(
            fields,
            [
                "household.residence",
                "household.members[0].name",
                "household.members[1].id_number",
                "household.members[2].name",
                "household.members",
            ]
        );
    }

    fn any_household() -> impl Strategy<Value = Household> {
        let non_applicant: Vec<Relation> = RELATIONS
            .iter()
            .copied()
            .filter(|r| *r != Relation::Applicant)
            .collect();
        (
            "[A-Za-z0-9][A-Za-z0-9/-]{0,30}",
            prop_oneof![Just(Residence::Urban), Just(Residence::Rural)],
            proptest::collection::hash_set(valid_id(), 1..=MAX_MEMBERS),
            any::<prop::sample::Index>(),
        )
            .prop_flat_map(move |(household_ref, residence, ids, applicant)| {
                let ids: Vec<String> = ids.into_iter().collect();
                let n = ids.len();
                let applicant = applicant.index(n);
                (
                    Just((household_ref, residence, ids, applicant)),
                    proptest::collection::vec("[\u{4e00}-\u{9fa5}]{1,4}(·[\u{4e00}-\u{9fa5}]{1,6})?", n),
                    proptest::collection::vec(proptest::sample::select(non_applicant.clone()), n),
                    proptest::collection::vec(any::<bool>(), n),
                )
            })
            .prop_map(
                |((household_ref, residence, ids, applicant), names, relations, capacity)| Household {
                    household_ref,
                    residence: residence as i32,
                    members: (0..ids.len())
                        .map(|i| Member {
                            name: names[i].clone(),
                            id_number: ids[i].clone(),
                            relation: if i == applicant {
                                Relation::Applicant
                            } else {
                                relations[i]
                            } as i32,
                            lacks_capacity: capacity[i],
                        })
                        .collect(),
                },
            )
    }

    proptest! {
        #[test]
        fn valid_households_round_trip(h in any_household()) {
            let parsed = ValidatedHousehold::parse(&h, today(), "household").unwrap();
            prop_assert_eq!(parsed.to_proto(), h.clone());
            prop_assert_eq!(parsed.applicant().relation, Relation::Applicant);
            prop_assert_eq!(ValidatedHousehold::parse(&parsed.to_proto(), today(), "household").unwrap(), parsed);
        }

        #[test]
        fn names_never_panic(s in "\\PC{0,60}") {
            let _ = validate_name(&s);
            let _ = validate_label(&s, 64);
        }
    }
}
