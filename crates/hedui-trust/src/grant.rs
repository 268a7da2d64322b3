//! Grants: what the hub allows one department to be asked for one request.
//!
//! After the hub has checked the household's authorization, it gives each
//! department a [`Grant`] signed with the hub's ed25519 key ([`issue`]). The
//! adapter SDK checks it again before the department's source sees the
//! query ([`verify`]), so a department answers only questions the hub
//! vouched for, even if someone other than the hub reaches its port, and a
//! captured grant is worthless for another department, another household,
//! another purpose or, after a few minutes, at all. [`ReplayGuard`] stops
//! the same grant from being used twice while it is still valid, in memory;
//! a served adapter keeps the same rule in a durable store shared by its
//! replicas and kept across restarts (`hedui_adapter::grants`), since this
//! crate does no I/O.
//!
//! The grant travels as its protobuf encoding inside [`SignedGrant`] and the
//! signature covers those bytes, prefixed with [`GRANT_CONTEXT`]. The
//! verifier never re-encodes, so two protobuf encoders that order or pack
//! fields differently cannot make a valid grant look forged.

use std::collections::{BTreeSet, HashMap};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hedui_proto::v1::{Department, Grant, IncomeWindow, Purpose, SignedGrant};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

/// The bytes signed before the grant's encoding. The prefix separates grant
/// signatures from anything else the hub key might ever sign, and the
/// version lets a future grant format refuse old signatures.
pub const GRANT_CONTEXT: &[u8] = b"hedui-grant-v1\n";

/// The longest a grant may be valid, `expires_at - issued_at`, in
/// milliseconds: ten minutes. A grant covers one fan-out, which takes
/// seconds; a long-lived grant would only widen the window for misuse.
pub const MAX_GRANT_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// How far in the future a grant's `issued_at` may be, in milliseconds, to
/// allow for the hub's clock running ahead of the department's.
pub const MAX_CLOCK_SKEW_MS: i64 = 60 * 1000;

/// Why a grant was refused. The messages name fields and indexes, never ID
/// numbers or names, so they can be returned to the hub and logged as they
/// are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The query carried no grant at all.
    #[error("no grant was sent")]
    Missing,
    /// The bytes are not a signed grant: they do not decode, or the
    /// signature has the wrong length, or the grant expires before it is
    /// issued.
    #[error("malformed grant: {0}")]
    Malformed(&'static str),
    /// The signature does not verify under the trusted key the grant names,
    /// or under any trusted key when it names none of them.
    #[error("grant signature does not verify")]
    BadSignature,
    /// The grant names a key that is not trusted here and no trusted key
    /// verifies it; also returned when no key is trusted at all.
    #[error("grant is signed by a key that is not trusted")]
    UnknownKey,
    /// The grant's `expires_at` has passed.
    #[error("grant has expired")]
    Expired,
    /// The grant's `issued_at` is further in the future than the allowed
    /// clock skew.
    #[error("grant is issued in the future")]
    NotYetValid,
    /// The grant is valid for longer than [`MAX_GRANT_LIFETIME_MS`].
    #[error("grant is valid for longer than 10 minutes")]
    TooLong,
    /// The grant is for another department.
    #[error("grant is for another department")]
    WrongDepartment,
    /// A field of the grant differs from the query.
    #[error("grant {field} does not match the query")]
    Mismatch {
        /// The grant field that differs: `request_id`, `purpose`,
        /// `income_window` or `authorization_ref`.
        field: &'static str,
    },
    /// A queried person is not listed in the grant.
    #[error("queried person {index} is not covered by the grant")]
    PersonNotGranted {
        /// The person's index among the queried persons; never the ID
        /// number.
        index: usize,
    },
    /// The grant for this request and department was already used.
    #[error("grant has already been used")]
    Replayed,
}

/// What the verifying department expects a grant to say: the department it
/// serves and the query it received. Every field is compared for equality
/// with the grant. There is deliberately no `Debug`: it holds ID numbers.
#[derive(Clone, Copy)]
pub struct GrantExpectation<'a> {
    /// The department the adapter answers for.
    pub department: Department,
    /// The query's request id.
    pub request_id: &'a str,
    /// The query's purpose.
    pub purpose: Purpose,
    /// The ID numbers of the persons actually queried, normalised to 18
    /// characters with an upper-case `X`, as in the grant.
    pub id_numbers: &'a [String],
    /// The query's income window, as on the wire.
    pub income_window: &'a IncomeWindow,
    /// The query's authorization reference.
    pub authorization_ref: &'a str,
}

