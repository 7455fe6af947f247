//! The router: fans alerts out to the running sinks, and swaps the set on reload.
//!
//! Each sink runs as a [`Running`]. The set sits behind an `ArcSwap`, so `publish` takes a snapshot without a lock and a reload
//! swaps in a whole new set at once: a publish sees either the old set or the new one.
//! A queue belongs to a sink *name* and outlives config changes, so a changed sink carries
//! its waiting alerts over to its new driver.
//!
//! Dropping the last `Router` aborts every driver, as a crash would; the spools keep what was
//! accepted and not yet delivered. [`Router::shutdown`] is the orderly way out.

use super::config::SinkSpec;
use super::driver::Mode;
use super::queue::Queue;
use super::running::{open_queue, Running};
use super::stats::SinkStats;
use super::SinkError;
use crate::alert::Alert;
use arc_swap::ArcSwap;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// How long a reload lets a removed sink deliver what it still holds. Anything left stays in
/// its spool and goes out if a sink of that name comes back.
const REMOVED_SINK_DRAIN: Duration = Duration::from_secs(5);

/// The running sinks. Cheap to clone; clones share the same sinks.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    state_dir: PathBuf,
    running: ArcSwap<Vec<Arc<Running>>>,
    /// One reload at a time: a reload awaits old drivers, and two interleaved would race.
    reloading: tokio::sync::Mutex<()>,
    accepting: AtomicBool,
}

fn check_names(specs: &[SinkSpec]) -> Result<(), SinkError> {
    let mut seen = HashSet::new();
    for spec in specs {
        if !seen.insert(spec.name.as_str()) {
            return Err(SinkError::setup(&spec.name, "two sinks have this name"));
        }
    }
    Ok(())
}

