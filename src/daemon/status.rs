//! The `/status` document: what `trailwatch status` prints, built by the running daemon from
//! its own counters, so the command never opens the state store behind the daemon's back.
//!
//! The facts that are not plain counters (start time, the last reload's result, alerts per
//! minute for the last hour, the committed file positions) are kept in [`Facts`], updated
//! where they happen: once per reload, once per opened alert, once per state commit. Each is
//! a small mutex taken off the per-event path.

use super::metrics::Metrics;
use crate::config::SourceConfig;
use crate::sink::SinkStats;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Minutes of alert history kept: "alerts in the last hour".
const ALERT_MINUTES: usize = 60;

/// Facts about the running daemon that counters alone do not give.
pub struct Facts {
    started_ms: u64,
    last_reload: Mutex<Option<ReloadResult>>,
    /// Alerts opened per minute: (minute since the epoch, count), indexed by minute % 60.
    alert_minutes: Mutex<[(u64, u64); ALERT_MINUTES]>,
    /// File positions as of the last state commit: (path, offset, read completely).
    positions: Mutex<Vec<(PathBuf, u64, bool)>>,
    /// The newest event time read per source.
    pub event_clock: super::event_lag::EventClock,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            started_ms: unix_ms(),
            last_reload: Mutex::new(None),
            alert_minutes: Mutex::new([(0, 0); ALERT_MINUTES]),
            positions: Mutex::new(Vec::new()),
            event_clock: Default::default(),
        }
    }
}

/// The outcome of the last reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    pub ok: bool,
    pub at_ms: u64,
    /// Errors that rejected the reload (empty when it applied).
    pub errors: usize,
}

impl Facts {
    /// Records a reload's outcome.
    pub fn reloaded(&self, ok: bool, errors: usize) {
        let result = ReloadResult {
            ok,
            at_ms: unix_ms(),
            errors,
        };
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    }

    /// Counts one opened alert in the current minute's bucket.
    pub fn alert_opened(&self) {
        let minute = unix_ms() / 60_000;
        let mut buckets = self.alert_minutes.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut buckets[(minute % ALERT_MINUTES as u64) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += 1;
    }

    /// Alerts opened in the last 60 minutes (the current minute included).
    pub fn alerts_last_hour(&self) -> u64 {
        let minute = unix_ms() / 60_000;
        let buckets = self.alert_minutes.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .iter()
            .filter(|(m, _)| minute.saturating_sub(*m) < ALERT_MINUTES as u64)
            .map(|(_, n)| n)
            .sum()
    }

    /// Replaces the committed file positions (called after each state commit).
    pub fn committed(&self, positions: Vec<(PathBuf, u64, bool)>) {
        *self.positions.lock().unwrap_or_else(|e| e.into_inner()) = positions;
    }
}

/// What `/status` returns and `trailwatch status` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusDocument {
    pub version: String,
    pub now_ms: u64,
    pub uptime_secs: u64,
    /// False while the pipeline holds work and makes no progress (as `/healthz`).
    pub pipeline_healthy: bool,
    pub rules_loaded: u64,
    pub rule_errors: u64,
    pub rules_hash: String,
    pub last_reload: Option<ReloadResult>,
    pub reloads_applied: u64,
    pub reloads_rejected: u64,
    pub alerts_last_hour: u64,
    pub sources: Vec<SourceStatus>,
    pub sinks: Vec<SinkStatus>,
}

/// One configured source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceStatus {
    pub path: PathBuf,
    /// Files with a committed position under this source.
    pub files_tracked: u64,
    /// Bytes in those files not yet processed (size on disk minus committed offset).
    pub bytes_behind: u64,
    /// Seconds between now and the newest `eventTime` read from the source (none read yet:
    /// absent). Includes CloudTrail's own delivery delay, and grows while no events arrive.
    pub event_lag_secs: Option<u64>,
}

/// One sink.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinkStatus {
    pub name: String,
    /// Alerts waiting in the spool.
    pub spool_depth: u64,
    pub delivered: u64,
    pub last_delivery_ms: Option<u64>,
    pub last_error_ms: Option<u64>,
    /// When the current run of failures began; none while deliveries succeed.
    pub failing_since_ms: Option<u64>,
}

