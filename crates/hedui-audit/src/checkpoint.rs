//! Signed tree heads ("checkpoints") and the key formats of the audit log.
//!
//! A checkpoint says "the log named `origin` had `tree_size` entries and
//! this Merkle root at `time`". The hub signs it with Ed25519 over a text
//! body in the style of C2SP signed-note checkpoints:
//!
//! ```text
//! hedui.dejiang.gov.cn/audit
//! 50
//! <root, standard base64 with padding>
//! 2026-11-26T15:10:00.123Z
//! ```
//!
//! that is `"{origin}\n{tree_size}\n{base64(root)}\n{time}\n"`, with the
//! time as a C2SP extension line. A text body rather than JSON so that an
//! auditor can rebuild the exact signed bytes by hand. The signing key must
//! sign nothing but checkpoints, so that no other signed text can be passed
//! off as one.
//!
//! Keys are written as one line: `ed25519:<64 hex digits>` for the public
//! key and `ed25519-secret:<64 hex digits>` for the 32-byte secret seed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::merkle::Hash;

/// The prefix of a public key line.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";
/// The prefix of a secret key line.
pub const SECRET_KEY_PREFIX: &str = "ed25519-secret:";

/// A tree head: the size and root of the log at some time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The name of the log, such as `hedui.dejiang.gov.cn/audit`, so that a
    /// checkpoint of one hub's log cannot pass for another's.
    pub origin: String,
    /// The number of entries in the tree.
    pub tree_size: u64,
    /// The Merkle root of the first `tree_size` entries (hex in JSON).
    #[serde(with = "crate::hexser::array")]
    pub root: Hash,
    /// When the hub signed it: RFC 3339 UTC, as in the entries.
    pub time: String,
}

/// A checkpoint with the hub's Ed25519 signature over its
/// [`Checkpoint::signed_body`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The checkpoint that was signed.
    pub checkpoint: Checkpoint,
    /// Which key signed it: see [`key_id`]. It only helps pick the key; the
    /// signature is what proves who signed.
    pub key_id: String,
    /// The Ed25519 signature (hex in JSON).
    #[serde(with = "crate::hexser::array")]
    pub signature: [u8; 64],
}

/// Why a signed checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// A field would make the signed body ambiguous, so the checkpoint is
    /// refused whatever its signature.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The checkpoint names a different signing key than the trusted one.
    #[error("signed by key {signed_by}, not by the trusted key {trusted}")]
    KeyIdMismatch {
        /// The key id the checkpoint carries.
        signed_by: String,
        /// The id of the key the verifier trusts.
        trusted: String,
    },
    /// The signature is not a valid signature of the body by the trusted
    /// key: the checkpoint was altered or signed by someone else.
    #[error("signature does not verify with the trusted key (the checkpoint was altered or forged)")]
    BadSignature,
}

/// Why a key line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The line does not start with the expected prefix.
    #[error("expected a key of the form {prefix}<64 hex digits>")]
    MissingPrefix {
        /// The prefix that was expected.
        prefix: &'static str,
    },
    /// A secret key was given where a public key was expected; refused
    /// outright so that a secret is never mistaken for, and published as,
    /// a public key.
    #[error("this is a secret key; give the public key (ed25519:<hex>) instead")]
    SecretGivenAsPublic,
    /// The hex part is not 32 bytes of hex.
    #[error("bad key hex: {0}")]
    BadHex(String),
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
}

impl Checkpoint {
    /// The exact text that is signed:
    /// `"{origin}\n{tree_size}\n{base64(root)}\n{time}\n"`, with the root in
    /// standard base64 with padding.
    pub fn signed_body(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(self.root),
            self.time
        )
    }

    /// Checks that the body has exactly the four lines it claims: a newline
    /// inside the origin or the time could make two different checkpoints
    /// share one signed body.
    pub fn check_fields(&self) -> Result<(), VerifyError> {
        if self.origin.is_empty() {
            return Err(VerifyError::Malformed("origin is empty"));
        }
        if self.origin.contains('\n') {
            return Err(VerifyError::Malformed("origin contains a newline"));
        }
        if self.time.contains('\n') {
            return Err(VerifyError::Malformed("time contains a newline"));
        }
        Ok(())
    }
}

