//! The Merkle tree of RFC 6962 / RFC 9162 (Certificate Transparency), over
//! SHA-256.
//!
//! Leaves and inner nodes are hashed with different one-byte prefixes
//! (`0x00` and `0x01`) so that no leaf can pass for an inner node, which is
//! what makes second-preimage attacks on the tree impossible. The tree over
//! `n` leaves splits at the largest power of two below `n`, so a tree only
//! ever grows on the right and every earlier tree head is a prefix of every
//! later one; consistency proofs show exactly that.
//!
//! Proof generation takes the whole slice of leaf hashes (the store keeps
//! them all) and costs O(n) hashing with O(log n) memory. Verification is
//! the algorithm of RFC 9162 §2.1.3.2 and §2.1.4.2, which needs only the
//! proof, the sizes and the roots: that is what an auditor runs offline.

use std::ops::Range;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 digest: a leaf hash, an inner node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string, as RFC 6962
/// §2.1 defines it.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Why a Merkle proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree, so no proof can place it.
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The claimed 0-based leaf index.
        index: u64,
        /// The size of the tree it was claimed to be in.
        tree_size: u64,
    },
    /// The new tree is smaller than the old one; a log never shrinks.
    #[error("new tree size {new_size} is smaller than old tree size {old_size}")]
    SizeDecreased {
        /// The size of the earlier tree.
        old_size: u64,
        /// The size of the later tree.
        new_size: u64,
    },
    /// The proof has hashes left over once the path reached the root.
    #[error("proof has more hashes than the tree sizes allow")]
    ProofTooLong,
    /// The proof ran out of hashes before the path reached the root.
    #[error("proof has fewer hashes than the tree sizes require")]
    ProofTooShort,
    /// The proof is well formed but the root it leads to is not the
    /// expected one: the leaf, the index or a proof hash differs from what
    /// the tree holds.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// A consistency proof leads to a different root for the old tree than
    /// the one claimed: the old tree is not a prefix of the new one.
    #[error("proof does not lead to the expected old root")]
    OldRootMismatch,
}

/// The hash of a leaf: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an inner node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly less than `n`; `n` must be at least 2.
/// RFC 6962 splits every tree of `n` leaves at this point.
pub(crate) fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The Merkle tree hash (MTH) of RFC 6962 §2.1 over already-hashed leaves.
/// The empty tree's root is [`EMPTY_ROOT`].
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of RFC 6962 §2.1.1 for the leaf at `index`: the sibling
/// hashes from the leaf up to the root, deepest first.
///
/// This hashes the whole tree once per call; for many proofs over one tree
/// use [`MerkleTree`].
///
/// # Panics
///
/// Panics when `index >= leaves.len()`, as slice indexing does; the caller
/// knows the tree size and checks the index first.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(
        index < leaves.len(),
        "leaf index {index} is outside a tree of size {}",
        leaves.len()
    );
    let mut proof = Vec::with_capacity(usize::BITS as usize);
    path(&|r: Range<usize>| root(&leaves[r]), 0..leaves.len(), index, &mut proof);
    proof
}

/// PATH(m, D[range]) of RFC 6962 §2.1.1, where `mth` gives the root of any
/// range of leaves. It pushes onto `out` so that the whole proof uses one
/// allocation, and `m` is relative to the start of the range.
pub(crate) fn path(mth: &impl Fn(Range<usize>) -> Hash, range: Range<usize>, m: usize, out: &mut Vec<Hash>) {
    let n = range.len();
    if n <= 1 {
        return;
    }
    let mid = range.start + split(n);
    if range.start + m < mid {
        path(mth, range.start..mid, m, out);
        out.push(mth(mid..range.end));
    } else {
        path(mth, mid..range.end, range.start + m - mid, out);
        out.push(mth(range.start..mid));
    }
}

/// Checks that `leaf` is the leaf at `index` in the tree of `tree_size`
/// leaves whose root is `root`, with the audit path `proof`, by the
/// algorithm of RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let (mut f, mut s) = (index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // A right edge with no right sibling: climb until this node is a
            // right child again, since the levels in between have no hash.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The consistency proof of RFC 6962 §2.1.2 that the tree of the first