/// Builds the document from the daemon's live state.
pub fn document(
    metrics: &Metrics,
    sources: &[SourceConfig],
    sinks: &[SinkStats],
    pipeline_healthy: bool,
) -> StatusDocument {
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let facts = &metrics.facts;
    let now_ms = unix_ms();
    let positions = facts
        .positions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let nonzero = |ms: u64| (ms != 0).then_some(ms);
    StatusDocument {
        version: env!("CARGO_PKG_VERSION").to_string(),
        now_ms,
        uptime_secs: now_ms.saturating_sub(facts.started_ms) / 1000,
        pipeline_healthy,
        rules_loaded: get(&metrics.rules_loaded),
        rule_errors: get(&metrics.rule_errors),
        rules_hash: metrics
            .rules_hash
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        last_reload: facts
            .last_reload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        reloads_applied: get(&metrics.reloads_ok),
        reloads_rejected: get(&metrics.reloads_failed),
        alerts_last_hour: facts.alerts_last_hour(),
        sources: sources
            .iter()
            .map(|source| {
                let mut status = source_status(source, &positions);
                let newest = facts.event_clock.newest(&source.path);
                status.event_lag_secs = newest.map(|ms| now_ms.saturating_sub(ms) / 1000);
                status
            })
            .collect(),
        sinks: sinks
            .iter()
            .map(|s| SinkStatus {
                name: s.name.clone(),
                spool_depth: s.waiting as u64,
                delivered: s.delivered,
                last_delivery_ms: nonzero(s.last_delivery_ms),
                last_error_ms: nonzero(s.last_error_ms),
                failing_since_ms: nonzero(s.failing_since_ms),
            })
            .collect(),
    }
}

/// Counts a source's files and measures the unread bytes of those not yet read completely.
fn source_status(source: &SourceConfig, positions: &[(PathBuf, u64, bool)]) -> SourceStatus {
    let mut status = SourceStatus {
        path: source.path.clone(),
        files_tracked: 0,
        bytes_behind: 0,
        event_lag_secs: None,
    };
    // The reader may name files differently from the configuration (`./inbox/a` for `inbox`):
    // both are compared as absolute paths.
    use super::event_lag::absolute;
    let root = absolute(&source.path);
    let under = |p: &&(PathBuf, u64, bool)| absolute(&p.0).starts_with(&root);
    for (path, offset, done) in positions.iter().filter(under) {
        status.files_tracked += 1;
        if !done {
            // A file gone since the commit has nothing left to read: it counts as caught up.
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            status.bytes_behind += size.saturating_sub(*offset);
        }
    }
    status
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_counted_for_the_last_hour_and_reloads_remembered() {
        let facts = Facts::default();
        assert_eq!(facts.alerts_last_hour(), 0);
        facts.alert_opened();
        facts.alert_opened();
        assert_eq!(facts.alerts_last_hour(), 2);
        // A bucket from two hours ago (in a slot other than this minute's) no longer counts.
        let old = unix_ms() / 60_000 - 119;
        facts.alert_minutes.lock().unwrap()[(old % 60) as usize] = (old, 7);
        assert_eq!(facts.alerts_last_hour(), 2);
        facts.reloaded(false, 3);
        let reload = facts.last_reload.lock().unwrap().clone().unwrap();
        assert_eq!((reload.ok, reload.errors), (false, 3));
    }

    #[test]
    fn bytes_behind_are_measured_against_the_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.ndjson");
        std::fs::write(&file, vec![b'x'; 100]).unwrap();
        let source = SourceConfig {
            path: dir.path().to_path_buf(),
            include: Vec::new(),
            exclude: Vec::new(),
            read_from: Default::default(),
            ignore_older_secs: None,
            follow_symlinks: Default::default(),
        };
        let positions = vec![
            (file, 40, false),
            (dir.path().join("done.json"), 10, true),
            ("/elsewhere/x".into(), 0, false),
        ];
        let status = source_status(&source, &positions);
        assert_eq!((status.files_tracked, status.bytes_behind), (2, 60));
    }
}
