//! Where a SubmitVerification's time goes, for `hedui bench`.
//!
//! Off unless a bench turns it on ([`enable`]); off, it costs one relaxed
//! atomic load per call site and nothing else: no clock is made, no
//! extension is inserted, nothing is recorded. On, the hub's latency layer
//! ([`crate::rpc_metrics`]) stamps each SubmitVerification when its headers
//! arrive and puts a [`StageClock`] in the request's extensions; the
//! handler and the pipeline call [`lap`] at each boundary, which charges
//! the time since the previous boundary to a [`Stage`]; the layer laps the
//! last stage when the response body yields its trailers and hands the
//! sample to an in-process sink that the bench drains ([`take_samples`]).
//! Every instant between arrival and trailers is charged to exactly one
//! stage, so the stages of one request add up to its time in the hub.
//!
//! A sample holds durations and the request id (a random UUID) only:
//! nothing about the household, so nothing personal is kept or logged.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether stage clocks are made; see the module documentation.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Finished samples waiting for the bench.
static SINK: Mutex<Vec<StageSample>> = Mutex::new(Vec::new());

/// Timed group commits of the audit appender waiting for the bench.
static GROUPS: Mutex<Vec<GroupSample>> = Mutex::new(Vec::new());

/// Most samples kept between two [`take_samples`] (and group samples
/// between two [`take_groups`]); more are dropped, so a forgotten switch
/// cannot grow the hub without bound.
const MAX_SAMPLES: usize = 1_000_000;

/// One group commit of the hub's audit appender, timed while clocks are
/// on: how much it carried and how long the store took to make it durable.
/// Counts and a duration only, nothing about any household.
#[derive(Debug, Clone, Copy)]
pub struct GroupSample {
    /// Appends in the group: intents, results, other entries' callers.
    pub appends: usize,
    /// Records stored in the group's transaction.
    pub records: usize,
    /// The store's call for the group: sealing its records, taking a
    /// pooled connection and the log's lock, every statement (each a
    /// hand-off to the database's worker), and the commit with its sync.
    pub transaction: Duration,
    /// The transaction's parts as the store timed them: begin (connection
    /// and lock), statements, commit.
    pub phases: hedui_store::audit::AppendPhases,
}

/// A stretch of a SubmitVerification, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// From the request's headers reaching the hub's HTTP service to the
    /// handler starting: the rest of the body, tonic's routing and the
    /// protobuf decode. The TLS decryption of what hyper reads is done by
    /// the connection task and is not in it, nor is the handshake (once per
    /// connection).
    Receive,
    /// The caller's role and revocation check, the size check, parsing and
    /// validating the household, the authorization's cover check, and
    /// preparing the intent entry.
    Validate,
    /// The idempotency look-up (a database read). The claim on the key is
    /// written with the intent entry, so it is part of [`Stage::Intent`].
    Claim,
    /// The intent entry (`verification.begin`) and the claim on the key
    /// made durable in one transaction, including the wait for its group
    /// commit.
    Intent,
    /// From the fan-out's start to the last query handed to its channel:
    /// admission, limiter, grant signing, request copies.
    Dispatch,
    /// From the last query sent to the last answer received: the
    /// departments' own time plus the adapter hops (TLS, the adapter SDK's
    /// checks). Not the hub's overhead as such; the bench subtracts the
    /// slowest department's own time from it.
    Departments,
    /// After the last answer: its reply's validation, the source entries,
    /// the merge, the policy, the digest and the seal.
    After,
    /// The record and the result entries made durable in one transaction,
    /// including the wait for the group commit.
    Result,
    /// From the record being durable to the response body yielding its
    /// trailers: the handler's return (claim release is spawned, not
    /// waited for), the protobuf encoding and the hand-off to HTTP/2.
    Reply,
}

/// Every stage, in order.
pub const ALL: [Stage; 9] = [
    Stage::Receive,
    Stage::Validate,
    Stage::Claim,
    Stage::Intent,
    Stage::Dispatch,
    Stage::Departments,
    Stage::After,
    Stage::Result,
    Stage::Reply,
];

