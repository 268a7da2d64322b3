//! The export an auditor takes away, and the two offline verifiers.
//!
//! [`verify_bundle`] checks a filtered export: each entry in it is in the
//! signed tree, unchanged and at its position, and each earlier signed
//! checkpoint is a prefix of the latest one, so the hub did not rewrite
//! history after signing them. A filtered export cannot show that no other
//! entry was deleted; [`verify_full_log`] does, given the entire log from
//! seq 0, by recomputing the root at every signed checkpoint.
//!
//! Both take the trusted public key from the auditor, never from the
//! export: the `public_key` in a bundle is informational, since anyone who
//! can edit the file can replace the key together with the signatures.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::checkpoint::{SignedCheckpoint, VerifyError, format_public_key};
use crate::entry::AuditEntry;
use crate::merkle::{self, Frontier, Hash, MerkleTree, ProofError};
use crate::nodes::StoredTree;

/// The value of [`ExportBundle::format`] for this version of the bundle.
pub const FORMAT: &str = "hedui-audit-export/1";

/// A self-contained export of audit entries with the proofs that tie them
/// to a signed checkpoint. It is meant to be written as JSON, with hashes
/// and signatures in hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportBundle {
    /// Always [`FORMAT`]; a verifier refuses formats it does not know.
    pub format: String,
    /// The hub's public key as `ed25519:<hex>`, for information only: the
    /// auditor supplies the trusted key separately.
    pub public_key: String,
    /// The exported entries: all of the log or a filtered subset, each with
    /// its seq.
    pub entries: Vec<AuditEntry>,
    /// The latest signed checkpoint, covering every entry
    /// (`tree_size > seq`).
    pub checkpoint: SignedCheckpoint,
    /// One inclusion proof per entry, against `checkpoint`'s root.
    pub inclusion: Vec<InclusionProof>,
    /// Earlier signed checkpoints the auditor may already hold, each shown
    /// consistent with `checkpoint` by a proof in `consistency`.
    #[serde(default)]
    pub earlier_checkpoints: Vec<SignedCheckpoint>,
    /// One consistency proof per distinct earlier tree size, from that size
    /// to `checkpoint.tree_size`.
    #[serde(default)]
    pub consistency: Vec<ConsistencyProof>,
    /// What the hub put in this export, signed by it: a range it exported
    /// complete, or a filtered selection (see [`crate::scope`]). Exports
    /// made before scopes existed have none; their completeness is not
    /// claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::scope::SignedScope>,
}

/// The audit path of the entry with sequence number `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The entry's seq, which is its leaf index.
    pub seq: u64,
    /// The sibling hashes from the leaf up, hex in JSON.
    #[serde(with = "crate::hexser::hashes")]
    pub proof: Vec<Hash>,
}

/// A proof that the tree of `from_size` entries is a prefix of the tree of
/// `to_size` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The size of the earlier tree.
    pub from_size: u64,
    /// The size of the later tree.
    pub to_size: u64,
    /// The RFC 6962 consistency proof, hex in JSON.
    #[serde(with = "crate::hexser::hashes")]
    pub proof: Vec<Hash>,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// The number of entries proven to be in the signed log unchanged. For
    /// [`verify_full_log`] this is the size of the largest checkpoint: rows
    /// after it are not yet covered by any signature.
    pub entries_verified: usize,
    /// The size of the latest signed checkpoint.
    pub tree_size: u64,
    /// The root of the latest signed checkpoint, in hex.
    pub root_hex: String,
    /// The number of checkpoints whose signature and root were checked.
    pub checkpoints_verified: usize,
    /// For an export with a signed scope: what it was checked to hold.
    /// `None` when the export states no scope (completeness not claimed),
    /// and for a full log.
    pub scope: Option<crate::scope::ScopeStatement>,
}

