//! Envelope encryption of the personal data the store keeps (issue #15).
//!
//! Every stored payload (a record's protobuf body, a batch item's request,
//! a review's note) is encrypted with AES-256-GCM under a fresh 32-byte
//! *data key*. The data key is stored beside it, wrapped (AES-256-GCM too)
//! by a *key-encryption key* (KEK) that the database never sees, with the
//! KEK's id in a column. The payload's associated data names its row (a
//! record's id and version, a batch item's batch and seq, a review's id),
//! so a payload copied into another row does not open there.
//!
//! Where the KEK lives is behind [`KeyProvider`]: today a key file made by
//! `hedui keygen --kind data` ([`DataKeys`]); an HSM or a KMS can implement
//! the trait later without a change to the store. The same file holds the
//! *index key*, a separate HMAC-SHA256 key for `record_persons`: a person's
//! ID number is stored only as its keyed hash, so nothing in the database
//! leads from a number to a record without the key.
//!
//! Stored forms:
//! - wrapped data key: `nonce (12) ‖ ciphertext (32) ‖ tag (16)`, 60 bytes,
//!   associated data `hedui-dek-v1 ‖ 0 ‖ kek_id`;
//! - payload: `nonce (12) ‖ ciphertext ‖ tag (16)`, associated data
//!   [`Aad::bytes`].
//!
//! Key material is held in [`zeroize::Zeroizing`] buffers, wiped on drop,
//! and no type here prints a key in `Debug`. ring's AES keys are built for
//! one operation and dropped at once.

use std::fmt;
use std::sync::Arc;

use ring::aead::{AES_256_GCM, Aad as RingAad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

/// Bytes of a key (KEK, data key, index key).
pub const KEY_LEN: usize = 32;
/// Bytes of AES-GCM's tag.
const TAG_LEN: usize = 16;
/// Bytes of a wrapped data key.
pub const WRAPPED_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;
/// The first line of a data key file.
const FILE_HEADER: &str = "hedui-data-keys v1";

/// Why a payload could not be sealed or opened. Each names what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The store was opened without a data key, but the row is encrypted
    /// (or a write needs one).
    #[error(
        "no data key is configured: stored personal data is encrypted; give the hub's data key file (`data_key` in the hub configuration, made by `hedui keygen --kind data`)"
    )]
    NoKeys,
    /// The row names a KEK the key provider does not hold.
    #[error(
        "its data key is wrapped by KEK {kek_id}, which the data key file does not hold (a key file of another hub, or a KEK removed too early)"
    )]
    MissingKek {
        /// The KEK id stored in the row.
        kek_id: String,
    },
    /// The row's encryption columns are not both there or both absent.
    #[error("its kek_id and wrapped_key columns must be both set or both empty")]
    HalfSealed,
    /// The wrapped data key has the wrong length.
    #[error("its wrapped data key is {len} bytes, not {WRAPPED_KEY_LEN} (truncated or altered)")]
    WrappedKeyLength {
        /// Bytes found.
        len: usize,
    },
    /// The wrapped data key does not open under the KEK of that id.
    #[error(
        "its wrapped data key does not open under KEK {kek_id}: the data key file holds a different key under that id (the wrong file), or the wrapped key was altered"
    )]
    WrongKek {
        /// The KEK id.
        kek_id: String,
    },
    /// The payload is too short to hold a nonce and a tag.
    #[error("its encrypted payload is {len} bytes, too short to be one (truncated)")]
    PayloadLength {
        /// Bytes found.
        len: usize,
    },
    /// The payload does not open under its data key with this row's
    /// associated data.
    #[error("its encrypted payload does not open for this row ({row}): it was moved here from another row, or altered")]
    WrongRow {
        /// The row, as its associated data names it.
        row: String,
    },
    /// The system's random source failed.
    #[error("the system random source failed")]
    Random,
}

/// A 32-byte key, wiped when dropped; its `Debug` never shows it.
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; KEY_LEN]>);

