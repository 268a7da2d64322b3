//! Records: storing, idempotency, listing, integrity, schema versions.

use hedui_proto::v1::{Household, Member, Purpose, RecordSummary, Verdict, VerificationRecord};
use hedui_store::{BackendKind, ListFilter, PutOutcome, Store, StoreError};
use prost::Message as _;

use crate::backends::TestDb;

pub fn record(id: &str, created_at: &str, verdict: Verdict, id_numbers: &[&str]) -> VerificationRecord {
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

fn ids(v: Vec<RecordSummary>) -> Vec<String> {
    v.into_iter().map(|s| s.record_id).collect()
}

fn all() -> ListFilter {
    ListFilter {
        limit: 100,
        ..Default::default()
    }
}

/// An UPDATE that sets `records.body` of `record_id` to `body`, in the
/// backend's own syntax for a byte string.
fn set_body_sql(kind: BackendKind, record_id: &str, body: &[u8]) -> String {
    // Sealed with the data keys, as a forger holding the key file could.
    let set = crate::backends::sealed_body_assignments(kind, record_id, 1, body);
    format!("UPDATE records SET {set} WHERE record_id = '{record_id}'")
}

pub async fn a_record_round_trips_and_survives_reopening(db: &TestDb) {
    let store = &db.store;
    store.ping().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), Store::known_schema_version());
    let r = record(
        "a",
        "2026-11-01T10:00:00.000Z",
        Verdict::MeetsCriteria,
        &["520626194701205831"],
    );
    assert_eq!(store.put_record(&r, "key-a", "h1").await.unwrap(), PutOutcome::Inserted);
    assert_eq!(store.get_record("a").await.unwrap(), Some(r.clone()));
    assert_eq!(
        store.get_by_idempotency_key("key-a").await.unwrap(),
        Some((r.clone(), "h1".to_owned()))
    );
    assert_eq!(store.get_by_idempotency_key("key-b").await.unwrap(), None);
    let listed = store.list_records(&all()).await.unwrap();
    assert_eq!(
        listed,
        [RecordSummary {
            record_id: "a".into(),
            household_ref: "H-a".into(),
            created_at: "2026-11-01T10:00:00.000Z".into(),
            verdict: Verdict::MeetsCriteria as i32,
            purpose: Purpose::MinimumLiving as i32,
            member_count: 1,
            digest: r.digest.clone(),
            // A first record is version 1 and replaces nothing.
            version: 1,
            previous_record_id: String::new(),
            superseded_by: String::new(),
            erased_at: String::new(),
        }]
    );
    store.close().await;
    let reopened = db.reopen().await.unwrap();
    assert_eq!(reopened.schema_version().await.unwrap(), Store::known_schema_version());
    assert_eq!(reopened.get_record("a").await.unwrap(), Some(r));
    assert_eq!(reopened.get_record("missing").await.unwrap(), None);
    reopened.close().await;
}

pub async fn a_reused_idempotency_key_returns_the_first_record_and_writes_nothing(db: &TestDb) {
    let store = &db.store;
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
    assert_eq!(store.list_records(&all()).await.unwrap().len(), 1);
}

/// Hubs retrying one submission at once: one write wins, every other call
/// gets the winner's record.
pub async fn concurrent_puts_under_one_key_store_exactly_one_record(db: &TestDb) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let r = record(
                    &format!("r{i}"),
                    "2026-11-01T10:00:00.000Z",
                    Verdict::MeetsCriteria,
                    &["520626194701205831"],
                );
                let outcome = store.put_record(&r, "one-key", &format!("h{i}")).await.unwrap();
                (r, format!("h{i}"), outcome)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let winners: Vec<_> = results.iter().filter(|(_, _, o)| *o == PutOutcome::Inserted).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let (winner, winner_hash, _) = winners[0];
    for (_, _, outcome) in &results {
        if let PutOutcome::Existing { record, request_hash } = outcome {
            assert_eq!(**record, *winner);
            assert_eq!(request_hash, winner_hash);
        }
    }
    assert_eq!(
        ids(db.store.list_records(&all()).await.unwrap()),
        [winner.record_id.as_str()]
    );
}

