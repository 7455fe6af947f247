//! The record of alert ids a sink has delivered, kept in its spool directory.
//!
//! An alert's id is stable across re-processing (it derives from rule, dedup string and window
//! start), so after a crash the daemon may publish an alert again that a sink already sent.
//! The driver checks this record before every delivery: that is what makes "a crash never
//! notifies twice" true. The record is bounded: the newest `keep` ids are remembered, which
//! comfortably covers the alerts a crash can make the daemon re-process.
//!
//! Format: one id per line, appended and fsynced after each delivery; rewritten (atomically)
//! down to the newest `keep` ids once it holds twice that many.

use crate::durable;
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct DeliveredLog {
    path: PathBuf,
    file: Option<File>,
    order: VecDeque<String>,
    ids: HashSet<String>,
    keep: usize,
    lines: usize,
    /// Length of the file up to its last whole line, once known: where a failed append is
    /// cut back to.
    end: Option<u64>,
}

impl DeliveredLog {
    /// Reads the record at `path` (a missing file is an empty record).
    pub fn open(path: &Path, keep: usize) -> io::Result<DeliveredLog> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut log = DeliveredLog {
            path: path.to_path_buf(),
            file: None,
            order: VecDeque::new(),
            ids: HashSet::new(),
            keep,
            lines: 0,
            end: None,
        };
        // Only complete lines: a crash can leave half an id at the end.
        for id in text
            .split_inclusive('\n')
            .filter_map(|l| l.strip_suffix('\n'))
        {
            if !id.is_empty() {
                log.remember(id.to_string());
                log.lines += 1;
            }
        }
        if log.lines > log.order.len() || !text.is_empty() && !text.ends_with('\n') {
            log.compact()?;
        }
        Ok(log)
    }

    /// True when `id` was delivered.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Records delivered ids durably.
    pub fn record<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        if self.keep == 0 {
            return Ok(());
        }
        let mut text = String::new();
        for id in ids {
            text.push_str(id);
            text.push('\n');
            self.remember(id.to_string());
            self.lines += 1;
        }
        if text.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            self.file = Some(durable::open_append(&self.path)?);
        }
        if let Some(file) = self.file.as_mut() {
            // Opening compacts a torn tail away, so the length found first is all whole lines.
            let end = match self.end {
                Some(end) => end,
                None => file.metadata()?.len(),
            };
            self.end = Some(end);
            durable::append_synced_whole(file, text.as_bytes(), end)?;
            self.end = Some(end + text.len() as u64);
        }
        if self.lines > self.keep.saturating_mul(2).max(64) {
            self.compact()?;
        }
        Ok(())
    }

    /// Changes the bound (on reload).
    pub fn set_keep(&mut self, keep: usize) {
        self.keep = keep;
        while self.order.len() > keep {
            self.forget_oldest();
        }
    }

    fn remember(&mut self, id: String) {
        if self.keep == 0 || !self.ids.insert(id.clone()) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > self.keep {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some(old) = self.order.pop_front() {
            self.ids.remove(&old);
        }
    }

    fn compact(&mut self) -> io::Result<()> {
        let mut text = String::new();
        for id in &self.order {
            text.push_str(id);
            text.push('\n');
        }
        self.file = None;
        self.end = None;
        durable::replace(&self.path, text.as_bytes())?;
        self.lines = self.order.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delivered");
        let mut log = DeliveredLog::open(&path, 100).unwrap();
        let ids: Vec<String> = (0..250).map(|i| format!("id{i}")).collect();
        for id in &ids {
            log.record([id.as_str()]).unwrap();
        }
        assert!(!log.contains("id0"));
        assert!(log.contains("id249"));
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 200, "{lines}");
        let again = DeliveredLog::open(&path, 100).unwrap();
        assert!(again.contains("id150") && again.contains("id249"));
        assert!(!again.contains("id149"));
    }

    #[test]
    fn ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delivered");
        std::fs::write(&path, "aaaa\nbbbb\ncc").unwrap();
        let log = DeliveredLog::open(&path, 10).unwrap();
        assert!(log.contains("aaaa") && log.contains("bbbb") && !log.contains("cc"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "aaaa\nbbbb\n");
    }
}
