//! `trailwatch run`: the long-running daemon.
//!
//! ```text
//! source thread ──batches──► worker threads ──results──► alert stage ──alerts──► sinks
//!   (notify + rescan)          (RuleSet via ArcSwap)       (order, dedup,          (spool,
//!                                                           checkpoints)            retry)
//! control: SIGHUP / file edits ─► reload (validate all, swap or keep) ; SIGTERM ─► shutdown
//! ```
//!
//! Shutdown stops the source only; every later stage ends when its input channel closes, so
//! whatever was read is evaluated, delivered and checkpointed before the process exits.

pub mod alerts;
pub mod control;
pub mod metrics;
pub mod pipeline;
pub mod systemd;
pub mod windows;

use crate::alert::Alert;
use crate::config::Config;
use crate::rule::{self, RuleSet};
use crate::sink::{self, Router};
use crate::source::watch::{self, Settings};
use crate::source::Limits;
use anyhow::Context;
use arc_swap::ArcSwap;
use control::Control;
use metrics::Metrics;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use systemd::Notifier;

/// How long shutdown may take to flush sinks before giving up (alerts stay spooled).
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);
/// How many recent eventIDs the store remembers (first in, first out) to skip re-read events.
const EVENT_ID_MEMORY: u64 = 200_000;
/// How often state is committed while running.
const COMMIT_INTERVAL: Duration = Duration::from_millis(500);

/// A configuration problem found at start: the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

struct Running {
    config: Config,
    config_path: Option<PathBuf>,
    rules: Arc<ArcSwap<RuleSet>>,
    router: Router,
    metrics: Arc<Metrics>,
    notifier: Notifier,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let config = Config::load(config_path.as_deref()).map_err(|e| StartupError(e.to_string()))?;
    let notifier = Notifier::from_env();
    let metrics = Arc::new(Metrics::default());
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("cannot create state_dir {}", config.state_dir.display()))?;
    let _lock = crate::store::lock(&config.state_dir).map_err(|e| StartupError(e.to_string()))?;
    for source in &config.sources {
        if config_path.is_none() {
            // The built-in default inbox is created so `trailwatch run` works in a fresh checkout.
            let _ = std::fs::create_dir_all(&source.path);
        }
        if !source.path.exists() {
            tracing::warn!(path = %source.path.display(), "source path does not exist yet; it is watched for");
        }
    }

    let loaded = rule::load(std::slice::from_ref(&config.rules_dir));
    for e in &loaded.errors {
        tracing::error!("{e}");
    }
    let set = RuleSet::new(loaded.rules.into_iter().map(|l| l.rule).collect());
    tracing::info!(rules = set.len(), hash = %loaded.hash, dir = %config.rules_dir.display(), "rules loaded");
    metrics
        .rules_loaded
        .store(set.len() as u64, Ordering::Relaxed);
    *metrics.rules_hash.lock().unwrap_or_else(|e| e.into_inner()) = loaded.hash.clone();
    let rules = Arc::new(ArcSwap::from_pointee(set));

    if !config.sinks_dir.exists() {
        tracing::warn!(dir = %config.sinks_dir.display(), "no sinks directory: alerts will only be counted");
    }
    let specs = load_sinks(&config.sinks_dir).map_err(|errors| {
        StartupError(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    tracing::info!(sinks = specs.len(), dir = %config.sinks_dir.display(), "sinks loaded");
    let router = Router::start(specs, &config.state_dir)
        .await
        .context("starting sinks")?;

    let store = crate::store::Store::open(
        &config.state_dir,
        crate::store::Bounds {
            max_keys: config.dedup.max_keys,
            event_ids: EVENT_ID_MEMORY,
        },
    )
    .map_err(|e| StartupError(e.to_string()))?;
    let stage = alerts::AlertStage::new(store, router.clone(), metrics.clone())
        .map_err(|e| StartupError(e.to_string()))?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let resume = stage.checkpoints().clone();
    tracing::info!(files = resume.len(), "checkpoints restored");

    // Channel bounds: enough batches in flight to keep every core busy, few enough that a
    // burst where every event matches (each then held fully parsed) stays small in memory.
    let (source_tx, source_rx) = std::sync::mpsc::sync_channel(2 * cores);
    let (result_tx, result_rx) = tokio::sync::mpsc::channel(2 * cores);
    let workers = pipeline::spawn(cores, source_rx, result_tx, rules.clone(), metrics.clone());
    let stage_task = tokio::spawn(stage.run(result_rx, COMMIT_INTERVAL));

    let settings = Settings {
        sources: config.sources.clone(),
        limits: Limits::default(),
        rescan_interval: Duration::from_secs(2),
        incomplete_grace: Duration::from_secs(10),
        max_open_files: 256,
        open_file_retries: metrics.open_file_retries.clone(),
    };
    let source = watch::spawn(settings, resume, source_tx).map_err(StartupError)?;

    if !config.metrics.listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.metrics.listen)
            .await
            .map_err(|e| StartupError(format!("metrics.listen {}: {e}", config.metrics.listen)))?;
        tracing::info!(listen = %listener.local_addr()?, "metrics endpoint up");
        let sinks = router.clone();
        let sink_stats = Arc::new(move || metrics::render_sinks(&sinks.stats()));
        tokio::spawn(metrics::serve(listener, metrics.clone(), sink_stats));
    }

    let (mut controls, _watcher) = control::start(
        vec![config.rules_dir.clone(), config.sinks_dir.clone()],
        config_path.iter().cloned().collect(),
    )?;
    if let Some(interval) = Notifier::watchdog_interval() {
        let dog = Notifier::from_env();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                dog.watchdog();
            }
        });
    }

    let running = Running {
        config,
        config_path,
        rules,
        router,
        metrics,
        notifier,
    };
    running.notifier.ready();
    tracing::info!("trailwatch running");
    while let Some(message) = controls.recv().await {
        match message {
            Control::Reload => running.reload().await,
            Control::ReopenFiles => running.router.reopen_files(),
            Control::Shutdown => break,
        }
    }

    running.notifier.stopping();
    tracing::info!("shutting down: stopping sources, draining the pipeline");
    tokio::task::spawn_blocking(move || {
        source.stop();
        for w in workers {
            let _ = w.join();
        }
    })
    .await?;
    let checkpoints = stage_task.await?;
    tracing::info!(files = checkpoints.len(), "checkpoints written");
    running.router.shutdown(SHUTDOWN_DEADLINE).await;
    tracing::info!("stopped");
    Ok(())
}

