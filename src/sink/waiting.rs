//! The alerts one sink has accepted and not yet finished with: in memory, mirrored in the
//! spool.
//!
//! Holding them in memory means the driver never reads the spool back while running; the
//! spool is only read when a queue opens after a restart. The bound is on the bytes waiting
//! (their JSON size). This is the plain data structure; [`super::queue::Queue`] adds the lock,
//! the wake-ups and the counters.

use super::config::{FullPolicy, QueueConfig};
use super::delivered::DeliveredLog;
use super::spool::{self, SpoolFile};
use crate::alert::Alert;
use crate::durable;
use std::collections::{HashSet, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug)]
pub struct Waiting {
    dir: PathBuf,
    config: QueueConfig,
    entries: VecDeque<Entry>,
    ids: HashSet<String>,
    bytes: u64,
    /// How many entries at the front the driver is delivering right now.
    in_flight: usize,
    spool: Option<SpoolFile>,
    delivered: DeliveredLog,
    closed: bool,
}

#[derive(Debug)]
struct Entry {
    alert: Arc<Alert>,
    bytes: u64,
}

/// What [`Waiting::push`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Taken (after dropping this many older alerts under `drop_oldest`).
    Accepted { dropped: usize },
    /// Already waiting or already delivered: nothing to do.
    Known,
    /// No room under `block`.
    Full,
    /// The queue is closed.
    Closed,
}

/// What became of the batch the driver took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Rejected,
}

impl Waiting {
    /// Opens the queue in `dir` with the alerts an earlier run left waiting (minus any it
    /// delivered but had not yet marked done when it stopped).
    pub fn open(dir: &Path, config: &QueueConfig) -> io::Result<Waiting> {
        durable::create_dir(dir)?;
        let delivered = DeliveredLog::open(&dir.join("delivered.log"), config.remember_delivered)?;
        let spool_path = dir.join("spool.log");
        let (mut spool, found) = if config.spool {
            let (s, found) = SpoolFile::open(&spool_path)?;
            (Some(s), found)
        } else {
            // Spooling was switched off: deliver what an earlier run left, from memory.
            let found = spool::read_waiting(&spool_path)?;
            remove_if_present(&spool_path)?;
            (None, found)
        };
        let total = found.len();
        let found: Vec<Alert> = found
            .into_iter()
            .filter(|a| !delivered.contains(&a.alert_id))
            .collect();
        if let (Some(s), true) = (spool.as_mut(), found.len() < total) {
            s.rewrite(found.iter())?;
        }
        let mut waiting = Waiting {
            dir: dir.to_path_buf(),
            config: config.clone(),
            entries: VecDeque::new(),
            ids: HashSet::new(),
            bytes: 0,
            in_flight: 0,
            spool,
            delivered,
            closed: false,
        };
        for alert in found {
            let bytes = serde_json::to_vec(&alert).map_or(0, |j| j.len() as u64 + 2);
            waiting.insert(Arc::new(alert), bytes);
        }
        Ok(waiting)
    }

    /// Takes an alert (`json` is its serialization) into the spool, fsynced, and the queue.
    pub fn push(&mut self, alert: Arc<Alert>, json: &[u8]) -> io::Result<Pushed> {
        if self.closed {
            return Ok(Pushed::Closed);
        }
        if self.ids.contains(&alert.alert_id) || self.delivered.contains(&alert.alert_id) {
            return Ok(Pushed::Known);
        }
        let size = json.len() as u64 + 2;
        let mut dropped = 0;
        // An alert larger than the whole bound still goes into an empty queue: refusing it
        // would block the pipeline for good.
        if self.bytes + size > self.config.max_bytes && !self.entries.is_empty() {
            match self.config.full_policy {
                FullPolicy::Block => return Ok(Pushed::Full),
                FullPolicy::DropOldest => dropped = self.drop_oldest(size)?,
            }
        }
        if let Some(spool) = self.spool.as_mut() {
            spool.append(json)?;
        }
        self.insert(alert, size);
        Ok(Pushed::Accepted { dropped })
    }