/// Why an export or a log failed verification, or could not be built.
/// Each message names the entry seq or checkpoint size concerned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BundleError {
    /// The bundle's format is not one this verifier knows.
    #[error("unsupported export format {0:?} (expected \"hedui-audit-export/1\")")]
    UnsupportedFormat(String),
    /// A checkpoint's signature or fields did not verify.
    #[error("checkpoint at tree size {tree_size}: {source}")]
    Checkpoint {
        /// The size the checkpoint claims.
        tree_size: u64,
        /// What was wrong with it.
        source: VerifyError,
    },
    /// Checkpoints of different logs were mixed.
    #[error("checkpoint at tree size {tree_size}: origin {origin:?} differs from {expected:?}")]
    OriginMismatch {
        /// The size the checkpoint claims.
        tree_size: u64,
        /// Its origin.
        origin: String,
        /// The origin of the latest checkpoint.
        expected: String,
    },
    /// Verifying a log needs at least one signed checkpoint.
    #[error("no signed checkpoint to verify against")]
    NoCheckpoint,
    /// Two entries claim the same position.
    #[error("entry {0}: appears more than once")]
    DuplicateSeq(u64),
    /// An entry lies outside the tree the checkpoint signs.
    #[error("entry {seq}: not covered by the checkpoint (tree size {tree_size})")]
    SeqBeyondCheckpoint {
        /// The entry's seq.
        seq: u64,
        /// The checkpoint's tree size.
        tree_size: u64,
    },
    /// An entry has no inclusion proof.
    #[error("entry {0}: no inclusion proof")]
    MissingInclusionProof(u64),
    /// Two inclusion proofs for one seq.
    #[error("entry {0}: more than one inclusion proof")]
    DuplicateInclusionProof(u64),
    /// An inclusion proof whose entry is not in the bundle: the entry was
    /// removed from the export after it was made.
    #[error("entry {0}: inclusion proof present but the entry is missing (it was removed from the export)")]
    OrphanInclusionProof(u64),
    /// The entry's hash does not lead to the signed root.
    #[error("entry {seq}: inclusion proof does not match the signed root (the entry was altered or reordered)")]
    EntryNotIncluded {
        /// The entry's seq.
        seq: u64,
    },
    /// The inclusion proof has the wrong shape for the entry's position.
    #[error("entry {seq}: malformed inclusion proof: {source}")]
    InvalidInclusionProof {
        /// The entry's seq.
        seq: u64,
        /// What was wrong with the proof.
        source: ProofError,
    },
    /// An earlier checkpoint is larger than the one it should precede.
    #[error("checkpoint at tree size {tree_size}: larger than the latest checkpoint (tree size {latest_size})")]
    EarlierCheckpointTooLarge {
        /// The earlier checkpoint's size.
        tree_size: u64,
        /// The latest checkpoint's size.
        latest_size: u64,
    },
    /// An earlier checkpoint has no consistency proof.
    #[error("checkpoint at tree size {from_size}: no consistency proof to tree size {to_size}")]
    MissingConsistencyProof {
        /// The earlier size.
        from_size: u64,
        /// The latest size.
        to_size: u64,
    },
    /// A consistency proof that matches no earlier checkpoint.
    #[error("consistency proof from tree size {from_size} to {to_size} matches no earlier checkpoint")]
    OrphanConsistencyProof {
        /// The proof's earlier size.
        from_size: u64,
        /// The proof's later size.
        to_size: u64,
    },
    /// An earlier signed tree is not a prefix of the latest one.
    #[error(
        "checkpoint at tree size {from_size}: not consistent with the checkpoint at tree size {to_size}: {source} (the log was rewritten after the earlier checkpoint was signed, or the proof is corrupt)"
    )]
    Inconsistent {
        /// The earlier size.
        from_size: u64,
        /// The latest size.
        to_size: u64,
        /// What the proof verifier found.
        source: ProofError,
    },
    /// A row of a full log is not at the position its seq says.
    #[error("row {position}: has seq {seq}, expected {position} (an entry was deleted, inserted or reordered)")]
    SeqMismatch {
        /// The 0-based row position in the log given.
        position: usize,
        /// The seq the row carries.
        seq: u64,
    },
    /// A checkpoint signs more entries than the log holds.
    #[error(
        "checkpoint at tree size {tree_size}: the log holds only {log_size} entries (entries were deleted from the end)"
    )]
    CheckpointBeyondLog {
        /// The checkpoint's size.
        tree_size: u64,
        /// The number of entries given.
        log_size: usize,
    },
    /// The entries recompute to a root other than the signed one.
    #[error(
        "checkpoint at tree size {tree_size}: the entries recompute to a different root (an entry with seq in {verified_size}..{tree_size} was edited, deleted, inserted or reordered)"
    )]
    RootMismatch {
        /// The checkpoint's size.
        tree_size: u64,
        /// The size up to which the log matched an earlier checkpoint; the
        /// change lies after it.
        verified_size: u64,
    },
    /// Building an export: the leaf hashes given do not match the
    /// checkpoint's size.
    #[error("cannot build export: {leaves} leaf hashes given for a checkpoint of tree size {tree_size}")]
    LeafCountMismatch {
        /// The number of leaf hashes given.
        leaves: usize,
        /// The checkpoint's size.
        tree_size: u64,
    },
    /// Building an export: the stored leaf hashes do not give the signed
    /// root.
    #[error(
        "cannot build export: the stored leaf hashes do not give the root of the checkpoint at tree size {tree_size}"
    )]
    StoredRootMismatch {
        /// The checkpoint's size.
        tree_size: u64,
    },
    /// Building an export from the proof index: a node or leaf it needed
    /// was not read or is not stored.
    #[error("cannot build export: {0}")]
    Missing(#[from] crate::nodes::MissingNode),
    /// The entries are not what the hub's signed scope says: an entry was
    /// removed, added, or the statement was edited.
    #[error("{0}")]
    Scope(#[from] crate::scope::ScopeError),
    /// Building an export: an entry's hash differs from the stored leaf at
    /// its seq.
    #[error(
        "cannot build export: entry {seq}: its hash differs from the stored leaf hash (the row was altered after it was logged)"
    )]
    EntryLeafMismatch {
        /// The entry's seq.
        seq: u64,
    },
}

