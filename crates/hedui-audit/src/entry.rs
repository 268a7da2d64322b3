//! One audit entry per query, and its canonical encoding.
//!
//! The leaf of the Merkle tree for an entry is
//! `SHA-256(0x00 ‖ canonical JSON bytes)`. The canonical JSON is what
//! `serde_json` writes for [`AuditEntry`]: one object, keys in the order the
//! fields are declared below (`seq`, `time`, `actor`, `role`, `action`,
//! `purpose`, `request_id`, `persons`, `departments`, `status`,
//! `record_digest`, `detail`; in each person `key_hash` then `masked`), no
//! whitespace, UTF-8 text written as is, and only `"`, `\` and control
//! characters escaped (`\n`, `\r`, `\t`, `\b`, `\f`, others as `\u00xx` in
//! lowercase hex). An auditor can rebuild the same bytes in Python with
//! `json.dumps(entry, separators=(",", ":"), ensure_ascii=False)` over a
//! dict in that key order, encoded as UTF-8.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::merkle::{self, Hash};

/// One query the hub served, as recorded in the audit log.
///
/// Unknown fields are refused when reading, so that an export cannot carry
/// text that looks like part of an entry but is not covered by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// The 0-based position in the log, which is also the leaf index.
    pub seq: u64,
    /// When the query was served: RFC 3339 UTC with milliseconds, such as
    /// `2026-11-26T15:10:00.123Z`.
    pub time: String,
    /// The identity from the client certificate, such as
    /// `caseworker:zhang.san@dejiang`.
    pub actor: String,
    /// The actor's role: `caseworker`, `auditor`, `admin`, `hub` or
    /// `adapter:<department>`.
    pub role: String,
    /// What was done, such as `SubmitVerification`, `GetRecord`,
    /// `source.query` or `audit.export`.
    pub action: String,
    /// The assistance type slug the query was made for, or empty.
    pub purpose: String,
    /// The request's id (a UUID), or empty.
    pub request_id: String,
    /// The persons the query concerned, pseudonymised.
    pub persons: Vec<PersonRef>,
    /// The slugs of the departments involved.
    pub departments: Vec<String>,
    /// The gRPC status code name, such as `OK` or `PERMISSION_DENIED`; for
    /// `source.query` the department's outcome, such as `TIMEOUT`.
    pub status: String,
    /// The digest of the record read or written, in hex, or empty.
    pub record_digest: String,
    /// A short free-text note with no personal data in it.
    pub detail: String,
}

/// A person named in an audit entry, without the ID number in clear.
///
/// The keyed hash lets an auditor who is given the key find every entry
/// about one person, while a reader of the export without the key learns
/// nothing from it; the masked form is for people reading the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRef {
    /// Hex HMAC-SHA256 of the normalised ID number under the hub's person
    /// key; see [`person_key_hash`].
    pub key_hash: String,
    /// The ID number with its middle masked, such as `5206**********123X`;
    /// see [`mask_id`].
    pub masked: String,
}

impl AuditEntry {
    /// The canonical encoding of the entry: compact JSON with keys in field
    /// order, as described in the module documentation. The Merkle leaf is
    /// `SHA-256(0x00 ‖ these bytes)`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an audit entry holds only strings and integers")
    }

    /// The Merkle leaf hash of the entry.
    pub fn leaf(&self) -> Hash {
        merkle::leaf_hash(&self.canonical_bytes())
    }
}

impl PersonRef {
    /// The reference for one ID number: its keyed hash and masked form.
    pub fn new(person_key: &[u8], id_number: &str) -> Self {
        Self {
            key_hash: person_key_hash(person_key, id_number),
            masked: mask_id(id_number),
        }
    }
}

/// The ID number as hashed and masked: surrounding whitespace removed and
/// ASCII letters upper-cased, so that `...123x` and `...123X` (the same
/// person, as the resident ID parser treats them) give the same hash.
fn normalise(id_number: &str) -> String {
    id_number.trim().to_ascii_uppercase()
}

