//! Calendar quarters in China Standard Time, the periods of the county
//! joint meeting office's reports: `2026Q4` is 1 October 2026 00:00 to
//! 1 January 2027 00:00 in Beijing (UTC+8, no daylight saving), that is
//! 2026-09-30T16:00:00Z to 2026-12-31T16:00:00Z.
//!
//! A quarter is built only by [`Quarter::parse`] (or from an instant with
//! [`Quarter::containing`]), so a value always names a real quarter.

use std::fmt;

use chrono::{DateTime, Datelike as _, FixedOffset, NaiveDate, TimeZone as _, Utc};

/// The earliest year a quarter may name when parsed.
pub const FIRST_YEAR: i32 = 2000;
/// The latest year a quarter may name when parsed.
pub const LAST_YEAR: i32 = 2100;

/// China Standard Time, UTC+8 all year.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// One calendar quarter of one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: i32,
    /// 1 to 4.
    number: u32,
}

impl Quarter {
    /// Reads `2026Q4` (a `q` in lower case too): a year from
    /// [`FIRST_YEAR`] to [`LAST_YEAR`], `Q`, and a quarter from 1 to 4.
    pub fn parse(s: &str) -> Result<Self, String> {
        let shape = || format!("expected a quarter such as 2026Q4, found {s:?}");
        let b = s.as_bytes();
        if b.len() != 6 || !b[..4].iter().all(u8::is_ascii_digit) || !matches!(b[4], b'Q' | b'q') {
            return Err(shape());
        }
        let year: i32 = s[..4].parse().map_err(|_| shape())?;
        let number = match b[5] {
            b'1'..=b'4' => u32::from(b[5] - b'0'),
            _ => return Err(format!("quarter {} does not exist; expected 1 to 4", &s[5..])),
        };
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(format!(
                "year {year} is out of range; expected {FIRST_YEAR} to {LAST_YEAR}"
            ));
        }
        Ok(Self { year, number })
    }

    /// The quarter that holds `at`, in China Standard Time.
    pub fn containing(at: DateTime<Utc>) -> Self {
        let day = at.with_timezone(&cst()).date_naive();
        Self {
            year: day.year(),
            number: (day.month() - 1) / 3 + 1,
        }
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The quarter's number, 1 to 4.
    pub fn number(self) -> u32 {
        self.number
    }

    /// The quarter before this one (2026Q1 → 2025Q4).
    pub fn previous(self) -> Self {
        match self.number {
            1 => Self {
                year: self.year - 1,
                number: 4,
            },
            n => Self {
                year: self.year,
                number: n - 1,
            },
        }
    }

    /// The quarter after this one (2026Q4 → 2027Q1).
    pub fn next(self) -> Self {
        match self.number {
            4 => Self {
                year: self.year + 1,
                number: 1,
            },
            n => Self {
                year: self.year,
                number: n + 1,
            },
        }
    }

    /// The first day, in China Standard Time.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.number - 1) * 3 + 1, 1).expect("a quarter starts on a real day")
    }

    /// The last day, in China Standard Time.
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("a quarter ends on a real day")
    }

    /// The first instant: midnight of the first day in Beijing.
    pub fn first_instant(self) -> DateTime<FixedOffset> {
        midnight(self.first_day())
    }

    /// The instant just past the end: the next quarter's first instant.
    /// A quarter is the half-open range `[first_instant, end)`, so
    /// consecutive quarters neither overlap nor leave a gap.
    pub fn end(self) -> DateTime<FixedOffset> {
        self.next().first_instant()
    }

    /// The last instant: one nanosecond before [`Quarter::end`]. Prefer the
    /// half-open `[first_instant, end)` when comparing.
    pub fn last_instant(self) -> DateTime<FixedOffset> {
        self.end() - chrono::Duration::nanoseconds(1)
    }

    /// True when `at` lies in the quarter.
    pub fn contains(self, at: DateTime<Utc>) -> bool {
        self.first_instant() <= at && at < self.end()
    }
}

fn midnight(day: NaiveDate) -> DateTime<FixedOffset> {
    cst()
        .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .single()
        .expect("a fixed offset has exactly one local midnight")
}

/// `2026Q4`.
impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quarter {
        Quarter::parse(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_quarter_is_parsed_and_written_back() {
        assert_eq!(q("2026Q4").to_string(), "2026Q4");
        assert_eq!(q("2026q1"), q("2026Q1"));
        assert_eq!((q("2026Q3").year(), q("2026Q3").number()), (2026, 3));
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for bad in [
            "",
            "2026",
            "2026Q",
            "2026Q44",
            "26Q4",
            " 2026Q4",
            "2026-Q4",
            "２０２６Q4",
            "2026Q４",
        ] {
            let e = Quarter::parse(bad).unwrap_err();
            assert!(e.contains("2026Q4"), "{bad:?}: {e}");
        }
        assert!(Quarter::parse("2026Q5").unwrap_err().contains("expected 1 to 4"));
        assert!(Quarter::parse("2026Q0").unwrap_err().contains("expected 1 to 4"));
        assert!(Quarter::parse("1999Q4").unwrap_err().contains("out of range"));
        assert!(Quarter::parse("2101Q1").unwrap_err().contains("out of range"));
    }

    #[test]
    fn the_bounds_are_midnight_in_beijing() {
        let q4 = q("2026Q4");
        assert_eq!(q4.first_instant().to_rfc3339(), "2026-10-01T00:00:00+08:00");
        assert_eq!(q4.first_instant().with_timezone(&Utc), utc("2026-09-30T16:00:00Z"));
        assert_eq!(q4.end().with_timezone(&Utc), utc("2026-12-31T16:00:00Z"));
        assert_eq!(
            q4.last_instant().with_timezone(&Utc),
            utc("2026-12-31T15:59:59.999999999Z")
        );
        assert_eq!(q4.first_day().to_string(), "2026-10-01");
        assert_eq!(q4.last_day().to_string(), "2026-12-31");
        assert_eq!(q("2026Q1").last_day().to_string(), "2026-03-31");
        assert_eq!(q("2024Q1").first_day().to_string(), "2024-01-01");
    }

    #[test]
    fn the_year_boundary_is_crossed_both_ways() {
        assert_eq!(q("2026Q1").previous(), q("2025Q4"));
        assert_eq!(q("2025Q4").next(), q("2026Q1"));
        assert_eq!(q("2026Q4").previous(), q("2026Q3"));
        assert_eq!(q("2026Q3").next(), q("2026Q4"));
        // New Year's Eve at 16:00 UTC is already the new year in Beijing.
        assert_eq!(Quarter::containing(utc("2026-12-31T15:59:59.999Z")), q("2026Q4"));
        assert_eq!(Quarter::containing(utc("2026-12-31T16:00:00Z")), q("2027Q1"));
        assert_eq!(Quarter::containing(utc("2026-03-31T16:00:00Z")), q("2026Q2"));
        // The previous quarter ends exactly where this one starts.
        assert_eq!(q("2027Q1").previous().end(), q("2027Q1").first_instant());
        assert_eq!(
            q("2026Q1").first_instant().with_timezone(&Utc),
            utc("2025-12-31T16:00:00Z")
        );
    }

    #[test]
    fn contains_is_half_open() {
        let q4 = q("2026Q4");
        assert!(q4.contains(utc("2026-09-30T16:00:00Z")));
        assert!(!q4.contains(utc("2026-09-30T15:59:59.999Z")));
        assert!(q4.contains(utc("2026-12-31T15:59:59.999Z")));
        assert!(!q4.contains(utc("2026-12-31T16:00:00Z")));
    }
}