/// `old_size` leaves is a prefix of the tree of all `leaves`. It is empty
/// when `old_size` is 0 or equals the number of leaves.
///
/// This hashes the whole tree once per call; for many proofs over one tree
/// use [`MerkleTree`].
///
/// # Panics
///
/// Panics when `old_size > leaves.len()`: a tree cannot be consistent with
/// a smaller one.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    assert!(
        old_size <= leaves.len(),
        "old tree size {old_size} is larger than the new tree size {}",
        leaves.len()
    );
    let mut proof = Vec::with_capacity(usize::BITS as usize);
    if old_size > 0 {
        subproof(
            &|r: Range<usize>| root(&leaves[r]),
            0..leaves.len(),
            old_size,
            true,
            &mut proof,
        );
    }
    proof
}

/// SUBPROOF(m, D[range], b) of RFC 6962 §2.1.2, pushing onto `out`, with
/// `m` relative to the start of the range. `complete` is true while the old
/// tree's root is itself a node the verifier knows, so it need not be sent.
pub(crate) fn subproof(
    mth: &impl Fn(Range<usize>) -> Hash,
    range: Range<usize>,
    m: usize,
    complete: bool,
    out: &mut Vec<Hash>,
) {
    let n = range.len();
    if m == n {
        if !complete {
            out.push(mth(range));
        }
        return;
    }
    let k = split(n);
    let mid = range.start + k;
    if m <= k {
        subproof(mth, range.start..mid, m, complete, out);
        out.push(mth(mid..range.end));
    } else {
        subproof(mth, mid..range.end, m - k, false, out);
        out.push(mth(range.start..mid));
    }
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`, by the
/// algorithm of RFC 9162 §2.1.4.2.
///
/// Equal sizes need an empty proof and equal roots; an old size of 0 needs
/// an empty proof and the empty tree's root, since the empty tree is a
/// prefix of every tree.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if new_size < old_size {
        return Err(ProofError::SizeDecreased { old_size, new_size });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::ProofTooLong);
        }
        if old_size == 0 && *old_root != EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    let (first, rest) = if old_size.is_power_of_two() {
        // The old root is a node of the new tree, so the proof leaves it out
        // and the verifier starts from it.
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(ProofError::ProofTooShort),
        }
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// All the levels of a Merkle tree, for producing many proofs over one tree:
/// an export of k entries from a log of n costs O(n + k log² n) hashes this
/// way instead of O(k n).
///
/// Level 0 holds the leaf hashes and level h the roots of the complete,
/// aligned subtrees of 2^h leaves, so about 2n hashes in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// Hashes the tree over `leaves` (already leaf hashes).
    pub fn new(leaves: &[Hash]) -> Self {
        let mut levels = vec![leaves.to_vec()];
        while let Some(below) = levels.last().filter(|l| l.len() >= 2) {
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The number of leaves.
    pub fn size(&self) -> usize {
        self.levels[0].len()
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The root of the whole tree, equal to [`root`] over the leaves.
    pub fn root(&self) -> Hash {
        self.range_root(0..self.size())
    }

    /// The root of the tree over the leaves in `range`, taking complete
    /// aligned subtrees from the stored levels and hashing only the ragged
    /// right edge.
    fn range_root(&self, range: Range<usize>) -> Hash {
        let n = range.len();
        if n == 0 {
            return EMPTY_ROOT;
        }
        if n.is_power_of_two() && range.start.is_multiple_of(n) {
            return self.levels[n.trailing_zeros() as usize][range.start / n];
        }
        let mid = range.start + split(n);
        node_hash(&self.range_root(range.start..mid), &self.range_root(mid..range.end))
    }

    /// The audit path for the leaf at `index`, the same as
    /// [`inclusion_proof`] gives.
    ///
    /// # Panics
    ///
    /// Panics when `index >= self.size()`.
    pub fn inclusion_proof(&self, index: usize) -> Vec<Hash> {
        let n = self.size();
        assert!(index < n, "leaf index {index} is outside a tree of size {n}");
        let mut proof = Vec::with_capacity(usize::BITS as usize);
        path(&|r| self.range_root(r), 0..n, index, &mut proof);
        proof
    }

    /// The consistency proof from the first `old_size` leaves to the whole
    /// tree, the same as [`consistency_proof`] gives.
    ///
    /// # Panics
    ///
    /// Panics when `old_size > self.size()`.
    pub fn consistency_proof(&self, old_size: usize) -> Vec<Hash> {
        let n = self.size();
        assert!(
            old_size <= n,
            "old tree size {old_size} is larger than the new tree size {n}"
        );
        let mut proof = Vec::with_capacity(usize::BITS as usize);
        if old_size > 0 {
            subproof(&|r| self.range_root(r), 0..n, old_size, true, &mut proof);
        }
        proof
    }
}

/// A frontier whose stored hashes do not fit its size.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a frontier of size {size} needs {expected} hashes, got {actual}")]
pub struct InvalidFrontier {
    /// The claimed number of leaves.
    pub size: u64,
    /// The number of hashes that size needs: its number of one bits.
    pub expected: usize,
    /// The number of hashes given.
    pub actual: usize,
}

/// The right edge of a growing Merkle tree: the roots of the perfect
/// subtrees that make up the tree, one per one bit of its size, largest
/// (leftmost) first.
///
/// The hub keeps one of these (and may persist [`Frontier::hashes`] with
/// [`Frontier::size`]) so that appending an entry and computing the new root
/// cost O(log n) without reading the earlier leaves back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its size and subtree roots, as returned by
    /// [`Frontier::size`] and [`Frontier::hashes`]. The number of hashes
    /// must be the number of one bits in `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, InvalidFrontier> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(InvalidFrontier {
                size,
                expected,
                actual: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// The frontier of the tree over `leaves`, by appending them in order.
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut frontier = Self::new();
        for leaf in leaves {
            frontier.append(*leaf);
        }
        frontier
    }

    /// Appends one leaf hash. Equal-sized subtrees on the right edge merge
    /// like the carries of a binary increment, so this does at most
    /// log2(size) node hashes.
    pub fn append(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self
                .hashes
                .pop()
                .expect("a frontier holds one hash per one bit of its size");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the perfect subtrees, largest first; persist these with
    /// the size to resume with [`Frontier::from_parts`].
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root of the tree so far, equal to [`root`] over all the leaves
    /// appended. The subtrees are joined right to left, which is how MTH
    /// nests its right-hand splits.
    pub fn root(&self) -> Hash {
        let mut it = self.hashes.iter().rev();
        match it.next() {
            None => EMPTY_ROOT,
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    /// The leaf inputs of the Certificate Transparency reference test suite.
    fn ct_leaves() -> Vec<Hash> {
        [
            &b""[..],
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ]
        .iter()
        .map(|d| leaf_hash(d))
        .collect()
    }

    /// The roots of the first n CT reference leaves, indexed by n.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn empty_root_is_sha256_of_the_empty_string() {
        let digest: Hash = Sha256::digest(b"").into();
        assert_eq!(EMPTY_ROOT, digest);
        assert_eq!(root(&[]), h(CT_ROOTS[0]));
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn small_trees_follow_the_definition() {
        let l: Vec<Hash> = (0u8..5).map(|i| leaf_hash(&[i])).collect();
        let digest: Hash = Sha256::digest([0x00, 0x03]).into();
        assert_eq!(l[3], digest);
        assert_eq!(root(&l[..1]), l[0]);
        assert_eq!(root(&l[..2]), node_hash(&l[0], &l[1]));
        // Three leaves split 2 + 1.
        assert_eq!(root(&l[..3]), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        let four = node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &l[3]));
        assert_eq!(root(&l[..4]), four);
        // Five leaves split 4 + 1.
        assert_eq!(root(&l), node_hash(&four, &l[4]));
    }

    #[test]
    fn roots_match_the_ct_reference_vectors() {
        let leaves = ct_leaves();
        for (n, want) in CT_ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root(&leaves[..n])), *want, "tree size {n}");
            assert_eq!(
                hex::encode(Frontier::from_leaves(&leaves[..n]).root()),
                *want,
                "frontier size {n}"
            );
        }
    }

    #[test]
    fn inclusion_proofs_match_the_ct_reference_vectors() {
        let leaves = ct_leaves();
        let cases: [(usize, [&str; 3]); 2] = [
            (
                0,
                [
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                [
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let root8 = h(CT_ROOTS[8]);
        for (index, want) in cases {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(inclusion_proof(&leaves, index), want, "index {index}");
            verify_inclusion(&leaves[index], index as u64, 8, &want, &root8).unwrap();
        }
    }

    #[test]
    fn consistency_proofs_match_the_ct_reference_vectors() {
        let leaves = ct_leaves();
        let cases: [(usize, usize, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in cases {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(consistency_proof(&leaves[..n], m), want, "{m} -> {n}");
            verify_consistency(m as u64, n as u64, &h(CT_ROOTS[m]), &h(CT_ROOTS[n]), &want).unwrap();
        }
    }

    #[test]
    fn edge_cases_of_consistency() {
        let leaves = ct_leaves();
        let r8 = h(CT_ROOTS[8]);
        let r4 = h(CT_ROOTS[4]);
        assert_eq!(consistency_proof(&leaves, 0), Vec::<Hash>::new());
        assert_eq!(verify_consistency(0, 8, &EMPTY_ROOT, &r8, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 8, &r4, &r8, &[]),
            Err(ProofError::OldRootMismatch)
        );
        assert_eq!(
            verify_consistency(8, 4, &r8, &r4, &[]),
            Err(ProofError::SizeDecreased {
                old_size: 8,
                new_size: 4
            })
        );
        assert_eq!(verify_consistency(8, 8, &r8, &r4, &[]), Err(ProofError::RootMismatch));
        assert_eq!(verify_consistency(8, 8, &r8, &r8, &[r4]), Err(ProofError::ProofTooLong));
        assert_eq!(
            verify_consistency(3, 8, &h(CT_ROOTS[3]), &r8, &[]),
            Err(ProofError::ProofTooShort)
        );
    }

    #[test]
    fn inclusion_rejects_an_index_outside_the_tree() {
        let leaves = ct_leaves();
        assert_eq!(
            verify_inclusion(&leaves[0], 8, 8, &[], &h(CT_ROOTS[8])),
            Err(ProofError::IndexOutOfRange { index: 8, tree_size: 8 })
        );
        // A single-leaf tree's root is the leaf itself and its proof is empty.
        assert_eq!(inclusion_proof(&leaves[..1], 0), Vec::<Hash>::new());
        verify_inclusion(&leaves[0], 0, 1, &[], &leaves[0]).unwrap();
    }

    #[test]
    fn frontier_round_trips_through_its_parts() {
        let leaves = ct_leaves();
        let f = Frontier::from_leaves(&leaves[..7]);
        assert_eq!(f.hashes().len(), 3);
        let mut g = Frontier::from_parts(f.size(), f.hashes().to_vec()).unwrap();
        g.append(leaves[7]);
        assert_eq!(g.root(), h(CT_ROOTS[8]));
        assert_eq!(
            Frontier::from_parts(7, vec![leaves[0]]),
            Err(InvalidFrontier {
                size: 7,
                expected: 3,
                actual: 1
            })
        );
    }

    fn leaves_of(n: usize, salt: u8) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&[&(i as u64).to_be_bytes()[..], &[salt]].concat()))
            .collect()
    }

    fn flip(hash: &Hash, bit: usize) -> Hash {
        let mut out = *hash;
        out[bit / 8 % 32] ^= 1 << (bit % 8);
        out
    }

    #[test]
    fn frontier_root_equals_root_for_every_prefix() {
        let leaves = leaves_of(300, 7);
        let mut f = Frontier::new();
        for n in 0..=leaves.len() {
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), root(&leaves[..n]), "size {n}");
            assert_eq!(f.hashes().len(), n.count_ones() as usize);
            if n < leaves.len() {
                f.append(leaves[n]);
            }
        }
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_for_small_trees() {
        let leaves = leaves_of(40, 1);
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let r = root(tree);
            let levels = MerkleTree::new(tree);
            assert_eq!(levels.root(), r, "size {n}");
            for i in 0..n {
                let proof = inclusion_proof(tree, i);
                assert_eq!(levels.inclusion_proof(i), proof, "leaf {i} of {n}");
                verify_inclusion(&tree[i], i as u64, n as u64, &proof, &r)
                    .unwrap_or_else(|e| panic!("leaf {i} of {n}: {e}"));
            }
            for m in 0..=n {
                let proof = consistency_proof(tree, m);
                assert_eq!(levels.consistency_proof(m), proof, "{m} -> {n}");
                verify_consistency(m as u64, n as u64, &root(&tree[..m]), &r, &proof)
                    .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
            }
        }
    }

    proptest! {
        #[test]
        fn inclusion_proofs_verify_and_detect_tampering(
            n in 1usize..200,
            index_seed in any::<usize>(),
            bit in 0usize..256,
            other_seed in any::<usize>(),
        ) {
            let leaves = leaves_of(n, 2);
            let r = root(&leaves);
            let index = index_seed % n;
            let proof = inclusion_proof(&leaves, index);
            prop_assert_eq!(&MerkleTree::new(&leaves).inclusion_proof(index), &proof);
            let (i, size) = (index as u64, n as u64);
            prop_assert_eq!(verify_inclusion(&leaves[index], i, size, &proof, &r), Ok(()));

            // A changed leaf, root or proof hash never verifies.
            prop_assert!(verify_inclusion(&flip(&leaves[index], bit), i, size, &proof, &r).is_err());
            prop_assert!(verify_inclusion(&leaves[index], i, size, &proof, &flip(&r, bit)).is_err());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let k = other_seed % bad.len();
                bad[k] = flip(&bad[k], bit);
                prop_assert!(verify_inclusion(&leaves[index], i, size, &bad, &r).is_err());
                // Dropping a hash or adding one is refused too.
                prop_assert!(verify_inclusion(&leaves[index], i, size, &proof[1..], &r).is_err());
            }
            let mut longer = proof.clone();
            longer.push(r);
            prop_assert!(verify_inclusion(&leaves[index], i, size, &longer, &r).is_err());

            // The same leaf claimed at another index does not verify.
            let other = other_seed % n;
            if other != index {
                prop_assert!(verify_inclusion(&leaves[index], other as u64, size, &proof, &r).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify_and_detect_tampering(
            n in 1usize..200,
            m_seed in any::<usize>(),
            bit in 0usize..256,
            k_seed in any::<usize>(),
        ) {
            let leaves = leaves_of(n, 3);
            let m = 1 + m_seed % n;
            let (old, new) = (root(&leaves[..m]), root(&leaves));
            let proof = consistency_proof(&leaves, m);
            prop_assert_eq!(&MerkleTree::new(&leaves).consistency_proof(m), &proof);
            let (ms, ns) = (m as u64, n as u64);
            prop_assert_eq!(verify_consistency(ms, ns, &old, &new, &proof), Ok(()));

            prop_assert!(verify_consistency(ms, ns, &flip(&old, bit), &new, &proof).is_err());
            prop_assert!(verify_consistency(ms, ns, &old, &flip(&new, bit), &proof).is_err());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let k = k_seed % bad.len();
                bad[k] = flip(&bad[k], bit);
                prop_assert!(verify_consistency(ms, ns, &old, &new, &bad).is_err());
                prop_assert!(verify_consistency(ms, ns, &old, &new, &proof[..proof.len() - 1]).is_err());
            }
            let mut longer = proof.clone();
            longer.push(new);
            prop_assert!(verify_consistency(ms, ns, &old, &new, &longer).is_err());

            // A rewritten history: one old leaf changed gives a different
            // old root that the honest proof cannot tie to the new root.
            let mut rewritten = leaves.clone();
            rewritten[k_seed % m] = flip(&rewritten[k_seed % m], bit);
            let forged_old = root(&rewritten[..m]);
            prop_assert!(verify_consistency(ms, ns, &forged_old, &new, &proof).is_err());
        }
    }
}
