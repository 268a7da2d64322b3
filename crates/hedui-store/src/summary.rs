//! A listed row of `records` and its check against the sealed record.

use hedui_proto::v1::{Purpose, RecordSummary, Verdict, VerificationRecord};

use crate::{RecordRow, Result, StoreError};

/// A listed row, as read by either backend.
pub(crate) struct SummaryRow {
    pub record_id: String,
    pub household_ref: String,
    pub created_at: String,
    pub verdict: String,
    pub purpose: String,
    pub member_count: i64,
    pub digest: String,
    pub version: i64,
    pub previous_record_id: Option<String>,
    pub superseded_by: Option<String>,
    /// When retention erased the record; `None` while it is readable.
    pub erased_at: Option<String>,
}

impl SummaryRow {
    /// Checks that the row's columns say what the sealed record says.
    pub(crate) fn check_against(&self, record: &VerificationRecord) -> Result<()> {
        let sealed = RecordRow::new(record);
        let differs: Vec<&str> = [
            ("household_ref", self.household_ref == sealed.household_ref),
            ("created_at", self.created_at == sealed.created_at),
            ("verdict", self.verdict == sealed.verdict),
            ("purpose", self.purpose == sealed.purpose),
            ("member_count", self.member_count == sealed.member_count),
            ("digest", self.digest == sealed.digest),
            ("version", self.version == sealed.version),
            (
                "previous_record_id",
                self.previous_record_id.as_deref() == sealed.previous_record_id,
            ),
        ]
        .into_iter()
        .filter_map(|(column, same)| (!same).then_some(column))
        .collect();
        if differs.is_empty() {
            return Ok(());
        }
        Err(StoreError::Corrupt {
            record_id: self.record_id.clone(),
            problem: format!(
                "the column(s) {} of its row differ from the sealed record",
                differs.join(", ")
            ),
        })
    }
}

impl From<SummaryRow> for RecordSummary {
    fn from(r: SummaryRow) -> Self {
        RecordSummary {
            record_id: r.record_id,
            household_ref: r.household_ref,
            created_at: r.created_at,
            verdict: Verdict::from_str_name(&r.verdict).unwrap_or_default() as i32,
            purpose: Purpose::from_str_name(&r.purpose).unwrap_or_default() as i32,
            member_count: r.member_count as u32,
            digest: r.digest,
            version: r.version as u32,
            previous_record_id: r.previous_record_id.unwrap_or_default(),
            superseded_by: r.superseded_by.unwrap_or_default(),
            erased_at: r.erased_at.unwrap_or_default(),
        }
    }
}
