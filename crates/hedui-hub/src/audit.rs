//! The hub's tamper-evident audit log.
//!
//! One appender task per hub owns the Merkle frontier and the next sequence
//! number. Several hubs may share one PostgreSQL log: the store serialises
//! appends under a database lock and refuses an append numbered on a stale
//! view ([`StoreError::AuditBehind`]); the appender then reads the leaves
//! the other hubs wrote, extends its frontier and renumbers. So the log is
//! one sequence with no gaps and no forks. Callers send batches; the task drains whatever is
//! waiting into one transaction (group commit) and acknowledges each caller
//! only after that transaction is on disk, so an acknowledged entry is never
//! lost. Checkpoints (tree size, root, time) are signed with the hub key by
//! the same task, on an interval and whenever an auditor asks.
//!
//! Fail closed: when an append fails, the caller gets an error and must not
//! answer; [`AuditLog::healthy`] reports the last outcome for health checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hedui_audit::checkpoint::{Checkpoint, SignedCheckpoint, sign};
use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_audit::merkle::{self, Frontier};
use hedui_proto::v1::VerificationRecord;
use hedui_store::{Store, StoreError};
use sha2::Digest as _;
use tokio::sync::{mpsc, oneshot};

/// Most entries written in one transaction.
const MAX_BATCH: usize = 512;
/// How many times one group commit catches up with other hubs before it
/// gives up and fails its callers.
const MAX_CATCH_UPS: usize = 64;

/// Why the audit log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database refused or failed the write.
    #[error("the audit log cannot be written: {0}")]
    Write(String),
    /// The appender task has stopped.
    #[error("the audit log is closed")]
    Closed,
    /// The stored log does not match its own last signed checkpoint.
    #[error(
        "the stored audit log does not match its hashes or its last signed checkpoint (first problem at entry {0}): rows were edited, deleted or reordered; run `hedui audit verify --database` and investigate before starting the hub"
    )]
    Tampered(u64),
    /// The store failed while loading the log.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where an append's outcome goes: the seq of its last entry and, when it
/// carried a record, whether the record was inserted; or why not.
type Ack = oneshot::Sender<Result<(u64, Option<bool>), String>>;

/// A record stored in the same transaction as the entries it comes with.
pub struct RecordWrite {
    /// The record.
    pub record: VerificationRecord,
    /// Its idempotency key.
    pub idempotency_key: String,
    /// The hash of the request that made it.
    pub request_hash: String,
}

/// One caller's append waiting for the group commit.
struct Pending {
    entries: Vec<AuditEntry>,
    record: Option<Box<RecordWrite>>,
    done: Ack,
}

enum Command {
    Append(Pending),
    Checkpoint(oneshot::Sender<Result<SignedCheckpoint, String>>),
}

/// A handle to the audit log; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Command>,
    person_key: Arc<[u8; 32]>,
    healthy: Arc<AtomicBool>,
    public_key: hedui_trust::VerifyingKey,
}

impl AuditLog {
    /// Loads the log from `store`, checks it against its last signed
    /// checkpoint, and starts the appender. `origin` names this log in every
    /// checkpoint; `interval` is how often a checkpoint is signed when the
    /// log has grown.
    pub async fn open(
        store: Store,
        key: hedui_trust::SigningKey,
        origin: String,
        interval: Duration,
    ) -> Result<AuditLog, AuditError> {
        Self::open_with_metrics(store, key, origin, interval, crate::metrics::Metrics::default()).await
    }