impl Key {
    /// A new random key.
    pub fn generate() -> Result<Key, EnvelopeError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(k.as_mut())
            .map_err(|_| EnvelopeError::Random)?;
        Ok(Key(k))
    }

    fn from_slice(bytes: &[u8]) -> Option<Key> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        k.copy_from_slice(bytes);
        Some(Key(k))
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.0.as_ref()).expect("a 32-byte key is an AES-256 key"))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key([redacted])")
    }
}

/// The row a payload belongs to, bound into its associated data.
#[derive(Debug, Clone, Copy)]
pub enum Aad<'a> {
    /// A record: its id and version.
    Record {
        /// `records.record_id`.
        record_id: &'a str,
        /// `records.version`.
        version: i64,
    },
    /// A batch item's stored request.
    BatchItem {
        /// `batch_items.batch_id`.
        batch_id: &'a str,
        /// `batch_items.seq`.
        seq: i64,
    },
    /// A review's note.
    Review {
        /// `record_reviews.review_id`.
        review_id: &'a str,
    },
}

impl Aad<'_> {
    /// The associated data: a kind tag and the row's key, separated by NUL
    /// (which no id holds).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Aad::Record { record_id, version } => format!("hedui-record-v1\0{record_id}\0{version}"),
            Aad::BatchItem { batch_id, seq } => format!("hedui-batch-item-v1\0{batch_id}\0{seq}"),
            Aad::Review { review_id } => format!("hedui-review-v1\0{review_id}"),
        }
        .into_bytes()
    }

    fn describe(&self) -> String {
        match self {
            Aad::Record { record_id, version } => format!("record {record_id} version {version}"),
            Aad::BatchItem { batch_id, seq } => format!("batch {batch_id} item {seq}"),
            Aad::Review { review_id } => format!("review {review_id}"),
        }
    }
}

/// Where the key-encryption keys and the index key live. The store asks it
/// to wrap and unwrap data keys and to hash ID numbers; it never sees a KEK.
pub trait KeyProvider: Send + Sync {
    /// The id of the KEK that wraps new data keys (the *primary* KEK). A
    /// provider that reloads its keys may answer differently from one call
    /// to the next.
    fn current_kek_id(&self) -> String;
    /// Wraps `data_key` under the KEK `kek_id` ([`WRAPPED_KEY_LEN`] bytes).
    fn wrap(&self, kek_id: &str, data_key: &Key) -> Result<Vec<u8>, EnvelopeError>;
    /// Wraps `data_key` under the primary KEK, returning that KEK's id with
    /// the wrapped key. A provider that reloads overrides it so that the id
    /// and the key come from one version of its keys.
    fn wrap_primary(&self, data_key: &Key) -> Result<(String, Vec<u8>), EnvelopeError> {
        let kek_id = self.current_kek_id();
        let wrapped = self.wrap(&kek_id, data_key)?;
        Ok((kek_id, wrapped))
    }
    /// Unwraps a data key wrapped by [`KeyProvider::wrap`].
    fn unwrap_key(&self, kek_id: &str, wrapped: &[u8]) -> Result<Key, EnvelopeError>;
    /// The keyed hash (lower-case hex) of a normalised ID number, as
    /// `record_persons` stores it.
    fn person_index(&self, id_number: &str) -> String;
    /// The ids of the KEKs it holds, for `hedui keys status` and messages.
    fn kek_ids(&self) -> Vec<String>;
}

/// A sealed payload: what a row stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The KEK that wrapped the data key.
    pub kek_id: String,
    /// The wrapped data key.
    pub wrapped_key: Vec<u8>,
    /// `nonce ‖ ciphertext ‖ tag`.
    pub payload: Vec<u8>,
}

fn random_nonce() -> Result<[u8; NONCE_LEN], EnvelopeError> {
    let mut n = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut n).map_err(|_| EnvelopeError::Random)?;
    Ok(n)
}

