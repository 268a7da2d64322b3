//! The batch worker: runs the households of running batches.
//!
//! One task per hub, started by `Application::run_until` and stopped by its
//! shutdown. It claims due items in groups with a lease and runs at most
//! `in_flight` households at once, each through the same pipeline as
//! SubmitVerification (`HubState::run_submission`). Claimed households wait
//! in a queue of at most `in_flight`, topped up when it is half empty, so a
//! claim (a write of its own) takes half a window of households at once
//! rather than one per household that ends. Memory is bounded by
//! `in_flight`, never by the batch.
//!
//! At shutdown it claims nothing more and lets the households in flight end:
//! their fan-outs finish, or are abandoned by the drain (see
//! [`crate::drain`]) with their `source.query` entries written, and a
//! household claimed but stopped at the closed gate asks nobody. Then it
//! hands its leases back, so another hub takes those households at once. It
//! never drops a household in the middle of a fan-out.
//!
//! Exactly one final record per household: the record is stored under the
//! item's idempotency key, and the item is marked DONE in the same
//! transaction (the audit log's group commit, with the record's entries),
//! if this worker's lease still holds it. A hub that dies before that
//! commit leaves the item RUNNING with a lease and no record; once the lease
//! runs out another claim runs it again. A household whose record was
//! stored otherwise (its lease ran out and another worker's run stored it
//! first) finds the record under the key, replays it asking no department,
//! and its item is marked DONE with that same record in a write of its own.
//!
//! A department that timed out, was unavailable or answered in error makes
//! the household wait: no record is stored, the item goes back to PENDING
//! with an exponential backoff, and the worker moves on to other
//! households. Its last attempt stores the record with whatever answered;
//! the policy makes it INCOMPLETE, never MEETS_CRITERIA. A retry asks all
//! departments again (simpler and still bounded by the limits; the answers
//! of the earlier attempt are not kept).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hedui_domain::department::slug;
use hedui_proto::v1::SubmitVerificationRequest;
use hedui_store::batch::{ClaimedItem, ItemOutcome, item_key, now_ms};
use prost::Message as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::access::Caller;
use crate::audit::ItemLease;
use crate::service::{HubError, HubState, Mode, Ran};

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    /// Households run at once by this hub.
    pub in_flight: usize,
    /// How long a claimed household is this hub's; after that another hub
    /// (or this one after a restart) takes it over. Longer than a
    /// household can take, deadlines and queueing included.
    pub lease: Duration,
    /// Attempts before a household is stored with departments missing.
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// How often an idle worker looks for due households.
    pub poll: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            in_flight: 16,
            lease: Duration::from_secs(300),
            max_attempts: 5,
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30 * 60),
            poll: Duration::from_secs(1),
        }
    }
}

