//! Watching the file sink's output as it grows.
//!
//! The file sink writes JSON lines; a thread reads new complete lines every 20 ms and records
//! each alert id with the moment it was seen, so duplicates in the file can be placed in time
//! against the SIGKILLs like those at the network sinks. Every alert the daemon publishes
//! reaches this sink (it has no filter), so its lines also describe each published alert.

use super::verdict::AlertInfo;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the file held, as it grew.
#[derive(Debug, Default)]
pub struct Log {
    pub received: Vec<(String, Instant)>,
    pub published: BTreeMap<String, AlertInfo>,
    /// Complete lines that are not an alert.
    pub malformed: u64,
}

/// The watcher; stops when dropped.
pub struct FileSink {
    pub log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileSink {
    pub fn watch(path: PathBuf) -> FileSink {
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (log.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let (mut offset, mut pending) = (0u64, Vec::new());
            loop {
                // Read once more after the stop flag is seen, so nothing written before the
                // stop is missed.
                let stopping = thread_stop.load(Ordering::Relaxed);
                read_new(&path, &mut offset, &mut pending, &thread_log);
                if stopping {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        FileSink {
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// Reads what is left and stops (call after the daemon stopped).
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_new(path: &std::path::Path, offset: &mut u64, pending: &mut Vec<u8>, log: &Mutex<Log>) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    if file.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut bytes = Vec::new();
    let Ok(n) = file.read_to_end(&mut bytes) else {
        return;
    };
    *offset += n as u64;
    pending.extend_from_slice(&bytes);
    let now = Instant::now();
    let mut log = log.lock().unwrap();
    while let Some(end) = pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = pending.drain(..=end).collect();
        match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(alert) if alert["alert_id"].is_string() => {
                let id = alert["alert_id"].as_str().unwrap_or_default().to_string();
                log.published
                    .insert(id.clone(), AlertInfo::from_json(&alert));
                log.received.push((id, now));
            }
            _ => log.malformed += 1,
        }
    }
}
