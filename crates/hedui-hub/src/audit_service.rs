//! `AuditService`: auditors read, search, checkpoint and export the log;
//! admins get the departments' service report ([`crate::service_report`]).
//! Every call to it is itself logged.

use std::sync::Arc;

use hedui_audit::entry::AuditEntry;
use hedui_audit::export::ExportBundle;
use hedui_domain::ValidationError;
use hedui_domain::ids::ResidentId;
use hedui_proto::v1::audit_service_server::AuditService;
use hedui_proto::v1::{
    AuditEntryView, ExportAuditRequest, ExportAuditResponse, GetCheckpointRequest, GetCheckpointResponse,
    GetDepartmentReportRequest, GetDepartmentReportResponse, ListAuditEntriesRequest, ListAuditEntriesResponse,
    WhoAccessedRequest, WhoAccessedResponse,
};
use hedui_store::audit::AuditFilter;
use tonic::{Request, Response, Status};

use crate::access::{self, Caller};
use crate::service::{HubError, HubState, audit_entry, code_name};

/// Most entries one list returns.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;
/// Most entries one export holds; a larger one is refused, naming the limit,
/// never cut short.
pub const MAX_EXPORT_ENTRIES: u32 = 1_000_000;

/// The selection of an export in words, with no personal data: a person is
/// named by the masked ID number.
fn selection_words(f: &AuditFilter, id_number: &str, limit: u32) -> String {
    let mut words = Vec::new();
    let mut add = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            words.push(format!("{k}={v}"));
        }
    };
    add("from", f.from.as_deref());
    add("to", f.to.as_deref());
    add("actor", f.actor.as_deref());
    add("action", f.action.as_deref());
    add("department", f.department.as_deref());
    let masked = (!id_number.is_empty()).then(|| hedui_audit::entry::mask_id(id_number));
    add("person", masked.as_deref());
    let after = f.after_seq.map(|s| s.to_string());
    add("from_seq", after.as_deref());
    let limit = (limit > 0).then(|| limit.to_string());
    add("limit", limit.as_deref());
    if words.is_empty() {
        "the whole log".to_owned()
    } else {
        words.join(" ")
    }
}
/// Earlier checkpoints included in an export, newest first.
const EARLIER_CHECKPOINTS: usize = 16;

/// The tonic service.
pub struct Audit {
    state: Arc<HubState>,
}

impl Audit {
    /// Wraps the shared state.
    pub fn new(state: Arc<HubState>) -> Self {
        Self { state }
    }

    /// Authorizes the call; a denial is logged and returned.
    async fn admit<T>(&self, req: &Request<T>, method: &str, id_number: &str) -> Result<Caller, Status> {
        match access::authorize(req, method, self.state.insecure, self.state.tls.as_ref()) {
            Ok(caller) => Ok(caller),
            Err((caller, status)) => {
                tracing::info!(role = caller.role(), method, code = ?status.code(), "call denied");
                let denied = HubError::Access {
                    code: status.code(),
                    message: status.message().to_owned(),
                };
                Err(self
                    .finish::<()>(&caller, method, id_number, Err(denied))
                    .await
                    .unwrap_err())
            }
        }
    }

    /// Logs the call with its outcome; the answer is sent only when the log
    /// entry is on disk.
    async fn finish<R>(
        &self,
        caller: &Caller,
        method: &str,
        id_number: &str,
        outcome: Result<(R, String), HubError>,
    ) -> Result<Response<R>, Status> {
        let action = format!("audit.{}", method.rsplit('/').next().unwrap_or(method));
        let result = self.log(caller, &action, id_number, outcome).await;
        let rpc = method.rsplit('/').next().unwrap_or(method);
        self.state
            .metrics
            .rpc(rpc, result.as_ref().map_or_else(|s| s.code(), |_| tonic::Code::Ok));
        result
    }

    async fn log<R>(
        &self,
        caller: &Caller,
        action: &str,
        id_number: &str,
        outcome: Result<(R, String), HubError>,
    ) -> Result<Response<R>, Status> {
        let (status_name, detail) = match &outcome {
            Ok((_, detail)) => ("OK", detail.clone()),
            Err(HubError::Audit(_)) => ("UNAVAILABLE", String::new()),
            Err(e) => (code_name(e.code()), e.audit_detail()),
        };
        if let Err(HubError::Audit(_)) = &outcome {
            return outcome.map(|(r, _)| Response::new(r)).map_err(Status::from);
        }
        let mut e = audit_entry(caller, action, status_name);
        e.persons = if id_number.is_empty() {
            Vec::new()
        } else {
            vec![self.state.audit.person(id_number)]
        };
        e.detail = detail;
        if let Err(err) = self.state.audit.append(vec![e]).await {
            return Err(HubError::Audit(err).into());
        }
        outcome.map(|(r, _)| Response::new(r)).map_err(Status::from)
    }
}

