//! Resident ID numbers (GB 11643-1999) and unified social credit codes
//! (GB 32100-2015).
//!
//! Both are validated completely at every edge: a value that does not parse
//! here never reaches a query, a record or a log. Every function works on
//! characters rather than bytes, so multi-byte input (full-width digits, for
//! example) produces an error and never a panic.

use std::fmt;

use chrono::{Datelike, NaiveDate};

const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK: &[u8; 11] = b"10X98765432";

/// The two-digit codes of the 34 province-level divisions that GB 11643 area
/// codes start with: 31 provinces, autonomous regions and municipalities,
/// Taiwan (71), Hong Kong (81) and Macao (82).
pub const PROVINCE_CODES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

/// The earliest birth date accepted. Older dates are typing errors, not
/// people.
const EARLIEST_BIRTH: (i32, u32, u32) = (1880, 1, 1);

/// The check character of an 18-character resident ID number, computed from
/// its first 17 characters. Returns `None` unless `first17` is exactly 17
/// ASCII digits.
pub fn resident_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(RESIDENT_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    Some(RESIDENT_CHECK[(sum % 11) as usize] as char)
}

/// Why a string is not a valid resident ID number.
///
/// The messages name the problem but never repeat the whole number, so they
/// can be shown and logged without leaking it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The input has the wrong number of characters (not bytes).
    #[error("must have {expected} characters, found {found}")]
    WrongLength {
        /// How many characters the form needs: 18, or 15 for the
        /// first-generation form.
        expected: usize,
        /// How many characters the input has.
        found: usize,
    },
    /// A character that must be an ASCII digit is something else.
    #[error("{}", describe_non_digit(*.position, *.found))]
    NonDigit {
        /// Position of the character, counting from 1.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The first two digits are not a province-level code.
    #[error("unknown province code {code}")]
    UnknownProvince {
        /// The two digits found.
        code: String,
    },
    /// The eight birth-date digits do not form a calendar date.
    #[error("birth date {date} does not exist")]
    InvalidBirthDate {
        /// The digits found, written as `YYYY-MM-DD`.
        date: String,
    },
    /// The birth date is after "today".
    #[error("birth date {date} is in the future (today is {today})")]
    BirthDateInFuture {
        /// The birth date.
        date: NaiveDate,
        /// The date the ID was checked against.
        today: NaiveDate,
    },
    /// The birth date is before 1880-01-01.
    #[error("birth date {date} is before 1880-01-01")]
    BirthDateTooEarly {
        /// The birth date.
        date: NaiveDate,
    },
    /// The check character does not match the first 17 digits.
    #[error("check character should be '{expected}', found '{found}'")]
    WrongCheckChar {
        /// The check character computed from the first 17 digits.
        expected: char,
        /// The check character found (after normalising `x` to `X`).
        found: char,
    },
}

fn describe_non_digit(position: usize, found: char) -> String {
    if position == 18 {
        format!("check character should be a digit or 'X', found {found:?}")
    } else {
        format!("character {position} should be a digit, found {found:?}")
    }
}

/// A valid resident ID number (GB 11643-1999), always in its normalised
/// 18-character form with an upper-case `X`.
///
/// There is deliberately no `Display`: the number is personal data, and the
/// only way to get it is [`ResidentId::as_str`], so nobody formats it into a
/// log by accident. `Debug` prints the masked form only.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId(String);

