//! `type: file`: alerts as JSON lines (the alert contract), for log shippers and `jq`.
//!
//! A batch is written with one `write` and, under `fsync: always`, one `fdatasync`, so
//! "delivered" means "on disk". The file rotates by size (`alerts.jsonl` → `.1` → `.2` ...,
//! `keep` old files) before a write would pass `max_bytes`. For logrotate, the router's
//! `reopen_files` (SIGHUP, SIGUSR1) makes the next write reopen the path.
//!
//! Writes run on the blocking pool: an fsync must not stall a runtime thread.
//!
//! The file itself is the record of what was delivered: on opening, the ids of the alerts
//! at its end are read back, and an alert already there is not written again. A crash between
//! writing a batch and the driver recording it as delivered therefore cannot duplicate lines.

use super::config::{default_min_severity, under, FilterConfig, KeyProblem, QueueConfig};
use super::config::{RetryConfig, TypeKey};
use super::queue::blocking;
use super::{Sink, SinkError};
use crate::alert::Alert;
use crate::severity::Severity;
use serde::Deserialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(rename = "type", default)]
    pub kind: TypeKey,
    /// The file to append to; relative to the directory holding `sinks.d`.
    pub path: PathBuf,
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// Rotate before the file would grow past this; 0 never rotates.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` newest ... `path.N`).
    #[serde(default = "default_keep")]
    pub keep: u32,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

/// When written alerts are forced to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// After every batch, before it counts as delivered.
    #[default]
    Always,
    /// Left to the kernel (faster; a power loss can lose the last alerts written).
    Never,
}

fn default_max_bytes() -> u64 {
    100 * 1024 * 1024
}
fn default_keep() -> u32 {
    5
}

impl FileConfig {
    pub fn resolve(&mut self, base: &Path) -> Result<(), KeyProblem> {
        if self.path.as_os_str().is_empty() {
            return Err(KeyProblem::new("path", "path: must not be empty"));
        }
        self.path = under(base, &self.path);
        Ok(())
    }
}

pub struct FileSink {
    state: Arc<Mutex<Writer>>,
}

struct Writer {
    path: PathBuf,
    fsync: FsyncPolicy,
    max_bytes: u64,
    keep: u32,
    file: Option<File>,
    size: u64,
    /// Ids of the alerts most recently written (read back from the file at first open).
    recent: Option<RecentIds>,
}

/// How many written alert ids are remembered, and how much of an existing file is read back
/// to find them.
const RECENT_IDS: usize = 50_000;
const READ_BACK_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Default)]
struct RecentIds {
    order: std::collections::VecDeque<String>,
    ids: std::collections::HashSet<String>,
}

impl RecentIds {
    fn insert(&mut self, id: String) {
        if self.ids.insert(id.clone()) {
            self.order.push_back(id);
            while self.order.len() > RECENT_IDS {
                if let Some(old) = self.order.pop_front() {
                    self.ids.remove(&old);
                }
            }
        }
    }

    /// The alert ids on the complete lines at the end of `path`.
    fn read_back(path: &Path) -> RecentIds {
        use std::io::{Read, Seek, SeekFrom};
        #[derive(Deserialize)]
        struct Id {
            alert_id: String,
        }
        let mut recent = RecentIds::default();
        let Ok(mut file) = File::open(path) else {
            return recent;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let start = len.saturating_sub(READ_BACK_BYTES);
        let mut tail = Vec::new();
        if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut tail).is_err() {
            return recent;
        }
        let mut lines = tail.split(|b| *b == b'\n');
        if start > 0 {
            lines.next(); // a partial first line
        }
        for line in lines {
            if let Ok(id) = serde_json::from_slice::<Id>(line) {
                recent.insert(id.alert_id);
            }
        }
        recent
    }
}

impl FileSink {
    pub fn new(_name: &str, config: &FileConfig) -> FileSink {
        FileSink {
            state: Arc::new(Mutex::new(Writer {
                path: config.path.clone(),
                fsync: config.fsync,
                max_bytes: config.max_bytes,
                keep: config.keep,
                file: None,
                size: 0,
                recent: None,
            })),
        }
    }
}

impl Sink for FileSink {
    async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
        let batch = batch.to_vec();
        let state = self.state.clone();
        blocking(move || {
            // A write abandoned at the driver's timeout (a FIFO nobody reads, a hung NFS
            // mount) still holds the lock on its blocking thread. Waiting for it here would
            // pile one stuck thread on another at each retry; failing fast leaves the retry
            // to the driver, and the late write's ids land in `recent`, so it is not doubled.
            let mut writer = match state.try_lock() {
                Ok(w) => w,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(SinkError::retryable(
                        "the previous write to this file has not finished yet",
                    ))
                }
            };
            let recent = match writer.recent.take() {
                Some(r) => r,
                None => RecentIds::read_back(&writer.path),
            };
            let recent = writer.recent.insert(recent);
            let mut lines = Vec::new();
            let mut ids = Vec::new();
            for alert in &batch {
                if recent.ids.contains(&alert.alert_id) {
                    continue; // already in the file: written before a crash or a restart
                }
                serde_json::to_writer(&mut lines, &**alert)
                    .map_err(|e| SinkError::permanent(format!("alert as JSON: {e}")))?;
                lines.push(b'\n');
                ids.push(alert.alert_id.clone());
            }
            if lines.is_empty() {
                return Ok(());
            }
            writer.write(&lines).map_err(|e| {
                // Drop the handle: the next attempt reopens, which also recovers from a file
                // removed or a disk remounted underneath us.
                writer.file = None;
                SinkError::retryable(format!("{}: {e}", writer.path.display()))
            })?;
            let recent = writer.recent.get_or_insert_with(RecentIds::default);
            for id in ids {
                recent.insert(id);
            }
            Ok(())
        })
        .await
    }

    fn max_batch(&self) -> usize {
        256
    }

    fn reopen(&mut self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).file = None;
    }
}

