//! `BatchService`: durable re-checks of a whole roll.
//!
//! The handlers only validate and write to the store; households are run
//! by the worker (`batch_worker`). A household is validated here exactly as
//! SubmitVerification validates it (`parse_submission` and `check_covers`),
//! so a started batch holds only households the hub would accept one by
//! one. Every call, allowed or refused, is written to the audit log.

use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use hedui_domain::{FieldViolation, ValidationError};
use hedui_proto::v1::batch_service_server::BatchService;
use hedui_proto::v1::{
    AddBatchHouseholdsRequest, AddBatchHouseholdsResponse, Batch, BatchResult, BatchState as PbState,
    CancelBatchRequest, CancelBatchResponse, CreateBatchRequest, CreateBatchResponse, GetBatchRequest,
    GetBatchResponse, IncomeWindow, ListBatchesRequest, ListBatchesResponse, Purpose, StartBatchRequest,
    StartBatchResponse, StreamBatchResultsRequest, SubmitVerificationRequest,
};
use hedui_store::batch::{BatchInfo, BatchState, NewBatch, NewItem, Transition};
use prost::Message as _;
use tonic::{Request, Response, Status};

use crate::access::{self, Caller};
use crate::service::{HubError, HubState, audit_entry};
use hedui_trust::authorization::check_covers;

/// Most households in one AddBatchHouseholds call.
pub const MAX_ITEMS_PER_CALL: usize = 500;
/// Largest AddBatchHouseholds message.
pub const MAX_ADD_BYTES: usize = 4 * 1024 * 1024;
/// Most batches one list call returns.
pub const MAX_LIST_BATCHES: u32 = 500;
/// Results read from the store per page while streaming.
const RESULTS_PAGE: i64 = 200;

/// The tonic service.
pub struct BatchApi {
    state: Arc<HubState>,
}

impl BatchApi {
    /// Wraps the shared state.
    pub fn new(state: Arc<HubState>) -> Self {
        Self { state }
    }

    async fn admit<T>(&self, req: &Request<T>, rpc: &str) -> Result<Caller, Status> {
        let method = format!("/hedui.v1.BatchService/{rpc}");
        match access::authorize(req, &method, self.state.insecure, self.state.tls.as_ref()) {
            Ok(c) => Ok(c),
            Err((caller, status)) => {
                tracing::info!(role = caller.role(), rpc, code = ?status.code(), "call denied");
                Err(self.refuse(&caller, rpc, status).await)
            }
        }
    }

    async fn refuse(&self, caller: &Caller, rpc: &str, status: Status) -> Status {
        self.state
            .log_failure(caller, rpc, Vec::new(), &status, String::new())
            .await
            .unwrap_or(status)
    }

    /// Logs a call that ended in `e`, with why (field paths only).
    async fn refuse_with(&self, caller: &Caller, rpc: &str, e: HubError) -> Status {
        let detail = e.audit_detail();
        let status = Status::from(e);
        self.state
            .log_failure(caller, rpc, Vec::new(), &status, detail)
            .await
            .unwrap_or(status)
    }

