//! A partner department's own query log, made tamper-evident.
//!
//! Each adapter appends one JSON line per call it receives ([`QueryLogLine`]):
//! the queries it let through to the department's data, and the ones it
//! refused (wrong caller, bad grant, replay, invalid query). Every line
//! carries in `prev` the SHA-256 of the bytes of the line before it (without
//! its newline), and the first line carries 64 zeros, so a line edited,
//! inserted or deleted in the middle breaks the chain at the next line.
//!
//! A chain alone does not show a cut at the end, nor a chain rebuilt from
//! the edit onwards. So the adapter signs checkpoints with an ed25519 key of
//! its own ([`LogCheckpoint`]): "this log had `lines` lines, the last of
//! which hashes to `head`, at `time`". The signed text is
//!
//! ```text
//! hedui-adapter-log/1
//! tax
//! 1520
//! <head, 64 hex digits>
//! 2026-11-26T15:10:00.123Z
//! ```
//!
//! that is `"{format}\n{department}\n{lines}\n{head}\n{time}\n"`. The key is
//! written in the same format as the hub's (`ed25519-secret:`/`ed25519:`),
//! but it is the department's key, not the hub's: a department can vouch for
//! its own log without trusting the bureau, which is the point of the
//! reconciliation in [`crate::reconcile`].
//!
//! [`verify_query_log`] checks a log and its checkpoints with only the
//! adapter's public key. Like everything in this crate it does no I/O.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::checkpoint::key_id;
use crate::merkle::Hash;

/// The first line of a checkpoint's signed text, and the version of the
/// log format.
pub const LOG_FORMAT: &str = "hedui-adapter-log/1";

/// The `prev` of the first line: 64 zeros.
pub const GENESIS: Hash = [0; 32];

/// `outcome` of a query the adapter let through to the department's data.
pub const RECEIVED: &str = "received";

/// One line of the query log. Serialised with the fields in this order;
/// the hash covers the line's exact bytes, so a reader never re-encodes.
///
/// There are no names and no full ID numbers in it: persons are masked
/// (`5206**********501X`), and a refusal's reason names fields, never
/// values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryLogLine {
    /// The SHA-256 of the previous line's bytes in hex, or 64 zeros for the
    /// first line.
    pub prev: String,
    /// When the call arrived: RFC 3339 UTC with milliseconds.
    pub time: String,
    /// The department's slug, such as `tax`.
    pub department: String,
    /// The RPC: `Query` or `Describe`.
    pub call: String,
    /// The caller's identity from its certificate, such as `hub:hub-1`;
    /// `unidentified` for a certificate without one, empty when the adapter
    /// runs without TLS (`--insecure-dev`).
    pub caller: String,
    /// The hub's request id. With the department it identifies the grant:
    /// the hub issues one grant per department per request, and its audit
    /// log has one `source.query` entry for it. Empty when the query did
    /// not carry a UUID.
    pub request_id: String,
    /// The assistance type slug, or empty when it was not valid.
    pub purpose: String,
    /// The authorization (授权书) reference the hub quoted, at most 64
    /// characters of it.
    pub authorization_ref: String,
    /// The queried persons' ID numbers, masked.
    pub persons: Vec<String>,
    /// What the adapter did: `received` (the department's data was asked),
    /// `refused` (the grant was not accepted), `denied` (the caller may not
    /// ask), `invalid` (the query did not validate) or `unavailable` (the
    /// adapter could not record the grant's use).
    pub outcome: String,
    /// The gRPC status the caller was given for a refusal; `OK` for
    /// `received`, whose final answer the log does not wait for.
    pub status: String,
    /// Why it was refused, naming fields and never values; empty for
    /// `received`.
    pub reason: String,
}

impl QueryLogLine {
    /// The line as written, without its newline.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a query log line holds only strings")
    }
}

/// The hash chaining the next line to `line`: SHA-256 of its bytes.
pub fn line_hash(line: &str) -> Hash {
    Sha256::digest(line.as_bytes()).into()
}

/// A claim about the log: its first `lines` lines end with a line hashing
/// to `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCheckpoint {
    /// The department's slug.
    pub department: String,
    /// How many lines the log had.
    pub lines: u64,
    /// The hash of line `lines` (64 zeros for an empty log), hex in JSON.
    #[serde(with = "crate::hexser::array")]
    pub head: Hash,
    /// When it was signed: RFC 3339 UTC with milliseconds.
    pub time: String,
}

/// A [`LogCheckpoint`] with the adapter's signature over
/// [`LogCheckpoint::signed_body`]. The adapter appends one per line to the
/// checkpoint file beside its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedLogCheckpoint {
    /// What was signed.
    pub checkpoint: LogCheckpoint,
    /// The id of the signing key (as for the hub's checkpoints).
    pub key_id: String,
    /// The Ed25519 signature, hex in JSON.
    #[serde(with = "crate::hexser::array")]
    pub signature: [u8; 64],
}