impl BatchSettings {
    /// The wait after attempt number `attempts` (from 1).
    pub fn backoff_after(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
        self.backoff.saturating_mul(1 << doublings).min(self.max_backoff)
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs until `stop` fires; then stops claiming, waits for the households
/// in flight to end (the drain bounds their fan-outs) and hands the leases
/// of those left unfinished back.
pub async fn run(state: Arc<HubState>, settings: BatchSettings, mut stop: tokio::sync::watch::Receiver<bool>) {
    let owner = format!("hub-{}", uuid::Uuid::new_v4());
    let slots = Arc::new(Semaphore::new(settings.in_flight.max(1)));
    let callers: Arc<tokio::sync::Mutex<HashMap<String, Caller>>> = Arc::default();
    let mut tasks = JoinSet::new();
    let window = settings.in_flight.max(1);
    let mut queue: VecDeque<ClaimedItem> = VecDeque::with_capacity(window);
    tracing::info!(in_flight = settings.in_flight, "batch worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        if queue.len() <= window / 2 {
            let now = now_ms();
            match state
                .store
                .claim_batch_items(
                    &owner,
                    now,
                    now.saturating_add(ms(settings.lease)),
                    (window - queue.len()) as i64,
                )
                .await
            {
                Ok(c) => queue.extend(c),
                Err(e) => tracing::error!(error = %e, "cannot claim batch households"),
            }
        }
        if queue.is_empty() {
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(settings.poll) => {}
                _ = state.batch_wakeup.notified() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
            continue;
        }
        while !queue.is_empty() {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            let item = queue.pop_front().expect("not empty");
            let (state, settings, owner, callers) = (state.clone(), settings.clone(), owner.clone(), callers.clone());
            tasks.spawn(async move {
                run_item(&state, &settings, &owner, &callers, item).await;
                drop(permit);
            });
        }
        if !queue.is_empty() {
            // Every slot is taken: wait for a household to end.
            tokio::select! {
                _ = stop.changed() => {}
                Some(_) = tasks.join_next() => {}
            }
        }
    }
    tracing::info!(
        in_flight = tasks.len(),
        "batch worker: claiming no more; finishing the households in flight"
    );
    while tasks.join_next().await.is_some() {}
    match state.store.release_batch_leases(&owner).await {
        Ok(n) => tracing::info!(released = n, "batch worker stopped"),
        Err(e) => tracing::warn!(error = %e, "batch worker stopped; its leases run out on their own"),
    }
}

async fn caller_for(
    state: &HubState,
    callers: &tokio::sync::Mutex<HashMap<String, Caller>>,
    batch_id: &str,
) -> Result<Caller, HubError> {
    let mut map = callers.lock().await;
    if let Some(c) = map.get(batch_id) {
        return Ok(c.clone());
    }
    let (header, _) = state
        .store
        .get_batch_header(batch_id)
        .await?
        .ok_or_else(|| HubError::NotFound(batch_id.to_owned()))?;
    let c = crate::batch_service::creator_caller(&header);
    map.insert(batch_id.to_owned(), c.clone());
    Ok(c)
}

#[tracing::instrument(skip_all, fields(batch_id = %item.batch_id, seq = item.seq, attempt = item.attempts, request_id, record_id))]
async fn run_item(
    state: &HubState,
    settings: &BatchSettings,
    owner: &str,
    callers: &tokio::sync::Mutex<HashMap<String, Caller>>,
    item: ClaimedItem,
) {
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let final_without_record = |error: String| ItemOutcome {
        record_id: None,
        verdict: "NONE".into(),
        flagged: false,
        error,
    };
    let lease = ItemLease {
        batch_id: item.batch_id.clone(),
        seq: item.seq,
        owner: owner.to_owned(),
    };
    let mut req = match SubmitVerificationRequest::decode(item.request.as_slice()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "a stored batch household does not decode");
            let out = final_without_record(format!("stored request does not decode: {e}"));
            let _ = state
                .store
                .complete_batch_item(&item.batch_id, item.seq, owner, &out, &now())
                .await;
            return;
        }
    };
    req.idempotency_key = item_key(&item.batch_id, item.seq);
    let caller = match caller_for(state, callers, &item.batch_id).await {
        Ok(c) => c,
        Err(e) => return retry_later(state, settings, owner, &item, &format!("{e}")).await,
    };
    let defer_on_outage = item.attempts < i64::from(settings.max_attempts);
    let mode = Mode::Batch {
        defer_on_outage,
        lease: &lease,
    };
    let outcome = match state.run_submission(&caller, &req, mode).await {
        // Marked DONE with its record, in one transaction.
        Ok(Ran::Stored { item_done: true, .. }) => return,
        // Replayed from an earlier run: marked here.
        Ok(Ran::Stored { record, .. }) => ItemOutcome::of_record(&record),
        // Abandoned at shutdown: not the departments' fault, so no backoff;
        // the lease is handed back and another claim runs it again soon.
        Ok(Ran::Deferred { .. }) if state.drain.is_abandoning() => return,
        // Stopped at the closed gate: nobody was asked; likewise.
        Err(HubError::Draining(_)) => return,
        Ok(Ran::Deferred { missing }) => {
            let names: Vec<&str> = missing.iter().map(|d| slug(*d)).collect();
            let why = format!("no answer from {}", names.join(", "));
            return retry_later(state, settings, owner, &item, &why).await;
        }
        // The household was valid when added; if its authorization no
        // longer covers it (expired), nothing may be asked: it ends without
        // a record, with the reason.
        Err(HubError::Unauthorized(problems)) => {
            let reasons: Vec<String> = problems.iter().map(|p| p.reason.clone()).collect();
            let error = format!(
                "the authorization no longer covers this household: {}",
                reasons.join("; ")
            );
            log_refused(state, &caller, &item, &error).await;
            final_without_record(error)
        }
        Err(HubError::Invalid(v)) => {
            let error = v
                .violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; ");
            log_refused(state, &caller, &item, &error).await;
            final_without_record(error)
        }
        // The hub's own trouble (database, audit log): try again later.
        Err(e) => {
            tracing::error!(error = %e, "batch household failed on the hub side");
            return retry_later(state, settings, owner, &item, "hub error; retrying").await;
        }
    };
    match state
        .store
        .complete_batch_item(&item.batch_id, item.seq, owner, &outcome, &now())
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!("lease lost; another claim finishes this household with the same record"),
        Err(e) => tracing::error!(error = %e, "cannot mark a batch household done; its lease will run out"),
    }
}

async fn log_refused(state: &HubState, caller: &Caller, item: &ClaimedItem, _why: &str) {
    let mut e = crate::service::audit_entry(caller, "batch.household", "FAILED_PRECONDITION");
    // The reason may name fields, never persons; it is kept on the item.
    e.detail = format!("{}: ended without a record", item_key(&item.batch_id, item.seq));
    if let Err(err) = state.audit.append(vec![e]).await {
        tracing::error!(error = %err, "cannot log a refused batch household");
    }
}

async fn retry_later(state: &HubState, settings: &BatchSettings, owner: &str, item: &ClaimedItem, why: &str) {
    let wait = settings.backoff_after(item.attempts);
    let at = now_ms().saturating_add(ms(wait));
    tracing::info!(wait_ms = ms(wait), "batch household will be tried again");
    if let Err(e) = state
        .store
        .reschedule_batch_item(&item.batch_id, item.seq, owner, at, why)
        .await
    {
        tracing::error!(error = %e, "cannot reschedule a batch household; its lease will run out");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let s = BatchSettings {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(20),
            ..Default::default()
        };
        let waits: Vec<u64> = (1..=6).map(|a| s.backoff_after(a).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 20, 20]);
    }
}
