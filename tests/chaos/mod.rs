//! The chaos soak: the daemon fed a stream of CloudTrail files while it is killed with SIGKILL
//! at random moments and its sinks misbehave; at the end, every alert `trailwatch replay`
//! computes for the same data must have reached each sink exactly once.
//!
//! Shared by `examples/chaos.rs` (the full soak, `tests/chaos/run.sh`) and
//! `tests/integration/chaos.rs` (a short version inside `cargo test`). Everything is seeded:
//! the records, the chunking, the kill moments, the Slack failures and the syslog restarts,
//! so a failing seed can be run again. See docs/TESTING.md for how to read the report.
//!
//! Order matters for the comparison: a dedup window starts at its first match *by arrival*,
//! so the daemon and replay agree only when they see matches in the same order. Chunks are
//! fed in event-time order, one at a time: the next chunk is written only once the daemon's
//! `trailwatch_records_read_total` shows it read the previous one (a kill skips that wait,
//! which is the point of a kill). Replay reads the chunks from numbered files in the same order.

#[path = "../../benches/support/synth.rs"]
mod synth;

pub mod daemon;
pub mod feed;
pub mod filesink;
pub mod run;
pub mod slack;
pub mod syslog;
pub mod verdict;

use std::path::PathBuf;
use std::time::Duration;

/// What to run; [`Options::new`] gives the full soak's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `trailwatch` binary.
    pub binary: PathBuf,
    /// The rules (the shipped `rules.d/`).
    pub rules: PathBuf,
    /// An empty directory for the daemon's files, the replay copy and the report.
    pub work: PathBuf,
    pub records: usize,
    pub kills: usize,
    pub seed: u64,
    /// Records per chunk, drawn from this range.
    pub chunk_records: (usize, usize),
    /// Slack requests refused, per mille (two thirds answered 500, one third 429).
    pub slack_fail_per_mille: u64,
    /// The syslog collector restarts after 1 s to this long.
    pub syslog_max_uptime: Duration,
    /// Print progress lines to stderr.
    pub verbose: bool,
    /// Which known crash effects fail the soak (both are always reported).
    pub policy: verdict::Policy,
}

impl Options {
    /// The full soak: 500,000 records, 100 kills, seed 1.
    pub fn new(binary: PathBuf, rules: PathBuf, work: PathBuf) -> Options {
        Options {
            binary,
            rules,
            work,
            records: 500_000,
            kills: 100,
            seed: 1,
            chunk_records: (500, 3000),
            slack_fail_per_mille: 300,
            syslog_max_uptime: Duration::from_secs(8),
            verbose: false,
            policy: verdict::Policy::default(),
        }
    }
}

/// The outcome of a soak.
#[derive(Debug, Default)]
pub struct Report {
    pub policy: verdict::Policy,
    pub records: u64,
    pub injected: u64,
    pub chunks: usize,
    pub kills: usize,
    pub replay_alerts: usize,
    pub slack_refused_500: u64,
    pub slack_refused_429: u64,
    pub syslog_restarts: u64,
    pub sinks: Vec<verdict::SinkVerdict>,
    /// `Some(true)` healthy, `Some(false)` unhealthy, None when the subcommand is missing.
    pub state_check: Option<bool>,
    pub seconds: f64,
}

impl Report {
    /// Every sink passed and the store is healthy (or could not be checked yet).
    pub fn passed(&self) -> bool {
        !self.sinks.is_empty()
            && self.sinks.iter().all(|s| s.passed(self.policy))
            && self.state_check == Some(true)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "chaos: {} records ({} injected from rule tests) in {} chunks, {} SIGKILLs, {:.0} s",
            self.records, self.injected, self.chunks, self.kills, self.seconds
        )?;
        writeln!(
            f,
            "chaos: replay computes {} alerts; slack refused {} (500) + {} (429); syslog restarted {} times",
            self.replay_alerts, self.slack_refused_500, self.slack_refused_429, self.syslog_restarts
        )?;
        for sink in &self.sinks {
            writeln!(f, "chaos: {sink}")?;
        }
        match self.state_check {
            Some(true) => writeln!(f, "chaos: state check: healthy")?,
            Some(false) => writeln!(f, "chaos: state check: FAILED")?,
            None => writeln!(
                f,
                "chaos: !!!!! state check skipped: subcommand missing (`trailwatch state --help` failed) !!!!!"
            )?,
        }
        write!(
            f,
            "chaos: {} (re-windowed alerts {}; duplicates at a kill {}; renotified {})",
            if self.passed() { "PASSED" } else { "FAILED" },
            if self.policy.exact_ids {
                "fail"
            } else {
                "pass"
            },
            if self.policy.allow_duplicates_at_kill {
                "pass"
            } else {
                "fail"
            },
            if self.policy.allow_renotified {
                "pass"
            } else {
                "fail"
            },
        )
    }
}
