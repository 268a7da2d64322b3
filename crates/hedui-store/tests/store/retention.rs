//! Retention (issue #15 item 3): records past the cutoff become tombstones
//! with nothing personal left, the rest are untouched, and the audit log
//! still verifies.

use hedui_audit::merkle::Frontier;
use hedui_proto::v1::{Review, ReviewOutcome, Verdict};
use hedui_store::audit::RecordToStore;
use hedui_store::batch::{NewBatch, NewItem};
use hedui_store::retention::{Erased, Expired};
use hedui_store::{ListFilter, StoreError};

use crate::backends::TestDb;
use crate::tamper::{checkpoint, entry, hub_key};

const OLD_A: &str = "01930000-0000-7000-8000-0000000000b1";
const OLD_B: &str = "01930000-0000-7000-8000-0000000000b2";
const NEW: &str = "01930000-0000-7000-8000-0000000000b3";
const PERSON_OLD: &str = "520626194701205831";
const PERSON_NEW: &str = "522226199001011234";
const CUTOFF: &str = "2021-12-06T00:00:00.000Z";
const NOW: &str = "2026-12-06T00:00:00.000Z";

fn review(id: &str, record_id: &str) -> Review {
    Review {
        review_id: id.into(),
        record_id: record_id.into(),
        outcome: ReviewOutcome::Corrected as i32,
        note: "入户核查：车辆已过户".into(),
        reviewer: "caseworker:zhang.san".into(),
        reviewer_role: "caseworker".into(),
        created_at: "2026-11-02T10:00:00.000Z".into(),
    }
}

async fn count(db: &TestDb, sql: &str) -> usize {
    db.store.fetch_text_for_tests(sql).await.unwrap().len()
}