pub async fn list_filters_by_verdict_date_and_person(db: &TestDb) {
    let store = &db.store;
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

    assert_eq!(ids(store.list_records(&all()).await.unwrap()), ["c", "b", "a"]);
    let incomplete = ListFilter {
        verdict: Some(Verdict::Incomplete),
        ..all()
    };
    assert_eq!(ids(store.list_records(&incomplete).await.unwrap()), ["c", "b"]);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let nov1 = ListFilter {
        created_from: Some(day),
        created_to: Some(day),
        ..all()
    };
    assert_eq!(ids(store.list_records(&nov1).await.unwrap()), ["b"]);
    let from_nov1 = ListFilter {
        created_from: Some(day),
        ..all()
    };
    assert_eq!(ids(store.list_records(&from_nov1).await.unwrap()), ["c", "b"]);
    let to_nov1 = ListFilter {
        created_to: Some(day),
        ..all()
    };
    assert_eq!(ids(store.list_records(&to_nov1).await.unwrap()), ["b", "a"]);
    let person = ListFilter {
        id_number: Some(p1.into()),
        ..all()
    };
    assert_eq!(ids(store.list_records(&person).await.unwrap()), ["b", "a"]);
    let everything = ListFilter {
        verdict: Some(Verdict::Incomplete),
        created_from: Some(day),
        created_to: Some(day),
        id_number: Some(p2.into()),
        limit: 10,
        latest_only: false,
        purpose: Some(Purpose::MinimumLiving),
        household_ref: Some("H-b".into()),
        after: None,
    };
    assert_eq!(ids(store.list_records(&everything).await.unwrap()), ["b"]);
    // Purpose and household reference, exactly.
    let medical = ListFilter {
        purpose: Some(Purpose::Medical),
        ..all()
    };
    assert!(store.list_records(&medical).await.unwrap().is_empty());
    let household = ListFilter {
        household_ref: Some("H-a".into()),
        ..all()
    };
    assert_eq!(ids(store.list_records(&household).await.unwrap()), ["a"]);
    let prefix_only = ListFilter {
        household_ref: Some("H-".into()),
        ..all()
    };
    assert!(store.list_records(&prefix_only).await.unwrap().is_empty());
    // Pages: after a row, the rows older than it, in the same order.
    let first = store.list_records(&ListFilter { limit: 2, ..all() }).await.unwrap();
    assert_eq!(ids(first.clone()), ["c", "b"]);
    let last = first.last().unwrap();
    let next = ListFilter {
        limit: 2,
        after: Some((last.created_at.clone(), last.record_id.clone())),
        ..all()
    };
    assert_eq!(ids(store.list_records(&next).await.unwrap()), ["a"]);
    let nobody = ListFilter {
        id_number: Some("110101199003077777".into()),
        ..all()
    };
    assert!(store.list_records(&nobody).await.unwrap().is_empty());
    let limited = ListFilter { limit: 1, ..all() };
    assert_eq!(ids(store.list_records(&limited).await.unwrap()), ["c"]);
    // A NUL finds nothing and is no error (PostgreSQL text cannot hold it).
    let nul = ListFilter {
        id_number: Some(format!("{p1}\0")),
        ..all()
    };
    assert!(store.list_records(&nul).await.unwrap().is_empty());
    assert_eq!(store.get_record("a\0").await.unwrap(), None);
    assert_eq!(store.get_by_idempotency_key("k1\0").await.unwrap(), None);
    // A limit of 0 is read as 1.
    let zero = ListFilter { limit: 0, ..all() };
    assert_eq!(ids(store.list_records(&zero).await.unwrap()), ["c"]);
}

/// Ties on the creation time sort by record id, byte by byte (as SQLite's
/// BINARY collation does), whatever the PostgreSQL database's collation.
pub async fn the_newest_record_comes_first_and_ties_sort_by_id_bytewise(db: &TestDb) {
    let store = &db.store;
    let at = "2026-11-01T10:00:00.000Z";
    for (i, id) in ["B", "a", "a-2", "a2"].iter().enumerate() {
        let r = record(id, at, Verdict::MeetsCriteria, &["520626194701205831"]);
        store.put_record(&r, &format!("k{i}"), "h").await.unwrap();
    }
    let newer = record("0", "2026-11-01T10:00:00.001Z", Verdict::MeetsCriteria, &[]);
    store.put_record(&newer, "k-newer", "h").await.unwrap();
    assert_eq!(
        ids(store.list_records(&all()).await.unwrap()),
        ["0", "a2", "a-2", "a", "B"]
    );
}

pub async fn a_household_naming_a_person_twice_is_indexed_once(db: &TestDb) {
    let store = &db.store;
    let p = "520626194701205831";
    let r = record("a", "2026-11-01T10:00:00.000Z", Verdict::MeetsCriteria, &[p, p]);
    assert_eq!(store.put_record(&r, "k", "h").await.unwrap(), PutOutcome::Inserted);
    let person = ListFilter {
        id_number: Some(p.into()),
        ..all()
    };
    let listed = store.list_records(&person).await.unwrap();
    assert_eq!(ids(listed.clone()), ["a"]);
    assert_eq!(listed[0].member_count, 2);
}