/// Hex HMAC-SHA256 of the normalised ID number (trimmed, ASCII upper case)
/// under `key`.
///
/// A keyed hash rather than a plain one, because ID numbers are few enough
/// (about 10^11 valid ones) to recover from a plain SHA-256 by brute force.
pub fn person_key_hash(key: &[u8], id_number: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac accepts keys of any length");
    mac.update(normalise(id_number).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The normalised ID number with its middle replaced by `*`.
///
/// An 18-character number keeps its first 4 and last 4 characters
/// (`5206**********123X`, the same form as the domain's masked resident
/// ID). Any other number longer than 4 keeps its first 2 and last 2; one of
/// 4 characters or fewer is masked entirely, since keeping 2 at each end
/// would show all of it. Characters, not bytes, are counted, so non-ASCII
/// input is masked without panicking.
pub fn mask_id(id_number: &str) -> String {
    let chars: Vec<char> = normalise(id_number).chars().collect();
    let n = chars.len();
    let keep = match n {
        18 => 4,
        0..=4 => 0,
        _ => 2,
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < keep || i >= n - keep { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn example() -> AuditEntry {
        AuditEntry {
            seq: 17,
            time: "2026-11-26T15:10:00.123Z".into(),
            actor: "caseworker:zhang.san@dejiang".into(),
            role: "caseworker".into(),
            action: "SubmitVerification".into(),
            purpose: "minimum-living".into(),
            request_id: "0192f1c4-5b7e-7c2a-9d3e-4f5a6b7c8d9e".into(),
            persons: vec![PersonRef {
                key_hash: "ab".repeat(32),
                masked: "5206**********123X".into(),
            }],
            departments: vec!["public-security".into(), "tax".into()],
            status: "OK".into(),
            record_digest: "cd".repeat(32),
            detail: "复核 \"batch\"\n2".into(),
        }
    }

    /// Pins the encoding: if this test fails, every leaf hash in every
    /// existing log changes, and auditors' verifiers break.
    #[test]
    fn canonical_bytes_are_pinned() {
        let want = concat!(
            r#"{"seq":17,"time":"2026-11-26T15:10:00.123Z","#,
            r#""actor":"caseworker:zhang.san@dejiang","role":"caseworker","#,
            r#""action":"SubmitVerification","purpose":"minimum-living","#,
            r#""request_id":"0192f1c4-5b7e-7c2a-9d3e-4f5a6b7c8d9e","#,
            r#""persons":[{"key_hash":"abababababababababababababababababababababababababababababababab","#,
            r#""masked":"5206**********123X"}],"#,
            r#""departments":["public-security","tax"],"status":"OK","#,
            r#""record_digest":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","#,
            r#""detail":"复核 \"batch\"\n2"}"#,
        );
        let bytes = example().canonical_bytes();
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), want);
        assert_eq!(example().leaf(), merkle::leaf_hash(want.as_bytes()));
        assert_eq!(
            hex::encode(example().leaf()),
            "edb22d1afdb8b2bd189340bbbf36ef9c2212800f75e302bd77f5f5bda469b28a",
            "the leaf hash of the example entry"
        );
    }

    #[test]
    fn entries_round_trip_and_refuse_unknown_fields() {
        let e = example();
        let back: AuditEntry = serde_json::from_slice(&e.canonical_bytes()).unwrap();
        assert_eq!(back, e);
        let mut v = serde_json::to_value(&e).unwrap();
        v["note"] = "not covered by the hash".into();
        let err = serde_json::from_value::<AuditEntry>(v).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn any_field_change_changes_the_leaf() {
        let base = example().leaf();
        let mut e = example();
        e.persons[0].masked = "5206**********1234".into();
        assert_ne!(e.leaf(), base);
        let mut e = example();
        e.departments.reverse();
        assert_ne!(e.leaf(), base);
        let mut e = example();
        e.seq += 1;
        assert_ne!(e.leaf(), base);
    }

    #[test]
    fn person_key_hash_is_hmac_sha256_of_the_normalised_number() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            person_key_hash(b"Jefe", "what do ya want for nothing?"),
            person_key_hash(b"Jefe", "WHAT DO YA WANT FOR NOTHING?"),
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let id = "52062219900101123X";
        let h = person_key_hash(b"k", id);
        assert_eq!(h.len(), 64);
        assert_eq!(h, person_key_hash(b"k", " 52062219900101123x\n"));
        assert_ne!(h, person_key_hash(b"other key", id));
    }

    #[test]
    fn mask_id_keeps_only_the_ends() {
        assert_eq!(mask_id("52062219900101123x"), "5206**********123X");
        assert_eq!(mask_id("520622900101123"), "52***********23");
        assert_eq!(mask_id("12345"), "12*45");
        assert_eq!(mask_id("1234"), "****");
        assert_eq!(mask_id(""), "");
        assert_eq!(mask_id("张三丰李四王五"), "张三***王五");
        let p = PersonRef::new(b"k", "52062219900101123X");
        assert_eq!(p.masked, "5206**********123X");
        assert_eq!(p.key_hash, person_key_hash(b"k", "52062219900101123X"));
    }

    proptest! {
        #[test]
        fn mask_id_never_panics_and_keeps_the_length(s in "\\PC{0,30}") {
            let masked = mask_id(&s);
            let n = s.trim().chars().count();
            prop_assert_eq!(masked.chars().count(), n);
            if n > 4 {
                prop_assert!(masked.contains('*'));
            }
        }
    }
}