fn view(e: &AuditEntry) -> AuditEntryView {
    AuditEntryView {
        seq: e.seq,
        canonical_json: String::from_utf8(e.canonical_bytes()).expect("serde_json writes UTF-8"),
    }
}

/// A time filter bound as the log writes times: UTC with milliseconds and
/// `Z` (`2026-11-30T14:58:40.000Z`), so that the store's comparison of the
/// text is a comparison of instants at full precision. `T14:58:40Z` is the
/// start of that second and so includes an entry at `14:58:40.687Z`; an
/// offset such as `+08:00` is converted; a date is its midnight UTC; finer
/// than a millisecond is rounded up, which keeps both the inclusive `from`
/// and the exclusive `to` exact for entries stamped in milliseconds.
pub fn time_bound(s: &str, field: &str) -> Result<Option<String>, ValidationError> {
    use chrono::{SecondsFormat, TimeZone as _, Utc};
    if s.is_empty() {
        return Ok(None);
    }
    let at = if let Ok(d) = hedui_domain::window::parse_date(s) {
        Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
    } else if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        match t.timestamp_subsec_nanos() % 1_000_000 {
            0 => t,
            extra => t + chrono::Duration::nanoseconds(i64::from(1_000_000 - extra)),
        }
    } else {
        return Err(ValidationError::one(field, "must be YYYY-MM-DD or an RFC 3339 time"));
    };
    Ok(Some(at.to_rfc3339_opts(SecondsFormat::Millis, true)))
}

fn to_filter(
    state: &HubState,
    f: Option<&hedui_proto::v1::AuditFilter>,
) -> Result<(AuditFilter, String), ValidationError> {
    let f = f.cloned().unwrap_or_default();
    let today = chrono::Utc::now().date_naive();
    let mut v = Vec::new();
    let from = time_bound(&f.from, "filter.from")
        .map_err(|e| v.extend(e.violations))
        .ok()
        .flatten();
    let to = time_bound(&f.to, "filter.to")
        .map_err(|e| v.extend(e.violations))
        .ok()
        .flatten();
    let id = if f.id_number.is_empty() {
        None
    } else {
        match ResidentId::parse(&f.id_number, today) {
            Ok(id) => Some(id.as_str().to_owned()),
            Err(e) => {
                v.push(hedui_domain::FieldViolation::new("filter.id_number", e.to_string()));
                None
            }
        }
    };
    if !f.department.is_empty()
        && let Err(e) = hedui_domain::department::parse_slug(&f.department)
    {
        v.push(hedui_domain::FieldViolation::new("filter.department", e));
    }
    if f.limit > MAX_AUDIT_LIMIT {
        v.push(hedui_domain::FieldViolation::new(
            "filter.limit",
            format!("{} is more than {MAX_AUDIT_LIMIT}", f.limit),
        ));
    }
    ValidationError::check(v)?;
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    Ok((
        AuditFilter {
            from,
            to,
            actor: nonempty(f.actor),
            action: nonempty(f.action),
            department: nonempty(f.department),
            person_key_hash: id.as_deref().map(|i| state.audit.person_key_hash(i)),
            after_seq: (f.after_seq > 0).then_some(f.after_seq),
            limit: if f.limit == 0 { 1000 } else { f.limit },
        },
        id.unwrap_or_default(),
    ))
}

