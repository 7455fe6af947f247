//! Counters for `/metrics` (Prometheus text format) and the `/healthz` endpoint.
//!
//! Counters are plain atomics, and labelled families are small maps behind a mutex taken once
//! per batch, not per event; the hot path never waits on them for long. The HTTP side is in
//! `endpoint`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Every metric the daemon exports.
#[derive(Default)]
pub struct Metrics {
    pub records_read: Labelled,
    pub records_failed: Labelled,
    pub files_failed: AtomicU64,
    pub records_panicked: AtomicU64,
    pub rule_matches: Labelled,
    pub alerts_opened: AtomicU64,
    pub alerts_suppressed: AtomicU64,
    pub duplicate_events: AtomicU64,
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    pub rules_loaded: AtomicU64,
    pub rule_errors: AtomicU64,
    pub rules_hash: Mutex<String>,
    /// The configured source directories: the only values the `source` label takes, so that
    /// the number of series stays fixed however many directories CloudTrail's layout creates.
    source_roots: std::sync::OnceLock<Vec<(std::path::PathBuf, String)>>,
    pub checkpoint_lag_batches: AtomicU64,
    pub pipeline_queue_depth: AtomicU64,
    pub checkpoint_commits: AtomicU64,
    /// Dedup keys held in the state store.
    pub dedup_keys: AtomicU64,
    /// Bytes of dedup windows held in the state store (bounded by `dedup.max_pending_bytes`).
    pub dedup_window_bytes: AtomicU64,
    /// Dedup keys evicted at `dedup.max_keys` or `dedup.max_pending_bytes` (least recently
    /// used first).
    pub dedup_keys_evicted: AtomicU64,
    /// Dedup keys forgotten after twice their period without a match.
    pub dedup_keys_expired: AtomicU64,
    /// Windows given up at the per-key bound (`MAX_WINDOWS_PER_KEY`).
    pub dedup_windows_dropped: AtomicU64,
    /// State commits that failed and were retried (a full disk, say).
    pub state_commit_failures: AtomicU64,
    /// Opens that found no descriptor free (EMFILE/ENFILE); the file was tried again later.
    pub open_file_retries: std::sync::Arc<AtomicU64>,
    /// Start time, last reload, recent alerts and file positions, for `/status`.
    pub facts: super::status::Facts,
}

/// A counter family with one label.
#[derive(Default)]
pub struct Labelled(Mutex<BTreeMap<String, u64>>);

