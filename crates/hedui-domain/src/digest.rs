//! The integrity digest of a checked record.
//!
//! The digest is SHA-256 over the protobuf encoding of the record with its
//! `digest` and `hub_signature` fields set to the empty string (the seal
//! signs the digest, so it cannot be under it). prost encodes fields in field
//! number order and the record has no map fields, so the encoding of a given
//! record is always the same bytes; anyone holding the `.proto` files can
//! recompute it.

use hedui_proto::v1::VerificationRecord;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

/// Computes the digest of `record`, ignoring whatever its `digest` field holds.
pub fn compute(record: &VerificationRecord) -> String {
    let mut canonical = record.clone();
    canonical.digest.clear();
    canonical.hub_signature.clear();
    hex::encode(Sha256::digest(canonical.encode_to_vec()))
}

/// Sets `record.digest` to the digest of the rest of the record.
pub fn seal(record: &mut VerificationRecord) {
    record.digest = compute(record);
}

/// True when `record.digest` matches the record's content.
pub fn verify(record: &VerificationRecord) -> bool {
    record.digest == compute(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_record_verifies_and_any_change_is_detected() {
        let mut r = VerificationRecord {
            record_id: "r1".into(),
            policy_version: "p1".into(),
            verdict: 1,
            ..Default::default()
        };
        seal(&mut r);
        assert_eq!(r.digest.len(), 64);
        assert!(verify(&r));
        let mut changed = r.clone();
        changed.verdict = 2;
        assert!(!verify(&changed));
        let mut changed = r.clone();
        changed.policy_version = "p2".into();
        assert!(!verify(&changed));
    }

    #[test]
    fn digest_ignores_the_digest_field_itself() {
        let mut a = VerificationRecord {
            record_id: "x".into(),
            ..Default::default()
        };
        let b = a.clone();
        a.digest = "anything".into();
        assert_eq!(compute(&a), compute(&b));
    }
}