pub async fn a_record_altered_on_disk_is_reported_as_corrupt(db: &TestDb) {
    let store = &db.store;
    let r = record(
        "a",
        "2026-11-01T10:00:00.000Z",
        Verdict::DoesNotMeet,
        &["520626194701205831"],
    );
    store.put_record(&r, "k", "h").await.unwrap();
    let mut forged = r.clone();
    forged.verdict = Verdict::MeetsCriteria as i32;
    let changed = store
        .execute_raw_for_tests(&set_body_sql(db.kind, "a", &forged.encode_to_vec()))
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let err = store.get_record("a").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("does not match its digest"));
    // Every way to read it refuses it, including a replay under its key.
    let err = store.get_by_idempotency_key("k").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let err = store.put_record(&r, "k", "h").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

    // Bytes that are not a record at all.
    let b = record(
        "b",
        "2026-11-01T10:00:01.000Z",
        Verdict::DoesNotMeet,
        &["520626194701205831"],
    );
    store.put_record(&b, "kb", "h").await.unwrap();
    store
        .execute_raw_for_tests(&set_body_sql(db.kind, "b", &[0xff, 0xff]))
        .await
        .unwrap();
    let err = store.get_record("b").await.unwrap_err();
    assert!(
        err.to_string().contains("record b is corrupt: does not decode"),
        "{err}"
    );
}

pub async fn a_schema_newer_than_the_binary_is_refused(db: &TestDb) {
    let store = &db.store;
    store
        .execute_raw_for_tests("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')")
        .await
        .unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 99);
    store.close().await;
    let err = db.reopen().await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade hedui"));
}

/// Two hubs starting at once on a new database: both open it, and each
/// migration runs once (a second run would fail on "already exists").
pub async fn two_stores_opening_one_new_database_at_once_migrate_it_once(db: &TestDb) {
    let url = db.another_empty_database().await;
    let (a, b) = tokio::join!(Store::open(&url), Store::open(&url));
    let (a, b) = (
        a.unwrap().with_data_keys(crate::backends::data_keys()),
        b.unwrap().with_data_keys(crate::backends::data_keys()),
    );
    assert_eq!(a.schema_version().await.unwrap(), Store::known_schema_version());
    let r = record("a", "2026-11-01T10:00:00.000Z", Verdict::MeetsCriteria, &[]);
    assert_eq!(a.put_record(&r, "k", "h").await.unwrap(), PutOutcome::Inserted);
    assert_eq!(b.get_record("a").await.unwrap(), Some(r));
    a.close().await;
    b.close().await;
}

/// `hedui migrate`: a store opened without migrating reports version 0 and
/// no migrations, leaves the database empty, and `migrate` applies every
/// migration once; a second run applies none.
pub async fn migrations_can_be_applied_explicitly_and_reported(db: &TestDb) {
    let url = db.another_empty_database().await;
    let store = Store::open_without_migrating(&url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 0);
    assert!(store.applied_migrations().await.unwrap().is_empty());
    let known = Store::known_migrations();
    assert_eq!(known.len() as i64, Store::known_schema_version());
    assert_eq!(store.migrate().await.unwrap(), known.len());
    assert_eq!(store.migrate().await.unwrap(), 0);
    let applied = store.applied_migrations().await.unwrap();
    let names: Vec<&str> = applied.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, known);
    assert_eq!(
        applied.iter().map(|m| m.version).collect::<Vec<_>>(),
        (1..=Store::known_schema_version()).collect::<Vec<_>>()
    );
    store.close().await;
    // A schema newer than the binary is refused without migrating too.
    db.store
        .execute_raw_for_tests("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')")
        .await
        .unwrap();
    let err = Store::open_without_migrating(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 99, .. }), "{err}");
}