    /// Maps an inner result to the answer, logging a failure.
    async fn finish<T>(&self, caller: &Caller, rpc: &str, r: Result<T, HubError>) -> Result<Response<T>, Status> {
        match r {
            Ok(v) => Ok(Response::new(v)),
            Err(e @ HubError::Audit(_)) => Err(Status::from(e)),
            Err(e) => Err(self.refuse_with(caller, rpc, e).await),
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn batch_id(s: &str) -> Result<String, HubError> {
    Ok(uuid::Uuid::parse_str(s)
        .map_err(|_| ValidationError::one("batch_id", "must be a UUID"))?
        .to_string())
}

/// The caller as stored on a batch: role, name, certificate serial.
fn creator(caller: &Caller) -> (String, String, String) {
    match caller {
        Caller::Certified(id) => (id.role.as_string(), id.name.clone(), id.serial.clone()),
        Caller::InsecureDev => ("insecure-dev".into(), "unidentified".into(), String::new()),
        // Never admitted to create a batch; named as the log names it.
        Caller::Unidentified(c) => (
            "unidentified".into(),
            "unidentified".into(),
            c.as_ref().map(|c| c.serial.clone()).unwrap_or_default(),
        ),
    }
}

/// A batch belongs to its creator: only they may add to it, start it or
/// cancel it; with `admin_may`, an admin may too (to cancel a batch whose
/// creator is away). Anyone else gets PERMISSION_DENIED.
fn may_change(caller: &Caller, id: &str, b: &NewBatch, admin_may: bool, what: &'static str) -> Result<(), HubError> {
    let (role, name, _) = creator(caller);
    let admin = matches!(caller, Caller::Certified(p) if p.role == hedui_tls::Role::Admin);
    if (role == b.created_by_role && name == b.created_by_name) || (admin_may && admin) {
        return Ok(());
    }
    Err(HubError::NotOwner {
        batch_id: id.to_owned(),
        owner: format!("{}:{}", b.created_by_role, b.created_by_name),
        what,
    })
}

/// The creator of a batch as the caller of its households' pipeline runs,
/// so the audit log names the caseworker who started the batch.
pub fn creator_caller(b: &NewBatch) -> Caller {
    match hedui_tls::Role::parse(&b.created_by_role) {
        Ok(role) => Caller::Certified(hedui_tls::PeerIdentity {
            role,
            name: b.created_by_name.clone(),
            serial: b.created_by_serial.clone(),
            not_after: String::new(),
        }),
        Err(_) => Caller::InsecureDev,
    }
}

fn pb_state(s: BatchState) -> PbState {
    match s {
        BatchState::Draft => PbState::Draft,
        BatchState::Running => PbState::Running,
        BatchState::Done => PbState::Done,
        BatchState::Cancelled => PbState::Cancelled,
    }
}

/// A batch as the API shows it.
pub fn to_proto(b: &BatchInfo) -> Batch {
    let count = |v: &str| b.verdicts.iter().find(|(k, _)| k == v).map_or(0, |(_, n)| *n as u32);
    let rate_per_s = match b
        .started_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    {
        Some(start) => {
            let end = b
                .finished_at
                .as_deref()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            let secs = (end - start.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0;
            if secs > 0.0 { b.done as f64 / secs } else { 0.0 }
        }
        None => 0.0,
    };
    Batch {
        batch_id: b.batch_id.clone(),
        label: b.label.clone(),
        state: pb_state(b.state) as i32,
        purpose: Purpose::from_str_name(&b.purpose).unwrap_or_default() as i32,
        income_window: Some(IncomeWindow {
            from_month: b.window_from.clone(),
            to_month: b.window_to.clone(),
        }),
        asset_reference_date: b.asset_date.clone(),
        created_by: format!("{}:{}", b.created_by_role, b.created_by_name),
        created_at: b.created_at.clone(),
        started_at: b.started_at.clone().unwrap_or_default(),
        finished_at: b.finished_at.clone().unwrap_or_default(),
        total: b.total as u32,
        pending: b.pending as u32,
        running: b.running as u32,
        done: b.done as u32,
        meets_criteria: count("VERDICT_MEETS_CRITERIA"),
        does_not_meet: count("VERDICT_DOES_NOT_MEET"),
        needs_review: count("VERDICT_NEEDS_REVIEW"),
        incomplete: count("VERDICT_INCOMPLETE"),
        failed: count("NONE"),
        flagged: b.flagged as u32,
        retried: b.retried as u32,
        rate_per_s,
    }
}

fn transition_error(batch_id: &str, t: Transition, what: &str) -> HubError {
    match t {
        Transition::NotFound => HubError::BatchNotFound(batch_id.to_owned()),
        Transition::WrongState(s) => HubError::precondition(format!("batch {batch_id} is {}; {what}", s.as_str()), []),
        Transition::Empty => HubError::precondition(
            format!("batch {batch_id} has no households; add some before starting it"),
            [],
        ),
        Transition::Changed => unreachable!("not an error"),
    }
}

impl HubState {
    async fn batch_info(&self, id: &str) -> Result<BatchInfo, HubError> {
        self.store
            .get_batch(id)
            .await?
            .ok_or_else(|| HubError::BatchNotFound(id.to_owned()))
    }

    /// Creates a draft batch.
    pub async fn create_batch(&self, caller: &Caller, req: &CreateBatchRequest) -> Result<Batch, HubError> {
        // The batch's purpose, window and date are checked exactly as a
        // submission's: a request with no household is parsed and only the
        // violations about these fields are kept.
        let probe = SubmitVerificationRequest {
            purpose: req.purpose,
            income_window: req.income_window.clone(),
            asset_reference_date: req.asset_reference_date.clone(),
            ..Default::default()
        };
        let mut v: Vec<FieldViolation> = match hedui_domain::request::ValidatedSubmission::parse(&probe, today()) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .violations
                .into_iter()
                .filter(|v| {
                    ["purpose", "income_window", "asset_reference_date"]
                        .iter()
                        .any(|f| v.field.starts_with(f))
                })
                .collect(),
        };
        if req.label.chars().count() > 200 {
            v.push(FieldViolation::new("label", "is longer than 200 characters"));
        }
        if req.label.chars().any(char::is_control) {
            v.push(FieldViolation::new("label", "contains a control character"));
        }
        ValidationError::check(v)?;
        let window = req.income_window.clone().unwrap_or_default();
        let (role, name, serial) = creator(caller);
        let b = NewBatch {
            batch_id: uuid::Uuid::now_v7().to_string(),
            label: req.label.clone(),
            purpose: Purpose::try_from(req.purpose)
                .unwrap_or_default()
                .as_str_name()
                .to_owned(),
            window_from: window.from_month,
            window_to: window.to_month,
            asset_date: req.asset_reference_date.clone(),
            created_by_role: role,
            created_by_name: name,
            created_by_serial: serial,
            created_at: now(),
        };
        self.store.create_batch(&b).await?;
        let mut e = audit_entry(caller, "CreateBatch", "OK");
        e.purpose = hedui_domain::purpose::purpose_slug(Purpose::try_from(req.purpose).unwrap_or_default()).to_owned();
        e.detail = format!("batch {}", b.batch_id);
        self.audit.append(vec![e]).await?;
        Ok(to_proto(&self.batch_info(&b.batch_id).await?))
    }

    /// Adds households to a draft: all of them, or none when one is invalid.
    pub async fn add_batch_households(
        &self,
        caller: &Caller,
        req: &AddBatchHouseholdsRequest,
    ) -> Result<AddBatchHouseholdsResponse, HubError> {
        let size = req.encoded_len();
        if size > MAX_ADD_BYTES {
            return Err(ValidationError::one(
                "request",
                format!("message is {size} bytes; the limit is {MAX_ADD_BYTES}"),
            )
            .into());
        }
        let id = batch_id(&req.batch_id)?;
        if req.items.is_empty() || req.items.len() > MAX_ITEMS_PER_CALL {
            return Err(ValidationError::one(
                "items",
                format!(
                    "must hold 1 to {MAX_ITEMS_PER_CALL} households, not {}",
                    req.items.len()
                ),
            )
            .into());
        }
        let (batch, state) = self
            .store
            .get_batch_header(&id)
            .await?
            .ok_or_else(|| HubError::BatchNotFound(id.to_owned()))?;
        may_change(caller, &id, &batch, false, "only its creator may add households to it")?;
        if state != BatchState::Draft {
            return Err(transition_error(
                &id,
                Transition::WrongState(state),
                "only a draft takes households",
            ));
        }
        let today = today();
        let purpose = Purpose::from_str_name(&batch.purpose).unwrap_or_default();
        let mut violations = Vec::new();
        // Households whose authorization does not cover them: the same
        // FAILED_PRECONDITION as SubmitVerification gives, once every
        // household is valid.
        let mut gaps: Vec<(String, String, String)> = Vec::new();
        let mut items = Vec::with_capacity(req.items.len());
        for (i, item) in req.items.iter().enumerate() {
            let sub_req = SubmitVerificationRequest {
                // Set from the item's seq when it runs; a placeholder of the
                // same shape while it is checked.
                idempotency_key: hedui_store::batch::item_key(&id, 0),
                household: item.household.clone(),
                purpose: purpose as i32,
                income_window: Some(IncomeWindow {
                    from_month: batch.window_from.clone(),
                    to_month: batch.window_to.clone(),
                }),
                asset_reference_date: batch.asset_date.clone(),
                authorization_ref: item.authorization_ref.clone(),
                authorization: item.authorization.clone(),
            };
            let prefix = format!("items[{i}]");
            if item.row == 0 {
                violations.push(FieldViolation::new(
                    format!("{prefix}.row"),
                    "must be the row number, from 1",
                ));
            }
            let encoded_len = sub_req.encoded_len();
            if encoded_len > self.max_request_bytes {
                violations.push(FieldViolation::new(
                    prefix,
                    format!(
                        "household is {encoded_len} bytes; the limit is {}",
                        self.max_request_bytes
                    ),
                ));
                continue;
            }
            match hedui_trust::submission::parse(&sub_req, today) {
                Ok((sub, auth)) => match check_covers(&auth, &sub.household, sub.purpose, today) {
                    Ok(()) => {
                        let mut stored = sub_req;
                        stored.idempotency_key = String::new();
                        items.push(NewItem {
                            first_row: i64::from(item.row),
                            household_ref: sub.household.household_ref.clone(),
                            request: stored.encode_to_vec(),
                        });
                    }
                    Err(problems) => gaps.extend(problems.into_iter().map(|p| {
                        let subject = p
                            .member_index
                            .map(|m| format!("household.members[{m}]"))
                            .unwrap_or_else(|| p.field.clone());
                        ("AUTHORIZATION".to_owned(), format!("{prefix}.{subject}"), p.reason)
                    })),
                },
                Err(e) => violations.extend(
                    e.violations
                        .into_iter()
                        .map(|v| FieldViolation::new(format!("{prefix}.{}", v.field), v.description)),
                ),
            }
        }
        ValidationError::check(violations)?;
        if !gaps.is_empty() {
            return Err(HubError::Precondition {
                message: "the authorization (授权书) does not cover households of this call; none was added".into(),
                violations: gaps,
            });
        }
        let total = match self.store.add_batch_items(&id, &items).await? {
            Ok(total) => total,
            Err(t) => return Err(transition_error(&id, t, "only a draft takes households")),
        };
        let mut e = audit_entry(caller, "AddBatchHouseholds", "OK");
        e.purpose = hedui_domain::purpose::purpose_slug(purpose).to_owned();
        let rows: Vec<u32> = req.items.iter().map(|i| i.row).collect();
        e.detail = format!(
            "batch {id}: {} household(s), rows {}-{}, {total} in all",
            items.len(),
            rows.iter().min().unwrap_or(&0),
            rows.iter().max().unwrap_or(&0)
        );
        self.audit.append(vec![e]).await?;
        Ok(AddBatchHouseholdsResponse {
            added: items.len() as u32,
            total: total as u32,
        })
    }

    /// Starts a draft.
    pub async fn start_batch(&self, caller: &Caller, req: &StartBatchRequest) -> Result<Batch, HubError> {
        let id = batch_id(&req.batch_id)?;
        let (batch, _) = self
            .store
            .get_batch_header(&id)
            .await?
            .ok_or_else(|| HubError::BatchNotFound(id.clone()))?;
        may_change(caller, &id, &batch, false, "only its creator may start it")?;
        match self.store.start_batch(&id, &now()).await? {
            Transition::Changed => {}
            t => return Err(transition_error(&id, t, "only a draft can be started")),
        }
        let info = self.batch_info(&id).await?;
        let mut e = audit_entry(caller, "StartBatch", "OK");
        e.detail = format!("batch {id}: {} household(s)", info.total);
        self.audit.append(vec![e]).await?;
        self.batch_wakeup.notify_one();
        Ok(to_proto(&info))
    }

    /// Cancels a draft or running batch.
    pub async fn cancel_batch(&self, caller: &Caller, req: &CancelBatchRequest) -> Result<Batch, HubError> {
        let id = batch_id(&req.batch_id)?;
        let (batch, _) = self
            .store
            .get_batch_header(&id)
            .await?
            .ok_or_else(|| HubError::BatchNotFound(id.clone()))?;
        may_change(caller, &id, &batch, true, "only its creator or an admin may cancel it")?;
        match self.store.cancel_batch(&id, &now()).await? {
            Transition::Changed => {}
            t => {
                return Err(transition_error(
                    &id,
                    t,
                    "only a draft or a running batch can be cancelled",
                ));
            }
        }
        let info = self.batch_info(&id).await?;
        let mut e = audit_entry(caller, "CancelBatch", "OK");
        e.detail = format!("batch {id}: {} of {} done", info.done, info.total);
        self.audit.append(vec![e]).await?;
        Ok(to_proto(&info))
    }

    /// One batch with its counts.
    pub async fn get_batch(&self, caller: &Caller, req: &GetBatchRequest) -> Result<Batch, HubError> {
        let id = batch_id(&req.batch_id)?;
        let info = self.batch_info(&id).await?;
        let mut e = audit_entry(caller, "GetBatch", "OK");
        e.detail = format!("batch {id}");
        self.audit.append(vec![e]).await?;
        Ok(to_proto(&info))
    }

    /// Recent batches.
    pub async fn list_batches(&self, caller: &Caller, req: &ListBatchesRequest) -> Result<Vec<Batch>, HubError> {
        if req.limit > MAX_LIST_BATCHES {
            return Err(ValidationError::one("limit", format!("{} is more than {MAX_LIST_BATCHES}", req.limit)).into());
        }
        let limit = if req.limit == 0 { 50 } else { req.limit };
        let list = self.store.list_batches(i64::from(limit)).await?;
        let mut e = audit_entry(caller, "ListBatches", "OK");
        e.detail = format!("{} batch(es)", list.len());
        self.audit.append(vec![e]).await?;
        Ok(list.iter().map(to_proto).collect())
    }
}

fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

/// Streams a batch's results page by page; each page read is written to
/// the audit log with the persons it shows, before it is sent.
async fn stream_results(
    state: Arc<HubState>,
    caller: Caller,
    id: String,
    only_flagged: bool,
    tx: tokio::sync::mpsc::Sender<Result<BatchResult, Status>>,
) {
    let mut after = 0;
    loop {
        let page = match state.store.batch_results(&id, after, RESULTS_PAGE, only_flagged).await {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Err(Status::from(HubError::Store(e)))).await;
                return;
            }
        };
        let Some(last) = page.last() else {
            return;
        };
        let (first_seq, last_seq) = (page[0].seq, last.seq);
        after = last_seq;
        let mut e = audit_entry(&caller, "StreamBatchResults", "OK");
        e.persons = page
            .iter()
            .filter_map(|r| r.record.as_ref())
            .flat_map(|r| r.household.iter().flat_map(|h| &h.members))
            .map(|m| state.audit.person(&m.id_number))
            .collect();
        e.detail = format!(
            "batch {id}: seq {first_seq}-{last_seq}{}",
            if only_flagged { " (flagged)" } else { "" }
        );
        if let Err(err) = state.audit.append(vec![e]).await {
            let _ = tx.send(Err(Status::from(HubError::Audit(err)))).await;
            return;
        }
        for r in page {
            let msg = BatchResult {
                seq: r.seq as u32,
                row: r.first_row as u32,
                household_ref: r.household_ref,
                record: r.record,
                error: r.error,
            };
            if tx.send(Ok(msg)).await.is_err() {
                return; // The client went away.
            }
        }
    }
}

type ResultStream = tokio_stream::wrappers::ReceiverStream<Result<BatchResult, Status>>;

#[tonic::async_trait]
impl BatchService for BatchApi {
    type StreamBatchResultsStream = ResultStream;

