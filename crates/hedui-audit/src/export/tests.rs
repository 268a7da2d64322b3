//! The tests of `export`.

use super::*;
use crate::checkpoint::{Checkpoint, sign};
use crate::entry::PersonRef;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use std::sync::LazyLock;

const ORIGIN: &str = "hedui.dejiang.gov.cn/audit";

fn hub_key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[0x66; 32])
}

fn entry(seq: u64) -> AuditEntry {
    let caseworker = seq % 3 != 2;
    AuditEntry {
        seq,
        time: format!("2026-11-26T15:{:02}:{:02}.{:03}Z", seq / 60, seq % 60, seq * 7 % 1000),
        actor: if caseworker {
            format!("caseworker:worker{}@dejiang", seq % 4)
        } else {
            "hub".into()
        },
        role: if caseworker { "caseworker" } else { "hub" }.into(),
        action: if caseworker {
            "SubmitVerification"
        } else {
            "source.query"
        }
        .into(),
        purpose: "minimum-living".into(),
        request_id: format!("req-{}", seq / 3),
        persons: vec![PersonRef::new(b"person key", &format!("5206221990010{:05}", seq))],
        departments: vec!["tax".into(), "housing".into()],
        status: if seq.is_multiple_of(7) { "TIMEOUT" } else { "OK" }.into(),
        record_digest: hex::encode([seq as u8; 32]),
        detail: String::new(),
    }
}

fn log(n: u64) -> Vec<AuditEntry> {
    (0..n).map(entry).collect()
}

fn leaves(entries: &[AuditEntry]) -> Vec<Hash> {
    entries.iter().map(AuditEntry::leaf).collect()
}

fn checkpoint_at(leaves: &[Hash], size: usize, key: &SigningKey) -> SignedCheckpoint {
    sign(
        Checkpoint {
            origin: ORIGIN.into(),
            tree_size: size as u64,
            root: merkle::root(&leaves[..size]),
            time: format!("2026-11-26T16:00:{size:02}.000Z"),
        },
        key,
    )
}

type Fixture = (Vec<AuditEntry>, Vec<Hash>, Vec<SignedCheckpoint>);

/// The log of 50 entries with checkpoints at 10, 30 and 50, built once:
/// Ed25519 in an unoptimised test build is slow enough to dominate the
/// property tests otherwise.
fn fixture() -> Fixture {
    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let entries = log(50);
        let leaves = leaves(&entries);
        let cps = [10, 30, 50]
            .iter()
            .map(|&s| checkpoint_at(&leaves, s, &hub_key()))
            .collect();
        (entries, leaves, cps)
    });
    FIXTURE.clone()
}

fn bundle_of(seqs: &[u64]) -> ExportBundle {
    let (entries, leaves, cps) = fixture();
    let picked = seqs.iter().map(|&s| entries[s as usize].clone()).collect();
    ExportBundle::build(
        picked,
        &leaves,
        cps[2].clone(),
        vec![cps[0].clone(), cps[1].clone()],
        &hub_key().verifying_key(),
    )
    .unwrap()
}

fn trusted() -> VerifyingKey {
    hub_key().verifying_key()
}

fn verify_err(bundle: &ExportBundle) -> BundleError {
    verify_bundle(bundle, &trusted()).unwrap_err()
}

#[test]
fn a_filtered_export_verifies() {
    let bundle = bundle_of(&[3, 17, 29, 49]);
    let report = verify_bundle(&bundle, &trusted()).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            entries_verified: 4,
            tree_size: 50,
            root_hex: hex::encode(bundle.checkpoint.checkpoint.root),
            checkpoints_verified: 3,
            scope: None,
        }
    );
    assert_eq!(bundle.public_key, format_public_key(&trusted()));
}

#[test]
fn a_full_export_verifies_after_a_json_round_trip() {
    let bundle = bundle_of(&(0..50).collect::<Vec<_>>());
    let json = serde_json::to_string_pretty(&bundle).unwrap();
    let back: ExportBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, bundle);
    assert_eq!(verify_bundle(&back, &trusted()).unwrap().entries_verified, 50);
}

