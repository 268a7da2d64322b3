//! Calendar dates, months and income windows.
//!
//! On the wire a date is `YYYY-MM-DD` and a month is `YYYY-MM`. Both are
//! parsed strictly: no other separators, no missing zeros, no surrounding
//! spaces, because a lenient parser would let two spellings of one month
//! into records that are compared byte for byte.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};

use crate::error::{FieldViolation, ValidationError};

/// The longest income window, in months, inclusive of both ends.
pub const MAX_WINDOW_MONTHS: u32 = 24;

/// The input quoted for an error message, cut short so that a huge input
/// does not make a huge message.
fn quoted(s: &str) -> String {
    const MAX: usize = 24;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// Parses `len` ASCII digits; the caller has checked that they are digits.
fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// True when `s` matches a pattern in which `9` stands for an ASCII digit
/// and every other byte stands for itself.
fn matches_shape(s: &str, shape: &str) -> bool {
    s.len() == shape.len()
        && s.bytes()
            .zip(shape.bytes())
            .all(|(c, p)| if p == b'9' { c.is_ascii_digit() } else { c == p })
}

/// A calendar month, for example 2026-11.
///
/// The fields are public for convenience; `month` must be 1 to 12. Values
/// from outside go through [`YearMonth::parse`] or [`YearMonth::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    /// The year, 1900 to 9999 when parsed.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u32,
}

impl YearMonth {
    /// A month, or `None` unless `month` is 1 to 12.
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        (1..=12).contains(&month).then_some(YearMonth { year, month })
    }

    /// Parses exactly `YYYY-MM`: seven characters, a year from 1900 to 9999
    /// and a month from 01 to 12.
    pub fn parse(s: &str) -> Result<YearMonth, String> {
        if !matches_shape(s, "9999-99") {
            return Err(format!("expected a month as YYYY-MM, found {}", quoted(s)));
        }
        let b = s.as_bytes();
        let year = digits(&b[..4]) as i32;
        let month = digits(&b[5..]);
        if !(1900..=9999).contains(&year) {
            return Err(format!("year {year} is out of range; expected 1900 to 9999"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("no such month: {s}"));
        }
        Ok(YearMonth { year, month })
    }

    /// The month that `date` falls in.
    pub fn from_date(date: NaiveDate) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The number of months from `a` to `b`, counting both: 1 when they are
    /// the same month, 12 for 2025-11 to 2026-10. Zero or negative when `b`
    /// is before `a`.
    pub fn months_between_inclusive(a: YearMonth, b: YearMonth) -> i64 {
        b.index() - a.index() + 1
    }

    /// The first day of the month.
    ///
    /// # Panics
    ///
    /// When `month` is not 1 to 12, which [`YearMonth::parse`] and
    /// [`YearMonth::new`] never produce.
    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a YearMonth has a month from 1 to 12")
    }

    /// The last day of the month (28 February, 29 February in leap years,
    /// 30 or 31 otherwise).
    ///
    /// # Panics
    ///
    /// As [`YearMonth::first_day`].
    pub fn last_day(&self) -> NaiveDate {
        self.succ().first_day() - Days::new(1)
    }

    /// The next month.
    pub fn succ(&self) -> YearMonth {
        self.plus_months(1)
    }

    /// The previous month.
    pub fn pred(&self) -> YearMonth {
        self.plus_months(-1)
    }

    /// The month `n` months later (earlier when `n` is negative).
    pub fn plus_months(&self, n: i64) -> YearMonth {
        Self::from_index(self.index() + n)
    }

    /// Months since year 0, so that month arithmetic is integer arithmetic.
    fn index(&self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(i: i64) -> YearMonth {
        YearMonth {
            year: i.div_euclid(12) as i32,
            month: i.rem_euclid(12) as u32 + 1,
        }
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Parses exactly `YYYY-MM-DD`: ten characters, a year from 1880 to 9999
/// (the earliest birth date accepted is in 1880) and a date that exists, so
/// `2026-02-30` is an error.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    if !matches_shape(s, "9999-99-99") {
        return Err(format!("expected a date as YYYY-MM-DD, found {}", quoted(s)));
    }
    let b = s.as_bytes();
    let year = digits(&b[..4]) as i32;
    if !(1880..=9999).contains(&year) {
        return Err(format!("year {year} is out of range; expected 1880 to 9999"));
    }
    NaiveDate::from_ymd_opt(year, digits(&b[5..7]), digits(&b[8..])).ok_or_else(|| format!("no such date: {s}"))
}

