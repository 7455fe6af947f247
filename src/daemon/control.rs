//! One control path: signals and file changes become [`Control`] messages.
//!
//! SIGHUP and an edit under `rules.d/`, `sinks.d/` or of the config file produce the same
//! `Reload`; SIGTERM and SIGINT the same `Shutdown`; SIGUSR1 asks file sinks to reopen their
//! files (logrotate). File events are debounced: an editor's save is a burst of create, write
//! and rename events, and one reload after the burst is what the operator meant.

use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Reload,
    ReopenFiles,
    Shutdown,
}

/// How long file events must settle before a reload.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// True for paths whose change can alter the loaded configuration (not editor swap or backup
/// files, which come and go while a file is being edited).
fn relevant(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp"))
}

/// Starts listening. `dirs` are watched recursively (rules.d, sinks.d); each of `files` (the
/// config file) through its directory, since editors replace files by renaming onto them.
/// The returned watcher must be kept alive for file events to arrive.
pub fn start(
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
) -> std::io::Result<(mpsc::Receiver<Control>, notify::RecommendedWatcher)> {
    let (tx, rx) = mpsc::channel(16);
    let (file_tx, mut file_rx) = mpsc::unbounded_channel::<()>();
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let watched_dirs: Vec<PathBuf> = dirs.iter().map(absolute).collect();
    let watched_files: Vec<PathBuf> = files.iter().map(absolute).collect();
    let (event_dirs, event_files) = (watched_dirs.clone(), watched_files.clone());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            if event.kind.is_access() {
                return;
            }
            // Only changes to the rules, the sinks or the config file itself count: the
            // config file's directory may also hold state or logs that change all the time.
            let ours = |p: &PathBuf| {
                relevant(p)
                    && (event_dirs.iter().any(|d| p.starts_with(d)) || event_files.contains(p))
            };
            if event.paths.iter().any(ours) {
                let _ = file_tx.send(());
            }
        }
    })
    .map_err(std::io::Error::other)?;
    for dir in &watched_dirs {
        if let Err(e) = watcher.watch(dir, RecursiveMode::Recursive) {
            tracing::warn!(path = %dir.display(), error = %e, "cannot watch for changes; SIGHUP still reloads");
        }
    }
    for file in &watched_files {
        let dir = file.parent().unwrap_or(Path::new("/"));
        if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(path = %dir.display(), error = %e, "cannot watch for changes; SIGHUP still reloads");
        }
    }
    let reload_tx = tx.clone();
    tokio::spawn(async move {
        while file_rx.recv().await.is_some() {
            // Let the burst settle.
            loop {
                match tokio::time::timeout(DEBOUNCE, file_rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            if reload_tx.send(Control::Reload).await.is_err() {
                return;
            }
        }
    });
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                _ = hup.recv() => Control::Reload,
                _ = usr1.recv() => Control::ReopenFiles,
                _ = term.recv() => Control::Shutdown,
                _ = int.recv() => Control::Shutdown,
            };
            if tx.send(message).await.is_err() {
                return;
            }
        }
    });
    Ok((rx, watcher))
}
