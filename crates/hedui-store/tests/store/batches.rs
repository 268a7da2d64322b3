//! Batches: drafts, starting, claiming with leases, exactly-once completion.

use std::collections::HashSet;

use hedui_proto::v1::{Household, Member, Purpose, Verdict, VerificationRecord};
use hedui_store::PutOutcome;
use hedui_store::batch::{BatchState, ItemOutcome, NewBatch, NewItem, Transition, item_key};

use crate::backends::TestDb;

fn new_batch(id: &str) -> NewBatch {
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

fn items(n: usize, first_row: i64) -> Vec<NewItem> {
    (0..n)
        .map(|i| NewItem {
            first_row: first_row + i as i64,
            household_ref: format!("H-{i}"),
            request: vec![i as u8; 3],
        })
        .collect()
}

fn record(id: &str) -> VerificationRecord {
    let mut r = VerificationRecord {
        record_id: id.into(),
        request_id: format!("req-{id}"),
        created_at: "2026-01-01T00:00:01.000Z".into(),
        household: Some(Household {
            household_ref: format!("H-{id}"),
            residence: 1,
            members: vec![Member {
                name: "测试".into(),
                id_number: "522226199001010011".into(),
                relation: 1,
                lacks_capacity: false,
            }],
        }),
        purpose: Purpose::MinimumLiving as i32,
        verdict: Verdict::MeetsCriteria as i32,
        policy_version: "test".into(),
        ..Default::default()
    };
    hedui_domain::digest::seal(&mut r);
    r
}

fn done(record_id: &str, flagged: bool) -> ItemOutcome {
    ItemOutcome {
        record_id: Some(record_id.into()),
        verdict: "VERDICT_MEETS_CRITERIA".into(),
        flagged,
        error: String::new(),
    }
}

/// The item's verdict column, edited behind the hub's back, is refused when
/// the results are read.
pub async fn an_edited_item_verdict_is_refused_in_results(db: &TestDb) {
    let store = &db.store;
    leases_expire_and_items_are_reclaimed_and_completed_once(db).await;
    store
        .execute_raw_for_tests(
            "UPDATE batch_items SET verdict = 'VERDICT_DOES_NOT_MEET' WHERE batch_id = 'b' AND seq = 3",
        )
        .await
        .unwrap();
    let err = store.batch_results("b", 0, 10, false).await.unwrap_err();
    assert!(err.to_string().contains("batch b item 3"), "{err}");
}

pub async fn a_draft_never_runs_and_an_empty_batch_cannot_start(db: &TestDb) {
    let store = &db.store;
    store.create_batch(&new_batch("b1")).await.unwrap();
    assert_eq!(store.start_batch("b1", "t").await.unwrap(), Transition::Empty);
    assert_eq!(store.add_batch_items("b1", &items(3, 2)).await.unwrap(), Ok(3));
    assert_eq!(store.add_batch_items("b1", &items(2, 5)).await.unwrap(), Ok(5));
    // Still a draft: nothing is claimed.
    assert!(
        store
            .claim_batch_items("w", 1_000, 61_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let info = store.get_batch("b1").await.unwrap().unwrap();
    assert_eq!((info.state, info.total, info.pending), (BatchState::Draft, 5, 5));
    assert_eq!(store.start_batch("b1", "t").await.unwrap(), Transition::Changed);
    assert_eq!(
        store.start_batch("b1", "t").await.unwrap(),
        Transition::WrongState(BatchState::Running)
    );
    // A running batch takes no more households.
    assert_eq!(
        store.add_batch_items("b1", &items(1, 9)).await.unwrap(),
        Err(Transition::WrongState(BatchState::Running))
    );
    assert_eq!(
        store.add_batch_items("nope", &items(1, 9)).await.unwrap(),
        Err(Transition::NotFound)
    );
    assert_eq!(store.start_batch("nope", "t").await.unwrap(), Transition::NotFound);
    // A cancelled draft never runs either.
    store.create_batch(&new_batch("b2")).await.unwrap();
    store.add_batch_items("b2", &items(2, 2)).await.unwrap().unwrap();
    assert_eq!(store.cancel_batch("b2", "t").await.unwrap(), Transition::Changed);
    assert_eq!(
        store.start_batch("b2", "t").await.unwrap(),
        Transition::WrongState(BatchState::Cancelled)
    );
    let claimed = store.claim_batch_items("w", 1_000, 61_000, 100).await.unwrap();
    assert_eq!(claimed.len(), 5);
    assert!(claimed.iter().all(|c| c.batch_id == "b1" && c.attempts == 1));
    let listed = store.list_batches(10).await.unwrap();
    assert_eq!(listed.len(), 2);
}

pub async fn leases_expire_and_items_are_reclaimed_and_completed_once(db: &TestDb) {
    let store = &db.store;
    store.create_batch(&new_batch("b")).await.unwrap();
    store.add_batch_items("b", &items(4, 2)).await.unwrap().unwrap();
    store.start_batch("b", "t").await.unwrap();
    let a = store.claim_batch_items("hub-a", 1_000, 2_000, 3).await.unwrap();
    assert_eq!(a.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    // While the lease holds, only the fourth is left.
    let b = store.claim_batch_items("hub-b", 1_500, 2_500, 10).await.unwrap();
    assert_eq!(b.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![4]);
    // hub-a dies; after its lease runs out hub-b takes its items over.
    let b2 = store.claim_batch_items("hub-b", 2_001, 9_000, 10).await.unwrap();
    assert_eq!(b2.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(b2.iter().all(|c| c.attempts == 2));
    // The dead hub's late completion is refused: it no longer holds the item.
    assert!(
        !store
            .complete_batch_item("b", 1, "hub-a", &done("x", false), "t")
            .await
            .unwrap()
    );
    // Records are stored first under the item's key, then the item marked.
    for (i, seq) in [1, 2, 3, 4].into_iter().enumerate() {
        let mut r = record(&format!("00000000-0000-7000-8000-00000000000{i}"));
        if seq == 2 {
            // The item's flagged column must say what its record says.
            r.flags.push(hedui_proto::v1::Flag {
                detail: "a flag for the home-visit list".into(),
                ..Default::default()
            });
            hedui_domain::digest::seal(&mut r);
        }
        let key = item_key("b", seq);
        assert_eq!(store.put_record(&r, &key, "h").await.unwrap(), PutOutcome::Inserted);
        // A re-run after a crash replays the same record.
        let again = record(&format!("00000000-0000-7000-8000-10000000000{i}"));
        assert!(matches!(
            store.put_record(&again, &key, "h").await.unwrap(),
            PutOutcome::Existing { .. }
        ));
        assert!(
            store
                .complete_batch_item("b", seq, "hub-b", &done(&r.record_id, seq == 2), "t2")
                .await
                .unwrap()
        );
    }
    let info = store.get_batch("b").await.unwrap().unwrap();
    assert_eq!(info.state, BatchState::Done);
    assert_eq!((info.total, info.done, info.pending, info.running), (4, 4, 0, 0));
    assert_eq!(info.flagged, 1);
    assert_eq!(info.retried, 3);
    assert_eq!(info.verdicts, vec![("VERDICT_MEETS_CRITERIA".to_owned(), 4)]);
    assert_eq!(info.finished_at.as_deref(), Some("t2"));
    // Nothing is left to claim, even much later.
    assert!(
        store
            .claim_batch_items("hub-c", i64::MAX - 1, i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Results page by seq; the flagged filter keeps the home-visit list.
    let page = store.batch_results("b", 0, 2, false).await.unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(page[0].first_row, 2);
    let page = store.batch_results("b", 2, 2, false).await.unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert!(page.iter().all(|r| r.record.is_some()));
    let flagged = store.batch_results("b", 0, 10, true).await.unwrap();
    assert_eq!(flagged.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2]);
}

pub async fn a_rescheduled_item_waits_for_its_time(db: &TestDb) {
    let store = &db.store;
    store.create_batch(&new_batch("b")).await.unwrap();
    store.add_batch_items("b", &items(1, 2)).await.unwrap().unwrap();
    store.start_batch("b", "t").await.unwrap();
    let c = store.claim_batch_items("w", 1_000, 5_000, 10).await.unwrap();
    assert_eq!(c.len(), 1);
    assert!(
        store
            .reschedule_batch_item("b", 1, "w", 3_000, "tax UNAVAILABLE")
            .await
            .unwrap()
    );
    assert!(store.claim_batch_items("w", 2_999, 9_000, 10).await.unwrap().is_empty());
    let c = store.claim_batch_items("w", 3_000, 9_000, 10).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].attempts, 2);
    let info = store.get_batch("b").await.unwrap().unwrap();
    assert_eq!((info.running, info.pending), (1, 0));
}

pub async fn concurrent_claimers_never_get_the_same_item(db: &TestDb) {
    let store = &db.store;
    store.create_batch(&new_batch("b")).await.unwrap();
    let n = 300;
    for chunk in 0..3 {
        store
            .add_batch_items("b", &items(100, 2 + chunk * 100))
            .await
            .unwrap()
            .unwrap();
    }
    store.start_batch("b", "t").await.unwrap();
    // Two stores (two hubs, each with its own pool) claim at once.
    let other = db.reopen().await.unwrap();
    let claimers = [store.clone(), other.clone(), store.clone(), other];
    let mut tasks = Vec::new();
    for (i, s) in claimers.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let owner = format!("hub-{i}");
            let mut mine = Vec::new();
            loop {
                let got = s.claim_batch_items(&owner, 1_000, 1_000_000, 7).await.unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|c| c.seq));
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for t in tasks {
        for seq in t.await.unwrap() {
            total += 1;
            assert!(seen.insert(seq), "item {seq} was claimed twice");
        }
    }
    assert_eq!(total, n);
    assert_eq!(seen.len(), n);
}

/// The last households of a batch, finished at the same moment by two hubs,
/// end the batch. Each completion reads whether anything is left; without
/// the batch row locked first, each saw the other's item still RUNNING and
/// the batch stayed RUNNING for ever (found by CI, two hubs on PostgreSQL).
pub async fn the_last_households_finished_at_once_end_the_batch(db: &TestDb) {
    let other = db.reopen().await.unwrap();
    for round in 0..40 {
        let id = format!("b{round}");
        db.store.create_batch(&new_batch(&id)).await.unwrap();
        db.store.add_batch_items(&id, &items(2, 2)).await.unwrap().unwrap();
        db.store.start_batch(&id, "t").await.unwrap();
        let a = db.store.claim_batch_items("hub-a", 1_000, 9_000, 1).await.unwrap();
        let b = other.claim_batch_items("hub-b", 1_000, 9_000, 1).await.unwrap();
        assert_eq!((a.len(), b.len()), (1, 1));
        // Each household's record is stored first, as the worker does.
        for (i, seq) in [a[0].seq, b[0].seq].into_iter().enumerate() {
            let r = record(&format!("00000000-0000-7000-8000-{round:06}{i:06}"));
            let stored = db.store.put_record(&r, &item_key(&id, seq), "h").await.unwrap();
            assert_eq!(stored, PutOutcome::Inserted);
        }
        let gate = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let finish = |s: hedui_store::Store, owner: &'static str, seq: i64, i: usize| {
            let (gate, id) = (gate.clone(), id.clone());
            let record_id = format!("00000000-0000-7000-8000-{round:06}{i:06}");
            tokio::spawn(async move {
                gate.wait().await;
                s.complete_batch_item(&id, seq, owner, &done(&record_id, false), "t2")
                    .await
                    .unwrap()
            })
        };
        let ta = finish(db.store.clone(), "hub-a", a[0].seq, 0);
        let tb = finish(other.clone(), "hub-b", b[0].seq, 1);
        assert!(ta.await.unwrap() && tb.await.unwrap());
        let info = db.store.get_batch(&id).await.unwrap().unwrap();
        assert_eq!(
            (info.state, info.done),
            (BatchState::Done, 2),
            "round {round}: both households are done, so is the batch"
        );
    }
}

/// A batch item given with its record to an audit append is marked DONE in
/// that transaction when its lease still holds; a lost lease leaves the item
/// to its holder; a record refused (key taken) rolls its item back with it;
/// the last item ends the batch.
pub async fn an_item_ends_in_the_transaction_of_its_record(db: &TestDb) {
    use hedui_audit::entry::{AuditEntry, PersonRef};
    use hedui_store::audit::{RecordStored, RecordToStore};
    use hedui_store::batch::ItemDone;
    let store = &db.store;
    store.create_batch(&new_batch("b")).await.unwrap();
    store.add_batch_items("b", &items(3, 2)).await.unwrap().unwrap();
    store.start_batch("b", "t").await.unwrap();
    let claimed = store.claim_batch_items("hub-a", 1_000, 9_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let person = "522226199001010011";
    let entry = |seq: u64, digest: &str| {
        let e = AuditEntry {
            seq,
            time: "2026-11-26T10:00:00.000Z".into(),
            actor: "zhang.san".into(),
            role: "caseworker".into(),
            action: "batch.household".into(),
            purpose: "minimum-living".into(),
            request_id: String::new(),
            persons: vec![PersonRef::new(b"k", person)],
            departments: vec!["tax".into()],
            status: "OK".into(),
            record_digest: digest.into(),
            detail: String::new(),
        };
        let leaf = e.leaf();
        (e, leaf)
    };
    let records: Vec<VerificationRecord> = (1..=4)
        .map(|i| record(&format!("00000000-0000-7000-8000-00000000000{i}")))
        .collect();
    let outcomes: Vec<ItemOutcome> = records.iter().map(ItemOutcome::of_record).collect();
    let keys: Vec<String> = (1..=3).map(|seq| item_key("b", seq)).collect();
    let item = |seq: i64, owner: &'static str| ItemDone {
        batch_id: "b",
        seq,
        owner,
        outcome: &outcomes[(seq - 1) as usize],
        now: "t2",
    };
    // Items 1 and 2 end with their records; item 3's lease is hub-a's, so
    // hub-x's record is stored and its item left RUNNING for hub-a.
    let stored = store
        .append_audit_with_records(
            &[
                entry(0, &records[0].digest),
                entry(1, &records[1].digest),
                entry(2, &records[2].digest),
            ],
            &[
                RecordToStore {
                    record: &records[0],
                    idempotency_key: &keys[0],
                    request_hash: "h",
                    entry_seq: 0,
                    batch_item: Some(item(1, "hub-a")),
                },
                RecordToStore {
                    record: &records[1],
                    idempotency_key: &keys[1],
                    request_hash: "h",
                    entry_seq: 1,
                    batch_item: Some(item(2, "hub-a")),
                },
                RecordToStore {
                    record: &records[2],
                    idempotency_key: &keys[2],
                    request_hash: "h",
                    entry_seq: 2,
                    batch_item: Some(item(3, "hub-x")),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(stored, vec![RecordStored::Inserted; 3]);
    let info = store.get_batch("b").await.unwrap().unwrap();
    assert_eq!((info.state, info.done, info.running), (BatchState::Running, 2, 1));
    let done_page = store.batch_results("b", 0, 10, false).await.unwrap();
    assert_eq!(done_page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(
        done_page[0].record.as_ref().map(|r| r.record_id.as_str()),
        Some(records[0].record_id.as_str())
    );
    // A second record under item 3's key is refused, and its item's DONE is
    // rolled back with it: nothing of that append is written.
    let stored = store
        .append_audit_with_records(
            &[entry(3, &records[3].digest)],
            &[RecordToStore {
                record: &records[3],
                idempotency_key: &keys[2],
                request_hash: "h",
                entry_seq: 3,
                batch_item: Some(ItemDone {
                    outcome: &outcomes[3],
                    ..item(3, "hub-a")
                }),
            }],
        )
        .await
        .unwrap();
    assert_eq!(stored, vec![RecordStored::KeyTaken]);
    assert_eq!(store.audit_size().await.unwrap(), 3);
    let info = store.get_batch("b").await.unwrap().unwrap();
    assert_eq!((info.state, info.done, info.running), (BatchState::Running, 2, 1));
    // hub-a replays the stored record and marks its item on its own; that
    // was the last, so the batch is done.
    assert!(
        store
            .complete_batch_item("b", 3, "hub-a", &outcomes[2], "t3")
            .await
            .unwrap()
    );
    let info = store.get_batch("b").await.unwrap().unwrap();
    assert_eq!((info.state, info.done), (BatchState::Done, 3));
    assert_eq!(info.finished_at.as_deref(), Some("t3"));
}

/// The last item ending inside an audit append ends its batch there too.
pub async fn the_last_item_ending_with_its_record_ends_the_batch(db: &TestDb) {
    use hedui_audit::entry::{AuditEntry, PersonRef};
    use hedui_store::audit::{RecordStored, RecordToStore};
    use hedui_store::batch::ItemDone;
    let store = &db.store;
    store.create_batch(&new_batch("b")).await.unwrap();
    store.add_batch_items("b", &items(1, 2)).await.unwrap().unwrap();
    store.start_batch("b", "t").await.unwrap();
    assert_eq!(
        store.claim_batch_items("hub-a", 1_000, 9_000, 10).await.unwrap().len(),
        1
    );
    let r = record("00000000-0000-7000-8000-000000000001");
    let outcome = ItemOutcome::of_record(&r);
    let e = AuditEntry {
        seq: 0,
        time: "2026-11-26T10:00:00.000Z".into(),
        actor: "zhang.san".into(),
        role: "caseworker".into(),
        action: "batch.household".into(),
        purpose: "minimum-living".into(),
        request_id: String::new(),
        persons: vec![PersonRef::new(b"k", "522226199001010011")],
        departments: vec!["tax".into()],
        status: "OK".into(),
        record_digest: r.digest.clone(),
        detail: String::new(),
    };
    let leaf = e.leaf();
    let stored = store
        .append_audit_with_records(
            &[(e, leaf)],
            &[RecordToStore {
                record: &r,
                idempotency_key: &item_key("b", 1),
                request_hash: "h",
                entry_seq: 0,
                batch_item: Some(ItemDone {
                    batch_id: "b",
                    seq: 1,
                    owner: "hub-a",
                    outcome: &outcome,
                    now: "t2",
                }),
            }],
        )
        .await
        .unwrap();
    assert_eq!(stored, vec![RecordStored::Inserted]);
    let info = store.get_batch("b").await.unwrap().unwrap();
    assert_eq!((info.state, info.done), (BatchState::Done, 1));
    assert_eq!(info.finished_at.as_deref(), Some("t2"));
    assert_eq!(info.verdicts, vec![("VERDICT_MEETS_CRITERIA".to_owned(), 1)]);
}