/// The key id of a hub public key: the lower-case hex of the first 8 bytes
/// of the SHA-256 of its 32 bytes. It is short enough to log and to put in
/// every grant, and long enough that two keys of one hub never collide by
/// chance.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..8])
}

/// The exact bytes that are signed: [`GRANT_CONTEXT`] followed by the
/// grant's encoding.
fn signed_message(grant_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(GRANT_CONTEXT.len() + grant_bytes.len());
    message.extend_from_slice(GRANT_CONTEXT);
    message.extend_from_slice(grant_bytes);
    message
}

/// Encodes `grant` and signs the encoding with `key`. The grant is signed as
/// given, `key_id` included; [`issue`] fills `key_id` in.
pub fn sign(grant: &Grant, key: &SigningKey) -> SignedGrant {
    let grant = grant.encode_to_vec();
    let signature = key.sign(&signed_message(&grant));
    SignedGrant {
        grant,
        signature: signature.to_bytes().to_vec(),
    }
}

/// The bytes of a signed grant as they go in `QueryRequest.grant`.
pub fn encode(signed: &SignedGrant) -> Vec<u8> {
    signed.encode_to_vec()
}

/// Builds and signs the grant for one department and one request, valid
/// from `now_unix_ms` for `lifetime_ms`, naming `key`'s key id.
///
/// `lifetime_ms` is clamped to `0..=`[`MAX_GRANT_LIFETIME_MS`], so the hub
/// can never issue a grant that every adapter refuses as too long.
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per grant field keeps the hub's call site explicit"
)]
pub fn issue(
    request_id: &str,
    purpose: Purpose,
    id_numbers: &[String],
    window: &IncomeWindow,
    authorization_ref: &str,
    department: Department,
    now_unix_ms: i64,
    lifetime_ms: i64,
    key: &SigningKey,
) -> SignedGrant {
    let lifetime_ms = lifetime_ms.clamp(0, MAX_GRANT_LIFETIME_MS);
    let grant = Grant {
        request_id: request_id.to_owned(),
        purpose: purpose as i32,
        id_numbers: id_numbers.to_vec(),
        income_window: Some(window.clone()),
        authorization_ref: authorization_ref.to_owned(),
        department: department as i32,
        issued_at_unix_ms: now_unix_ms,
        expires_at_unix_ms: now_unix_ms.saturating_add(lifetime_ms),
        key_id: key_id(&key.verifying_key()),
    };
    sign(&grant, key)
}

/// Verifies the grant bytes of a query and returns the grant.
///
/// In order: the bytes are present and decode into a signed grant with a
/// 64-byte signature and a decodable grant; the signature verifies (strict
/// ed25519, which refuses malleable signatures and weak keys) under the
/// trusted key whose key id the grant names, or, when it names none of
/// them, under any trusted key, so keys can be rotated by trusting old and
/// new for a while; the grant is valid for at most
/// [`MAX_GRANT_LIFETIME_MS`], was not issued more than
/// [`MAX_CLOCK_SKEW_MS`] after `now_unix_ms` and has not expired
/// (`now_unix_ms <= expires_at`); it is for `expected.department`; its
/// request id, purpose, income window and authorization reference equal
/// the query's; and every queried person is listed in it.
///
/// Nothing in the grant is looked at beyond its key id until the signature
/// has verified. The caller then passes the grant to
/// [`ReplayGuard::check_and_remember`].
pub fn verify(
    bytes: &[u8],
    trusted: &[VerifyingKey],
    expected: &GrantExpectation<'_>,
    now_unix_ms: i64,
) -> Result<Grant, GrantError> {
    if bytes.is_empty() {
        return Err(GrantError::Missing);
    }
    let signed = SignedGrant::decode(bytes).map_err(|_| GrantError::Malformed("the signed grant does not decode"))?;
    let signature: [u8; 64] = signed
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| GrantError::Malformed("the signature must be 64 bytes"))?;
    let signature = Signature::from_bytes(&signature);
    let grant =
        Grant::decode(signed.grant.as_slice()).map_err(|_| GrantError::Malformed("the grant does not decode"))?;
    check_signature(&signed.grant, &signature, &grant.key_id, trusted)?;

    // Widened to i128 so that no pair of i64 timestamps can overflow.
    let lifetime = i128::from(grant.expires_at_unix_ms) - i128::from(grant.issued_at_unix_ms);
    if lifetime < 0 {
        return Err(GrantError::Malformed("the grant expires before it is issued"));
    }
    if lifetime > i128::from(MAX_GRANT_LIFETIME_MS) {
        return Err(GrantError::TooLong);
    }
    if grant.issued_at_unix_ms > now_unix_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(GrantError::NotYetValid);
    }
    if now_unix_ms > grant.expires_at_unix_ms {
        return Err(GrantError::Expired);
    }

    if grant.department != expected.department as i32 {
        return Err(GrantError::WrongDepartment);
    }
    if grant.request_id != expected.request_id {
        return Err(GrantError::Mismatch { field: "request_id" });
    }
    if grant.purpose != expected.purpose as i32 {
        return Err(GrantError::Mismatch { field: "purpose" });
    }
    if grant.income_window.as_ref() != Some(expected.income_window) {
        return Err(GrantError::Mismatch { field: "income_window" });
    }
    if grant.authorization_ref != expected.authorization_ref {
        return Err(GrantError::Mismatch {
            field: "authorization_ref",
        });
    }
    if let Some(index) = expected.id_numbers.iter().position(|id| !grant.id_numbers.contains(id)) {
        return Err(GrantError::PersonNotGranted { index });
    }
    Ok(grant)
}

