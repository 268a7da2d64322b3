//! Encryption at rest (issue #15): what the rows hold, what a row moved,
//! truncated or read with the wrong key gives, and the encryption of a
//! database written before it.

use hedui_proto::v1::{Review, ReviewOutcome, Verdict};
use hedui_store::batch::{NewBatch, NewItem};
use hedui_store::{BackendKind, DataKeys, EnvelopeError, ListFilter, PutOutcome, Store, StoreError};
use prost::Message as _;

use crate::backends::{TestDb, data_keys};
use crate::records::record;

const NAME: &str = "测试";
const ID_A: &str = "520626194701205831";
const ID_B: &str = "522226199001011234";
const NOTE: &str = "入户核查：家中有一辆未登记的货车";

fn all() -> ListFilter {
    ListFilter {
        limit: 100,
        ..Default::default()
    }
}

fn lit(kind: BackendKind, b: &[u8]) -> String {
    match kind {
        BackendKind::Sqlite => format!("X'{}'", hex::encode(b)),
        BackendKind::Postgres => format!("decode('{}', 'hex')", hex::encode(b)),
    }
}

fn batch(id: &str) -> NewBatch {
    NewBatch {
        batch_id: id.into(),
        label: "2026 annual re-check".into(),
        purpose: "PURPOSE_MINIMUM_LIVING".into(),
        window_from: "2025-01".into(),
        window_to: "2025-12".into(),
        asset_date: String::new(),
        created_by_role: "caseworker".into(),
        created_by_name: "zhang.san".into(),
        created_by_serial: "01ab".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
    }
}

fn review(id: &str, record_id: &str) -> Review {
    Review {
        review_id: id.into(),
        record_id: record_id.into(),
        outcome: ReviewOutcome::Corrected as i32,
        note: NOTE.into(),
        reviewer: "caseworker:zhang.san".into(),
        reviewer_role: "caseworker".into(),
        created_at: "2026-11-02T10:00:00.000Z".into(),
    }
}

/// Every byte the personal-data columns hold, as one string of hex and
/// text, to search for names and numbers in any encoding the database
/// might use.
async fn personal_columns(store: &Store) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for sql in [
        "SELECT body FROM records",
        "SELECT request FROM batch_items",
        "SELECT sealed_note FROM record_reviews WHERE sealed_note IS NOT NULL",
    ] {
        out.extend(raw_bytes(store, sql).await);
    }
    for sql in [
        "SELECT id_number FROM record_persons",
        "SELECT note FROM record_reviews",
    ] {
        out.extend(raw_text(store, sql).await.into_iter().map(String::into_bytes));
    }
    out
}

async fn raw_bytes(store: &Store, sql: &str) -> Vec<Vec<u8>> {
    store.fetch_bytes_for_tests(sql).await.unwrap()
}