/// The key id: hex of the first 4 bytes of SHA-256 of the 32-byte public
/// key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..4])
}

/// Signs a checkpoint. A checkpoint whose origin is empty or whose origin
/// or time contains a newline is signed all the same but will never
/// verify; check it with [`Checkpoint::check_fields`] first.
pub fn sign(cp: Checkpoint, key: &SigningKey) -> SignedCheckpoint {
    let signature = key.sign(cp.signed_body().as_bytes()).to_bytes();
    SignedCheckpoint {
        checkpoint: cp,
        key_id: key_id(&key.verifying_key()),
        signature,
    }
}

impl SignedCheckpoint {
    /// Verifies the signature with `key`, the key the verifier trusts (never
    /// one taken from the same file as the checkpoint). Uses strict Ed25519
    /// verification, which also refuses malleable signatures and weak keys.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), VerifyError> {
        self.checkpoint.check_fields()?;
        let trusted = key_id(key);
        if self.key_id != trusted {
            return Err(VerifyError::KeyIdMismatch {
                signed_by: self.key_id.clone(),
                trusted,
            });
        }
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(self.checkpoint.signed_body().as_bytes(), &signature)
            .map_err(|_| VerifyError::BadSignature)
    }
}

/// Reads the 32 bytes after `prefix` on a single (trimmed) line.
fn parse_key_bytes(s: &str, prefix: &'static str) -> Result<[u8; 32], KeyError> {
    let hex_part = s
        .trim()
        .strip_prefix(prefix)
        .ok_or(KeyError::MissingPrefix { prefix })?;
    crate::hexser::decode(hex_part).map_err(KeyError::BadHex)
}

/// Reads a public key line `ed25519:<64 hex digits>`; surrounding whitespace
/// (such as the file's final newline) is ignored.
pub fn parse_public_key(s: &str) -> Result<VerifyingKey, KeyError> {
    if s.trim().starts_with(SECRET_KEY_PREFIX) {
        return Err(KeyError::SecretGivenAsPublic);
    }
    let bytes = parse_key_bytes(s, PUBLIC_KEY_PREFIX)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPublicKey)
}

/// Writes a public key as `ed25519:<64 lowercase hex digits>`, without a
/// newline.
pub fn format_public_key(key: &VerifyingKey) -> String {
    format!("{PUBLIC_KEY_PREFIX}{}", hex::encode(key.as_bytes()))
}

/// Reads a secret key line `ed25519-secret:<64 hex digits>` (the 32-byte
/// seed); surrounding whitespace is ignored.
pub fn parse_signing_key(s: &str) -> Result<SigningKey, KeyError> {
    parse_key_bytes(s, SECRET_KEY_PREFIX).map(|seed| SigningKey::from_bytes(&seed))
}

