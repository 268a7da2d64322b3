//! Per-department limits: how many queries may be in flight at once, and
//! how many may start per second.
//!
//! Each department client holds one [`Limiter`]; every query, interactive or
//! batch, takes a concurrency permit and then a rate token before it leaves
//! the hub. Batch queries also pass a second, smaller gate (one permit
//! fewer, when the limit allows), so a running batch never takes the last
//! slot: an interactive verification always finds room, batch households
//! queue behind it.
//!
//! The rate limit is a small token bucket written here rather than the
//! `governor` crate: one `Mutex<(tokens, last refill)>` is all it needs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Default number of queries in flight per department.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;
/// Default number of queries started per second per department.
pub const DEFAULT_MAX_RATE_PER_S: f64 = 50.0;

/// The limits of one department.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepartmentLimits {
    /// Queries in flight at once, at least 1.
    pub max_concurrency: usize,
    /// Queries started per second, more than 0.
    pub max_rate_per_s: f64,
}

impl Default for DepartmentLimits {
    fn default() -> Self {
        Self {
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_rate_per_s: DEFAULT_MAX_RATE_PER_S,
        }
    }
}

/// Who is asking: a caseworker waiting at the counter, or a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A caseworker's SubmitVerification.
    Interactive,
    /// A batch household; yields to interactive queries.
    Batch,
}

/// Enforces one department's limits.
#[derive(Debug)]
pub struct Limiter {
    slots: Arc<Semaphore>,
    batch_slots: Arc<Semaphore>,
    rate: f64,
    bucket: std::sync::Mutex<(f64, Instant)>,
}

/// Held while a query is in flight.
#[derive(Debug)]
pub struct Permit {
    _slot: OwnedSemaphorePermit,
    _batch: Option<OwnedSemaphorePermit>,
}

impl Limiter {
    /// A limiter for `limits` (values below the minimum are raised to it).
    pub fn new(limits: DepartmentLimits) -> Self {
        let n = limits.max_concurrency.max(1);
        let rate = if limits.max_rate_per_s > 0.0 {
            limits.max_rate_per_s
        } else {
            DEFAULT_MAX_RATE_PER_S
        };
        Self {
            slots: Arc::new(Semaphore::new(n)),
            batch_slots: Arc::new(Semaphore::new(if n > 1 { n - 1 } else { 1 })),
            rate,
            // The bucket holds at most one second's worth (at least one token).
            bucket: std::sync::Mutex::new((rate.max(1.0), Instant::now())),
        }
    }

    /// Waits for a slot and a token.
    pub async fn acquire(&self, priority: Priority) -> Permit {
        let batch = match priority {
            Priority::Batch => Some(
                self.batch_slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed"),
            ),
            Priority::Interactive => None,
        };
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        self.token().await;
        Permit {
            _slot: slot,
            _batch: batch,
        }
    }

    async fn token(&self) {
        while let Some(wait) = self.take(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token at `now`, or says how long until one is there.
    fn take(&self, now: Instant) -> Option<Duration> {
        let mut b = self.bucket.lock().expect("the bucket lock is never poisoned");
        let capacity = self.rate.max(1.0);
        b.0 = (b.0 + now.saturating_duration_since(b.1).as_secs_f64() * self.rate).min(capacity);
        b.1 = b.1.max(now);
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            return None;
        }
        Some(Duration::from_secs_f64((1.0 - b.0) / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_gives_one_second_of_tokens_then_refills_at_the_rate() {
        let l = Limiter::new(DepartmentLimits {
            max_concurrency: 100,
            max_rate_per_s: 10.0,
        });
        let t0 = l.bucket.lock().unwrap().1;
        let taken = (0..50).filter(|_| l.take(t0).is_none()).count();
        assert_eq!(taken, 10);
        // A tenth of a second later there is exactly one more.
        let t1 = t0 + Duration::from_millis(100);
        assert!(l.take(t1).is_none());
        assert!(l.take(t1).is_some());
        // After a long pause the bucket holds one second's worth, no more.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..50).filter(|_| l.take(t2).is_none()).count(), 10);
    }

    #[tokio::test]
    async fn a_batch_leaves_one_slot_for_interactive_queries() {
        let l = Limiter::new(DepartmentLimits {
            max_concurrency: 3,
            max_rate_per_s: 1000.0,
        });
        let a = l.acquire(Priority::Batch).await;
        let b = l.acquire(Priority::Batch).await;
        // A third batch query waits; an interactive one gets the last slot.
        assert_eq!(l.batch_slots.available_permits(), 0);
        let i = l.acquire(Priority::Interactive).await;
        assert_eq!(l.slots.available_permits(), 0);
        drop((a, b, i));
        assert_eq!(l.slots.available_permits(), 3);
        assert_eq!(l.batch_slots.available_permits(), 2);
    }
}
