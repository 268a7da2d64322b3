//! The results writer: what a row says about a record, and CSV and XLSX
//! files read back as written.

use std::fs;
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use hedui_proto::v1::{
    Department, Flag, FlagKind, Household, Reason, SourceOutcome, SourceResult, Verdict, VerificationRecord,
};
use hedui_roster::results::{HEADERS, ResultRow, ResultsError, create};

fn record(n: usize, verdict: Verdict) -> VerificationRecord {
    let mut r = VerificationRecord {
        record_id: format!("0190b6f0-0000-7000-8000-{n:012}"),
        household: Some(Household {
            household_ref: format!("DJ-{n:04}"),
            ..Default::default()
        }),
        verdict: verdict as i32,
        ..Default::default()
    };
    for d in [Department::PublicSecurity, Department::Pboc, Department::Tax] {
        r.sources.push(SourceResult {
            department: d as i32,
            outcome: SourceOutcome::Ok as i32,
            ..Default::default()
        });
    }
    match verdict {
        Verdict::Incomplete => {
            r.sources[1].outcome = SourceOutcome::Timeout as i32;
            r.reasons.push(Reason {
                rule: "sources.required".into(),
                leads_to: Verdict::Incomplete as i32,
                detail: "PBOC did not answer".into(),
            });
        }
        Verdict::NeedsReview => {
            // A reference a spreadsheet would run as a formula.
            r.household.as_mut().unwrap().household_ref = format!("=1+{n}");
            r.flags.push(Flag {
                kind: FlagKind::DeceasedMember as i32,
                member_index: Some(1),
                departments: vec![Department::PublicSecurity as i32],
                detail: "recorded deceased on 2025-03-01".into(),
            });
            r.reasons.push(Reason {
                rule: "flags.deceased".into(),
                leads_to: Verdict::NeedsReview as i32,
                detail: "a member is recorded deceased".into(),
            });
        }
        Verdict::DoesNotMeet => r.reasons.push(Reason {
            rule: "vehicles.count".into(),
            leads_to: Verdict::DoesNotMeet as i32,
            detail: "1 car".into(),
        }),
        _ => {}
    }
    r
}

const VERDICTS: [Verdict; 4] = [
    Verdict::MeetsCriteria,
    Verdict::DoesNotMeet,
    Verdict::NeedsReview,
    Verdict::Incomplete,
];

fn rows() -> Vec<ResultRow> {
    (0..8)
        .map(|i| ResultRow::from_record(2 + 3 * i, &record(i, VERDICTS[i % 4])))
        .collect()
}

#[test]
fn a_row_says_the_verdict_reasons_flags_and_missing_sources_in_chinese() {
    let r = ResultRow::from_record(2, &record(1, Verdict::MeetsCriteria));
    assert_eq!(r.verdict, "符合条件 MEETS_CRITERIA");
    assert_eq!(
        (r.reasons.as_str(), r.flags.as_str(), r.missing_sources.as_str()),
        ("", "", "")
    );
    assert!(!r.flagged);
    let r = ResultRow::from_record(5, &record(2, Verdict::Incomplete));
    assert_eq!(r.verdict, "核对不完整 INCOMPLETE");
    assert_eq!(r.missing_sources, "人民银行（超时）");
    assert_eq!(r.reasons, "数据来源：PBOC did not answer");
    assert!(!r.flagged);
    let r = ResultRow::from_record(9, &record(3, Verdict::NeedsReview));
    assert_eq!(r.household_ref, "=1+3");
    assert_eq!(r.first_row, 9);
    assert_eq!(r.flags, "成员已登记死亡（成员 2）：recorded deceased on 2025-03-01");
    assert!(r.flagged);
}

#[test]
fn csv_results_read_back_with_a_bom_and_no_formulas() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("results.csv");
    let mut sink = create(&p).unwrap();
    for r in rows() {
        sink.write(&r).unwrap();
    }
    assert!(!p.exists(), "nothing at the target before finish");
    sink.finish().unwrap();
    let bytes = fs::read(&p).unwrap();
    assert!(bytes.starts_with("\u{FEFF}".as_bytes()));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let got: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(got[0], HEADERS);
    assert_eq!(got.len(), 9);
    for (row, want) in got[1..].iter().zip(rows()) {
        let mut cells = want.cells().to_vec();
        if cells[0].starts_with('=') {
            cells[0].insert(0, '\'');
        }
        assert_eq!(*row, cells);
    }
    assert_eq!(got[3][0], "'=1+2");
    assert_eq!(only_file(d.path()), "results.csv");
}

#[test]
fn xlsx_results_read_back_with_calamine() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("results.XLSX");
    let mut sink = create(&p).unwrap();
    for r in rows() {
        sink.write(&r).unwrap();
    }
    sink.finish().unwrap();
    let mut wb: Xlsx<_> = open_workbook(&p).unwrap();
    assert_eq!(wb.sheet_names(), vec!["核对结果".to_owned()]);
    let range = wb.worksheet_range("核对结果").unwrap();
    let got: Vec<Vec<String>> = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) => format!("{f}"),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    assert_eq!(got[0], HEADERS);
    assert_eq!(got.len(), 9);
    for (row, want) in got[1..].iter().zip(rows()) {
        assert_eq!(*row, want.cells().to_vec());
    }
    assert_eq!(only_file(d.path()), "results.XLSX");
}

#[test]
fn an_unfinished_download_leaves_no_file() {
    let d = tempfile::tempdir().unwrap();
    for name in ["a.csv", "a.xlsx"] {
        let p = d.path().join(name);
        let mut sink = create(&p).unwrap();
        sink.write(&rows()[0]).unwrap();
        drop(sink);
        assert!(!p.exists());
    }
    assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn a_results_file_must_be_csv_or_xlsx() {
    let d = tempfile::tempdir().unwrap();
    let e = create(&d.path().join("out.txt")).err().unwrap();
    assert!(matches!(e, ResultsError::UnknownFormat(ref n) if n == "out.txt"));
    assert!(e.to_string().contains(".csv or .xlsx"));
    assert!(create(&d.path().join("missing-dir/out.csv")).is_err());
}

fn only_file(dir: &Path) -> String {
    let names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names[0].clone()
}
