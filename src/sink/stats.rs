//! Per-sink counters, for the daemon's `/metrics` and for tests.
//!
//! Plain relaxed atomics: each counter is read on its own, never as a consistent set, so no
//! ordering between them is needed. The delivery counters also stamp the wall-clock time of
//! the last success and failure (for `trailwatch status`): the stamps live here, behind the
//! same `add` the queue already calls, so the delivery code needs no extra bookkeeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One monotonically increasing count, optionally reporting each addition to [`Outcomes`].
#[derive(Debug, Default)]
pub struct Counter {
    count: AtomicU64,
    reports: Option<(Arc<Outcomes>, bool)>,
}

impl Counter {
    /// A counter whose additions are delivery successes (`true`) or failures for `outcomes`.
    fn reporting(outcomes: &Arc<Outcomes>, success: bool) -> Counter {
        Counter {
            count: AtomicU64::new(0),
            reports: Some((outcomes.clone(), success)),
        }
    }

    pub fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
        if let Some((outcomes, success)) = &self.reports {
            outcomes.note(*success, unix_ms());
        }
    }

    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// When a sink last delivered and last failed, in Unix milliseconds (0: never).
#[derive(Debug, Default)]
pub struct Outcomes {
    last_delivery_ms: AtomicU64,
    last_error_ms: AtomicU64,
    /// The first failure since the last delivery (0 while deliveries succeed).
    failing_since_ms: AtomicU64,
}

impl Outcomes {
    fn note(&self, success: bool, now_ms: u64) {
        if success {
            self.last_delivery_ms.store(now_ms, Ordering::Relaxed);
            self.failing_since_ms.store(0, Ordering::Relaxed);
        } else {
            self.last_error_ms.store(now_ms, Ordering::Relaxed);
            // Only the first failure of a run starts the clock; later ones leave it.
            let _ = self.failing_since_ms.compare_exchange(
                0,
                now_ms,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The live counters of one sink's queue.
#[derive(Debug)]
pub struct Counters {
    pub accepted: Counter,
    pub delivered: Counter,
    pub duplicates: Counter,
    pub dropped: Counter,
    pub rejected: Counter,
    pub retries: Counter,
    pub timeouts: Counter,
    pub spool_failures: Counter,
    outcomes: Arc<Outcomes>,
}

impl Default for Counters {
    /// Deliveries count as successes; refusals and retried attempts as failures.
    fn default() -> Self {
        let outcomes = Arc::new(Outcomes::default());
        Counters {
            accepted: Counter::default(),
            delivered: Counter::reporting(&outcomes, true),
            duplicates: Counter::default(),
            dropped: Counter::default(),
            rejected: Counter::reporting(&outcomes, false),
            retries: Counter::reporting(&outcomes, false),
            timeouts: Counter::default(),
            spool_failures: Counter::default(),
            outcomes,
        }
    }
}

/// A snapshot of one sink's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStats {
    pub name: String,
    /// Alerts waiting for delivery now.
    pub waiting: usize,
    /// Their size in bytes (what `queue.max_bytes` bounds).
    pub waiting_bytes: u64,
    /// Alerts taken into the queue since start.
    pub accepted: u64,
    /// Alerts delivered since start.
    pub delivered: u64,
    /// Alerts skipped because their id was already waiting or delivered.
    pub duplicates: u64,
    /// Alerts dropped by `full_policy: drop_oldest`.
    pub dropped: u64,
    /// Alerts the endpoint refused for good (a permanent error).
    pub rejected: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// Attempts abandoned at `retry.attempt_timeout_secs` (also counted in `retries`).
    pub timeouts: u64,
    /// Spool operations that failed (ENOSPC, EIO): an append (the alert was not accepted, the
    /// caller retries), a read of the queue or the record of a finished delivery (the driver
    /// retries).
    pub spool_failures: u64,
    /// Unix milliseconds of the last delivery (0: none since start).
    pub last_delivery_ms: u64,
    /// Unix milliseconds of the last failed or refused attempt (0: none since start).
    pub last_error_ms: u64,
    /// Unix milliseconds of the first failure since the last delivery (0: not failing).
    pub failing_since_ms: u64,
}

impl Counters {
    pub fn snapshot(&self, name: &str, waiting: usize, waiting_bytes: u64) -> SinkStats {
        SinkStats {
            name: name.to_string(),
            waiting,
            waiting_bytes,
            accepted: self.accepted.get(),
            delivered: self.delivered.get(),
            duplicates: self.duplicates.get(),
            dropped: self.dropped.get(),
            rejected: self.rejected.get(),
            retries: self.retries.get(),
            timeouts: self.timeouts.get(),
            spool_failures: self.spool_failures.get(),
            last_delivery_ms: self.outcomes.last_delivery_ms.load(Ordering::Relaxed),
            last_error_ms: self.outcomes.last_error_ms.load(Ordering::Relaxed),
            failing_since_ms: self.outcomes.failing_since_ms.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_since_starts_at_the_first_failure_and_clears_on_delivery() {
        let outcomes = Outcomes::default();
        outcomes.note(false, 10);
        outcomes.note(false, 20);
        assert_eq!(outcomes.failing_since_ms.load(Ordering::Relaxed), 10);
        assert_eq!(outcomes.last_error_ms.load(Ordering::Relaxed), 20);
        outcomes.note(true, 30);
        assert_eq!(outcomes.failing_since_ms.load(Ordering::Relaxed), 0);
        assert_eq!(outcomes.last_delivery_ms.load(Ordering::Relaxed), 30);
    }

    #[test]
    fn queue_counters_stamp_deliveries_and_retries() {
        let counters = Counters::default();
        counters.retries.add(1);
        let failing = counters.snapshot("s", 1, 10);
        assert!(failing.failing_since_ms > 0 && failing.last_delivery_ms == 0);
        counters.delivered.add(1);
        let ok = counters.snapshot("s", 0, 0);
        assert_eq!((ok.failing_since_ms, ok.delivered), (0, 1));
        assert!(ok.last_delivery_ms >= failing.last_error_ms);
    }
}
