//! `VerificationService`: thin handlers over the record pipeline.
//!
//! Each handler unpacks the request, calls an inner function returning
//! `Result<_, HubError>`, and maps the error to a status in one place.

use std::sync::Arc;

use chrono::{NaiveDate, SecondsFormat, Utc};
use hedui_domain::ValidationError;
use hedui_domain::ids::ResidentId;
use hedui_domain::merge::{RecordHeader, build_record};
use hedui_domain::policy::Policy;
use hedui_domain::window::parse_date;
use hedui_proto::v1::verification_service_server::VerificationService;
use hedui_proto::v1::{
    GetRecordHistoryRequest, GetRecordHistoryResponse, GetRecordRequest, GetRecordResponse, ListRecordsRequest,
    ListRecordsResponse, RecheckRecordRequest, RecheckRecordResponse, ReviewRecordRequest, ReviewRecordResponse,
    SubmitVerificationRequest, SubmitVerificationResponse, Verdict, VerificationRecord,
};
use hedui_store::audit::{ClaimTaken, RecordStored};
use hedui_store::{ListFilter, Store, StoreError};
use hedui_trust::authorization::check_covers;
use hedui_trust::submission;
use prost::Message as _;
use tonic::{Request, Response, Status};

pub use crate::codes::code_name;
pub use crate::error::HubError;

use crate::access::{self, Caller};
use crate::audit::{AuditLog, ItemLease};
use crate::fanout::{DepartmentClient, query_all};
use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_audit::source_query;
use hedui_domain::department::slug;
use hedui_proto::v1::{Department, Purpose, SourceOutcome};

use crate::limits::Priority;
use crate::stages::{self, Stage};

/// Most records one list call returns.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// Everything a request needs, shared by all handlers.
pub struct HubState {
    /// The record store.
    pub store: Store,
    /// The policy applied to new records.
    pub policy: Policy,
    /// One client per configured department.
    pub clients: Vec<DepartmentClient>,
    /// The key that signs every department's grant.
    pub grant_key: hedui_trust::SigningKey,
    /// The tamper-evident log of every call and every department query.
    pub audit: AuditLog,
    /// True when the hub runs with `--insecure-dev`: plaintext, nobody
    /// identified, every call allowed.
    pub insecure: bool,
    /// The hub's own TLS setup, whose revocation list every request is
    /// checked against (`None` with `--insecure-dev`).
    pub tls: Option<hedui_tls::ServerTls>,
    /// Prometheus metrics (see [`crate::metrics`]).
    pub metrics: crate::metrics::Metrics,
    /// Wakes the batch worker when a batch starts.
    pub batch_wakeup: tokio::sync::Notify,
    /// This hub's instance name, the prefix of its idempotency claims (see
    /// [`crate::claims`]).
    pub instance: String,
    /// The gate every fan-out passes; closed at shutdown (see [`crate::drain`]).
    pub drain: crate::drain::Drain,
    /// The one request limit in bytes (`OpsOptions::max_request_bytes`).
    pub max_request_bytes: usize,
}

/// Who runs a submission through the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// A caseworker's SubmitVerification: always ends with a record.
    Interactive,
    /// A batch household.
    Batch {
        /// Whether an outage postpones the record (attempts are left).
        defer_on_outage: bool,
        /// The item's lease: a record stored by this run marks the item
        /// `DONE` in the record's own transaction.
        lease: &'a ItemLease,
    },
}

/// How a run of the pipeline ended.
#[derive(Debug)]
pub enum Ran {
    /// A record, new or replayed.
    Stored {
        /// The record.
        record: Box<VerificationRecord>,
        /// True when it was stored by an earlier run with the same key.
        replayed: bool,
        /// In [`Mode::Batch`], whether the item was marked `DONE` (or found
        /// taken over by another lease) in the transaction that stored the
        /// record; when false the worker marks it itself.
        item_done: bool,
    },
    /// Departments did not answer; nothing was stored (batch only).
    Deferred {
        /// Those that timed out, were unavailable or answered in error.
        missing: Vec<Department>,
    },
}

