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

pub(super) fn vehicle_type_slug(t: VehicleType) -> &'static str {
    match t {
        VehicleType::Unspecified => "unspecified",
        VehicleType::Car => "car",
        VehicleType::Truck => "truck",
        VehicleType::Motorcycle => "motorcycle",
        VehicleType::Tricycle => "tricycle",
        VehicleType::Agricultural => "agricultural",
        VehicleType::Disability => "disability",
    }
}

pub(super) fn parse_vehicle_type(s: &str) -> Option<VehicleType> {
    VEHICLE_TYPES.iter().copied().find(|t| vehicle_type_slug(*t) == s)
}

pub(super) const PROPERTY_USES: &[PropertyUse] = &[
    PropertyUse::Residential,
    PropertyUse::Commercial,
    PropertyUse::Industrial,
    PropertyUse::Homestead,
];

pub(super) fn property_use_slug(u: PropertyUse) -> &'static str {
    match u {
        PropertyUse::Unspecified => "unspecified",
        PropertyUse::Residential => "residential",
        PropertyUse::Commercial => "commercial",
        PropertyUse::Industrial => "industrial",
        PropertyUse::Homestead => "homestead",
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

pub(super) fn parse_property_use(s: &str) -> Option<PropertyUse> {
    PROPERTY_USES.iter().copied().find(|u| property_use_slug(*u) == s)
}

pub(super) const BUSINESS_ROLES: &[BusinessRole] = &[
    BusinessRole::LegalRepresentative,
    BusinessRole::Director,
    BusinessRole::Supervisor,
    BusinessRole::SeniorManager,
    BusinessRole::Investor,
    BusinessRole::Operator,
];

pub(super) fn business_role_slug(r: BusinessRole) -> &'static str {
    match r {
        BusinessRole::Unspecified => "unspecified",
        BusinessRole::LegalRepresentative => "legal-representative",
        BusinessRole::Director => "director",
        BusinessRole::Supervisor => "supervisor",
        BusinessRole::SeniorManager => "senior-manager",
        BusinessRole::Investor => "investor",
        BusinessRole::Operator => "operator",
    }
}

pub(super) fn parse_business_role(s: &str) -> Option<BusinessRole> {
    BUSINESS_ROLES.iter().copied().find(|r| business_role_slug(*r) == s)
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

/// The slug of a flag kind, as used in `[flags]` and in the rule id
/// `flags.<slug>` of the reasons it produces.
pub fn flag_kind_slug(k: FlagKind) -> &'static str {
    match k {
        FlagKind::Unspecified => "unspecified",
        FlagKind::IdentityMismatch => "identity-mismatch",
        FlagKind::IdentityNotFound => "identity-not-found",
        FlagKind::DeceasedMember => "deceased-member",
        FlagKind::DepartmentsDisagree => "departments-disagree",
        FlagKind::RecentAcquisition => "recent-acquisition",
    }
}

pub(super) fn parse_flag_kind(s: &str) -> Option<FlagKind> {
    FLAG_KINDS.iter().copied().find(|k| flag_kind_slug(*k) == s)
}

pub(super) fn source_outcome_slug(o: SourceOutcome) -> &'static str {
    match o {
        SourceOutcome::Unspecified => "unspecified",
        SourceOutcome::Ok => "ok",
        SourceOutcome::NoRecord => "no-record",
        SourceOutcome::Timeout => "timeout",
        SourceOutcome::Unavailable => "unavailable",
        SourceOutcome::Error => "error",
        SourceOutcome::Refused => "refused",
    }
}

pub(super) fn slugs<T: Copy>(all: &[T], slug: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|t| slug(*t)).collect()
}

pub(super) fn department_slugs() -> Vec<&'static str> {
    slugs(&department::ALL, department::slug)
}