impl LogCheckpoint {
    /// The exact signed text, see the module documentation.
    pub fn signed_body(&self) -> String {
        format!(
            "{LOG_FORMAT}\n{}\n{}\n{}\n{}\n",
            self.department,
            self.lines,
            hex::encode(self.head),
            self.time
        )
    }

    /// Signs it with the adapter's key.
    pub fn sign(self, key: &SigningKey) -> SignedLogCheckpoint {
        let signature = key.sign(self.signed_body().as_bytes()).to_bytes();
        SignedLogCheckpoint {
            checkpoint: self,
            key_id: key_id(&key.verifying_key()),
            signature,
        }
    }
}

impl SignedLogCheckpoint {
    /// Checks the signature with the adapter's public key, as the auditor
    /// received it from the department (never from the same file).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), String> {
        let cp = &self.checkpoint;
        if cp.department.contains('\n') || cp.time.contains('\n') {
            return Err("a field contains a newline".to_owned());
        }
        if self.key_id != key_id(key) {
            return Err(format!(
                "signed by key {}, not by the given adapter key {}",
                self.key_id,
                key_id(key)
            ));
        }
        key.verify_strict(cp.signed_body().as_bytes(), &Signature::from_bytes(&self.signature))
            .map_err(|_| "signature does not verify with the given adapter key (altered or forged)".to_owned())
    }
}

/// One line of a verified log, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedLine {
    /// The line number, from 1.
    pub number: u64,
    /// The parsed line.
    pub line: QueryLogLine,
}

/// What is wrong with a query log. Each names the line or checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogProblem {
    /// The line is not a query log line.
    #[error("adapter log line {line}: not a query log line: {reason}")]
    Unreadable {
        /// The line number.
        line: u64,
        /// The parser's message.
        reason: String,
    },
    /// The line's `prev` is not the hash of the line before it.
    #[error(
        "adapter log line {line}: the hash chain is broken (its prev is not the hash of line {}): a line was edited, inserted or deleted here",
        line - 1
    )]
    ChainBroken {
        /// The line number.
        line: u64,
    },
    /// The first line does not start the chain.
    #[error("adapter log line 1: prev must be 64 zeros; lines before it are missing")]
    BadStart,
    /// A checkpoint's signature does not verify.
    #[error("adapter checkpoint {index} ({lines} lines): {reason}")]
    BadSignature {
        /// The checkpoint's position in the checkpoint file, from 1.
        index: usize,
        /// The line count it claims.
        lines: u64,
        /// Why.
        reason: String,
    },
    /// A signed checkpoint covers more lines than the log has.
    #[error("adapter checkpoint {index} was signed over {lines} lines but the log has {actual}: lines were cut off")]
    Truncated {
        /// The checkpoint's position, from 1.
        index: usize,
        /// The line count it claims.
        lines: u64,
        /// The lines present.
        actual: u64,
    },
    /// A signed checkpoint's head is not the hash of its last line.
    #[error(
        "adapter checkpoint {index}: line {lines} is not the line that was signed: a line up to it was edited, inserted or deleted"
    )]
    HeadMismatch {
        /// The checkpoint's position, from 1.
        index: usize,
        /// The line count it claims.
        lines: u64,
    },
    /// A checkpoint names another department than the log.
    #[error("adapter checkpoint {index} is for department {found:?}, the log for {expected:?}")]
    WrongDepartment {
        /// The checkpoint's position, from 1.
        index: usize,
        /// Its department.
        found: String,
        /// The log's department.
        expected: String,
    },
    /// A checkpoint covers fewer lines than an earlier one.
    #[error("adapter checkpoint {index} covers {lines} lines, fewer than the checkpoint before it")]
    Regressed {
        /// The checkpoint's position, from 1.
        index: usize,
        /// Its line count.
        lines: u64,
    },
    /// No checkpoint verifies, so nothing in the log is signed.
    #[error("the adapter log has no valid signed checkpoint: a cut at its end or a rebuilt chain cannot be detected")]
    NoCheckpoint,
}

/// The result of [`verify_query_log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogVerification {
    /// Every line that could be read, in order.
    pub lines: Vec<NumberedLine>,
    /// The department, from the lines (or the checkpoints of an empty log).
    pub department: String,
    /// The lines covered by the latest valid signed checkpoint.
    pub signed_lines: u64,
    /// The number of checkpoints whose signature and head were checked.
    pub checkpoints_verified: usize,
    /// Everything wrong; empty when the log verifies.
    pub problems: Vec<LogProblem>,
}

impl LogVerification {
    /// Lines after the last signed checkpoint: chained, but a cut among
    /// them would not be seen.
    pub fn unsigned_lines(&self) -> u64 {
        (self.lines.len() as u64).saturating_sub(self.signed_lines)
    }
}

