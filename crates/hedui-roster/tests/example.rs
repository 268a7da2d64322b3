//! `deploy/examples/roster.csv`: sandbox households, so that a batch of it
//! verifies against the demo's sandbox adapters.

use std::path::PathBuf;

use chrono::NaiveDate;
use hedui_adapter::sandbox::Sandbox;
use hedui_proto::v1::Purpose;
use hedui_roster::{RosterReader, write_roster_csv};

/// The day the example was made. The sandbox derives birth dates from the
/// year of its `as_of`, so the example matches the sandbox of this year.
fn made_on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples/roster.csv")
}

/// Households of every kind: the first of each scenario, up to eight.
fn households() -> Vec<(hedui_proto::v1::Household, hedui_proto::v1::Authorization)> {
    let sandbox = Sandbox::dejiang(made_on());
    let mut seen = Vec::new();
    let signed = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let until = NaiveDate::from_ymd_opt(2027, 11, 1).unwrap();
    sandbox
        .households()
        .iter()
        .filter(|h| h.household.members.len() <= 5)
        .filter(|h| {
            let new = !seen.contains(&h.scenario);
            seen.push(h.scenario);
            new
        })
        .take(8)
        .enumerate()
        .map(|(i, h)| {
            let form = format!("SQ-2026-{:04}", i + 1);
            let auth =
                hedui_trust::authorization::complete_for(&h.household, Purpose::MinimumLiving, &form, signed, until);
            (h.household.clone(), auth)
        })
        .collect()
}

#[test]
fn the_example_roster_reads_cleanly_and_is_the_sandbox_households() {
    let reader = RosterReader::open(&example_path(), made_on())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving);
    let read: Vec<_> = reader.map(|h| h.unwrap()).collect();
    let want = households();
    assert_eq!(read.len(), want.len());
    for (got, (h, a)) in read.iter().zip(&want) {
        assert_eq!(&got.household, h);
        assert_eq!(&got.authorization, a);
    }
}

/// `cargo test -p hedui-roster --test example -- --ignored` writes the file.
#[test]
#[ignore = "writes deploy/examples/roster.csv"]
fn regenerate_example_roster() {
    write_roster_csv(&example_path(), households()).unwrap();
}