#[test]
fn an_export_without_earlier_checkpoints_verifies() {
    let (entries, leaves, cps) = fixture();
    let bundle = ExportBundle::build(entries[..5].to_vec(), &leaves[..10], cps[0].clone(), vec![], &trusted()).unwrap();
    let json = serde_json::to_value(&bundle).unwrap();
    let mut obj = json.as_object().unwrap().clone();
    obj.remove("earlier_checkpoints");
    obj.remove("consistency");
    let back: ExportBundle = serde_json::from_value(obj.into()).unwrap();
    assert_eq!(verify_bundle(&back, &trusted()).unwrap().checkpoints_verified, 1);
}

#[test]
fn an_edited_entry_is_named() {
    let mut bundle = bundle_of(&[3, 17, 29]);
    bundle.entries[1].status = "PERMISSION_DENIED".into();
    let err = verify_err(&bundle);
    assert_eq!(err, BundleError::EntryNotIncluded { seq: 17 });
    assert_eq!(
        err.to_string(),
        "entry 17: inclusion proof does not match the signed root (the entry was altered or reordered)"
    );
}

#[test]
fn swapped_positions_are_detected() {
    let mut bundle = bundle_of(&[3, 17, 29]);
    bundle.entries[0].seq = 17;
    bundle.entries[1].seq = 3;
    assert_eq!(verify_err(&bundle), BundleError::EntryNotIncluded { seq: 17 });
    // Swapping the entries' contents but keeping their seqs is an edit of both.
    let mut bundle = bundle_of(&[3, 17]);
    let (a, b) = (bundle.entries[0].clone(), bundle.entries[1].clone());
    bundle.entries[0] = AuditEntry { seq: 3, ..b };
    bundle.entries[1] = AuditEntry { seq: 17, ..a };
    assert_eq!(verify_err(&bundle), BundleError::EntryNotIncluded { seq: 3 });
}

#[test]
fn an_entry_removed_from_the_export_leaves_its_proof_behind() {
    let mut bundle = bundle_of(&[3, 17, 29]);
    bundle.entries.remove(1);
    assert_eq!(verify_err(&bundle), BundleError::OrphanInclusionProof(17));
}

#[test]
fn a_changed_checkpoint_root_breaks_its_signature() {
    let mut bundle = bundle_of(&[3]);
    bundle.checkpoint.checkpoint.root[0] ^= 1;
    let err = verify_err(&bundle);
    assert_eq!(
        err,
        BundleError::Checkpoint {
            tree_size: 50,
            source: VerifyError::BadSignature
        }
    );
    assert!(
        err.to_string()
            .starts_with("checkpoint at tree size 50: signature does not verify"),
        "{err}"
    );

    let mut bundle = bundle_of(&[3]);
    bundle.earlier_checkpoints[0].checkpoint.root[0] ^= 1;
    assert!(matches!(
        verify_err(&bundle),
        BundleError::Checkpoint {
            tree_size: 10,
            source: VerifyError::BadSignature
        }
    ));
}