/// Writes a secret key as `ed25519-secret:<64 lowercase hex digits>`,
/// without a newline. The result is the secret itself: write it only to a
/// file readable by the hub alone.
pub fn format_signing_key(key: &SigningKey) -> String {
    format!("{SECRET_KEY_PREFIX}{}", hex::encode(key.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "hedui.dejiang.gov.cn/audit".into(),
            tree_size: 50,
            root: leaf_hash(b"root"),
            time: "2026-11-26T15:10:00.123Z".into(),
        }
    }

    #[test]
    fn signed_body_has_the_documented_form() {
        let mut cp = checkpoint();
        cp.root = [0u8; 32];
        assert_eq!(
            cp.signed_body(),
            "hedui.dejiang.gov.cn/audit\n50\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n2026-11-26T15:10:00.123Z\n"
        );
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_survives_json() {
        let signed = sign(checkpoint(), &key(1));
        signed.verify(&key(1).verifying_key()).unwrap();
        let json = serde_json::to_string(&signed).unwrap();
        assert!(json.contains(&hex::encode(signed.checkpoint.root)), "{json}");
        assert!(json.contains(&hex::encode(signed.signature)), "{json}");
        let back: SignedCheckpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, signed);
        back.verify(&key(1).verifying_key()).unwrap();
    }

    #[test]
    fn any_change_to_the_checkpoint_breaks_the_signature() {
        let trusted = key(1).verifying_key();
        let signed = sign(checkpoint(), &key(1));

        let mut s = signed.clone();
        s.checkpoint.tree_size = 49;
        assert_eq!(s.verify(&trusted), Err(VerifyError::BadSignature));
        let mut s = signed.clone();
        s.checkpoint.root[0] ^= 1;
        assert_eq!(s.verify(&trusted), Err(VerifyError::BadSignature));
        let mut s = signed.clone();
        s.checkpoint.time = "2026-11-26T15:10:00.124Z".into();
        assert_eq!(s.verify(&trusted), Err(VerifyError::BadSignature));
        let mut s = signed.clone();
        s.checkpoint.origin = "evil".into();
        assert_eq!(s.verify(&trusted), Err(VerifyError::BadSignature));
        let mut s = signed.clone();
        s.signature[10] ^= 1;
        assert_eq!(s.verify(&trusted), Err(VerifyError::BadSignature));
    }

    #[test]
    fn another_key_is_refused_even_with_a_forged_key_id() {
        let forged = sign(checkpoint(), &key(2));
        let trusted = key(1).verifying_key();
        let err = forged.verify(&trusted).unwrap_err();
        assert!(matches!(err, VerifyError::KeyIdMismatch { .. }), "{err:?}");
        let mut relabelled = forged;
        relabelled.key_id = key_id(&trusted);
        assert_eq!(relabelled.verify(&trusted), Err(VerifyError::BadSignature));
    }

    #[test]
    fn a_newline_in_a_field_is_refused() {
        let mut cp = checkpoint();
        cp.origin = "a\n50".into();
        let signed = sign(cp, &key(1));
        assert_eq!(
            signed.verify(&key(1).verifying_key()),
            Err(VerifyError::Malformed("origin contains a newline"))
        );
    }

    #[test]
    fn keys_round_trip_through_their_text_form() {
        let sk = key(7);
        let pk = sk.verifying_key();
        let line = format_public_key(&pk);
        assert!(line.starts_with("ed25519:") && line.len() == 8 + 64, "{line}");
        assert_eq!(parse_public_key(&format!("  {line}\n")).unwrap(), pk);
        let secret = format_signing_key(&sk);
        assert!(secret.starts_with("ed25519-secret:"));
        assert_eq!(parse_signing_key(&secret).unwrap().to_bytes(), sk.to_bytes());
        assert_eq!(key_id(&pk).len(), 8);
    }

    #[test]
    fn bad_key_lines_are_refused_with_a_reason() {
        let secret = format_signing_key(&key(7));
        assert_eq!(parse_public_key(&secret), Err(KeyError::SecretGivenAsPublic));
        assert_eq!(
            parse_public_key(&"00".repeat(32)),
            Err(KeyError::MissingPrefix {
                prefix: PUBLIC_KEY_PREFIX
            })
        );
        let off_curve = (0u8..=255)
            .map(|b| [b; 32])
            .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
            .expect("some 32-byte string is not a curve point");
        assert_eq!(
            parse_public_key(&format!("ed25519:{}", hex::encode(off_curve))),
            Err(KeyError::InvalidPublicKey)
        );
        assert!(matches!(parse_public_key("ed25519:abcd"), Err(KeyError::BadHex(_))));
        assert!(matches!(
            parse_signing_key(&format!("ed25519-secret:{}", "zz".repeat(32))),
            Err(KeyError::BadHex(_))
        ));
        assert!(matches!(
            parse_signing_key(&format_public_key(&key(7).verifying_key())),
            Err(KeyError::MissingPrefix { .. })
        ));
    }
}
