//! A circuit breaker per department.
//!
//! A department that keeps failing (no answer in time, unreachable, or
//! answering garbage) is not asked again for a while: calls fail fast as
//! UNAVAILABLE with a detail that says the breaker is open and until when,
//! instead of each one waiting out the deadline. After the cool-down one
//! probe call is let through; if it succeeds the breaker closes, otherwise
//! it opens again for twice as long, up to a ceiling. So a partner's outage
//! costs the hub almost nothing, and its recovery is noticed on its own.
//!
//! The state machine is pure: every method takes the current `Instant`, so
//! tests drive the clock.

use std::time::{Duration, Instant};

/// When the breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker; 0 disables it.
    pub failures_to_open: u32,
    /// How long it stays open the first time.
    pub cool_down: Duration,
    /// The longest it stays open after repeated failed probes.
    pub max_cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failures_to_open: 5,
            cool_down: Duration::from_secs(10),
            max_cool_down: Duration::from_secs(300),
        }
    }
}

/// What the breaker says about a call about to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Make the call.
    Call,
    /// Make the call: it is the probe after a cool-down.
    Probe,
    /// Do not call; the breaker is open for this much longer.
    Open {
        /// Time left until a probe is allowed.
        retry_in: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cool_down: Duration,
    },
    /// A probe is under way; other calls fail fast until it ends.
    Probing {
        cool_down: Duration,
    },
}

/// One department's breaker.
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings,
            state: State::Closed { failures: 0 },
        }
    }

    /// Whether a call may be made now.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Call,
            State::Open { until, cool_down } if now >= until => {
                self.state = State::Probing { cool_down };
                Admission::Probe
            }
            State::Open { until, .. } => Admission::Open { retry_in: until - now },
            // The probe decides; meanwhile nobody else waits on the partner.
            State::Probing { cool_down } => Admission::Open { retry_in: cool_down },
        }
    }

    /// Records the outcome of a call that was admitted.
    pub fn record(&mut self, succeeded: bool, now: Instant) {
        if self.settings.failures_to_open == 0 {
            return;
        }
        self.state = match (self.state, succeeded) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) => {
                let failures = failures + 1;
                if failures >= self.settings.failures_to_open {
                    State::Open {
                        until: now + self.settings.cool_down,
                        cool_down: self.settings.cool_down,
                    }
                } else {
                    State::Closed { failures }
                }
            }
            (State::Probing { cool_down }, false) => {
                let cool_down = (cool_down * 2).min(self.settings.max_cool_down);
                State::Open {
                    until: now + cool_down,
                    cool_down,
                }
            }
            // A call admitted before the breaker opened finished late.
            (open @ State::Open { .. }, false) => open,
        };
    }

    /// True while calls fail fast.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            failures_to_open: 3,
            cool_down: Duration::from_secs(10),
            max_cool_down: Duration::from_secs(25),
        }
    }

    #[test]
    fn it_opens_after_consecutive_failures_only() {
        let t = Instant::now();
        let mut b = Breaker::new(settings());
        b.record(false, t);
        b.record(false, t);
        b.record(true, t); // a success resets the count
        b.record(false, t);
        b.record(false, t);
        assert_eq!(b.admit(t), Admission::Call);
        b.record(false, t);
        assert!(b.is_open());
        assert_eq!(
            b.admit(t + Duration::from_secs(4)),
            Admission::Open {
                retry_in: Duration::from_secs(6)
            }
        );
    }

    #[test]
    fn one_probe_after_the_cool_down_and_it_closes_on_success() {
        let t = Instant::now();
        let mut b = Breaker::new(settings());
        for _ in 0..3 {
            b.record(false, t);
        }
        let later = t + Duration::from_secs(10);
        assert_eq!(b.admit(later), Admission::Probe);
        // While the probe runs, others fail fast.
        assert!(matches!(b.admit(later), Admission::Open { .. }));
        b.record(true, later);
        assert!(!b.is_open());
        assert_eq!(b.admit(later), Admission::Call);
    }

    #[test]
    fn a_failed_probe_doubles_the_cool_down_up_to_the_ceiling() {
        let t = Instant::now();
        let mut b = Breaker::new(settings());
        for _ in 0..3 {
            b.record(false, t);
        }
        let t1 = t + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admission::Probe);
        b.record(false, t1);
        assert_eq!(
            b.admit(t1),
            Admission::Open {
                retry_in: Duration::from_secs(20)
            }
        );
        let t2 = t1 + Duration::from_secs(20);
        assert_eq!(b.admit(t2), Admission::Probe);
        b.record(false, t2);
        // 40 s would exceed the 25 s ceiling.
        assert_eq!(
            b.admit(t2),
            Admission::Open {
                retry_in: Duration::from_secs(25)
            }
        );
    }

    #[test]
    fn zero_failures_to_open_disables_it() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerSettings {
            failures_to_open: 0,
            ..settings()
        });
        for _ in 0..100 {
            b.record(false, t);
        }
        assert_eq!(b.admit(t), Admission::Call);
    }
}