/// Verifies a query log (`text`, the file's contents) against its signed
/// checkpoints (`checkpoints`, oldest first) and the adapter's public key.
///
/// Every line must parse and carry the hash of the line before it. Every
/// checkpoint must verify under `key`, name the log's department, cover no
/// fewer lines than the one before it, and its head must be the hash of its
/// last line, which also proves every line before it through the chain.
/// Lines after the latest checkpoint are checked by the chain only; they are
/// counted in [`LogVerification::unsigned_lines`].
pub fn verify_query_log(text: &str, checkpoints: &[SignedLogCheckpoint], key: &VerifyingKey) -> LogVerification {
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    // hashes[i] is the hash of line i + 1.
    let mut hashes: Vec<Hash> = Vec::new();
    let mut prev = GENESIS;
    for (i, raw) in text.lines().enumerate() {
        let number = i as u64 + 1;
        let hash = line_hash(raw);
        match serde_json::from_str::<QueryLogLine>(raw) {
            Ok(line) => {
                if line.prev != hex::encode(prev) {
                    problems.push(if number == 1 {
                        LogProblem::BadStart
                    } else {
                        LogProblem::ChainBroken { line: number }
                    });
                }
                lines.push(NumberedLine { number, line });
            }
            Err(e) => problems.push(LogProblem::Unreadable {
                line: number,
                reason: e.to_string(),
            }),
        }
        hashes.push(hash);
        prev = hash;
    }
    let first_bad = problems.iter().find_map(|p| match p {
        LogProblem::BadStart => Some(1),
        LogProblem::ChainBroken { line } | LogProblem::Unreadable { line, .. } => Some(*line),
        _ => None,
    });
    let department = lines
        .first()
        .map(|l| l.line.department.clone())
        .or_else(|| checkpoints.first().map(|c| c.checkpoint.department.clone()))
        .unwrap_or_default();

    let mut signed_lines = 0;
    let mut checkpoints_verified = 0;
    let mut last_lines = 0;
    for (i, cp) in checkpoints.iter().enumerate() {
        let index = i + 1;
        let c = &cp.checkpoint;
        if let Err(reason) = cp.verify(key) {
            problems.push(LogProblem::BadSignature {
                index,
                lines: c.lines,
                reason,
            });
            continue;
        }
        if c.department != department {
            problems.push(LogProblem::WrongDepartment {
                index,
                found: c.department.clone(),
                expected: department.clone(),
            });
            continue;
        }
        if c.lines < last_lines {
            problems.push(LogProblem::Regressed { index, lines: c.lines });
        }
        last_lines = c.lines;
        let actual = hashes.len() as u64;
        if c.lines > actual {
            problems.push(LogProblem::Truncated {
                index,
                lines: c.lines,
                actual,
            });
            continue;
        }
        let head = match c.lines {
            0 => GENESIS,
            n => hashes[(n - 1) as usize],
        };
        if head != c.head {
            problems.push(LogProblem::HeadMismatch { index, lines: c.lines });
            continue;
        }
        // The head vouches for the lines before it only through an intact
        // chain; the break is already reported.
        if first_bad.is_some_and(|bad| bad <= c.lines) {
            continue;
        }
        checkpoints_verified += 1;
        signed_lines = signed_lines.max(c.lines);
    }
    if checkpoints_verified == 0 {
        problems.push(LogProblem::NoCheckpoint);
    }
    LogVerification {
        lines,
        department,
        signed_lines,
        checkpoints_verified,
        problems,
    }
}