impl Labelled {
    pub fn add(&self, label: &str, n: u64) {
        if n == 0 {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(label) {
            Some(v) => *v += n,
            None => {
                map.insert(label.to_string(), n);
            }
        }
    }

    pub fn get(&self, label: &str) -> u64 {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(label).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().sum()
    }

    fn render(&self, out: &mut String, name: &str, label: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (value, n) in map.iter() {
            let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape(value));
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

impl Metrics {
    /// Records the state store's dedup keys and their bytes (after each change).
    pub fn note_store_size(&self, keys: u64, bytes: u64) {
        self.dedup_keys.store(keys, Ordering::Relaxed);
        self.dedup_window_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Sets the configured source directories (once, at start): each is labelled as written
    /// in the configuration and matched in absolute form.
    pub fn set_source_roots(&self, roots: &[std::path::PathBuf]) {
        let roots = roots
            .iter()
            .map(|r| {
                let absolute = std::path::absolute(r).unwrap_or_else(|_| r.clone());
                (
                    absolute,
                    crate::escape::line(&r.display().to_string()).into_owned(),
                )
            })
            .collect();
        let _ = self.source_roots.set(roots);
    }

    /// The `source` label of a file: the configured source directory it lies under (the
    /// longest that matches), or `other`.
    pub fn source_label(&self, path: &std::path::Path) -> String {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.source_roots
            .get()
            .and_then(|roots| {
                roots
                    .iter()
                    .filter(|(root, _)| absolute.starts_with(root))
                    .max_by_key(|(root, _)| root.as_os_str().len())
            })
            .map(|(_, label)| label.clone())
            .unwrap_or_else(|| "other".to_string())
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        self.records_read.render(
            &mut out,
            "trailwatch_records_read_total",
            "source",
            "Records read, per configured source directory.",
        );
        self.records_failed.render(
            &mut out,
            "trailwatch_records_failed_total",
            "source",
            "Records that could not be parsed, per configured source directory.",
        );
        scalar(
            &mut out,
            "trailwatch_records_panicked_total",
            "counter",
            "Records whose evaluation panicked; each was skipped and reported as bad input.",
            get(&self.records_panicked),
        );
        scalar(
            &mut out,
            "trailwatch_files_failed_total",
            "counter",
            "Files that could not be read.",
            get(&self.files_failed),
        );
        self.rule_matches.render(
            &mut out,
            "trailwatch_rule_matches_total",
            "rule_id",
            "Events matched, per rule.",
        );
        scalar(
            &mut out,
            "trailwatch_alerts_opened_total",
            "counter",
            "Alerts opened (sent to sinks).",
            get(&self.alerts_opened),
        );
        scalar(
            &mut out,
            "trailwatch_alerts_suppressed_total",
            "counter",
            "Matches folded into an open alert or below threshold.",
            get(&self.alerts_suppressed),
        );
        scalar(
            &mut out,
            "trailwatch_duplicate_events_total",
            "counter",
            "Events skipped because their eventID was already processed.",
            get(&self.duplicate_events),
        );
        scalar(
            &mut out,
            "trailwatch_reloads_total",
            "counter",
            "Reloads applied (broken rule files among them show in trailwatch_rule_errors).",
            get(&self.reloads_ok),
        );
        scalar(
            &mut out,
            "trailwatch_reload_failures_total",
            "counter",
            "Reloads rejected for config or sink errors (the running rules and sinks kept).",
            get(&self.reloads_failed),
        );
        scalar(
            &mut out,
            "trailwatch_rules_loaded",
            "gauge",
            "Rules in the running set.",
            get(&self.rules_loaded),
        );
        scalar(
            &mut out,
            "trailwatch_rule_errors",
            "gauge",
            "Errors in rule files at the last load (broken files are skipped or keep their previous version).",
            get(&self.rule_errors),
        );
        let hash = self
            .rules_hash
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let _ = writeln!(out, "# HELP trailwatch_rules_info The running rule set.\n# TYPE trailwatch_rules_info gauge\ntrailwatch_rules_info{{hash=\"{}\"}} 1", escape(&hash));
        scalar(
            &mut out,
            "trailwatch_checkpoint_lag_batches",
            "gauge",
            "Batches read but not yet committed to the checkpoint.",
            get(&self.checkpoint_lag_batches),
        );
        scalar(
            &mut out,
            "trailwatch_pipeline_queue_depth",
            "gauge",
            "Evaluated batches waiting for the alert stage.",
            get(&self.pipeline_queue_depth),
        );
        scalar(
            &mut out,
            "trailwatch_checkpoint_commits_total",
            "counter",
            "Durable state commits.",
            get(&self.checkpoint_commits),
        );
        scalar(
            &mut out,
            "trailwatch_dedup_keys",
            "gauge",
            "Dedup keys (rule, dedup string) held in the state store.",
            get(&self.dedup_keys),
        );
        scalar(
            &mut out,
            "trailwatch_dedup_window_bytes",
            "gauge",
            "Bytes of dedup windows held in the state store (bounded by dedup.max_pending_bytes).",
            get(&self.dedup_window_bytes),
        );
        scalar(
            &mut out,
            "trailwatch_dedup_keys_evicted_total",
            "counter",
            "Dedup keys evicted at dedup.max_keys or dedup.max_pending_bytes, least recently used first.",
            get(&self.dedup_keys_evicted),
        );
        scalar(
            &mut out,
            "trailwatch_dedup_keys_expired_total",
            "counter",
            "Dedup keys forgotten after twice their dedup period without a match.",
            get(&self.dedup_keys_expired),
        );
        scalar(
            &mut out,
            "trailwatch_dedup_windows_dropped_total",
            "counter",
            "Dedup windows given up at the per-key bound (16 windows per rule and dedup string).",
            get(&self.dedup_windows_dropped),
        );
        scalar(
            &mut out,
            "trailwatch_state_commit_failures_total",
            "counter",
            "State store commits that failed and were retried.",
            get(&self.state_commit_failures),
        );
        scalar(
            &mut out,
            "trailwatch_open_file_retries_total",
            "counter",
            "File opens that found no descriptor free (EMFILE/ENFILE) and were retried later.",
            get(&self.open_file_retries),
        );
        out
    }
}

/// A per-sink metric: name, type, help text, and how to read it from the stats.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::sink::SinkStats) -> u64,
);

/// The per-sink counters and queue depths, in the exposition format.
pub fn render_sinks(stats: &[crate::sink::SinkStats]) -> String {
    let mut out = String::new();
    let families: [Family; 10] = [
        (
            "trailwatch_sink_queue_depth",
            "gauge",
            "Alerts waiting in the sink's queue.",
            |s| s.waiting as u64,
        ),
        (
            "trailwatch_sink_queue_bytes",
            "gauge",
            "Bytes waiting in the sink's queue.",
            |s| s.waiting_bytes,
        ),
        (
            "trailwatch_sink_accepted_total",
            "counter",
            "Alerts accepted into the sink's spool.",
            |s| s.accepted,
        ),
        (
            "trailwatch_sink_delivered_total",
            "counter",
            "Alerts delivered.",
            |s| s.delivered,
        ),
        (
            "trailwatch_sink_duplicates_total",
            "counter",
            "Alerts skipped as already delivered.",
            |s| s.duplicates,
        ),
        (
            "trailwatch_sink_dropped_total",
            "counter",
            "Alerts dropped by a full queue (drop_oldest).",
            |s| s.dropped,
        ),
        (
            "trailwatch_sink_rejected_total",
            "counter",
            "Alerts refused for good by the destination.",
            |s| s.rejected,
        ),
        (
            "trailwatch_sink_retries_total",
            "counter",
            "Delivery attempts retried.",
            |s| s.retries,
        ),
        (
            "trailwatch_sink_timeouts_total",
            "counter",
            "Delivery attempts abandoned at retry.attempt_timeout_secs (and retried).",
            |s| s.timeouts,
        ),
        (
            "trailwatch_sink_spool_failures_total",
            "counter",
            "Spool operations that failed (a full disk, say): appends (the alert was not accepted), queue reads and delivery records; each is retried.",
            |s| s.spool_failures,
        ),
    ];
    for (name, kind, help, get) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in stats {
            let _ = writeln!(out, "{name}{{sink=\"{}\"}} {}", escape(&s.name), get(s));
        }
    }
    out
}
