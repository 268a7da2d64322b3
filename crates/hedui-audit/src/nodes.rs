//! Proofs over a log too large to hold in memory, from stored subtree roots.
//!
//! A [`crate::merkle::MerkleTree`] hashes every leaf, which is fine for a
//! county's first years but not for ten million entries: an auditor's export
//! of one person's accesses would read 320 MB of leaf hashes. Instead, the
//! store keeps the root of every complete, aligned subtree of
//! 2^[`CHUNK_LEVEL`] leaves and above (a *chunk* of 256 leaves, the subtree
//! of 512, …): about n/128 hashes in all. Any RFC 6962 proof then needs only
//! O(log n) of those nodes plus the leaves of at most a few chunks.
//!
//! The flow is pure and two-step, so that the store does the reading:
//! 1. [`Needs::for_proofs`] says which nodes and which chunks of leaves the
//!    wanted proofs touch;
//! 2. a [`StoredTree`] built from what was read gives the same proofs (and
//!    root) as a [`crate::merkle::MerkleTree`] over all the leaves would.
//!
//! [`extend`] computes the nodes that new complete chunks add, for the
//! store's index. The nodes are derived data: a node that was altered makes
//! the proofs that use it fail verification against the signed checkpoint,
//! so it can hide nothing.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use thiserror::Error;

use crate::merkle::{self, EMPTY_ROOT, Hash, node_hash, path, subproof};

/// The level of the smallest stored subtree: chunks of 2^8 = 256 leaves.
pub const CHUNK_LEVEL: u32 = 8;

/// A complete, aligned subtree: the leaves `index * 2^level ..
/// (index + 1) * 2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// The height: 0 for a leaf, [`CHUNK_LEVEL`] for a chunk.
    pub level: u32,
    /// The position among the subtrees of that height, from the left.
    pub index: u64,
}

impl NodeId {
    /// One integer key for the store: the level in the top 16 bits, the
    /// index below (a log of 2^48 entries is far beyond any county).
    pub fn key(self) -> i64 {
        (i64::from(self.level) << 48) | (self.index as i64 & ((1 << 48) - 1))
    }

    /// The inverse of [`NodeId::key`].
    pub fn from_key(key: i64) -> NodeId {
        NodeId {
            level: (key >> 48) as u32,
            index: (key & ((1 << 48) - 1)) as u64,
        }
    }
}

/// A proof needed a node or leaf that was not given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MissingNode {
    /// A stored subtree root was not among the nodes read.
    #[error("the audit log's node index has no subtree {level}/{index}; rebuild it with the hub's node indexer")]
    Node {
        /// Its level.
        level: u32,
        /// Its index.
        index: u64,
    },
    /// A chunk's leaves were not read, or fewer came back than the tree
    /// size needs (rows missing: the log was cut).
    #[error("leaves {from}..{to} of the audit log were not all read")]
    Leaves {
        /// First leaf index.
        from: u64,
        /// One past the last.
        to: u64,
    },
    /// An index or old size beyond the tree.
    #[error("{what} {value} is outside a tree of size {size}")]
    OutOfRange {
        /// What was asked.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The tree size.
        size: u64,
    },
}

/// What the proofs for one tree size touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Stored subtree roots (level ≥ the chunk level).
    pub nodes: BTreeSet<NodeId>,
    /// Chunks whose leaves must be read: chunk `c` is the leaves
    /// `c * 2^chunk_level .. min((c + 1) * 2^chunk_level, size)`.
    pub chunks: BTreeSet<u64>,
}

impl Needs {
    /// What the root of a tree of `size` leaves, the inclusion proofs of the
    /// leaves at `indices` (and those leaves themselves), and the
    /// consistency proofs from each of `old_sizes` touch. Indices or sizes
    /// out of range are left for [`StoredTree`] to refuse.
    pub fn for_proofs(size: u64, indices: &[u64], old_sizes: &[u64]) -> Needs {
        Self::with_level(CHUNK_LEVEL, size, indices, old_sizes)
    }

