//! The protobuf enums a caseworker sets (purpose, relation, residence):
//! checking them at the edge, their command-line names (slugs) and their
//! Chinese names for reports.

use hedui_proto::v1::{Purpose, Relation, Residence};

use crate::error::FieldViolation;

/// Every valid purpose, in protobuf order.
pub const PURPOSES: [Purpose; 8] = [
    Purpose::MinimumLiving,
    Purpose::ExtremePoverty,
    Purpose::Medical,
    Purpose::Education,
    Purpose::Housing,
    Purpose::Employment,
    Purpose::Temporary,
    Purpose::LowIncome,
];

/// Every valid relation, in protobuf order.
pub const RELATIONS: [Relation; 9] = [
    Relation::Applicant,
    Relation::Spouse,
    Relation::Child,
    Relation::Parent,
    Relation::Grandparent,
    Relation::Grandchild,
    Relation::Sibling,
    Relation::ChildInLaw,
    Relation::Other,
];

/// Every valid residence, in protobuf order.
pub const RESIDENCES: [Residence; 2] = [Residence::Urban, Residence::Rural];

/// Checks a protobuf enum value against its valid values. The zero value
/// (`*_UNSPECIFIED`) and values this build does not know are rejected with a
/// message that lists the accepted names.
fn parse_enum<E: Copy + TryFrom<i32>>(
    v: i32,
    field: &str,
    valid: &[E],
    name: impl Fn(E) -> &'static str,
) -> Result<E, FieldViolation> {
    let accepted: Vec<&str> = valid.iter().map(|e| name(*e)).collect();
    let accepted = accepted.join(", ");
    match E::try_from(v) {
        Ok(e) if v != 0 => Ok(e),
        Ok(_) => Err(FieldViolation::new(
            field,
            format!("is required; expected one of {accepted}"),
        )),
        Err(_) => Err(FieldViolation::new(
            field,
            format!("unknown value {v}; expected one of {accepted}"),
        )),
    }
}

/// Checks the purpose of a request.
pub fn parse_purpose(v: i32, field: &str) -> Result<Purpose, FieldViolation> {
    parse_enum(v, field, &PURPOSES, |p: Purpose| p.as_str_name())
}

/// Checks the relation of a member.
pub fn parse_relation(v: i32, field: &str) -> Result<Relation, FieldViolation> {
    parse_enum(v, field, &RELATIONS, |r: Relation| r.as_str_name())
}

/// Checks the residence of a household.
pub fn parse_residence(v: i32, field: &str) -> Result<Residence, FieldViolation> {
    parse_enum(v, field, &RESIDENCES, |r: Residence| r.as_str_name())
}

/// The value whose slug is `s`; the error lists the accepted slugs.
fn parse_slug<E: Copy>(
    s: &str,
    what: &str,
    valid: &[E],
    slug: impl Fn(E) -> &'static str,
    from_slug: fn(&str) -> Option<E>,
) -> Result<E, String> {
    from_slug(s).ok_or_else(|| {
        let names: Vec<&str> = valid.iter().map(|e| slug(*e)).collect();
        format!("unknown {what} {s:?}; expected one of {}", names.join(", "))
    })
}

crate::slug::slugs! {
    Purpose, "PURPOSE_", test purpose_slugs_are_the_protobuf_names;
    /// The command-line name of a purpose, for example `minimum-living`.
    pub fn purpose_slug;
    fn purpose_from_slug;
    {
        MinimumLiving => "minimum-living",
        ExtremePoverty => "extreme-poverty",
        Medical => "medical",
        Education => "education",
        Housing => "housing",
        Employment => "employment",
        Temporary => "temporary",
        LowIncome => "low-income",
    }
}

/// Parses a purpose slug. `unspecified` is not accepted.
pub fn parse_purpose_slug(s: &str) -> Result<Purpose, String> {
    parse_slug(s, "purpose", &PURPOSES, purpose_slug, purpose_from_slug)
}

/// The Chinese name of a purpose (救助类型), for reports.
pub fn purpose_zh(p: Purpose) -> &'static str {
    crate::words::name(p)
}

