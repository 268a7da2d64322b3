//! The insider with database access: each case edits the database behind
//! the hub's back, as the hub's own role or as a superuser (switching the
//! append-only triggers off first), and checks that the read depending on
//! the edited row refuses, and that `check_integrity` (what `hedui audit
//! verify --database` runs) names the row.

use hedui_audit::checkpoint::{Checkpoint, sign};
use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_audit::merkle::Frontier;
use hedui_proto::v1::Verdict;
use hedui_store::audit::{AuditFilter, RecordToStore};
use hedui_store::{BackendKind, ListFilter, Store, StoreError};
use prost::Message as _;

use crate::backends::TestDb;

const PERSON: &str = "520626194701205831";

pub(crate) fn hub_key() -> hedui_trust::SigningKey {
    hedui_trust::SigningKey::from_bytes(&[7; 32])
}

pub(crate) fn entry(seq: u64, actor: &str, digest: &str) -> AuditEntry {
    AuditEntry {
        seq,
        time: format!("2026-11-26T10:00:{seq:02}.000Z"),
        actor: actor.into(),
        role: "caseworker".into(),
        action: "SubmitVerification".into(),
        purpose: "minimum-living".into(),
        request_id: String::new(),
        persons: vec![PersonRef::new(b"k", PERSON)],
        departments: vec!["tax".into()],
        status: "OK".into(),
        record_digest: digest.into(),
        detail: String::new(),
    }
}

