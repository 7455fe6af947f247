//! The alert stage: matches in, alerts to the sinks, checkpoints out.
//!
//! Results arrive from the workers out of order and are put back in sequence. For each
//! matched event: skip it if its `eventID` was already processed (a re-read after a crash, or
//! the same event delivered twice), run it through the dedup windows, and hand each alert that
//! opens to the sinks, waiting until every sink has durably accepted it. Only then does the
//! file's checkpoint move past the batch. State is committed at most once per
//! `commit_interval` and at the end, all in one file.

use super::metrics::Metrics;
use super::pipeline::Evaluated;
use super::state::{self, State};
use super::windows::{LiveWindows, Outcome};
use crate::alert::Alert;
use crate::sink::Router;
use crate::source::checkpoint::{Checkpoints, FilePosition};
use moka::sync::Cache;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

/// How many recent eventIDs are remembered.
const EVENT_ID_WINDOW: usize = 200_000;

pub struct AlertStage {
    windows: LiveWindows,
    seen: Cache<String, ()>,
    /// The same ids in arrival order, to save the most recent ones.
    recent: VecDeque<String>,
    checkpoints: Checkpoints,
    router: Router,
    metrics: Arc<Metrics>,
    state_dir: PathBuf,
    reorder: BTreeMap<u64, Evaluated>,
    next_seq: u64,
    dirty: bool,
    /// Commits cost time in proportion to the state (a million dedup keys make a large file):
    /// the next one waits at least ten times as long as the last one took, so writing state
    /// never takes more than a tenth of the alert stage's time.
    next_commit: Option<std::time::Instant>,
}

impl AlertStage {
    pub fn new(
        state: State,
        max_keys: u64,
        router: Router,
        metrics: Arc<Metrics>,
        state_dir: PathBuf,
    ) -> AlertStage {
        let windows = LiveWindows::new(max_keys);
        windows.restore(state.windows);
        let seen = Cache::new(EVENT_ID_WINDOW as u64);
        for id in &state.event_ids {
            seen.insert(id.clone(), ());
        }
        AlertStage {
            windows,
            seen,
            recent: state.event_ids.into(),
            checkpoints: state.checkpoints,
            router,
            metrics,
            state_dir,
            reorder: BTreeMap::new(),
            next_seq: 1,
            dirty: false,
            next_commit: None,
        }
    }

    /// Runs until the workers' channel closes, then commits a last time.
    pub async fn run(
        mut self,
        mut input: Receiver<Evaluated>,
        commit_interval: Duration,
    ) -> Checkpoints {
        let mut ticker = tokio::time::interval(commit_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                next = input.recv() => match next {
                    Some(evaluated) => {
                        self.reorder.insert(evaluated.seq, evaluated);
                        while let Some(ready) = self.reorder.remove(&self.next_seq) {
                            self.next_seq += 1;
                            self.process(ready).await;
                        }
                        self.metrics.checkpoint_lag_batches.store(self.reorder.len() as u64, Ordering::Relaxed);
                        self.metrics.pipeline_queue_depth.store(input.len() as u64, Ordering::Relaxed);
                    }
                    None => break,
                },
                _ = ticker.tick() => {
                    if self.next_commit.is_none_or(|t| std::time::Instant::now() >= t) {
                        self.commit();
                    }
                }
            }
        }
        self.commit();
        self.checkpoints
    }

    async fn process(&mut self, evaluated: Evaluated) {
        for bad in &evaluated.bad {
            tracing::warn!(input = %bad, "skipped bad input");
        }
        for hit in evaluated.hits {
            if let Some(id) = &hit.event_id {
                if self.seen.contains_key(id) {
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
                match self.windows.admit(rule, shaped, hit.event_time, &hit.event) {
                    Outcome::Opened(alert) => {
                        self.metrics.alerts_opened.fetch_add(1, Ordering::Relaxed);
                        self.deliver(&alert).await;
                    }
                    Outcome::Suppressed | Outcome::Pending => {
                        self.metrics
                            .alerts_suppressed
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if let Some(id) = hit.event_id {
                self.remember(id);
            }
        }
        if let Some(batch) = evaluated.batch {
            self.checkpoints.set(FilePosition {
                fingerprint: batch.fingerprint,
                path: batch.path,
                offset: batch.offset,
                line: batch.line,
                done: batch.done,
            });
            self.dirty = true;
        }
    }

    fn remember(&mut self, id: String) {
        self.seen.insert(id.clone(), ());
        self.recent.push_back(id);
        while self.recent.len() > EVENT_ID_WINDOW {
            self.recent.pop_front();
        }
        self.dirty = true;
    }

    /// Hands an alert to the sinks, retrying until they accept it: the checkpoint must not move
    /// past an alert no sink has taken.
    pub async fn deliver(&self, alert: &Alert) {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.router.publish(alert).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(alert_id = %alert.alert_id, error = %e, "sinks did not accept an alert; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn commit(&mut self) {
        if !self.dirty {
            return;
        }
        let started = std::time::Instant::now();
        let state = State {
            version: state::VERSION,
            checkpoints: self.checkpoints.clone(),
            windows: self.windows.snapshot(),
            event_ids: self.recent.iter().cloned().collect(),
        };
        let dir = self.state_dir.clone();
        // A short blocking write; block_in_place keeps the runtime's other tasks moving.
        match tokio::task::block_in_place(|| state::save(&dir, &state)) {
            Ok(()) => {
                self.dirty = false;
                self.next_commit = Some(std::time::Instant::now() + started.elapsed() * 10);
                self.metrics
                    .checkpoint_commits
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(error = %e, "cannot write the state file; will retry"),
        }
    }
}
