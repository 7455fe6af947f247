//! The command line's shape: every subcommand and option, as clap derives them. Kept apart
//! from `main.rs` so the man pages and completions (`trailwatch completions`, `trailwatch
//! manpages`) are generated from the very definitions the parser uses.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use trailwatch::cli::{replay, rules, status, test};
use trailwatch::config::LogFormat;
use trailwatch::rule::Severity;

#[derive(Parser)]
#[command(
    name = "trailwatch",
    version,
    about = "Detection for AWS CloudTrail logs with Panther-format and Sigma rules",
    long_about = "trailwatch evaluates detection rules (Panther-format YAML with no-code \
                  `Detection` blocks, and Sigma rules) against AWS CloudTrail logs: gzipped or \
                  plain {\"Records\":[...]} delivery files and NDJSON.\n\nExit codes: 0 success, 1 findings (failed \
                  tests), 2 usage or configuration error, 70 (run) internal error after a panic."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the daemon: watch CloudTrail logs, evaluate rules, send alerts to the sinks
    ///
    /// Without --config it runs on built-in defaults relative to the working directory:
    /// rules from rules.d/, sinks from sinks.d/, logs from var/inbox/, state in var/state/,
    /// metrics on 127.0.0.1:9187. SIGHUP (or editing rules.d/ or sinks.d/) reloads; SIGTERM
    /// drains and exits.
    Run {
        /// Configuration file (trailwatch.yaml)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Log format (overrides `log.format` in the configuration): `text` for people,
        /// `json` (one object per line) for log shippers
        #[arg(long, value_enum, value_name = "FORMAT")]
        log_format: Option<LogFormat>,
    },
    /// Run the unit tests inside rule files and print a result per test
    Test {
        /// Rule files or directories (searched recursively for .yml/.yaml)
        #[arg(default_value = "rules.d")]
        paths: Vec<PathBuf>,
        /// Only rules whose KEY has one of the comma-separated VALUEs
        /// (keys: RuleID, Tags, Severity, LogTypes); repeat to combine
        #[arg(long = "filter", value_name = "KEY=VALUE")]
        filters: Vec<test::Filter>,
        /// Fail rules with fewer tests than N; with N >= 2 each rule also needs a true and a
        /// false case
        #[arg(long, value_name = "N", default_value_t = 0)]
        minimum_tests: usize,
    },
    /// Validate the configuration and every rule without starting anything
    Check {
        /// Configuration file (trailwatch.yaml); without it the built-in defaults apply
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check or repair the daemon's state store (state_dir/state.db)
    ///
    /// `check` reads the store (safe while the daemon runs) and exits 1 if it is damaged.
    /// `repair` needs the daemon stopped: it copies every readable row into a new store, keeps
    /// the damaged files beside it and says what was lost.
    State {
        #[command(subcommand)]
        command: StateCommand,
        /// Configuration file (trailwatch.yaml) naming state_dir; without it var/state
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
    },
    /// Evaluate log files once and write JSON lines to stdout
    ///
    /// Exits 2 when an input path does not exist or a rule file is invalid, 1 when a record
    /// or file was skipped as malformed (or over --max-line-bytes), 0 otherwise.
    Replay {
        /// Rule directory or file; repeat for several
        #[arg(long = "rules", value_name = "DIR", default_value = "rules.d")]
        rules: Vec<PathBuf>,
        /// `alerts`: each alert after dedup and threshold, when the input is exhausted;
        /// `matches`: one line per (rule, event) match
        #[arg(long, value_enum, default_value_t = replay::Output::Alerts)]
        output: replay::Output,
        /// .json, .json.gz or NDJSON files, or directories of them (recursively)
        #[arg(required = true, value_name = "PATH")]
        inputs: Vec<PathBuf>,
        /// NDJSON lines longer than this many bytes are reported and skipped; the same
        /// default as the daemon's max_line_bytes (8 MiB)
        #[arg(long, value_name = "BYTES", default_value_t = trailwatch::event::reader::MAX_LINE_BYTES)]
        max_line_bytes: usize,
    },
    /// Ask the running daemon how it is doing: rules, sources, sinks, recent alerts
    ///
    /// Reads the daemon's `/status` document from its metrics endpoint (metrics.listen).
    /// Exits 1 when the daemon cannot be reached, the last reload was rejected, the pipeline
    /// is stuck, or a sink has failed for longer than --failing-after-secs.
    Status {
        /// Configuration file (trailwatch.yaml) naming metrics.listen; default 127.0.0.1:9187
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = status::Format::Text)]
        format: status::Format,
        /// How long a sink may fail every attempt before it counts as unhealthy
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        failing_after_secs: u64,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    ///
    /// bash: `trailwatch completions bash > /etc/bash_completion.d/trailwatch`
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the man pages generated from these definitions into DIR (for packaging)
    #[command(hide = true)]
    Manpages {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Alert sinks: send a test alert
    Sink {
        #[command(subcommand)]
        command: SinkCommand,
    },
    /// The catalog of loaded rules: list, show one, ATT&CK coverage
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
        /// Rule directory or file; repeat for several
        #[arg(
            long = "rules",
            value_name = "DIR",
            default_value = "rules.d",
            global = true
        )]
        rules: Vec<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = rules::Format::Text, global = true)]
        format: rules::Format,
    },
}

#[derive(Subcommand)]
pub enum StateCommand {
    /// Verify the store: SQLite's integrity check, its identity, every row decoded
    Check,
    /// Salvage a damaged store into a new one (the daemon must be stopped)
    Repair,
}

#[derive(Subcommand)]
pub enum SinkCommand {
    /// Send a test alert ([TEST] title, RuleID trailwatch.sink_test, a fresh alert_id) through
    /// each sink named (sinks.d/NAME.yaml), or every sink with --all. Exit 0 when every one
    /// was sent, 1 when a sink failed it, 2 when a sink is unknown or its file is broken.
    Test {
        /// Sinks to test; each is loaded and tested on its own
        #[arg(
            value_name = "NAME",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        names: Vec<String>,
        /// Test every sink in sinks_dir
        #[arg(long)]
        all: bool,
        /// Severity of the test alert (Info, Low, Medium, High, Critical); default Info
        #[arg(long, value_parser = parse_severity)]
        severity: Option<Severity>,
        /// Configuration file (trailwatch.yaml) naming sinks_dir; default sinks.d
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// List rules, optionally filtered
    List {
        /// ATT&CK technique: an ID or a name (T1098 also matches its sub-techniques)
        #[arg(long)]
        technique: Option<String>,
        /// ATT&CK tactic: an ID or a name (TA0005, defense-evasion, "Defense Evasion")
        #[arg(long)]
        tactic: Option<String>,
        /// CloudTrail eventName the rule can match (anywhere in its detection but under None)
        #[arg(long)]
        event_name: Option<String>,
        /// Severity (Info, Low, Medium, High, Critical)
        #[arg(long, value_parser = parse_severity)]
        severity: Option<Severity>,
        /// Tag (case-insensitive)
        #[arg(long)]
        tag: Option<String>,
    },
    /// One rule's catalog page: metadata, ATT&CK, logic, indicators, output fields, related rules
    Show {
        #[arg(value_name = "RULE_ID")]
        rule_id: String,
    },
    /// ATT&CK tactic x technique coverage of the loaded rules (disabled rules are listed
    /// apart and not counted)
    Coverage {
        /// Count disabled rules too (each marked "(disabled)")
        #[arg(long)]
        include_disabled: bool,
    },
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity `{s}`; valid: Info, Low, Medium, High, Critical"))
}