/// `nonce ‖ AES-256-GCM(key, nonce, aad, plaintext)`.
fn encrypt(key: &Key, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let nonce = random_nonce()?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .aead()
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            RingAad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| EnvelopeError::Random)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// The plaintext of [`encrypt`]'s output, or `None` when it does not open.
fn decrypt(key: &Key, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key
        .aead()
        .open_in_place(nonce, RingAad::from(aad), buf.as_mut_slice())
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// Encrypts `plaintext` for the row `aad` under a fresh data key wrapped by
/// the provider's current KEK.
pub fn seal(keys: &dyn KeyProvider, aad: Aad<'_>, plaintext: &[u8]) -> Result<Sealed, EnvelopeError> {
    let data_key = Key::generate()?;
    let (kek_id, wrapped_key) = keys.wrap_primary(&data_key)?;
    let payload = encrypt(&data_key, &aad.bytes(), plaintext)?;
    Ok(Sealed {
        kek_id,
        wrapped_key,
        payload,
    })
}

/// Decrypts a payload stored for the row `aad`. Each way it can fail is its
/// own [`EnvelopeError`]: no key provider, a KEK it lacks, a truncated
/// wrapped key, the wrong KEK, a payload of another row.
pub fn open(
    keys: Option<&dyn KeyProvider>,
    aad: Aad<'_>,
    kek_id: &str,
    wrapped_key: &[u8],
    payload: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let keys = keys.ok_or(EnvelopeError::NoKeys)?;
    let data_key = keys.unwrap_key(kek_id, wrapped_key)?;
    if payload.len() < NONCE_LEN + TAG_LEN {
        return Err(EnvelopeError::PayloadLength { len: payload.len() });
    }
    decrypt(&data_key, &aad.bytes(), payload).ok_or_else(|| EnvelopeError::WrongRow { row: aad.describe() })
}

/// The columns of a row that may be sealed: `(kek_id, wrapped_key)` both
/// set (sealed) or both empty (plaintext, written before encryption).
pub fn open_columns(
    keys: Option<&dyn KeyProvider>,
    aad: Aad<'_>,
    kek_id: Option<&str>,
    wrapped_key: Option<&[u8]>,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    match (kek_id, wrapped_key) {
        (Some(kek), Some(wrapped)) => open(keys, aad, kek, wrapped, stored),
        (None, None) => Ok(Zeroizing::new(stored.to_vec())),
        _ => Err(EnvelopeError::HalfSealed),
    }
}

/// The associated data of a wrapped data key: it names the KEK, so a
/// wrapped key cannot be relabelled with another KEK's id.
fn wrap_aad(kek_id: &str) -> Vec<u8> {
    format!("hedui-dek-v1\0{kek_id}").into_bytes()
}

/// The key file made by `hedui keygen --kind data`: one or more KEKs by id
/// (the last `kek` line, or the one `current` names, wraps new data keys;
/// the others still unwrap) and the index key. It is a [`KeyProvider`].
///
/// ```text
/// hedui-data-keys v1
/// index-key <64 hex>
/// kek <id> <64 hex>
/// current <id>
/// ```
///
/// Lines starting with `#` are comments.
#[derive(Clone)]
pub struct DataKeys {
    keks: Vec<(String, Key)>,
    current: usize,
    index_key: Key,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The ids are not secret; the keys are never printed.
        f.debug_struct("DataKeys")
            .field("keks", &self.keks.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())
            .field("current", &self.keks[self.current].0)
            .finish_non_exhaustive()
    }
}

/// Why a data key file does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct KeyFileError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

impl DataKeys {
    /// A new key file's keys: one random KEK (id `kek-<16 hex>`) and a
    /// random index key.
    pub fn generate() -> Result<DataKeys, EnvelopeError> {
        let mut id = [0u8; 8];
        SystemRandom::new().fill(&mut id).map_err(|_| EnvelopeError::Random)?;
        Ok(DataKeys {
            keks: vec![(format!("kek-{}", hex::encode(id)), Key::generate()?)],
            current: 0,
            index_key: Key::generate()?,
        })
    }

