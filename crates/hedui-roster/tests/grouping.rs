//! A household is read whole or not at all, wherever its rows are in the
//! file (issue #11: a roster sorted by name once had 63 of 99 households
//! checked with only some of their members).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use hedui_proto::v1::Purpose;
use hedui_roster::write::synthetic_household;
use hedui_roster::{RosterHousehold, RosterReader, RowError, write_example_csv};
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

/// The rows (header first) of a synthetic roster of `n` households.
fn example_rows(dir: &Path, n: usize) -> Vec<Vec<String>> {
    let p = dir.join("example.csv");
    write_example_csv(&p, n, today()).unwrap();
    let text = fs::read_to_string(&p).unwrap();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn write_csv(dir: &Path, name: &str, rows: &[Vec<String>]) -> PathBuf {
    let p = dir.join(name);
    let mut w = csv::Writer::from_path(&p).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    p
}

fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|h| h == name).unwrap()
}

/// A deterministic Fisher–Yates shuffle (a small LCG), so the test needs no
/// random crate and fails the same way every time.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
}

fn read_all(p: &Path) -> Vec<Result<RosterHousehold, Vec<RowError>>> {
    RosterReader::open(p, today())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving)
        .collect()
}

/// The ID numbers of each household of the synthetic roster.
fn expected_members(n: usize) -> BTreeMap<String, BTreeSet<String>> {
    (0..n)
        .map(|i| {
            let (h, _) = synthetic_household(i, today(), Purpose::MinimumLiving);
            (
                h.household_ref.clone(),
                h.members.iter().map(|m| m.id_number.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_shuffled_roster_with_bad_members_yields_whole_households_or_whole_errors() {
    let d = tempfile::tempdir().unwrap();
    let n = 60;
    let mut rows = example_rows(d.path(), n);
    let hh = col(&rows, "户编号");
    let id = col(&rows, "身份证号");
    let rel = col(&rows, "与申请人关系");
    // Break one member of every 7th household (the last of its rows, so not
    // the applicant), and the applicant's relation of every 11th.
    let mut broken: BTreeSet<String> = BTreeSet::new();
    let mut last_row_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate().skip(1) {
        last_row_of.insert(r[hh].clone(), i);
    }
    for (k, (number, &i)) in last_row_of.iter().enumerate() {
        if k % 7 == 3 {
            let c = &mut rows[i][id];
            let last = c.pop().unwrap();
            c.push(if last == '0' { '1' } else { '0' });
            broken.insert(number.clone());
        }
    }
    for (k, number) in last_row_of.keys().enumerate() {
        if k % 11 == 5 {
            let first = rows.iter().position(|r| &r[hh] == number).unwrap();
            rows[first][rel] = "户主本人?".to_owned();
            broken.insert(number.clone());
        }
    }
    assert!(broken.len() >= 10);
    let mut body = rows.split_off(1);
    shuffle(&mut body, 11);
    rows.extend(body);
    let p = write_csv(d.path(), "shuffled.csv", &rows);
    let number_at_row = |row: usize| rows[row - 1][hh].clone();

    let want = expected_members(n);
    let items = read_all(&p);
    assert_eq!(items.len(), n, "one item per household");
    let mut ok = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for item in &items {
        match item {
            Ok(h) => {
                let members: BTreeSet<String> = h.household.members.iter().map(|m| m.id_number.clone()).collect();
                assert_eq!(
                    members, want[&h.household.household_ref],
                    "household {} must have every member",
                    h.household.household_ref
                );
                // Its rows are exactly the file's rows with its number.
                for &r in &h.rows {
                    assert_eq!(number_at_row(r), h.household.household_ref);
                }
                assert!(ok.insert(h.household.household_ref.clone()));
            }
            Err(errors) => {
                // The errors are of one household.
                let numbers: BTreeSet<String> = errors.iter().map(|e| number_at_row(e.row)).collect();
                assert_eq!(numbers.len(), 1, "{errors:?}");
                assert!(failed.insert(numbers.into_iter().next().unwrap()));
            }
        }
    }
    assert_eq!(failed, broken, "exactly the broken households fail, whole");
    assert_eq!(ok.len() + failed.len(), n);
    assert!(ok.is_disjoint(&failed));
}

#[test]
fn a_household_whose_applicant_row_is_invalid_fails_once_in_a_shuffled_roster() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 5);
    let hh = col(&rows, "户编号");
    let rel = col(&rows, "与申请人关系");
    // Household 1's applicant (row 2) has a relation nobody can read.
    rows[1][rel] = "户主".to_owned();
    let target = rows[1][hh].clone();
    let mut body = rows.split_off(1);
    shuffle(&mut body, 3);
    rows.extend(body);
    let p = write_csv(d.path(), "applicant.csv", &rows);
    let items = read_all(&p);
    assert_eq!(items.len(), 5);
    let errs: Vec<&RowError> = items.iter().filter_map(|i| i.as_ref().err()).flatten().collect();
    // One cause, one message: no "no member has relation applicant" too.
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].column.as_deref(), Some("与申请人关系"));
    assert_eq!(rows[errs[0].row - 1][hh], target);
    assert!(items.iter().filter(|i| i.is_ok()).all(|i| {
        let h = i.as_ref().unwrap();
        h.household.household_ref != target
    }));
}

#[test]
fn a_second_pass_after_rewind_sees_the_same_households() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 20);
    let mut body = rows.split_off(1);
    shuffle(&mut body, 5);
    rows.extend(body);
    let p = write_csv(d.path(), "r.csv", &rows);
    let mut reader = RosterReader::open(&p, today())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving);
    assert_eq!((reader.households(), reader.rows()), (20, rows.len() - 1));
    let first: Vec<_> = reader.by_ref().collect();
    // The file changes on disk; the second pass reads the first's copy.
    fs::write(&p, "changed").unwrap();
    reader.rewind();
    let second: Vec<_> = reader.collect();
    assert_eq!(first, second);
    assert!(first.iter().all(Result::is_ok));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// For any order of a valid roster's rows, the same households come out
    /// with the same members (compared as sets: members follow file order),
    /// the same authorization, and in the order of their first row.
    #[test]
    fn any_permutation_of_the_rows_yields_the_same_households(seed in any::<u64>()) {
        let d = tempfile::tempdir().unwrap();
        let n = 12;
        let mut rows = example_rows(d.path(), n);
        let mut body = rows.split_off(1);
        shuffle(&mut body, seed);
        rows.extend(body);
        let p = write_csv(d.path(), "perm.csv", &rows);
        let items = read_all(&p);
        prop_assert_eq!(items.len(), n);
        let mut firsts = Vec::new();
        for item in items {
            let h = item.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let i: usize = h.household.household_ref[4..].parse::<usize>().unwrap() - 1;
            let (want, auth) = synthetic_household(i, today(), Purpose::MinimumLiving);
            let mut got_members = h.household.members.clone();
            let mut want_members = want.members.clone();
            got_members.sort_by(|a, b| a.id_number.cmp(&b.id_number));
            want_members.sort_by(|a, b| a.id_number.cmp(&b.id_number));
            prop_assert_eq!(got_members, want_members);
            prop_assert_eq!(h.household.residence, want.residence);
            // Members are in file order.
            prop_assert!(h.rows.windows(2).all(|w| w[0] < w[1]));
            let mut got_signers = h.authorization.signers.clone();
            let mut want_signers = auth.signers.clone();
            got_signers.sort_by(|a, b| a.id_number.cmp(&b.id_number));
            want_signers.sort_by(|a, b| a.id_number.cmp(&b.id_number));
            prop_assert_eq!(got_signers, want_signers);
            prop_assert_eq!(&h.authorization.form_number, &auth.form_number);
            firsts.push(h.first_row);
        }
        prop_assert!(firsts.windows(2).all(|w| w[0] < w[1]), "households in the order of their first row");
    }
}

