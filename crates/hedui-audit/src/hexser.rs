//! Serde helpers that write byte arrays as lowercase hex strings, so that
//! hashes and signatures in an export are readable and easy to re-check
//! with any tool.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// A fixed-size byte array as one hex string.
pub mod array {
    use super::*;

    /// Writes the array as lowercase hex.
    pub fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    /// Reads a hex string of exactly `2 * N` digits.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(deserializer: D) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(deserializer)?;
        decode(&s).map_err(D::Error::custom)
    }
}

/// A list of 32-byte hashes as a list of hex strings.
pub mod hashes {
    use super::*;
    use crate::merkle::Hash;
    use serde::ser::SerializeSeq;

    /// Writes each hash as lowercase hex.
    pub fn serialize<S: Serializer>(hashes: &[Hash], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(hashes.len()))?;
        for h in hashes {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }

    /// Reads a list of 64-digit hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Hash>, D::Error> {
        let strings = Vec::<String>::deserialize(deserializer)?;
        strings.iter().map(|s| decode(s).map_err(D::Error::custom)).collect()
    }
}

/// Decodes hex of exactly `2 * N` digits into an array.
pub fn decode<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return Err(format!(
            "expected {} hex digits, got a string of {} bytes",
            2 * N,
            s.len()
        ));
    }
    hex::decode_to_slice(s, &mut out).map_err(|e| match e {
        hex::FromHexError::InvalidHexCharacter { c, index } => {
            format!("invalid hex digit {c:?} at position {index}")
        }
        _ => "invalid hex".to_owned(),
    })?;
    Ok(out)
}