/// The SQL file of migration `name` for `kind`, as this checkout has it.
fn migration_file(kind: BackendKind, name: &str) -> String {
    let dir = match kind {
        BackendKind::Sqlite => "sqlite",
        BackendKind::Postgres => "postgres",
    };
    let path = format!("{}/../../migrations/{dir}/{name}.sql", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every applied migration is recorded with the SHA-256 of its file. When
/// the recorded checksum of an applied migration is not its file's (the
/// file was edited after it was applied), the database is refused at start
/// (opening with or without migrating) and by `hedui migrate`, naming the
/// migration.
pub async fn an_applied_migration_whose_file_changed_is_refused_by_name(db: &TestDb) {
    let store = &db.store;
    let applied = store.applied_migrations().await.unwrap();
    assert_eq!(applied.len() as i64, Store::known_schema_version());
    for m in &applied {
        let file = migration_file(db.kind, &m.name);
        assert_eq!(
            m.checksum.as_deref(),
            Some(hedui_store::migration_checksum(&file).as_str()),
            "{}",
            m.name
        );
    }
    // As if 0002_audit.sql had been edited after it was applied.
    store
        .execute_raw_for_tests(&format!(
            "UPDATE schema_migrations SET checksum = '{}' WHERE version = 2",
            hedui_store::migration_checksum("-- the file as it was applied\n")
        ))
        .await
        .unwrap();
    store.close().await;
    for err in [
        db.reopen().await.unwrap_err(),
        Store::open_without_migrating(&db.url).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::MigrationChanged { version: 2, name, .. } if name == "0002_audit"),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("migration 0002_audit"), "{text}");
        assert!(text.contains("SHA-256"), "{text}");
    }
    // Another migration recorded at a known version is refused by name too.
    let url = db.another_empty_database().await;
    let other = Store::open(&url).await.unwrap();
    other
        .execute_raw_for_tests("UPDATE schema_migrations SET name = '0003_something_else' WHERE version = 3")
        .await
        .unwrap();
    let err = other.migrate().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::MigrationChanged { version: 3, name, .. } if name == "0003_reviews_versions"),
        "{err}"
    );
    assert!(err.to_string().contains("\"0003_something_else\""), "{err}");
    other.close().await;
}

/// A database migrated before checksums were recorded (no `checksum`
/// column) still opens, and the next `migrate` adds the column and records
/// the checksums of this binary's files, so later edits are caught.
pub async fn migrations_applied_before_checksums_get_them_at_the_next_migrate(db: &TestDb) {
    let store = &db.store;
    store
        .execute_raw_for_tests("ALTER TABLE schema_migrations DROP COLUMN checksum")
        .await
        .unwrap();
    store.close().await;
    let old = Store::open_without_migrating(&db.url).await.unwrap();
    let applied = old.applied_migrations().await.unwrap();
    assert_eq!(applied.len() as i64, Store::known_schema_version());
    assert!(applied.iter().all(|m| m.checksum.is_none()), "{applied:?}");
    assert_eq!(old.migrate().await.unwrap(), 0);
    for m in old.applied_migrations().await.unwrap() {
        let file = migration_file(db.kind, &m.name);
        assert_eq!(
            m.checksum.as_deref(),
            Some(hedui_store::migration_checksum(&file).as_str()),
            "{}",
            m.name
        );
    }
    old.execute_raw_for_tests("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 5")
        .await
        .unwrap();
    old.close().await;
    let err = db.reopen().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::MigrationChanged { version: 5, name, .. } if name == "0005_record_binding"),
        "{err}"
    );
}

/// The department report reads every record of a date range, oldest first,
/// a page at a time: more records than one page, and the bounds are UTC days
/// (the `to` day is excluded by the caller passing the next day).
pub async fn records_created_in_a_range_are_read_in_order_across_pages(db: &TestDb) {
    let store = &db.store;
    // 1203 records on 2026-11-02 (more than two pages), one on each side.
    let mut expected = Vec::new();
    for i in 0..1203 {
        let id = format!("r{i:05}");
        let at = format!("2026-11-02T{:02}:{:02}:00.000Z", i / 60 % 24, i % 60);
        store
            .put_record(&record(&id, &at, Verdict::MeetsCriteria, &[]), &id, "h")
            .await
            .unwrap();
        expected.push((at, id));
    }
    for (id, at) in [
        ("early", "2026-11-01T23:59:59.999Z"),
        ("late", "2026-11-03T00:00:00.000Z"),
    ] {
        store
            .put_record(&record(id, at, Verdict::MeetsCriteria, &[]), id, "h")
            .await
            .unwrap();
    }
    expected.sort();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let mut seen = Vec::new();
    let n = store
        .for_each_record_created(day("2026-11-02"), day("2026-11-03"), |r| {
            seen.push((r.created_at, r.record_id))
        })
        .await
        .unwrap();
    assert_eq!(n, 1203);
    assert_eq!(seen, expected);
    let mut all = 0;
    store
        .for_each_record_created(day("2026-11-01"), day("2026-11-04"), |_| all += 1)
        .await
        .unwrap();
    assert_eq!(all, 1205);
    let mut none = 0;
    store
        .for_each_record_created(day("2026-11-04"), day("2026-11-05"), |_| none += 1)
        .await
        .unwrap();
    assert_eq!(none, 0);
}