/// Reads a checkpoint file: one [`SignedLogCheckpoint`] JSON per line,
/// blank lines ignored. The error names the line.
pub fn parse_checkpoints(text: &str) -> Result<Vec<SignedLogCheckpoint>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("checkpoint line {}: {e}", i + 1)))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    /// A chained log of `n` received queries for `tax`, request ids
    /// `req-0` … (as given), and a checkpoint over all of it.
    pub(crate) fn chained(request_ids: &[&str]) -> (String, Vec<SignedLogCheckpoint>) {
        let mut text = String::new();
        let mut prev = GENESIS;
        for (i, id) in request_ids.iter().enumerate() {
            let line = QueryLogLine {
                prev: hex::encode(prev),
                time: format!("2026-11-26T10:{:02}:00.000Z", i % 60),
                department: "tax".into(),
                call: "Query".into(),
                caller: "hub:hub-1".into(),
                request_id: (*id).into(),
                purpose: "dibao".into(),
                authorization_ref: "SQ-1".into(),
                persons: vec!["5206**********501X".into()],
                outcome: RECEIVED.into(),
                status: "OK".into(),
                reason: String::new(),
            }
            .encode();
            prev = line_hash(&line);
            text.push_str(&line);
            text.push('\n');
        }
        let cp = LogCheckpoint {
            department: "tax".into(),
            lines: request_ids.len() as u64,
            head: prev,
            time: "2026-11-26T11:00:00.000Z".into(),
        }
        .sign(&key());
        (text, vec![cp])
    }

    fn without_line(text: &str, n: usize) -> String {
        text.lines()
            .enumerate()
            .filter(|(i, _)| *i + 1 != n)
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn an_intact_log_verifies_under_its_checkpoint() {
        let (text, cps) = chained(&["a", "b", "c"]);
        let v = verify_query_log(&text, &cps, &key().verifying_key());
        assert_eq!(v.problems, vec![]);
        assert_eq!(v.lines.len(), 3);
        assert_eq!(v.signed_lines, 3);
        assert_eq!(v.unsigned_lines(), 0);
        assert_eq!(v.department, "tax");
    }

    #[test]
    fn a_deleted_line_breaks_the_chain_at_the_next_one() {
        let (text, cps) = chained(&["a", "b", "c", "d"]);
        let v = verify_query_log(&without_line(&text, 2), &cps, &key().verifying_key());
        assert!(
            v.problems.contains(&LogProblem::ChainBroken { line: 2 }),
            "{:?}",
            v.problems
        );
        // The checkpoint over four lines no longer fits three.
        assert!(
            v.problems.iter().any(|p| matches!(
                p,
                LogProblem::Truncated {
                    lines: 4,
                    actual: 3,
                    ..
                }
            )),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn an_edited_line_breaks_the_chain_and_the_checkpoint() {
        let (text, cps) = chained(&["a", "b", "c"]);
        let edited = text.replacen("\"request_id\":\"b\"", "\"request_id\":\"x\"", 1);
        assert_ne!(edited, text);
        let v = verify_query_log(&edited, &cps, &key().verifying_key());
        assert_eq!(
            v.problems,
            vec![LogProblem::ChainBroken { line: 3 }, LogProblem::NoCheckpoint]
        );
        assert_eq!(v.signed_lines, 0);
        // Editing the last line leaves the chain intact; the checkpoint
        // still catches it.
        let edited_last = text.replacen("\"request_id\":\"c\"", "\"request_id\":\"x\"", 1);
        let v = verify_query_log(&edited_last, &cps, &key().verifying_key());
        assert_eq!(
            v.problems,
            vec![
                LogProblem::HeadMismatch { index: 1, lines: 3 },
                LogProblem::NoCheckpoint
            ]
        );
    }

    #[test]
    fn a_rebuilt_chain_is_caught_by_the_signed_head() {
        let (text, cps) = chained(&["a", "b", "c"]);
        // Whoever deletes line 2 and recomputes every prev after it gets a
        // valid chain, but not the signed head.
        let (rebuilt, _) = chained(&["a", "c"]);
        assert!(text.starts_with(rebuilt.lines().next().unwrap()));
        let v = verify_query_log(&rebuilt, &cps, &key().verifying_key());
        assert!(
            v.problems.iter().any(|p| matches!(p, LogProblem::Truncated { .. })),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn a_cut_tail_is_caught_and_unsigned_lines_are_counted() {
        let (text, cps) = chained(&["a", "b", "c"]);
        let cut = without_line(&text, 3);
        let v = verify_query_log(&cut, &cps, &key().verifying_key());
        assert!(v.problems.contains(&LogProblem::Truncated {
            index: 1,
            lines: 3,
            actual: 2
        }));
        // Lines after the last checkpoint verify by the chain and are
        // reported as unsigned.
        let (longer, _) = chained(&["a", "b", "c", "d"]);
        let v = verify_query_log(&longer, &cps, &key().verifying_key());
        assert_eq!(v.problems, vec![]);
        assert_eq!(v.unsigned_lines(), 1);
    }

    #[test]
    fn a_checkpoint_under_another_key_or_altered_does_not_count() {
        let (text, mut cps) = chained(&["a"]);
        let other = SigningKey::from_bytes(&[9; 32]);
        let v = verify_query_log(&text, &cps, &other.verifying_key());
        assert!(matches!(v.problems[0], LogProblem::BadSignature { .. }));
        assert!(v.problems.contains(&LogProblem::NoCheckpoint));
        cps[0].checkpoint.lines = 0;
        let v = verify_query_log(&text, &cps, &key().verifying_key());
        assert!(
            matches!(v.problems[0], LogProblem::BadSignature { .. }),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn checkpoints_round_trip_through_their_file() {
        let (_, cps) = chained(&["a"]);
        let text = format!("{}\n\n", serde_json::to_string(&cps[0]).unwrap());
        assert_eq!(parse_checkpoints(&text).unwrap(), cps);
        assert!(parse_checkpoints("{}\n").unwrap_err().starts_with("checkpoint line 1:"));
    }
}
