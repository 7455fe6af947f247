//! The alert stage: matches in, alerts to the sinks, checkpoints out.
//!
//! Results arrive from the workers out of order and are put back in sequence. For each
//! matched event: skip it if its `eventID` was already processed (a re-read after a crash, or
//! the same event delivered twice), run it through the dedup windows, and put each alert that
//! opens into the store's outbox.
//!
//! Everything the stage changes (windows, event ids, outbox, checkpoints) goes into the state
//! store's open transaction. A batch that opened alerts is committed at its end, and only then
//! are its alerts handed to the sinks (waiting until each sink has durably accepted them) and
//! taken out of the outbox; other batches are committed at most once per `commit_interval`.
//! A crash rolls back to a commit whose checkpoints describe exactly the windows, ids and
//! outbox beside it, and alerts still in the outbox are delivered at the next start. A commit
//! writes only what changed since the last one.

use super::metrics::Metrics;
use super::pipeline::Evaluated;
use super::windows::{self, LiveWindows};
use crate::alert::Alert;
use crate::sink::Router;
use crate::source::checkpoint::{Checkpoints, FilePosition};
use crate::store::{KeyUse, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Receiver;

/// Exit status when the state store cannot go on (its transaction was rolled back, or a write
/// failed mid-batch): the process restarts from the last commit, which loses nothing.
pub const EXIT_STATE: i32 = 75;

/// Free space the state directory's file system must keep for a commit to be attempted. SQLite
/// rolls a transaction back when the disk fills during its commit, and a rolled-back
/// transaction can only be recovered by a restart; waiting for room before committing avoids
/// that in the common case of a disk filling up gradually.
pub const COMMIT_RESERVE_BYTES: u64 = 64 << 20;

/// How often, at most, an eviction at `dedup.max_keys` is logged (each one is counted).
const EVICTION_LOG_INTERVAL: Duration = Duration::from_secs(60);

pub struct AlertStage {
    store: Store,
    /// Opened alerts written to the store's outbox, delivered once that write is committed.
    outbox: Vec<(i64, Alert)>,
    windows: LiveWindows,
    checkpoints: Checkpoints,
    router: Router,
    metrics: Arc<Metrics>,
    reorder: BTreeMap<u64, Evaluated>,
    next_seq: u64,
    evictions_unlogged: u64,
    last_eviction_log: Option<Instant>,
}

impl AlertStage {
    /// A stage that continues from what `store` holds.
    pub fn new(
        store: Store,
        router: Router,
        metrics: Arc<Metrics>,
    ) -> Result<AlertStage, StoreError> {
        let checkpoints = store.checkpoints()?;
        // Alerts a crash left in the outbox: committed with their windows, maybe not yet
        // delivered. They go out first (sinks skip the ones they already have).
        let mut outbox = Vec::new();
        for (seq, json) in store.outbox()? {
            let alert = serde_json::from_str(&json).map_err(|e| StoreError::BadRow {
                path: store.path().to_path_buf(),
                table: "outbox",
                key: seq.to_string(),
                detail: e.to_string(),
            })?;
            outbox.push((seq, alert));
        }
        metrics.note_store_size(store.window_keys(), store.window_bytes());
        Ok(AlertStage {
            store,
            outbox,
            windows: LiveWindows::default(),
            checkpoints,
            router,
            metrics,
            reorder: BTreeMap::new(),
            next_seq: 1,
            evictions_unlogged: 0,
            last_eviction_log: None,
        })
    }

    /// The checkpoints the stage starts from (what the sources resume at).
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// Runs until the workers' channel closes, then commits a last time.
    pub async fn run(
        mut self,
        mut input: Receiver<Evaluated>,
        commit_interval: Duration,
    ) -> Checkpoints {
        let mut ticker = tokio::time::interval(commit_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if let Err(e) = self.deliver_outbox().await {
            fatal(&e);
        }
        loop {
            tokio::select! {
                next = input.recv() => match next {
                    Some(evaluated) => {
                        self.reorder.insert(evaluated.seq, evaluated);
                        while let Some(ready) = self.reorder.remove(&self.next_seq) {
                            self.next_seq += 1;
                            if let Err(e) = self.process(ready).await {
                                fatal(&e);
                            }
                        }
                        self.metrics.checkpoint_lag_batches.store(self.reorder.len() as u64, Ordering::Relaxed);
                        self.metrics.pipeline_queue_depth.store(input.len() as u64, Ordering::Relaxed);
                    }
                    None => break,
                },
                _ = ticker.tick() => self.commit().await,
            }
        }
        self.commit().await;
        if let Err(e) = self.deliver_outbox().await {
            fatal(&e);
        }
        self.commit().await;
        self.checkpoints
    }

    async fn process(&mut self, evaluated: Evaluated) -> Result<(), StoreError> {
        for bad in &evaluated.bad {
            // `file` and `line` are stable field names for log shippers (docs/OPERATIONS.md).
            let line = match bad.place {
                Some(crate::event::reader::Place::Line(n)) => Some(n),
                _ => None,
            };
            tracing::warn!(file = %bad.path.display(), line, error = %bad, "skipped bad input");
        }
        let now_ms = wall_clock_ms();
        let mut opened = false;
        for hit in evaluated.hits {
            if let Some(id) = &hit.event_id {
                if self.store.seen_event(id)? {
                    self.metrics
                        .duplicate_events
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            for (index, shaped) in hit.rules {
                let rule = evaluated.rules.get(index);
                if !rule.create_alert {
                    continue;
                }
                let admitted = self.windows.admit(
                    &mut self.store,
                    rule,
                    shaped,
                    hit.event_time,
                    &hit.event,
                    now_ms,
                )?;
                self.note_eviction(admitted.key_use);
                if admitted.dropped_window {
                    self.metrics
                        .dedup_windows_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
                match admitted.outcome {
                    windows::Outcome::Opened(alert) => {
                        self.metrics.alerts_opened.fetch_add(1, Ordering::Relaxed);
                        self.metrics.facts.alert_opened();
                        let json = serde_json::to_string(&*alert).expect("alerts serialize");
                        let seq = self.store.outbox_put(&json)?;
                        self.outbox.push((seq, *alert));
                        opened = true;
                    }
                    windows::Outcome::Suppressed | windows::Outcome::Pending => {
                        self.metrics
                            .alerts_suppressed
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if let Some(id) = &hit.event_id {
                self.store.remember_event(id)?;
            }
        }
        if let Some(batch) = evaluated.batch {
            let position = FilePosition {
                fingerprint: batch.fingerprint,
                path: batch.path,
                offset: batch.offset,
                line: batch.line,
                done: batch.done,
            };
            self.store.set_checkpoint(&position)?;
            self.checkpoints.set(position);
        }
        self.metrics
            .note_store_size(self.store.window_keys(), self.store.window_bytes());
        // The batch's alerts are in the outbox, in the same transaction as their windows and
        // the batch's checkpoint. Commit now rather than at the next tick, so they go out
        // without waiting; they are delivered only once committed (see `store::outbox`).
        if opened {
            self.commit().await;
            self.deliver_outbox().await?;
        }
        Ok(())
    }

    /// Delivers every committed alert of the outbox, waiting until the sinks accept each, and
    /// removes it from the outbox (the removal is committed with the next commit).
    async fn deliver_outbox(&mut self) -> Result<(), StoreError> {
        for (seq, alert) in std::mem::take(&mut self.outbox) {
            deliver(&self.router, &alert).await;
            self.store.outbox_remove(seq)?;
        }
        Ok(())
    }

    /// Counts evictions at `dedup.max_keys` or `dedup.max_pending_bytes` and logs at most one
    /// line a minute about them.
    fn note_eviction(&mut self, key_use: KeyUse) {
        let KeyUse::Evicted(keys) = key_use else {
            return;
        };
        let Some((rule_id, dedup)) = keys.last() else {
            return;
        };
        self.metrics
            .dedup_keys_evicted
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        self.evictions_unlogged += keys.len() as u64;
        if self
            .last_eviction_log
            .is_none_or(|t| t.elapsed() >= EVICTION_LOG_INTERVAL)
        {
            tracing::warn!(
                evicted = self.evictions_unlogged,
                // The last key evicted: `rule_id` is a stable field name for log shippers.
                rule_id = %rule_id,
                dedup = %dedup,
                keys = self.store.window_keys(),
                bytes = self.store.window_bytes(),
                "dedup.max_keys or dedup.max_pending_bytes reached: least recently used dedup keys evicted (a later match on one may alert again)"
            );
            self.evictions_unlogged = 0;
            self.last_eviction_log = Some(Instant::now());
        }
    }

    /// Commits what changed since the last commit. While the disk has less than
    /// [`COMMIT_RESERVE_BYTES`] free, or a commit fails with the transaction still open, the stage
    /// waits and retries with back-off, which pauses reading; a transaction SQLite rolled back
    /// ends the process (see [`EXIT_STATE`]).
    async fn commit(&mut self) {
        if !self.store.uncommitted() {
            return;
        }
        let mut wait = Duration::from_millis(200);
        loop {
            match self.store.free_bytes() {
                Ok(free) if free < COMMIT_RESERVE_BYTES => {
                    self.metrics
                        .state_commit_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        free_bytes = free,
                        reserve_bytes = COMMIT_RESERVE_BYTES,
                        retry_in = ?wait,
                        "the state directory's disk is almost full: reading is paused until it has room to commit"
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                    continue;
                }
                _ => {}
            }
            let result = tokio::task::block_in_place(|| {
                let expired = self.store.expire_idle(wall_clock_ms())?;
                self.store.commit().map(|()| expired)
            });
            match result {
                Ok(expired) => {
                    self.metrics
                        .checkpoint_commits
                        .fetch_add(1, Ordering::Relaxed);
                    self.metrics
                        .dedup_keys_expired
                        .fetch_add(expired, Ordering::Relaxed);
                    self.metrics
                        .note_store_size(self.store.window_keys(), self.store.window_bytes());
                    // `/status` measures how far behind each source is from what is durable.
                    let positions = self.checkpoints.iter();
                    let positions = positions.map(|p| (p.path.clone(), p.offset, p.done));
                    self.metrics.facts.committed(positions.collect());
                    return;
                }
                Err(e @ StoreError::RolledBack { .. }) => fatal(&e),
                Err(e) => {
                    self.metrics
                        .state_commit_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, retry_in = ?wait, "cannot commit the state store; reading is paused until it can");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

/// Hands an alert to the sinks, retrying until they accept it: the checkpoint must not move
/// past an alert no sink has taken.
pub async fn deliver(router: &Router, alert: &Alert) {
    let mut wait = Duration::from_millis(100);
    loop {
        match router.publish(alert).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(alert_id = %alert.alert_id, error = %e, "sinks did not accept an alert; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}

fn wall_clock_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The store cannot continue this run: what was done since the last commit is not durable, and
/// only a restart from that commit is safe (sinks have spooled every alert they accepted, and
/// their delivered-id records keep a re-read from notifying twice).
fn fatal(e: &StoreError) -> ! {
    tracing::error!(error = %e, "state store failure: exiting so that the service restarts from the last commit");
    std::process::exit(EXIT_STATE)
}
