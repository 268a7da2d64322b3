//! Parallel fan-out to the departments' adapters.
//!
//! Every department is asked at the same time, each under its own deadline,
//! so a verification takes about as long as the slowest department that
//! answers, never the sum. Whatever a department does (answer, hang, refuse,
//! send garbage) ends as exactly one [`SourceAnswer`]; nothing here can fail
//! the verification as a whole.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hedui_domain::department::slug;
use hedui_domain::ids::ResidentId;
use hedui_domain::merge::SourceAnswer;
use hedui_domain::reply::{self, AskedContext};
use hedui_domain::request::ValidatedSubmission;
use hedui_proto::v1::source_service_client::SourceServiceClient;
use hedui_proto::v1::{Department, Person, QueryRequest, SourceOutcome};
use hedui_tls::{ClientTls, Role};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

/// True when `status` is tonic's report of a broken connection rather than
/// an answer from the department.
fn is_transport_failure(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.is::<tonic::transport::Error>() || e.is::<std::io::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}
use crate::breaker::{Admission, Breaker, BreakerSettings};
use crate::limits::{DepartmentLimits, Limiter, Priority};

/// The default deadline for one department.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// How much longer than its deadline a department's grant stays valid, to
/// absorb clock differences between the hub and the adapter.
const GRANT_SLACK_MS: i64 = 60_000;
/// Largest reply accepted from a department.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
/// How the detail of an answer abandoned at shutdown begins (see
/// [`crate::drain`]); [`is_abandoned`] tests for it.
pub const ABANDONED: &str = "abandoned at shutdown";

/// True when `answer` is one the hub gave up waiting for at shutdown.
pub fn is_abandoned(answer: &SourceAnswer) -> bool {
    answer.outcome == SourceOutcome::Unavailable && answer.detail.starts_with(ABANDONED)
}

/// One configured department adapter.
#[derive(Debug, Clone)]
pub struct AdapterEndpoint {
    /// The department it answers for.
    pub department: Department,
    /// Its gRPC address, for example `http://10.1.2.3:7401`.
    pub url: String,
    /// How long the hub waits for it.
    pub deadline: Duration,
    /// How many queries may be in flight and start per second.
    pub limits: DepartmentLimits,
    /// When its circuit breaker opens and for how long.
    pub breaker: BreakerSettings,
}

/// The channel to one department, and the TLS configuration it was made
/// with: when the hub's TLS files are reloaded (a renewed certificate, a new
/// revocation list), the channel is made anew, so that the next call
/// handshakes again and a revoked adapter is refused without waiting for
/// the old connection to break.
struct Connection {
    endpoint: Endpoint,
    tls: Option<(ClientTls, u64)>,
    client: SourceServiceClient<Channel>,
}

impl Connection {
    fn client(
        endpoint: Endpoint,
        tls: Option<&ClientTls>,
        department: Department,
    ) -> Result<SourceServiceClient<Channel>, String> {
        let channel = match tls {
            Some(tls) => hedui_tls::channel_from_endpoint(endpoint, tls.clone(), Some(Role::Adapter(department)))
                .map_err(|e| e.to_string())?,
            None => endpoint.connect_lazy(),
        };
        Ok(SourceServiceClient::new(channel)
            .max_decoding_message_size(MAX_REPLY_BYTES)
            .max_encoding_message_size(MAX_REPLY_BYTES))
    }

    /// The client to use now, remade first if the TLS configuration changed.
    fn current(&mut self, department: Department) -> SourceServiceClient<Channel> {
        if let Some((tls, used)) = &mut self.tls {
            let now = tls.generation();
            if now != *used {
                match Connection::client(self.endpoint.clone(), Some(tls), department) {
                    Ok(client) => {
                        tracing::info!(
                            department = slug(department),
                            "tls configuration reloaded; the next call connects anew"
                        );
                        self.client = client;
                        *used = now;
                    }
                    // Unreachable: the endpoint was accepted before.
                    Err(error) => tracing::error!(department = slug(department), %error, "cannot remake the channel"),
                }
            }
        }
        self.client.clone()
    }
}

/// A lazily connected client for one department.
#[derive(Clone)]
pub struct DepartmentClient {
    department: Department,
    deadline: Duration,
    client: Arc<std::sync::Mutex<Connection>>,
    metrics: Option<crate::metrics::Metrics>,
    limiter: Arc<Limiter>,
    breaker: Arc<std::sync::Mutex<Breaker>>,
    drain: Option<crate::drain::Drain>,
}

