//! The audit tables: appends, filters, checkpoints, and the database's own
//! refusal to change them.

use hedui_audit::checkpoint::{Checkpoint, SignedCheckpoint};
use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_audit::merkle::Hash;
use hedui_store::BackendKind;
use hedui_store::audit::AuditFilter;

use crate::backends::TestDb;

fn entry(seq: u64, actor: &str, person: &str) -> (AuditEntry, Hash) {
    let e = AuditEntry {
        seq,
        time: format!("2026-11-26T10:00:{seq:02}.000Z"),
        actor: actor.into(),
        role: "caseworker".into(),
        action: "SubmitVerification".into(),
        purpose: "minimum-living".into(),
        request_id: String::new(),
        persons: vec![PersonRef::new(b"k", person)],
        departments: vec!["tax".into(), "pboc".into()],
        status: "OK".into(),
        record_digest: String::new(),
        detail: String::new(),
    };
    let leaf = e.leaf();
    (e, leaf)
}

fn all() -> AuditFilter {
    AuditFilter {
        limit: 100,
        ..Default::default()
    }
}

fn seqs(entries: Vec<AuditEntry>) -> Vec<u64> {
    entries.iter().map(|e| e.seq).collect()
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

pub async fn entries_append_filter_and_refuse_updates_and_deletes(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.audit_size().await.unwrap(), 0);
    assert!(store.audit_all().await.unwrap().is_empty());
    let batch = vec![
        entry(0, "a", "520626194701205831"),
        entry(1, "b", "52222619930616389X"),
        entry(2, "a", "52222619930616389X"),
    ];
    store.append_audit(&batch).await.unwrap();
    assert_eq!(store.audit_size().await.unwrap(), 3);
    assert_eq!(
        store.audit_leaves(3).await.unwrap(),
        batch.iter().map(|(_, l)| *l).collect::<Vec<_>>()
    );
    assert_eq!(store.audit_leaves(2).await.unwrap().len(), 2);
    assert_eq!(store.audit_leaves(u64::MAX).await.unwrap().len(), 3);
    assert_eq!(
        store.audit_all().await.unwrap(),
        batch.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()
    );
    let by_actor = AuditFilter {
        actor: Some("a".into()),
        ..all()
    };
    assert_eq!(store.audit_entries(&by_actor).await.unwrap().len(), 2);
    let by_person = AuditFilter {
        person_key_hash: Some(hedui_audit::entry::person_key_hash(b"k", "52222619930616389X")),
        ..all()
    };
    assert_eq!(seqs(store.audit_entries(&by_person).await.unwrap()), [1, 2]);
    let by_dept = AuditFilter {
        department: Some("pboc".into()),
        ..all()
    };
    assert_eq!(store.audit_entries(&by_dept).await.unwrap().len(), 3);
    let none = AuditFilter {
        department: Some("bo".into()),
        ..all()
    };
    assert!(store.audit_entries(&none).await.unwrap().is_empty());

    // The database itself refuses to change or remove an entry.
    refused(db, "UPDATE audit_entries SET actor = 'x' WHERE seq = 0").await;
    refused(db, "DELETE FROM audit_entries WHERE seq = 2").await;
    refused(db, "DELETE FROM audit_persons").await;
    refused(db, "UPDATE audit_persons SET key_hash = 'x'").await;
    if db.kind == BackendKind::Postgres {
        // TRUNCATE fires no row triggers; statement triggers refuse it.
        refused(db, "TRUNCATE audit_entries CASCADE").await;
        refused(db, "TRUNCATE audit_persons").await;
    }
    // A gap or a duplicate seq is refused too.
    assert!(
        store
            .append_audit(&[entry(1, "c", "520626194701205831")])
            .await
            .is_err()
    );
    assert_eq!(store.audit_size().await.unwrap(), 3);
    assert_eq!(
        store.audit_all().await.unwrap(),
        batch.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()
    );
}

