//! What the SDK checks before a source sees a query, and what it writes down.
//!
//! - The hub's grant: signed by a trusted hub key, not expired, for this
//!   department, matching the query, covering every queried person, and
//!   never used before, by this adapter or another one on the same grant
//!   store ([`crate::grants`]). A query that fails any of these is refused
//!   with `PERMISSION_DENIED`, which the hub records as `REFUSED`.
//! - The department's own query log: one JSON line per call, in the format
//!   of [`hedui_audit::adapter_log`]: every query let through to the data
//!   (`received`, written before the source sees it) and every refusal
//!   (wrong caller, bad or replayed grant, invalid query) with its status
//!   and reason. Persons appear masked only. Each line carries the SHA-256
//!   of the line before it, every line is synced before the call goes on
//!   (in groups: one writer thread writes every line waiting with one
//!   write and one sync, see [`MAX_LOG_GROUP`]), and with a signing key the adapter signs checkpoints of the log into a
//!   file beside it, so the department can prove its log to an auditor and
//!   reconcile it with the hub's (`hedui audit reconcile`).

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hedui_audit::adapter_log::{
    GENESIS, LogCheckpoint, QueryLogLine, RECEIVED, SignedLogCheckpoint, line_hash, parse_checkpoints,
};
use hedui_audit::merkle::Hash;
use hedui_domain::ids::ResidentId;
use hedui_proto::v1::{Department, QueryRequest};
use hedui_trust::grant::{GrantError, GrantExpectation, verify};
use hedui_trust::{SigningKey, VerifyingKey};

use crate::ValidatedQuery;
use crate::grants::{ClaimError, GrantStore, MemoryGrantStore, SqlGrantStore};

/// How often, by default, the adapter signs a checkpoint of its query log
/// when lines were added.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);

/// The longest authorization reference copied into the log.
const MAX_REF_CHARS: usize = 64;

/// The most query-log lines written with one write and one sync; more
/// waiting go into the next group.
pub const MAX_LOG_GROUP: usize = 256;

/// Where the adapter remembers the grants it accepted.
#[derive(Clone, Default)]
pub enum GrantStoreOption {
    /// A SQLite file beside the query log ([`grant_store_path`]); in memory
    /// when there is no query log.
    #[default]
    BesideQueryLog,
    /// This SQLite file.
    File(PathBuf),
    /// In memory: forgotten at restart. Tests and benchmarks only.
    Memory,
    /// A store opened by the caller, e.g. in the department's database
    /// ([`crate::sql::SqlSource::grant_store`]) or shared by two adapters in
    /// a test.
    Shared(Arc<dyn GrantStore>),
}

impl std::fmt::Debug for GrantStoreOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BesideQueryLog => f.write_str("BesideQueryLog"),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Memory => f.write_str("Memory"),
            Self::Shared(s) => f.debug_tuple("Shared").field(&s.describe()).finish(),
        }
    }
}

/// How an adapter decides whether to answer.
#[derive(Clone)]
pub struct AdapterOptions {
    /// Public keys of the hubs whose grants are accepted. Several keys may
    /// be trusted at once, so the hub's key can be rotated without downtime.
    pub trusted_hub_keys: Vec<VerifyingKey>,
    /// Where the department's query log is appended; `None` keeps no log.
    pub query_log: Option<PathBuf>,
    /// The adapter's certificate, key and the county CA. `None` only with
    /// `--insecure-dev`: plaintext, and callers are not identified.
    pub tls: Option<hedui_tls::ServerTls>,
    /// Where accepted grants are remembered.
    pub grant_store: GrantStoreOption,
    /// The department's own key (`hedui keygen`) that signs checkpoints of
    /// the query log into [`checkpoint_path`]. Without it the log is
    /// chained but nothing is signed.
    pub log_signing_key: Option<SigningKey>,
    /// How often a checkpoint is signed when lines were added; one more is
    /// signed when the adapter stops.
    pub checkpoint_interval: Duration,
    /// How long, once shutdown begins, the adapter reports NOT_SERVING on
    /// its health service while it still answers (`drain_seconds`); 0 stops
    /// at once.
    pub drain_delay: Duration,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        Self {
            trusted_hub_keys: Vec::new(),
            query_log: None,
            tls: None,
            grant_store: GrantStoreOption::default(),
            log_signing_key: None,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            drain_delay: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for AdapterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterOptions")
            .field("trusted_hub_keys", &self.trusted_hub_keys.len())
            .field("query_log", &self.query_log)
            .field("tls", &self.tls.is_some())
            .field("grant_store", &self.grant_store)
            .field("log_signing_key", &self.log_signing_key.is_some())
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("drain_delay", &self.drain_delay)
            .finish()
    }
}

