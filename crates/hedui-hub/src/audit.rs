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

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hedui_audit::checkpoint::{Checkpoint, SignedCheckpoint, sign};
use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_audit::merkle::Frontier;
use hedui_proto::v1::VerificationRecord;
use hedui_store::audit::{ClaimTaken, ClaimToTake, RecordStored, RecordToStore};
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

/// What became of one append: the seq of its last entry and, when it
/// carried a record or a claim, what became of it. When the record was not
/// stored or the claim not taken, none of the append's entries were written
/// either (the seq is then 0).
#[derive(Debug, Clone, Default)]
struct Appended {
    seq: u64,
    record: Option<RecordStored>,
    claim: Option<ClaimTaken>,
}

impl Appended {
    /// Whether its record was refused or its claim not taken, so that
    /// nothing of its group was written.
    fn refused(&self) -> bool {
        self.record.as_ref().is_some_and(|r| *r != RecordStored::Inserted)
            || self.claim.is_some_and(|c| c != ClaimTaken::Taken)
    }
}

/// Where an append's outcome goes: what became of it, or why it failed.
type Ack = oneshot::Sender<Result<Appended, String>>;

/// An idempotency claim taken in the same transaction as an append's
/// entries (see [`AuditLog::append_claiming`]).
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// The key claimed.
    pub idempotency_key: String,
    /// The call claiming it.
    pub owner: String,
    /// Now, in milliseconds since the epoch.
    pub now_ms: i64,
    /// When the claim lapses unless renewed.
    pub expires_at_ms: i64,
}

/// A record stored in the same transaction as the entries it comes with.
/// The last entry of its append carries its digest; the record is bound to
/// that entry (`records.entry_seq`), and it must already carry the hub's
/// seal ([`hedui_trust::seal::seal`]).
pub struct RecordWrite {
    /// The record.
    pub record: VerificationRecord,
    /// Its idempotency key.
    pub idempotency_key: String,
    /// The hash of the request that made it.
    pub request_hash: String,
    /// The batch item it ends, marked `DONE` in the same transaction.
    pub batch_item: Option<ItemEnd>,
}

/// A batch item as held by one batch worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLease {
    /// Its batch.
    pub batch_id: String,
    /// Its position in the batch.
    pub seq: i64,
    /// The worker holding its lease.
    pub owner: String,
}

/// A batch item that ends with its record: marked `DONE` in the record's
/// transaction if `lease` still holds it.
pub struct ItemEnd {
    /// The item and the worker holding it.
    pub lease: ItemLease,
    /// How it ended.
    pub outcome: hedui_store::batch::ItemOutcome,
    /// When (RFC 3339).
    pub now: String,
}

/// One caller's append waiting for the group commit.
struct Pending {
    entries: Vec<AuditEntry>,
    record: Option<Box<RecordWrite>>,
    claim: Option<ClaimRequest>,
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
        let loaded = load_verified(&store, LOAD_PAGE).await?;
        let latest = loaded.latest;
        let frontier = loaded.frontier;
        bind_legacy_records(&store, loaded.stored_by, &key).await?;
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
        let index_store = store.clone();
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
            // The proof index follows the signed log, off the request path:
            // an export then finds it current and reads O(log n) hashes.
            let index = |size: u64| {
                let store = index_store.clone();
                async move {
                    if let Err(e) = store.index_audit_nodes(size).await {
                        tracing::warn!(error = %e, "cannot bring the audit proof index up to date");
                    }
                }
            };
            index(last_signed).await;
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                match ticker.checkpoint().await {
                    Ok(cp) => index(cp.checkpoint.tree_size).await,
                    // The log has closed (the hub is stopping).
                    Err(_) => break,
                }
            }
        });
        Ok(log)
    }

    /// Appends entries (their `seq` is assigned here) and waits until they
    /// are durable. Returns the seq of the last one.
    pub async fn append(&self, entries: Vec<AuditEntry>) -> Result<u64, AuditError> {
        self.send(entries, None, None).await.map(|a| a.seq)
    }

    /// Appends entries and takes the idempotency `claim` in the same
    /// transaction: one durable commit, shared with the group, for a
    /// verification's intent and its claim, so no write of a verification
    /// waits for the database outside the group commit. Returns the seq of
    /// the last entry and what became of the claim; unless it is
    /// [`ClaimTaken::Taken`], **none of `entries` was written** (the seq is
    /// then 0): the call does not ask the departments, so no intent is
    /// logged for it.
    pub async fn append_claiming(
        &self,
        entries: Vec<AuditEntry>,
        claim: ClaimRequest,
    ) -> Result<(u64, ClaimTaken), AuditError> {
        let appended = self.send(entries, None, Some(claim)).await?;
        let taken = appended
            .claim
            .ok_or_else(|| AuditError::Write("the claim's outcome was lost".into()))?;
        Ok((appended.seq, taken))
    }

    /// Appends entries and stores `record` in the same transaction (one
    /// durable commit for both, shared with whatever else is in the group).
    /// A record with a `previous_record_id` is stored as a new version.
    /// Returns the seq of the last entry and what became of the record.
    ///
    /// Unless the answer is [`RecordStored::Inserted`] (the key was taken,
    /// or the version it replaces has a successor), **none of `entries` was
    /// written**, because no entry may name a record that is not stored: the
    /// caller logs what really happened and answers accordingly.
    pub async fn append_with_record(
        &self,
        entries: Vec<AuditEntry>,
        record: RecordWrite,
    ) -> Result<(u64, RecordStored), AuditError> {
        let appended = self.send(entries, Some(Box::new(record)), None).await?;
        let stored = appended
            .record
            .ok_or_else(|| AuditError::Write("the record's outcome was lost".into()))?;
        Ok((appended.seq, stored))
    }

    async fn send(
        &self,
        entries: Vec<AuditEntry>,
        record: Option<Box<RecordWrite>>,
        claim: Option<ClaimRequest>,
    ) -> Result<Appended, AuditError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Append(Pending {
                entries,
                record,
                claim,
                done,
            }))
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

