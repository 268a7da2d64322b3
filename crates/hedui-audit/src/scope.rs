//! What an export claims to hold, signed by the hub.
//!
//! Inclusion proofs show that each exported entry is in the signed log; they
//! cannot show that nothing was left out. So the hub states, when it makes
//! an export, which entries it put in ([`ScopeStatement`]), and signs that
//! statement with its key. An auditor's verifier then checks the entries
//! against it: for an unfiltered export (a time or seq range) every seq from
//! `first_seq` to `last_seq` must be present, so an entry deleted from the
//! file, or a file cut short, is found. A filtered export (by person, actor,
//! action or department) says so, and its completeness is reported as not
//! proven: the filter was applied by the hub, and only the hub's word stands
//! for it.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The prefix of every signed scope statement.
pub const SCOPE_CONTEXT: &[u8] = b"hedui-export-scope-v1\n";

/// What an export holds, as the hub stated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeStatement {
    /// True when the export holds every entry of the log with seq from
    /// `first_seq` to `last_seq`: the export was not filtered.
    pub complete: bool,
    /// The first seq of the range (inclusive); 0 when the export is empty.
    pub first_seq: u64,
    /// The last seq of the range (inclusive); 0 when the export is empty.
    pub last_seq: u64,
    /// The number of entries exported.
    pub entry_count: u64,
    /// The tree size of the checkpoint the export is proven against.
    pub tree_size: u64,
    /// What was asked for, in words with no personal data (a person is
    /// named by the masked ID number), such as `from=2026-11-01 to=2026-12-01`
    /// or `person=5206**********123X`.
    pub selection: String,
}

/// A scope statement and the hub's signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedScope {
    /// The statement.
    pub statement: ScopeStatement,
    /// Hex ed25519 signature over [`SCOPE_CONTEXT`] and the statement's
    /// compact JSON (keys in declaration order).
    pub signature: String,
}

fn message(statement: &ScopeStatement) -> Vec<u8> {
    let json = serde_json::to_vec(statement).expect("a scope statement serialises");
    [SCOPE_CONTEXT, json.as_slice()].concat()
}

/// Signs `statement` with the hub key.
pub fn sign(statement: ScopeStatement, key: &SigningKey) -> SignedScope {
    let signature = hex::encode(key.sign(&message(&statement)).to_bytes());
    SignedScope { statement, signature }
}

/// Why an export does not hold what its scope says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The signature does not verify under the trusted key.
    #[error("the export's scope statement is not signed by the trusted hub key (it was edited)")]
    Signature,
    /// The statement names another checkpoint.
    #[error("the scope was stated for tree size {stated}, but the export is proven against tree size {actual}")]
    TreeSize {
        /// The size in the statement.
        stated: u64,
        /// The checkpoint's size.
        actual: u64,
    },
    /// Entries are missing or were added.
    #[error("the hub exported {stated} entries, but the file holds {actual} (entries were removed or added)")]
    Count {
        /// The count in the statement.
        stated: u64,
        /// The count in the file.
        actual: u64,
    },
    /// An entry of a complete range is missing.
    #[error("entry {0} is missing from a range the hub exported complete (it was removed from the export)")]
    Missing(u64),
    /// An entry lies outside the stated range.
    #[error("entry {0} lies outside the range {1}..={2} the hub exported")]
    OutsideRange(u64, u64, u64),
}

impl SignedScope {
    /// Checks the signature and that `seqs` (the exported entries' seqs) are
    /// what the statement says; `tree_size` is the checkpoint's.
    pub fn check(&self, key: &VerifyingKey, seqs: &[u64], tree_size: u64) -> Result<(), ScopeError> {
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ScopeError::Signature)?;
        key.verify(&message(&self.statement), &Signature::from_bytes(&bytes))
            .map_err(|_| ScopeError::Signature)?;
        let s = &self.statement;
        if s.tree_size != tree_size {
            return Err(ScopeError::TreeSize {
                stated: s.tree_size,
                actual: tree_size,
            });
        }
        if let Some(&seq) = seqs
            .iter()
            .find(|&&q| s.entry_count > 0 && (q < s.first_seq || q > s.last_seq))
        {
            return Err(ScopeError::OutsideRange(seq, s.first_seq, s.last_seq));
        }
        if s.complete && s.entry_count > 0 {
            let present: std::collections::BTreeSet<u64> = seqs.iter().copied().collect();
            if let Some(seq) = (s.first_seq..=s.last_seq).find(|q| !present.contains(q)) {
                return Err(ScopeError::Missing(seq));
            }
        }
        if s.entry_count != seqs.len() as u64 {
            return Err(ScopeError::Count {
                stated: s.entry_count,
                actual: seqs.len() as u64,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn range(first: u64, last: u64) -> SignedScope {
        sign(
            ScopeStatement {
                complete: true,
                first_seq: first,
                last_seq: last,
                entry_count: last - first + 1,
                tree_size: 100,
                selection: "from=2026-11-01".into(),
            },
            &key(),
        )
    }

    #[test]
    fn a_complete_range_must_hold_every_seq() {
        let s = range(10, 14);
        let pk = key().verifying_key();
        assert_eq!(s.check(&pk, &[10, 11, 12, 13, 14], 100), Ok(()));
        assert_eq!(s.check(&pk, &[10, 11, 13, 14], 100), Err(ScopeError::Missing(12)));
        assert_eq!(s.check(&pk, &[10, 11], 100), Err(ScopeError::Missing(12)));
        assert_eq!(
            s.check(&pk, &[10, 11, 12, 13, 14], 99),
            Err(ScopeError::TreeSize {
                stated: 100,
                actual: 99
            })
        );
    }

    #[test]
    fn an_edited_statement_fails_its_signature() {
        let mut s = range(10, 14);
        s.statement.last_seq = 11;
        s.statement.entry_count = 2;
        assert_eq!(
            s.check(&key().verifying_key(), &[10, 11], 100),
            Err(ScopeError::Signature)
        );
    }

    #[test]
    fn a_filtered_export_is_checked_for_count_only() {
        let s = sign(
            ScopeStatement {
                complete: false,
                first_seq: 3,
                last_seq: 90,
                entry_count: 3,
                tree_size: 100,
                selection: "person=5206**********123X".into(),
            },
            &key(),
        );
        let pk = key().verifying_key();
        assert_eq!(s.check(&pk, &[3, 40, 90], 100), Ok(()));
        assert_eq!(
            s.check(&pk, &[3, 90], 100),
            Err(ScopeError::Count { stated: 3, actual: 2 })
        );
        assert_eq!(s.check(&pk, &[2, 40, 90], 100), Err(ScopeError::OutsideRange(2, 3, 90)));
    }
}