/// The sinks in `dir`; a missing directory means no sinks.
fn load_sinks(dir: &std::path::Path) -> Result<Vec<sink::SinkSpec>, Vec<crate::error::Located>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    sink::load_dir(dir)
}

impl Running {
    /// Loads and validates everything; swaps it in whole, or keeps what runs.
    async fn reload(&self) {
        self.notifier.reloading();
        let mut errors: Vec<String> = Vec::new();
        if let Some(path) = &self.config_path {
            if let Err(e) = Config::load(Some(path)) {
                errors.push(e.to_string());
            }
        }
        let loaded = rule::load(std::slice::from_ref(&self.config.rules_dir));
        errors.extend(loaded.errors.iter().map(ToString::to_string));
        let specs = match load_sinks(&self.config.sinks_dir) {
            Ok(specs) => Some(specs),
            Err(e) => {
                errors.extend(e.iter().map(ToString::to_string));
                None
            }
        };
        if !errors.is_empty() {
            self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
            for e in &errors {
                tracing::error!("{e}");
            }
            tracing::error!(
                errors = errors.len(),
                "reload rejected; the running rules and sinks are kept"
            );
            let mut context = Map::new();
            context.insert("errors".into(), Value::from(errors.clone()));
            let alert = Alert::internal(
                "trailwatch.reload_failed",
                format!("trailwatch reload failed: {} error(s)", errors.len()),
                errors.join("\n"),
                context,
            );
            if let Err(e) = self.router.publish(&alert).await {
                tracing::error!(error = %e, "cannot deliver the reload_failed alert");
            }
            self.notifier.ready();
            return;
        }
        if let Some(specs) = specs {
            if let Err(e) = self.router.reload(specs).await {
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "sink reload failed; the running sinks are kept");
            }
        }
        let set = RuleSet::new(loaded.rules.into_iter().map(|l| l.rule).collect());
        let count = set.len();
        self.rules.store(Arc::new(set));
        self.metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .rules_loaded
            .store(count as u64, Ordering::Relaxed);
        *self
            .metrics
            .rules_hash
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = loaded.hash.clone();
        tracing::info!(rules = count, hash = %loaded.hash, "reloaded");
        self.notifier.ready();
    }
}