async fn raw_text(store: &Store, sql: &str) -> Vec<String> {
    store.fetch_text_for_tests(sql).await.unwrap()
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

pub async fn personal_data_is_stored_encrypted_and_read_back(db: &TestDb) {
    let store = &db.store;
    let r = record("a", "2026-11-01T10:00:00.000Z", Verdict::DoesNotMeet, &[ID_A, ID_B]);
    assert_eq!(store.put_record(&r, "k", "h").await.unwrap(), PutOutcome::Inserted);
    store.add_review(&review("v1", "a")).await.unwrap();
    store.create_batch(&batch("b1")).await.unwrap();
    let request = format!("{NAME} {ID_A}").into_bytes();
    store
        .add_batch_items(
            "b1",
            &[NewItem {
                first_row: 2,
                household_ref: "H-1".into(),
                request: request.clone(),
            }],
        )
        .await
        .unwrap()
        .unwrap();

    for bytes in personal_columns(store).await {
        for needle in [NAME, ID_A, ID_B, "入户核查"] {
            assert!(!holds(&bytes, needle), "{needle} is stored in plaintext");
        }
    }
    // The index holds keyed hashes, and search by number still finds it.
    let index = raw_text(store, "SELECT id_number FROM record_persons").await;
    assert!(index.contains(&data_keys().person_index(ID_A)), "{index:?}");
    let found = store
        .list_records(&ListFilter {
            id_number: Some(ID_B.into()),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // Everything reads back as written.
    assert_eq!(store.get_record("a").await.unwrap(), Some(r));
    assert_eq!(store.reviews("a").await.unwrap()[0].note, NOTE);
    store.start_batch("b1", "2026-01-01T00:00:02.000Z").await.unwrap();
    let claimed = store.claim_batch_items("w", 1, 10_000, 10).await.unwrap();
    assert_eq!(claimed[0].request, request);
    let counts = store.records_by_kek().await.unwrap();
    assert_eq!(counts, [(data_keys().current_kek_id().to_owned(), 1)]);
    assert_eq!(store.plaintext_rows().await.unwrap().total(), 0);
}

pub async fn bad_keys_and_bad_rows_are_named_and_nothing_is_half_written(db: &TestDb) {
    let store = &db.store;
    let a = record("a", "2026-11-01T10:00:00.000Z", Verdict::DoesNotMeet, &[ID_A]);
    let b = record("b", "2026-11-01T11:00:00.000Z", Verdict::MeetsCriteria, &[ID_B]);
    store.put_record(&a, "ka", "h").await.unwrap();
    store.put_record(&b, "kb", "h").await.unwrap();
    let envelope = |e: StoreError| match e {
        StoreError::Envelope { row, source } => (row, source),
        other => panic!("expected an envelope error, got {other}"),
    };

    // No data key at all: reads and writes are refused, nothing is written.
    let keyless = Store::open(&db.url).await.unwrap();
    let (row, e) = envelope(keyless.get_record("a").await.unwrap_err());
    assert_eq!((row.as_str(), e), ("record a version 1", EnvelopeError::NoKeys));
    let c = record("c", "2026-11-01T12:00:00.000Z", Verdict::MeetsCriteria, &[ID_A]);
    let (_, e) = envelope(keyless.put_record(&c, "kc", "h").await.unwrap_err());
    assert_eq!(e, EnvelopeError::NoKeys);
    assert_eq!(store.get_record("c").await.unwrap(), None);
    assert_eq!(
        raw_text(store, "SELECT record_id FROM record_persons WHERE record_id = 'c'")
            .await
            .len(),
        0
    );

    // Another hub's key file: the KEK is missing.
    let other = Store::open(&db.url)
        .await
        .unwrap()
        .with_data_keys(DataKeys::generate().unwrap().into_provider());
    let (_, e) = envelope(other.get_record("a").await.unwrap_err());
    assert!(matches!(e, EnvelopeError::MissingKek { .. }), "{e}");

    // The same KEK id with another key: the wrong KEK.
    let text = format!(
        "hedui-data-keys v1\nindex-key {}\nkek {} {}\n",
        "11".repeat(32),
        data_keys().current_kek_id(),
        "22".repeat(32)
    );
    let wrong = Store::open(&db.url)
        .await
        .unwrap()
        .with_data_keys(DataKeys::parse(&text).unwrap().into_provider());
    let (_, e) = envelope(wrong.get_record("a").await.unwrap_err());
    assert!(matches!(e, EnvelopeError::WrongKek { .. }), "{e}");

    // b's payload and wrapped key copied into a's row: a moved payload.
    store
        .execute_raw_for_tests(
            "UPDATE records SET body = (SELECT body FROM records WHERE record_id = 'b'),
                                wrapped_key = (SELECT wrapped_key FROM records WHERE record_id = 'b')
             WHERE record_id = 'a'",
        )
        .await
        .unwrap();
    let (row, e) = envelope(store.get_record("a").await.unwrap_err());
    assert_eq!(row, "record a version 1");
    assert!(matches!(e, EnvelopeError::WrongRow { .. }), "{e}");
    let found = store
        .check_integrity(&hedui_trust::SigningKey::from_bytes(&[7; 32]).verifying_key())
        .await;
    assert!(
        found
            .unwrap()
            .problems
            .iter()
            .any(|p| p.contains("records row a") && p.contains("another row")),
        "the integrity check names the moved payload"
    );

    // A truncated wrapped key.
    store
        .execute_raw_for_tests(&format!(
            "UPDATE records SET wrapped_key = {} WHERE record_id = 'b'",
            lit(db.kind, &[1; 20])
        ))
        .await
        .unwrap();
    let (_, e) = envelope(store.get_record("b").await.unwrap_err());
    assert_eq!(e, EnvelopeError::WrappedKeyLength { len: 20 });
    assert!(e.to_string().contains("truncated"), "{e}");
}

/// A database as the release before encryption left it: migrations up to
/// 0005, rows inserted as that release inserted them, in plaintext.
async fn pre_encryption_database(db: &TestDb) -> (Store, String, Vec<hedui_proto::v1::VerificationRecord>) {
    let url = db.another_empty_database().await;
    let old = Store::open_without_migrating(&url).await.unwrap();
    old.migrate_to_for_tests(5).await.unwrap();
    assert_eq!(old.schema_version().await.unwrap(), 5);
    let mut records = Vec::new();
    for i in 0..5 {
        let id = format!("r{i}");
        let r = record(
            &id,
            &format!("2026-11-01T10:00:0{i}.000Z"),
            Verdict::DoesNotMeet,
            &[ID_A, ID_B],
        );
        old.execute_raw_for_tests(&format!(
            "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count, digest,
                                  idempotency_key, request_hash, body, root_record_id)
             VALUES ('{id}', '{}', 'H-{id}', 'VERDICT_DOES_NOT_MEET', 'PURPOSE_MINIMUM_LIVING', 2, '{}', 'k{id}', 'h',
                     {}, '{id}');
             INSERT INTO record_persons (record_id, id_number) VALUES ('{id}', '{ID_A}'), ('{id}', '{ID_B}');",
            r.created_at,
            r.digest,
            lit(db.kind, &r.encode_to_vec())
        ))
        .await
        .unwrap();
        records.push(r);
    }
    old.execute_raw_for_tests(&format!(
        "INSERT INTO record_reviews (review_id, record_id, created_at, outcome, note, reviewer, reviewer_role)
         VALUES ('v1', 'r0', '2026-11-02T10:00:00.000Z', 'REVIEW_OUTCOME_CORRECTED', '{NOTE}', 'caseworker:z', 'caseworker');
         INSERT INTO batches (batch_id, label, state, purpose, window_from, window_to, asset_date, created_by_role,
                              created_by_name, created_by_serial, created_at)
         VALUES ('b1', 'l', 'DRAFT', 'PURPOSE_MINIMUM_LIVING', '2025-01', '2025-12', '', 'caseworker', 'z', '01', 'now');
         INSERT INTO batch_items (batch_id, seq, first_row, household_ref, request, state, next_attempt_at)
         VALUES ('b1', 1, 2, 'H-1', {}, 'PENDING', 0), ('b1', 2, 3, 'H-2', {}, 'PENDING', 0);",
        lit(db.kind, format!("{NAME} {ID_A}").as_bytes()),
        lit(db.kind, format!("{NAME} {ID_B}").as_bytes()),
    ))
    .await
    .unwrap();
    old.close().await;
    let store = Store::open(&url).await.unwrap().with_data_keys(data_keys());
    (store, url, records)
}

pub async fn a_database_written_before_encryption_is_encrypted_in_resumable_chunks(db: &TestDb) {
    let (store, url, records) = pre_encryption_database(db).await;
    // Migration 0006 applied; nothing encrypted yet, and it all still reads.
    let before = store.plaintext_rows().await.unwrap();
    assert_eq!((before.records, before.batch_items, before.reviews), (5, 2, 1));
    assert_eq!(store.get_record("r3").await.unwrap().as_ref(), Some(&records[3]));
    assert_eq!(store.reviews("r0").await.unwrap()[0].note, NOTE);
    let search = |id: &str| ListFilter {
        id_number: Some(id.into()),
        ..all()
    };
    assert_eq!(store.list_records(&search(ID_B)).await.unwrap().len(), 5);

    // Two records (and every item and review) per chunk; each chunk is
    // committed, so a run stopped here resumes with what is left.
    let first = store.encrypt_plaintext(2).await.unwrap();
    assert_eq!((first.records, first.batch_items, first.reviews), (2, 2, 1));
    assert_eq!(store.plaintext_rows().await.unwrap().records, 3);
    // Midway, search finds the re-indexed and the plaintext rows alike.
    assert_eq!(store.list_records(&search(ID_B)).await.unwrap().len(), 5);
    // A new store (a restarted `hedui migrate`) carries on.
    store.close().await;
    let resumed = Store::open(&url).await.unwrap().with_data_keys(data_keys());
    let mut passes = 0;
    while resumed.encrypt_plaintext(2).await.unwrap().total() > 0 {
        passes += 1;
    }
    assert_eq!(passes, 2);
    assert_eq!(resumed.plaintext_rows().await.unwrap().total(), 0);
    // SQLite's file is rebuilt so no freed page keeps the old plaintext;
    // PostgreSQL's VACUUM FULL is left to the operator.
    assert_eq!(
        resumed.purge_freed_space().await.unwrap(),
        db.kind == BackendKind::Sqlite
    );

    for bytes in personal_columns(&resumed).await {
        for needle in [NAME, ID_A, ID_B, "入户核查"] {
            assert!(!holds(&bytes, needle), "{needle} is still stored in plaintext");
        }
    }
    for r in &records {
        assert_eq!(resumed.get_record(&r.record_id).await.unwrap().as_ref(), Some(r));
    }
    let found = resumed
        .list_records(&ListFilter {
            id_number: Some(ID_A.into()),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 5, "search by ID number finds the re-indexed records");
    assert_eq!(resumed.reviews("r0").await.unwrap()[0].note, NOTE);
    // Reviews stay append-only apart from that one change.
    let err = resumed
        .execute_raw_for_tests("UPDATE record_reviews SET outcome = 'REVIEW_OUTCOME_CONFIRMED' WHERE review_id = 'v1'")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    resumed.close().await;
}
