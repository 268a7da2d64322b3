//! What a caseworker reads after a roster is checked: one summary line,
//! then the problems of the first [`SHOWN_ROWS`] rows in full, then counts
//! per column and per kind of the rest, so that one real cause is not
//! drowned in a flood of lines.

use std::collections::BTreeMap;

use crate::{ErrorKind, RosterHousehold, RosterReader, RowError};

/// How many rows' problems are listed in full.
pub const SHOWN_ROWS: usize = 50;

/// How many notes (warnings) are listed in full.
pub const SHOWN_NOTES: usize = 20;

/// The tally of a roster's check, fed one item of [`RosterReader`] at a
/// time: memory is bounded by [`SHOWN_ROWS`] and the number of columns.
#[derive(Debug, Clone)]
pub struct Check {
    read_as: String,
    households: usize,
    rows: usize,
    keyless: usize,
    valid: usize,
    invalid: usize,
    bad_rows: usize,
    shown: Vec<RowError>,
    shown_rows: usize,
    hidden_by_column: BTreeMap<String, usize>,
    hidden_by_kind: BTreeMap<ErrorKind, usize>,
    hidden_rows: usize,
    notes: Vec<RowError>,
    notes_total: usize,
}

impl Check {
    /// A tally for the roster `reader` reads (its size is known once open).
    pub fn new(reader: &RosterReader) -> Check {
        Check {
            read_as: reader.read_as().to_owned(),
            households: reader.households(),
            rows: reader.rows(),
            keyless: reader.rows_without_household(),
            valid: 0,
            invalid: 0,
            bad_rows: 0,
            shown: Vec::new(),
            shown_rows: 0,
            hidden_by_column: BTreeMap::new(),
            hidden_by_kind: BTreeMap::new(),
            hidden_rows: 0,
            notes: Vec::new(),
            notes_total: 0,
        }
    }

    /// Counts one household.
    pub fn add(&mut self, item: &Result<RosterHousehold, Vec<RowError>>) {
        match item {
            Ok(h) => {
                self.valid += 1;
                for n in &h.notes {
                    self.notes_total += 1;
                    if self.notes.len() < SHOWN_NOTES {
                        self.notes.push(n.clone());
                    }
                }
            }
            Err(errors) => {
                self.invalid += 1;
                let mut rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
                rows.sort_unstable();
                rows.dedup();
                self.bad_rows += rows.len();
                for e in errors {
                    let already = self.shown.iter().any(|s| s.row == e.row);
                    if already || self.shown_rows < SHOWN_ROWS {
                        if !already {
                            self.shown_rows += 1;
                        }
                        self.shown.push(e.clone());
                    } else {
                        *self
                            .hidden_by_column
                            .entry(e.column.clone().unwrap_or_else(|| "（整户）".to_owned()))
                            .or_default() += 1;
                        *self.hidden_by_kind.entry(e.kind).or_default() += 1;
                    }
                }
                self.hidden_rows += rows.iter().filter(|r| !self.shown.iter().any(|s| s.row == **r)).count();
            }
        }
    }

    /// Households that passed.
    pub fn valid(&self) -> usize {
        self.valid
    }

    /// Items that failed: households, and rows without a 户编号.
    pub fn invalid(&self) -> usize {
        self.invalid
    }

    /// The first line: the roster's size in distinct 户编号 and rows, how it
    /// was read, and how many households and rows have problems.
    pub fn summary(&self) -> String {
        let mut s = format!("花名册共 {} 户 {} 行（{}）", self.households, self.rows, self.read_as);
        let bad_households = self.invalid - self.keyless.min(self.invalid);
        if self.invalid == 0 {
            s.push_str("；全部通过");
        } else {
            s.push_str(&format!(
                "；有问题的 {bad_households} 户（{} 行）",
                self.bad_rows - self.keyless.min(self.bad_rows)
            ));
            if self.keyless > 0 {
                s.push_str(&format!("，另有 {} 行没有户编号", self.keyless));
            }
            s.push_str("，见下");
        }
        if self.notes_total > 0 {
            s.push_str(&format!("；{} 处已自动更正（见“注意”）", self.notes_total));
        }
        s
    }

    /// The lines after the summary: each problem of the first
    /// [`SHOWN_ROWS`] rows, then the counts of the rest by column and by
    /// kind, then the notes.
    pub fn details(&self) -> Vec<String> {
        self.details_in(hedui_i18n::Lang::En)
    }

    /// [`Check::details`] with each row's problem said in `lang` (see
    /// [`crate::RowError::said`]): what a caseworker reads.
    pub fn details_in(&self, lang: hedui_i18n::Lang) -> Vec<String> {
        let mut out: Vec<String> = self.shown.iter().map(|e| e.said(lang)).collect();
        if self.hidden_rows > 0 {
            let total: usize = self.hidden_by_kind.values().sum();
            out.push(format!(
                "……另有 {} 行的 {total} 个问题未逐条列出（只列出前 {SHOWN_ROWS} 行）。",
                self.hidden_rows
            ));
            let by_column: Vec<String> = self.hidden_by_column.iter().map(|(c, n)| format!("{c} {n}")).collect();
            out.push(format!("  按列：{}", by_column.join("，")));
            let by_kind: Vec<String> = self
                .hidden_by_kind
                .iter()
                .map(|(k, n)| format!("{} {n}", k.zh()))
                .collect();
            out.push(format!("  按问题类型：{}", by_kind.join("，")));
        }
        for n in &self.notes {
            out.push(format!("注意 {}", n.said(lang)));
        }
        if self.notes_total > self.notes.len() {
            out.push(format!(
                "注意：另有 {} 处自动更正未逐条列出",
                self.notes_total - self.notes.len()
            ));
        }
        out
    }
}