pub async fn expired_records_become_tombstones_and_the_log_still_verifies(db: &TestDb) {
    // Two records from 2019 and 2020, one from this year, each stored with
    // its audit entry; a review on an old and on the new record; a batch
    // that finished in 2019.
    let key = hub_key();
    let mut frontier = Frontier::new();
    let mut records = Vec::new();
    for (i, (id, at, person)) in [
        (OLD_A, "2019-03-01T10:00:00.000Z", PERSON_OLD),
        (OLD_B, "2020-06-01T10:00:00.000Z", PERSON_OLD),
        (NEW, "2026-11-01T10:00:00.000Z", PERSON_NEW),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = crate::records::record(id, at, Verdict::DoesNotMeet, &[person]);
        hedui_trust::seal::seal(&mut r, &key);
        let e = entry(i as u64, "caseworker:zhang.san", &r.digest);
        let leaf = e.leaf();
        frontier.append(leaf);
        db.store
            .append_audit_with_records(
                &[(e, leaf)],
                &[RecordToStore {
                    record: &r,
                    idempotency_key: &format!("key-{i}"),
                    request_hash: "h",
                    entry_seq: i as u64,
                    batch_item: None,
                }],
            )
            .await
            .unwrap();
        records.push(r);
    }
    checkpoint(db, &frontier).await;
    let store = db.store.clone().with_seal_key(key.verifying_key());
    store
        .add_review(&review("0193aaaa-0000-7000-8000-000000000001", OLD_A))
        .await
        .unwrap();
    store
        .add_review(&review("0193aaaa-0000-7000-8000-000000000002", NEW))
        .await
        .unwrap();
    let batch = NewBatch {
        batch_id: "b-2019".into(),
        label: "2019 re-check".into(),
        purpose: "PURPOSE_MINIMUM_LIVING".into(),
        window_from: "2018-01".into(),
        window_to: "2018-12".into(),
        asset_date: String::new(),
        created_by_role: "caseworker".into(),
        created_by_name: "zhang.san".into(),
        created_by_serial: "01ab".into(),
        created_at: "2019-01-01T00:00:00.000Z".into(),
    };
    store.create_batch(&batch).await.unwrap();
    let item = NewItem {
        first_row: 2,
        household_ref: "H-1".into(),
        request: b"request".to_vec(),
    };
    store.add_batch_items("b-2019", &[item]).await.unwrap().unwrap();
    store.cancel_batch("b-2019", "2019-01-02T00:00:00.000Z").await.unwrap();

    // What would go; asking changes nothing.
    let expired = store.expired(CUTOFF).await.unwrap();
    let want = Expired {
        records: 2,
        oldest: Some("2019-03-01T10:00:00.000Z".into()),
        newest: Some("2020-06-01T10:00:00.000Z".into()),
        reviews: 1,
        batch_items: 1,
    };
    assert_eq!(expired, want);
    assert_eq!(store.expired(CUTOFF).await.unwrap(), want);
    assert_eq!(store.get_record(OLD_A).await.unwrap().as_ref(), Some(&records[0]));

    // One record per transaction: the chunking is exercised too.
    let erased = store.erase_expired(CUTOFF, NOW, 1).await.unwrap();
    assert_eq!(
        erased,
        Erased {
            records: 2,
            persons: 2,
            reviews: 1,
            batch_items: 1
        }
    );
    for id in [OLD_A, OLD_B] {
        match store.get_record(id).await.unwrap_err() {
            StoreError::Erased { record_id, erased_at } => {
                assert_eq!((record_id.as_str(), erased_at.as_str()), (id, NOW))
            }
            other => panic!("expected Erased, got {other}"),
        }
    }
    // Nothing of them is left but the tombstone's plain columns.
    let left = "SELECT record_id FROM records WHERE erased_at IS NOT NULL
         AND (length(body) > 0 OR kek_id IS NOT NULL OR wrapped_key IS NOT NULL)";
    assert_eq!(count(db, left).await, 0);
    let persons = format!("SELECT record_id FROM record_persons WHERE record_id IN ('{OLD_A}', '{OLD_B}')");
    assert_eq!(count(db, &persons).await, 0);
    let notes = format!(
        "SELECT review_id FROM record_reviews WHERE record_id = '{OLD_A}'
         AND (sealed_note IS NOT NULL OR wrapped_key IS NOT NULL OR note <> '' OR erased_at IS NULL)"
    );
    assert_eq!(count(db, &notes).await, 0);
    let items = "SELECT batch_id FROM batch_items WHERE length(request) > 0 OR wrapped_key IS NOT NULL";
    assert_eq!(count(db, items).await, 0);

    // The list still shows them, with their verdict and the marker.
    let listed = store
        .list_records(&ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let marks: Vec<(&str, &str, i32)> = listed
        .iter()
        .map(|s| (s.record_id.as_str(), s.erased_at.as_str(), s.verdict))
        .collect();
    let dnm = Verdict::DoesNotMeet as i32;
    assert_eq!(marks, [(NEW, "", dnm), (OLD_B, NOW, dnm), (OLD_A, NOW, dnm)]);
    assert_eq!(listed[2].digest, records[0].digest);

    // The record within retention is untouched, its review too.
    assert_eq!(store.get_record(NEW).await.unwrap().as_ref(), Some(&records[2]));
    assert_eq!(store.reviews(NEW).await.unwrap()[0].note, "入户核查：车辆已过户");
    let found = store
        .list_records(&ListFilter {
            id_number: Some(PERSON_NEW.into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    // The audit log was not touched and everything still verifies.
    let report = store.check_integrity(&key.verifying_key()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.entries, report.signed_entries), (3, 3));

    // A second run finds nothing left to erase.
    assert_eq!(store.expired(CUTOFF).await.unwrap().records, 0);
    assert_eq!(store.erase_expired(CUTOFF, NOW, 10).await.unwrap(), Erased::default());
    // Nor does `hedui migrate` take a tombstone for a plaintext row.
    assert_eq!(store.plaintext_rows().await.unwrap().total(), 0);
}
