//! Key rotation (issue #15 item 2): re-wrapping every data key under a new
//! primary KEK, a chunk at a time, with the payloads untouched and every
//! row readable before, during and after.

use hedui_proto::v1::{Review, ReviewOutcome, Verdict};
use hedui_store::batch::{NewBatch, NewItem};
use hedui_store::rotation::KekRows;
use hedui_store::{DataKeys, EnvelopeError, KeyProvider as _, Store, StoreError};

use crate::backends::TestDb;
use crate::records::record;

const ID_A: &str = "520626194701205831";

fn review(id: &str, record_id: &str) -> Review {
    Review {
        review_id: id.into(),
        record_id: record_id.into(),
        outcome: ReviewOutcome::Corrected as i32,
        note: format!("note of {id}"),
        reviewer: "caseworker:zhang.san".into(),
        reviewer_role: "caseworker".into(),
        created_at: "2026-11-02T10:00:00.000Z".into(),
    }
}

async fn with_keys(db: &TestDb, keys: &DataKeys) -> Store {
    Store::open(&db.url)
        .await
        .unwrap()
        .with_data_keys(keys.clone().into_provider())
}

pub async fn a_rotation_rewraps_every_data_key_in_chunks_and_leaves_payloads_alone(db: &TestDb) {
    let old_keys = DataKeys::generate().unwrap();
    let old = old_keys.current_kek_id();
    let before = with_keys(db, &old_keys).await;
    let mut records = Vec::new();
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        let r = record(
            id,
            &format!("2026-11-01T1{i}:00:00.000Z"),
            Verdict::DoesNotMeet,
            &[ID_A],
        );
        before.put_record(&r, &format!("k{id}"), "h").await.unwrap();
        records.push(r);
    }
    before.add_review(&review("v1", "a")).await.unwrap();
    before.add_review(&review("v2", "b")).await.unwrap();
    before
        .create_batch(&NewBatch {
            batch_id: "b1".into(),
            label: "2026 annual re-check".into(),
            purpose: "PURPOSE_MINIMUM_LIVING".into(),
            window_from: "2025-01".into(),
            window_to: "2025-12".into(),
            asset_date: String::new(),
            created_by_role: "caseworker".into(),
            created_by_name: "zhang.san".into(),
            created_by_serial: "01ab".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        })
        .await
        .unwrap();
    let items: Vec<NewItem> = (0..2)
        .map(|i| NewItem {
            first_row: 2 + i,
            household_ref: format!("H-{i}"),
            request: format!("request {i}").into_bytes(),
        })
        .collect();
    before.add_batch_items("b1", &items).await.unwrap().unwrap();
    let payloads = |s: Store| async move {
        let mut all = Vec::new();
        for sql in [
            "SELECT body FROM records ORDER BY record_id",
            "SELECT request FROM batch_items ORDER BY seq",
            "SELECT sealed_note FROM record_reviews ORDER BY review_id",
        ] {
            all.extend(s.fetch_bytes_for_tests(sql).await.unwrap());
        }
        all
    };
    let payloads_before = payloads(with_keys(db, &old_keys).await).await;

    let mut new_keys = old_keys.clone();
    let new = new_keys.add_kek().unwrap();
    let store = with_keys(db, &new_keys).await;
    let by_kek = store.rows_by_kek().await.unwrap();
    assert_eq!(
        by_kek.into_iter().collect::<Vec<_>>(),
        [(
            old.clone(),
            KekRows {
                records: 3,
                batch_items: 2,
                reviews: 2
            }
        )]
    );

    // One row of each table per chunk: midway, rows under both KEKs read.
    let first = store.rewrap_chunk(1).await.unwrap();
    assert_eq!(
        first,
        KekRows {
            records: 1,
            batch_items: 1,
            reviews: 1
        }
    );
    let midway = store.rows_by_kek().await.unwrap();
    assert_eq!(midway[&old].total(), 4);
    assert_eq!(midway[&new].total(), 3);
    for r in &records {
        assert_eq!(store.get_record(&r.record_id).await.unwrap().as_ref(), Some(r));
    }
    let mut done = first.total();
    loop {
        let n = store.rewrap_chunk(1).await.unwrap();
        if n.total() == 0 {
            break;
        }
        done += n.total();
    }
    assert_eq!(done, 7);
    let after = store.rows_by_kek().await.unwrap();
    assert_eq!(after.keys().cloned().collect::<Vec<_>>(), std::slice::from_ref(&new));
    assert_eq!(after[&new].total(), 7);
    // Only the wrapping changed: every payload is byte for byte the same.
    assert_eq!(payloads(with_keys(db, &new_keys).await).await, payloads_before);

    // Reviews stay append-only: a re-wrap may change the wrapping, nothing
    // else, and only of a sealed review.
    for sql in [
        "UPDATE record_reviews SET sealed_note = (SELECT body FROM records WHERE record_id = 'a') WHERE review_id = 'v1'",
        "UPDATE record_reviews SET kek_id = 'x', outcome = 'REVIEW_OUTCOME_CONFIRMED' WHERE review_id = 'v1'",
        "UPDATE record_reviews SET kek_id = NULL, wrapped_key = NULL WHERE review_id = 'v1'",
        "UPDATE record_reviews SET note = 'plain', kek_id = 'x' WHERE review_id = 'v1'",
    ] {
        let e = db.store.execute_raw_for_tests(sql).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }

    // The old KEK can go now: a file without it reads everything.
    let mut retired = new_keys.clone();
    retired.remove_kek(&old).unwrap();
    let store = with_keys(db, &retired).await;
    for r in &records {
        assert_eq!(store.get_record(&r.record_id).await.unwrap().as_ref(), Some(r));
    }
    assert_eq!(store.reviews("a").await.unwrap()[0].note, "note of v1");
    store.start_batch("b1", "2026-01-01T00:00:02.000Z").await.unwrap();
    let claimed = store.claim_batch_items("w", 2, 10_000, 10).await.unwrap();
    let mut requests: Vec<_> = claimed.into_iter().map(|c| c.request).collect();
    requests.sort();
    assert_eq!(requests, [b"request 0".to_vec(), b"request 1".to_vec()]);

    // The old file alone no longer opens them, and says which KEK it lacks.
    let stale = with_keys(db, &old_keys).await;
    match stale.get_record("a").await.unwrap_err() {
        StoreError::Envelope {
            source: EnvelopeError::MissingKek { kek_id },
            ..
        } => assert_eq!(kek_id, new),
        other => panic!("expected a missing KEK, got {other}"),
    }
}