crate::slug::slugs! {
    Relation, "RELATION_", test relation_slugs_are_the_protobuf_names;
    /// The command-line name of a relation, for example `child-in-law`.
    pub fn relation_slug;
    fn relation_from_slug;
    {
        Applicant => "applicant",
        Spouse => "spouse",
        Child => "child",
        Parent => "parent",
        Grandparent => "grandparent",
        Grandchild => "grandchild",
        Sibling => "sibling",
        ChildInLaw => "child-in-law",
        Other => "other",
    }
}

/// Parses a relation slug. `unspecified` is not accepted.
pub fn parse_relation_slug(s: &str) -> Result<Relation, String> {
    parse_slug(s, "relation", &RELATIONS, relation_slug, relation_from_slug)
}

/// The Chinese name of a relation to the applicant (与申请人关系), for
/// reports.
pub fn relation_zh(r: Relation) -> &'static str {
    crate::words::name(r)
}

crate::slug::slugs! {
    Residence, "RESIDENCE_", test residence_slugs_are_the_protobuf_names;
    /// The command-line name of a residence: `urban` or `rural`.
    pub fn residence_slug;
    fn residence_from_slug;
    { Urban => "urban", Rural => "rural" }
}

/// Parses a residence slug. `unspecified` is not accepted.
pub fn parse_residence_slug(s: &str) -> Result<Residence, String> {
    parse_slug(s, "residence", &RESIDENCES, residence_slug, residence_from_slug)
}

/// The Chinese name of a residence, for reports.
pub fn residence_zh(r: Residence) -> &'static str {
    crate::words::name(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes() {
        for p in PURPOSES {
            assert_eq!(parse_purpose_slug(purpose_slug(p)), Ok(p));
            assert_eq!(parse_purpose(p as i32, "purpose"), Ok(p));
            assert!(!purpose_zh(p).is_empty());
        }
        assert_eq!(purpose_slug(Purpose::LowIncome), "low-income");
        assert_eq!(purpose_zh(Purpose::MinimumLiving), "最低生活保障");
        assert_eq!(purpose_zh(Purpose::LowIncome), "低收入家庭认定");
        let err = parse_purpose(0, "purpose").unwrap_err();
        assert_eq!(err.field, "purpose");
        assert!(
            err.description
                .starts_with("is required; expected one of PURPOSE_MINIMUM_LIVING, ")
        );
        assert!(err.description.ends_with("PURPOSE_LOW_INCOME"));
        let err = parse_purpose(42, "purpose").unwrap_err();
        assert!(
            err.description
                .starts_with("unknown value 42; expected one of PURPOSE_MINIMUM_LIVING")
        );
        assert!(parse_purpose(-1, "purpose").is_err());
        let err = parse_purpose_slug("dibao").unwrap_err();
        assert!(
            err.starts_with("unknown purpose \"dibao\"; expected one of minimum-living, "),
            "{err}"
        );
        assert!(parse_purpose_slug("unspecified").is_err());
    }

    #[test]
    fn relations() {
        for r in RELATIONS {
            assert_eq!(parse_relation_slug(relation_slug(r)), Ok(r));
            assert_eq!(parse_relation(r as i32, "m.relation"), Ok(r));
            assert!(!relation_zh(r).is_empty());
        }
        assert_eq!(relation_slug(Relation::ChildInLaw), "child-in-law");
        assert!(
            parse_relation(0, "m.relation")
                .unwrap_err()
                .description
                .contains("RELATION_APPLICANT")
        );
        assert!(
            parse_relation(10, "m.relation")
                .unwrap_err()
                .description
                .starts_with("unknown value 10")
        );
        assert!(parse_relation_slug("cousin").unwrap_err().contains("child-in-law"));
        assert!(parse_relation_slug("unspecified").is_err());
    }

    #[test]
    fn residences() {
        for r in RESIDENCES {
            assert_eq!(parse_residence_slug(residence_slug(r)), Ok(r));
            assert_eq!(parse_residence(r as i32, "residence"), Ok(r));
        }
        assert_eq!(
            parse_residence(0, "household.residence").unwrap_err(),
            FieldViolation::new(
                "household.residence",
                "is required; expected one of RESIDENCE_URBAN, RESIDENCE_RURAL"
            )
        );
        assert_eq!(
            parse_residence_slug("town").unwrap_err(),
            "unknown residence \"town\"; expected one of urban, rural"
        );
    }
}