pub async fn entries_filter_by_time_action_department_and_seq(db: &TestDb) {
    let store = &db.store;
    let mut batch = Vec::new();
    for (seq, time, action, departments) in [
        (0, "2026-11-25T23:59:59.999Z", "SubmitVerification", vec!["tax", "pboc"]),
        (1, "2026-11-26T00:00:00.000Z", "GetRecord", vec![]),
        (
            2,
            "2026-11-26T12:00:00.000Z",
            "SubmitVerification",
            vec!["housing-fund"],
        ),
        (
            3,
            "2026-11-27T00:00:00.000Z",
            "ListAudit",
            vec!["public-security", "tax"],
        ),
    ] {
        let (mut e, _) = entry(seq, "a", "520626194701205831");
        e.time = time.into();
        e.action = action.into();
        e.departments = departments.into_iter().map(String::from).collect();
        let leaf = e.leaf();
        batch.push((e, leaf));
    }
    store.append_audit(&batch).await.unwrap();
    let q = |f: AuditFilter| async move { seqs(store.audit_entries(&f).await.unwrap()) };

    // Day bounds compare as text against full timestamps.
    let nov26 = AuditFilter {
        from: Some("2026-11-26".into()),
        to: Some("2026-11-27".into()),
        ..all()
    };
    assert_eq!(q(nov26).await, [1, 2]);
    let from_noon = AuditFilter {
        from: Some("2026-11-26T12:00:00.000Z".into()),
        ..all()
    };
    assert_eq!(q(from_noon).await, [2, 3]);
    let submits = AuditFilter {
        action: Some("SubmitVerification".into()),
        ..all()
    };
    assert_eq!(q(submits).await, [0, 2]);
    let after = AuditFilter {
        after_seq: Some(2),
        ..all()
    };
    assert_eq!(q(after).await, [2, 3]);
    let far_after = AuditFilter {
        after_seq: Some(u64::MAX),
        ..all()
    };
    assert!(q(far_after).await.is_empty());
    let two = AuditFilter { limit: 2, ..all() };
    assert_eq!(q(two).await, [0, 1]);
    let zero = AuditFilter { limit: 0, ..all() };
    assert_eq!(q(zero).await, [0]);
    let dept = |d: &str| AuditFilter {
        department: Some(d.into()),
        ..all()
    };
    // Whole slugs in the comma-separated list, first, middle or last.
    assert_eq!(q(dept("tax")).await, [0, 3]);
    assert_eq!(q(dept("public-security")).await, [3]);
    assert_eq!(q(dept("housing-fund")).await, [2]);
    assert!(q(dept("housing")).await.is_empty());
    assert!(q(dept("fund")).await.is_empty());
    // Both backends ignore ASCII case here (SQLite's LIKE does).
    assert_eq!(q(dept("PBOC")).await, [0]);
    // A NUL finds nothing and is no error (PostgreSQL text cannot hold it).
    let nul_actor = AuditFilter {
        actor: Some("a\0".into()),
        ..all()
    };
    assert!(q(nul_actor).await.is_empty());
    let nul_from = AuditFilter {
        from: Some("2026-11-26T00:00:00.000Z\0x".into()),
        ..all()
    };
    assert_eq!(q(nul_from).await, [2, 3]);
    let nul_to = AuditFilter {
        to: Some("2026-11-26T00:00:00.000Z\0".into()),
        ..all()
    };
    assert_eq!(q(nul_to).await, [0, 1]);
    let everything = AuditFilter {
        from: Some("2026-11-26".into()),
        to: Some("2026-11-28".into()),
        actor: Some("a".into()),
        action: Some("ListAudit".into()),
        department: Some("tax".into()),
        person_key_hash: Some(hedui_audit::entry::person_key_hash(b"k", "520626194701205831")),
        after_seq: Some(1),
        limit: 10,
    };
    assert_eq!(q(everything).await, [3]);
}

pub async fn a_batch_that_fails_part_way_writes_nothing(db: &TestDb) {
    let store = &db.store;
    store
        .append_audit(&[entry(0, "a", "520626194701205831"), entry(1, "a", "520626194701205831")])
        .await
        .unwrap();
    // Entry 2 is fine, the duplicate 1 after it is not: neither is kept.
    let err = store
        .append_audit(&[entry(2, "a", "520626194701205831"), entry(1, "b", "520626194701205831")])
        .await;
    assert!(err.is_err());
    assert_eq!(store.audit_size().await.unwrap(), 2);
    assert_eq!(seqs(store.audit_all().await.unwrap()), [0, 1]);
    let by_b = AuditFilter {
        actor: Some("b".into()),
        ..all()
    };
    assert!(store.audit_entries(&by_b).await.unwrap().is_empty());
    store
        .append_audit(&[entry(2, "a", "520626194701205831")])
        .await
        .unwrap();
    assert_eq!(store.audit_size().await.unwrap(), 3);
}

fn checkpoint(tree_size: u64, fill: u8) -> SignedCheckpoint {
    SignedCheckpoint {
        checkpoint: Checkpoint {
            origin: "hedui.test/audit".into(),
            tree_size,
            root: [fill; 32],
            time: format!("2026-11-26T10:00:{tree_size:02}.000Z"),
        },
        key_id: "test".into(),
        signature: [fill; 64],
    }
}

