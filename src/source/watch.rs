//! The discovery loop: which files exist, and what is new in them.
//!
//! It runs on its own thread (file I/O is blocking and this keeps it off the async runtime).
//! notify events wake it as soon as a file changes; a full rescan every `rescan_interval` is
//! the safety net, because notify can overflow its queue and can miss files created in a
//! directory before the watch on that directory was in place. Batches go to the pipeline
//! through a bounded channel: when the pipeline is busy, reading waits (backpressure).

use super::checkpoint::Checkpoints;
use super::delivery::{self, Shape};
use super::fingerprint::{FileKey, Fingerprint};
use super::open_files::OpenFiles;
use super::tail::Tail;
use super::{Batch, Limits};
use crate::config::{ReadFrom, SourceConfig};
use crate::event::reader::{self, BadInput};
use crate::files::Follow;
use globset::{Glob, GlobSet, GlobSetBuilder};
use notify::{RecursiveMode, Watcher};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How the sources are read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sources: Vec<SourceConfig>,
    pub limits: Limits,
    pub rescan_interval: Duration,
    /// How long a cut-short delivery file must stay unchanged before it is called corrupt.
    pub incomplete_grace: Duration,
    /// Bound on tailed files holding a descriptor at once (see [`super::open_files`]).
    pub max_open_files: usize,
    /// Counts each EMFILE/ENFILE met while opening a file (`trailwatch_open_file_retries_total`).
    pub open_file_retries: Arc<AtomicU64>,
}

/// What the pipeline receives.
#[derive(Debug)]
pub enum SourceEvent {
    Batch(Batch),
    /// A file (not a record) that could not be read.
    Bad(BadInput),
}

/// A running discovery thread.
pub struct SourceHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SourceHandle {
    /// Stops reading new data; returns once the thread has ended (its channel then closes).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) struct Root {
    pub(super) path: PathBuf,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    read_from: ReadFrom,
    ignore_older: Option<Duration>,
    pub(super) follow: Follow,
}

fn globs(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("bad glob `{p}`: {e}"))?);
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

impl Root {
    fn wants(&self, path: &Path) -> bool {
        let rel = path.strip_prefix(&self.path).unwrap_or(path);
        let name = Path::new(path.file_name().unwrap_or_default());
        let hit = |set: &GlobSet| set.is_match(rel) || set.is_match(name);
        let included = match &self.include {
            Some(set) => hit(set),
            None => reader::is_log_file(path),
        };
        included && !self.exclude.as_ref().is_some_and(hit)
    }
}

pub(super) struct Pending {
    pub(super) fingerprint: Fingerprint,
    pub(super) path: PathBuf,
    pub(super) seen: (u64, Option<SystemTime>),
    pub(super) unchanged_since: Instant,
}

pub(super) struct Loop {
    pub(super) roots: Vec<Root>,
    pub(super) settings: Settings,
    pub(super) out: SyncSender<SourceEvent>,
    pub(super) tails: HashMap<FileKey, Tail>,
    pub(super) pending: HashMap<FileKey, Pending>,
    pub(super) done: HashMap<FileKey, PathBuf>,
    pub(super) resume: Checkpoints,
    pub(super) first_scan: bool,
    pub(super) budget: OpenFiles,
    /// Set when descriptors ran out during a poll: some files wait to be read, so the loop
    /// polls again on its next tick instead of waiting for the next change or rescan.
    pub(super) starved: bool,
    /// Paths refused by their root's symlink policy, reported once each.
    pub(super) refused: HashSet<PathBuf>,
}

