use super::*;
use hedui_proto::v1::{Household, Member};

fn record(id: &str, created_at: &str, verdict: Verdict, id_numbers: &[&str]) -> VerificationRecord {
    let mut r = VerificationRecord {
        record_id: id.into(),
        request_id: format!("req-{id}"),
        created_at: created_at.into(),
        household: Some(Household {
            household_ref: format!("H-{id}"),
            residence: 1,
            members: id_numbers
                .iter()
                .map(|n| Member {
                    name: "测试".into(),
                    id_number: (*n).into(),
                    relation: 1,
                    lacks_capacity: false,
                })
                .collect(),
        }),
        purpose: Purpose::MinimumLiving as i32,
        verdict: verdict as i32,
        policy_version: "test".into(),
        ..Default::default()
    };
    hedui_domain::digest::seal(&mut r);
    r
}

async fn temp_store() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hedui.db").display().to_string();
    let store = Store::open(&path).await.unwrap();
    (dir, store, path)
}

#[tokio::test]
async fn a_record_round_trips_and_survives_reopening() {
    let (_dir, store, path) = temp_store().await;
    let r = record(
        "a",
        "2026-11-01T10:00:00.000Z",
        Verdict::MeetsCriteria,
        &["520626194701205831"],
    );
    assert_eq!(store.put_record(&r, "key-a", "h1").await.unwrap(), PutOutcome::Inserted);
    assert_eq!(store.get_record("a").await.unwrap(), Some(r.clone()));
    store.close().await;
    let reopened = Store::open(&path).await.unwrap();
    assert_eq!(reopened.get_record("a").await.unwrap(), Some(r));
    assert_eq!(reopened.get_record("missing").await.unwrap(), None);
}

#[tokio::test]
async fn a_reused_idempotency_key_returns_the_first_record_and_writes_nothing() {
    let (_dir, store, _) = temp_store().await;
    let first = record(
        "a",
        "2026-11-01T10:00:00.000Z",
        Verdict::MeetsCriteria,
        &["520626194701205831"],
    );
    let second = record(
        "b",
        "2026-11-01T10:00:01.000Z",
        Verdict::DoesNotMeet,
        &["520626194701205831"],
    );
    store.put_record(&first, "same", "h1").await.unwrap();
    match store.put_record(&second, "same", "h2").await.unwrap() {
        PutOutcome::Existing { record, request_hash } => {
            assert_eq!(*record, first);
            assert_eq!(request_hash, "h1");
        }
        other => panic!("expected Existing, got {other:?}"),
    }
    assert_eq!(store.get_record("b").await.unwrap(), None);
    let all = store
        .list_records(&ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn list_filters_by_verdict_date_and_person() {
    let (_dir, store, _) = temp_store().await;
    let p1 = "520626194701205831";
    let p2 = "52222619930616389X";
    store
        .put_record(
            &record("a", "2026-10-31T23:59:59.000Z", Verdict::MeetsCriteria, &[p1]),
            "k1",
            "h",
        )
        .await
        .unwrap();
    store
        .put_record(
            &record("b", "2026-11-01T00:00:00.000Z", Verdict::Incomplete, &[p1, p2]),
            "k2",
            "h",
        )
        .await
        .unwrap();
    store
        .put_record(
            &record("c", "2026-11-02T12:00:00.000Z", Verdict::Incomplete, &[p2]),
            "k3",
            "h",
        )
        .await
        .unwrap();

    let ids = |v: Vec<RecordSummary>| v.into_iter().map(|s| s.record_id).collect::<Vec<_>>();
    let all = ListFilter {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(ids(store.list_records(&all).await.unwrap()), ["c", "b", "a"]);
    let incomplete = ListFilter {
        verdict: Some(Verdict::Incomplete),
        ..all.clone()
    };
    assert_eq!(ids(store.list_records(&incomplete).await.unwrap()), ["c", "b"]);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let nov1 = ListFilter {
        created_from: Some(day),
        created_to: Some(day),
        ..all.clone()
    };
    assert_eq!(ids(store.list_records(&nov1).await.unwrap()), ["b"]);
    let person = ListFilter {
        id_number: Some(p1.into()),
        ..all.clone()
    };
    assert_eq!(ids(store.list_records(&person).await.unwrap()), ["b", "a"]);
    let limited = ListFilter { limit: 1, ..all };
    assert_eq!(ids(store.list_records(&limited).await.unwrap()), ["c"]);
}

#[tokio::test]
async fn a_record_altered_on_disk_is_reported_as_corrupt() {
    let (_dir, store, _) = temp_store().await;
    let r = record(
        "a",
        "2026-11-01T10:00:00.000Z",
        Verdict::DoesNotMeet,
        &["520626194701205831"],
    );
    store.put_record(&r, "k", "h").await.unwrap();
    let mut forged = r.clone();
    forged.verdict = Verdict::MeetsCriteria as i32;
    sqlx::query("UPDATE records SET body = ? WHERE record_id = 'a'")
        .bind(forged.encode_to_vec())
        .execute(&store.pool)
        .await
        .unwrap();
    let err = store.get_record("a").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("does not match its digest"));
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let (_dir, store, path) = temp_store().await;
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')")
        .execute(&store.pool)
        .await
        .unwrap();
    store.close().await;
    let err = Store::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade hedui"));
}
