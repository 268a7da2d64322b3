use super::*;
use hedui_proto::v1::{RecordChange, RecordSummary, Review, SourceOutcome, SourceResult};

#[test]
fn an_incomplete_record_says_how_to_complete_it() {
    let mut r = VerificationRecord {
        record_id: "0199c0de-0000-7000-8000-000000000001".into(),
        verdict: Verdict::Incomplete as i32,
        ..Default::default()
    };
    for d in hedui_domain::department::ALL {
        let outcome = match d {
            Department::Tax => SourceOutcome::Timeout,
            Department::Pboc => SourceOutcome::Unavailable,
            _ => SourceOutcome::Ok,
        };
        r.sources.push(SourceResult {
            department: d as i32,
            outcome: outcome as i32,
            ..Default::default()
        });
    }
    let hint = incomplete_hint(&r);
    assert!(hint.contains("tax                 timeout"), "{hint}");
    assert!(hint.contains("pboc                unavailable"), "{hint}");
    assert!(
        hint.contains("hedui record recheck 0199c0de-0000-7000-8000-000000000001 --departments tax,pboc"),
        "{hint}"
    );
    r.verdict = Verdict::NeedsReview as i32;
    assert_eq!(incomplete_hint(&r), "");
}

#[test]
fn a_bad_department_is_refused_with_the_valid_slugs() {
    let e = parse_departments("tax,tx").unwrap_err();
    assert!(e.contains("\"tx\"") && e.contains("public-security"), "{e}");
    assert_eq!(parse_departments("pboc").unwrap().0, [Department::Pboc]);
}

#[test]
fn history_and_changes_read_in_order() {
    let h = GetRecordHistoryResponse {
        versions: vec![
            RecordSummary {
                record_id: "v1".into(),
                version: 1,
                verdict: Verdict::Incomplete as i32,
                ..Default::default()
            },
            RecordSummary {
                record_id: "v2".into(),
                version: 2,
                previous_record_id: "v1".into(),
                verdict: Verdict::MeetsCriteria as i32,
                ..Default::default()
            },
        ],
        reviews: vec![Review {
            record_id: "v2".into(),
            outcome: ReviewOutcome::Objection as i32,
            note: "户主不认可".into(),
            reviewer: "caseworker:zhang.san".into(),
            ..Default::default()
        }],
    };
    let text = history_text(&h);
    let v1 = text.find("INCOMPLETE").unwrap();
    let v2 = text.find("MEETS_CRITERIA").unwrap();
    assert!(v1 < v2, "{text}");
    assert!(
        text.contains("objection  by caseworker:zhang.san on record v2"),
        "{text}"
    );
    assert!(text.contains("户主不认可"), "{text}");
    let c = changes_text(&RecheckRecordResponse {
        asked: vec![Department::Tax as i32],
        changes: vec![RecordChange {
            what: "verdict".into(),
            before: "INCOMPLETE".into(),
            after: "MEETS_CRITERIA".into(),
        }],
        ..Default::default()
    });
    assert!(c.contains("Asked again: tax"), "{c}");
    assert!(c.contains("verdict: INCOMPLETE → MEETS_CRITERIA"), "{c}");
}

#[test]
fn the_report_format_comes_from_the_flag_or_the_extension_and_they_must_agree() {
    use crate::record_cmd::ReportFormat::{Html, Json, Pdf};
    let f = |format, out: Option<&str>| report_format(format, out.map(Path::new));
    assert_eq!(f(None, None).unwrap(), Html);
    assert_eq!(f(None, Some("report.pdf")).unwrap(), Pdf);
    assert_eq!(f(None, Some("report.PDF")).unwrap(), Pdf);
    assert_eq!(f(None, Some("r.json")).unwrap(), Json);
    assert_eq!(f(None, Some("r.htm")).unwrap(), Html);
    assert_eq!(f(Some(Pdf), Some("r.pdf")).unwrap(), Pdf);
    assert_eq!(f(Some(Json), Some("report")).unwrap(), Json);
    let err = f(Some(Html), Some("report.pdf")).unwrap_err().to_string();
    assert!(err.contains(".pdf") && err.contains("--format is html"), "{err}");
    let err = f(None, Some("report.txt")).unwrap_err().to_string();
    assert!(err.contains(".txt") && err.contains(".html, .pdf or .json"), "{err}");
}

#[cfg(feature = "pdf")]
#[test]
fn a_missing_font_is_a_clear_error() {
    let err = load_cjk_font(Some(Path::new("/nonexistent/font.ttc")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--font /nonexistent/font.ttc"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("x.ttf");
    std::fs::write(&bad, b"not a font").unwrap();
    let err = load_cjk_font(Some(&bad)).unwrap_err().to_string();
    assert!(err.contains("not a TrueType/OpenType font"), "{err}");
}