#[tonic::async_trait]
impl AuditService for Audit {
    #[tracing::instrument(skip_all, fields(rpc = "ListAuditEntries"))]
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        let state = self.state.clone();
        let id = request
            .get_ref()
            .filter
            .as_ref()
            .map(|f| f.id_number.clone())
            .unwrap_or_default();
        let caller = self
            .admit(&request, "/hedui.v1.AuditService/ListAuditEntries", &id)
            .await?;
        let outcome: Result<_, HubError> = async {
            let (filter, _) = to_filter(&state, request.get_ref().filter.as_ref())?;
            let entries = state.store.audit_entries(&filter).await?;
            let tree_size = state.store.audit_size().await?;
            let n = entries.len();
            Ok((
                ListAuditEntriesResponse {
                    entries: entries.iter().map(view).collect(),
                    tree_size,
                },
                format!("{n} entries"),
            ))
        }
        .await;
        self.finish(&caller, "/hedui.v1.AuditService/ListAuditEntries", &id, outcome)
            .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "WhoAccessed"))]
    async fn who_accessed(
        &self,
        request: Request<WhoAccessedRequest>,
    ) -> Result<Response<WhoAccessedResponse>, Status> {
        let state = self.state.clone();
        let id = request.get_ref().id_number.clone();
        let caller = self.admit(&request, "/hedui.v1.AuditService/WhoAccessed", &id).await?;
        let outcome: Result<_, HubError> = async {
            let today = chrono::Utc::now().date_naive();
            let id = ResidentId::parse(&request.get_ref().id_number, today)
                .map_err(|e| ValidationError::one("id_number", e.to_string()))?;
            let filter = AuditFilter {
                person_key_hash: Some(state.audit.person_key_hash(id.as_str())),
                limit: MAX_AUDIT_LIMIT,
                ..Default::default()
            };
            let entries = state.store.audit_entries(&filter).await?;
            let n = entries.len();
            Ok((
                WhoAccessedResponse {
                    entries: entries.iter().map(view).collect(),
                },
                format!("{n} entries"),
            ))
        }
        .await;
        self.finish(&caller, "/hedui.v1.AuditService/WhoAccessed", &id, outcome)
            .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetCheckpoint"))]
    async fn get_checkpoint(
        &self,
        request: Request<GetCheckpointRequest>,
    ) -> Result<Response<GetCheckpointResponse>, Status> {
        let state = self.state.clone();
        let fresh = request.get_ref().fresh;
        let caller = self.admit(&request, "/hedui.v1.AuditService/GetCheckpoint", "").await?;
        let outcome: Result<_, HubError> = async {
            let cp = match (fresh, state.store.latest_checkpoint().await?) {
                (false, Some(cp)) => cp,
                _ => state.audit.checkpoint().await?,
            };
            let size = cp.checkpoint.tree_size;
            Ok((
                GetCheckpointResponse {
                    checkpoint_json: serde_json::to_string_pretty(&cp).expect("a checkpoint serialises"),
                    public_key: hedui_audit::checkpoint::format_public_key(&state.audit.public_key()),
                },
                format!("checkpoint at tree size {size}"),
            ))
        }
        .await;
        self.finish(&caller, "/hedui.v1.AuditService/GetCheckpoint", "", outcome)
            .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "ExportAudit"))]
    async fn export_audit(
        &self,
        request: Request<ExportAuditRequest>,
    ) -> Result<Response<ExportAuditResponse>, Status> {
        let state = self.state.clone();
        let id = request
            .get_ref()
            .filter
            .as_ref()
            .map(|f| f.id_number.clone())
            .unwrap_or_default();
        let caller = self.admit(&request, "/hedui.v1.AuditService/ExportAudit", &id).await?;
        let outcome: Result<_, HubError> = async {
            // An export takes any limit up to MAX_EXPORT_ENTRIES; the list's
            // smaller limit does not apply.
            let mut asked = request.get_ref().filter.clone().unwrap_or_default();
            let asked_limit = std::mem::take(&mut asked.limit);
            let (mut filter, id_number) = to_filter(&state, Some(&asked))?;
            // No silent cap: without a limit every matching entry is
            // exported, and more than MAX_EXPORT_ENTRIES is refused by name.
            filter.limit = if asked_limit == 0 {
                MAX_EXPORT_ENTRIES + 1
            } else {
                asked_limit.min(MAX_EXPORT_ENTRIES + 1)
            };
            let checkpoint = state.audit.checkpoint().await?;
            let size = checkpoint.checkpoint.tree_size;
            let mut entries: Vec<AuditEntry> = state
                .store
                .audit_entries(&filter)
                .await?
                .into_iter()
                .filter(|e| e.seq < size)
                .collect();
            if entries.len() > MAX_EXPORT_ENTRIES as usize {
                return Err(HubError::precondition(
                    format!(
                        "more than {MAX_EXPORT_ENTRIES} entries match; export a shorter period (--from/--to) or a seq range"
                    ),
                    [("EXPORT_TOO_LARGE", "filter", "narrow the period")],
                ));
            }
            let complete = filter.actor.is_none()
                && filter.action.is_none()
                && filter.department.is_none()
                && filter.person_key_hash.is_none();
            // A range is exported whole: entries of other hubs whose clocks
            // put them just outside the period but whose seq lies inside it
            // are included, so the seqs run without a gap.
            if complete && let (Some(first), Some(last)) = (entries.first(), entries.last()) {
                let (first, last) = (first.seq, last.seq);
                if last - first + 1 != entries.len() as u64 {
                    entries = state
                        .store
                        .audit_entries(&AuditFilter {
                            after_seq: Some(first),
                            limit: u32::try_from(last - first + 1).unwrap_or(u32::MAX),
                            ..AuditFilter::default()
                        })
                        .await?;
                }
            }
            let scope = hedui_audit::scope::sign(
                hedui_audit::scope::ScopeStatement {
                    complete,
                    first_seq: entries.first().map_or(0, |e| e.seq),
                    last_seq: entries.last().map_or(0, |e| e.seq),
                    entry_count: entries.len() as u64,
                    tree_size: size,
                    selection: selection_words(&filter, &id_number, asked_limit),
                },
                &state.grant_key,
            );
            let mut earlier: Vec<_> = state
                .store
                .checkpoints()
                .await?
                .into_iter()
                .filter(|c| c.checkpoint.tree_size < size && c.checkpoint.tree_size > 0)
                .collect();
            let keep = earlier.len().saturating_sub(EARLIER_CHECKPOINTS);
            earlier.drain(..keep);
            // The proofs come from the store's proof index: O(log n) hashes
            // per entry, not every leaf of the log.
            let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
            let olds: Vec<u64> = earlier.iter().map(|c| c.checkpoint.tree_size).collect();
            let tree = state.store.audit_stored_tree(size, &seqs, &olds).await?;
            let n = entries.len();
            let bundle = ExportBundle::build_from_nodes(entries, &tree, checkpoint, earlier, &state.audit.public_key())
                .map_err(|e| HubError::LogMismatch(e.to_string()))?
                .with_scope(scope);
            Ok((
                ExportAuditResponse {
                    bundle_json: serde_json::to_vec_pretty(&bundle).expect("a bundle serialises"),
                    entry_count: n as u32,
                },
                format!("{n} entries exported against tree size {size}"),
            ))
        }
        .await;
        self.finish(&caller, "/hedui.v1.AuditService/ExportAudit", &id, outcome)
            .await
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetDepartmentReport"))]
    async fn get_department_report(
        &self,
        request: Request<GetDepartmentReportRequest>,
    ) -> Result<Response<GetDepartmentReportResponse>, Status> {
        const METHOD: &str = "/hedui.v1.AuditService/GetDepartmentReport";
        let state = self.state.clone();
        let caller = self.admit(&request, METHOD, "").await?;
        let outcome: Result<_, HubError> = async {
            let quarter = crate::service_report::parse_quarter(&request.get_ref().quarter)?;
            let report = state.department_report(quarter).await?;
            Ok((report, format!("quarter {quarter} and {}", quarter.previous())))
        }
        .await;
        self.finish(&caller, METHOD, "", outcome).await
    }
}

#[cfg(test)]
mod tests {
    use super::time_bound;

    #[test]
    fn time_bounds_are_written_as_the_log_writes_times() {
        let b = |s: &str| time_bound(s, "filter.from").unwrap().unwrap();
        assert_eq!(b("2026-11-30T14:58:40Z"), "2026-11-30T14:58:40.000Z");
        assert_eq!(b("2026-11-30T22:58:40+08:00"), "2026-11-30T14:58:40.000Z");
        assert_eq!(b("2026-11-30T14:58:40.687Z"), "2026-11-30T14:58:40.687Z");
        assert_eq!(b("2026-11-30T14:58:40.6871Z"), "2026-11-30T14:58:40.688Z");
        assert_eq!(b("2026-11-30T23:59:59.9999Z"), "2026-12-01T00:00:00.000Z");
        assert_eq!(b("2026-11-30"), "2026-11-30T00:00:00.000Z");
        assert_eq!(time_bound("", "filter.from").unwrap(), None);
        let err = time_bound("yesterday", "filter.from").unwrap_err();
        assert_eq!(err.violations[0].field, "filter.from");
    }
}