/// An inclusive range of whole months over which income is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IncomeWindow {
    /// The first month.
    pub from: YearMonth,
    /// The last month, not before `from`.
    pub to: YearMonth,
}

impl IncomeWindow {
    /// Validates a window from the wire. Every problem is reported:
    /// malformed months on `{field}.from_month` and `{field}.to_month`; a
    /// `to_month` before `from_month`, or after the month of `today`, on
    /// `{field}.to_month`; a window longer than [`MAX_WINDOW_MONTHS`] on
    /// `{field}.from_month` (moving it later is the fix).
    pub fn parse(
        w: &hedui_proto::v1::IncomeWindow,
        today: NaiveDate,
        field: &str,
    ) -> Result<IncomeWindow, ValidationError> {
        let from_field = format!("{field}.from_month");
        let to_field = format!("{field}.to_month");
        let mut violations = Vec::new();
        let mut month = |s: &str, f: &str| {
            let r = if s.is_empty() {
                Err("is required, as YYYY-MM".to_owned())
            } else {
                YearMonth::parse(s)
            };
            r.map_err(|e| violations.push(FieldViolation::new(f, e))).ok()
        };
        let from = month(&w.from_month, &from_field);
        let to = month(&w.to_month, &to_field);
        if let Some(to) = to {
            let current = YearMonth::from_date(today);
            if to > current {
                violations.push(FieldViolation::new(
                    &to_field,
                    format!("{to} is in the future; the current month is {current}"),
                ));
            }
        }
        if let (Some(from), Some(to)) = (from, to) {
            let months = YearMonth::months_between_inclusive(from, to);
            if to < from {
                violations.push(FieldViolation::new(
                    &to_field,
                    format!("{to} is before from_month {from}"),
                ));
            } else if months > i64::from(MAX_WINDOW_MONTHS) {
                violations.push(FieldViolation::new(
                    &from_field,
                    format!(
                        "window {from} to {to} covers {months} months; at most \
                         {MAX_WINDOW_MONTHS} are allowed"
                    ),
                ));
            }
        }
        ValidationError::check(violations)?;
        Ok(IncomeWindow {
            from: from.expect("no violations, so from_month parsed"),
            to: to.expect("no violations, so to_month parsed"),
        })
    }

    /// The number of months in the window, counting both ends.
    pub fn months(&self) -> u32 {
        u32::try_from(YearMonth::months_between_inclusive(self.from, self.to)).unwrap_or(0)
    }

    /// True when `ym` is one of the window's months.
    pub fn contains_month(&self, ym: YearMonth) -> bool {
        self.from <= ym && ym <= self.to
    }

    /// True when `d` falls in one of the window's months.
    pub fn contains_date(&self, d: NaiveDate) -> bool {
        self.contains_month(YearMonth::from_date(d))
    }

    /// The window as it goes on the wire.
    pub fn to_proto(&self) -> hedui_proto::v1::IncomeWindow {
        hedui_proto::v1::IncomeWindow {
            from_month: self.from.to_string(),
            to_month: self.to.to_string(),
        }
    }

