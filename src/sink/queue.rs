//! The bounded queue between `publish` and one sink's driver.
//!
//! `publish` pushes (the alert is in the spool, fsynced, when `accept` returns); the driver
//! takes a batch from the front, delivers it, then finishes it. The waiting alerts and their
//! spool live in [`Waiting`], behind a `std` mutex; every call that may touch disk runs on the
//! blocking pool (see [`blocking`]) so an fsync never stalls a runtime thread. Two `Notify`s
//! carry the wake-ups: one for the driver (an alert arrived), one for publishers blocked by a
//! full queue (space freed, or the queue closed).

use super::config::QueueConfig;
use super::error::SinkError;
use super::stats::{Counters, SinkStats};
use super::waiting::{Outcome, Pushed, Waiting};
use crate::alert::Alert;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// One sink's queue; shared by the router (pushing) and the sink's driver (taking).
#[derive(Debug)]
pub struct Queue {
    name: String,
    dir: PathBuf,
    waiting: Mutex<Waiting>,
    /// Wakes the driver; `notify_one` keeps a permit if the driver is busy, so none is lost.
    arrived: Notify,
    /// Wakes blocked publishers (`notify_waiters`; they register before looking).
    freed: Notify,
    counters: Counters,
}

/// Runs spool I/O on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(SinkError::Closed),
    }
}

impl Queue {
    /// Opens the queue of sink `name` in `dir`, with what an earlier run left waiting.
    pub fn open(name: &str, dir: &Path, config: &QueueConfig) -> Result<Queue, SinkError> {
        let waiting = Waiting::open(dir, config).map_err(|source| SinkError::Spool {
            sink: name.to_string(),
            path: dir.to_path_buf(),
            source,
        })?;
        let (count, _) = waiting.size();
        if count > 0 {
            tracing::info!(sink = name, waiting = count, "resuming spooled alerts");
        }
        Ok(Queue {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            waiting: Mutex::new(waiting),
            arrived: Notify::new(),
            freed: Notify::new(),
            counters: Counters::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // A panic while holding the lock leaves consistent data (every step is ordered so),
        // so poisoning is not a reason to stop delivering.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spool_err(&self, source: io::Error) -> SinkError {
        SinkError::Spool {
            sink: self.name.clone(),
            path: self.dir.clone(),
            source,
        }
    }

    /// Accepts an alert (`json` is its serialization): on `Ok(true)` it is in the spool,
    /// fsynced, or was already known. Waits while the queue is full under `block`. `Ok(false)`
    /// means the queue was closed (its sink removed or shut down) and did not take it.
    pub async fn accept(
        self: &Arc<Self>,
        alert: Arc<Alert>,
        json: Arc<Vec<u8>>,
    ) -> Result<bool, SinkError> {
        loop {
            // Registered before trying, so space freed in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let (queue, alert, json) = (Arc::clone(self), Arc::clone(&alert), Arc::clone(&json));
            let pushed = blocking(move || {
                let pushed = queue.lock().push(alert, &json);
                pushed.map_err(|e| queue.spool_err(e))
            })
            .await
            .inspect_err(|_| {
                // Not accepted: the caller (the alert stage) retries, which holds the
                // checkpoints and so the reading until the spool can be written again.
                self.counters.spool_failures.add(1);
            })?;
            match pushed {
                Pushed::Accepted { dropped } => {
                    self.counters.accepted.add(1);
                    if dropped > 0 {
                        self.counters.dropped.add(dropped as u64);
                        tracing::error!(
                            sink = %self.name,
                            dropped,
                            dropped_total = self.counters.dropped.get(),
                            "sink queue full: dropped the oldest waiting alerts"
                        );
                    }
                    self.arrived.notify_one();
                    return Ok(true);
                }
                Pushed::Known => {
                    self.counters.duplicates.add(1);
                    return Ok(true);
                }
                Pushed::Closed => return Ok(false),
                Pushed::Full => freed.await,
            }
        }
    }

    /// Waits until an alert may have arrived.
    pub async fn arrival(&self) {
        self.arrived.notified().await
    }

    /// Takes up to `max` alerts from the front for delivery, skipping any already delivered.
    pub async fn take(self: &Arc<Self>, max: usize) -> Result<Vec<Arc<Alert>>, SinkError> {
        let queue = Arc::clone(self);
        let (batch, skipped) = blocking(move || {
            let taken = queue.lock().take(max);
            taken.map_err(|e| queue.spool_err(e))
        })
        .await
        // Logged by the driver ("cannot read the sink queue"); counted here, with the writes.
        .inspect_err(|_| self.counters.spool_failures.add(1))?;
        if skipped > 0 {
            self.counters.duplicates.add(skipped as u64);
            self.freed.notify_waiters();
        }
        Ok(batch)
    }

    /// Ends the batch taken by [`Queue::take`].
    pub async fn finish(self: &Arc<Self>, outcome: Outcome) -> Result<(), SinkError> {
        let queue = Arc::clone(self);
        let result = blocking(move || {
            let finished = queue.lock().finish(outcome);
            finished.map_err(|e| queue.spool_err(e))
        })
        .await;
        match result {
            Ok(n) => {
                let counter = match outcome {
                    Outcome::Delivered => &self.counters.delivered,
                    Outcome::Rejected => &self.counters.rejected,
                };
                counter.add(n as u64);
            }
            // Logged by the driver ("cannot record a delivery in the spool").
            Err(_) => self.counters.spool_failures.add(1),
        }
        self.freed.notify_waiters();
        result.map(|_| ())
    }

    /// Gives the batch back after a failed attempt; it stays first in line.
    pub fn release(&self) {
        self.lock().release();
        self.counters.retries.add(1);
    }

    /// Counts an attempt abandoned at its timeout.
    pub fn timed_out(&self) {
        self.counters.timeouts.add(1);
    }

    /// Applies new queue settings (hot reload) without losing what is waiting.
    pub fn reconfigure(&self, config: &QueueConfig) -> Result<(), SinkError> {
        let result = self.lock().reconfigure(config);
        self.freed.notify_waiters();
        result.map_err(|e| self.spool_err(e))
    }

    /// Stops taking alerts: blocked and later `accept` calls return `Ok(false)`.
    pub fn close(&self) {
        self.lock().close();
        self.freed.notify_waiters();
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.lock().size().0 == 0
    }

    /// Waits until nothing is waiting: every alert accepted so far was delivered, refused
    /// for good or dropped.
    pub async fn wait_empty(&self) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.is_empty() {
                return;
            }
            freed.await;
        }
    }

    /// True when the waiting alerts would survive a crash.
    pub fn is_spooled(&self) -> bool {
        self.lock().is_spooled()
    }

    /// Counters and queue depth, for metrics.
    pub fn stats(&self) -> SinkStats {
        let (waiting, waiting_bytes) = self.lock().size();
        self.counters.snapshot(&self.name, waiting, waiting_bytes)
    }
}