    /// Adds a new random KEK and makes it the primary one (new data keys
    /// are wrapped by it); the others stay, so what they wrapped still
    /// opens. Returns the new KEK's id.
    pub fn add_kek(&mut self) -> Result<String, EnvelopeError> {
        let mut id = [0u8; 8];
        SystemRandom::new().fill(&mut id).map_err(|_| EnvelopeError::Random)?;
        let id = format!("kek-{}", hex::encode(id));
        self.keks.push((id.clone(), Key::generate()?));
        self.current = self.keks.len() - 1;
        Ok(id)
    }

    /// Removes the KEK `kek_id` from these keys. The primary KEK cannot be
    /// removed; whether any row still needs the KEK is the caller's check
    /// (`hedui keys retire` asks the database first).
    pub fn remove_kek(&mut self, kek_id: &str) -> Result<(), String> {
        let at = self
            .keks
            .iter()
            .position(|(id, _)| id == kek_id)
            .ok_or_else(|| format!("the data key file holds no KEK {kek_id}"))?;
        if at == self.current {
            return Err(format!(
                "KEK {kek_id} is the primary KEK, which wraps every new data key; rotate to a new one first (`hedui keys rotate`)"
            ));
        }
        let current_id = self.keks[self.current].0.clone();
        self.keks.remove(at);
        self.current = self
            .keks
            .iter()
            .position(|(id, _)| *id == current_id)
            .expect("the primary KEK was not removed");
        Ok(())
    }

    /// Whether `other` holds the same index key. A key file whose index
    /// key changed would lose every member search of the records already
    /// stored, so a reload refuses one.
    pub fn same_index_key(&self, other: &DataKeys) -> bool {
        // Both keys are this process's own; no attacker times the compare.
        self.index_key.0.as_ref() == other.index_key.0.as_ref()
    }

