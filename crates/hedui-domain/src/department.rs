//! The eight partner departments: names used on the command line and in
//! configuration, and their protobuf enum.

use hedui_proto::v1::Department;

/// Every department, in the order records list them.
pub const ALL: [Department; 8] = [
    Department::PublicSecurity,
    Department::NaturalResources,
    Department::Housing,
    Department::Tax,
    Department::MarketSupervision,
    Department::HousingFund,
    Department::Pboc,
    Department::Hrss,
];

crate::slug::slugs! {
    Department, "DEPARTMENT_", test department_slugs_are_the_protobuf_names;
    /// The command-line and configuration name of a department, for example
    /// `public-security`.
    pub fn slug;
    fn from_slug;
    {
        PublicSecurity => "public-security",
        NaturalResources => "natural-resources",
        Housing => "housing",
        Tax => "tax",
        MarketSupervision => "market-supervision",
        HousingFund => "housing-fund",
        Pboc => "pboc",
        Hrss => "hrss",
    }
}

/// The Chinese name of a department, for reports: 公安局, 人民银行…
/// (from the table of [`crate::words`]).
pub fn name_zh(d: Department) -> &'static str {
    crate::words::name(d)
}

/// Parses a department slug. Errors name the accepted values.
pub fn parse_slug(s: &str) -> Result<Department, String> {
    from_slug(s).ok_or_else(|| {
        let names: Vec<&str> = ALL.iter().map(|d| slug(*d)).collect();
        format!("unknown department {s:?}; expected one of {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for d in ALL {
            assert_eq!(parse_slug(slug(d)), Ok(d));
        }
        assert!(parse_slug("police").unwrap_err().contains("public-security"));
    }
}
