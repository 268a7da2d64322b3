//! Personal data at rest (issue #15): after a demo-like run the database
//! files hold no name or ID number of any verified household in plaintext,
//! and everything still reads back through the hub.

use hedui_proto::v1::{GetRecordRequest, ReviewOutcome, ReviewRecordRequest};

use crate::helpers::{TestSystem, request, sandbox};

/// `needle`'s bytes anywhere in `haystack`.
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn the_database_files_hold_no_name_or_id_number_of_a_verified_household() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    // Households of every kind the sandbox has, one per scenario.
    let mut seen = std::collections::HashSet::new();
    let mut verified = Vec::new();
    for (i, h) in sandbox().households().iter().enumerate() {
        if !seen.insert(h.scenario) || verified.len() == 12 {
            continue;
        }
        if let Ok(r) = hub.submit_verification(request(h, &format!("at-rest-{i}"))).await {
            verified.push((h.household.clone(), r.into_inner().record.unwrap()));
        }
    }
    assert!(verified.len() >= 8, "only {} households verified", verified.len());
    let note = "入户核查发现家中新购货车一辆";
    let first = verified[0].1.record_id.clone();
    hub.review_record(ReviewRecordRequest {
        record_id: first.clone(),
        outcome: ReviewOutcome::Corrected as i32,
        note: note.to_owned(),
    })
    .await
    .unwrap();

    // `strings hedui.db | grep`, on the database file and its WAL, which
    // holds the latest pages until a checkpoint.
    let path = sys.database_url.strip_prefix("sqlite://").unwrap().to_owned();
    let mut files = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
            files.push((format!("{path}{suffix}"), bytes));
        }
    }
    assert!(files.iter().map(|(_, b)| b.len()).sum::<usize>() > 0);
    let mut needles = vec![note.to_owned()];
    for (household, _) in &verified {
        for m in &household.members {
            needles.push(m.name.clone());
            needles.push(m.id_number.clone());
        }
    }
    for (file, bytes) in &files {
        for needle in &needles {
            assert!(!holds(bytes, needle), "{file} holds {needle:?} in plaintext");
        }
    }

    // And every record still reads, checked, through the hub.
    for (_, record) in &verified {
        let got = hub
            .get_record(GetRecordRequest {
                record_id: record.record_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .record
            .unwrap();
        assert_eq!(got.digest, record.digest);
        assert_eq!(got.household, record.household);
    }
}