    /// The file's text, with a comment on where to keep it. The text holds
    /// the keys: write it to a file only the hub's user may read.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(format!(
            "{FILE_HEADER}\n\
             # hedui data keys: the KEK wraps every stored record's data key; the index key\n\
             # hashes ID numbers for search. Without this file the database cannot be read.\n\
             # Keep it readable by the hub's user only (chmod 600), and never in the same\n\
             # backup as the database: keep a copy offline, as for the hub key.\n"
        ));
        s.push_str("index-key ");
        s.push_str(&hex::encode(self.index_key.0.as_ref()));
        s.push('\n');
        for (id, key) in &self.keks {
            s.push_str("kek ");
            s.push_str(id);
            s.push(' ');
            s.push_str(&hex::encode(key.0.as_ref()));
            s.push('\n');
        }
        s.push_str("current ");
        s.push_str(&self.keks[self.current].0);
        s.push('\n');
        s
    }

    /// Parses a data key file's text. Errors name the line and never
    /// repeat a key.
    pub fn parse(text: &str) -> Result<DataKeys, KeyFileError> {
        let err = |line: usize, problem: &str| KeyFileError {
            line,
            problem: problem.to_owned(),
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        match lines.next() {
            Some((_, FILE_HEADER)) => {}
            Some((n, _)) => {
                return Err(err(
                    n,
                    "not a hedui data key file: it must start with `hedui-data-keys v1`",
                ));
            }
            None => return Err(err(0, "the file is empty; make one with `hedui keygen --kind data`")),
        }
        let key = |n: usize, hex_text: &str, what: &str| -> Result<Key, KeyFileError> {
            let bytes =
                Zeroizing::new(hex::decode(hex_text).map_err(|_| err(n, &format!("the {what} is not hexadecimal")))?);
            Key::from_slice(&bytes).ok_or_else(|| {
                err(
                    n,
                    &format!("the {what} is {} bytes, not {KEY_LEN} (truncated?)", bytes.len()),
                )
            })
        };
        let mut keks: Vec<(String, Key)> = Vec::new();
        let mut index_key = None;
        let mut current = None;
        for (n, line) in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["index-key", k] => {
                    if index_key.is_some() {
                        return Err(err(n, "a second index-key"));
                    }
                    index_key = Some(key(n, k, "index key")?);
                }
                ["kek", id, k] => {
                    if keks.iter().any(|(known, _)| known == id) {
                        return Err(err(n, &format!("KEK {id} is listed twice")));
                    }
                    if !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                        return Err(err(n, "a KEK id may hold only letters, digits, `-`, `_` and `.`"));
                    }
                    keks.push(((*id).to_owned(), key(n, k, &format!("KEK {id}"))?));
                }
                ["current", id] => current = Some((n, (*id).to_owned())),
                [word, ..] => {
                    return Err(err(
                        n,
                        &format!("unknown line `{word} …`; expected index-key, kek or current"),
                    ));
                }
                [] => {}
            }
        }
        let index_key = index_key.ok_or_else(|| err(0, "the file has no index-key line"))?;
        if keks.is_empty() {
            return Err(err(0, "the file has no kek line"));
        }
        let current = match current {
            None => keks.len() - 1,
            Some((n, id)) => keks
                .iter()
                .position(|(k, _)| *k == id)
                .ok_or_else(|| err(n, &format!("current names KEK {id}, which no kek line holds")))?,
        };
        Ok(DataKeys {
            keks,
            current,
            index_key,
        })
    }

    /// Reads and parses a data key file. The caller checks its permissions
    /// first (the hub refuses a file its group or others may read).
    pub fn load(path: &std::path::Path) -> Result<DataKeys, String> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the data key file {}: {e}; make one with `hedui keygen --kind data -o {}`",
                path.display(),
                path.display()
            )
        })?);
        DataKeys::parse(&text).map_err(|e| format!("data key file {}: {e}", path.display()))
    }

    /// This provider behind an `Arc`, as the store takes it.
    pub fn into_provider(self) -> Arc<dyn KeyProvider> {
        Arc::new(self)
    }

    /// Whether it holds the KEK `kek_id`.
    pub fn holds(&self, kek_id: &str) -> bool {
        self.keks.iter().any(|(id, _)| id == kek_id)
    }

    fn kek(&self, kek_id: &str) -> Result<&Key, EnvelopeError> {
        self.keks
            .iter()
            .find(|(id, _)| id == kek_id)
            .map(|(_, k)| k)
            .ok_or_else(|| EnvelopeError::MissingKek {
                kek_id: kek_id.to_owned(),
            })
    }
}

impl KeyProvider for DataKeys {
    fn current_kek_id(&self) -> String {
        self.keks[self.current].0.clone()
    }

    fn wrap(&self, kek_id: &str, data_key: &Key) -> Result<Vec<u8>, EnvelopeError> {
        encrypt(self.kek(kek_id)?, &wrap_aad(kek_id), data_key.0.as_ref())
    }