/// The default grant store beside a query log: `queries.jsonl` →
/// `queries.grants.sqlite`.
pub fn grant_store_path(query_log: &Path) -> PathBuf {
    query_log.with_extension("grants.sqlite")
}

/// The file of signed checkpoints beside a query log: `queries.jsonl` →
/// `queries.checkpoints.jsonl`.
pub fn checkpoint_path(query_log: &Path) -> PathBuf {
    query_log.with_extension("checkpoints.jsonl")
}

/// Why a query's grant was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The grant is missing, invalid or was used before.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// The grant store could not record the use; nothing is answered.
    #[error("{0}")]
    Store(String),
}

/// One line to write, before the chain fields are added.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// `Query` or `Describe`.
    pub call: &'static str,
    /// The caller's identity, see [`hedui_audit::adapter_log::QueryLogLine::caller`].
    pub caller: String,
    /// The request id when it is a UUID, else empty.
    pub request_id: String,
    /// The purpose slug when valid, else empty.
    pub purpose: String,
    /// The authorization reference, cut to 64 characters; empty when no
    /// verified grant vouched for it.
    pub authorization_ref: String,
    /// Masked ID numbers; `invalid` for one that is not an ID number.
    pub persons: Vec<String>,
    /// `received`, `refused`, `denied`, `invalid` or `unavailable`.
    pub outcome: &'static str,
    /// The gRPC status name.
    pub status: &'static str,
    /// Why, naming fields and never values.
    pub reason: String,
}

impl LogEntry {
    /// An entry for `raw` as far as it can be read: only what validates is
    /// copied, so a refused query cannot smuggle a name or a full ID number
    /// into the log.
    pub fn of_request(raw: &QueryRequest, caller: String, today: chrono::NaiveDate) -> LogEntry {
        let request_id = uuid::Uuid::parse_str(&raw.request_id)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let purpose = hedui_domain::purpose::parse_purpose(raw.purpose, "purpose")
            .map(|p| hedui_domain::purpose::purpose_slug(p).to_owned())
            .unwrap_or_default();
        let persons = raw
            .persons
            .iter()
            .map(|p| {
                ResidentId::parse(&p.id_number, today)
                    .map(|id| id.masked())
                    .unwrap_or_else(|_| "invalid".to_owned())
            })
            .collect();
        LogEntry {
            call: "Query",
            caller,
            request_id,
            purpose,
            authorization_ref: raw.authorization_ref.chars().take(MAX_REF_CHARS).collect(),
            persons,
            outcome: RECEIVED,
            status: "OK",
            reason: String::new(),
        }
    }

    /// An entry for a call that carries no query (`Describe`).
    pub fn without_request(call: &'static str, caller: String) -> LogEntry {
        LogEntry {
            call,
            caller,
            request_id: String::new(),
            purpose: String::new(),
            authorization_ref: String::new(),
            persons: Vec::new(),
            outcome: RECEIVED,
            status: "OK",
            reason: String::new(),
        }
    }

    /// The same entry as a refusal.
    pub fn refused(mut self, outcome: &'static str, status: &'static str, reason: impl Into<String>) -> LogEntry {
        self.outcome = outcome;
        self.status = status;
        self.reason = reason.into();
        self
    }

    /// The same entry without the authorization reference: free text that
    /// no verified grant vouched for (the caller is not the hub, the query
    /// is invalid, or the grant did not verify) could carry anything, even
    /// a full ID number, so it is not copied into the log.
    pub fn without_unvouched_ref(mut self) -> LogEntry {
        self.authorization_ref.clear();
        self
    }
}

/// The grant check and the query log of one adapter.
pub struct Guard {
    department: Department,
    trusted: Vec<VerifyingKey>,
    grants: Arc<dyn GrantStore>,
    log: Option<QueryLog>,
}

