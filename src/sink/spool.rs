//! The on-disk spool of one sink: alerts accepted but not yet delivered.
//!
//! An append-only log in `state_dir/spool/NAME/spool.log`, one record per line:
//! `+{alert json}` when an alert is accepted, `-{alert_id}` when it is done with (delivered,
//! dropped or refused for good). Appends are fsynced before `publish` returns, which is what
//! lets the sources advance their checkpoints. Opening replays the log and rewrites it to the
//! alerts still waiting; when the queue empties the file is truncated, and when done records
//! outweigh live ones it is rewritten, so the file stays near the size of what is waiting.
//!
//! A crash can leave a torn last line; it is ignored (its `publish` never returned, so the
//! source will read that event again). A write that fails (a full disk) is cut off again at
//! once, so it never leaves a fragment for the next record to be glued onto; the alert is not
//! accepted, and the caller retries until space returns. A line that does not parse is skipped with a warning
//! rather than blocking every alert behind it.

use crate::alert::Alert;
use crate::durable;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
    file: File,
    len: u64,
}

impl SpoolFile {
    /// Opens the spool at `path` (creating it) and returns the alerts still waiting, oldest
    /// first. The file is rewritten to hold exactly those.
    pub fn open(path: &Path) -> io::Result<(SpoolFile, Vec<Alert>)> {
        let waiting = read_waiting(path)?;
        let mut text = Vec::new();
        for alert in &waiting {
            text.extend_from_slice(&record(alert));
        }
        durable::replace(path, &text)?;
        let file = durable::open_append(path)?;
        let spool = SpoolFile {
            path: path.to_path_buf(),
            file,
            len: text.len() as u64,
        };
        Ok((spool, waiting))
    }

    /// Appends an accepted alert (its JSON, without newline) and syncs it to disk.
    pub fn append(&mut self, json: &[u8]) -> io::Result<()> {
        let mut line = Vec::with_capacity(json.len() + 2);
        line.push(b'+');
        line.extend_from_slice(json);
        line.push(b'\n');
        durable::append_synced_whole(&mut self.file, &line, self.len)?;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Marks alerts as done with and syncs.
    pub fn done<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        let mut text = String::new();
        for id in ids {
            text.push('-');
            text.push_str(id);
            text.push('\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        durable::append_synced_whole(&mut self.file, text.as_bytes(), self.len)?;
        self.len += text.len() as u64;
        Ok(())
    }

    /// Empties the file (nothing is waiting).
    pub fn clear(&mut self) -> io::Result<()> {
        durable::truncate(&self.file)?;
        self.len = 0;
        Ok(())
    }

    /// Rewrites the file to hold exactly `waiting`.
    pub fn rewrite<'a>(&mut self, waiting: impl IntoIterator<Item = &'a Alert>) -> io::Result<()> {
        let mut text = Vec::new();
        for alert in waiting {
            text.extend_from_slice(&record(alert));
        }
        durable::replace(&self.path, &text)?;
        self.file = durable::open_append(&self.path)?;
        self.len = text.len() as u64;
        Ok(())
    }

    /// Bytes in the file, live and done records alike.
    pub fn file_bytes(&self) -> u64 {
        self.len
    }
}

/// The `+` record of an alert.
fn record(alert: &Alert) -> Vec<u8> {
    let mut line = vec![b'+'];
    // Serializing an Alert cannot fail: every key is a string and every value plain JSON.
    line.extend(serde_json::to_vec(alert).unwrap_or_default());
    line.push(b'\n');
    line
}

/// Replays the log: the alerts accepted and not yet done, in acceptance order.
pub fn read_waiting(path: &Path) -> io::Result<Vec<Alert>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut slots: Vec<Option<Alert>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // split_inclusive + strip_suffix: only complete lines, so a torn last line is dropped.
    for (n, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let Some(line) = line.strip_suffix(b"\n") else {
            continue;
        };
        match line.split_first() {
            Some((b'+', json)) => match serde_json::from_slice::<Alert>(json) {
                Ok(alert) if !index.contains_key(&alert.alert_id) => {
                    index.insert(alert.alert_id.clone(), slots.len());
                    slots.push(Some(alert));
                }
                Ok(_) => {}
                Err(e) => bad_line(path, n, &e.to_string()),
            },
            Some((b'-', id)) => {
                if let Some(slot) = index.remove(String::from_utf8_lossy(id).as_ref()) {
                    slots[slot] = None;
                }
            }
            _ => bad_line(path, n, "not a spool record"),
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

fn bad_line(path: &Path, index: usize, why: &str) {
    tracing::warn!(path = %path.display(), line = index + 1, error = why, "skipping a bad spool record");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;

    fn alert(id: &str) -> Alert {
        let mut a = sample_alert();
        a.alert_id = id.to_string();
        a
    }

    #[test]
    fn replays_accepted_minus_done_and_drops_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.log");
        let (mut spool, waiting) = SpoolFile::open(&path).unwrap();
        assert!(waiting.is_empty());
        for id in ["a", "b", "c"] {
            spool
                .append(&serde_json::to_vec(&alert(id)).unwrap())
                .unwrap();
        }
        spool.done(["b"]).unwrap();
        drop(spool);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"+{\"alert_id\":\"torn");
        std::fs::write(&path, bytes).unwrap();

        let (spool, waiting) = SpoolFile::open(&path).unwrap();
        let ids: Vec<_> = waiting.iter().map(|a| a.alert_id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(spool.file_bytes(), std::fs::metadata(&path).unwrap().len());
        assert_eq!(read_waiting(&path).unwrap().len(), 2);
    }

    #[test]
    fn clear_and_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.log");
        let (mut spool, _) = SpoolFile::open(&path).unwrap();
        spool
            .append(&serde_json::to_vec(&alert("a")).unwrap())
            .unwrap();
        spool.clear().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let keep = [alert("x"), alert("y")];
        spool.rewrite(keep.iter()).unwrap();
        assert_eq!(read_waiting(&path).unwrap(), keep);
    }
}