    fn unwrap_key(&self, kek_id: &str, wrapped: &[u8]) -> Result<Key, EnvelopeError> {
        let kek = self.kek(kek_id)?;
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(EnvelopeError::WrappedKeyLength { len: wrapped.len() });
        }
        let plain = decrypt(kek, &wrap_aad(kek_id), wrapped).ok_or_else(|| EnvelopeError::WrongKek {
            kek_id: kek_id.to_owned(),
        })?;
        Key::from_slice(&plain).ok_or(EnvelopeError::WrappedKeyLength { len: wrapped.len() })
    }

    fn person_index(&self, id_number: &str) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.index_key.0.as_ref());
        let mut ctx = ring::hmac::Context::with_key(&key);
        ctx.update(b"hedui-person-index-v1\0");
        ctx.update(id_number.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }

    fn kek_ids(&self) -> Vec<String> {
        self.keks.iter().map(|(id, _)| id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: Aad<'static> = Aad::Record {
        record_id: "0190-a",
        version: 1,
    };

    fn keys() -> DataKeys {
        DataKeys::generate().unwrap()
    }

    #[test]
    fn a_payload_round_trips_and_is_not_its_plaintext() {
        let k = keys();
        let plain = "张三 522226199001011234 balance 1234500".as_bytes();
        let s = seal(&k, RECORD, plain).unwrap();
        assert_eq!(s.kek_id, k.current_kek_id());
        assert_eq!(s.wrapped_key.len(), WRAPPED_KEY_LEN);
        assert!(!s.payload.windows(plain.len()).any(|w| w == plain));
        let back = open(Some(&k), RECORD, &s.kek_id, &s.wrapped_key, &s.payload).unwrap();
        assert_eq!(back.as_slice(), plain);
        // A fresh data key each time: the same plaintext seals differently.
        let again = seal(&k, RECORD, plain).unwrap();
        assert_ne!(again.wrapped_key, s.wrapped_key);
        assert_ne!(again.payload, s.payload);
    }

    #[test]
    fn a_wrong_kek_under_the_same_id_is_named() {
        let k = keys();
        let s = seal(&k, RECORD, b"x").unwrap();
        // Another file whose KEK has the same id but another key.
        let other = DataKeys::parse(
            &k.to_file_text()
                .replace(&hex::encode(k.keks[0].1.0.as_ref()), &hex::encode([7u8; KEY_LEN])),
        )
        .unwrap();
        let e = open(Some(&other), RECORD, &s.kek_id, &s.wrapped_key, &s.payload).unwrap_err();
        assert_eq!(
            e,
            EnvelopeError::WrongKek {
                kek_id: s.kek_id.clone()
            }
        );
        assert!(e.to_string().contains("does not open under KEK"), "{e}");
    }

    #[test]
    fn a_missing_kek_and_no_keys_at_all_are_named() {
        let s = seal(&keys(), RECORD, b"x").unwrap();
        let e = open(Some(&keys()), RECORD, &s.kek_id, &s.wrapped_key, &s.payload).unwrap_err();
        assert_eq!(
            e,
            EnvelopeError::MissingKek {
                kek_id: s.kek_id.clone()
            }
        );
        assert!(e.to_string().contains("does not hold"), "{e}");
        let e = open(None, RECORD, &s.kek_id, &s.wrapped_key, &s.payload).unwrap_err();
        assert_eq!(e, EnvelopeError::NoKeys);
        assert!(e.to_string().contains("hedui keygen --kind data"), "{e}");
    }

    #[test]
    fn a_truncated_wrapped_key_or_payload_is_named() {
        let k = keys();
        let s = seal(&k, RECORD, b"payload").unwrap();
        let e = open(Some(&k), RECORD, &s.kek_id, &s.wrapped_key[..40], &s.payload).unwrap_err();
        assert_eq!(e, EnvelopeError::WrappedKeyLength { len: 40 });
        assert!(e.to_string().contains("40 bytes, not 60"), "{e}");
        let e = open(Some(&k), RECORD, &s.kek_id, &s.wrapped_key, &s.payload[..10]).unwrap_err();
        assert_eq!(e, EnvelopeError::PayloadLength { len: 10 });
        let mut flipped = s.wrapped_key.clone();
        flipped[20] ^= 1;
        let e = open(Some(&k), RECORD, &s.kek_id, &flipped, &s.payload).unwrap_err();
        assert!(matches!(e, EnvelopeError::WrongKek { .. }), "{e}");
    }

    #[test]
    fn a_payload_moved_to_another_row_does_not_open_there() {
        let k = keys();
        let s = seal(&k, RECORD, b"payload").unwrap();
        for other in [
            Aad::Record {
                record_id: "0190-b",
                version: 1,
            },
            Aad::Record {
                record_id: "0190-a",
                version: 2,
            },
            Aad::Review { review_id: "0190-a" },
            Aad::BatchItem {
                batch_id: "0190-a",
                seq: 1,
            },
        ] {
            let e = open(Some(&k), other, &s.kek_id, &s.wrapped_key, &s.payload).unwrap_err();
            assert!(matches!(e, EnvelopeError::WrongRow { .. }), "{e}");
            assert!(e.to_string().contains("moved here from another row"), "{e}");
        }
    }

    #[test]
    fn plaintext_and_half_sealed_columns() {
        let k = keys();
        assert_eq!(
            open_columns(None, RECORD, None, None, b"old").unwrap().as_slice(),
            b"old"
        );
        let e = open_columns(Some(&k), RECORD, Some("kek-1"), None, b"x").unwrap_err();
        assert_eq!(e, EnvelopeError::HalfSealed);
    }

    #[test]
    fn the_key_file_round_trips_and_bad_files_name_the_line() {
        let k = keys();
        let text = k.to_file_text();
        let back = DataKeys::parse(&text).unwrap();
        assert_eq!(back.current_kek_id(), k.current_kek_id());
        assert_eq!(
            back.person_index("522226199001011234"),
            k.person_index("522226199001011234")
        );
        let s = seal(&k, RECORD, b"x").unwrap();
        assert_eq!(
            open(Some(&back), RECORD, &s.kek_id, &s.wrapped_key, &s.payload)
                .unwrap()
                .as_slice(),
            b"x"
        );

        let e = DataKeys::parse("ed25519-secret:00").unwrap_err();
        assert_eq!(e.line, 1);
        let e = DataKeys::parse("").unwrap_err();
        assert!(e.problem.contains("empty"), "{e}");
        let short = text
            .replace("index-key ", "index-key 00")
            .lines()
            .map(|l| if l.starts_with("index-key") { &l[..30] } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        let e = DataKeys::parse(&short).unwrap_err();
        assert!(e.problem.contains("not 32"), "{e}");
        let e = DataKeys::parse(&format!("{}current kek-none\n", text.as_str())).unwrap_err();
        assert!(e.problem.contains("kek-none"), "{e}");
    }

    #[test]
    fn no_key_material_in_debug() {
        let k = keys();
        let shown = format!("{k:?} {:?}", Key::generate().unwrap());
        assert!(shown.contains(&k.current_kek_id()));
        for (_, kek) in &k.keks {
            assert!(!shown.contains(&hex::encode(kek.0.as_ref())));
        }
        assert!(!shown.contains(&hex::encode(k.index_key.0.as_ref())));
    }

    /// The cost of encryption per record, printed (never asserted):
    /// `cargo test -p hedui-store --release --lib -- --ignored --nocapture envelope_cost`.
    #[test]
    #[ignore]
    fn envelope_cost_per_record() {
        let k = keys();
        for size in [2_048usize, 8_192, 32_768] {
            let body: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let n = 20_000u32;
            let start = std::time::Instant::now();
            let mut sealed = Vec::with_capacity(n as usize);
            for _ in 0..n {
                sealed.push(seal(&k, RECORD, &body).unwrap());
            }
            let seal_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
            let start = std::time::Instant::now();
            for s in &sealed {
                let plain = open(Some(&k), RECORD, &s.kek_id, &s.wrapped_key, &s.payload).unwrap();
                assert_eq!(plain.len(), size);
            }
            let open_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
            let start = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(k.person_index("522226199001011234"));
            }
            let index_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
            println!(
                "{size:>6}-byte record: seal {seal_us:.2} µs, open {open_us:.2} µs, person index {index_us:.2} µs"
            );
        }
    }

    #[test]
    fn the_person_index_is_keyed() {
        let (a, b) = (keys(), keys());
        let id = "522226199001011234";
        assert_eq!(a.person_index(id), a.person_index(id));
        assert_ne!(a.person_index(id), b.person_index(id));
        assert_eq!(a.person_index(id).len(), 64);
        assert!(!a.person_index(id).contains(id));
    }
}
