//! The kit's sandbox source: the sandbox's answers, after a delay that can
//! be changed while the adapters run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hedui_adapter::{SandboxSource, Source, SourceError, ValidatedQuery};
use hedui_proto::v1::{DescribeResponse, QueryResponse};
use rand_core::RngCore as _;

/// How long the kit's sandbox adapters take to answer: `latency ± jitter`
/// (uniform), and, when timed, the longest time any department spent on
/// each request.
#[derive(Debug, Default)]
pub struct Delay {
    setting: Mutex<(Duration, Duration)>,
    served: Option<Mutex<HashMap<String, Duration>>>,
}

impl Delay {
    /// Every answer after `latency`.
    pub fn fixed(latency: Duration) -> Arc<Delay> {
        Arc::new(Delay {
            setting: Mutex::new((latency, Duration::ZERO)),
            served: None,
        })
    }

    /// No delay until [`Delay::set`]; every request's slowest department
    /// is kept for [`Delay::take_served`].
    pub fn timed() -> Arc<Delay> {
        Arc::new(Delay {
            setting: Mutex::default(),
            served: Some(Mutex::default()),
        })
    }

    /// From now on, answers take `latency ± jitter`.
    pub fn set(&self, latency: Duration, jitter: Duration) {
        *self.setting.lock().unwrap_or_else(PoisonError::into_inner) = (latency, jitter);
    }

    /// The longest a department spent on `request_id` (the delay and the
    /// sandbox's answer), forgotten once taken; `None` when not timed.
    pub fn take_served(&self, request_id: &str) -> Option<Duration> {
        self.served
            .as_ref()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(request_id)
    }

    fn next(&self) -> Duration {
        let (latency, jitter) = *self.setting.lock().unwrap_or_else(PoisonError::into_inner);
        if jitter.is_zero() {
            return latency;
        }
        let span = jitter.as_micros() as u64 * 2 + 1;
        let offset = rand_core::OsRng.next_u64() % span;
        (latency + Duration::from_micros(offset)).saturating_sub(jitter)
    }
}

/// A department of the sandbox, answering after the kit's [`Delay`] if any.
pub(crate) struct Sandboxed {
    pub(crate) inner: SandboxSource,
    pub(crate) delay: Option<Arc<Delay>>,
}

impl Source for Sandboxed {
    fn describe(&self) -> DescribeResponse {
        self.inner.describe()
    }

    async fn query(&self, query: &ValidatedQuery) -> Result<QueryResponse, SourceError> {
        let Some(delay) = &self.delay else {
            return self.inner.query(query).await;
        };
        let started = Instant::now();
        let wait = delay.next();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let answer = self.inner.query(query).await;
        if let Some(served) = &delay.served {
            let took = started.elapsed();
            let mut served = served.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = served.entry(query.request_id.to_string()).or_default();
            *slot = (*slot).max(took);
        }
        answer
    }
}