    /// [`AuditLog::open`], counting appends and checkpoint times in `metrics`.
    pub async fn open_with_metrics(
        store: Store,
        key: hedui_trust::SigningKey,
        origin: String,
        interval: Duration,
        metrics: crate::metrics::Metrics,
    ) -> Result<AuditLog, AuditError> {
        // Read in this order so that another hub appending meanwhile cannot
        // make an intact log look cut short: the checkpoint first, then the
        // size, then exactly that many leaves and entries.
        let latest = store.latest_checkpoint().await?;
        let size = store.audit_size().await?;
        let leaves = store.audit_leaves(size).await?;
        if let Some(cp) = &latest {
            let n = cp.checkpoint.tree_size;
            let intact = leaves.len() as u64 >= n && merkle::root(&leaves[..n as usize]) == cp.checkpoint.root;
            if !intact {
                return Err(AuditError::Tampered(n));
            }
        }
        if leaves.len() as u64 != size {
            return Err(AuditError::Tampered(size));
        }
        // Every stored entry must still hash to its stored leaf: an entry
        // edited in place (leaf column untouched) is caught here, one whose
        // leaf was rewritten too is caught by the checkpoint above.
        for (i, e) in store.audit_all().await?.iter().take(leaves.len()).enumerate() {
            if e.seq != i as u64 || leaves.get(i) != Some(&e.leaf()) {
                return Err(AuditError::Tampered(i as u64));
            }
        }
        let frontier = Frontier::from_leaves(&leaves);
        if let Some(at) = latest.as_ref().and_then(|c| checkpoint_time(&c.checkpoint)) {
            metrics.checkpoint_signed(at);
        }
        let last_signed = latest.map(|c| c.checkpoint.tree_size).unwrap_or(0);
        // The keyed hash that lets auditors search by ID number without the
        // log holding the number. It is derived from the hub key, so it is
        // stable across restarts and secret to the hub.
        let person_key: [u8; 32] =
            sha2::Sha256::digest([b"hedui-person-key-v1".as_slice(), key.to_bytes().as_slice()].concat()).into();
        let (tx, rx) = mpsc::channel(4096);
        let healthy = Arc::new(AtomicBool::new(true));
        let public_key = key.verifying_key();
        let appender = Appender {
            store,
            key,
            origin,
            frontier,
            healthy: healthy.clone(),
            last_signed,
            metrics,
        };
        tokio::spawn(appender.run(rx));
        let log = AuditLog {
            tx,
            person_key: Arc::new(person_key),
            healthy,
            public_key,
        };
        let ticker = log.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                if ticker.checkpoint_if_grown().await.is_err() {
                    // The log has closed (the hub is stopping).
                    break;
                }
            }
        });
        Ok(log)
    }

    /// Appends entries (their `seq` is assigned here) and waits until they
    /// are durable. Returns the seq of the last one.
    pub async fn append(&self, entries: Vec<AuditEntry>) -> Result<u64, AuditError> {
        self.send(entries, None).await.map(|(seq, _)| seq)
    }

    /// Appends entries and stores `record` in the same transaction (one
    /// durable commit for both, shared with whatever else is in the group).
    /// Returns the seq of the last entry and whether the record was
    /// inserted: false when its idempotency key was already taken, and the
    /// caller reads the earlier record.
    pub async fn append_with_record(
        &self,
        entries: Vec<AuditEntry>,
        record: RecordWrite,
    ) -> Result<(u64, bool), AuditError> {
        let (seq, inserted) = self.send(entries, Some(Box::new(record))).await?;
        Ok((seq, inserted.unwrap_or(false)))
    }

    async fn send(
        &self,
        entries: Vec<AuditEntry>,
        record: Option<Box<RecordWrite>>,
    ) -> Result<(u64, Option<bool>), AuditError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Append(Pending { entries, record, done }))
            .await
            .map_err(|_| AuditError::Closed)?;
        wait.await.map_err(|_| AuditError::Closed)?.map_err(AuditError::Write)
    }

    /// Signs and stores a checkpoint over the whole log now.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, AuditError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Checkpoint(done))
            .await
            .map_err(|_| AuditError::Closed)?;
        wait.await.map_err(|_| AuditError::Closed)?.map_err(AuditError::Write)
    }

    async fn checkpoint_if_grown(&self) -> Result<(), AuditError> {
        // The appender skips signing when nothing changed.
        self.checkpoint().await.map(|_| ())
    }

    /// The searchable, non-reversible reference to a person.
    pub fn person(&self, id_number: &str) -> PersonRef {
        PersonRef::new(self.person_key.as_slice(), id_number)
    }

    /// The keyed hash of an ID number, for searching.
    pub fn person_key_hash(&self, id_number: &str) -> String {
        hedui_audit::entry::person_key_hash(self.person_key.as_slice(), id_number)
    }

    /// False after the last append failed, until one succeeds.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// The hub's public key, which verifies checkpoints and grants.
    pub fn public_key(&self) -> hedui_trust::VerifyingKey {
        self.public_key
    }
}

struct Appender {
    store: Store,
    key: hedui_trust::SigningKey,
    origin: String,
    frontier: Frontier,
    healthy: Arc<AtomicBool>,
    last_signed: u64,
    metrics: crate::metrics::Metrics,
}