impl DepartmentClient {
    /// Prepares a client; the connection is made on first use and remade
    /// after failures, so an adapter that starts late or restarts is picked
    /// up without restarting the hub.
    ///
    /// With `tls`, the connection is mutual TLS and the adapter's certificate
    /// must carry the role of the department configured for this endpoint,
    /// so one department cannot answer as another.
    pub fn new(endpoint: &AdapterEndpoint, tls: Option<&ClientTls>) -> Result<Self, String> {
        let ep = Endpoint::from_shared(endpoint.url.clone())
            .map_err(|e| e.to_string())?
            .connect_timeout(endpoint.deadline)
            .tcp_nodelay(true);
        let client = Connection::client(ep.clone(), tls, endpoint.department)?;
        let connection = Connection {
            endpoint: ep,
            tls: tls.map(|t| (t.clone(), t.generation())),
            client,
        };
        Ok(Self {
            department: endpoint.department,
            deadline: endpoint.deadline,
            client: Arc::new(std::sync::Mutex::new(connection)),
            metrics: None,
            limiter: Arc::new(Limiter::new(endpoint.limits)),
            breaker: Arc::new(std::sync::Mutex::new(Breaker::new(endpoint.breaker))),
            drain: None,
        })
    }

    /// Gives up waiting when `drain` abandons the fan-outs in flight.
    pub fn with_drain(mut self, drain: crate::drain::Drain) -> Self {
        self.drain = Some(drain);
        self
    }

    /// Resolves when the hub abandons the fan-outs in flight.
    async fn abandoned(&self) {
        match &self.drain {
            Some(d) => d.abandoned().await,
            None => std::future::pending().await,
        }
    }

    /// The answer of a department the hub stopped waiting for at shutdown:
    /// UNAVAILABLE, saying whether the query had been sent.
    fn abandoned_answer(&self, sent_at: Option<Instant>) -> SourceAnswer {
        let latency = sent_at.map_or(Duration::ZERO, |t| t.elapsed());
        let detail = if sent_at.is_some() {
            format!("{ABANDONED}: the query was sent; the hub stopped before the answer came")
        } else {
            format!("{ABANDONED}: the query was not sent")
        };
        if let Some(m) = &self.metrics {
            m.source(slug(self.department), "ABANDONED", latency);
        }
        tracing::warn!(
            department = slug(self.department),
            sent = sent_at.is_some(),
            "department abandoned at shutdown"
        );
        let latency_ms = latency.as_millis().min(u128::from(u32::MAX)) as u32;
        let answer = SourceAnswer::failed(self.department, SourceOutcome::Unavailable, latency_ms, detail);
        if sent_at.is_some() { answer } else { answer.not_sent() }
    }

    /// Counts every answer of this department in `metrics`.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Whether the breaker lets a call through now, and if not, the
    /// answer to give instead (UNAVAILABLE, saying why and until when).
    fn admit(&self) -> Result<bool, SourceAnswer> {
        let admission = self
            .breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(Instant::now());
        match admission {
            Admission::Call => Ok(false),
            Admission::Probe => Ok(true),
            Admission::Open { retry_in } => {
                let answer = SourceAnswer::failed(
                    self.department,
                    SourceOutcome::Unavailable,
                    0,
                    format!(
                        "not asked: the circuit breaker is open because this department kept failing; it is tried again in {} s",
                        retry_in.as_secs().max(1)
                    ),
                )
                .not_sent();
                if let Some(m) = &self.metrics {
                    m.source(slug(self.department), "UNAVAILABLE", Duration::ZERO);
                }
                Err(answer)
            }
        }
    }

    /// Feeds an answer's outcome to the breaker. A department that answered,
    /// even with a refusal, is reachable; a timeout, an outage or a broken
    /// answer counts against it.
    fn settle(&self, answer: &SourceAnswer, probe: bool) {
        let failed = matches!(
            answer.outcome,
            SourceOutcome::Timeout | SourceOutcome::Unavailable | SourceOutcome::Error
        );
        let mut breaker = self.breaker.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let was_open = breaker.is_open();
        breaker.record(!failed, Instant::now());
        let open = breaker.is_open();
        drop(breaker);
        if open != was_open || probe {
            if open {
                tracing::warn!(
                    department = slug(self.department),
                    "circuit breaker opened: calls fail fast"
                );
            } else {
                tracing::info!(
                    department = slug(self.department),
                    "circuit breaker closed: the department answers again"
                );
            }
        }
        if let Some(m) = &self.metrics {
            m.breaker(slug(self.department), open);
        }
    }