/// Checks the signature over `grant_bytes` against the trusted keys, picking
/// the key by `claimed_key_id` when one matches.
fn check_signature(
    grant_bytes: &[u8],
    signature: &Signature,
    claimed_key_id: &str,
    trusted: &[VerifyingKey],
) -> Result<(), GrantError> {
    if trusted.is_empty() {
        return Err(GrantError::UnknownKey);
    }
    let message = signed_message(grant_bytes);
    let named: Vec<&VerifyingKey> = trusted.iter().filter(|k| key_id(k) == claimed_key_id).collect();
    let verifies = |k: &&VerifyingKey| k.verify_strict(&message, signature).is_ok();
    if !named.is_empty() {
        // The named key decides: trying the others as well would only let a
        // wrong key id pass unnoticed.
        return if named.iter().any(verifies) {
            Ok(())
        } else {
            Err(GrantError::BadSignature)
        };
    }
    if trusted.iter().any(|k| verifies(&k)) {
        Ok(())
    } else if claimed_key_id.is_empty() {
        Err(GrantError::BadSignature)
    } else {
        Err(GrantError::UnknownKey)
    }
}

/// Remembers which grants were used, so that each is accepted once.
///
/// A grant is identified by its request id and department: the hub issues
/// exactly one grant per department per request. An entry is kept until the
/// grant's `expires_at`, after which [`verify`] refuses the grant anyway,
/// and is dropped by the first call after that. Since [`verify`] accepts
/// only grants valid for at most [`MAX_GRANT_LIFETIME_MS`] and issued at
/// most [`MAX_CLOCK_SKEW_MS`] ahead, every entry lives at most eleven
/// minutes, and memory is bounded by the number of grants accepted in that
/// time. Call it only after [`verify`] succeeded, with the verified grant's
/// `expires_at_unix_ms`; otherwise that bound does not hold.
///
/// The guard is pure data: the caller supplies the time and the locking.
#[derive(Debug, Default, Clone)]
pub struct ReplayGuard {
    /// The live entries and their expiry, for the lookup.
    live: HashMap<(String, Department), i64>,
    /// The same entries ordered by expiry, so pruning touches only the
    /// entries it removes.
    by_expiry: BTreeSet<(i64, String, Department)>,
}

impl ReplayGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts the first use of the grant for `request_id` and `department`
    /// and remembers it until `expires_at_unix_ms`; refuses any further use
    /// while it is remembered with [`GrantError::Replayed`]. Entries that
    /// expired before `now_unix_ms` are forgotten first.
    pub fn check_and_remember(
        &mut self,
        request_id: &str,
        department: Department,
        expires_at_unix_ms: i64,
        now_unix_ms: i64,
    ) -> Result<(), GrantError> {
        self.prune(now_unix_ms);
        let key = (request_id.to_owned(), department);
        if self.live.contains_key(&key) {
            return Err(GrantError::Replayed);
        }
        self.by_expiry.insert((expires_at_unix_ms, key.0.clone(), department));
        self.live.insert(key, expires_at_unix_ms);
        Ok(())
    }

    /// The number of grants remembered.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// True when no grant is remembered.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Forgets every entry whose grant expired before `now_unix_ms`. The
    /// comparison matches [`verify`], which still accepts a grant at exactly
    /// its `expires_at`.
    fn prune(&mut self, now_unix_ms: i64) {
        while let Some((expires_at, _, _)) = self.by_expiry.first()
            && *expires_at < now_unix_ms
        {
            let (_, request_id, department) = self.by_expiry.pop_first().expect("first() just returned an entry");
            self.live.remove(&(request_id, department));
        }
    }
}

#[cfg(test)]
mod tests;
