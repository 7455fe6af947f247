//! Per-sink counters, for the daemon's `/metrics` and for tests.
//!
//! Plain relaxed atomics: each counter is read on its own, never as a consistent set, so no
//! ordering between them is needed.

use std::sync::atomic::{AtomicU64, Ordering};

/// One monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The live counters of one sink's queue.
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: Counter,
    pub delivered: Counter,
    pub duplicates: Counter,
    pub dropped: Counter,
    pub rejected: Counter,
    pub retries: Counter,
    pub timeouts: Counter,
    pub spool_failures: Counter,
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
    /// Spool writes that failed (ENOSPC, EIO): the alert was not accepted, the caller retries.
    pub spool_failures: u64,
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
        }
    }
}