impl Guard {
    /// Opens the query log (creating it, and refusing one whose chain is
    /// broken) and the grant store.
    pub async fn new(department: Department, options: &AdapterOptions) -> Result<Self, String> {
        let log = match &options.query_log {
            Some(p) => Some(
                QueryLog::open(p, department, options.log_signing_key.clone())
                    .map_err(|e| format!("query log {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let grants: Arc<dyn GrantStore> = match (&options.grant_store, &options.query_log) {
            (GrantStoreOption::Shared(s), _) => s.clone(),
            (GrantStoreOption::Memory, _) | (GrantStoreOption::BesideQueryLog, None) => {
                Arc::new(MemoryGrantStore::default())
            }
            (GrantStoreOption::File(p), _) => Arc::new(SqlGrantStore::open_file(p).await?),
            (GrantStoreOption::BesideQueryLog, Some(log)) => {
                Arc::new(SqlGrantStore::open_file(&grant_store_path(log)).await?)
            }
        };
        Ok(Self {
            department,
            trusted: options.trusted_hub_keys.clone(),
            grants,
            log,
        })
    }

    /// Where accepted grants are remembered, for the start-up message.
    pub fn grant_store(&self) -> String {
        self.grants.describe()
    }

    /// Checks the grant carried by `query` and records its use. The error
    /// text names no person.
    pub async fn check(&self, query: &ValidatedQuery, now_unix_ms: i64) -> Result<(), Refusal> {
        let raw = &query.raw;
        let ids: Vec<String> = query.persons.iter().map(|(_, id)| id.as_str().to_owned()).collect();
        let window = query.window.to_proto();
        let expected = GrantExpectation {
            department: self.department,
            request_id: &raw.request_id,
            purpose: query.purpose,
            id_numbers: &ids,
            income_window: &window,
            authorization_ref: &raw.authorization_ref,
        };
        if raw.grant.is_empty() {
            return Err(GrantError::Missing.into());
        }
        let grant = verify(&raw.grant, &self.trusted, &expected, now_unix_ms)?;
        self.grants
            .claim(
                &grant.request_id,
                self.department,
                grant.expires_at_unix_ms,
                now_unix_ms,
            )
            .await
            .map_err(|e| match e {
                ClaimError::Replayed => Refusal::Grant(GrantError::Replayed),
                ClaimError::Unavailable(m) => Refusal::Store(m),
            })
    }

    /// Appends one line to the query log and returns once it is synced.
    /// A failure to write is returned so the adapter can refuse to answer
    /// unlogged; after one, every later write fails too, until a restart
    /// trims the torn line.
    pub async fn record(&self, entry: LogEntry) -> std::io::Result<()> {
        match &self.log {
            Some(log) => log.append(entry).await,
            None => Ok(()),
        }
    }

    /// Signs a checkpoint over the whole log if lines were added since the
    /// last one and a signing key is set. Returns the lines it covers.
    pub fn checkpoint(&self) -> std::io::Result<Option<u64>> {
        match &self.log {
            Some(log) => log.checkpoint(),
            None => Ok(None),
        }
    }
}

/// The chained, append-only query log and its checkpoint file.
///
/// Lines are written by one thread in groups (group commit): a caller
/// hands its entry over and waits; the writer takes every entry waiting
/// (up to [`MAX_LOG_GROUP`]), chains them in order, writes them with one
/// `write_all` and one `sync_data`, and only then answers each caller. So
/// many concurrent queries share one sync, and no caller hears "written"
/// before its line is durable.
struct QueryLog {
    shared: Arc<LogShared>,
    /// To the writer thread; it stops when the log is dropped.
    entries: std::sync::mpsc::Sender<PendingLine>,
}

/// What the writer thread and the checkpoint signer share.
struct LogShared {
    department: &'static str,
    state: Mutex<LogState>,
    signer: Option<(SigningKey, PathBuf)>,
}

/// An entry waiting for the writer, and where to send its answer.
struct PendingLine {
    entry: LogEntry,
    answer: tokio::sync::oneshot::Sender<std::io::Result<()>>,
}

struct LogState {
    file: File,
    lines: u64,
    head: Hash,
    checkpointed: u64,
    /// Set after a failed write: the file may end in a torn line.
    broken: bool,
}

impl QueryLog {
    /// Opens `path` for appending and reads it once: every line must carry
    /// the hash of the one before it, and the last signed checkpoint must
    /// match. A torn last line (a crash in the middle of a write, which was
    /// never synced and so never answered) is trimmed.
    fn open(path: &Path, department: Department, key: Option<SigningKey>) -> Result<QueryLog, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        trim_torn_line(&mut file).map_err(|e| e.to_string())?;

        let cp_path = checkpoint_path(path);
        let last_cp: Option<SignedLogCheckpoint> = match std::fs::read_to_string(&cp_path) {
            Ok(text) => parse_checkpoints(&text)
                .map_err(|e| format!("{}: {e}", cp_path.display()))?
                .pop(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", cp_path.display())),
        };

        let slug = hedui_domain::department::slug(department);
        let (mut lines, mut head, mut head_at_cp) = (0u64, GENESIS, None);
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(&mut file);
        let mut buf = String::new();
        loop {
            buf.clear();
            let n = reader
                .read_line(&mut buf)
                .map_err(|e| format!("line {}: {e}", lines + 1))?;
            if n == 0 {
                break;
            }
            lines += 1;
            let text = buf.strip_suffix('\n').unwrap_or(&buf);
            let line: QueryLogLine = serde_json::from_str(text).map_err(|e| {
                format!(
                    "line {lines} is not a chained query log line ({e}); a log written before version hedui-adapter-log/1, or altered: keep it as evidence and start a new log file"
                )
            })?;
            if line.prev != hex::encode(head) {
                return Err(format!(
                    "line {lines}: the hash chain is broken, the log was altered; keep it as evidence and start a new log file"
                ));
            }
            if line.department != slug {
                return Err(format!(
                    "line {lines} is for department {:?}, this adapter serves {slug}",
                    line.department
                ));
            }
            head = line_hash(text);
            if last_cp.as_ref().is_some_and(|c| c.checkpoint.lines == lines) {
                head_at_cp = Some(head);
            }
        }
        let checkpointed = match &last_cp {
            None => 0,
            Some(c) if c.checkpoint.lines == 0 => 0,
            Some(c) if head_at_cp != Some(c.checkpoint.head) => {
                return Err(format!(
                    "the last signed checkpoint covers {} lines that are no longer as signed (the log has {lines}): lines were cut off or altered; keep it as evidence and start a new log file",
                    c.checkpoint.lines
                ));
            }
            Some(c) => c.checkpoint.lines,
        };
        drop(reader);
        file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
        let shared = Arc::new(LogShared {
            department: slug,
            state: Mutex::new(LogState {
                file,
                lines,
                head,
                checkpointed,
                broken: false,
            }),
            signer: key.map(|k| (k, cp_path)),
        });
        let (entries, waiting) = std::sync::mpsc::channel();
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("hedui-query-log".to_owned())
            .spawn(move || writer.write_groups(&waiting))
            .map_err(|e| format!("cannot start the query log's writer: {e}"))?;
        Ok(QueryLog { shared, entries })
    }

    /// Hands `e` to the writer and waits until its line is synced.
    async fn append(&self, e: LogEntry) -> std::io::Result<()> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.entries
            .send(PendingLine { entry: e, answer })
            .map_err(|_| writer_stopped())?;
        answered.await.unwrap_or_else(|_| Err(writer_stopped()))
    }

    fn checkpoint(&self) -> std::io::Result<Option<u64>> {
        self.shared.checkpoint()
    }
}

fn writer_stopped() -> std::io::Error {
    std::io::Error::other("the query log's writer has stopped")
}

impl LogShared {
    /// The writer thread: waits for an entry, takes every other one
    /// waiting, writes the group and answers each caller; until the log
    /// is dropped.
    fn write_groups(&self, waiting: &std::sync::mpsc::Receiver<PendingLine>) {
        while let Ok(first) = waiting.recv() {
            let mut group = vec![first];
            while group.len() < MAX_LOG_GROUP {
                match waiting.try_recv() {
                    Ok(p) => group.push(p),
                    Err(_) => break,
                }
            }
            let (entries, answers): (Vec<_>, Vec<_>) = group.into_iter().map(|p| (p.entry, p.answer)).unzip();
            let written = self.write_group(entries);
            for answer in answers {
                // The error is the group's; each caller gets its own copy.
                // A caller that went away needs no answer.
                let _ = answer.send(match &written {
                    Ok(()) => Ok(()),
                    Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                });
            }
        }
    }

    /// Chains `entries` in order after the current head, writes them with
    /// one `write_all` and syncs once. A failure marks the log broken:
    /// every later write fails (fail closed) until a restart trims a torn
    /// line.
    ///
    /// A crash in the middle of a group leaves at most a torn last line,
    /// which [`trim_torn_line`] cuts at the next start, and perhaps whole
    /// lines before it that were written but not synced. Those were never
    /// acknowledged, so no answer depends on them; keeping them is as
    /// before group commit, when a line written but not yet synced could
    /// also survive a crash. Each still carries the hash of the line before
    /// it, so the chain verifies either way.
    fn write_group(&self, entries: Vec<LogEntry>) -> std::io::Result<()> {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.broken {
            return Err(std::io::Error::other("an earlier write to the query log failed"));
        }
        let time = now();
        let (mut head, count) = (s.head, entries.len() as u64);
        let mut bytes = Vec::new();
        for e in entries {
            let line = QueryLogLine {
                prev: hex::encode(head),
                time: time.clone(),
                department: self.department.to_owned(),
                call: e.call.to_owned(),
                caller: e.caller,
                request_id: e.request_id,
                purpose: e.purpose,
                authorization_ref: e.authorization_ref,
                persons: e.persons,
                outcome: e.outcome.to_owned(),
                status: e.status.to_owned(),
                reason: e.reason,
            }
            .encode();
            head = line_hash(&line);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        let written = s.file.write_all(&bytes).and_then(|()| s.file.sync_data());
        if let Err(e) = written {
            s.broken = true;
            return Err(e);
        }
        s.lines += count;
        s.head = head;
        Ok(())
    }

    fn checkpoint(&self) -> std::io::Result<Option<u64>> {
        let Some((key, path)) = &self.signer else {
            return Ok(None);
        };
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.lines == s.checkpointed || s.broken {
            return Ok(None);
        }
        let signed = LogCheckpoint {
            department: self.department.to_owned(),
            lines: s.lines,
            head: s.head,
            time: now(),
        }
        .sign(key);
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let mut text = serde_json::to_string(&signed).map_err(std::io::Error::other)?;
        text.push('\n');
        f.write_all(text.as_bytes())?;
        f.sync_data()?;
        s.checkpointed = s.lines;
        Ok(Some(s.lines))
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Cuts a last line that has no newline: it was being written when the
/// adapter stopped, so it was never synced as a whole and nothing was
/// answered on it.
fn trim_torn_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    // Find the end of the last complete line, reading backwards in blocks.
    let mut end = len - 1;
    let mut block = vec![0u8; 4096];
    let keep = loop {
        let start = end.saturating_sub(block.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..n])?;
        if let Some(i) = block[..n].iter().rposition(|b| *b == b'\n') {
            break start + i as u64 + 1;
        }
        if start == 0 {
            break 0;
        }
        end = start;
    };
    tracing::warn!(bytes = len - keep, "trimming a torn last line from the query log");
    file.set_len(keep)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_audit::adapter_log::verify_query_log;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn entry(i: usize) -> LogEntry {
        LogEntry::without_request("Query", format!("hub:test-{i}"))
    }

    /// Many lines appended at once (so grouped) are all there, in one
    /// unbroken chain that a checkpoint covers, and the log reopens.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_all_land_in_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tax.jsonl");
        let log = Arc::new(QueryLog::open(&path, Department::Tax, Some(key())).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..600 {
            let log = log.clone();
            tasks.spawn(async move { log.append(entry(i)).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().expect("every append is acknowledged");
        }
        assert_eq!(log.checkpoint().unwrap(), Some(600));

        let text = std::fs::read_to_string(&path).unwrap();
        let cps = parse_checkpoints(&std::fs::read_to_string(checkpoint_path(&path)).unwrap()).unwrap();
        let v = verify_query_log(&text, &cps, &key().verifying_key());
        assert_eq!(v.problems, vec![]);
        assert_eq!(v.lines.len(), 600);
        assert_eq!(v.signed_lines, 600);
        let mut callers: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<QueryLogLine>(l).unwrap().caller)
            .collect();
        callers.sort();
        callers.dedup();
        assert_eq!(callers.len(), 600, "every caller's line is there once");

        drop(log);
        let reopened = QueryLog::open(&path, Department::Tax, Some(key())).unwrap();
        reopened.append(entry(600)).await.unwrap();
        assert_eq!(reopened.checkpoint().unwrap(), Some(601));
    }

    /// A group whose write fails: every caller waiting in it is told, and
    /// every later append fails too (fail closed); nothing is checkpointed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failed_group_write_fails_every_caller_and_every_later_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tax.jsonl");
        let log = Arc::new(QueryLog::open(&path, Department::Tax, Some(key())).unwrap());
        log.append(entry(0)).await.unwrap();

        // Hold the log while callers queue up, and swap its file for a
        // read-only handle so the next group's write fails.
        let mut tasks = tokio::task::JoinSet::new();
        {
            let mut s = log.shared.state.lock().unwrap();
            s.file = File::open(&path).unwrap();
            for i in 1..=50 {
                let log = log.clone();
                tasks.spawn(async move { log.append(entry(i)).await });
            }
            // Let every task hand its entry over before the writer resumes.
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut failed = 0;
        while let Some(done) = tasks.join_next().await {
            assert!(done.unwrap().is_err(), "no caller hears its line was written");
            failed += 1;
        }
        assert_eq!(failed, 50);
        let later = log.append(entry(51)).await.unwrap_err();
        assert!(later.to_string().contains("an earlier write"), "{later}");
        assert_eq!(log.checkpoint().unwrap(), None, "a broken log is not checkpointed");
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}