impl Router {
    /// Starts one driver per sink, each with its own bounded queue and on-disk spool in
    /// `state_dir/spool/NAME/`. Alerts already in a spool from an earlier run go first.
    pub async fn start(specs: Vec<SinkSpec>, state_dir: &Path) -> Result<Router, SinkError> {
        check_names(&specs)?;
        let mut running = Vec::with_capacity(specs.len());
        for spec in specs {
            let queue = open_queue(state_dir, &spec).await?;
            running.push(Arc::new(Running::prepare(spec, queue)?));
        }
        running.iter().for_each(|r| r.set(Mode::Run));
        for r in &running {
            tracing::info!(sink = %r.spec.name, kind = r.spec.config.type_name(), "sink started");
        }
        Ok(Router {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_path_buf(),
                running: ArcSwap::from_pointee(running),
                reloading: tokio::sync::Mutex::new(()),
                accepting: AtomicBool::new(true),
            }),
        })
    }

    /// Hands `alert` to every sink whose filters accept it. Returns once each of those sinks
    /// has durably accepted it: written and fsynced to its spool, or queued if it has no
    /// spool. Only then may the caller advance its source checkpoints.
    pub async fn publish(&self, alert: &Alert) -> Result<(), SinkError> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(SinkError::Closed);
        }
        // A short-lived snapshot: arc-swap guards are not meant to be held across awaits.
        let targets: Vec<Arc<Queue>> = (self.inner.running.load().iter())
            .filter(|r| r.filter.accepts(alert))
            .map(|r| r.queue.clone())
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let json = Arc::new(serde_json::to_vec(alert).map_err(|e| {
            SinkError::permanent(format!(
                "alert {} cannot be serialized: {e}",
                alert.alert_id
            ))
        })?);
        let alert = Arc::new(alert.clone());
        // Concurrently: a sink blocked on a full queue must not delay the others' fsyncs.
        let mut accepts = JoinSet::new();
        for queue in targets {
            let (alert, json) = (alert.clone(), json.clone());
            accepts.spawn(async move { queue.accept(alert, json).await });
        }
        let mut outcome = Ok(());
        while let Some(joined) = accepts.join_next().await {
            let result = match joined {
                Ok(r) => r,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(SinkError::Closed),
            };
            match result {
                Ok(true) => {}
                // Closed under our feet: by a reload (the sink is gone, nothing to do) or by
                // shutdown (the alert was not accepted; the caller must not checkpoint).
                Ok(false) if self.inner.accepting.load(Ordering::Acquire) => {}
                Ok(false) => outcome = outcome.and(Err(SinkError::Closed)),
                Err(e) => outcome = outcome.and(Err(e)),
            }
        }
        outcome
    }

    /// Replaces the set of sinks (hot reload): unchanged sinks keep running, removed ones are
    /// drained and stopped, changed and new ones started. On error the old set keeps running.
    pub async fn reload(&self, specs: Vec<SinkSpec>) -> Result<(), SinkError> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        check_names(&specs)?;
        let current = self.inner.running.load_full();
        let find = |name: &str| current.iter().find(|r| r.spec.name == name).cloned();
        let mut next = Vec::with_capacity(specs.len());
        let mut started = Vec::new();
        let mut replaced = Vec::new();
        // Everything that can fail happens before anything changes.
        for spec in specs {
            match find(&spec.name) {
                Some(old) if old.spec == spec => next.push(old),
                Some(old) => {
                    let new = Arc::new(Running::prepare(spec, old.queue.clone())?);
                    replaced.push((old, new.clone()));
                    next.push(new);
                }
                None => {
                    let queue = open_queue(&self.inner.state_dir, &spec).await?;
                    let new = Arc::new(Running::prepare(spec, queue)?);
                    started.push(new.clone());
                    next.push(new);
                }
            }
        }
        let names: HashSet<&str> = next.iter().map(|r| r.spec.name.as_str()).collect();
        let removed: Vec<Arc<Running>> = current
            .iter()
            .filter(|r| !names.contains(r.spec.name.as_str()))
            .cloned()
            .collect();
        self.inner.running.store(Arc::new(next));

        let far = tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
        for (old, new) in replaced {
            // Two drivers must never take from one queue: the old one ends (after the send in
            // progress) before the new one starts.
            old.set(Mode::Stop);
            old.join(far).await;
            if let Err(e) = new.queue.reconfigure(new.spec.config.delivery().queue) {
                tracing::error!(sink = %new.spec.name, error = %e, "cannot apply new queue settings");
            }
            new.set(Mode::Run);
            tracing::info!(sink = %new.spec.name, "sink reconfigured");
        }
        for new in started {
            new.set(Mode::Run);
            tracing::info!(sink = %new.spec.name, kind = new.spec.config.type_name(), "sink started");
        }
        let deadline = tokio::time::Instant::now() + REMOVED_SINK_DRAIN;
        for old in removed {
            old.queue.close();
            old.set(Mode::Drain);
            let drained = old.join(deadline).await;
            tracing::info!(sink = %old.spec.name, drained, "sink removed");
        }
        Ok(())
    }

    /// Tells file sinks to reopen their files before their next write (logrotate; SIGHUP
    /// and SIGUSR1).
    pub fn reopen_files(&self) {
        for r in self.inner.running.load().iter() {
            r.reopen.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stops accepting, delivers what it can until `deadline`, and leaves the rest in the
    /// spools for the next start.
    pub async fn shutdown(self, deadline: Duration) {
        self.inner.accepting.store(false, Ordering::Release);
        let running = self.inner.running.load_full();
        for r in running.iter() {
            r.queue.close();
            r.set(Mode::Drain);
        }
        let deadline = tokio::time::Instant::now() + deadline;
        for r in running.iter() {
            r.join(deadline).await;
            let stats = r.queue.stats();
            if stats.waiting == 0 {
                continue;
            }
            if r.queue.is_spooled() {
                tracing::info!(sink = %r.spec.name, waiting = stats.waiting,
                    "undelivered alerts stay in the spool for the next start");
            } else {
                tracing::warn!(sink = %r.spec.name, lost = stats.waiting,
                    "sink has no spool: undelivered alerts are lost");
            }
        }
    }

    /// Waits until every sink's queue is empty: everything published so far has been
    /// delivered, refused for good or dropped. Waits for ever on a sink that cannot deliver.
    pub async fn wait_idle(&self) {
        let running = self.inner.running.load_full();
        for r in running.iter() {
            r.queue.wait_empty().await;
        }
    }

    /// [`Router::wait_idle`] for one sink; returns at once for a name not running.
    pub async fn wait_sink_idle(&self, name: &str) {
        let running = self.inner.running.load_full();
        if let Some(r) = running.iter().find(|r| r.spec.name == name) {
            r.queue.wait_empty().await;
        }
    }

    /// Per-sink counters, in configuration order.
    pub fn stats(&self) -> Vec<SinkStats> {
        self.inner
            .running
            .load()
            .iter()
            .map(|r| r.queue.stats())
            .collect()
    }

    /// The names of the running sinks, in configuration order.
    pub fn sink_names(&self) -> Vec<String> {
        let running = self.inner.running.load();
        running.iter().map(|r| r.spec.name.clone()).collect()
    }
}