impl ExportBundle {
    /// Builds an export of `entries` with their inclusion proofs against
    /// `checkpoint`, and consistency proofs from each of
    /// `earlier_checkpoints` to it.
    ///
    /// `leaves` are the stored leaf hashes of the log's first
    /// `checkpoint.tree_size` entries, exactly. Building checks them against
    /// the signed root and each entry against its stored leaf, so that the
    /// hub never hands out an export that would fail verification without
    /// saying why. Entries are exported in the order given.
    pub fn build(
        entries: Vec<AuditEntry>,
        leaves: &[Hash],
        checkpoint: SignedCheckpoint,
        earlier_checkpoints: Vec<SignedCheckpoint>,
        public_key: &VerifyingKey,
    ) -> Result<Self, BundleError> {
        let tree_size = checkpoint.checkpoint.tree_size;
        if leaves.len() as u64 != tree_size {
            return Err(BundleError::LeafCountMismatch {
                leaves: leaves.len(),
                tree_size,
            });
        }
        let tree = MerkleTree::new(leaves);
        Self::build_with(entries, &tree, checkpoint, earlier_checkpoints, public_key)
    }

    /// [`ExportBundle::build`] from the store's proof index instead of
    /// every leaf: `tree` must hold what
    /// [`Needs::for_proofs`](crate::nodes::Needs::for_proofs) listed for
    /// these entries' seqs and the earlier checkpoints' sizes, at the
    /// checkpoint's size. The same checks apply: the root against the
    /// signed one, each entry against its stored leaf.
    pub fn build_from_nodes(
        entries: Vec<AuditEntry>,
        tree: &StoredTree,
        checkpoint: SignedCheckpoint,
        earlier_checkpoints: Vec<SignedCheckpoint>,
        public_key: &VerifyingKey,
    ) -> Result<Self, BundleError> {
        let tree_size = checkpoint.checkpoint.tree_size;
        if tree.size() != tree_size {
            return Err(BundleError::LeafCountMismatch {
                leaves: usize::try_from(tree.size()).unwrap_or(usize::MAX),
                tree_size,
            });
        }
        Self::build_with(entries, tree, checkpoint, earlier_checkpoints, public_key)
    }

    fn build_with(
        entries: Vec<AuditEntry>,
        tree: &impl Proofs,
        checkpoint: SignedCheckpoint,
        earlier_checkpoints: Vec<SignedCheckpoint>,
        public_key: &VerifyingKey,
    ) -> Result<Self, BundleError> {
        let tree_size = checkpoint.checkpoint.tree_size;
        if tree.root()? != checkpoint.checkpoint.root {
            return Err(BundleError::StoredRootMismatch { tree_size });
        }
        let mut inclusion = Vec::with_capacity(entries.len());
        let mut seen = BTreeSet::new();
        for entry in &entries {
            let seq = entry.seq;
            if !seen.insert(seq) {
                return Err(BundleError::DuplicateSeq(seq));
            }
            if seq >= tree_size {
                return Err(BundleError::SeqBeyondCheckpoint { seq, tree_size });
            }
            if entry.leaf() != tree.leaf(seq)? {
                return Err(BundleError::EntryLeafMismatch { seq });
            }
            inclusion.push(InclusionProof {
                seq,
                proof: tree.inclusion(seq)?,
            });
        }
        let mut consistency: Vec<ConsistencyProof> = Vec::new();
        for earlier in &earlier_checkpoints {
            let from_size = earlier.checkpoint.tree_size;
            if from_size > tree_size {
                return Err(BundleError::EarlierCheckpointTooLarge {
                    tree_size: from_size,
                    latest_size: tree_size,
                });
            }
            if consistency.iter().any(|c| c.from_size == from_size) {
                continue;
            }
            consistency.push(ConsistencyProof {
                from_size,
                to_size: tree_size,
                proof: tree.consistency(from_size)?,
            });
        }
        Ok(Self {
            format: FORMAT.to_owned(),
            public_key: format_public_key(public_key),
            entries,
            checkpoint,
            inclusion,
            earlier_checkpoints,
            consistency,
            scope: None,
        })
    }

