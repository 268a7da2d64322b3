//! Record versions (re-checks) and reviews.

use hedui_proto::v1::{Household, Member, Purpose, Review, ReviewOutcome, Verdict, VerificationRecord};
use hedui_store::{ListFilter, PutOutcome, PutVersionOutcome};

use crate::backends::TestDb;

const PERSON: &str = "520626194701205831";

fn record(id: &str, created_at: &str, verdict: Verdict, previous: Option<&VerificationRecord>) -> VerificationRecord {
    let mut r = VerificationRecord {
        record_id: id.into(),
        request_id: format!("req-{id}"),
        created_at: created_at.into(),
        household: Some(Household {
            household_ref: "H-1".into(),
            residence: 1,
            members: vec![Member {
                name: "测试".into(),
                id_number: PERSON.into(),
                relation: 1,
                lacks_capacity: false,
            }],
        }),
        purpose: Purpose::MinimumLiving as i32,
        verdict: verdict as i32,
        policy_version: "test".into(),
        version: previous.map_or(1, |p| p.version + 1),
        previous_record_id: previous.map(|p| p.record_id.clone()).unwrap_or_default(),
        ..Default::default()
    };
    hedui_domain::digest::seal(&mut r);
    r
}

fn review(id: &str, record_id: &str, at: &str, outcome: ReviewOutcome, note: &str) -> Review {
    Review {
        review_id: id.into(),
        record_id: record_id.into(),
        outcome: outcome as i32,
        note: note.into(),
        reviewer: "caseworker:zhang.san".into(),
        reviewer_role: "caseworker".into(),
        created_at: at.into(),
    }
}

/// Runs `sql` and checks that the database refuses it as append-only.
async fn refused(db: &TestDb, sql: &str) {
    let err = db
        .store
        .execute_raw_for_tests(sql)
        .await
        .expect_err(&format!("{sql} was allowed"));
    assert!(err.to_string().contains("append-only"), "{sql}: {err}");
}