impl Stage {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Receive => "receive + decode",
            Stage::Validate => "validation + authorization",
            Stage::Claim => "idempotency look-up",
            Stage::Intent => "intent + claim commit (incl. group wait)",
            Stage::Dispatch => "fan-out dispatch (incl. grant signing)",
            Stage::Departments => "last query sent to last answer",
            Stage::After => "after last answer (validate, merge, policy, digest)",
            Stage::Result => "result commit (incl. group wait)",
            Stage::Reply => "reply: return, encode, hand to HTTP/2",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One SubmitVerification's stages.
#[derive(Debug, Clone)]
pub struct StageSample {
    /// The verification's request id (a random UUID), to match the
    /// departments' own times; empty when the call ended before one was
    /// made (a refusal or a replay), and such samples are not kept.
    pub request_id: String,
    /// Time charged to each stage, indexed as [`ALL`].
    pub spent: [Duration; ALL.len()],
    /// From arrival to trailers: the sum of `spent`.
    pub total: Duration,
}

impl StageSample {
    /// The time charged to `stage`.
    pub fn get(&self, stage: Stage) -> Duration {
        self.spent[stage.index()]
    }
}

#[derive(Debug)]
struct Inner {
    arrived: Instant,
    last: Instant,
    spent: [Duration; ALL.len()],
    request_id: String,
    last_sent: Option<Instant>,
    last_answer: Option<Instant>,
    finished: bool,
}

/// The running clock of one request; shared by the layer and the handler.
#[derive(Debug)]
pub struct StageClock {
    inner: Mutex<Inner>,
}

impl StageClock {
    /// A clock started at `arrived`.
    pub fn new(arrived: Instant) -> StageClock {
        StageClock {
            inner: Mutex::new(Inner {
                arrived,
                last: arrived,
                spent: [Duration::ZERO; ALL.len()],
                request_id: String::new(),
                last_sent: None,
                last_answer: None,
                finished: false,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Charges the time since the last boundary to `stage`.
    pub fn lap(&self, stage: Stage) {
        let now = Instant::now();
        self.with(|c| {
            c.spent[stage.index()] += now.saturating_duration_since(c.last);
            c.last = now;
        });
    }

    fn query_sent(&self) {
        let now = Instant::now();
        self.with(|c| c.last_sent = Some(c.last_sent.map_or(now, |t| t.max(now))));
    }

    fn answer_came(&self) {
        let now = Instant::now();
        self.with(|c| c.last_answer = Some(c.last_answer.map_or(now, |t| t.max(now))));
    }

    /// Charges the fan-out: dispatch up to the last query sent, then the
    /// wait up to the last answer; the next lap starts from the last answer.
    fn fanout_done(&self) {
        let now = Instant::now();
        self.with(|c| {
            let sent = c.last_sent.unwrap_or(c.last).max(c.last).min(now);
            let answered = c.last_answer.unwrap_or(sent).max(sent).min(now);
            c.spent[Stage::Dispatch.index()] += sent - c.last;
            c.spent[Stage::Departments.index()] += answered - sent;
            c.last = answered;
        });
    }

    /// Laps [`Stage::Reply`] and hands the sample to the sink, once.
    pub fn finish(&self) {
        if let Some(sample) = self.finish_sample() {
            let mut sink = SINK.lock().unwrap_or_else(PoisonError::into_inner);
            if sink.len() < MAX_SAMPLES {
                sink.push(sample);
            }
        }
    }

    /// Laps [`Stage::Reply`] and returns the sample, the first time only,
    /// and only once the request had an id.
    fn finish_sample(&self) -> Option<StageSample> {
        self.lap(Stage::Reply);
        self.with(|c| {
            if c.finished || c.request_id.is_empty() {
                return None;
            }
            c.finished = true;
            Some(StageSample {
                request_id: std::mem::take(&mut c.request_id),
                spent: c.spent,
                total: c.last.saturating_duration_since(c.arrived),
            })
        })
    }
}

tokio::task_local! {
    static CLOCK: Arc<StageClock>;
}

/// Turns stage clocks on or off for the calls that arrive from now on.
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether stage clocks are on.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The samples finished since the last call.
pub fn take_samples() -> Vec<StageSample> {
    std::mem::take(&mut *SINK.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Records one timed group commit, if clocks are on.
pub(crate) fn group_committed(sample: GroupSample) {
    if !enabled() {
        return;
    }
    let mut groups = GROUPS.lock().unwrap_or_else(PoisonError::into_inner);
    if groups.len() < MAX_SAMPLES {
        groups.push(sample);
    }
}

/// The group commits timed since the last call.
pub fn take_groups() -> Vec<GroupSample> {
    std::mem::take(&mut *GROUPS.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The clock a request carries, if clocks are on.
pub(crate) fn clock_of<T>(req: &tonic::Request<T>) -> Option<Arc<StageClock>> {
    if !enabled() {
        return None;
    }
    req.extensions().get::<Arc<StageClock>>().cloned()
}

/// Runs `f` with `clock` as the current request's clock, so that [`lap`]
/// and the fan-out's marks reach it without passing it down.
pub(crate) async fn scope<F: Future>(clock: Option<Arc<StageClock>>, f: F) -> F::Output {
    match clock {
        Some(clock) => CLOCK.scope(clock, f).await,
        None => f.await,
    }
}

fn current(f: impl FnOnce(&StageClock)) {
    if enabled() {
        let _ = CLOCK.try_with(|c| f(c));
    }
}

/// Charges the time since the last boundary to `stage`, on the current
/// request's clock (nothing when there is none).
#[inline]
pub(crate) fn lap(stage: Stage) {
    current(|c| c.lap(stage));
}

/// Notes the current request's id, which its sample carries.
pub(crate) fn request_id(id: &str) {
    current(|c| c.with(|i| id.clone_into(&mut i.request_id)));
}

/// A department's query was handed to its channel.
pub(crate) fn query_sent() {
    current(StageClock::query_sent);
}

/// A department's answer (or failure) came back.
pub(crate) fn answer_came() {
    current(StageClock::answer_came);
}

/// The fan-out returned: charges dispatch and the departments' wait.
pub(crate) fn fanout_done() {
    current(StageClock::fanout_done);
}

/// What one request's clock costs, measured by doing what the hub does for
/// one SubmitVerification (make it, scope it, every lap and mark for
/// `departments` queries, finish it into a sink) `n` times, into a sink of
/// its own. For the bench to show the breakdown's own cost.
pub async fn cost_per_request(n: u32, departments: u32) -> Duration {
    let was = enabled();
    enable(true);
    let mut sink = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for _ in 0..n {
        let clock = Arc::new(StageClock::new(Instant::now()));
        clock.lap(Stage::Receive);
        clock.lap(Stage::Validate);
        scope(Some(clock.clone()), async {
            lap(Stage::Validate);
            lap(Stage::Claim);
            lap(Stage::Validate);
            lap(Stage::Claim);
            request_id("00000000-0000-4000-8000-000000000000");
            lap(Stage::Validate);
            lap(Stage::Intent);
            for _ in 0..departments {
                query_sent();
            }
            for _ in 0..departments {
                answer_came();
            }
            fanout_done();
            lap(Stage::After);
            lap(Stage::Result);
        })
        .await;
        sink.extend(clock.finish_sample());
    }
    let took = started.elapsed();
    enable(was);
    debug_assert_eq!(sink.len(), n as usize);
    took / n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_instant_is_charged_to_one_stage() {
        let arrived = Instant::now();
        let clock = Arc::new(StageClock::new(arrived));
        clock.lap(Stage::Receive);
        // The marks are read only while clocks are on; the sink is shared
        // with any other test, so this one finds its sample by id.
        enable(true);
        scope(Some(clock.clone()), async {
            lap(Stage::Validate);
            request_id("11111111-1111-4111-8111-111111111111");
            lap(Stage::Intent);
            query_sent();
            query_sent();
            answer_came();
            answer_came();
            fanout_done();
            lap(Stage::After);
            lap(Stage::Result);
        })
        .await;
        clock.finish();
        assert!(clock.finish_sample().is_none(), "a clock is finished once");
        let mine: Vec<_> = take_samples()
            .into_iter()
            .filter(|s| s.request_id == "11111111-1111-4111-8111-111111111111")
            .collect();
        assert_eq!(mine.len(), 1, "a clock is finished once");
        let s = &mine[0];
        assert_eq!(s.spent.iter().sum::<Duration>(), s.total);
    }

    #[test]
    fn group_commits_are_kept_while_clocks_are_on() {
        // No test here turns the clocks off, so this one only turns them on;
        // it finds its group by a count no appender makes in a unit test.
        enable(true);
        group_committed(GroupSample {
            appends: 7_777,
            records: 3,
            transaction: Duration::from_micros(1_530),
            phases: hedui_store::audit::AppendPhases::default(),
        });
        let mine: Vec<GroupSample> = take_groups().into_iter().filter(|g| g.appends == 7_777).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].records, 3);
        assert_eq!(mine[0].transaction, Duration::from_micros(1_530));
        assert!(
            take_groups().iter().all(|g| g.appends != 7_777),
            "a group is handed over once"
        );
    }

    #[tokio::test]
    async fn outside_a_scope_nothing_is_recorded() {
        enable(true);
        // No clock in scope: the marks are no-ops and do not panic.
        lap(Stage::Validate);
        request_id("22222222-2222-4222-8222-222222222222");
        query_sent();
        fanout_done();
        // A clock that never learnt a request id gives no sample.
        let clock = StageClock::new(Instant::now());
        assert!(clock.finish_sample().is_none());
    }
}
