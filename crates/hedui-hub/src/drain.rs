//! Drain, then stop: the gate every fan-out passes.
//!
//! A hub asked to stop (SIGTERM, or the shutdown future of
//! [`crate::Application::run_until`]) first reports NOT_SERVING for the
//! drain delay while it still serves, so load balancers move away. Then it
//! [`Drain::close`]s this gate: no new fan-out starts (a submission or
//! re-check that reaches the gate gets UNAVAILABLE, and the batch worker
//! stops claiming), and the fan-outs already through it run to the end,
//! writing their `source.query` entries, within a bounded grace. Those
//! still running when the grace is over are [`Drain::abandon`]ed: every
//! department not yet answered ends at once as UNAVAILABLE with a detail
//! starting with [`crate::fanout::ABANDONED`], and its `source.query` entry
//! says ABANDONED. So a query that reached a department always has its
//! entry, and nothing is asked after the gate closed.

use std::sync::Arc;

use tokio::sync::watch;

/// Where the hub is in its shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Fan-outs may start.
    Open,
    /// No new fan-out; those in flight finish.
    Closed,
    /// The grace is over: fan-outs in flight stop waiting for answers.
    Abandoning,
}

/// The gate. Cheap to clone; all clones are one gate.
#[derive(Clone)]
pub struct Drain(Arc<Inner>);

struct Inner {
    phase: watch::Sender<Phase>,
    in_flight: watch::Sender<usize>,
}

impl Default for Drain {
    fn default() -> Self {
        Drain(Arc::new(Inner {
            phase: watch::Sender::new(Phase::Open),
            in_flight: watch::Sender::new(0),
        }))
    }
}

impl std::fmt::Debug for Drain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("phase", &*self.0.phase.borrow())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

/// The hub is shutting down and starts no new fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hub is shutting down and starts no new verification; no department was asked")]
pub struct Draining;

/// One fan-out through the gate; dropping it counts it as finished.
#[derive(Debug)]
pub struct FanOut(Drain);

impl Drop for FanOut {
    fn drop(&mut self) {
        self.0.0.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Drain {
    /// Lets one fan-out through, or refuses once the gate is closed. Hold
    /// the returned guard until the fan-out's entries are written.
    pub fn enter(&self) -> Result<FanOut, Draining> {
        // Counted first, then checked: a `close` racing with this either
        // sees the count (and waits for it) or is seen here (and refuses).
        self.0.in_flight.send_modify(|n| *n += 1);
        let guard = FanOut(self.clone());
        if *self.0.phase.borrow() != Phase::Open {
            return Err(Draining);
        }
        Ok(guard)
    }

    /// Closes the gate: no new fan-out.
    pub fn close(&self) {
        self.0.phase.send_if_modified(|p| {
            let open = *p == Phase::Open;
            if open {
                *p = Phase::Closed;
            }
            open
        });
    }

    /// Closes the gate if it is open, and abandons the fan-outs in flight.
    pub fn abandon(&self) {
        self.0.phase.send_if_modified(|p| {
            let changed = *p != Phase::Abandoning;
            *p = Phase::Abandoning;
            changed
        });
    }

    /// True once the gate is closed (or abandoning).
    pub fn is_closed(&self) -> bool {
        *self.0.phase.borrow() != Phase::Open
    }

    /// True once fan-outs in flight are abandoned.
    pub fn is_abandoning(&self) -> bool {
        *self.0.phase.borrow() == Phase::Abandoning
    }

    /// Fan-outs through the gate and not yet finished.
    pub fn in_flight(&self) -> usize {
        *self.0.in_flight.borrow()
    }

    /// Resolves when fan-outs in flight are abandoned (never, unless
    /// [`Drain::abandon`] is called).
    pub async fn abandoned(&self) {
        let mut rx = self.0.phase.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|p| *p == Phase::Abandoning).await;
    }

    /// Resolves when no fan-out is in flight.
    pub async fn idle(&self) {
        let mut rx = self.0.in_flight.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Closes the gate, waits up to `grace` for the fan-outs in flight, then
    /// abandons the rest and waits up to `abandon_wait` for them to write
    /// their entries. Returns how many were abandoned, and how many were
    /// still running at the very end (0 unless the database is stuck).
    pub async fn close_and_wait(
        &self,
        grace: std::time::Duration,
        abandon_wait: std::time::Duration,
    ) -> (usize, usize) {
        self.close();
        let waiting = self.in_flight();
        tracing::info!(
            in_flight = waiting,
            grace_s = grace.as_secs_f64(),
            "drain: no new fan-out; waiting for those in flight"
        );
        if tokio::time::timeout(grace, self.idle()).await.is_ok() {
            return (0, 0);
        }
        let abandoned = self.in_flight();
        tracing::warn!(
            abandoned,
            "drain: grace over; abandoning the fan-outs in flight (their source.query entries say ABANDONED)"
        );
        self.abandon();
        if tokio::time::timeout(abandon_wait, self.idle()).await.is_ok() {
            return (abandoned, 0);
        }
        let stuck = self.in_flight();
        tracing::error!(stuck, "drain: fan-outs did not end after being abandoned");
        (abandoned, stuck)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_closed_gate_refuses_and_waits_for_those_inside() {
        let d = Drain::default();
        let inside = d.enter().unwrap();
        assert_eq!(d.in_flight(), 1);
        d.close();
        assert_eq!(d.enter().unwrap_err(), Draining);
        assert_eq!(d.in_flight(), 1, "a refused entry is not counted");
        let waiter = tokio::spawn({
            let d = d.clone();
            async move { d.close_and_wait(Duration::from_secs(60), Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        drop(inside);
        assert_eq!(waiter.await.unwrap(), (0, 0));
        assert!(!d.is_abandoning());
    }

    #[tokio::test]
    async fn after_the_grace_the_ones_inside_are_abandoned() {
        let d = Drain::default();
        let inside = d.enter().unwrap();
        let fan_out = tokio::spawn({
            let d = d.clone();
            async move {
                // A fan-out that would wait for ever, but gives up when
                // abandoned, then writes its entries and leaves.
                d.abandoned().await;
                drop(inside);
            }
        });
        let (abandoned, stuck) = d
            .close_and_wait(Duration::from_millis(1), Duration::from_secs(60))
            .await;
        assert_eq!((abandoned, stuck), (1, 0));
        assert!(d.is_abandoning() && d.is_closed());
        fan_out.await.unwrap();
        assert_eq!(d.in_flight(), 0);
    }
}