impl ResidentId {
    /// Parses an 18-character ID number.
    ///
    /// Checks, in order: exactly 18 characters; the first 17 are ASCII
    /// digits and the last is a digit or `X` (`x` is accepted and normalised
    /// to `X`); the first two digits are one of the 34 province-level codes
    /// (the rest of the area code is not checked against a list, because
    /// retired codes such as 522226 stay on people's cards); the birth date
    /// is a real date between 1880-01-01 and `today`; the check character
    /// matches. Nothing is trimmed: surrounding spaces are an error, never a
    /// silent match with somebody else.
    pub fn parse(s: &str, today: NaiveDate) -> Result<ResidentId, IdError> {
        // Count before collecting, so that a huge input costs no allocation.
        let found = s.chars().count();
        if found != 18 {
            return Err(IdError::WrongLength { expected: 18, found });
        }
        let chars: Vec<char> = s.chars().collect();
        for (i, &c) in chars[..17].iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(IdError::NonDigit {
                    position: i + 1,
                    found: c,
                });
            }
        }
        let last = match chars[17] {
            'x' => 'X',
            c if c.is_ascii_digit() || c == 'X' => c,
            c => {
                return Err(IdError::NonDigit { position: 18, found: c });
            }
        };
        // Every character is ASCII from here on, so byte slicing is safe.
        let first17: String = chars[..17].iter().collect();
        check_province(&first17)?;
        birth_date_of(&first17, today)?;
        let expected = resident_check_char(&first17).expect("17 ASCII digits were checked above");
        if expected != last {
            return Err(IdError::WrongCheckChar { expected, found: last });
        }
        let mut id = first17;
        id.push(last);
        Ok(ResidentId(id))
    }

    /// Converts a 15-digit first-generation ID number to its 18-character
    /// form: "19" is inserted after the 6-digit area code and the check
    /// character is computed. The result is then validated like
    /// [`ResidentId::parse`] (province code, birth date).
    pub fn from_legacy15(s: &str, today: NaiveDate) -> Result<ResidentId, IdError> {
        // Count before collecting, so that a huge input costs no allocation.
        let found = s.chars().count();
        if found != 15 {
            return Err(IdError::WrongLength { expected: 15, found });
        }
        let chars: Vec<char> = s.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(IdError::NonDigit {
                    position: i + 1,
                    found: c,
                });
            }
        }
        let mut first17: String = chars[..6].iter().collect();
        first17.push_str("19");
        first17.extend(&chars[6..]);
        let check = resident_check_char(&first17).expect("17 ASCII digits were built above");
        first17.push(check);
        Self::parse(&first17, today)
    }

    /// Parses either form: 18 characters with [`ResidentId::parse`], 15 with
    /// [`ResidentId::from_legacy15`]. Any other length is an error that asks
    /// for the 18-character form.
    pub fn parse_any(s: &str, today: NaiveDate) -> Result<ResidentId, IdError> {
        match s.chars().count() {
            18 => Self::parse(s, today),
            15 => Self::from_legacy15(s, today),
            n => Err(IdError::WrongLength { expected: 18, found: n }),
        }
    }

    /// The full normalised number. It is personal data: put it in records
    /// and queries, never in logs (use [`ResidentId::masked`] there).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit area code (characters 1 to 6).
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date (characters 7 to 14).
    pub fn birth_date(&self) -> NaiveDate {
        let (y, m, d) = date_parts(&self.0);
        NaiveDate::from_ymd_opt(y, m, d).expect("a parsed ID has a valid birth date")
    }

    /// True when the sequence number (character 17) is odd, which the
    /// standard assigns to men.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    /// Age in whole years on `date`; 0 when `date` is before the birth date.
    /// Someone born on 29 February becomes a year older on 1 March in
    /// common years.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let birth = self.birth_date();
        if date <= birth {
            return 0;
        }
        let years = date.year() - birth.year();
        let had_birthday = (date.month(), date.day()) >= (birth.month(), birth.day());
        let age = if had_birthday { years } else { years - 1 };
        u32::try_from(age).unwrap_or(0)
    }

    /// True when the person is younger than 18 on `date`, so a guardian signs
    /// for them.
    pub fn is_minor_on(&self, date: NaiveDate) -> bool {
        self.age_on(date) < 18
    }

    /// The number with characters 5 to 14 replaced by stars, for logs and
    /// screens: `5206**********123X`.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), &self.0[14..])
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the masked form, so `{:?}` in a log never leaks the number.
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

fn check_province(first17: &str) -> Result<(), IdError> {
    let code = &first17[..2];
    if PROVINCE_CODES.contains(&code) {
        Ok(())
    } else {
        Err(IdError::UnknownProvince { code: code.to_owned() })
    }
}

/// Year, month and day from characters 7 to 14 of an all-ASCII-digit ID.
fn date_parts(id: &str) -> (i32, u32, u32) {
    let num =
        |r: std::ops::Range<usize>| -> u32 { id.as_bytes()[r].iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')) };
    (num(6..10) as i32, num(10..12), num(12..14))
}

fn birth_date_of(first17: &str, today: NaiveDate) -> Result<NaiveDate, IdError> {
    let (y, m, d) = date_parts(first17);
    let date = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| IdError::InvalidBirthDate {
        date: format!("{y:04}-{m:02}-{d:02}"),
    })?;
    let (ey, em, ed) = EARLIEST_BIRTH;
    if date < NaiveDate::from_ymd_opt(ey, em, ed).expect("a fixed valid date") {
        return Err(IdError::BirthDateTooEarly { date });
    }
    if date > today {
        return Err(IdError::BirthDateInFuture { date, today });
    }
    Ok(date)
}

