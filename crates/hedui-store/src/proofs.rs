//! The audit log's proof index (`audit_nodes`): the roots of its complete
//! subtrees of 256 leaves and above, so that inclusion and consistency
//! proofs over a log of millions of entries read O(log n) hashes and a few
//! chunks of leaves ([`hedui_audit::nodes`]) instead of every leaf.
//!
//! The index is derived from the stored leaves and brought up to date on
//! demand, before proofs are read; several hubs may do so at once (they
//! compute the same nodes). A node that was altered in the database makes
//! the proofs that use it fail against the signed checkpoint, which
//! [`hedui_audit::export::ExportBundle`] checks before it hands anything out.

use std::collections::HashMap;

use hedui_audit::merkle::{self, Hash};
use hedui_audit::nodes::{self, CHUNK_LEVEL, Needs, NodeId, StoredTree};

use crate::{Result, Store, StoreError};

/// Chunks indexed per transaction while catching up: 64 × 256 leaves read
/// at a time.
const CHUNKS_PER_STEP: u64 = 64;

fn corrupt(problem: String) -> StoreError {
    StoreError::Corrupt {
        record_id: "audit log".to_owned(),
        problem,
    }
}

impl Store {
    /// Brings the proof index up to the complete chunks among the first
    /// `size` entries; returns how many chunks it added.
    pub async fn index_audit_nodes(&self, size: u64) -> Result<u64> {
        let chunk = 1u64 << CHUNK_LEVEL;
        let end_key = NodeId {
            level: CHUNK_LEVEL + 1,
            index: 0,
        }
        .key();
        let last: Option<i64> = dispatch!(self.audit_node_last(end_key))?;
        let mut stored = last.map_or(0, |k| NodeId::from_key(k).index + 1);
        let complete = size / chunk;
        let mut added = 0;
        while stored < complete {
            let upto = (stored + CHUNKS_PER_STEP).min(complete);
            let leaves = self.audit_leaves_range(stored * chunk, upto * chunk).await?;
            if leaves.len() as u64 != (upto - stored) * chunk {
                return Err(corrupt(format!(
                    "entries {}..{} are not all stored; run `hedui audit verify --database`",
                    stored * chunk,
                    upto * chunk
                )));
            }
            let roots: Vec<Hash> = leaves.chunks(chunk as usize).map(merkle::root).collect();
            let wanted = nodes::pending_left(stored);
            let keys: Vec<i64> = wanted.iter().map(|id| id.key()).collect();
            let pending: Vec<(NodeId, Hash)> = dispatch!(self.audit_nodes(&keys))?
                .into_iter()
                .map(|(k, h)| (NodeId::from_key(k), h))
                .collect();
            if pending.len() != wanted.len() {
                return Err(corrupt(format!(
                    "the proof index lacks {} of the subtrees before chunk {stored}",
                    wanted.len() - pending.len()
                )));
            }
            let rows: Vec<(i64, Hash)> = nodes::extend(stored, &pending, &roots)
                .into_iter()
                .map(|(id, h)| (id.key(), h))
                .collect();
            dispatch!(self.put_audit_nodes(&rows))?;
            added += upto - stored;
            stored = upto;
        }
        Ok(added)
    }

    /// What the root of the first `size` entries, the inclusion proofs of
    /// the entries at `seqs` (and their leaves) and the consistency proofs
    /// from `old_sizes` need, read from the proof index (brought up to date
    /// first) and the leaves.
    pub async fn audit_stored_tree(&self, size: u64, seqs: &[u64], old_sizes: &[u64]) -> Result<StoredTree> {
        self.index_audit_nodes(size).await?;
        let needs = Needs::for_proofs(size, seqs, old_sizes);
        let keys: Vec<i64> = needs.nodes.iter().map(|id| id.key()).collect();
        let found: HashMap<NodeId, Hash> = dispatch!(self.audit_nodes(&keys))?
            .into_iter()
            .map(|(k, h)| (NodeId::from_key(k), h))
            .collect();
        let chunk = 1u64 << CHUNK_LEVEL;
        let mut chunks = HashMap::with_capacity(needs.chunks.len());
        for &c in &needs.chunks {
            let from = c * chunk;
            let to = (from + chunk).min(size);
            chunks.insert(c, self.audit_leaves_range(from, to).await?);
        }
        Ok(StoredTree::new(size, found, chunks))
    }
}
