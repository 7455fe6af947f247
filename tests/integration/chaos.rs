//! The short chaos soak inside `cargo test`: 50,000 records, 10 SIGKILLs, a failing Slack
//! stand-in and a restarting syslog collector, against the debug binary (the full soak is
//! `tests/chaos/run.sh`; docs/TESTING.md).
//!
//! What it holds the daemon to: no alert `replay` computes is missing at any sink, nothing
//! arrives that replay cannot account for, and no alert id arrives twice except in flight
//! at a kill. Two known crash effects are printed but not failed here (see
//! `tests/chaos/verdict.rs`): a delivery the endpoint took just before a SIGKILL is sent
//! again (the documented gap of an endpoint without acknowledgements), and a window whose
//! alert was published but not yet committed can be formed anew, under another id, when the
//! daemon re-reads after a kill, which also moves that key's later windows (reported as a
//! bug; the full soak fails on it).

#[path = "../chaos/mod.rs"]
mod soak;

use std::path::PathBuf;

#[test]
fn ten_kills_while_sinks_fail_lose_nothing_and_repeat_nothing_unexplained() {
    let work = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut options = soak::Options::new(
        PathBuf::from(env!("CARGO_BIN_EXE_trailwatch")),
        repo.join("rules.d"),
        work.path().to_path_buf(),
    );
    options.records = 50_000;
    options.kills = 10;
    options.seed = 10;
    options.syslog_max_uptime = std::time::Duration::from_secs(4);
    options.policy.allow_duplicates_at_kill = true;
    // Alerts leave only from the store's outbox, after their windows are committed: a
    // detection is never notified again under another id after a kill.
    options.policy.allow_renotified = false;
    let report = soak::run::soak(&options).unwrap_or_else(|e| {
        let log =
            std::fs::read_to_string(work.path().join("daemon/daemon.log")).unwrap_or_default();
        let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
        panic!("the soak could not complete: {e}\nlast daemon log lines (newest first):\n{tail}")
    });
    eprintln!("{report}");
    assert_eq!(report.kills, 10, "{report}");
    assert_eq!(report.records, 50_000, "{report}");
    assert!(
        report.replay_alerts >= 300,
        "too few alerts to mean anything:\n{report}"
    );
    for sink in &report.sinks {
        assert!(sink.expected > 0 && sink.received > 0, "{report}");
    }
    assert!(report.passed(), "{report}");
}