/// A log of two entries, each storing one sealed record (DOES_NOT_MEET),
/// and a signed checkpoint over both. Returns the checked store and the
/// records.
async fn sealed_log(db: &TestDb) -> (Store, Vec<hedui_proto::v1::VerificationRecord>) {
    let key = hub_key();
    let mut records = Vec::new();
    let mut frontier = Frontier::new();
    for (i, id) in [
        "01930000-0000-7000-8000-0000000000a1",
        "01930000-0000-7000-8000-0000000000a2",
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = crate::records::record(
            id,
            &format!("2026-11-26T10:00:0{i}.000Z"),
            Verdict::DoesNotMeet,
            &[PERSON],
        );
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
    (db.store.clone().with_seal_key(key.verifying_key()), records)
}

pub(crate) async fn checkpoint(db: &TestDb, frontier: &Frontier) {
    let cp = Checkpoint {
        origin: "hedui test".into(),
        tree_size: frontier.size(),
        root: frontier.root(),
        time: "2026-11-26T10:01:00.000Z".into(),
    };
    db.store.put_checkpoint(&sign(cp, &hub_key())).await.unwrap();
}

/// Switches the append-only triggers of `table` off, as a superuser can.
async fn disable_triggers(db: &TestDb, table: &str) {
    let sql = match db.kind {
        BackendKind::Postgres => format!("ALTER TABLE {table} DISABLE TRIGGER ALL"),
        BackendKind::Sqlite => {
            format!("DROP TRIGGER {table}_append_only_update; DROP TRIGGER {table}_append_only_delete")
        }
    };
    db.store.execute_raw_for_tests(&sql).await.unwrap();
}

fn bytes_literal(db: &TestDb, b: &[u8]) -> String {
    match db.kind {
        BackendKind::Postgres => format!("'\\x{}'::bytea", hex::encode(b)),
        BackendKind::Sqlite => format!("X'{}'", hex::encode(b)),
    }
}

async fn problems(store: &Store) -> Vec<String> {
    store
        .check_integrity(&hub_key().verifying_key())
        .await
        .unwrap()
        .problems
}

fn names(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

fn corrupt(e: StoreError) -> String {
    match e {
        StoreError::Corrupt { record_id, problem } => format!("{record_id}: {problem}"),
        other => panic!("expected Corrupt, got {other}"),
    }
}

pub async fn an_intact_database_verifies_with_nothing_left_out(db: &TestDb) {
    let (store, records) = sealed_log(db).await;
    let report = store.check_integrity(&hub_key().verifying_key()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        (report.entries, report.signed_entries, report.after_checkpoint),
        (2, 2, 0)
    );
    assert_eq!(report.records, 2);
    assert_eq!(
        store.get_record(&records[0].record_id).await.unwrap().as_ref(),
        Some(&records[0])
    );
    // Another hub key does not verify the seals.
    let other = hedui_trust::SigningKey::from_bytes(&[8; 32]).verifying_key();
    let foreign = db.store.clone().with_seal_key(other);
    assert!(foreign.get_record(&records[0].record_id).await.is_err());
}

pub async fn a_record_resealed_with_a_recomputed_digest_is_refused(db: &TestDb) {
    let (store, records) = sealed_log(db).await;
    let mut forged = records[0].clone();
    forged.household.as_mut().unwrap().members[0].name = "王伪造".into();
    hedui_domain::digest::seal(&mut forged);
    // A forger who holds the data key file (but not the hub key).
    let sql = format!(
        "UPDATE records SET {}, digest = '{}' WHERE record_id = '{}'",
        crate::backends::sealed_body_assignments(db.kind, &forged.record_id, 1, &forged.encode_to_vec()),
        forged.digest,
        forged.record_id
    );
    assert_eq!(store.execute_raw_for_tests(&sql).await.unwrap(), 1);
    let err = corrupt(store.get_record(&forged.record_id).await.unwrap_err());
    assert!(err.contains(&forged.record_id) && err.contains("seal"), "{err}");
    let found = problems(&store).await;
    assert!(names(&found, &format!("records row {}", forged.record_id)), "{found:?}");
    // Even a forger who could seal (a stolen key) is caught by the entry.
    let mut resigned = forged.clone();
    hedui_trust::seal::seal(&mut resigned, &hub_key());
    let sql = format!(
        "UPDATE records SET {} WHERE record_id = '{}'",
        crate::backends::sealed_body_assignments(db.kind, &resigned.record_id, 1, &resigned.encode_to_vec()),
        resigned.record_id
    );
    store.execute_raw_for_tests(&sql).await.unwrap();
    let err = corrupt(store.get_record(&resigned.record_id).await.unwrap_err());
    assert!(err.contains("audit entry 0"), "{err}");
}

pub async fn a_changed_verdict_column_is_refused_in_lists(db: &TestDb) {
    let (store, records) = sealed_log(db).await;
    let id = &records[1].record_id;
    store
        .execute_raw_for_tests(&format!(
            "UPDATE records SET verdict = 'VERDICT_MEETS_CRITERIA' WHERE record_id = '{id}'"
        ))
        .await
        .unwrap();
    let meets = ListFilter {
        verdict: Some(Verdict::MeetsCriteria),
        limit: 100,
        ..Default::default()
    };
    let err = corrupt(store.list_records(&meets).await.unwrap_err());
    assert!(err.contains(id.as_str()) && err.contains("verdict"), "{err}");
    let found = problems(&store).await;
    assert!(
        names(&found, &format!("records row {id}")) && names(&found, "verdict"),
        "{found:?}"
    );
}

pub async fn a_deleted_person_index_row_is_named(db: &TestDb) {
    let (store, _) = sealed_log(db).await;
    disable_triggers(db, "audit_persons").await;
    assert_eq!(
        store
            .execute_raw_for_tests("DELETE FROM audit_persons WHERE seq = 1")
            .await
            .unwrap(),
        1
    );
    let found = problems(&store).await;
    assert!(names(&found, "audit_persons: the row for entry 1"), "{found:?}");
    // A record_persons row deleted hides a record from a search by ID.
    store
        .execute_raw_for_tests("DELETE FROM record_persons WHERE record_id = '01930000-0000-7000-8000-0000000000a1'")
        .await
        .unwrap();
    let found = problems(&store).await;
    assert!(
        names(
            &found,
            "record_persons rows of record 01930000-0000-7000-8000-0000000000a1"
        ),
        "{found:?}"
    );
}

pub async fn a_changed_actor_is_refused_and_named(db: &TestDb) {
    let (store, _) = sealed_log(db).await;
    disable_triggers(db, "audit_entries").await;
    store
        .execute_raw_for_tests("UPDATE audit_entries SET actor = 'caseworker:li.si' WHERE seq = 0")
        .await
        .unwrap();
    let filter = AuditFilter {
        actor: Some("caseworker:li.si".into()),
        limit: 100,
        ..Default::default()
    };
    let err = corrupt(store.audit_entries(&filter).await.unwrap_err());
    assert!(err.contains("audit entry 0") && err.contains("actor"), "{err}");
    let found = problems(&store).await;
    assert!(names(&found, "audit_entries row 0: column actor"), "{found:?}");
}

pub async fn an_entry_edited_after_the_last_checkpoint_is_named(db: &TestDb) {
    let (store, records) = sealed_log(db).await;
    // Two more entries, not yet under any checkpoint.
    let mut frontier = Frontier::new();
    for e in store.audit_all().await.unwrap() {
        frontier.append(e.leaf());
    }
    let tail: Vec<_> = (2..4)
        .map(|seq| {
            let e = entry(seq, "caseworker:zhang.san", &records[0].digest);
            let leaf = e.leaf();
            (e, leaf)
        })
        .collect();
    store.append_audit(&tail).await.unwrap();
    for (_, leaf) in &tail {
        frontier.append(*leaf);
    }
    let report = store.check_integrity(&hub_key().verifying_key()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.signed_entries, report.after_checkpoint), (2, 2));
    // A checkpoint the hub signs at verify time covers them (this is what
    // `audit verify --database --fresh-from-hub` passes in); one larger
    // than this copy is not applied.
    let fresh = |size: u64, root| {
        sign(
            Checkpoint {
                origin: "hedui test".into(),
                tree_size: size,
                root,
                time: "2026-11-26T10:02:00.000Z".into(),
            },
            &hub_key(),
        )
    };
    let report = store
        .check_integrity_with(&hub_key().verifying_key(), Some(fresh(4, frontier.root())))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.signed_entries, report.after_checkpoint), (4, 0));
    assert_eq!(report.fresh_checkpoint_applied, Some(true));
    let report = store
        .check_integrity_with(&hub_key().verifying_key(), Some(fresh(9, frontier.root())))
        .await
        .unwrap();
    assert_eq!(report.fresh_checkpoint_applied, Some(false));
    // An insider edits entry 3 (after the checkpoint) in place.
    disable_triggers(db, "audit_entries").await;
    let mut edited = tail[1].0.clone();
    edited.actor = "caseworker:li.si".into();
    let text = String::from_utf8(edited.canonical_bytes()).unwrap();
    store
        .execute_raw_for_tests(&format!(
            "UPDATE audit_entries SET entry = '{text}', actor = 'caseworker:li.si' WHERE seq = 3"
        ))
        .await
        .unwrap();
    let found = problems(&store).await;
    assert!(names(&found, "audit_entries row 3: the leaf column"), "{found:?}");
    // Rewriting the leaf too is caught by the next checkpoint, which the hub
    // signs over the tree it holds (the original leaves).
    store
        .execute_raw_for_tests(&format!(
            "UPDATE audit_entries SET leaf = {} WHERE seq = 3",
            bytes_literal(db, &edited.leaf())
        ))
        .await
        .unwrap();
    checkpoint(db, &frontier).await;
    let found = problems(&store).await;
    assert!(names(&found, "audit log:"), "{found:?}");
}

pub async fn an_entry_naming_a_record_that_is_not_stored_is_named(db: &TestDb) {
    let (store, _) = sealed_log(db).await;
    let ghost = entry(2, "caseworker:zhang.san", &"ab".repeat(32));
    let leaf = ghost.leaf();
    store.append_audit(&[(ghost, leaf)]).await.unwrap();
    let found = problems(&store).await;
    assert!(
        names(
            &found,
            "audit entry 2 (SubmitVerification OK) names record digest abababababab"
        ),
        "{found:?}"
    );
}
