//! `trailwatch run`: the long-running daemon.
//!
//! ```text
//! source thread ──batches──► worker threads ──results──► alert stage ──alerts──► sinks
//!   (notify + rescan)          (RuleSet via ArcSwap)       (order, dedup,          (spool,
//!                                                           checkpoints)            retry)
//! control: SIGHUP / file edits ─► reload (setup::load, then apply or keep) ; SIGTERM ─► shutdown
//! ```
//!
//! Shutdown stops the source only; every later stage ends when its input channel closes, so
//! whatever was read is evaluated, delivered and checkpointed before the process exits. A
//! panic outside one record's evaluation ends the process instead (`supervise`), and the
//! systemd watchdog is fed only while the pipeline makes progress or is idle.

pub mod alerts;
pub mod control;
pub mod endpoint;
pub mod event_lag;
pub mod metrics;
pub mod pipeline;
mod reload;
pub mod setup;
pub mod status;
pub mod supervise;
pub mod systemd;
pub mod windows;

use crate::rule::RuleSet;
use crate::sink::Router;
use crate::source::watch::{self, Settings};
use crate::source::Limits;
use anyhow::Context;
use arc_swap::ArcSwap;
use control::Control;
use metrics::Metrics;
use reload::{apply_rules, Running};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use systemd::Notifier;

/// How long shutdown may take to flush sinks before giving up (alerts stay spooled).
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);
/// How often /healthz re-checks pipeline progress when systemd asks for no watchdog.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(15);
/// How many recent eventIDs the store remembers (first in, first out) to skip re-read events.
const EVENT_ID_MEMORY: u64 = 200_000;
/// How often state is committed while running.
const COMMIT_INTERVAL: Duration = Duration::from_millis(500);

/// A configuration problem found at start: the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config_path: Option<PathBuf>) -> anyhow::Result<()> {
    // Config or sink errors refuse the start with every error listed; broken rule files are
    // reported and skipped (the policy is in `setup`).
    let loaded =
        setup::load(config_path.as_deref(), &[]).map_err(|e| StartupError(e.to_string()))?;
    let config = loaded.config.clone();
    let notifier = Notifier::from_env();
    let metrics = Arc::new(Metrics::default());
    metrics.set_source_roots(
        &config
            .sources
            .iter()
            .map(|s| s.path.clone())
            .collect::<Vec<_>>(),
    );
    // Owner-only, whatever the umask: the store holds event content and the spools' alerts.
    crate::durable::create_dir(&config.state_dir)
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

    let rules = Arc::new(ArcSwap::from_pointee(RuleSet::new(Vec::new())));
    if !config.sinks_dir.exists() {
        tracing::warn!(dir = %config.sinks_dir.display(), "no sinks directory: alerts will only be counted");
    }
    tracing::info!(sinks = loaded.sinks.len(), dir = %config.sinks_dir.display(), "sinks loaded");
    let router = Router::start(loaded.sinks.clone(), &config.state_dir)
        .await
        .context("starting sinks")?;
    let running_rules = apply_rules(&loaded, &rules, &router, &metrics).await;

    let store = crate::store::Store::open(
        &config.state_dir,
        crate::store::Bounds {
            max_keys: config.dedup.max_keys,
            event_ids: EVENT_ID_MEMORY,
            max_window_bytes: config.dedup.max_pending_bytes,
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
    let progress = Arc::new(supervise::Progress::default());
    let workers = pipeline::spawn(
        cores,
        source_rx,
        result_tx,
        rules.clone(),
        metrics.clone(),
        progress.clone(),
    );
    let stage_task = tokio::spawn(async move {
        if supervise::test_panic_stage("alert") {
            panic!("TRAILWATCH_TEST_PANIC_STAGE=alert");
        }
        stage.run(result_rx, COMMIT_INTERVAL).await
    });

    let settings = Settings {
        sources: config.sources.clone(),
        limits: Limits {
            max_line_bytes: config.max_line_bytes,
            ..Limits::default()
        },
        rescan_interval: Duration::from_secs(2),
        incomplete_grace: Duration::from_secs(10),
        max_open_files: 256,
        open_file_retries: metrics.open_file_retries.clone(),
    };
    let roots: Vec<PathBuf> = config.sources.iter().map(|s| s.path.clone()).collect();
    metrics.facts.event_clock.watch(&roots);
    let source = watch::spawn(settings, resume, source_tx).map_err(StartupError)?;

    // The watchdog (if systemd wants one) and /healthz follow pipeline progress, never a
    // free-running timer: a stalled pipeline goes quiet and unhealthy, and systemd restarts it.
    let healthy = Arc::new(AtomicBool::new(true));
    let watchdog = Notifier::watchdog_interval();
    let sinks = router.clone();
    tokio::spawn(supervise::watch_progress(
        progress,
        move || sinks.stats().iter().any(|s| s.waiting > 0),
        watchdog.unwrap_or(HEALTH_CHECK_INTERVAL),
        watchdog.map(|_| Notifier::from_env()),
        healthy.clone(),
    ));

    if !config.metrics.listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.metrics.listen)
            .await
            .map_err(|e| StartupError(format!("metrics.listen {}: {e}", config.metrics.listen)))?;
        tracing::info!(listen = %listener.local_addr()?, "metrics endpoint up");
        let sinks = router.clone();
        let sink_stats = Arc::new(move || metrics::render_sinks(&sinks.stats()));
        let (sinks, for_status, sources) =
            (router.clone(), metrics.clone(), config.sources.clone());
        let status: endpoint::StatusView = Arc::new(move |healthy| {
            let document = status::document(&for_status, &sources, &sinks.stats(), healthy);
            serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
        });
        tokio::spawn(endpoint::serve(
            listener,
            metrics.clone(),
            sink_stats,
            status,
            healthy,
        ));
    }

    let (mut controls, _watcher) = control::start(
        vec![config.rules_dir.clone(), config.sinks_dir.clone()],
        config_path.iter().cloned().collect(),
    )?;

    let running = Running {
        config_path,
        rules,
        running_rules: std::sync::Mutex::new(running_rules),
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