pub async fn a_rotation_with_a_key_file_lacking_a_kek_names_it_and_writes_nothing(db: &TestDb) {
    let keys = DataKeys::generate().unwrap();
    let kek = keys.current_kek_id();
    let store = with_keys(db, &keys).await;
    for id in ["a", "b"] {
        let r = record(id, "2026-11-01T10:00:00.000Z", Verdict::DoesNotMeet, &[ID_A]);
        store.put_record(&r, id, "h").await.unwrap();
    }
    // Another hub's file: it holds neither the KEK nor the index key.
    let other = with_keys(db, &DataKeys::generate().unwrap()).await;
    match other.rewrap_chunk(10).await.unwrap_err() {
        StoreError::Envelope {
            row,
            source: EnvelopeError::MissingKek { kek_id },
        } => {
            assert_eq!(kek_id, kek);
            assert!(row.starts_with("record a"), "{row}");
        }
        other => panic!("expected a missing KEK, got {other}"),
    }
    assert_eq!(store.rows_by_kek().await.unwrap()[&kek].records, 2);
    // Without any data key, rotation is refused the same way.
    let keyless = Store::open(&db.url).await.unwrap();
    match keyless.rewrap_chunk(10).await.unwrap_err() {
        StoreError::Envelope {
            source: EnvelopeError::NoKeys,
            ..
        } => {}
        other => panic!("expected no keys, got {other}"),
    }
}