    #[tracing::instrument(skip_all, fields(rpc = "CreateBatch"))]
    async fn create_batch(&self, r: Request<CreateBatchRequest>) -> Result<Response<CreateBatchResponse>, Status> {
        let caller = self.admit(&r, "CreateBatch").await?;
        let res = self.state.create_batch(&caller, r.get_ref()).await;
        self.finish(
            &caller,
            "CreateBatch",
            res.map(|b| CreateBatchResponse { batch: Some(b) }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "AddBatchHouseholds"))]
    async fn add_batch_households(
        &self,
        r: Request<AddBatchHouseholdsRequest>,
    ) -> Result<Response<AddBatchHouseholdsResponse>, Status> {
        let caller = self.admit(&r, "AddBatchHouseholds").await?;
        let res = self.state.add_batch_households(&caller, r.get_ref()).await;
        self.finish(&caller, "AddBatchHouseholds", res).await
    }

    #[tracing::instrument(skip_all, fields(rpc = "StartBatch"))]
    async fn start_batch(&self, r: Request<StartBatchRequest>) -> Result<Response<StartBatchResponse>, Status> {
        let caller = self.admit(&r, "StartBatch").await?;
        let res = self.state.start_batch(&caller, r.get_ref()).await;
        self.finish(
            &caller,
            "StartBatch",
            res.map(|b| StartBatchResponse { batch: Some(b) }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "CancelBatch"))]
    async fn cancel_batch(&self, r: Request<CancelBatchRequest>) -> Result<Response<CancelBatchResponse>, Status> {
        let caller = self.admit(&r, "CancelBatch").await?;
        let res = self.state.cancel_batch(&caller, r.get_ref()).await;
        self.finish(
            &caller,
            "CancelBatch",
            res.map(|b| CancelBatchResponse { batch: Some(b) }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetBatch"))]
    async fn get_batch(&self, r: Request<GetBatchRequest>) -> Result<Response<GetBatchResponse>, Status> {
        let caller = self.admit(&r, "GetBatch").await?;
        let res = self.state.get_batch(&caller, r.get_ref()).await;
        self.finish(&caller, "GetBatch", res.map(|b| GetBatchResponse { batch: Some(b) }))
            .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListBatches"))]
    async fn list_batches(&self, r: Request<ListBatchesRequest>) -> Result<Response<ListBatchesResponse>, Status> {
        let caller = self.admit(&r, "ListBatches").await?;
        let res = self.state.list_batches(&caller, r.get_ref()).await;
        self.finish(
            &caller,
            "ListBatches",
            res.map(|batches| ListBatchesResponse { batches }),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "StreamBatchResults"))]
    async fn stream_batch_results(
        &self,
        r: Request<StreamBatchResultsRequest>,
    ) -> Result<Response<Self::StreamBatchResultsStream>, Status> {
        let caller = self.admit(&r, "StreamBatchResults").await?;
        let checked = async {
            let id = batch_id(&r.get_ref().batch_id)?;
            self.state.batch_info(&id).await?;
            Ok::<_, HubError>(id)
        }
        .await;
        let id = match checked {
            Ok(id) => id,
            Err(e @ HubError::Audit(_)) => return Err(Status::from(e)),
            Err(e) => return Err(self.refuse_with(&caller, "StreamBatchResults", e).await),
        };
        // A small channel: the reader waits for the client, so memory stays
        // at a page or two however large the batch.
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(stream_results(
            self.state.clone(),
            caller,
            id,
            r.get_ref().only_flagged,
            tx,
        ));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}