    /// The bundle with the hub's signed statement of what it holds.
    pub fn with_scope(mut self, scope: crate::scope::SignedScope) -> Self {
        self.scope = Some(scope);
        self
    }
}

/// Verifies a signed checkpoint with the trusted key, naming it by size on
/// failure.
fn check_signature(cp: &SignedCheckpoint, key: &VerifyingKey) -> Result<(), BundleError> {
    cp.verify(key).map_err(|source| BundleError::Checkpoint {
        tree_size: cp.checkpoint.tree_size,
        source,
    })
}

/// Checks that a checkpoint belongs to the same log as the latest one.
fn check_origin(cp: &SignedCheckpoint, expected: &str) -> Result<(), BundleError> {
    if cp.checkpoint.origin != expected {
        return Err(BundleError::OriginMismatch {
            tree_size: cp.checkpoint.tree_size,
            origin: cp.checkpoint.origin.clone(),
            expected: expected.to_owned(),
        });
    }
    Ok(())
}

/// Verifies an export offline with the key the auditor trusts.
///
/// It checks: the format; every checkpoint's signature with `trusted_key`
/// (never the key in the bundle); that seqs are unique and below the latest
/// checkpoint's size; that each entry, hashed as a leaf, is included at its
/// seq under the latest root; that each earlier checkpoint is of the same
/// log and consistent with the latest; and that no proof is left over. The
/// first failure is returned, naming the entry seq or checkpoint size.
pub fn verify_bundle(bundle: &ExportBundle, trusted_key: &VerifyingKey) -> Result<VerifyReport, BundleError> {
    if bundle.format != FORMAT {
        return Err(BundleError::UnsupportedFormat(bundle.format.clone()));
    }
    let latest = &bundle.checkpoint;
    check_signature(latest, trusted_key)?;
    let tree_size = latest.checkpoint.tree_size;
    let root = &latest.checkpoint.root;

    let mut proofs: BTreeMap<u64, &[Hash]> = BTreeMap::new();
    for p in &bundle.inclusion {
        if proofs.insert(p.seq, &p.proof).is_some() {
            return Err(BundleError::DuplicateInclusionProof(p.seq));
        }
    }
    let mut seen = BTreeSet::new();
    for entry in &bundle.entries {
        let seq = entry.seq;
        if !seen.insert(seq) {
            return Err(BundleError::DuplicateSeq(seq));
        }
        if seq >= tree_size {
            return Err(BundleError::SeqBeyondCheckpoint { seq, tree_size });
        }
        let proof = proofs.get(&seq).ok_or(BundleError::MissingInclusionProof(seq))?;
        merkle::verify_inclusion(&entry.leaf(), seq, tree_size, proof, root).map_err(|source| match source {
            ProofError::RootMismatch => BundleError::EntryNotIncluded { seq },
            source => BundleError::InvalidInclusionProof { seq, source },
        })?;
    }
    if let Some(&seq) = proofs.keys().find(|seq| !seen.contains(*seq)) {
        return Err(BundleError::OrphanInclusionProof(seq));
    }

    for earlier in &bundle.earlier_checkpoints {
        check_signature(earlier, trusted_key)?;
        check_origin(earlier, &latest.checkpoint.origin)?;
        let from_size = earlier.checkpoint.tree_size;
        if from_size > tree_size {
            return Err(BundleError::EarlierCheckpointTooLarge {
                tree_size: from_size,
                latest_size: tree_size,
            });
        }
        let proof = bundle
            .consistency
            .iter()
            .find(|c| c.from_size == from_size && c.to_size == tree_size)
            .ok_or(BundleError::MissingConsistencyProof {
                from_size,
                to_size: tree_size,
            })?;
        merkle::verify_consistency(from_size, tree_size, &earlier.checkpoint.root, root, &proof.proof).map_err(
            |source| BundleError::Inconsistent {
                from_size,
                to_size: tree_size,
                source,
            },
        )?;
    }
    if let Some(orphan) = bundle.consistency.iter().find(|c| {
        c.to_size != tree_size
            || !bundle
                .earlier_checkpoints
                .iter()
                .any(|e| e.checkpoint.tree_size == c.from_size)
    }) {
        return Err(BundleError::OrphanConsistencyProof {
            from_size: orphan.from_size,
            to_size: orphan.to_size,
        });
    }

    if let Some(scope) = &bundle.scope {
        let seqs: Vec<u64> = bundle.entries.iter().map(|e| e.seq).collect();
        scope.check(trusted_key, &seqs, tree_size)?;
    }

    Ok(VerifyReport {
        entries_verified: bundle.entries.len(),
        tree_size,
        root_hex: hex::encode(root),
        checkpoints_verified: 1 + bundle.earlier_checkpoints.len(),
        scope: bundle.scope.as_ref().map(|s| s.statement.clone()),
    })
}