    /// The department.
    pub fn department(&self) -> Department {
        self.department
    }

    /// True while the department's circuit breaker fails calls fast.
    pub fn breaker_open(&self) -> bool {
        self.breaker.lock().map(|b| b.is_open()).unwrap_or(true)
    }

    /// Asks the department and turns whatever happens into an answer.
    async fn ask(
        &self,
        request: QueryRequest,
        persons: &[ResidentId],
        sub: &ValidatedSubmission,
        today: NaiveDate,
    ) -> SourceAnswer {
        let started = Instant::now();
        let mut req = tonic::Request::new(request);
        req.set_timeout(self.deadline);
        let mut client = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .current(self.department);
        crate::stages::query_sent();
        let result = tokio::time::timeout(self.deadline, client.query(req)).await;
        crate::stages::answer_came();
        let latency_ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        let d = self.department;
        let answer = match result {
            Err(_) => SourceAnswer::failed(
                d,
                SourceOutcome::Timeout,
                latency_ms,
                format!("no answer within {} ms", self.deadline.as_millis()),
            ),
            // tonic enforces the grpc-timeout it sends as well, racing the
            // timer above, and reports its expiry as CANCELLED: that is a
            // department that did not answer in time, not an error.
            Ok(Err(status)) if status.code() == Code::Cancelled && started.elapsed() >= self.deadline => {
                SourceAnswer::failed(
                    d,
                    SourceOutcome::Timeout,
                    latency_ms,
                    format!("no answer within {} ms", self.deadline.as_millis()),
                )
            }
            // The connection broke (reset, closed, not HTTP/2): nobody
            // answered, which is UNAVAILABLE, not a malformed answer.
            Ok(Err(status)) if is_transport_failure(&status) => SourceAnswer::failed(
                d,
                SourceOutcome::Unavailable,
                latency_ms,
                format!("the connection failed: {}", truncate(status.message())),
            ),
            Ok(Err(status)) => {
                let outcome = outcome_for(status.code());
                SourceAnswer::failed(
                    d,
                    outcome,
                    latency_ms,
                    format!("{:?}: {}", status.code(), truncate(status.message())),
                )
            }
            Ok(Ok(resp)) => {
                let ctx = AskedContext {
                    persons,
                    window: &sub.window,
                    today,
                };
                match reply::validate(d, ctx, resp.get_ref()) {
                    Ok(valid) => {
                        let mut answer = SourceAnswer::answered(d, latency_ms, valid);
                        // An adapter answering from old data (a snapshot that
                        // was not refreshed) says so; the record keeps it next
                        // to the source's data_as_of.
                        answer.detail = stale_note(&resp.get_ref().stale_reason);
                        answer
                    }
                    Err(problem) => SourceAnswer::failed(
                        d,
                        SourceOutcome::Error,
                        latency_ms,
                        format!("malformed reply: {problem}"),
                    ),
                }
            }
        };
        if let Some(m) = &self.metrics {
            m.source(
                slug(d),
                answer.outcome.as_str_name().trim_start_matches("SOURCE_OUTCOME_"),
                started.elapsed(),
            );
        }
        // One line per department per household: DEBUG when it answered,
        // INFO when it did not (what an operator looks for).
        if matches!(answer.outcome, SourceOutcome::Ok | SourceOutcome::NoRecord) {
            tracing::debug!(
                department = slug(d),
                outcome = answer.outcome.as_str_name(),
                latency_ms,
                "department answered"
            );
        } else {
            tracing::info!(
                department = slug(d),
                outcome = answer.outcome.as_str_name(),
                latency_ms,
                "department did not answer"
            );
        }
        answer
    }
}