    fn with_level(chunk_level: u32, size: u64, indices: &[u64], old_sizes: &[u64]) -> Needs {
        // The root itself (to check against the checkpoint), then every
        // range a proof hashes.
        let ranges: RefCell<Vec<Range<usize>>> = RefCell::new(Vec::new());
        ranges.borrow_mut().push(0..size as usize);
        let record = |r: Range<usize>| {
            ranges.borrow_mut().push(r);
            EMPTY_ROOT
        };
        let n = size as usize;
        let mut scratch = Vec::new();
        let mut needs = Needs::default();
        for &i in indices.iter().filter(|&&i| i < size) {
            path(&record, 0..n, i as usize, &mut scratch);
            needs.chunks.insert(i >> chunk_level);
        }
        for &m in old_sizes.iter().filter(|&&m| m > 0 && m <= size) {
            subproof(&record, 0..n, m as usize, true, &mut scratch);
        }
        for r in ranges.into_inner() {
            for part in perfect_parts(r.start as u64..r.end as u64) {
                if part.level >= chunk_level {
                    needs.nodes.insert(part);
                } else {
                    needs.chunks.insert((part.index << part.level) >> chunk_level);
                }
            }
        }
        needs
    }
}

/// The complete, aligned subtrees that the MTH of `range` is built from,
/// as RFC 6962 splits it: the left part of every split is complete; the
/// ragged right edge is split again.
fn perfect_parts(range: Range<u64>) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut r = range;
    loop {
        let n = r.end - r.start;
        if n == 0 {
            break;
        }
        if n.is_power_of_two() && r.start.is_multiple_of(n) {
            out.push(NodeId {
                level: n.trailing_zeros(),
                index: r.start / n,
            });
            break;
        }
        let k = merkle::split(n as usize) as u64;
        // The left part of a split inside an aligned tree is itself
        // aligned and complete, but not necessarily at the top of a chunk:
        // split it no further, its level says where it comes from.
        out.push(NodeId {
            level: k.trailing_zeros(),
            index: r.start / k,
        });
        r = r.start + k..r.end;
    }
    out
}

/// A tree of a known size, of which only the stored subtree roots and the
/// leaves of some chunks are known: enough for the proofs its [`Needs`]
/// listed.
#[derive(Debug, Clone)]
pub struct StoredTree {
    size: u64,
    chunk_level: u32,
    nodes: HashMap<NodeId, Hash>,
    chunks: HashMap<u64, Vec<Hash>>,
}

impl StoredTree {
    /// A tree of `size` leaves with these stored nodes and these chunks'
    /// leaves (chunk index → its leaves in order).
    pub fn new(size: u64, nodes: HashMap<NodeId, Hash>, chunks: HashMap<u64, Vec<Hash>>) -> StoredTree {
        Self::with_level(CHUNK_LEVEL, size, nodes, chunks)
    }

