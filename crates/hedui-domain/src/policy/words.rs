//! The words a policy file uses for enums (slugs), and the English words
//! reasons use, each table written once.

use super::*;

pub(super) fn residence_word(r: Residence) -> &'static str {
    match r {
        Residence::Urban => "urban",
        Residence::Rural => "rural",
        Residence::Unspecified => "lower",
    }
}

pub(super) const VEHICLE_TYPES: &[VehicleType] = &[
    VehicleType::Car,
    VehicleType::Truck,
    VehicleType::Motorcycle,
    VehicleType::Tricycle,
    VehicleType::Agricultural,
    VehicleType::Disability,
];

crate::slug::slugs! {
    VehicleType, "VEHICLE_TYPE_", test vehicle_type_slugs_are_the_protobuf_names;
    pub(super) fn vehicle_type_slug;
    pub(super) fn parse_vehicle_type;
    {
        Car => "car",
        Truck => "truck",
        Motorcycle => "motorcycle",
        Tricycle => "tricycle",
        Agricultural => "agricultural",
        Disability => "disability",
    }
}

pub(super) const PROPERTY_USES: &[PropertyUse] = &[
    PropertyUse::Residential,
    PropertyUse::Commercial,
    PropertyUse::Industrial,
    PropertyUse::Homestead,
];

crate::slug::slugs! {
    PropertyUse, "PROPERTY_USE_", test property_use_slugs_are_the_protobuf_names;
    pub(super) fn property_use_slug;
    pub(super) fn parse_property_use;
    {
        Residential => "residential",
        Commercial => "commercial",
        Industrial => "industrial",
        Homestead => "homestead",
    }
}

/// How a property acquisition reads in a reason.
pub(super) fn property_acquired_words(u: PropertyUse) -> &'static str {
    match u {
        PropertyUse::Unspecified => "a property of unknown use acquired",
        PropertyUse::Residential => "a residential property acquired",
        PropertyUse::Commercial => "a commercial property acquired",
        PropertyUse::Industrial => "an industrial property acquired",
        PropertyUse::Homestead => "a homestead acquired",
    }
}

pub(super) const BUSINESS_ROLES: &[BusinessRole] = &[
    BusinessRole::LegalRepresentative,
    BusinessRole::Director,
    BusinessRole::Supervisor,
    BusinessRole::SeniorManager,
    BusinessRole::Investor,
    BusinessRole::Operator,
];

crate::slug::slugs! {
    BusinessRole, "BUSINESS_ROLE_", test business_role_slugs_are_the_protobuf_names;
    pub(super) fn business_role_slug;
    pub(super) fn parse_business_role;
    {
        LegalRepresentative => "legal-representative",
        Director => "director",
        Supervisor => "supervisor",
        SeniorManager => "senior-manager",
        Investor => "investor",
        Operator => "operator",
    }
}

pub(super) fn entity_type_words(t: EntityType) -> &'static str {
    match t {
        EntityType::Unspecified => "entity of unspecified type",
        EntityType::Company => "company",
        EntityType::IndividualBusiness => "individual business",
        EntityType::Partnership => "partnership",
        EntityType::Cooperative => "cooperative",
    }
}

pub(super) const FLAG_KINDS: &[FlagKind] = &[
    FlagKind::IdentityMismatch,
    FlagKind::IdentityNotFound,
    FlagKind::DeceasedMember,
    FlagKind::DepartmentsDisagree,
    FlagKind::RecentAcquisition,
];

crate::slug::slugs! {
    FlagKind, "FLAG_KIND_", test flag_kind_slugs_are_the_protobuf_names;
    /// The slug of a flag kind, as used in `[flags]` and in the rule id
    /// `flags.<slug>` of the reasons it produces.
    pub fn flag_kind_slug;
    pub(super) fn parse_flag_kind;
    {
        IdentityMismatch => "identity-mismatch",
        IdentityNotFound => "identity-not-found",
        DeceasedMember => "deceased-member",
        DepartmentsDisagree => "departments-disagree",
        RecentAcquisition => "recent-acquisition",
    }
}

crate::slug::slugs! {
    SourceOutcome, "SOURCE_OUTCOME_", test source_outcome_slugs_are_the_protobuf_names;
    /// The slug of a source outcome, as reasons write it (`no-record`).
    pub fn source_outcome_slug;
    // Reasons name outcomes; nothing reads them back but the test.
    #[cfg_attr(not(test), allow(dead_code))]
    fn parse_source_outcome;
    {
        Ok => "ok",
        NoRecord => "no-record",
        Timeout => "timeout",
        Unavailable => "unavailable",
        Error => "error",
        Refused => "refused",
    }
}

pub(super) fn slugs<T: Copy>(all: &[T], slug: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|t| slug(*t)).collect()
}

pub(super) fn department_slugs() -> Vec<&'static str> {
    slugs(&department::ALL, department::slug)
}
