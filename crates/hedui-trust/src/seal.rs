//! The hub's seal on a stored record.
//!
//! A record's digest proves only that its bytes were not changed since the
//! digest was computed; anyone who edits a record can compute a new one. The
//! seal is the hub key's ed25519 signature over the digest, made when the
//! record is stored: without the hub key nobody can re-seal an edited
//! record, and an exported record or report is checked offline with only
//! the hub's public key.
//!
//! The signed message is [`SEAL_CONTEXT`] followed by the digest in
//! lower-case hex, so a seal can never be mistaken for a grant
//! (`hedui-grant-v1\n…`) or a checkpoint (a signed note), which the same key
//! signs.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hedui_proto::v1::VerificationRecord;

/// The prefix of every signed record digest.
pub const SEAL_CONTEXT: &[u8] = b"hedui-record-v1\n";

/// Why a record's seal does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The record carries no seal.
    #[error("the record carries no hub seal")]
    Missing,
    /// The seal is not 64 bytes of hex.
    #[error("the hub seal is not a signature (128 hex characters)")]
    Malformed,
    /// The content no longer matches the digest.
    #[error("the record's content does not match its digest")]
    Digest,
    /// The signature does not verify under the key.
    #[error(
        "the hub seal does not verify under the hub's public key: the record was re-sealed without the hub key, or another hub sealed it"
    )]
    Signature,
}

fn message(digest: &str) -> Vec<u8> {
    [SEAL_CONTEXT, digest.as_bytes()].concat()
}

/// Seals `record`: recomputes its digest, then signs it with `key` into
/// `hub_signature`.
pub fn seal(record: &mut VerificationRecord, key: &SigningKey) {
    hedui_domain::digest::seal(record);
    record.hub_signature = hex::encode(key.sign(&message(&record.digest)).to_bytes());
}

/// Checks that `record` matches its digest and that the digest carries the
/// seal of the hub whose public key is `key`.
pub fn verify(record: &VerificationRecord, key: &VerifyingKey) -> Result<(), SealError> {
    if record.hub_signature.is_empty() {
        return Err(SealError::Missing);
    }
    if !hedui_domain::digest::verify(record) {
        return Err(SealError::Digest);
    }
    let bytes: [u8; 64] = hex::decode(&record.hub_signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SealError::Malformed)?;
    key.verify(&message(&record.digest), &Signature::from_bytes(&bytes))
        .map_err(|_| SealError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    fn record() -> VerificationRecord {
        VerificationRecord {
            record_id: "0192a0b1-0000-7000-8000-000000000001".into(),
            policy_version: "p1".into(),
            verdict: 1,
            ..Default::default()
        }
    }

    #[test]
    fn a_sealed_record_verifies_under_its_hub_key_only() {
        let mut r = record();
        seal(&mut r, &key(1));
        assert_eq!(r.hub_signature.len(), 128);
        assert_eq!(verify(&r, &key(1).verifying_key()), Ok(()));
        assert_eq!(verify(&r, &key(2).verifying_key()), Err(SealError::Signature));
    }

    #[test]
    fn a_record_resealed_without_the_key_is_refused() {
        let mut r = record();
        seal(&mut r, &key(1));
        // An insider edits the record and recomputes the plain digest.
        r.policy_version = "forged".into();
        hedui_domain::digest::seal(&mut r);
        assert!(hedui_domain::digest::verify(&r));
        assert_eq!(verify(&r, &key(1).verifying_key()), Err(SealError::Signature));
        // Without recomputing, the digest itself no longer matches.
        let mut r2 = record();
        seal(&mut r2, &key(1));
        r2.verdict = 2;
        assert_eq!(verify(&r2, &key(1).verifying_key()), Err(SealError::Digest));
    }

    #[test]
    fn missing_and_malformed_seals_are_named() {
        let mut r = record();
        hedui_domain::digest::seal(&mut r);
        assert_eq!(verify(&r, &key(1).verifying_key()), Err(SealError::Missing));
        r.hub_signature = "zz".into();
        assert_eq!(verify(&r, &key(1).verifying_key()), Err(SealError::Malformed));
    }

    #[test]
    fn the_seal_is_outside_the_digest() {
        let mut r = record();
        seal(&mut r, &key(1));
        let digest = r.digest.clone();
        seal(&mut r, &key(2));
        assert_eq!(r.digest, digest);
    }
}