    /// Takes up to `max` alerts from the front for delivery. Alerts already delivered are
    /// removed instead; the second value counts them.
    pub fn take(&mut self, max: usize) -> io::Result<(Vec<Arc<Alert>>, usize)> {
        let mut skipped = Vec::new();
        let mut index = 0;
        while index < self.entries.len() && index < max.max(1) {
            if self.delivered.contains(&self.entries[index].alert.alert_id) {
                if let Some(entry) = self.entries.remove(index) {
                    self.forget(&entry);
                    skipped.push(entry.alert);
                }
            } else {
                index += 1;
            }
        }
        self.mark_done(skipped.iter().map(|a| a.alert_id.as_str()))?;
        self.in_flight = index;
        let batch = self.entries.iter().take(index).map(|e| e.alert.clone());
        Ok((batch.collect(), skipped.len()))
    }

    /// Ends the batch taken by [`Waiting::take`]; returns its size.
    pub fn finish(&mut self, outcome: Outcome) -> io::Result<usize> {
        let n = std::mem::take(&mut self.in_flight);
        let done: Vec<Entry> = self.entries.drain(..n).collect();
        done.iter().for_each(|e| self.forget(e));
        let ids = || done.iter().map(|e| e.alert.alert_id.as_str());
        // The delivered record first: it is what prevents a second notification.
        let recorded = match outcome {
            Outcome::Delivered => self.delivered.record(ids()),
            Outcome::Rejected => Ok(()),
        };
        let spooled = self.mark_done(ids());
        recorded.and(spooled).map(|()| n)
    }

    /// Gives the batch back after a failed attempt; it stays first in line.
    pub fn release(&mut self) {
        self.in_flight = 0;
    }

    /// Applies new settings (hot reload) without losing what is waiting.
    pub fn reconfigure(&mut self, config: &QueueConfig) -> io::Result<()> {
        let path = self.dir.join("spool.log");
        match (self.spool.is_some(), config.spool) {
            (false, true) => {
                let (mut spool, _) = SpoolFile::open(&path)?;
                spool.rewrite(self.entries.iter().map(|e| &*e.alert))?;
                self.spool = Some(spool);
            }
            (true, false) => {
                self.spool = None;
                remove_if_present(&path)?;
            }
            _ => {}
        }
        self.delivered.set_keep(config.remember_delivered);
        self.config = config.clone();
        Ok(())
    }

    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Alerts and bytes waiting.
    pub fn size(&self) -> (usize, u64) {
        (self.entries.len(), self.bytes)
    }

    pub fn is_spooled(&self) -> bool {
        self.spool.is_some()
    }

    fn insert(&mut self, alert: Arc<Alert>, bytes: u64) {
        self.ids.insert(alert.alert_id.clone());
        self.bytes += bytes;
        self.entries.push_back(Entry { alert, bytes });
    }

    fn forget(&mut self, entry: &Entry) {
        self.ids.remove(&entry.alert.alert_id);
        self.bytes -= entry.bytes;
    }

    /// Drops the oldest entries not in flight until `incoming` fits; returns how many.
    fn drop_oldest(&mut self, incoming: u64) -> io::Result<usize> {
        let mut dropped = Vec::new();
        while self.bytes + incoming > self.config.max_bytes && self.entries.len() > self.in_flight {
            if let Some(entry) = self.entries.remove(self.in_flight) {
                self.forget(&entry);
                dropped.push(entry.alert);
            }
        }
        self.mark_done(dropped.iter().map(|a| a.alert_id.as_str()))?;
        Ok(dropped.len())
    }

    /// Records in the spool that these ids are done, compacting it when worthwhile.
    fn mark_done<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        let Some(spool) = self.spool.as_mut() else {
            return Ok(());
        };
        let mut ids = ids.into_iter().peekable();
        if ids.peek().is_none() {
            return Ok(());
        }
        if self.entries.is_empty() {
            return spool.clear();
        }
        spool.done(ids)?;
        // Rewrite once dead records are most of the file: keeps it near the live size
        // without rewriting after every delivery.
        if spool.file_bytes() > 2 * self.bytes + 1024 * 1024 {
            spool.rewrite(self.entries.iter().map(|e| &*e.alert))?;
        }
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "waiting_tests.rs"]
mod tests;