/// The tonic service.
pub struct Verification {
    state: Arc<HubState>,
}

impl Verification {
    /// Wraps the shared state.
    pub fn new(state: Arc<HubState>) -> Self {
        Self { state }
    }
}

/// A new audit entry for `caller`; the caller fills in the rest.
pub fn audit_entry(caller: &Caller, action: &str, status: &str) -> AuditEntry {
    AuditEntry {
        seq: 0,
        time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        actor: caller.actor(),
        role: caller.role(),
        action: action.to_owned(),
        purpose: String::new(),
        request_id: String::new(),
        persons: Vec::new(),
        departments: Vec::new(),
        status: status.to_owned(),
        record_digest: String::new(),
        detail: String::new(),
    }
}

/// One `source.query` audit entry per department answer: who asked, for
/// what, about whom, and what came back in how long, or that the query was
/// not sent (see [`hedui_audit::source_query`]). Submits, batch households
/// and re-checks log their department queries the same way.
pub fn source_entries(
    caller: &Caller,
    purpose: &str,
    request_id: &str,
    persons: &[PersonRef],
    answers: &[hedui_domain::merge::SourceAnswer],
) -> Vec<AuditEntry> {
    answers
        .iter()
        .map(|a| {
            // A query given up at shutdown is logged as such, not as an outage.
            let abandoned = crate::fanout::is_abandoned(a);
            let status = match abandoned {
                true => "ABANDONED",
                false => a.outcome.as_str_name().trim_start_matches("SOURCE_OUTCOME_"),
            };
            let mut e = audit_entry(caller, source_query::ACTION, status);
            e.purpose = purpose.to_owned();
            e.request_id = request_id.to_owned();
            e.persons = persons.to_vec();
            e.departments = vec![slug(a.department).to_owned()];
            // A query that never left the hub is marked, so the
            // departments' service report does not count it as received.
            e.detail = match (a.sent, abandoned) {
                (false, _) => source_query::not_asked_detail(&a.detail),
                (true, true) => source_query::sent_detail(a.latency_ms, &a.detail),
                (true, false) => source_query::sent_detail(a.latency_ms, ""),
            };
            e
        })
        .collect()
}