/// Verifies the entire log, from seq 0, against its signed checkpoints.
///
/// Every row must carry the seq of its position, which finds a deleted,
/// inserted or moved row whose seq was left as it was. Then the Merkle root
/// of the first `tree_size` entries is recomputed for every checkpoint and
/// compared with the signed one, which finds an edited row, and a deleted
/// or reordered one whose seqs were renumbered to hide it; the error names
/// the range of seqs between the last matching checkpoint and the first
/// failing one. Rows after the largest checkpoint are not covered by any
/// signature and are not counted in [`VerifyReport::entries_verified`].
pub fn verify_full_log(
    entries: &[AuditEntry],
    checkpoints: &[SignedCheckpoint],
    trusted_key: &VerifyingKey,
) -> Result<VerifyReport, BundleError> {
    let mut sorted: Vec<&SignedCheckpoint> = checkpoints.iter().collect();
    sorted.sort_by_key(|cp| cp.checkpoint.tree_size);
    let Some(latest) = sorted.last() else {
        return Err(BundleError::NoCheckpoint);
    };
    for cp in &sorted {
        check_signature(cp, trusted_key)?;
        check_origin(cp, &latest.checkpoint.origin)?;
    }
    for (position, entry) in entries.iter().enumerate() {
        if entry.seq != position as u64 {
            return Err(BundleError::SeqMismatch {
                position,
                seq: entry.seq,
            });
        }
    }

    let mut frontier = Frontier::new();
    let mut verified_size = 0;
    for cp in &sorted {
        let tree_size = cp.checkpoint.tree_size;
        if tree_size > entries.len() as u64 {
            return Err(BundleError::CheckpointBeyondLog {
                tree_size,
                log_size: entries.len(),
            });
        }
        for entry in &entries[frontier.size() as usize..tree_size as usize] {
            frontier.append(entry.leaf());
        }
        if frontier.root() != cp.checkpoint.root {
            return Err(BundleError::RootMismatch {
                tree_size,
                verified_size,
            });
        }
        verified_size = tree_size;
    }

    Ok(VerifyReport {
        entries_verified: verified_size as usize,
        tree_size: verified_size,
        root_hex: hex::encode(latest.checkpoint.root),
        checkpoints_verified: sorted.len(),
        scope: None,
    })
}

/// The proofs an export needs, from a whole tree in memory or from the
/// store's proof index.
trait Proofs {
    fn root(&self) -> Result<Hash, BundleError>;
    fn leaf(&self, seq: u64) -> Result<Hash, BundleError>;
    fn inclusion(&self, seq: u64) -> Result<Vec<Hash>, BundleError>;
    fn consistency(&self, old_size: u64) -> Result<Vec<Hash>, BundleError>;
}

impl Proofs for MerkleTree {
    fn root(&self) -> Result<Hash, BundleError> {
        Ok(MerkleTree::root(self))
    }
    fn leaf(&self, seq: u64) -> Result<Hash, BundleError> {
        // The caller checked seq < size.
        Ok(self.leaves()[seq as usize])
    }
    fn inclusion(&self, seq: u64) -> Result<Vec<Hash>, BundleError> {
        Ok(self.inclusion_proof(seq as usize))
    }
    fn consistency(&self, old_size: u64) -> Result<Vec<Hash>, BundleError> {
        Ok(self.consistency_proof(old_size as usize))
    }
}

impl Proofs for StoredTree {
    fn root(&self) -> Result<Hash, BundleError> {
        Ok(StoredTree::root(self)?)
    }
    fn leaf(&self, seq: u64) -> Result<Hash, BundleError> {
        Ok(StoredTree::leaf(self, seq)?)
    }
    fn inclusion(&self, seq: u64) -> Result<Vec<Hash>, BundleError> {
        Ok(self.inclusion_proof(seq)?)
    }
    fn consistency(&self, old_size: u64) -> Result<Vec<Hash>, BundleError> {
        Ok(self.consistency_proof(old_size)?)
    }
}

#[cfg(test)]
mod tests;
