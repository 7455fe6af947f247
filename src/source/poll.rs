//! Polling what the discovery loop tracks: reading new lines from every tail, trying every
//! pending delivery file, within the descriptor budget of [`super::open_files`].
//!
//! Out of descriptors (EMFILE/ENFILE) nothing is dropped: the file stays where it was (a tail,
//! a pending delivery) and the loop polls again on its next tick.

use super::delivery::{self, Delivery};
use super::fingerprint::FileKey;
use super::open_files::is_exhaustion;
use super::tail::Tail;
use super::watch::{Loop, SourceEvent};
use super::Batch;
use crate::event::reader::BadInput;
use std::path::Path;
use std::time::Instant;

/// What draining a tail left behind.
pub(super) enum Drained {
    /// Read to its end (or as far as it goes now).
    Read,
    /// Not readable any more (gone, replaced): the tail is forgotten.
    Gone,
    /// No descriptor could be had: the tail is kept and tried again later.
    Starved,
}

impl Loop {
    /// Reads what is new in every tail and tries every pending delivery file.
    pub(super) fn poll_all(&mut self) {
        self.starved = false;
        let keys: Vec<FileKey> = self.tails.keys().copied().collect();
        for key in keys {
            let Some(mut tail) = self.tails.remove(&key) else {
                continue;
            };
            let was_open = tail.is_open();
            // A closed tail costs a stat here, not a descriptor, unless it changed; and once
            // descriptors ran out this round, closed tails wait for the next one.
            if !was_open && (self.starved || !tail.may_have_changed()) {
                self.tails.insert(key, tail);
                continue;
            }
            if !was_open {
                self.make_room();
            }
            match self.drain(&mut tail) {
                Drained::Gone => {
                    if was_open {
                        self.budget.closed();
                    }
                    continue;
                }
                Drained::Starved => self.release_half(),
                Drained::Read => {}
            }
            if !was_open && tail.is_open() {
                self.budget.opened(key);
            }
            self.tails.insert(key, tail);
        }
        if self.budget.needs_compaction() {
            let tails = &self.tails;
            self.budget
                .compact(|k| tails.get(k).is_some_and(Tail::is_open));
        }
        let keys: Vec<FileKey> = self.pending.keys().copied().collect();
        for key in keys {
            self.try_delivery(key);
        }
    }

    /// Closes the tail opened longest ago if the cap is reached, so that opening one more
    /// stays within `max_open_files`.
    fn make_room(&mut self) {
        while !self.budget.has_room() {
            match self.budget.oldest() {
                Some(key) => {
                    if let Some(tail) = self.tails.get_mut(&key).filter(|t| t.is_open()) {
                        tail.close();
                        self.budget.closed();
                    }
                }
                None => {
                    // The count drifted from the tails (it must not, but a wrong count must
                    // not stop reading either): recount.
                    let tails = &self.tails;
                    self.budget
                        .compact(|k| tails.get(k).is_some_and(Tail::is_open));
                    if !self.budget.has_room() {
                        return;
                    }
                }
            }
        }
    }

    /// The process ran out of descriptors: give half of ours back, so the rest of the daemon
    /// (sinks, the store, the metrics listener) can work, and read on with the other half.
    fn release_half(&mut self) {
        self.starved = true;
        for _ in 0..self.budget.open().div_ceil(2) {
            let Some(key) = self.budget.oldest() else {
                break;
            };
            if let Some(tail) = self.tails.get_mut(&key).filter(|t| t.is_open()) {
                tail.close();
                self.budget.closed();
            }
        }
    }

    /// `result` of opening `path`, with EMFILE/ENFILE counted as back-pressure. `None` when
    /// it failed, for whatever reason.
    pub(super) fn starved_on<T>(&mut self, path: &Path, result: std::io::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) if is_exhaustion(&e) => {
                self.budget.exhausted(path, &e);
                self.starved = true;
                None
            }
            Err(_) => None,
        }
    }

    /// Reads a tail to its end.
    pub(super) fn drain(&mut self, tail: &mut Tail) -> Drained {
        loop {
            match tail.read(&self.settings.limits) {
                Ok(Some(batch)) => {
                    tracing::debug!(path = ?tail.path, records = batch.records.len(), offset = batch.offset, "read");
                    self.send(SourceEvent::Batch(batch))
                }
                Ok(None) => return Drained::Read,
                Err(e) if is_exhaustion(&e) => {
                    self.budget.exhausted(&tail.path, &e);
                    return Drained::Starved;
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                    // Reported as bad input like a refused pending file (below), so it is
                    // logged ("skipped bad input") and counted in files_failed alike.
                    self.send(SourceEvent::Bad(BadInput {
                        path: tail.path.clone(),
                        place: None,
                        message: format!("replaced while tailed: {e}; not read"),
                    }));
                    return Drained::Gone;
                }
                Err(e) => {
                    tracing::debug!(path = ?tail.path, error = %e, "tail ended");
                    return Drained::Gone;
                }
            }
        }
    }

    fn try_delivery(&mut self, key: FileKey) {
        let Some(p) = self.pending.get_mut(&key) else {
            return;
        };
        let metadata = std::fs::metadata(&p.path).ok();
        if let Some(m) = metadata
            .as_ref()
            .filter(|m| !m.is_file() || FileKey::of(m) != key)
        {
            // Swapped while it waited. Another regular file there (a sync tool renaming the
            // complete copy into place) is picked up as a new file; a FIFO or a link to a
            // device is never read.
            let refused = !m.is_file();
            let p = self.pending.remove(&key).expect("present");
            if refused {
                tracing::warn!(path = ?p.path, "a pending delivery file was replaced by something that is not a regular file; not read");
                self.send(SourceEvent::Bad(BadInput {
                    path: p.path,
                    place: None,
                    message:
                        "replaced while pending by something that is not a regular file; not read"
                            .into(),
                }));
            }
            return;
        }
        let now_seen = metadata
            .map(|m| (m.len(), m.modified().ok()))
            .unwrap_or(p.seen);
        if now_seen != p.seen {
            p.seen = now_seen;
            p.unchanged_since = Instant::now();
        }
        let last_try = p.unchanged_since.elapsed() >= self.settings.incomplete_grace;
        let limits = self.settings.limits;
        match delivery::read(&p.path, &limits, last_try) {
            Ok(Delivery::Incomplete) => {}
            Err(e) if is_exhaustion(&e) => {
                // Not the file's fault: it stays pending and is tried on the next poll.
                let path = p.path.clone();
                self.budget.exhausted(&path, &e);
                self.starved = true;
            }
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