/// The purpose slug of a stored record, as audit entries write it.
fn record_purpose_slug(record: &VerificationRecord) -> String {
    hedui_domain::purpose::purpose_slug(Purpose::try_from(record.purpose).unwrap_or_default()).to_owned()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The request limit, checked again on what the handler re-encodes (the
/// transport already refused a message over it, see `transport_audit`).
pub(crate) fn size_check(len: usize, limit: usize) -> Result<(), HubError> {
    if len > limit {
        return Err(ValidationError::one("request", format!("message is {len} bytes; the limit is {limit}")).into());
    }
    Ok(())
}

impl HubState {
    /// Verifies a household, or replays the record of an earlier call with
    /// the same idempotency key.
    pub async fn submit(
        &self,
        caller: &Caller,
        req: &SubmitVerificationRequest,
    ) -> Result<(VerificationRecord, bool), HubError> {
        match self.run_submission(caller, req, Mode::Interactive).await? {
            Ran::Stored { record, replayed, .. } => Ok((*record, replayed)),
            Ran::Deferred { .. } => unreachable!("an interactive submission is never deferred"),
        }
    }

    /// The record stored under `key` by an earlier or concurrent call, as
    /// this call's answer.
    async fn replay_key(&self, key: &str, hash: &str) -> Result<Ran, HubError> {
        let found = self
            .store
            .get_by_idempotency_key(key)
            .await?
            .ok_or_else(|| HubError::Store(hedui_store::missing_record_for_key()))?;
        replay_found(found, hash)
    }

    /// The one pipeline of SubmitVerification and of every batch household:
    /// validate, replay by idempotency key, check the authorization, log the
    /// intent, ask the departments, log what came back, build, store.
    ///
    /// In [`Mode::Batch`] with `defer_on_outage`, when a department did not
    /// answer (timeout, unavailable, error) no record is stored and the
    /// departments that failed are returned, so the item can be retried
    /// later; the last attempt stores whatever came back (fail closed: its
    /// verdict is never MEETS_CRITERIA with a required source missing).
    pub async fn run_submission(
        &self,
        caller: &Caller,
        req: &SubmitVerificationRequest,
        mode: Mode<'_>,
    ) -> Result<Ran, HubError> {
        let encoded = req.encode_to_vec();
        size_check(encoded.len(), self.max_request_bytes)?;
        let today = today();
        let (sub, auth) = submission::parse(req, today)?;
        let hash = hedui_store::request_hash(&encoded);
        stages::lap(Stage::Validate);
        if let Some(found) = self.store.get_by_idempotency_key(&sub.idempotency_key).await? {
            return replay_found(found, &hash);
        }
        stages::lap(Stage::Claim);
        // No query leaves the hub without an authorization that covers every
        // member for this purpose today.
        check_covers(&auth, &sub.household, sub.purpose, today).map_err(HubError::Unauthorized)?;
        stages::lap(Stage::Validate);
        let (action, priority) = match mode {
            Mode::Interactive => ("SubmitVerification", Priority::Interactive),
            Mode::Batch { .. } => ("batch.household", Priority::Batch),
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let record_id = uuid::Uuid::now_v7().to_string();
        stages::request_id(&request_id);
        tracing::Span::current().record("request_id", request_id.as_str());
        tracing::Span::current().record("record_id", record_id.as_str());
        let persons: Vec<_> = sub
            .household
            .members
            .iter()
            .map(|m| self.audit.person(m.id.as_str()))
            .collect();
        let purpose = hedui_domain::purpose::purpose_slug(sub.purpose).to_owned();
        let slugs: Vec<String> = self.clients.iter().map(|c| slug(c.department()).to_owned()).collect();
        // Fail closed: nothing is asked of any department unless the intent
        // to ask is on disk first.
        let begin = || {
            let mut begin = audit_entry(caller, "verification.begin", "STARTED");
            begin.purpose = purpose.clone();
            begin.request_id = request_id.clone();
            begin.persons = persons.clone();
            begin.departments = slugs.clone();
            begin.detail = match mode {
                Mode::Interactive => format!("authorization {}", sub.authorization_ref),
                Mode::Batch { .. } => format!("authorization {} ({})", sub.authorization_ref, sub.idempotency_key),
            };
            begin
        };
        // One verification per key, across hubs: an interactive call claims
        // its key in the same transaction as its intent entry (one durable
        // commit, shared with the group), before any department is asked. A
        // duplicate finds the key claimed, writes nothing, waits for the
        // first call's record and replays it. A batch household needs no
        // claim: its lease in the batch already gives it to one worker of
        // one hub.
        let (_fan_out, held) = match mode {
            Mode::Batch { .. } => {
                // No fan-out starts once the hub is draining; this one is
                // waited for.
                let fan_out = self.drain.enter()?;
                stages::lap(Stage::Validate);
                self.audit.append(vec![begin()]).await?;
                (fan_out, None)
            }
            Mode::Interactive => {
                let owner = crate::claims::new_owner(&self.instance);
                loop {
                    let fan_out = self.drain.enter()?;
                    stages::lap(Stage::Validate);
                    let claim = crate::claims::request(&sub.idempotency_key, &owner);
                    match self.audit.append_claiming(vec![begin()], claim).await?.1 {
                        ClaimTaken::Taken => {
                            let held = crate::claims::Claim::hold(&self.store, &sub.idempotency_key, &owner);
                            break (fan_out, Some(held));
                        }
                        ClaimTaken::Stored => return self.replay_key(&sub.idempotency_key, &hash).await,
                        ClaimTaken::HeldUntil(lapses_at) => {
                            // Not a fan-out while it only waits: a draining
                            // hub need not wait for it.
                            drop(fan_out);
                            if crate::claims::wait_for_record(&self.store, &sub.idempotency_key, lapses_at).await? {
                                return self.replay_key(&sub.idempotency_key, &hash).await;
                            }
                        }
                    }
                }
            }
        };
        stages::lap(Stage::Intent);
        let answers = query_all(&self.clients, priority, &request_id, &sub, &self.grant_key, today).await;
        stages::fanout_done();
        let abandoned = answers.iter().any(crate::fanout::is_abandoned);
        let mut entries = source_entries(caller, &purpose, &request_id, &persons, &answers);
        let missing: Vec<Department> = answers
            .iter()
            .filter(|a| {
                matches!(
                    a.outcome,
                    SourceOutcome::Timeout | SourceOutcome::Unavailable | SourceOutcome::Error
                )
            })
            .map(|a| a.department)
            .collect();
        if (abandoned
            || matches!(
                mode,
                Mode::Batch {
                    defer_on_outage: true,
                    ..
                }
            ))
            && !missing.is_empty()
        {
            let mut e = audit_entry(caller, action, if abandoned { "ABANDONED" } else { "DEFERRED" });
            e.purpose = purpose;
            e.request_id = request_id;
            e.persons = persons;
            e.departments = missing.iter().map(|d| slug(*d).to_owned()).collect();
            e.detail = format!("{}: no record yet, will ask again", sub.idempotency_key);
            if abandoned {
                e.detail = format!("{}: abandoned at shutdown, no record", sub.idempotency_key);
            }
            entries.push(e);
            self.audit.append(entries).await?;
            if abandoned && mode == Mode::Interactive {
                return Err(crate::drain::Draining.into());
            }
            return Ok(Ran::Deferred { missing });
        }
        let header = RecordHeader {
            record_id,
            request_id,
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let mut record = build_record(header, &sub, req.authorization.clone(), answers, &self.policy);
        hedui_trust::seal::seal(&mut record, &self.grant_key);
        let mut done = audit_entry(caller, action, "OK");
        done.purpose = purpose;
        done.request_id = record.request_id.clone();
        done.persons = persons;
        done.departments = slugs;
        done.record_digest = record.digest.clone();
        done.detail = format!(
            "record {} verdict {}",
            record.record_id,
            Verdict::try_from(record.verdict).unwrap_or_default().as_str_name()
        );
        if let Mode::Batch { .. } = mode {
            done.detail.push_str(&format!(" ({})", sub.idempotency_key));
        }
        // The answer is given only once the log holds what was asked and
        // what came back; the record is stored in the same transaction as
        // those entries (one durable commit, shared with the group), so
        // neither exists without the other.
        let source_count = entries.len();
        entries.push(done);
        // A batch household's item ends in the same transaction too: no
        // durable commit of its own after the record's.
        let batch_item = match mode {
            Mode::Batch { lease, .. } => Some(crate::audit::ItemEnd {
                lease: lease.clone(),
                outcome: hedui_store::batch::ItemOutcome::of_record(&record),
                now: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            }),
            Mode::Interactive => None,
        };
        let write = crate::audit::RecordWrite {
            record,
            idempotency_key: sub.idempotency_key.clone(),
            request_hash: hash.clone(),
            batch_item,
        };
        let verdict = Verdict::try_from(write.record.verdict)
            .unwrap_or_default()
            .as_str_name();
        let record = write.record.clone();
        stages::lap(Stage::After);
        let (_, stored) = self.audit.append_with_record(entries.clone(), write).await?;
        stages::lap(Stage::Result);
        if stored == RecordStored::Inserted {
            if let Some(claim) = held {
                claim.settled();
            }
            tracing::debug!(verdict, "record stored");
            return Ok(Ran::Stored {
                record: Box::new(record),
                replayed: false,
                item_done: matches!(mode, Mode::Batch { .. }),
            });
        }
        // Another call with the same key finished first; its record wins.
        // Nothing of ours was written: log the queries that were made, and
        // that the caller gets the earlier record, never the one not stored.
        let (earlier, request_hash) = self
            .store
            .get_by_idempotency_key(&sub.idempotency_key)
            .await?
            .ok_or_else(|| {
                HubError::Store(StoreError::Corrupt {
                    record_id: String::new(),
                    problem: "idempotency key conflicts but no record holds it".into(),
                })
            })?;
        entries.truncate(source_count);
        let mut lost = audit_entry(caller, action, "OK");
        lost.purpose = record_purpose_slug(&earlier);
        lost.request_id = earlier.request_id.clone();
        lost.persons = entries.first().map(|e| e.persons.clone()).unwrap_or_default();
        lost.record_digest = earlier.digest.clone();
        lost.detail = format!(
            "replayed record {}: a concurrent call with the same idempotency key stored it first",
            earlier.record_id
        );
        entries.push(lost);
        self.audit.append(entries).await?;
        replay_found((earlier, request_hash), &hash)
    }

    /// One stored record.
    pub async fn get(&self, caller: &Caller, req: &GetRecordRequest) -> Result<VerificationRecord, HubError> {
        let id = uuid::Uuid::parse_str(&req.record_id)
            .map_err(|_| ValidationError::one("record_id", "must be a UUID"))?
            .to_string();
        let record = self.store.get_record(&id).await?.ok_or(HubError::NotFound(id))?;
        let mut e = audit_entry(caller, "GetRecord", "OK");
        e.persons = record
            .household
            .iter()
            .flat_map(|h| &h.members)
            .map(|m| self.audit.person(&m.id_number))
            .collect();
        e.purpose =
            hedui_domain::purpose::purpose_slug(Purpose::try_from(record.purpose).unwrap_or_default()).to_owned();
        e.request_id = record.request_id.clone();
        e.record_digest = record.digest.clone();
        e.detail = format!("record {}", record.record_id);
        self.audit.append(vec![e]).await?;
        Ok(record)
    }

    /// Record summaries matching the filters.
    pub async fn list(&self, caller: &Caller, req: &ListRecordsRequest) -> Result<ListRecordsResponse, HubError> {
        let mut filter = list_filter(req, today())?;
        // One more than asked tells whether a next page exists.
        let limit = filter.limit;
        filter.limit = limit + 1;
        let mut records = self.store.list_records(&filter).await?;
        let more = records.len() > limit as usize;
        records.truncate(limit as usize);
        let next_page_token = match (more, records.last()) {
            (true, Some(last)) => page_token(last),
            _ => String::new(),
        };
        let mut e = audit_entry(caller, "ListRecords", "OK");
        e.persons = filter.id_number.iter().map(|id| self.audit.person(id)).collect();
        e.detail = format!("{} record(s)", records.len());
        self.audit.append(vec![e]).await?;
        Ok(ListRecordsResponse {
            records,
            next_page_token,
        })
    }

    /// Logs a call that ended in an error. When even that cannot be written
    /// the caller gets UNAVAILABLE instead of the original error.
    pub async fn log_failure(
        &self,
        caller: &Caller,
        action: &str,
        persons: Vec<PersonRef>,
        status: &Status,
        detail: String,
    ) -> Option<Status> {
        let mut e = audit_entry(caller, action, code_name(status.code()));
        e.persons = persons;
        e.detail = detail;
        match self.audit.append(vec![e]).await {
            Ok(_) => None,
            Err(err) => Some(HubError::Audit(err).into()),
        }
    }
}

fn replay(record: VerificationRecord, earlier_hash: &str, hash: &str) -> Result<(VerificationRecord, bool), HubError> {
    if earlier_hash != hash {
        return Err(ValidationError::one(
            "idempotency_key",
            "was already used for a different request; use a new key for a new verification",
        )
        .into());
    }
    Ok((record, true))
}

/// The record found under a call's key (with the hash of the request that
/// stored it) as that call's answer: replayed if the requests match.
fn replay_found((record, earlier_hash): (VerificationRecord, String), hash: &str) -> Result<Ran, HubError> {
    let (record, replayed) = replay(record, &earlier_hash, hash)?;
    Ok(Ran::Stored {
        record: Box::new(record),
        replayed,
        item_done: false,
    })
}

fn list_filter(req: &ListRecordsRequest, today: NaiveDate) -> Result<ListFilter, HubError> {
    let mut v = Vec::new();
    let verdict = match Verdict::try_from(req.verdict) {
        Ok(Verdict::Unspecified) => None,
        Ok(x) => Some(x),
        Err(_) => {
            v.push(hedui_domain::FieldViolation::new(
                "verdict",
                format!("unknown value {}", req.verdict),
            ));
            None
        }
    };
    let mut date = |s: &str, field: &str| -> Option<NaiveDate> {
        if s.is_empty() {
            return None;
        }
        parse_date(s)
            .map_err(|e| v.push(hedui_domain::FieldViolation::new(field, e)))
            .ok()
    };
    let created_from = date(&req.created_from, "created_from");
    let created_to = date(&req.created_to, "created_to");
    if let (Some(f), Some(t)) = (created_from, created_to)
        && t < f
    {
        v.push(hedui_domain::FieldViolation::new(
            "created_to",
            "is before created_from",
        ));
    }
    let id_number = if req.id_number.is_empty() {
        None
    } else {
        match ResidentId::parse(&req.id_number, today) {
            Ok(id) => Some(id.as_str().to_owned()),
            Err(e) => {
                v.push(hedui_domain::FieldViolation::new("id_number", e.to_string()));
                None
            }
        }
    };
    if req.limit > MAX_LIST_LIMIT {
        v.push(hedui_domain::FieldViolation::new(
            "limit",
            format!("{} is more than {MAX_LIST_LIMIT}", req.limit),
        ));
    }
    let purpose = match Purpose::try_from(req.purpose) {
        Ok(Purpose::Unspecified) => None,
        Ok(p) => Some(p),
        Err(_) => {
            v.push(hedui_domain::FieldViolation::new(
                "purpose",
                format!("unknown value {}", req.purpose),
            ));
            None
        }
    };
    let household_ref = if req.household_ref.is_empty() {
        None
    } else if req.household_ref.chars().count() > 64 || req.household_ref.chars().any(char::is_control) {
        v.push(hedui_domain::FieldViolation::new(
            "household_ref",
            "must be 1 to 64 printable characters",
        ));
        None
    } else {
        Some(req.household_ref.clone())
    };
    let after = if req.page_token.is_empty() {
        None
    } else {
        match parse_page_token(&req.page_token) {
            Some(t) => Some(t),
            None => {
                v.push(hedui_domain::FieldViolation::new(
                    "page_token",
                    "is not a token this hub gave; start from the first page",
                ));
                None
            }
        }
    };
    ValidationError::check(v)?;
    Ok(ListFilter {
        verdict,
        created_from,
        created_to,
        id_number,
        limit: if req.limit == 0 { 100 } else { req.limit },
        latest_only: req.latest_only,
        purpose,
        household_ref,
        after,
    })
}

/// The token of the page after a list ending with `last`: its creation
/// time and id, which the next page starts after.
fn page_token(last: &hedui_proto::v1::RecordSummary) -> String {
    format!("{}|{}", last.created_at, last.record_id)
}

/// A token made by [`page_token`]: an RFC 3339 time and a UUID.
fn parse_page_token(token: &str) -> Option<(String, String)> {
    let (created, id) = token.split_once('|')?;
    chrono::DateTime::parse_from_rfc3339(created).ok()?;
    let id = uuid::Uuid::parse_str(id).ok()?;
    Some((created.to_owned(), id.to_string()))
}

/// Logs a finished call at a level chosen by its status: client errors at
/// INFO, server errors at ERROR.
fn log_status<T>(metrics: &crate::metrics::Metrics, rpc: &'static str, result: &Result<T, Status>) {
    metrics.rpc(rpc, result.as_ref().map_or_else(|s| s.code(), |_| tonic::Code::Ok));
    match result {
        Ok(_) => tracing::info!(rpc, code = "OK", "call finished"),
        Err(s) => match s.code() {
            tonic::Code::Internal | tonic::Code::DataLoss | tonic::Code::Unknown | tonic::Code::Unavailable => {
                tracing::error!(rpc, code = ?s.code(), "call failed")
            }
            _ => tracing::info!(rpc, code = ?s.code(), "call rejected"),
        },
    }
}

/// The audit references of the persons in a submission, as far as they can
/// be read from the raw request (used when the request is refused).
fn submitted_persons(state: &HubState, req: &SubmitVerificationRequest) -> Vec<PersonRef> {
    req.household
        .iter()
        .flat_map(|h| &h.members)
        .map(|m| state.audit.person(&m.id_number))
        .collect()
}

impl Verification {
    /// Logs a refused call in the audit log and returns the status to send.
    async fn refuse(&self, caller: &Caller, action: &str, persons: Vec<PersonRef>, status: Status) -> Status {
        self.state
            .log_failure(caller, action, persons, &status, String::new())
            .await
            .unwrap_or(status)
    }

    /// Logs a call that ended in `e`, with why (field paths only), and
    /// returns the status to send.
    async fn refuse_with(&self, caller: &Caller, action: &str, persons: Vec<PersonRef>, e: HubError) -> Status {
        let detail = e.audit_detail();
        let status = Status::from(e);
        self.state
            .log_failure(caller, action, persons, &status, detail)
            .await
            .unwrap_or(status)
    }

    /// Authorizes, and logs a denial.
    async fn admit<T>(
        &self,
        req: &Request<T>,
        method: &str,
        persons: impl FnOnce() -> Vec<PersonRef>,
    ) -> Result<Caller, Status> {
        match access::authorize(req, method, self.state.insecure, self.state.tls.as_ref()) {
            Ok(c) => Ok(c),
            Err((caller, status)) => {
                tracing::info!(role = caller.role(), method, code = ?status.code(), "call denied");
                let action = method.rsplit('/').next().unwrap_or(method).to_owned();
                self.state.metrics.rpc(&action, status.code());
                Err(self.refuse(&caller, &action, persons(), status).await)
            }
        }
    }
}

#[tonic::async_trait]
impl VerificationService for Verification {
    #[tracing::instrument(skip_all, fields(rpc = "SubmitVerification", request_id, record_id))]
    async fn submit_verification(
        &self,
        request: Request<SubmitVerificationRequest>,
    ) -> Result<Response<SubmitVerificationResponse>, Status> {
        // Off unless `hedui bench` turned the stage clocks on.
        let clock = stages::clock_of(&request);
        if let Some(c) = &clock {
            c.lap(Stage::Receive);
        }
        let persons = || submitted_persons(&self.state, request.get_ref());
        let caller = self
            .admit(&request, "/hedui.v1.VerificationService/SubmitVerification", persons)
            .await?;
        if let Some(c) = &clock {
            c.lap(Stage::Validate);
        }
        let result = match stages::scope(clock, self.state.submit(&caller, request.get_ref())).await {
            Ok((record, true)) => {
                // A replay queries nobody, but reading the record is logged.
                let mut e = audit_entry(&caller, "SubmitVerification", "OK");
                e.persons = persons();
                e.request_id = record.request_id.clone();
                e.record_digest = record.digest.clone();
                e.detail = format!("replayed record {}", record.record_id);
                match self.state.audit.append(vec![e]).await {
                    Ok(_) => Ok(Response::new(SubmitVerificationResponse {
                        record: Some(record),
                        replayed: true,
                    })),
                    Err(err) => Err(Status::from(HubError::Audit(err))),
                }
            }
            Ok((record, false)) => Ok(Response::new(SubmitVerificationResponse {
                record: Some(record),
                replayed: false,
            })),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(&caller, "SubmitVerification", persons(), e).await),
        };
        log_status(&self.state.metrics, "SubmitVerification", &result);
        result
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetRecord"))]
    async fn get_record(&self, request: Request<GetRecordRequest>) -> Result<Response<GetRecordResponse>, Status> {
        let caller = self
            .admit(&request, "/hedui.v1.VerificationService/GetRecord", Vec::new)
            .await?;
        let result = match self.state.get(&caller, request.get_ref()).await {
            Ok(record) => Ok(Response::new(GetRecordResponse { record: Some(record) })),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(&caller, "GetRecord", Vec::new(), e).await),
        };
        log_status(&self.state.metrics, "GetRecord", &result);
        result
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListRecords"))]
    async fn list_records(
        &self,
        request: Request<ListRecordsRequest>,
    ) -> Result<Response<ListRecordsResponse>, Status> {
        let persons = || {
            let id = &request.get_ref().id_number;
            if id.is_empty() {
                Vec::new()
            } else {
                vec![self.state.audit.person(id)]
            }
        };
        let caller = self
            .admit(&request, "/hedui.v1.VerificationService/ListRecords", persons)
            .await?;
        let result = match self.state.list(&caller, request.get_ref()).await {
            Ok(r) => Ok(Response::new(r)),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(&caller, "ListRecords", persons(), e).await),
        };
        log_status(&self.state.metrics, "ListRecords", &result);
        result
    }

    #[tracing::instrument(skip_all, fields(rpc = "ReviewRecord"))]
    async fn review_record(
        &self,
        request: Request<ReviewRecordRequest>,
    ) -> Result<Response<ReviewRecordResponse>, Status> {
        let caller = self
            .admit(&request, "/hedui.v1.VerificationService/ReviewRecord", Vec::new)
            .await?;
        let result = match self.state.review(&caller, request.get_ref()).await {
            Ok(review) => Ok(Response::new(ReviewRecordResponse { review: Some(review) })),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(&caller, "ReviewRecord", Vec::new(), e).await),
        };
        log_status(&self.state.metrics, "ReviewRecord", &result);
        result
    }

    #[tracing::instrument(skip_all, fields(rpc = "RecheckRecord", request_id, record_id))]
    async fn recheck_record(
        &self,
        request: Request<RecheckRecordRequest>,
    ) -> Result<Response<RecheckRecordResponse>, Status> {
        let caller = self
            .admit(&request, "/hedui.v1.VerificationService/RecheckRecord", Vec::new)
            .await?;
        let result = match self.state.recheck(&caller, request.get_ref()).await {
            Ok(r) if r.replayed => {
                // A replay queries nobody, but reading the record is logged.
                let mut e = audit_entry(&caller, "RecheckRecord", "OK");
                if let Some(record) = &r.record {
                    e.request_id = record.request_id.clone();
                    e.record_digest = record.digest.clone();
                    e.detail = format!("replayed record {}", record.record_id);
                }
                match self.state.audit.append(vec![e]).await {
                    Ok(_) => Ok(Response::new(r)),
                    Err(err) => Err(Status::from(HubError::Audit(err))),
                }
            }
            Ok(r) => Ok(Response::new(r)),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(&caller, "RecheckRecord", Vec::new(), e).await),
        };
        log_status(&self.state.metrics, "RecheckRecord", &result);
        result
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetRecordHistory"))]
    async fn get_record_history(
        &self,
        request: Request<GetRecordHistoryRequest>,
    ) -> Result<Response<GetRecordHistoryResponse>, Status> {
        let caller = self
            .admit(&request, "/hedui.v1.VerificationService/GetRecordHistory", Vec::new)
            .await?;
        let result = match self.state.history(&caller, request.get_ref()).await {
            Ok(r) => Ok(Response::new(r)),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(&caller, "GetRecordHistory", Vec::new(), e).await),
        };
        log_status(&self.state.metrics, "GetRecordHistory", &result);
        result
    }
}