/// The 31 characters of a unified social credit code; a character's value is
/// its index. I, O, Z, S and V are left out because they look like digits.
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn uscc_value(c: char) -> Option<u32> {
    USCC_ALPHABET.iter().position(|&a| char::from(a) == c).map(|i| i as u32)
}

/// The check character of a unified social credit code (GB 32100-2015),
/// computed from its first 17 characters. Returns `None` unless `first17` is
/// exactly 17 characters of the upper-case alphabet
/// `0123456789ABCDEFGHJKLMNPQRTUWXY`.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0usize;
    for c in first17.chars() {
        if n == 17 {
            return None;
        }
        sum += uscc_value(c)? * USCC_WEIGHTS[n];
        n += 1;
    }
    if n != 17 {
        return None;
    }
    Some(char::from(USCC_ALPHABET[((31 - sum % 31) % 31) as usize]))
}

/// Why a string is not a valid unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// The input does not have 18 characters.
    #[error("must have 18 characters, found {found}")]
    WrongLength {
        /// How many characters the input has.
        found: usize,
    },
    /// A character is not in the code's alphabet.
    #[error(
        "character {position} is {found:?}, which is not allowed (only digits and upper-case \
         letters except I, O, S, V and Z)"
    )]
    InvalidCharacter {
        /// Position of the character, counting from 1.
        position: usize,
        /// The character found (after upper-casing).
        found: char,
    },
    /// The check character does not match the first 17 characters.
    #[error("check character should be '{expected}', found '{found}'")]
    WrongCheckChar {
        /// The check character computed from the first 17 characters.
        expected: char,
        /// The check character found.
        found: char,
    },
}

/// A valid unified social credit code (统一社会信用代码, GB 32100-2015) of a
/// business or organisation, in upper case.
///
/// Decision: lower-case input is normalised to upper case and then
/// validated, just as a lower-case `x` in a resident ID number is accepted.
/// Registers and exports sometimes lower-case codes, and the alphabet has no
/// two characters that differ only in case, so this never changes which
/// entity a code names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Parses a code: 18 characters from `0123456789ABCDEFGHJKLMNPQRTUWXY`
    /// (ASCII lower case accepted and upper-cased), the last one the check
    /// character. Nothing is trimmed.
    pub fn parse(s: &str) -> Result<Uscc, UsccError> {
        let found = s.chars().count();
        if found != 18 {
            return Err(UsccError::WrongLength { found });
        }
        let upper: Vec<char> = s.chars().map(|c| c.to_ascii_uppercase()).collect();
        if let Some((i, &c)) = upper.iter().enumerate().find(|(_, c)| uscc_value(**c).is_none()) {
            return Err(UsccError::InvalidCharacter {
                position: i + 1,
                found: c,
            });
        }
        let first17: String = upper[..17].iter().collect();
        let expected = uscc_check_char(&first17).expect("17 alphabet characters were checked above");
        if expected != upper[17] {
            return Err(UsccError::WrongCheckChar {
                expected,
                found: upper[17],
            });
        }
        Ok(Uscc(upper.into_iter().collect()))
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A credit code identifies a business, which is public, so it may be
        // displayed.
        f.write_str(&self.0)
    }
}

/// Generators shared by the tests of this crate.
#[cfg(test)]
pub(crate) mod testgen {
    use chrono::{Days, NaiveDate};
    use proptest::prelude::*;

    use super::{PROVINCE_CODES, USCC_ALPHABET, resident_check_char, uscc_check_char};

    /// Any valid 18-character ID number born between 1900 and 2025.
    pub(crate) fn valid_id() -> impl Strategy<Value = String> {
        valid_id_born_in(1900, 2025)
    }

