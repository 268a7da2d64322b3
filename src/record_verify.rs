//! `hedui record verify`: checks an exported record offline, with only the
//! hub's public key.
//!
//! The file is the record as `hedui record show ID --output json` writes it.
//! It verifies when its content matches its digest and the digest carries
//! the hub's seal (its ed25519 signature, `hubSignature`): then the record is
//! exactly what the hub stored, whoever handled the file since.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use hedui_proto::v1::VerificationRecord;

/// Verifies the record in `file` under `key` and prints what was proven.
pub fn run(file: &Path, key: &hedui_trust::VerifyingKey) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let record: VerificationRecord = hedui_proto::from_json(&text, "hedui.v1.VerificationRecord").map_err(|e| {
        anyhow!(
            "{}: not a record as `hedui record show ID --output json` writes it: {e}",
            file.display()
        )
    })?;
    hedui_trust::seal::verify(&record, key)
        .map_err(|e| anyhow!("VERIFICATION FAILED: record {}: {e}", record.record_id))?;
    println!(
        "OK: record {} (version {}) matches its digest {} and carries the hub's seal",
        record.record_id,
        record.version.max(1),
        record.digest
    );
    Ok(())
}