impl Writer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            self.open()?;
        }
        let len = bytes.len() as u64;
        if self.max_bytes > 0 && self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("file not open"));
        };
        file.write_all(bytes)?;
        if self.fsync == FsyncPolicy::Always {
            file.sync_data()?;
        }
        self.size += len;
        Ok(())
    }

    fn open(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        // 0640: alerts name principals and addresses; a log group may read them.
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o640)
            .open(&self.path)?;
        let len = file.metadata()?.len();
        self.size = drop_torn_tail(&file, len)?;
        self.file = Some(file);
        Ok(())
    }

    /// `path.N-1` → `path.N` ... `path` → `path.1`, then a fresh `path`.
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                let from = numbered(&self.path, n);
                if from.exists() {
                    fs::rename(&from, numbered(&self.path, n + 1))?;
                }
            }
            fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.open()
    }
}

/// Cuts a last line that has no newline: a write cut short by a crash (SIGKILL between two
/// `write` calls) or a full disk. It is never a whole alert, and the alert it began is written
/// again whole (its id was not in the file); appending after it instead would glue that alert
/// onto the fragment and make both unreadable. Returns the new length.
fn drop_torn_tail(file: &File, len: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    const CHUNK: u64 = 64 * 1024;
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(len);
        }
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            file.set_len(keep)?;
            tracing::warn!(
                cut_bytes = len - keep,
                "alert file ended in a partial line (a crash or a full disk mid-write); it was cut"
            );
            return Ok(keep);
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
    }
    Ok(0)
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;

    fn sink(path: &Path, max_bytes: u64, keep: u32) -> FileSink {
        let mut config: FileConfig =
            serde_yaml::from_str(&format!("path: {}", path.display())).unwrap();
        config.max_bytes = max_bytes;
        config.keep = keep;
        FileSink::new("file", &config)
    }

    #[tokio::test]
    async fn a_torn_last_line_is_cut_and_its_alert_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let alert = sample_alert();
        let whole = serde_json::to_string(&alert).unwrap();
        let mut first = sample_alert();
        first.alert_id = "f".repeat(32);
        // One whole line, then the first half of the alert's line: a write cut by SIGKILL.
        let torn = format!(
            "{}\n{}",
            serde_json::to_string(&first).unwrap(),
            &whole[..whole.len() / 2]
        );
        std::fs::write(&path, torn).unwrap();
        let mut s = sink(&path, 0, 0);
        s.send(&[Arc::new(first.clone()), Arc::new(alert.clone())])
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["alert_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, [first.alert_id, alert.alert_id], "{text}");
    }

    #[tokio::test]
    async fn an_alert_already_in_the_file_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let a = Arc::new(sample_alert());
        let mut b = sample_alert();
        b.alert_id = "another".into();
        let b = Arc::new(b);
        sink(&path, 0, 0)
            .send(std::slice::from_ref(&a))
            .await
            .unwrap();
        // A new sink on the same file (a restart after a crash) gets A again, and B.
        let mut again = sink(&path, 0, 0);
        again.send(&[a.clone(), b.clone()]).await.unwrap();
        again.send(std::slice::from_ref(&b)).await.unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Alert>(l).unwrap().alert_id)
            .collect();
        assert_eq!(ids, [a.alert_id.clone(), b.alert_id.clone()]);
    }

    #[tokio::test]
    async fn writes_json_lines_rotates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/alerts.jsonl");
        let numbered_alert = |i: usize| {
            let mut a = sample_alert();
            a.alert_id = format!("{:032x}", i);
            Arc::new(a)
        };
        let alert = numbered_alert(0);
        let line_len = serde_json::to_vec(&*alert).unwrap().len() as u64 + 1;
        let mut sink = sink(&path, line_len * 2, 2);
        for i in 0..7 {
            sink.send(std::slice::from_ref(&numbered_alert(i)))
                .await
                .unwrap();
        }
        // 7 lines, 2 per file: alerts.jsonl has 1, .1 and .2 have 2 each, the oldest is gone.
        let lines = |p: &Path| fs::read_to_string(p).map_or(0, |t| t.lines().count());
        assert_eq!(lines(&path), 1);
        assert_eq!(lines(&numbered(&path, 1)), 2);
        assert_eq!(lines(&numbered(&path, 2)), 2);
        assert!(!numbered(&path, 3).exists());
        let back: Alert = serde_json::from_str(fs::read_to_string(&path).unwrap().trim()).unwrap();
        assert_eq!(back, *numbered_alert(6));

        // logrotate moves the file away; after reopen the sink writes a new one.
        fs::rename(&path, dir.path().join("moved")).unwrap();
        sink.reopen();
        sink.send(std::slice::from_ref(&numbered_alert(7)))
            .await
            .unwrap();
        assert_eq!(lines(&path), 1);
        assert_eq!(lines(&dir.path().join("moved")), 1);
    }
}
