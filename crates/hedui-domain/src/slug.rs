//! The English words (slugs) of protobuf enums, as the command line,
//! configuration and policy files write them: the protobuf name without
//! its prefix, in lower case with hyphens (`PURPOSE_MINIMUM_LIVING` is
//! `minimum-living`).
//!
//! Each table is written once, with [`slugs!`], which makes both
//! directions from it and a test that every value round-trips and that its
//! slug is the one prost's name gives ([`from_proto_name`]). The match it
//! writes is exhaustive, so a value added to the contract without a slug
//! does not compile.

/// Writes a slug table once:
///
/// ```ignore
/// slugs! {
///     Purpose, "PURPOSE_", test purpose_slugs;
///     /// The command-line name of a purpose.
///     pub fn purpose_slug;
///     /// The purpose whose slug is `s`.
///     fn purpose_from_slug;
///     { MinimumLiving => "minimum-living", ... }
/// }
/// ```
///
/// makes `purpose_slug(Purpose) -> &'static str` (`unspecified` for the
/// zero value), `purpose_from_slug(&str) -> Option<Purpose>` (never the
/// zero value) and the test `purpose_slugs`.
macro_rules! slugs {
    (
        $E:ident, $prefix:literal, test $test:ident;
        $(#[$word_meta:meta])* $word_vis:vis fn $word:ident;
        $(#[$parse_meta:meta])* $parse_vis:vis fn $parse:ident;
        { $($V:ident => $w:literal),+ $(,)? }
    ) => {
        $(#[$word_meta])*
        $word_vis fn $word(v: $E) -> &'static str {
            match v {
                $E::Unspecified => "unspecified",
                $($E::$V => $w,)+
            }
        }

        $(#[$parse_meta])*
        $parse_vis fn $parse(s: &str) -> Option<$E> {
            match s {
                $($w => Some($E::$V),)+
                _ => None,
            }
        }

        #[cfg(test)]
        #[test]
        fn $test() {
            assert_eq!($word($E::Unspecified), "unspecified");
            assert_eq!($parse("unspecified"), None);
            $(
                assert_eq!($parse($word($E::$V)), Some($E::$V));
                assert_eq!($word($E::$V), $crate::slug::from_proto_name($E::$V.as_str_name(), $prefix));
            )+
        }
    };
}

pub(crate) use slugs;

/// The slug prost's name gives: `name` without `prefix`, in lower case,
/// `_` as `-` (`PURPOSE_MINIMUM_LIVING`, `PURPOSE_` → `minimum-living`).
pub fn from_proto_name(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
        .replace('_', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_slug_is_the_protobuf_name_in_lower_case_with_hyphens() {
        assert_eq!(
            super::from_proto_name("PURPOSE_MINIMUM_LIVING", "PURPOSE_"),
            "minimum-living"
        );
        assert_eq!(super::from_proto_name("DEPARTMENT_TAX", "DEPARTMENT_"), "tax");
    }
}