pub async fn versions_link_into_one_lineage_and_old_versions_stay(db: &TestDb) {
    let store = &db.store;
    let v1 = record("v1", "2026-11-01T00:00:00.000Z", Verdict::Incomplete, None);
    assert_eq!(store.put_record(&v1, "k1", "h1").await.unwrap(), PutOutcome::Inserted);
    let v2 = record("v2", "2026-11-02T00:00:00.000Z", Verdict::NeedsReview, Some(&v1));
    assert_eq!(
        store.put_version(&v2, "k2", "h2").await.unwrap(),
        PutVersionOutcome::Inserted
    );
    let v3 = record("v3", "2026-11-03T00:00:00.000Z", Verdict::MeetsCriteria, Some(&v2));
    assert_eq!(
        store.put_version(&v3, "k3", "h3").await.unwrap(),
        PutVersionOutcome::Inserted
    );
    // A record of another household is a lineage of its own.
    let other = record("o1", "2026-11-02T12:00:00.000Z", Verdict::Incomplete, None);
    store.put_record(&other, "ko", "ho").await.unwrap();

    for any in ["v1", "v2", "v3"] {
        let lineage = store.lineage(any).await.unwrap();
        let ids: Vec<(&str, u32, &str)> = lineage
            .iter()
            .map(|s| (s.record_id.as_str(), s.version, s.previous_record_id.as_str()))
            .collect();
        assert_eq!(ids, [("v1", 1, ""), ("v2", 2, "v1"), ("v3", 3, "v2")], "from {any}");
        let successors: Vec<&str> = lineage.iter().map(|s| s.superseded_by.as_str()).collect();
        assert_eq!(successors, ["v2", "v3", ""]);
    }
    assert_eq!(store.lineage("o1").await.unwrap().len(), 1);
    assert!(store.lineage("nope").await.unwrap().is_empty());
    // Every version stays readable, unchanged.
    assert_eq!(store.get_record("v1").await.unwrap(), Some(v1.clone()));
    assert_eq!(store.get_record("v2").await.unwrap(), Some(v2.clone()));
    // Lists show each version with its link; the verdict filter finds them.
    let incomplete = store
        .list_records(&ListFilter {
            verdict: Some(Verdict::Incomplete),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<(&str, &str)> = incomplete
        .iter()
        .map(|s| (s.record_id.as_str(), s.superseded_by.as_str()))
        .collect();
    assert_eq!(ids, [("o1", ""), ("v1", "v2")]);
    // Only what is still to complete: v1 was replaced.
    let to_complete = store
        .list_records(&ListFilter {
            verdict: Some(Verdict::Incomplete),
            limit: 100,
            latest_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = to_complete.iter().map(|s| s.record_id.as_str()).collect();
    assert_eq!(ids, ["o1"]);
    let latest = store
        .list_records(&ListFilter {
            limit: 100,
            latest_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = latest.iter().map(|s| s.record_id.as_str()).collect();
    assert_eq!(ids, ["v3", "o1"]);
    let all = store
        .list_records(&ListFilter {
            id_number: Some(PERSON.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!((all[0].record_id.as_str(), all[0].version), ("v3", 3));
    assert_eq!(all[0].previous_record_id, "v2");
}

pub async fn a_version_has_one_successor_and_a_key_one_record(db: &TestDb) {
    let store = &db.store;
    let v1 = record("v1", "2026-11-01T00:00:00.000Z", Verdict::Incomplete, None);
    store.put_record(&v1, "k1", "h1").await.unwrap();
    let v2 = record("v2", "2026-11-02T00:00:00.000Z", Verdict::MeetsCriteria, Some(&v1));
    store.put_version(&v2, "k2", "h2").await.unwrap();
    // A second re-check of v1 is told v2 is the latest, and writes nothing.
    let fork = record("v2b", "2026-11-02T01:00:00.000Z", Verdict::MeetsCriteria, Some(&v1));
    assert_eq!(
        store.put_version(&fork, "k2b", "h2b").await.unwrap(),
        PutVersionOutcome::Superseded {
            latest_record_id: "v2".into()
        }
    );
    assert_eq!(store.get_record("v2b").await.unwrap(), None);
    // The same key again returns the version stored under it, whatever is sent.
    match store.put_version(&fork, "k2", "other").await.unwrap() {
        PutVersionOutcome::Existing { record, request_hash } => {
            assert_eq!(*record, v2);
            assert_eq!(request_hash, "h2");
        }
        o => panic!("expected Existing, got {o:?}"),
    }
    assert_eq!(store.lineage("v1").await.unwrap().len(), 2);
}

pub async fn concurrent_rechecks_of_one_version_store_exactly_one(db: &TestDb) {
    let store = db.store.clone();
    let v1 = record("v1", "2026-11-01T00:00:00.000Z", Verdict::Incomplete, None);
    store.put_record(&v1, "k1", "h1").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        let r = record(
            &format!("n{i}"),
            "2026-11-02T00:00:00.000Z",
            Verdict::MeetsCriteria,
            Some(&v1),
        );
        tasks.push(tokio::spawn(async move {
            store.put_version(&r, &format!("k-{i}"), "h").await.unwrap()
        }));
    }
    let mut inserted = 0;
    let mut superseded = 0;
    for t in tasks {
        match t.await.unwrap() {
            PutVersionOutcome::Inserted => inserted += 1,
            PutVersionOutcome::Superseded { .. } => superseded += 1,
            o => panic!("{o:?}"),
        }
    }
    assert_eq!((inserted, superseded), (1, 5));
    assert_eq!(store.lineage("v1").await.unwrap().len(), 2);
}

pub async fn reviews_are_kept_in_order_and_never_change(db: &TestDb) {
    let store = &db.store;
    let v1 = record("v1", "2026-11-01T00:00:00.000Z", Verdict::NeedsReview, None);
    store.put_record(&v1, "k1", "h1").await.unwrap();
    let v2 = record("v2", "2026-11-05T00:00:00.000Z", Verdict::MeetsCriteria, Some(&v1));
    store.put_version(&v2, "k2", "h2").await.unwrap();
    let r1 = review(
        "r1",
        "v1",
        "2026-11-02T09:00:00.000Z",
        ReviewOutcome::Objection,
        "户主称车辆已卖出",
    );
    let r2 = review(
        "r2",
        "v1",
        "2026-11-03T09:00:00.000Z",
        ReviewOutcome::Corrected,
        "入户核查：车辆已过户",
    );
    let r3 = review("r3", "v2", "2026-11-06T09:00:00.000Z", ReviewOutcome::Confirmed, "");
    // Stored out of order; read back in time order.
    for r in [&r2, &r3, &r1] {
        store.add_review(r).await.unwrap();
    }
    assert_eq!(store.reviews("v1").await.unwrap(), vec![r1.clone(), r2.clone()]);
    assert_eq!(store.reviews("v2").await.unwrap(), vec![r3.clone()]);
    assert_eq!(
        store.lineage_reviews("v2").await.unwrap(),
        vec![r1.clone(), r2.clone(), r3.clone()]
    );
    // A review never changes the record.
    assert_eq!(store.get_record("v1").await.unwrap(), Some(v1));
    // A review of a record that does not exist is refused by the database.
    assert!(
        store
            .add_review(&review(
                "r4",
                "nope",
                "2026-11-07T00:00:00.000Z",
                ReviewOutcome::Confirmed,
                ""
            ))
            .await
            .is_err()
    );
    assert_eq!(store.lineage_reviews("v1").await.unwrap().len(), 3);
    // The database itself refuses to change or remove a review.
    refused(
        db,
        "UPDATE record_reviews SET note = 'rewritten' WHERE review_id = 'r1'",
    )
    .await;
    refused(db, "DELETE FROM record_reviews WHERE review_id = 'r1'").await;
    assert_eq!(store.reviews("v1").await.unwrap()[0], r1);
}
