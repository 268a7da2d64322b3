//! Money, which is always an integer number of fen (分, 1/100 yuan) and
//! never a float.

use crate::error::FieldViolation;

/// The largest amount accepted from outside, in fen: 10^15 fen, ten
/// trillion yuan. Anything larger is a unit error or garbage, and keeping
/// amounts this small leaves room to add up a whole household in an `i64`
/// without overflow.
pub const MAX_PLAUSIBLE_FEN: i64 = 1_000_000_000_000_000;

/// Formats an amount in fen as yuan with thousands separators and two
/// decimals: `123456789` → `"1,234,567.89"`, `-50` → `"-0.50"`. Works for
/// every `i64`, including `i64::MIN`.
pub fn yuan(fen: i64) -> String {
    // The magnitude as u64, so that i64::MIN does not overflow on negation.
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + 4);
    if fen < 0 {
        grouped.push('-');
    }
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", abs % 100)
}

/// Checks an amount that a department or a client sent: it must be between
/// 0 and [`MAX_PLAUSIBLE_FEN`] inclusive. Returns the amount unchanged, or a
/// violation on `field`.
pub fn check_fen(field: &str, fen: i64) -> Result<i64, FieldViolation> {
    if fen < 0 {
        Err(FieldViolation::new(
            field,
            format!("must not be negative, got {fen} fen"),
        ))
    } else if fen > MAX_PLAUSIBLE_FEN {
        Err(FieldViolation::new(
            field,
            format!(
                "implausibly large: {fen} fen is more than {} yuan",
                yuan(MAX_PLAUSIBLE_FEN).trim_end_matches(".00")
            ),
        ))
    } else {
        Ok(fen)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn formats_yuan() {
        assert_eq!(yuan(123_456_789), "1,234,567.89");
        assert_eq!(yuan(-50), "-0.50");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(100), "1.00");
        assert_eq!(yuan(99_999), "999.99");
        assert_eq!(yuan(100_000), "1,000.00");
        assert_eq!(yuan(-100_000_000), "-1,000,000.00");
        assert_eq!(yuan(i64::MAX), "92,233,720,368,547,758.07");
        assert_eq!(yuan(i64::MIN), "-92,233,720,368,547,758.08");
    }

    #[test]
    fn checks_fen() {
        assert_eq!(check_fen("balance_fen", 0), Ok(0));
        assert_eq!(check_fen("balance_fen", 12_345), Ok(12_345));
        assert_eq!(check_fen("balance_fen", MAX_PLAUSIBLE_FEN), Ok(MAX_PLAUSIBLE_FEN));
        assert_eq!(
            check_fen("balance_fen", -5),
            Err(FieldViolation::new("balance_fen", "must not be negative, got -5 fen"))
        );
        let big = check_fen("accounts[0].balance_fen", MAX_PLAUSIBLE_FEN + 1).unwrap_err();
        assert_eq!(big.field, "accounts[0].balance_fen");
        assert_eq!(
            big.description,
            "implausibly large: 1000000000000001 fen is more than 10,000,000,000,000 yuan"
        );
        assert!(check_fen("x", i64::MIN).is_err());
        assert!(check_fen("x", i64::MAX).is_err());
    }

    proptest! {
        #[test]
        fn yuan_reads_back(fen in any::<i64>()) {
            let s = yuan(fen);
            let digits: String = s.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
            prop_assert_eq!(digits.parse::<i128>().unwrap(), i128::from(fen));
            prop_assert_eq!(s.starts_with('-'), fen < 0);
            let whole = s.trim_start_matches('-').split('.').next().unwrap();
            for (i, group) in whole.split(',').enumerate() {
                let ok = if i == 0 { (1..=3).contains(&group.len()) } else { group.len() == 3 };
                prop_assert!(ok, "bad grouping in {}", s);
            }
        }
    }
}