/// Maps a gRPC status code from an adapter to a source outcome.
fn outcome_for(code: Code) -> SourceOutcome {
    match code {
        Code::DeadlineExceeded => SourceOutcome::Timeout,
        Code::Unavailable => SourceOutcome::Unavailable,
        Code::PermissionDenied | Code::Unauthenticated | Code::FailedPrecondition => SourceOutcome::Refused,
        Code::Ok
        | Code::Cancelled
        | Code::Unknown
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Internal
        | Code::DataLoss => SourceOutcome::Error,
    }
}

/// Keeps an adapter's error message to a sane length for the record.
/// The adapter's note on old data, as the record's source detail: control
/// characters dropped and the length bounded, because it comes from outside.
fn stale_note(reason: &str) -> String {
    let clean: String = reason.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        String::new()
    } else {
        format!("stale data: {}", truncate(clean))
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        s.chars().take(MAX).collect::<String>() + "…"
    }
}

/// Asks every client about the household of `sub`, all at once, each
/// within its department's limits (waiting for a slot does not count
/// against the deadline, and the grant is issued once the slot is there).
pub async fn query_all(
    clients: &[DepartmentClient],
    priority: Priority,
    request_id: &str,
    sub: &ValidatedSubmission,
    grant_key: &hedui_trust::SigningKey,
    today: NaiveDate,
) -> Vec<SourceAnswer> {
    let persons: Vec<ResidentId> = sub.household.members.iter().map(|m| m.id.clone()).collect();
    let request = QueryRequest {
        request_id: request_id.to_owned(),
        purpose: sub.purpose as i32,
        persons: sub
            .household
            .members
            .iter()
            .map(|m| Person {
                name: m.name.clone(),
                id_number: m.id.as_str().to_owned(),
            })
            .collect(),
        income_window: Some(sub.window.to_proto()),
        asset_reference_date: sub.asset_reference_date.to_string(),
        authorization_ref: sub.authorization_ref.clone(),
        grant: Vec::new(),
    };
    let id_numbers: Vec<String> = persons.iter().map(|p| p.as_str().to_owned()).collect();
    let window = sub.window.to_proto();
    let asks = clients.iter().map(|c| {
        let (request, persons, id_numbers, window) = (&request, &persons, &id_numbers, &window);
        async move {
            // A department that keeps failing is not asked: fail fast.
            let probe = match c.admit() {
                Ok(probe) => probe,
                Err(answer) => return answer,
            };
            // At shutdown the hub stops waiting, for a slot or an answer;
            // the answer then says so and is logged like any other.
            let _permit = tokio::select! {
                biased;
                permit = c.limiter.acquire(priority) => permit,
                () = c.abandoned() => return c.abandoned_answer(None),
            };
            let now_ms = chrono::Utc::now().timestamp_millis();
            // Each department gets its own grant, valid a little longer than
            // its deadline and never more than the ten minutes an adapter
            // accepts.
            let lifetime_ms = i64::try_from(c.deadline.as_millis())
                .unwrap_or(i64::MAX)
                .saturating_add(GRANT_SLACK_MS)
                .min(hedui_trust::grant::MAX_GRANT_LIFETIME_MS);
            let grant = hedui_trust::grant::issue(
                request_id,
                sub.purpose,
                id_numbers,
                window,
                &sub.authorization_ref,
                c.department,
                now_ms,
                lifetime_ms,
                grant_key,
            );
            let mut req = request.clone();
            req.grant = hedui_trust::grant::encode(&grant);
            let sent_at = Instant::now();
            let answer = tokio::select! {
                biased;
                answer = c.ask(req, persons, sub, today) => answer,
                // Not the department's fault: the breaker is not told.
                () = c.abandoned() => return c.abandoned_answer(Some(sent_at)),
            };
            c.settle(&answer, probe);
            answer
        }
    });
    futures::future::join_all(asks).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_outages_are_told_apart() {
        assert_eq!(outcome_for(Code::PermissionDenied), SourceOutcome::Refused);
        assert_eq!(outcome_for(Code::Unavailable), SourceOutcome::Unavailable);
        assert_eq!(outcome_for(Code::DeadlineExceeded), SourceOutcome::Timeout);
        assert_eq!(outcome_for(Code::Internal), SourceOutcome::Error);
        assert_eq!(outcome_for(Code::InvalidArgument), SourceOutcome::Error);
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "界".repeat(1000);
        assert_eq!(truncate(&long).chars().count(), 301);
        assert_eq!(truncate("short"), "short");
    }
}
