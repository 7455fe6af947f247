//! The discovery loop: which files exist, and what is new in them.
//!
//! It runs on its own thread (file I/O is blocking and this keeps it off the async runtime).
//! notify events wake it as soon as a file changes; a full rescan every `rescan_interval` is
//! the safety net, because notify can overflow its queue and can miss files created in a
//! directory before the watch on that directory was in place. Batches go to the pipeline
//! through a bounded channel: when the pipeline is busy, reading waits (backpressure).

use super::checkpoint::Checkpoints;
use super::delivery::{self, Delivery, Shape};
use super::fingerprint::{FileKey, Fingerprint};
use super::tail::Tail;
use super::{Batch, Limits};
use crate::config::{ReadFrom, SourceConfig};
use crate::event::reader::{self, BadInput};
use globset::{Glob, GlobSet, GlobSetBuilder};
use notify::{RecursiveMode, Watcher};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Bound on tailed files kept open at once.
    pub max_open_files: usize,
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

struct Root {
    path: PathBuf,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    read_from: ReadFrom,
    ignore_older: Option<Duration>,
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

struct Pending {
    fingerprint: Fingerprint,
    path: PathBuf,
    seen: (u64, Option<SystemTime>),
    unchanged_since: Instant,
}

struct Loop {
    roots: Vec<Root>,
    settings: Settings,
    out: SyncSender<SourceEvent>,
    tails: HashMap<FileKey, Tail>,
    pending: HashMap<FileKey, Pending>,
    done: HashMap<FileKey, PathBuf>,
    resume: Checkpoints,
    first_scan: bool,
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
            let mut state = Loop {
                roots,
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
    fn send(&self, event: SourceEvent) {
        // The receiver only goes away at shutdown, when losing this send is fine: the
        // checkpoint was not advanced past it.
        let _ = self.out.send(event);
    }

    /// Walks every root and polls every known file.
    fn scan(&mut self) {
        tracing::trace!(tails = self.tails.len(), "scan");
        let mut seen: HashMap<FileKey, PathBuf> = HashMap::new();
        for i in 0..self.roots.len() {
            let mut files = Vec::new();
            walk(&self.roots[i].path, &mut files);
            for path in files {
                if let Some(key) = self.consider(i, &path) {
                    seen.insert(key, path);
                }
            }
        }
        self.first_scan = false;
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
                walk(&path, &mut files);
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
        if let (Some(max_age), Ok(modified)) = (self.roots[root].ignore_older, metadata.modified())
        {
            if modified.elapsed().unwrap_or_default() > max_age {
                return None;
            }
        }
        let fingerprint = Fingerprint::of(path).ok()?;
        let shape = delivery::shape(&path.to_path_buf()).ok()?;
        if let Some(cp) = self.resume.get(key).cloned() {
            if cp.fingerprint.still_matches(path).unwrap_or(false) {
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

    fn poll_all(&mut self) {
        let keys: Vec<FileKey> = self.tails.keys().copied().collect();
        for key in keys {
            if let Some(mut tail) = self.tails.remove(&key) {
                if self.drain(&mut tail) {
                    self.tails.insert(key, tail);
                }
            }
        }
        self.bound_open_files();
        let keys: Vec<FileKey> = self.pending.keys().copied().collect();
        for key in keys {
            self.try_delivery(key);
        }
    }

    /// Reads a tail to its end. Returns false when the file is no longer readable.
    fn drain(&mut self, tail: &mut Tail) -> bool {
        loop {
            match tail.read(&self.settings.limits) {
                Ok(Some(batch)) => {
                    tracing::debug!(path = %tail.path.display(), records = batch.records.len(), offset = batch.offset, "read");
                    self.send(SourceEvent::Batch(batch))
                }
                Ok(None) => return true,
                Err(e) => {
                    tracing::debug!(path = %tail.path.display(), error = %e, "tail ended");
                    return false;
                }
            }
        }
    }

    /// Keeps at most `max_open_files` tails open; closed ones reopen by path when they change.
    fn bound_open_files(&mut self) {
        let open = self.tails.values().filter(|t| t.is_open()).count();
        let excess = open.saturating_sub(self.settings.max_open_files);
        for tail in self.tails.values_mut().filter(|t| t.is_open()).take(excess) {
            tail.close();
        }
    }

    fn try_delivery(&mut self, key: FileKey) {
        let Some(p) = self.pending.get_mut(&key) else {
            return;
        };
        let now_seen = std::fs::metadata(&p.path)
            .map(|m| (m.len(), m.modified().ok()))
            .unwrap_or(p.seen);
        if now_seen != p.seen {
            p.seen = now_seen;
            p.unchanged_since = Instant::now();
        }
        let last_try = p.unchanged_since.elapsed() >= self.settings.incomplete_grace;
        let limits = self.settings.limits;
        match delivery::read(&p.path, limits.max_file_bytes, last_try) {
            Ok(Delivery::Incomplete) => {}
            Ok(Delivery::Read { records, bad }) => {
                let p = self.pending.remove(&key).expect("present");
                let mut chunks: Vec<Vec<_>> = records
                    .chunks(limits.batch_records.max(1))
                    .map(<[_]>::to_vec)
                    .collect();
                if chunks.is_empty() {
                    chunks.push(Vec::new());
                }
                let last = chunks.len() - 1;
                let mut bad = Some(bad);
                for (i, records) in chunks.into_iter().enumerate() {
                    self.send(SourceEvent::Batch(Batch {
                        fingerprint: p.fingerprint.clone(),
                        path: p.path.clone(),
                        records,
                        bad: if i == last {
                            bad.take().unwrap_or_default()
                        } else {
                            Vec::new()
                        },
                        offset: 0,
                        line: 0,
                        done: i == last,
                    }));
                }
                self.done.insert(key, p.path);
            }
            Err(e) => {
                let p = self.pending.remove(&key).expect("present");
                self.send(SourceEvent::Bad(BadInput {
                    path: p.path,
                    place: None,
                    message: format!("cannot read: {e}"),
                }));
            }
        }
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    // Which files count is decided per root (include/exclude); an unreadable directory is
    // simply not there yet.
    crate::files::walk(dir, &|_| true, files, &mut |_, _| {});
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