    /// The `n` whole months that end with the month before the month of
    /// `today`: on 2026-11-26, `n = 12` gives 2025-11 to 2026-10. The
    /// current month is left out because its income is not complete yet.
    /// `n` is clamped to 1 to [`MAX_WINDOW_MONTHS`], so the result is always
    /// a window that [`IncomeWindow::parse`] accepts.
    pub fn last_months(today: NaiveDate, n: u32) -> IncomeWindow {
        let n = n.clamp(1, MAX_WINDOW_MONTHS);
        let to = YearMonth::from_date(today).pred();
        IncomeWindow {
            from: to.plus_months(1 - i64::from(n)),
            to,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn ym(s: &str) -> YearMonth {
        YearMonth::parse(s).unwrap()
    }

    fn wire(from: &str, to: &str) -> hedui_proto::v1::IncomeWindow {
        hedui_proto::v1::IncomeWindow {
            from_month: from.into(),
            to_month: to.into(),
        }
    }

    fn violations(from: &str, to: &str) -> Vec<(String, String)> {
        IncomeWindow::parse(&wire(from, to), today(), "income_window")
            .unwrap_err()
            .violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    #[test]
    fn parses_months_strictly() {
        assert_eq!(ym("2026-11"), YearMonth { year: 2026, month: 11 });
        assert_eq!(ym("1900-01").to_string(), "1900-01");
        assert_eq!(ym("9999-12").to_string(), "9999-12");
        for bad in [
            "2026-1",
            "2026-011",
            "2026/11",
            "26-11",
            " 2026-11",
            "2026-11 ",
            "",
            "２０２６-11",
        ] {
            assert!(
                YearMonth::parse(bad)
                    .unwrap_err()
                    .starts_with("expected a month as YYYY-MM"),
                "{bad:?}"
            );
        }
        assert_eq!(YearMonth::parse("2026-13").unwrap_err(), "no such month: 2026-13");
        assert_eq!(YearMonth::parse("2026-00").unwrap_err(), "no such month: 2026-00");
        assert_eq!(
            YearMonth::parse("1899-12").unwrap_err(),
            "year 1899 is out of range; expected 1900 to 9999"
        );
        assert_eq!(YearMonth::new(2026, 13), None);
        assert_eq!(YearMonth::new(2026, 2), Some(ym("2026-02")));
    }

    #[test]
    fn month_arithmetic() {
        assert_eq!(ym("2026-12").succ(), ym("2027-01"));
        assert_eq!(ym("2026-01").pred(), ym("2025-12"));
        assert_eq!(ym("2026-11").plus_months(-23), ym("2024-12"));
        assert_eq!(YearMonth::months_between_inclusive(ym("2025-11"), ym("2026-10")), 12);
        assert_eq!(YearMonth::months_between_inclusive(ym("2026-10"), ym("2026-10")), 1);
        assert_eq!(YearMonth::months_between_inclusive(ym("2026-10"), ym("2026-09")), 0);
        assert_eq!(ym("2024-02").last_day(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(ym("2026-02").last_day(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(ym("2026-12").last_day(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(ym("2026-04").first_day(), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        assert_eq!(YearMonth::from_date(today()), ym("2026-11"));
    }

    #[test]
    fn parses_dates_strictly() {
        assert_eq!(parse_date("2026-11-26"), Ok(today()));
        assert_eq!(
            parse_date("2024-02-29"),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        assert_eq!(parse_date("2026-02-30").unwrap_err(), "no such date: 2026-02-30");
        assert_eq!(parse_date("2026-02-29").unwrap_err(), "no such date: 2026-02-29");
        assert_eq!(parse_date("2026-13-01").unwrap_err(), "no such date: 2026-13-01");
        assert_eq!(
            parse_date("1879-12-31").unwrap_err(),
            "year 1879 is out of range; expected 1880 to 9999"
        );
        assert!(parse_date("1880-01-01").is_ok());
        for bad in [
            "2026-1-26",
            "20261126",
            "2026/11/26",
            "2026-11-26T00:00",
            "",
            " 2026-11-26",
            "2026-11-2é",
        ] {
            assert!(
                parse_date(bad)
                    .unwrap_err()
                    .starts_with("expected a date as YYYY-MM-DD"),
                "{bad:?}"
            );
        }
        let long = "x".repeat(1000);
        assert!(parse_date(&long).unwrap_err().len() < 80);
    }

    #[test]
    fn accepts_a_valid_window() {
        let w = IncomeWindow::parse(&wire("2025-11", "2026-10"), today(), "income_window").unwrap();
        assert_eq!(
            w,
            IncomeWindow {
                from: ym("2025-11"),
                to: ym("2026-10")
            }
        );
        assert_eq!(w.months(), 12);
        assert_eq!(w.to_proto(), wire("2025-11", "2026-10"));
        assert!(w.contains_month(ym("2025-11")));
        assert!(w.contains_month(ym("2026-10")));
        assert!(!w.contains_month(ym("2025-10")));
        assert!(!w.contains_month(ym("2026-11")));
        assert!(w.contains_date(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()));
        assert!(!w.contains_date(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()));
        // The current month is allowed, and 24 months is the limit.
        assert!(IncomeWindow::parse(&wire("2024-12", "2026-11"), today(), "w").is_ok());
    }

    #[test]
    fn rejects_bad_windows() {
        assert_eq!(
            violations("2024-10", "2026-10"),
            [(
                "income_window.from_month".to_owned(),
                "window 2024-10 to 2026-10 covers 25 months; at most 24 are allowed".to_owned()
            )]
        );
        assert_eq!(
            violations("2026-03", "2026-01"),
            [(
                "income_window.to_month".to_owned(),
                "2026-01 is before from_month 2026-03".to_owned()
            )]
        );
        assert_eq!(
            violations("2026-06", "2026-12"),
            [(
                "income_window.to_month".to_owned(),
                "2026-12 is in the future; the current month is 2026-11".to_owned()
            )]
        );
        assert_eq!(
            violations("", "2026-1"),
            [
                (
                    "income_window.from_month".to_owned(),
                    "is required, as YYYY-MM".to_owned()
                ),
                (
                    "income_window.to_month".to_owned(),
                    "expected a month as YYYY-MM, found \"2026-1\"".to_owned()
                ),
            ]
        );
        // A bad from_month does not hide a future to_month.
        assert_eq!(violations("2026-13", "2027-01").len(), 2);
    }

    #[test]
    fn last_months_ends_before_the_current_month() {
        let w = IncomeWindow::last_months(today(), 12);
        assert_eq!(
            w,
            IncomeWindow {
                from: ym("2025-11"),
                to: ym("2026-10")
            }
        );
        assert_eq!(w.months(), 12);
        let jan = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(
            IncomeWindow::last_months(jan, 1),
            IncomeWindow {
                from: ym("2025-12"),
                to: ym("2025-12")
            }
        );
        assert_eq!(IncomeWindow::last_months(today(), 0).months(), 1);
        assert_eq!(IncomeWindow::last_months(today(), 100).months(), 24);
    }

    fn any_month() -> impl Strategy<Value = YearMonth> {
        (1990i32..2027, 1u32..=12).prop_map(|(year, month)| YearMonth { year, month })
    }

    proptest! {
        #[test]
        fn valid_windows_round_trip(to in any_month(), len in 1u32..=24) {
            prop_assume!(to <= YearMonth::from_date(today()));
            let from = to.plus_months(1 - i64::from(len));
            let w = IncomeWindow { from, to };
            let parsed = IncomeWindow::parse(&w.to_proto(), today(), "w").unwrap();
            prop_assert_eq!(parsed, w);
            prop_assert_eq!(parsed.months(), len);
            prop_assert!(parsed.contains_month(from) && parsed.contains_month(to));
            prop_assert!(!parsed.contains_month(from.pred()) && !parsed.contains_month(to.succ()));
        }

        #[test]
        fn long_windows_are_rejected(to in any_month(), extra in 0u32..100) {
            prop_assume!(to <= YearMonth::from_date(today()));
            let from = to.plus_months(-24 - i64::from(extra));
            let err = IncomeWindow::parse(&IncomeWindow { from, to }.to_proto(), today(), "w").unwrap_err();
            prop_assert_eq!(err.violations.len(), 1);
            prop_assert_eq!(&err.violations[0].field, "w.from_month");
        }

        #[test]
        fn months_round_trip(m in any_month(), n in -500i64..500) {
            prop_assert_eq!(YearMonth::parse(&m.to_string()).unwrap(), m);
            prop_assert_eq!(m.plus_months(n).plus_months(-n), m);
            prop_assert_eq!(YearMonth::months_between_inclusive(m, m.plus_months(n)), n + 1);
            prop_assert_eq!(m.succ().pred(), m);
            prop_assert_eq!(m.last_day().succ_opt().unwrap(), m.succ().first_day());
        }

        #[test]
        fn dates_round_trip(days in 0u64..60_000) {
            let d = NaiveDate::from_ymd_opt(1880, 1, 1).unwrap() + Days::new(days);
            prop_assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()), Ok(d));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,12}") {
            let _ = parse_date(&s);
            let _ = YearMonth::parse(&s);
        }
    }
}
