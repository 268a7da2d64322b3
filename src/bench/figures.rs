//! The bench's figures, one set per repeat (`--repeat N`), and their
//! summary: the median of each figure and its spread (min–max) over the
//! repeats; then the targets, judged on the medians against the floor
//! measured in the same run.

use std::time::Duration;

/// How a figure is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
    /// Per second.
    Rate,
    /// A percentage (the value is a fraction).
    Percent,
    /// A signed percentage (the value is a fraction).
    Change,
    /// A plain count.
    Count,
    /// An average of counts, to two places.
    Mean,
}

/// One repeat's figures, in the order they were measured.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    rows: Vec<(String, f64, Unit)>,
}

impl Figures {
    pub(crate) fn push(&mut self, label: impl Into<String>, value: f64, unit: Unit) {
        self.rows.push((label.into(), value, unit));
    }

    pub(crate) fn ms(&mut self, label: impl Into<String>, d: Duration) {
        self.push(label, d.as_secs_f64() * 1000.0, Unit::Ms);
    }

    /// The value of the figure labelled `label` in this repeat.
    pub(crate) fn get(&self, label: &str) -> Option<f64> {
        self.rows.iter().find(|(l, _, _)| l == label).map(|(_, v, _)| *v)
    }
}

/// A figure over all repeats.
pub(crate) struct Summary {
    pub(crate) label: String,
    pub(crate) unit: Unit,
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Each figure's median and spread, in the order of the first repeat. A
/// figure missing from some repeat is summarised over those that have it.
pub(crate) fn summarize(runs: &[Figures]) -> Vec<Summary> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .rows
        .iter()
        .map(|(label, _, unit)| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r.get(label)).collect();
            Summary {
                label: label.clone(),
                unit: *unit,
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                median: median(values),
            }
        })
        .collect()
}

pub(crate) fn format(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{value:.2} ms"),
        Unit::Us => format!("{value:.2} µs"),
        Unit::Rate => format!("{value:.1}/s"),
        Unit::Percent => format!("{:.1} %", value * 100.0),
        Unit::Change => format!("{:+.1} %", value * 100.0),
        Unit::Count => format!("{value:.0}"),
        Unit::Mean => format!("{value:.2}"),
    }
}

fn spread(s: &Summary) -> String {
    match s.unit {
        Unit::Ms => format!("{:.2}–{:.2}", s.min, s.max),
        Unit::Us => format!("{:.2}–{:.2}", s.min, s.max),
        Unit::Rate => format!("{:.1}–{:.1}", s.min, s.max),
        Unit::Percent => format!("{:.1}–{:.1}", s.min * 100.0, s.max * 100.0),
        Unit::Change => format!("{:+.1}–{:+.1}", s.min * 100.0, s.max * 100.0),
        Unit::Count => format!("{:.0}–{:.0}", s.min, s.max),
        Unit::Mean => format!("{:.2}–{:.2}", s.min, s.max),
    }
}

/// The summary as lines: the median, and with more than one repeat the
/// spread beside it.
pub(crate) fn lines(summaries: &[Summary], repeats: usize) -> Vec<(String, String)> {
    summaries
        .iter()
        .map(|s| {
            let value = format(s.median, s.unit);
            let value = if repeats > 1 {
                format!("{value:>12}   (min–max {})", spread(s))
            } else {
                format!("{value:>12}")
            };
            (s.label.clone(), value)
        })
        .collect()
}

/// Prints `(label, value)` lines aligned.
pub(crate) fn print_table(title: &str, table: &[(String, String)]) {
    if table.is_empty() {
        return;
    }
    println!("\n{title}");
    let width = table.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (k, v) in table {
        println!("  {k:<width$}  {v}");
    }
}

/// One target: what it asks, what was measured and the floor beside it.
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) measured: f64,
    pub(crate) limit: f64,
    pub(crate) unit: Unit,
    /// True when the measured figure must be at least the limit (a ratio);
    /// false when at most (a latency).
    pub(crate) at_least: bool,
    /// The floor the limit was derived from, said beside it.
    pub(crate) floor: String,
}

impl Target {
    pub(crate) fn met(&self) -> bool {
        if self.at_least {
            self.measured >= self.limit
        } else {
            self.measured <= self.limit
        }
    }

    pub(crate) fn line(&self) -> (String, String) {
        let op = if self.at_least { "≥" } else { "≤" };
        (
            self.name.clone(),
            format!(
                "{}: {} {op} {}   {}",
                super::met(self.met()),
                format(self.measured, self.unit),
                format(self.limit, self.unit),
                self.floor
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_the_median_and_the_spread_of_each_figure() {
        let runs: Vec<Figures> = [3.0, 1.0, 2.0]
            .into_iter()
            .map(|v| {
                let mut f = Figures::default();
                f.push("a", v, Unit::Ms);
                f.push("b", v * 10.0, Unit::Rate);
                f
            })
            .collect();
        let s = summarize(&runs);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].median, s[0].min, s[0].max), (2.0, 1.0, 3.0));
        assert_eq!((s[1].median, s[1].min, s[1].max), (20.0, 10.0, 30.0));
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        let l = lines(&s, 3);
        assert!(l[0].1.contains("2.00 ms") && l[0].1.contains("1.00–3.00"), "{l:?}");
    }

    #[test]
    fn a_target_says_whether_it_is_met() {
        let t = Target {
            name: "p50".into(),
            measured: 1.5,
            limit: 1.7,
            unit: Unit::Ms,
            at_least: false,
            floor: String::new(),
        };
        assert!(t.met());
        let r = Target {
            measured: 0.4,
            limit: 0.6,
            unit: Unit::Percent,
            at_least: true,
            ..t
        };
        assert!(!r.met());
        assert!(r.line().1.starts_with("NOT MET"));
    }
}
