//! The tamper-evident audit log of hedui, as pure functions and types.
//!
//! Every query the hub serves becomes one [`entry::AuditEntry`]. The entries
//! are the leaves of an RFC 9162 Merkle tree ([`merkle`]); the hub signs the
//! tree head from time to time with Ed25519 ([`checkpoint`]). An auditor who
//! holds only the hub's public key can then check an export offline
//! ([`export`]): that each exported entry is in the signed tree unchanged, and
//! that every earlier signed tree head is a prefix of the latest one, so no
//! row was edited, deleted or reordered after it was signed. A plain hash
//! chain (as in X-Road) needs every row from the start to prove the same;
//! a Merkle tree needs a logarithmic number of hashes per entry.
//!
//! This crate does no I/O and reads no clock: times are strings the caller
//! supplies, and the storage is built on top of this API.

pub mod adapter_log;
pub mod checkpoint;
pub mod entry;
pub mod export;
mod hexser;
pub mod merkle;
pub mod nodes;
pub mod reconcile;
pub mod scope;
pub mod source_query;

pub use checkpoint::{Checkpoint, SignedCheckpoint, VerifyError};
pub use entry::{AuditEntry, PersonRef};
pub use export::{
    BundleError, ConsistencyProof, ExportBundle, InclusionProof, VerifyReport, verify_bundle, verify_full_log,
};
pub use merkle::{Frontier, Hash, MerkleTree, ProofError};