#[test]
fn an_export_re_signed_with_another_key_is_refused() {
    // The forger edits an entry, recomputes the tree, signs with their own
    // key and puts that key in the bundle: the trusted key still refuses it.
    let (mut entries, _, _) = fixture();
    entries[17].actor = "caseworker:someone.else@dejiang".into();
    let leaves = leaves(&entries);
    let forged_cp = checkpoint_at(&leaves, 50, &other_key());
    let bundle = ExportBundle::build(
        vec![entries[17].clone()],
        &leaves,
        forged_cp,
        vec![],
        &other_key().verifying_key(),
    )
    .unwrap();
    verify_bundle(&bundle, &other_key().verifying_key()).unwrap();
    let err = verify_err(&bundle);
    assert!(
        matches!(
            err,
            BundleError::Checkpoint {
                tree_size: 50,
                source: VerifyError::KeyIdMismatch { .. }
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_dropped_proof_element_is_detected() {
    let mut bundle = bundle_of(&[3, 17]);
    bundle.inclusion[1].proof.pop();
    assert_eq!(
        verify_err(&bundle),
        BundleError::InvalidInclusionProof {
            seq: 17,
            source: ProofError::ProofTooShort
        }
    );
    let mut bundle = bundle_of(&[3, 17]);
    bundle.consistency[0].proof.remove(0);
    assert!(matches!(
        verify_err(&bundle),
        BundleError::Inconsistent {
            from_size: 10,
            to_size: 50,
            ..
        }
    ));
}

#[test]
fn a_history_rewritten_and_re_signed_by_the_hub_is_inconsistent() {
    // The hub's own key signs a new head over a log whose entry 5 was
    // changed after the checkpoint at 10 was handed out.
    let (mut entries, _, cps) = fixture();
    entries[5].detail = "quietly changed".into();
    let leaves = leaves(&entries);
    let rewritten = checkpoint_at(&leaves, 50, &hub_key());
    let bundle = ExportBundle::build(
        vec![entries[20].clone()],
        &leaves,
        rewritten,
        vec![cps[0].clone(), cps[1].clone()],
        &trusted(),
    )
    .unwrap();
    let err = verify_err(&bundle);
    assert!(
        matches!(
            err,
            BundleError::Inconsistent {
                from_size: 10,
                to_size: 50,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("the log was rewritten"), "{err}");
}

#[test]
fn malformed_bundles_are_refused_with_a_reason() {
    let mut b = bundle_of(&[3]);
    b.format = "hedui-audit-export/2".into();
    assert!(matches!(verify_err(&b), BundleError::UnsupportedFormat(_)));

    let mut b = bundle_of(&[3, 17]);
    b.entries[1] = b.entries[0].clone();
    assert_eq!(verify_err(&b), BundleError::DuplicateSeq(3));

    let mut b = bundle_of(&[3, 17]);
    b.inclusion[1].seq = 3;
    assert_eq!(verify_err(&b), BundleError::DuplicateInclusionProof(3));

    let mut b = bundle_of(&[3, 17]);
    b.inclusion.remove(1);
    assert_eq!(verify_err(&b), BundleError::MissingInclusionProof(17));

    let mut b = bundle_of(&[3]);
    b.entries.push(entry(50));
    assert_eq!(
        verify_err(&b),
        BundleError::SeqBeyondCheckpoint { seq: 50, tree_size: 50 }
    );

    let mut b = bundle_of(&[3]);
    b.consistency.remove(1);
    assert_eq!(
        verify_err(&b),
        BundleError::MissingConsistencyProof {
            from_size: 30,
            to_size: 50
        }
    );

    let mut b = bundle_of(&[3]);
    b.earlier_checkpoints.remove(1);
    assert_eq!(
        verify_err(&b),
        BundleError::OrphanConsistencyProof {
            from_size: 30,
            to_size: 50
        }
    );

    let mut json = serde_json::to_value(bundle_of(&[3])).unwrap();
    json["entries"][0]["extra"] = "smuggled".into();
    assert!(serde_json::from_value::<ExportBundle>(json).is_err());
}

#[test]
fn checkpoints_of_another_log_are_refused() {
    let (_, _, cps) = fixture();
    let mut other = cps[0].checkpoint.clone();
    other.origin = "hedui.other.gov.cn/audit".into();
    let other = sign(other, &hub_key());
    let mut b = bundle_of(&[3]);
    b.earlier_checkpoints[0] = other.clone();
    assert!(matches!(
        verify_err(&b),
        BundleError::OriginMismatch { tree_size: 10, .. }
    ));
    let err = verify_full_log(&log(50), &[cps[2].clone(), other], &trusted()).unwrap_err();
    assert!(
        matches!(err, BundleError::OriginMismatch { tree_size: 10, .. }),
        "{err:?}"
    );
}

#[test]
fn building_refuses_inputs_that_would_not_verify() {
    let (mut entries, leaves, cps) = fixture();
    let key = trusted();
    assert_eq!(
        ExportBundle::build(vec![], &leaves[..49], cps[2].clone(), vec![], &key),
        Err(BundleError::LeafCountMismatch {
            leaves: 49,
            tree_size: 50
        })
    );
    let mut wrong = leaves.clone();
    wrong[0] = wrong[1];
    assert_eq!(
        ExportBundle::build(vec![], &wrong, cps[2].clone(), vec![], &key),
        Err(BundleError::StoredRootMismatch { tree_size: 50 })
    );
    entries[4].detail = "edited in the database".into();
    assert_eq!(
        ExportBundle::build(vec![entries[4].clone()], &leaves, cps[2].clone(), vec![], &key),
        Err(BundleError::EntryLeafMismatch { seq: 4 })
    );
    assert_eq!(
        ExportBundle::build(vec![entry(1), entry(1)], &leaves, cps[2].clone(), vec![], &key),
        Err(BundleError::DuplicateSeq(1))
    );
    assert_eq!(
        ExportBundle::build(vec![entry(60)], &leaves, cps[2].clone(), vec![], &key),
        Err(BundleError::SeqBeyondCheckpoint { seq: 60, tree_size: 50 })
    );
    assert_eq!(
        ExportBundle::build(vec![], &leaves[..10], cps[0].clone(), vec![cps[1].clone()], &key),
        Err(BundleError::EarlierCheckpointTooLarge {
            tree_size: 30,
            latest_size: 10
        })
    );
}

#[test]
fn the_full_log_verifies() {
    let (entries, _, cps) = fixture();
    let report = verify_full_log(&entries, &cps, &trusted()).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            entries_verified: 50,
            tree_size: 50,
            root_hex: hex::encode(cps[2].checkpoint.root),
            checkpoints_verified: 3,
            scope: None,
        }
    );
    // Checkpoints in any order, and rows not yet signed after the last one.
    let longer = log(55);
    let reversed: Vec<_> = cps.iter().rev().cloned().collect();
    let report = verify_full_log(&longer, &reversed, &trusted()).unwrap();
    assert_eq!(report.entries_verified, 50);
    assert_eq!(
        verify_full_log(&entries, &[], &trusted()),
        Err(BundleError::NoCheckpoint)
    );
}

#[test]
fn the_full_log_finds_every_kind_of_tampering() {
    let (entries, _, cps) = fixture();
    let check =
        |entries: &[AuditEntry], cps: &[SignedCheckpoint]| verify_full_log(entries, cps, &trusted()).unwrap_err();

    let mut edited = entries.clone();
    edited[17].persons[0].masked = "5206**********0000".into();
    let err = check(&edited, &cps);
    assert_eq!(
        err,
        BundleError::RootMismatch {
            tree_size: 30,
            verified_size: 10
        }
    );
    assert!(err.to_string().contains("seq in 10..30"), "{err}");

    let mut deleted = entries.clone();
    deleted.remove(17);
    assert_eq!(
        check(&deleted, &cps),
        BundleError::SeqMismatch { position: 17, seq: 18 }
    );

    let mut renumbered = deleted.clone();
    for (i, e) in renumbered.iter_mut().enumerate() {
        e.seq = i as u64;
    }
    // 49 rows are left, so the checkpoint at 30 is the first to fail.
    assert_eq!(
        check(&renumbered, &cps),
        BundleError::RootMismatch {
            tree_size: 30,
            verified_size: 10
        }
    );

    let mut swapped = entries.clone();
    swapped.swap(3, 4);
    assert_eq!(check(&swapped, &cps), BundleError::SeqMismatch { position: 3, seq: 4 });
    let (s3, s4) = (swapped[3].seq, swapped[4].seq);
    swapped[3].seq = s4;
    swapped[4].seq = s3;
    assert_eq!(
        check(&swapped, &cps),
        BundleError::RootMismatch {
            tree_size: 10,
            verified_size: 0
        }
    );

    let truncated = &entries[..45];
    assert_eq!(
        check(truncated, &cps),
        BundleError::CheckpointBeyondLog {
            tree_size: 50,
            log_size: 45
        }
    );

    let mut bad_cp = cps.clone();
    bad_cp[1].checkpoint.root[31] ^= 0x80;
    assert_eq!(
        check(&entries, &bad_cp),
        BundleError::Checkpoint {
            tree_size: 30,
            source: VerifyError::BadSignature
        }
    );

    let leaves = leaves(&entries);
    let foreign = vec![checkpoint_at(&leaves, 50, &other_key())];
    assert!(matches!(
        check(&entries, &foreign),
        BundleError::Checkpoint {
            tree_size: 50,
            source: VerifyError::KeyIdMismatch { .. }
        }
    ));
}

/// The fields an attacker might edit, applied by index.
fn tamper(e: &mut AuditEntry, field: usize) {
    match field {
        0 => e.time.push('0'),
        1 => e.actor = "caseworker:nobody@dejiang".into(),
        2 => e.action = "GetRecord".into(),
        3 => e.status = "PERMISSION_DENIED".into(),
        4 => e.persons.clear(),
        5 => e.departments.push("pboc".into()),
        6 => e.record_digest = String::new(),
        _ => e.detail = "x".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_tampered_entry_is_caught(pos in 0usize..50, field in 0usize..8, other in 0usize..50) {
        let (entries, _, cps) = fixture();
        let mut tampered = entries.clone();
        tamper(&mut tampered[pos], field);
        let sizes = [10usize, 30, 50];
        let first_bad = *sizes.iter().find(|&&s| pos < s).unwrap() as u64;
        let verified = sizes.iter().rev().find(|&&s| s <= pos).map_or(0, |&s| s as u64);
        prop_assert_eq!(
            verify_full_log(&tampered, &cps, &trusted()),
            Err(BundleError::RootMismatch { tree_size: first_bad, verified_size: verified })
        );

        let seqs = if pos == other { vec![pos as u64] } else { vec![pos as u64, other as u64] };
        let mut bundle = bundle_of(&seqs);
        tamper(&mut bundle.entries[0], field);
        prop_assert_eq!(
            verify_bundle(&bundle, &trusted()).map(|r| r.entries_verified),
            Err(BundleError::EntryNotIncluded { seq: pos as u64 })
        );
    }

}

#[test]
fn every_removed_row_is_caught() {
    let (entries, _, cps) = fixture();
    for pos in 0..entries.len() {
        let mut rows = entries.clone();
        rows.remove(pos);
        let err = verify_full_log(&rows, &cps, &trusted()).unwrap_err();
        if pos < 49 {
            assert_eq!(
                err,
                BundleError::SeqMismatch {
                    position: pos,
                    seq: pos as u64 + 1
                }
            );
        } else {
            assert_eq!(
                err,
                BundleError::CheckpointBeyondLog {
                    tree_size: 50,
                    log_size: 49
                }
            );
        }
    }
}

/// The store's proof index over all of `leaves`, built in one step, read
/// as `needs` lists: the helper of `nodes`' own tests.
fn stored_tree(leaves: &[Hash], needs: &crate::nodes::Needs) -> crate::nodes::StoredTree {
    crate::nodes::tests::stored(crate::nodes::CHUNK_LEVEL, leaves, leaves.len(), needs)
}

#[test]
fn an_export_from_the_proof_index_equals_one_from_every_leaf() {
    let entries = log(1_300);
    let leaves = leaves(&entries);
    let key = hub_key();
    let cps: Vec<_> = [300, 1_000, 1_300]
        .iter()
        .map(|&s| checkpoint_at(&leaves, s, &key))
        .collect();
    let seqs = [0u64, 255, 256, 700, 1_299];
    let picked: Vec<AuditEntry> = seqs.iter().map(|&s| entries[s as usize].clone()).collect();
    let earlier = vec![cps[0].clone(), cps[1].clone()];
    let needs = crate::nodes::Needs::for_proofs(1_300, &seqs, &[300, 1_000]);
    let tree = stored_tree(&leaves, &needs);
    let from_nodes =
        ExportBundle::build_from_nodes(picked.clone(), &tree, cps[2].clone(), earlier.clone(), &trusted()).unwrap();
    let from_leaves = ExportBundle::build(picked, &leaves, cps[2].clone(), earlier, &trusted()).unwrap();
    assert_eq!(
        serde_json::to_string(&from_nodes).unwrap(),
        serde_json::to_string(&from_leaves).unwrap()
    );
    verify_bundle(&from_nodes, &trusted()).unwrap();

    // An entry whose chunk was not read is named, not guessed.
    let lacking = crate::nodes::Needs::for_proofs(1_300, &[0], &[]);
    let tree = stored_tree(&leaves, &lacking);
    let e = ExportBundle::build_from_nodes(vec![entries[700].clone()], &tree, cps[2].clone(), vec![], &trusted())
        .unwrap_err();
    assert!(matches!(e, BundleError::Missing(_)), "{e}");
}