/// What one group commit did.
enum Written {
    /// Everything was written: per append, its last seq and what became of
    /// its record and claim.
    All(Vec<Appended>),
    /// Nothing was written, because these appends' records were refused or
    /// their claims not taken: per refused append, its position, what
    /// became of it.
    Nothing(Vec<(usize, Appended)>),
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

/// How many entries a hub reads at a time when it checks its log at start.
const LOAD_PAGE: u32 = 2048;

/// Records from before migration 0005 still to bind (id and stored body),
/// with the seq of the first verified entry that stored each digest.
type LegacyBinding = (Vec<(String, Vec<u8>)>, HashMap<String, u64>);

/// The stored log as checked at start.
struct Loaded {
    /// The last signed checkpoint, which the log matched.
    latest: Option<SignedCheckpoint>,
    /// The frontier of every stored entry, to append after.
    frontier: Frontier,
    /// When records from before migration 0005 are still unbound: those
    /// records, and the seq of the first verified entry that stored each
    /// digest.
    stored_by: Option<LegacyBinding>,
}

/// Reads the stored log `page` entries at a time and checks it: every entry
/// hashes to its stored leaf, seqs run from 0 with no gap, and the first
/// entries hash to the root of the last signed checkpoint. Only the
/// frontier (a hash per level) is kept, so memory stays flat however long
/// the log is; the time is one pass over it.
///
/// Read in this order so that another hub appending meanwhile cannot make
/// an intact log look cut short: the checkpoint first, then the size, then
/// exactly that many entries.
async fn load_verified(store: &Store, page: u32) -> Result<Loaded, AuditError> {
    let latest = store.latest_checkpoint().await?;
    let size = store.audit_size().await?;
    let signed = latest.as_ref().map(|c| (c.checkpoint.tree_size, c.checkpoint.root));
    let check_signed = |frontier: &Frontier| match signed {
        Some((n, root)) if n == frontier.size() && frontier.root() != root => Err(AuditError::Tampered(n)),
        _ => Ok(()),
    };
    let unbound = store.unbound_records().await?;
    let mut stored_by = (!unbound.is_empty()).then(HashMap::new);
    let mut frontier = Frontier::new();
    check_signed(&frontier)?;
    while frontier.size() < size {
        let want = u32::try_from(size - frontier.size()).unwrap_or(u32::MAX).min(page);
        let rows = store.audit_page(frontier.size(), want).await?;
        if rows.is_empty() {
            break;
        }
        for (e, leaf) in rows {
            // An entry edited in place (leaf column untouched) is caught by
            // its hash; one whose leaf was rewritten too, by the checkpoint.
            let at = frontier.size();
            if e.seq != at || leaf != e.leaf() {
                return Err(AuditError::Tampered(at));
            }
            if let Some(map) = stored_by.as_mut()
                && stores_record(&e)
            {
                map.entry(e.record_digest.clone()).or_insert(e.seq);
            }
            frontier.append(leaf);
            check_signed(&frontier)?;
        }
    }
    if frontier.size() != size {
        return Err(AuditError::Tampered(frontier.size()));
    }
    if let Some((n, _)) = signed
        && n > size
    {
        return Err(AuditError::Tampered(size));
    }
    Ok(Loaded {
        latest,
        frontier,
        stored_by: stored_by.map(|m| (unbound, m)),
    })
}

/// Whether `e` records a stored record (the entry the record is bound to).
fn stores_record(e: &AuditEntry) -> bool {
    matches!(
        e.action.as_str(),
        "SubmitVerification" | "batch.household" | "RecheckRecord"
    ) && e.status == "OK"
        && e.detail.starts_with("record ")
        && !e.record_digest.is_empty()
}

/// Binds the records stored before records were bound to the log
/// (migration 0005) to the entry that stored each, and seals them with the
/// hub key. The entries were verified just before, so a record is sealed
/// only when its digest is the one its verified entry recorded: a record
/// edited before this upgrade stays unbound, and every read refuses it.
async fn bind_legacy_records(
    store: &Store,
    stored_by: Option<LegacyBinding>,
    key: &hedui_trust::SigningKey,
) -> Result<(), AuditError> {
    let Some((unbound, stored_by)) = stored_by else {
        return Ok(());
    };
    let (mut bound, mut left) = (0u64, 0u64);
    for (record_id, body) in unbound {
        let record = match <VerificationRecord as prost::Message>::decode(body.as_slice()) {
            Ok(r) if hedui_domain::digest::verify(&r) => r,
            _ => {
                left += 1;
                continue;
            }
        };
        let Some(seq) = stored_by.get(record.digest.as_str()).copied() else {
            left += 1;
            continue;
        };
        let mut sealed = record;
        hedui_trust::seal::seal(&mut sealed, key);
        let bound_now = store.bind_record(&sealed, seq).await.map_err(|e| {
            AuditError::Write(format!(
                "records stored before migration 0005 must be bound to the audit log once, which changes their \
                 rows; the database refused ({e}). Start the hub once with the database's owner role (as `hedui \
                 migrate` runs), then again with the runtime role"
            ))
        })?;
        if bound_now {
            bound += 1;
        } else {
            tracing::warn!(%record_id, "a legacy record changed while it was being bound; left unbound");
            left += 1;
        }
    }
    tracing::info!(
        bound,
        left,
        "bound records from before migration 0005 to their audit entries"
    );
    if left > 0 {
        tracing::warn!(
            left,
            "records with no matching audit entry stay unbound; reading them fails; run `hedui audit verify --database`"
        );
    }
    Ok(())
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

    async fn write(&mut self, mut appends: Vec<Pending>) {
        let mut outcome = Err(String::new());
        // Another hub on the same database may append between our tries;
        // each miss catches up with what it wrote and renumbers ours after it.
        // An append whose record was refused is answered at once and left
        // out, and the rest are numbered again without it.
        let mut tries = 0;
        while tries < MAX_CATCH_UPS && !appends.is_empty() {
            match self.try_write(&appends).await {
                Ok(Written::All(ends)) => {
                    outcome = Ok(ends);
                    break;
                }
                Ok(Written::Nothing(refused)) => {
                    let mut refused = refused.into_iter().peekable();
                    let mut kept = Vec::with_capacity(appends.len());
                    for (i, p) in appends.into_iter().enumerate() {
                        match refused.next_if(|(at, _)| *at == i) {
                            Some((_, appended)) => {
                                let _ = p.done.send(Ok(appended));
                            }
                            None => kept.push(p),
                        }
                    }
                    appends = kept;
                }
                Err(StoreError::AuditBehind { found, .. }) => {
                    tries += 1;
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
        if appends.is_empty() {
            return;
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
    /// transaction, taking the claims that came with them. Returns, per
    /// append, the seq of its last entry and what became of its record and
    /// claim (if any); or, when a record was refused or a claim not taken,
    /// which appends were refused (then nothing was written).
    async fn try_write(&mut self, appends: &[Pending]) -> Result<Written, StoreError> {
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
        // Each record is bound to the last entry of its append, which
        // carries its digest.
        let with_records: Vec<usize> = (0..appends.len()).filter(|i| appends[*i].record.is_some()).collect();
        let records: Vec<RecordToStore<'_>> = with_records
            .iter()
            .filter_map(|i| appends[*i].record.as_deref().map(|r| (r, ends[*i])))
            .map(|(r, entry_seq)| RecordToStore {
                record: &r.record,
                idempotency_key: r.idempotency_key.as_str(),
                request_hash: r.request_hash.as_str(),
                entry_seq,
                batch_item: r.batch_item.as_ref().map(|i| hedui_store::batch::ItemDone {
                    batch_id: i.lease.batch_id.as_str(),
                    seq: i.lease.seq,
                    owner: i.lease.owner.as_str(),
                    outcome: &i.outcome,
                    now: i.now.as_str(),
                }),
            })
            .collect();
        let with_claims: Vec<usize> = (0..appends.len()).filter(|i| appends[*i].claim.is_some()).collect();
        let claims: Vec<ClaimToTake<'_>> = appends
            .iter()
            .filter_map(|p| p.claim.as_ref())
            .map(|c| ClaimToTake {
                idempotency_key: c.idempotency_key.as_str(),
                owner: c.owner.as_str(),
                now_ms: c.now_ms,
                expires_at_ms: c.expires_at_ms,
            })
            .collect();
        let timed = crate::stages::enabled().then(std::time::Instant::now);
        let (stored, claimed, phases) = self.store.append_audit_with(&rows, &records, &claims).await?;
        if let Some(started) = timed {
            crate::stages::group_committed(crate::stages::GroupSample {
                appends: appends.len(),
                records: records.len(),
                transaction: started.elapsed(),
                phases,
            });
        }
        let mut outcomes: Vec<Appended> = ends
            .iter()
            .map(|seq| Appended {
                seq: *seq,
                ..Appended::default()
            })
            .collect();
        for (i, s) in with_records.into_iter().zip(stored) {
            outcomes[i].record = Some(s);
        }
        for (i, c) in with_claims.into_iter().zip(claimed) {
            outcomes[i].claim = Some(c);
        }
        if outcomes.iter().any(Appended::refused) {
            // Nothing was written: the refused appends are answered with
            // seq 0, and the rest will be numbered again without them.
            return Ok(Written::Nothing(
                outcomes
                    .into_iter()
                    .enumerate()
                    .filter(|(_, a)| a.refused())
                    .map(|(i, a)| (i, Appended { seq: 0, ..a }))
                    .collect(),
            ));
        }
        for (_, leaf) in &rows {
            self.frontier.append(*leaf);
        }
        Ok(Written::All(outcomes))
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

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection as _;

    fn entry(n: usize) -> AuditEntry {
        AuditEntry {
            seq: 0,
            time: "2026-12-06T00:00:00.000Z".into(),
            actor: "zhang.san".into(),
            role: "caseworker".into(),
            action: "test.append".into(),
            purpose: String::new(),
            request_id: String::new(),
            persons: Vec::new(),
            departments: Vec::new(),
            status: "OK".into(),
            record_digest: String::new(),
            detail: format!("append {n}"),
        }
    }

    /// A log of 13 entries with a checkpoint signed at 10, in a fresh file.
    async fn log_of_13() -> (tempfile::TempDir, String, SignedCheckpoint) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("hedui.db").display());
        let store = Store::open(&url).await.unwrap();
        let key = hedui_trust::SigningKey::from_bytes(&[7; 32]);
        let log = AuditLog::open(store, key, "t".into(), Duration::from_secs(3600))
            .await
            .unwrap();
        for n in 0..10 {
            log.append(vec![entry(n)]).await.unwrap();
        }
        let cp = log.checkpoint().await.unwrap();
        for n in 10..13 {
            log.append(vec![entry(n)]).await.unwrap();
        }
        (dir, url, cp)
    }

    #[tokio::test]
    async fn the_log_reads_the_same_in_pages_of_any_size() {
        let (_dir, url, cp) = log_of_13().await;
        let store = Store::open(&url).await.unwrap();
        let whole = load_verified(&store, 64).await.unwrap();
        assert_eq!(whole.frontier.size(), 13);
        assert_eq!(whole.latest.unwrap().checkpoint.root, cp.checkpoint.root);
        for page in 1..=14 {
            let paged = load_verified(&store, page).await.unwrap();
            assert_eq!(paged.frontier, whole.frontier, "page {page}");
        }
    }

    #[tokio::test]
    async fn an_edit_or_a_gap_past_the_first_page_is_found() {
        let cases = [
            (
                "edit",
                "UPDATE audit_entries SET entry = replace(entry, 'append 7', 'append 8') WHERE seq = 7",
                7,
            ),
            ("gap", "DELETE FROM audit_entries WHERE seq = 5", 5),
            ("tail cut", "DELETE FROM audit_entries WHERE seq >= 8", 8),
        ];
        for (name, sql, at) in cases {
            let (_dir, url, _) = log_of_13().await;
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for drop in [
                "DROP TRIGGER IF EXISTS audit_entries_append_only_update",
                "DROP TRIGGER IF EXISTS audit_entries_append_only_delete",
            ] {
                sqlx::raw_sql(drop).execute(&mut c).await.unwrap();
            }
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
            let store = Store::open(&url).await.unwrap();
            match load_verified(&store, 3).await {
                Err(AuditError::Tampered(n)) => assert_eq!(n, at, "{name}"),
                Err(e) => panic!("{name}: {e}"),
                Ok(_) => panic!("{name}: a tampered log was accepted"),
            }
        }
    }
}