/// Writes a shuffled 100,000-household roster to `$HEDUI_ROSTER_OUT` (and
/// the same as an .xlsx beside it), for measuring the CLI's peak memory on
/// it (docs/roster.md gives the figures):
///
/// ```sh
/// HEDUI_ROSTER_OUT=/tmp/100k.csv cargo test -p hedui-roster --test grouping -- --ignored write_a_shuffled
/// /usr/bin/time -v target/debug/hedui batch submit /tmp/100k.csv --purpose minimum-living --hub http://127.0.0.1:1
/// ```
#[test]
#[ignore = "writes a large file for a memory measurement"]
fn write_a_shuffled_100k_household_roster() {
    let out = std::env::var("HEDUI_ROSTER_OUT").expect("HEDUI_ROSTER_OUT");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("100k.csv");
    write_example_csv(&p, 100_000, chrono::Utc::now().date_naive()).unwrap();
    let text = fs::read_to_string(&p).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let mut body = lines.split_off(1);
    shuffle(&mut body, 100_000);
    lines.extend(body);
    fs::write(&out, lines.join("\n") + "\n").unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    // A shared-strings table, as Excel writes it (calamine holds it in memory).
    let sheet = wb.add_worksheet();
    for (r, line) in lines.iter().enumerate() {
        for (c, cell) in line.trim_start_matches('\u{FEFF}').split(',').enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    wb.save(Path::new(&out).with_extension("xlsx")).unwrap();
}