/// Starts the discovery thread. `resume` holds the committed checkpoints.
pub fn spawn(
    settings: Settings,
    resume: Checkpoints,
    out: SyncSender<SourceEvent>,
) -> Result<SourceHandle, String> {
    let roots = settings
        .sources
        .iter()
        .map(|s| {
            Ok(Root {
                // notify reports absolute paths; roots must be absolute to be compared with them.
                path: std::path::absolute(&s.path).unwrap_or_else(|_| s.path.clone()),
                include: globs(&s.include)?,
                exclude: globs(&s.exclude)?,
                read_from: s.read_from,
                ignore_older: s.ignore_older_secs.map(Duration::from_secs),
                follow: s.follow_symlinks,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let (notify_tx, notify_rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Our own directory walks show up as access events; reacting to them would feed a
        // loop that floods (and overflows) the inotify queue. Only changes matter.
        if let Ok(event) = res {
            if !event.kind.is_access() {
                let _ = notify_tx.send(event.paths);
            }
        }
    })
    .map_err(|e| format!("cannot start the file watcher: {e}"))?;
    let stop_flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("trailwatch-sources".into())
        .spawn(move || {
            let budget =
                OpenFiles::new(settings.max_open_files, settings.open_file_retries.clone());
            let mut state = Loop {
                roots,
                budget,
                starved: false,
                refused: HashSet::new(),
                settings,
                out,
                tails: HashMap::new(),
                pending: HashMap::new(),
                done: HashMap::new(),
                resume,
                first_scan: true,
            };
            let mut watched: Vec<PathBuf> = Vec::new();
            let mut next_scan = Instant::now();
            while !stop_flag.load(Ordering::SeqCst) {
                if Instant::now() >= next_scan {
                    for root in &state.roots {
                        if !watched.contains(&root.path)
                            && watcher.watch(&root.path, RecursiveMode::Recursive).is_ok()
                        {
                            watched.push(root.path.clone());
                        }
                    }
                    state.scan();
                    next_scan = Instant::now() + state.settings.rescan_interval;
                }
                let wait = next_scan
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(200));
                match notify_rx.recv_timeout(wait) {
                    Ok(paths) => {
                        let mut changed = paths;
                        while let Ok(more) = notify_rx.try_recv() {
                            changed.extend(more);
                        }
                        state.changed(changed);
                    }
                    Err(RecvTimeoutError::Timeout) if state.starved => state.poll_all(),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        })
        .map_err(|e| format!("cannot start the source thread: {e}"))?;
    Ok(SourceHandle {
        stop,
        thread: Some(thread),
    })
}

impl Loop {
    pub(super) fn send(&self, event: SourceEvent) {
        // The receiver only goes away at shutdown, when losing this send is fine: the
        // checkpoint was not advanced past it.
        let _ = self.out.send(event);
    }

    /// Walks every root and polls every known file.
    fn scan(&mut self) {
        tracing::trace!(tails = self.tails.len(), "scan");
        let mut seen: HashMap<FileKey, PathBuf> = HashMap::new();
        let mut complete = true;
        for i in 0..self.roots.len() {
            let mut files = Vec::new();
            let (root, follow) = (self.roots[i].path.clone(), self.roots[i].follow);
            if let Err(e) = self.walk(&root, follow, &mut files) {
                let root = self.roots[i].path.clone();
                self.budget.exhausted(&root, &e);
                self.starved = true;
                complete = false;
            }
            for path in files {
                if let Some(key) = self.consider(i, &path) {
                    seen.insert(key, path);
                }
            }
        }
        self.first_scan = false;
        if !complete {
            // A directory could not be listed for want of a descriptor: its files are not
            // gone, only unseen. Forget nothing this time.
            self.poll_all();
            return;
        }
        // Files gone from every root: finish tails (a renamed file may still hold lines),
        // forget the rest.
        let gone: Vec<FileKey> = self
            .tails
            .keys()
            .filter(|k| !seen.contains_key(k))
            .copied()
            .collect();
        for key in gone {
            if let Some(mut tail) = self.tails.remove(&key) {
                if tail.is_open() {
                    self.drain(&mut tail);
                    self.budget.closed();
                }
            }
        }
        self.pending.retain(|k, _| seen.contains_key(k));
        self.done.retain(|k, _| seen.contains_key(k));
        self.poll_all();
    }

    /// Handles paths notify reported.
    fn changed(&mut self, paths: Vec<PathBuf>) {
        tracing::trace!(?paths, "changed");
        for path in paths {
            if path.is_dir() {
                let mut files = Vec::new();
                // Incomplete for want of descriptors: the next rescan lists it again.
                let follow = self.root_of_dir(&path).map_or(Follow::Never, |r| r.follow);
                let _ = self.walk(&path, follow, &mut files);
                for f in files {
                    if let Some(i) = self.root_of(&f) {
                        self.consider(i, &f);
                    }
                }
            } else if let Some(i) = self.root_of(&path) {
                self.consider(i, &path);
            }
        }
        self.poll_all();
    }

    fn root_of(&self, path: &Path) -> Option<usize> {
        self.roots
            .iter()
            .position(|r| path.starts_with(&r.path) && r.wants(path))
    }

    /// Starts tracking `path` if it is new. Returns its key when it is a wanted file.
    fn consider(&mut self, root: usize, path: &Path) -> Option<FileKey> {
        if !self.roots[root].wants(path) {
            return None;
        }
        let metadata = std::fs::metadata(path).ok()?;
        if !metadata.is_file() {
            return None;
        }
        let key = FileKey::of(&metadata);
        if let Some(tail) = self.tails.get_mut(&key) {
            tail.path = path.to_path_buf();
            return Some(key);
        }
        if let Some(p) = self.pending.get_mut(&key) {
            p.path = path.to_path_buf();
            return Some(key);
        }
        if self.done.contains_key(&key) {
            return Some(key);
        }
        let root_path = &self.roots[root].path;
        if let Some(why) = self.roots[root].follow.refuses(root_path, path) {
            self.refuse(path, why);
            return None;
        }
        if let (Some(max_age), Ok(modified)) = (self.roots[root].ignore_older, metadata.modified())
        {
            if modified.elapsed().unwrap_or_default() > max_age {
                return None;
            }
        }
        // Each of these opens the file for a moment. Out of descriptors, the file is left
        // untracked and considered again by the next rescan; it is never taken for a new file
        // (which would read a checkpointed file again from its start).
        let fingerprint = self.starved_on(path, Fingerprint::of(path))?;
        let shape = self.starved_on(path, delivery::shape(&path.to_path_buf()))?;
        if let Some(cp) = self.resume.get(key).cloned() {
            let matches = self.starved_on(path, cp.fingerprint.still_matches(path))?;
            if matches {
                if cp.done {
                    self.done.insert(key, path.to_path_buf());
                    return Some(key);
                }
                // A delivery file is sent in several batches, and a commit can fall between
                // them (offset 0, not done). Such a file is read again whole below, never
                // tailed from that offset: its gzip bytes read as lines lose every record.
                // The records already counted are skipped by the eventID memory.
                if shape != Shape::Delivery {
                    let tail = Tail::new(cp.fingerprint, path.to_path_buf(), cp.offset, cp.line);
                    self.tails.insert(key, tail);
                    return Some(key);
                }
            }
        }
        match shape {
            Shape::Unknown => None,
            Shape::Delivery => {
                self.pending.insert(
                    key,
                    Pending {
                        fingerprint,
                        path: path.to_path_buf(),
                        seen: (metadata.len(), metadata.modified().ok()),
                        unchanged_since: Instant::now(),
                    },
                );
                Some(key)
            }
            Shape::Ndjson => {
                let from_end = self.first_scan && self.roots[root].read_from == ReadFrom::End;
                let (offset, line) = if from_end {
                    (metadata.len(), 0)
                } else {
                    (0, 0)
                };
                self.tails.insert(
                    key,
                    Tail::new(fingerprint, path.to_path_buf(), offset, line),
                );
                Some(key)
            }
        }
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
