//! Retention that forgets (issue #15 item 3): how long records are kept,
//! one run of `hedui retention apply` (or of the hub's schedule), and the
//! audit entry every run appends.
//!
//! The erasing itself is the store's ([`hedui_store::retention`]): a record
//! created before the cutoff loses its payload, its wrapped data key, its
//! person index and its reviews' notes, and keeps a tombstone. The audit log
//! is appended to, never rewritten.

use std::time::Duration;

use chrono::{DateTime, Months, SecondsFormat, Utc};
use hedui_audit::entry::AuditEntry;
use hedui_store::Store;
use hedui_store::retention::{Erased, Expired};

use crate::audit::{AuditError, AuditLog};

/// The action of a retention run's audit entry.
pub const ACTION: &str = "retention.apply";

/// Records erased per transaction by default.
pub const DEFAULT_CHUNK: i64 = 500;

/// How long a record is kept after its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Whole calendar years (`5y`): a record made on 2021-12-06 is kept
    /// until 2026-12-06.
    Years(u32),
    /// Days (`1825d`).
    Days(u32),
}

impl Keep {
    /// Reads `<n>y` or `<n>d`, `n` at least 1. The error names no field:
    /// the caller knows which one it read.
    pub fn parse(s: &str) -> Result<Keep, String> {
        let s = s.trim();
        let (n, unit) = number_and_unit(s)?;
        let n = u32::try_from(n).map_err(|_| format!("{s:?}: too long"))?;
        match unit {
            "y" if n <= 200 => Ok(Keep::Years(n)),
            "d" if n <= 73_000 => Ok(Keep::Days(n)),
            "y" | "d" => Err(format!("{s:?}: more than 200 years")),
            _ => Err(format!(
                "{s:?}: must be a whole number of years or days, such as \"5y\" or \"1825d\""
            )),
        }
    }

    /// Records created before this instant are past retention at `now`.
    pub fn cutoff(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Keep::Years(y) => now.checked_sub_months(Months::new(12 * y)),
            Keep::Days(d) => now.checked_sub_signed(chrono::Duration::days(i64::from(d))),
        }
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl std::fmt::Display for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keep::Years(y) => write!(f, "{y}y"),
            Keep::Days(d) => write!(f, "{d}d"),
        }
    }
}

/// Reads an interval `<n>d`, `<n>h`, `<n>m` or `<n>s`, `n` at least 1.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = number_and_unit(s)?;
    let seconds = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        "s" => Some(n),
        _ => {
            return Err(format!(
                "{s:?}: must be a whole number of days, hours, minutes or seconds, such as \"1d\" or \"6h\""
            ));
        }
    };
    seconds
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?}: too long"))
}

/// Splits `12d` into 12 and `d`; zero, a sign or no number is refused.
fn number_and_unit(s: &str) -> Result<(u64, &str), String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if s.starts_with('-') {
        return Err(format!("{s:?}: must be more than zero, not negative"));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: must start with a whole number, such as \"5y\""))?;
    if n == 0 {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok((n, unit))
}

/// The hub's retention: the period, and how often the hub applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// How long records are kept after their creation.
    pub keep: Keep,
    /// How often the hub applies it (at start, then every interval); `None`
    /// leaves it to `hedui retention apply`.
    pub apply_every: Option<Duration>,
}

/// Who runs retention, for the audit entry.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Such as `admin:li.si@local` or `hub:hub-01`.
    pub actor: String,
    /// `admin` or `hub`.
    pub role: String,
}