    fn with_level(
        chunk_level: u32,
        size: u64,
        nodes: HashMap<NodeId, Hash>,
        chunks: HashMap<u64, Vec<Hash>>,
    ) -> StoredTree {
        StoredTree {
            size,
            chunk_level,
            nodes,
            chunks,
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The leaf hash at `index`, if its chunk was read.
    pub fn leaf(&self, index: u64) -> Result<Hash, MissingNode> {
        if index >= self.size {
            return Err(MissingNode::OutOfRange {
                what: "leaf index",
                value: index,
                size: self.size,
            });
        }
        let c = index >> self.chunk_level;
        let offset = (index - (c << self.chunk_level)) as usize;
        self.chunks
            .get(&c)
            .and_then(|leaves| leaves.get(offset))
            .copied()
            .ok_or(MissingNode::Leaves {
                from: index,
                to: index + 1,
            })
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Result<Hash, MissingNode> {
        let missing = RefCell::new(None);
        let root = self.range_root(0..self.size, &missing);
        missing.into_inner().map_or(Ok(root), Err)
    }

    /// The audit path of the leaf at `index`, as
    /// [`crate::merkle::inclusion_proof`] gives it.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>, MissingNode> {
        if index >= self.size {
            return Err(MissingNode::OutOfRange {
                what: "leaf index",
                value: index,
                size: self.size,
            });
        }
        let missing = RefCell::new(None);
        let mut proof = Vec::with_capacity(64);
        path(
            &|r: Range<usize>| self.range_root(r.start as u64..r.end as u64, &missing),
            0..self.size as usize,
            index as usize,
            &mut proof,
        );
        missing.into_inner().map_or(Ok(proof), Err)
    }

    /// The consistency proof from the first `old_size` leaves, as
    /// [`crate::merkle::consistency_proof`] gives it.
    pub fn consistency_proof(&self, old_size: u64) -> Result<Vec<Hash>, MissingNode> {
        if old_size > self.size {
            return Err(MissingNode::OutOfRange {
                what: "old tree size",
                value: old_size,
                size: self.size,
            });
        }
        let missing = RefCell::new(None);
        let mut proof = Vec::with_capacity(64);
        if old_size > 0 {
            subproof(
                &|r: Range<usize>| self.range_root(r.start as u64..r.end as u64, &missing),
                0..self.size as usize,
                old_size as usize,
                true,
                &mut proof,
            );
        }
        missing.into_inner().map_or(Ok(proof), Err)
    }

    /// MTH of `range`, from stored nodes where the subtree is complete and
    /// high enough, else from the chunk's leaves. The first thing missing
    /// is noted in `missing` (and a placeholder returned), because the
    /// proof recursion takes an infallible function.
    fn range_root(&self, range: Range<u64>, missing: &RefCell<Option<MissingNode>>) -> Hash {
        let n = range.end - range.start;
        if n == 0 {
            return EMPTY_ROOT;
        }
        if n.is_power_of_two() && range.start.is_multiple_of(n) {
            let level = n.trailing_zeros();
            if level >= self.chunk_level {
                let id = NodeId {
                    level,
                    index: range.start / n,
                };
                return match self.nodes.get(&id) {
                    Some(h) => *h,
                    None => {
                        missing.borrow_mut().get_or_insert(MissingNode::Node {
                            level: id.level,
                            index: id.index,
                        });
                        EMPTY_ROOT
                    }
                };
            }
            let c = range.start >> self.chunk_level;
            let from = (range.start - (c << self.chunk_level)) as usize;
            return match self.chunks.get(&c).and_then(|l| l.get(from..from + n as usize)) {
                Some(leaves) => merkle::root(leaves),
                None => {
                    missing.borrow_mut().get_or_insert(MissingNode::Leaves {
                        from: range.start,
                        to: range.end,
                    });
                    EMPTY_ROOT
                }
            };
        }
        let mid = range.start + merkle::split(n as usize) as u64;
        node_hash(
            &self.range_root(range.start..mid, missing),
            &self.range_root(mid..range.end, missing),
        )
    }
}

/// The nodes whose left sibling may already be stored when `stored_chunks`
/// chunk roots are in the index: one per level at most, the last complete
/// subtree of that level when it has no right sibling yet.
pub fn pending_left(stored_chunks: u64) -> Vec<NodeId> {
    pending_left_at(CHUNK_LEVEL, stored_chunks)
}

fn pending_left_at(chunk_level: u32, stored_chunks: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut count = stored_chunks;
    let mut level = chunk_level;
    while count > 0 {
        if count & 1 == 1 {
            out.push(NodeId {
                level,
                index: count - 1,
            });
        }
        count >>= 1;
        level += 1;
    }
    out
}

/// The nodes to add to an index holding `stored_chunks` chunk roots when
/// the roots of the next chunks, `new_chunks`, are added: those chunk roots
/// and every parent they complete. `pending` are the nodes
/// [`pending_left`] named, as read from the index.
pub fn extend(stored_chunks: u64, pending: &[(NodeId, Hash)], new_chunks: &[Hash]) -> Vec<(NodeId, Hash)> {
    extend_at(CHUNK_LEVEL, stored_chunks, pending, new_chunks)
}

fn extend_at(
    chunk_level: u32,
    stored_chunks: u64,
    pending: &[(NodeId, Hash)],
    new_chunks: &[Hash],
) -> Vec<(NodeId, Hash)> {
    let mut known: BTreeMap<NodeId, Hash> = pending.iter().copied().collect();
    let mut added = Vec::new();
    let mut level_new: Vec<(u64, Hash)> = new_chunks
        .iter()
        .enumerate()
        .map(|(j, h)| (stored_chunks + j as u64, *h))
        .collect();
    let mut level = chunk_level;
    while !level_new.is_empty() {
        let mut above = Vec::new();
        for &(index, hash) in &level_new {
            let id = NodeId { level, index };
            known.insert(id, hash);
            added.push((id, hash));
            if index % 2 == 1
                && let Some(left) = known.get(&NodeId {
                    level,
                    index: index - 1,
                })
            {
                above.push((index / 2, node_hash(left, &hash)));
            }
        }
        level_new = above;
        level += 1;
    }
    added
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::merkle::{MerkleTree, leaf_hash};
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
    }

    /// The index a store would hold after catching up in steps of
    /// `steps` chunks at a time, and a tree reading exactly what `needs`
    /// lists from it.
    pub(crate) fn stored(chunk_level: u32, all: &[Hash], step: usize, needs: &Needs) -> StoredTree {
        let chunk = 1usize << chunk_level;
        let complete = all.len() / chunk;
        let mut index: HashMap<NodeId, Hash> = HashMap::new();
        let mut done = 0usize;
        while done < complete {
            let upto = (done + step).min(complete);
            let new: Vec<Hash> = (done..upto)
                .map(|c| merkle::root(&all[c * chunk..(c + 1) * chunk]))
                .collect();
            let pending: Vec<(NodeId, Hash)> = pending_left_at(chunk_level, done as u64)
                .into_iter()
                .map(|id| (id, index[&id]))
                .collect();
            index.extend(extend_at(chunk_level, done as u64, &pending, &new));
            done = upto;
        }
        let nodes = needs
            .nodes
            .iter()
            .filter_map(|id| index.get(id).map(|h| (*id, *h)))
            .collect();
        let chunks = needs
            .chunks
            .iter()
            .map(|&c| {
                let from = (c as usize) * chunk;
                (c, all[from..(from + chunk).min(all.len())].to_vec())
            })
            .collect();
        StoredTree::with_level(chunk_level, all.len() as u64, nodes, chunks)
    }

    #[test]
    fn node_keys_round_trip() {
        for id in [
            NodeId { level: 8, index: 0 },
            NodeId { level: 31, index: 7 },
            NodeId {
                level: 8,
                index: (1 << 40) + 3,
            },
        ] {
            assert_eq!(NodeId::from_key(id.key()), id);
        }
    }

    #[test]
    fn a_ten_thousand_leaf_tree_at_the_real_chunk_level() {
        let all = leaves(10_007);
        let full = MerkleTree::new(&all);
        let indices = [0, 255, 256, 5_000, 9_999, 10_006];
        let olds = [1, 256, 4_096, 10_000, 10_007];
        let needs = Needs::for_proofs(all.len() as u64, &indices, &olds);
        // Logarithmic, not linear: a handful of chunks and nodes.
        assert!(needs.chunks.len() <= 2 * (indices.len() + olds.len()), "{needs:?}");
        let tree = stored(CHUNK_LEVEL, &all, 7, &needs);
        assert_eq!(tree.root(), Ok(full.root()));
        for i in indices {
            assert_eq!(tree.inclusion_proof(i), Ok(full.inclusion_proof(i as usize)));
            assert_eq!(tree.leaf(i), Ok(all[i as usize]));
        }
        for m in olds {
            assert_eq!(tree.consistency_proof(m), Ok(full.consistency_proof(m as usize)));
        }
    }

    #[test]
    fn what_was_not_read_is_named_not_guessed() {
        let all = leaves(1_000);
        let needs = Needs::for_proofs(1_000, &[10], &[]);
        let mut tree = stored(CHUNK_LEVEL, &all, 1, &needs);
        assert!(matches!(tree.inclusion_proof(300), Err(MissingNode::Leaves { .. })));
        assert!(matches!(
            tree.inclusion_proof(1_000),
            Err(MissingNode::OutOfRange { .. })
        ));
        assert!(matches!(
            tree.consistency_proof(1_001),
            Err(MissingNode::OutOfRange { .. })
        ));
        let id = *needs.nodes.iter().next().expect("a node is needed");
        tree.nodes.remove(&id);
        assert_eq!(
            tree.inclusion_proof(10),
            Err(MissingNode::Node {
                level: id.level,
                index: id.index
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// At a chunk level of 2 (chunks of 4 leaves), so that small trees
        /// have many stored levels, every proof equals the full tree's.
        #[test]
        fn proofs_from_stored_nodes_equal_the_full_trees(
            n in 1usize..300,
            picks in proptest::collection::vec(any::<u64>(), 1..6),
            step in 1usize..9,
        ) {
            let all = leaves(n);
            let full = MerkleTree::new(&all);
            let indices: Vec<u64> = picks.iter().map(|p| p % n as u64).collect();
            let olds: Vec<u64> = picks.iter().map(|p| p % (n as u64 + 1)).collect();
            let needs = Needs::with_level(2, n as u64, &indices, &olds);
            let tree = stored(2, &all, step, &needs);
            prop_assert_eq!(tree.root(), Ok(full.root()));
            for &i in &indices {
                prop_assert_eq!(tree.inclusion_proof(i), Ok(full.inclusion_proof(i as usize)));
                prop_assert_eq!(tree.leaf(i), Ok(all[i as usize]));
            }
            for &m in &olds {
                prop_assert_eq!(tree.consistency_proof(m), Ok(full.consistency_proof(m as usize)));
            }
        }
    }
}