    /// Any valid 18-character ID number born in the years `first` to `last`.
    pub(crate) fn valid_id_born_in(first: i32, last: i32) -> impl Strategy<Value = String> {
        let start = NaiveDate::from_ymd_opt(first, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(last, 12, 31).unwrap();
        let span = (end - start).num_days() as u64;
        (0..PROVINCE_CODES.len(), 0u32..10_000, 0..=span, 0u32..1000).prop_map(move |(p, area, day, seq)| {
            let birth = start + Days::new(day);
            let first17 = format!("{}{area:04}{}{seq:03}", PROVINCE_CODES[p], birth.format("%Y%m%d"));
            let check = resident_check_char(&first17).unwrap();
            format!("{first17}{check}")
        })
    }

    /// Any valid unified social credit code.
    pub(crate) fn valid_uscc() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..USCC_ALPHABET.len(), 17).prop_map(|idx| {
            let first17: String = idx.iter().map(|&i| char::from(USCC_ALPHABET[i])).collect();
            let check = uscc_check_char(&first17).unwrap();
            format!("{first17}{check}")
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::testgen::{valid_id, valid_id_born_in, valid_uscc};
    use super::*;

    const RESIDENT_IDS: &str = include_str!("../testdata/resident_ids.tsv");
    const USCCS: &str = include_str!("../testdata/uscc.tsv");

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The rows of a test-vector file as (value, expect, note). Values are
    /// not trimmed: some rows test leading spaces and empty input.
    fn rows(tsv: &str) -> Vec<(&str, &str, &str)> {
        tsv.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty() || l.contains('\t'))
            .map(|l| {
                let l = l.trim_end_matches('\r');
                let mut parts = l.splitn(3, '\t');
                let value = parts.next().unwrap();
                let expect = parts.next().unwrap_or_else(|| panic!("no expect column in {l:?}"));
                (value, expect, parts.next().unwrap_or(""))
            })
            .collect()
    }

    #[test]
    fn resident_id_vectors() {
        let rows = rows(RESIDENT_IDS);
        assert!(rows.len() >= 27, "only {} rows", rows.len());
        for (value, expect, note) in rows {
            match expect {
                "valid" => {
                    let id = ResidentId::parse(value, today()).unwrap_or_else(|e| panic!("{value:?} ({note}): {e}"));
                    assert_eq!(id.as_str(), value.to_ascii_uppercase(), "{note}");
                    assert_eq!(ResidentId::parse_any(value, today()), Ok(id));
                }
                "invalid" => {
                    assert!(ResidentId::parse(value, today()).is_err(), "{value:?} ({note})");
                    assert!(ResidentId::parse_any(value, today()).is_err(), "{value:?} ({note})");
                }
                "legacy15" => {
                    let equivalent = note
                        .split_whitespace()
                        .find(|w| w.len() == 18)
                        .unwrap_or_else(|| panic!("no 18-digit form in note {note:?}"));
                    let want = ResidentId::parse(equivalent, today()).unwrap();
                    assert_eq!(ResidentId::from_legacy15(value, today()).as_ref(), Ok(&want));
                    assert_eq!(ResidentId::parse_any(value, today()).as_ref(), Ok(&want));
                    assert!(ResidentId::parse(value, today()).is_err());
                }
                other => panic!("unknown expect {other:?}"),
            }
        }
    }

    #[test]
    fn uscc_vectors() {
        let rows = rows(USCCS);
        assert!(rows.len() >= 17, "only {} rows", rows.len());
        for (value, expect, note) in rows {
            match expect {
                "valid" => {
                    let code = Uscc::parse(value).unwrap_or_else(|e| panic!("{value:?} ({note}): {e}"));
                    assert_eq!(code.as_str(), value);
                }
                "invalid" => assert!(Uscc::parse(value).is_err(), "{value:?} ({note})"),
                // The documented decision: lower case is normalised.
                "invalid-or-normalise" => {
                    let code = Uscc::parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
                    assert_eq!(code.as_str(), value.to_ascii_uppercase());
                }
                other => panic!("unknown expect {other:?}"),
            }
        }
    }

    #[test]
    fn resident_id_error_messages() {
        let t = today();
        assert_eq!(
            ResidentId::parse("520626197803141220", t).unwrap_err().to_string(),
            "check character should be 'X', found '0'"
        );
        assert_eq!(
            ResidentId::parse("520626197802301228", t),
            Err(IdError::InvalidBirthDate {
                date: "1978-02-30".into()
            })
        );
        assert_eq!(
            ResidentId::parse("520626197802301228", t).unwrap_err().to_string(),
            "birth date 1978-02-30 does not exist"
        );
        assert_eq!(
            ResidentId::parse("520626209912311238", t).unwrap_err().to_string(),
            "birth date 2099-12-31 is in the future (today is 2026-11-26)"
        );
        assert_eq!(
            ResidentId::parse("00000019780314123X", t),
            Err(IdError::UnknownProvince { code: "00".into() })
        );
        assert_eq!(
            ResidentId::parse("5206261978O314122X", t).unwrap_err().to_string(),
            "character 11 should be a digit, found 'O'"
        );
        assert_eq!(
            ResidentId::parse("52062619780314122Y", t).unwrap_err().to_string(),
            "check character should be a digit or 'X', found 'Y'"
        );
        assert_eq!(
            ResidentId::parse("52062619780314122", t),
            Err(IdError::WrongLength {
                expected: 18,
                found: 17
            })
        );
        assert_eq!(
            ResidentId::parse("", t).unwrap_err().to_string(),
            "must have 18 characters, found 0"
        );
        // Full-width digits are 18 characters but not ASCII digits.
        assert_eq!(
            ResidentId::parse("５２０６２６１９７８０３１４１２３X", t),
            Err(IdError::NonDigit {
                position: 1,
                found: '５'
            })
        );
        let early = "52062618791231123";
        let early = format!("{early}{}", resident_check_char(early).unwrap());
        assert_eq!(
            ResidentId::parse(&early, t),
            Err(IdError::BirthDateTooEarly {
                date: date(1879, 12, 31)
            })
        );
        assert_eq!(
            ResidentId::parse_any("1234", t),
            Err(IdError::WrongLength { expected: 18, found: 4 })
        );
        assert_eq!(
            ResidentId::from_legacy15("52062678031412X", t),
            Err(IdError::NonDigit {
                position: 15,
                found: 'X'
            })
        );
    }

    #[test]
    fn birth_date_on_today_is_accepted() {
        let first17 = "52062620261126123";
        let id = format!("{first17}{}", resident_check_char(first17).unwrap());
        let parsed = ResidentId::parse(&id, today()).unwrap();
        assert_eq!(parsed.birth_date(), today());
        assert_eq!(parsed.age_on(today()), 0);
    }

    #[test]
    fn accessors() {
        let id = ResidentId::parse("52062619870304681x", today()).unwrap();
        assert_eq!(id.as_str(), "52062619870304681X");
        assert_eq!(id.area_code(), "520626");
        assert_eq!(id.birth_date(), date(1987, 3, 4));
        assert!(id.is_male());
        assert_eq!(id.masked(), "5206**********681X");
        assert_eq!(format!("{id:?}"), "ResidentId(\"5206**********681X\")");
        assert!(!format!("{id:?}").contains("19870304"));

        let woman = ResidentId::parse("520626195711191204", today()).unwrap();
        assert!(!woman.is_male());
        assert_eq!(woman.age_on(today()), 69);
    }

    #[test]
    fn age_counts_whole_years() {
        let first17 = "52062620080229123";
        let leap = ResidentId::parse(&format!("{first17}{}", resident_check_char(first17).unwrap()), today()).unwrap();
        assert_eq!(leap.age_on(date(2026, 2, 28)), 17);
        assert_eq!(leap.age_on(date(2026, 3, 1)), 18);
        assert!(leap.is_minor_on(date(2026, 2, 28)));
        assert!(!leap.is_minor_on(date(2026, 3, 1)));
        assert_eq!(leap.age_on(date(2000, 1, 1)), 0);

        let id = ResidentId::parse("520626194701205831", today()).unwrap();
        assert_eq!(id.age_on(date(2026, 1, 19)), 78);
        assert_eq!(id.age_on(date(2026, 1, 20)), 79);
    }

    #[test]
    fn uscc_check_char_rejects_bad_input() {
        assert_eq!(uscc_check_char("91110000600037341"), Some('L'));
        assert_eq!(uscc_check_char("9111000060003734"), None);
        assert_eq!(uscc_check_char("911100006000373411"), None);
        assert_eq!(uscc_check_char("9111000060003734i"), None);
        assert_eq!(uscc_check_char("9111000060003734Ｉ"), None);
    }

    #[test]
    fn uscc_error_messages() {
        assert_eq!(
            Uscc::parse("91520626IA6D12342D").unwrap_err(),
            UsccError::InvalidCharacter {
                position: 9,
                found: 'I'
            }
        );
        // The standard's own worked example ends in 'Z', which is not even
        // in the alphabet.
        assert_eq!(
            Uscc::parse("91350100M000100Y4Z").unwrap_err().to_string(),
            "character 18 is 'Z', which is not allowed (only digits and upper-case letters \
             except I, O, S, V and Z)"
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y44").unwrap_err().to_string(),
            "check character should be '3', found '4'"
        );
        assert_eq!(Uscc::parse("9111").unwrap_err(), UsccError::WrongLength { found: 4 });
        assert_eq!(
            Uscc::parse("91110000600037341é").unwrap_err(),
            UsccError::InvalidCharacter {
                position: 18,
                found: 'é'
            }
        );
        for bad in ['I', 'O', 'Z', 'S', 'V'] {
            let s = format!("9111000060003734{bad}1");
            assert!(matches!(
                Uscc::parse(&s),
                Err(UsccError::InvalidCharacter { position: 17, found }) if found == bad
            ));
        }
        assert_eq!(
            Uscc::parse("91350100M000100Y43").unwrap().to_string(),
            "91350100M000100Y43"
        );
    }

    /// Characters to substitute into IDs: every legal one plus a few illegal.
    const ID_SUBSTITUTES: &[char] = &[
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X', 'A', ' ', '５', '-',
    ];

    proptest! {
        #[test]
        fn generated_ids_round_trip(s in valid_id()) {
            let id = ResidentId::parse(&s, today()).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(ResidentId::parse(id.as_str(), today()).unwrap(), id.clone());
            prop_assert_eq!(ResidentId::parse_any(&s, today()).unwrap(), id.clone());
            let masked = id.masked();
            prop_assert_eq!(masked.len(), 18);
            prop_assert_eq!(&masked[..4], &s[..4]);
            prop_assert_eq!(&masked[14..], &s[14..]);
        }

        #[test]
        fn lowercase_x_normalises(s in valid_id()) {
            let lower = s.to_ascii_lowercase();
            prop_assert_eq!(ResidentId::parse(&lower, today()).unwrap().as_str().to_owned(), s);
        }

        #[test]
        fn single_substitutions_are_detected(
            s in valid_id(),
            pos in 0usize..18,
            sub in proptest::sample::select(ID_SUBSTITUTES),
        ) {
            let original = s.as_bytes()[pos] as char;
            prop_assume!(!sub.eq_ignore_ascii_case(&original));
            let changed: String = s
                .chars()
                .enumerate()
                .map(|(i, c)| if i == pos { sub } else { c })
                .collect();
            prop_assert!(ResidentId::parse(&changed, today()).is_err(), "{} accepted", changed);
        }

        #[test]
        fn legacy15_of_20th_century_ids(s in valid_id_born_in(1900, 1999)) {
            let legacy = format!("{}{}", &s[..6], &s[8..17]);
            prop_assert_eq!(
                ResidentId::from_legacy15(&legacy, today()).unwrap().as_str().to_owned(),
                s
            );
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = ResidentId::parse(&s, today());
            let _ = ResidentId::from_legacy15(&s, today());
            let _ = ResidentId::parse_any(&s, today());
            let _ = Uscc::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_near_misses(s in "[0-9Xx５é\u{200b} ]{14,19}") {
            let _ = ResidentId::parse(&s, today());
            let _ = ResidentId::from_legacy15(&s, today());
            let _ = ResidentId::parse_any(&s, today());
            let _ = Uscc::parse(&s);
            let _ = resident_check_char(&s);
            let _ = uscc_check_char(&s);
        }

        #[test]
        fn generated_usccs_round_trip(s in valid_uscc()) {
            prop_assert_eq!(Uscc::parse(&s).unwrap().as_str().to_owned(), s.clone());
            prop_assert_eq!(Uscc::parse(&s.to_ascii_lowercase()).unwrap().as_str().to_owned(), s);
        }

        #[test]
        fn uscc_single_substitutions_are_detected(
            s in valid_uscc(),
            pos in 0usize..18,
            sub in proptest::sample::select(
                "0123456789ABCDEFGHJKLMNPQRTUWXYIOZSV ".chars().collect::<Vec<_>>()
            ),
        ) {
            let original = s.as_bytes()[pos] as char;
            prop_assume!(sub != original);
            let changed: String = s
                .chars()
                .enumerate()
                .map(|(i, c)| if i == pos { sub } else { c })
                .collect();
            prop_assert!(Uscc::parse(&changed).is_err(), "{} accepted", changed);
        }
    }
}