/// What one run found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Records created before this (RFC 3339 UTC) were past retention.
    pub cutoff: String,
    /// What was past retention when the run began.
    pub expired: Expired,
    /// What was erased; `None` for a dry run.
    pub erased: Option<Erased>,
    /// The seq of the run's audit entry.
    pub entry_seq: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The store failed; whole chunks before the failure are erased.
    #[error("retention: {0}")]
    Store(#[from] hedui_store::StoreError),
    /// The run's audit entry could not be written.
    #[error("retention: {0}")]
    Audit(#[from] AuditError),
}

/// Applies `keep` at `now`: finds the records created before the cutoff
/// and, unless `dry_run`, erases them `chunk` records per transaction.
/// Every run, a dry one included, appends one `retention.apply` entry
/// (cutoff, counts, dry run or not) by `runner`; a run that fails appends
/// one saying so before returning the error.
pub async fn apply(
    store: &Store,
    audit: &AuditLog,
    keep: Keep,
    now: DateTime<Utc>,
    runner: &Runner,
    dry_run: bool,
    chunk: i64,
) -> Result<Run, RetentionError> {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let cutoff = stamp(keep.cutoff(now));
    let expired = store.expired(&cutoff).await?;
    let range = match (&expired.oldest, &expired.newest) {
        (Some(a), Some(b)) => format!(" created {a} to {b}"),
        _ => String::new(),
    };
    let entry = |status: &str, detail: String| AuditEntry {
        seq: 0,
        time: stamp(Utc::now()),
        actor: runner.actor.clone(),
        role: runner.role.clone(),
        action: ACTION.to_owned(),
        purpose: String::new(),
        request_id: String::new(),
        persons: Vec::new(),
        departments: Vec::new(),
        status: status.to_owned(),
        record_digest: String::new(),
        detail,
    };
    let head = format!("keep {keep}, cutoff {cutoff}");
    if dry_run {
        let detail = format!(
            "{head}: dry run, nothing erased; would erase {} record(s){range}, {} review note(s), {} batch request(s)",
            expired.records, expired.reviews, expired.batch_items
        );
        let entry_seq = audit.append(vec![entry("OK", detail)]).await?;
        return Ok(Run {
            cutoff,
            expired,
            erased: None,
            entry_seq,
        });
    }
    let erased = match store.erase_expired(&cutoff, &stamp(now), chunk).await {
        Ok(e) => e,
        Err(e) => {
            // The cause stays in the error and the log; the entry says that
            // the run failed, and the next run erases what is left.
            let detail =
                format!("{head}: failed; whole chunks before the failure are erased, the next run erases the rest");
            audit.append(vec![entry("INTERNAL", detail)]).await?;
            return Err(e.into());
        }
    };
    let detail = format!(
        "{head}: erased {} record(s){range} ({} person index row(s)), {} review note(s), {} batch request(s)",
        erased.records, erased.persons, erased.reviews, erased.batch_items
    );
    let entry_seq = audit.append(vec![entry("OK", detail)]).await?;
    if erased != Erased::default() {
        // An SQLite file keeps deleted pages until rebuilt; the ciphertext
        // and wrapped keys must not survive there.
        if let Err(e) = store.purge_freed_space().await {
            tracing::warn!(error = %e, "retention: could not rebuild the database file to drop the erased pages");
        }
    }
    Ok(Run {
        cutoff,
        expired,
        erased: Some(erased),
        entry_seq,
    })
}

/// The hub's schedule: a run at start, then every `every`, until the audit
/// log closes (the hub is stopping). A failed run is logged and retried at
/// the next tick.
pub(crate) async fn schedule(store: Store, audit: AuditLog, keep: Keep, every: Duration, runner: Runner) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match apply(&store, &audit, keep, Utc::now(), &runner, false, DEFAULT_CHUNK).await {
            Ok(run) => {
                let erased = run.erased.unwrap_or_default();
                tracing::info!(
                    cutoff = %run.cutoff,
                    records = erased.records,
                    batch_items = erased.batch_items,
                    "retention applied"
                );
            }
            Err(RetentionError::Audit(AuditError::Closed)) => break,
            Err(e) => tracing::error!(error = %e, "retention run failed; it is tried again at the next interval"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_intervals_parse_and_bad_ones_are_refused() {
        assert_eq!(Keep::parse("5y"), Ok(Keep::Years(5)));
        assert_eq!(Keep::parse("1825d"), Ok(Keep::Days(1825)));
        for bad in ["0y", "0d", "-1y", "-5d", "5", "y", "", "5w", "1.5y", "99999999999y"] {
            assert!(Keep::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_interval("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        for bad in ["0s", "-1d", "1", "1w", ""] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        let now = DateTime::parse_from_rfc3339("2026-12-06T05:00:00Z").unwrap().to_utc();
        assert_eq!(Keep::Years(5).cutoff(now).to_rfc3339(), "2021-12-06T05:00:00+00:00");
        assert_eq!(Keep::Days(1).cutoff(now).to_rfc3339(), "2026-12-05T05:00:00+00:00");
    }
}