pub async fn checkpoints_are_kept_in_tree_order_and_never_changed(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.latest_checkpoint().await.unwrap(), None);
    let three = checkpoint(3, 3);
    let one = checkpoint(1, 1);
    store.put_checkpoint(&three).await.unwrap();
    store.put_checkpoint(&one).await.unwrap();
    // A second checkpoint of the same size is ignored: the first one stays.
    store.put_checkpoint(&checkpoint(3, 9)).await.unwrap();
    assert_eq!(store.checkpoints().await.unwrap(), [one, three.clone()]);
    assert_eq!(store.latest_checkpoint().await.unwrap(), Some(three));

    refused(db, "UPDATE audit_checkpoints SET time = 'x'").await;
    refused(db, "DELETE FROM audit_checkpoints WHERE tree_size = 1").await;
    if db.kind == BackendKind::Postgres {
        refused(db, "TRUNCATE audit_checkpoints").await;
    }
    assert_eq!(store.checkpoints().await.unwrap().len(), 2);
}

/// The hub stores a verification's result entries and its record in one
/// transaction: both land, or neither does. A taken idempotency key keeps
/// the earlier record and writes none of the entries, so no entry ever
/// names a record that is not stored.
pub async fn entries_and_records_are_written_in_one_transaction(db: &TestDb) {
    use hedui_proto::v1::Verdict;
    use hedui_store::audit::{RecordStored, RecordToStore};
    let store = &db.store;
    let person = "520626194701205831";
    let to_store = |record, key, hash, entry_seq| RecordToStore {
        record,
        idempotency_key: key,
        request_hash: hash,
        entry_seq,
        batch_item: None,
    };
    let first = crate::records::record(
        "01930000-0000-7000-8000-000000000001",
        "2026-11-26T10:00:00.000Z",
        Verdict::MeetsCriteria,
        &[person],
    );
    let stored = store
        .append_audit_with_records(&[entry(0, "a", person)], &[to_store(&first, "key-1", "hash-1", 0)])
        .await
        .unwrap();
    assert_eq!(stored, [RecordStored::Inserted]);
    assert_eq!(store.get_record(&first.record_id).await.unwrap().as_ref(), Some(&first));
    // The same key again: nothing is written, the record is not replaced.
    let second = crate::records::record(
        "01930000-0000-7000-8000-000000000002",
        "2026-11-26T10:00:01.000Z",
        Verdict::DoesNotMeet,
        &[person],
    );
    let stored = store
        .append_audit_with_records(&[entry(1, "a", person)], &[to_store(&second, "key-1", "hash-2", 1)])
        .await
        .unwrap();
    assert_eq!(stored, [RecordStored::KeyTaken]);
    assert_eq!(store.audit_size().await.unwrap(), 1);
    assert!(store.get_record(&second.record_id).await.unwrap().is_none());
    let (kept, hash) = store.get_by_idempotency_key("key-1").await.unwrap().unwrap();
    assert_eq!(
        (kept.record_id.as_str(), hash.as_str()),
        (first.record_id.as_str(), "hash-1")
    );
    store.append_audit(&[entry(1, "a", person)]).await.unwrap();
    // An append built on a stale view writes neither its entries nor its record.
    let third = crate::records::record(
        "01930000-0000-7000-8000-000000000003",
        "2026-11-26T10:00:02.000Z",
        Verdict::MeetsCriteria,
        &[person],
    );
    let err = store
        .append_audit_with_records(&[entry(1, "b", person)], &[to_store(&third, "key-3", "hash-3", 1)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, hedui_store::StoreError::AuditBehind { expected: 1, found: 2 }),
        "{err}"
    );
    assert_eq!(store.audit_size().await.unwrap(), 2);
    assert!(store.get_by_idempotency_key("key-3").await.unwrap().is_none());
}

/// Appends one entry at `seq` with the claim `claim` in its transaction;
/// returns what became of the claim.
async fn append_claiming(
    db: &TestDb,
    seq: u64,
    claim: hedui_store::audit::ClaimToTake<'_>,
) -> hedui_store::audit::ClaimTaken {
    let (_, claimed, _) = db
        .store
        .append_audit_with(&[entry(seq, "a", "520626194701205831")], &[], &[claim])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    claimed[0]
}