/// When a checkpoint was signed, if its time field reads.
fn checkpoint_time(cp: &Checkpoint) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(&cp.time)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl Appender {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(first) = rx.recv().await {
            let mut appends = Vec::new();
            let mut checkpoints = Vec::new();
            let mut pending = Some(first);
            let mut entries = 0;
            // Group commit: take whatever is already waiting, up to a bound.
            while let Some(cmd) = pending
                .take()
                .or_else(|| (entries < MAX_BATCH).then(|| rx.try_recv().ok()).flatten())
            {
                match cmd {
                    Command::Append(pending) => {
                        entries += pending.entries.len();
                        appends.push(pending);
                    }
                    Command::Checkpoint(done) => checkpoints.push(done),
                }
            }
            if !appends.is_empty() {
                self.write(appends).await;
            }
            for done in checkpoints {
                let _ = done.send(self.sign().await);
            }
        }
    }

    async fn write(&mut self, appends: Vec<Pending>) {
        let mut outcome = Err(String::new());
        // Another hub on the same database may append between our tries;
        // each miss catches up with what it wrote and renumbers ours after it.
        for _ in 0..MAX_CATCH_UPS {
            match self.try_write(&appends).await {
                Ok(ends) => {
                    outcome = Ok(ends);
                    break;
                }
                Err(StoreError::AuditBehind { found, .. }) => {
                    if let Err(e) = self.catch_up(found).await {
                        outcome = Err(e.to_string());
                        break;
                    }
                }
                Err(e) => {
                    outcome = Err(e.to_string());
                    break;
                }
            }
        }
        match outcome {
            Ok(ends) => {
                self.healthy.store(true, Ordering::Relaxed);
                let written: usize = appends.iter().map(|p| p.entries.len()).sum();
                self.metrics.audit_appended(written as u64);
                for (p, end) in appends.into_iter().zip(ends) {
                    let _ = p.done.send(Ok(end));
                }
            }
            Err(e) => {
                let e = if e.is_empty() {
                    format!("other hubs kept appending; gave up after {MAX_CATCH_UPS} tries")
                } else {
                    e
                };
                self.healthy.store(false, Ordering::Relaxed);
                tracing::error!(error = %e, "audit append failed; refusing the calls it belonged to");
                for p in appends {
                    let _ = p.done.send(Err(e.clone()));
                }
            }
        }
    }

    /// Numbers the entries after the log as this appender knows it and
    /// writes them, with the records that came with them, in one
    /// transaction. Returns, per append, the seq of its last entry and
    /// whether its record (if any) was inserted.
    async fn try_write(&mut self, appends: &[Pending]) -> Result<Vec<(u64, Option<bool>)>, StoreError> {
        let mut rows = Vec::new();
        let mut next = self.frontier.size();
        let mut ends = Vec::with_capacity(appends.len());
        for p in appends {
            for e in &p.entries {
                let mut e = e.clone();
                e.seq = next;
                next += 1;
                let leaf = e.leaf();
                rows.push((e, leaf));
            }
            ends.push(next.saturating_sub(1));
        }
        let records: Vec<(&VerificationRecord, &str, &str)> = appends
            .iter()
            .filter_map(|p| p.record.as_deref())
            .map(|r| (&r.record, r.idempotency_key.as_str(), r.request_hash.as_str()))
            .collect();
        let mut inserted = self.store.append_audit_with_records(&rows, &records).await?.into_iter();
        for (_, leaf) in &rows {
            self.frontier.append(*leaf);
        }
        Ok(appends
            .iter()
            .zip(ends)
            .map(|(p, end)| (end, p.record.as_ref().map(|_| inserted.next().unwrap_or(false))))
            .collect())
    }

    /// Extends the frontier with the leaves other hubs stored, up to `size`
    /// (or to the end of the log when `size` is `u64::MAX`).
    async fn catch_up(&mut self, size: u64) -> Result<(), StoreError> {
        let from = self.frontier.size();
        if size <= from {
            return Ok(());
        }
        let leaves = self.store.audit_leaves_range(from, size).await?;
        if size != u64::MAX && leaves.len() as u64 != size - from {
            return Err(StoreError::Corrupt {
                record_id: "audit log".into(),
                problem: format!("entries {from}..{size} are not all there"),
            });
        }
        for leaf in leaves {
            self.frontier.append(leaf);
        }
        Ok(())
    }

    async fn sign(&mut self) -> Result<SignedCheckpoint, String> {
        // A checkpoint covers the whole log, including what other hubs wrote.
        self.catch_up(u64::MAX).await.map_err(|e| e.to_string())?;
        let size = self.frontier.size();
        if size == self.last_signed && size > 0 {
            // Nothing new: hand back the stored one.
            if let Ok(Some(cp)) = self.store.latest_checkpoint().await
                && cp.checkpoint.tree_size == size
            {
                return Ok(cp);
            }
        }
        let cp = Checkpoint {
            origin: self.origin.clone(),
            tree_size: size,
            root: self.frontier.root(),
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        cp.check_fields().map_err(|e| e.to_string())?;
        let signed = sign(cp, &self.key);
        self.store.put_checkpoint(&signed).await.map_err(|e| e.to_string())?;
        self.last_signed = size;
        if let Some(at) = checkpoint_time(&signed.checkpoint) {
            self.metrics.checkpoint_signed(at);
        }
        Ok(signed)
    }
}