/// An idempotency claim taken in an append's transaction: a free key is
/// taken, the owner's own claim renewed and a lapsed one taken over; a live
/// claim of another owner is reported with its lapse time, and a key under
/// which a record is stored as stored. A refused claim writes nothing of
/// its append.
pub async fn claims_in_an_append_are_taken_renewed_held_or_stored(db: &TestDb) {
    use hedui_proto::v1::Verdict;
    use hedui_store::audit::{ClaimTaken, ClaimToTake, RecordToStore};
    let claim = |key, owner, now_ms, expires_at_ms| ClaimToTake {
        idempotency_key: key,
        owner,
        now_ms,
        expires_at_ms,
    };
    // (seq, owner, now, expires at, outcome): each refused one writes
    // nothing, so the next append has the same seq.
    let steps = [
        (0, "hub-a", 1_000, 5_000, ClaimTaken::Taken),
        // Another owner while the claim lives.
        (1, "hub-b", 2_000, 6_000, ClaimTaken::HeldUntil(5_000)),
        // The owner renews it.
        (1, "hub-a", 3_000, 7_000, ClaimTaken::Taken),
        (2, "hub-b", 6_500, 9_000, ClaimTaken::HeldUntil(7_000)),
        // Lapsed: another owner takes it over.
        (2, "hub-b", 7_001, 9_000, ClaimTaken::Taken),
    ];
    for (seq, owner, now, expires, outcome) in steps {
        assert_eq!(
            append_claiming(db, seq, claim("k1", owner, now, expires)).await,
            outcome,
            "{owner} at {now}"
        );
    }
    assert_eq!(db.store.audit_size().await.unwrap(), 3);
    // A record stored under a key: the key is not claimed again, by anyone.
    let person = "520626194701205831";
    let stored = crate::records::record(
        "01930000-0000-7000-8000-000000000010",
        "2026-11-26T10:00:00.000Z",
        Verdict::MeetsCriteria,
        &[person],
    );
    let to_store = RecordToStore {
        record: &stored,
        idempotency_key: "k2",
        request_hash: "hash-2",
        entry_seq: 3,
        batch_item: None,
    };
    db.store
        .append_audit_with_records(&[entry(3, "a", person)], &[to_store])
        .await
        .unwrap();
    for owner in ["hub-a", "hub-b"] {
        assert_eq!(
            append_claiming(db, 4, claim("k2", owner, 10_000, 20_000)).await,
            ClaimTaken::Stored
        );
    }
    assert_eq!(db.store.audit_size().await.unwrap(), 4);
    // Two claims in one append, one refused: neither entry nor claim is kept.
    let (_, claimed, _) = db
        .store
        .append_audit_with(
            &[entry(4, "a", person), entry(5, "a", person)],
            &[],
            &[
                claim("k3", "hub-a", 10_000, 20_000),
                claim("k1", "hub-a", 8_000, 20_000),
            ],
        )
        .await
        .unwrap();
    assert_eq!(claimed, [ClaimTaken::Taken, ClaimTaken::HeldUntil(9_000)]);
    assert_eq!(db.store.audit_size().await.unwrap(), 4);
    assert_eq!(
        append_claiming(db, 4, claim("k3", "hub-b", 10_000, 20_000)).await,
        ClaimTaken::Taken,
        "the refused append's claim on k3 was kept"
    );
}

/// The proof index catches up in steps, is shared (a second catch-up adds
/// nothing), refuses changes, and gives the same proofs as the whole tree.
pub async fn the_proof_index_gives_the_proofs_of_the_whole_tree(db: &TestDb) {
    use hedui_audit::merkle::MerkleTree;
    let store = &db.store;
    let first: Vec<(AuditEntry, Hash)> = (0..600).map(|s| entry(s, "a", "520626194701205831")).collect();
    store.append_audit(&first).await.unwrap();
    // Two complete chunks of 256; the 88 left over wait for more entries.
    assert_eq!(store.index_audit_nodes(600).await.unwrap(), 2);
    assert_eq!(store.index_audit_nodes(600).await.unwrap(), 0);
    let more: Vec<(AuditEntry, Hash)> = (600..1_300).map(|s| entry(s, "b", "52222619930616389X")).collect();
    store.append_audit(&more).await.unwrap();
    let leaves: Vec<Hash> = first.iter().chain(&more).map(|(_, l)| *l).collect();
    for size in [1_300u64, 1_000, 257] {
        let full = MerkleTree::new(&leaves[..size as usize]);
        let seqs = [0, 255, 256, size / 2, size - 1];
        let olds = [1, 256, size / 3, size];
        let tree = store.audit_stored_tree(size, &seqs, &olds).await.unwrap();
        assert_eq!(tree.root().unwrap(), full.root(), "size {size}");
        for s in seqs {
            assert_eq!(tree.inclusion_proof(s).unwrap(), full.inclusion_proof(s as usize));
        }
        for m in olds {
            assert_eq!(tree.consistency_proof(m).unwrap(), full.consistency_proof(m as usize));
        }
    }
    // Five chunks now (1,300 / 256), the first two indexed before.
    assert_eq!(store.index_audit_nodes(1_300).await.unwrap(), 0);
    refused(db, "UPDATE audit_nodes SET hash = hash").await;
    refused(db, "DELETE FROM audit_nodes").await;
}
