//! The `trailwatch` command line: parses arguments, runs a subcommand, maps the result to
//! an exit code (0 success, 1 findings, 2 usage or configuration error; `run` also exits 70
//! after a panic outside a record's evaluation, for the service manager to restart it).

use clap::{Parser, Subcommand};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use trailwatch::cli::{check, exit, replay, rules, sink, state, test};
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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
enum StateCommand {
    /// Verify the store: SQLite's integrity check, its identity, every row decoded
    Check,
    /// Salvage a damaged store into a new one (the daemon must be stopped)
    Repair,
}

#[derive(Subcommand)]
enum SinkCommand {
    /// Send a sample alert through the sink configured in sinks.d/NAME.yaml
    Test {
        #[arg(value_name = "NAME")]
        name: String,
        /// Configuration file (trailwatch.yaml) naming sinks_dir; default sinks.d
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List rules, optionally filtered
    List {
        /// ATT&CK technique (T1098 also matches its sub-techniques)
        #[arg(long)]
        technique: Option<String>,
        /// ATT&CK tactic (TA0003)
        #[arg(long)]
        tactic: Option<String>,
        /// CloudTrail eventName the rule filters on
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
    /// ATT&CK tactic x technique coverage of the loaded rules
    Coverage,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity `{s}`; valid: Info, Low, Medium, High, Critical"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::CONFIG
            } else {
                exit::OK
            });
        }
    };
    if let Command::Run { config } = cli.command {
        return run_daemon(config);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut err = io::stderr();
    let result = match cli.command {
        Command::Test {
            paths,
            filters,
            minimum_tests,
        } => test::run(
            &test::Options {
                paths,
                filters,
                minimum_tests,
            },
            &mut out,
            &mut err,
        ),
        Command::Run { .. } => unreachable!("handled above"),
        Command::Sink {
            command: SinkCommand::Test { name, config },
        } => sink::test(&name, config.as_deref(), &mut out, &mut err),
        Command::Check { config } => check::run(config.as_deref(), &mut out, &mut err),
        Command::State { command, config } => match command {
            StateCommand::Check => state::check(config.as_deref(), &mut out, &mut err),
            StateCommand::Repair => state::repair(config.as_deref(), &mut out, &mut err),
        },
        Command::Replay {
            rules,
            output,
            inputs,
        } => replay::run(
            &replay::Options {
                rules,
                output,
                inputs,
            },
            &mut out,
            &mut err,
        ),
        Command::Rules {
            command,
            rules: paths,
            format,
        } => match command {
            RulesCommand::List {
                technique,
                tactic,
                event_name,
                severity,
                tag,
            } => rules::list(
                &paths,
                &rules::ListFilters {
                    technique,
                    tactic,
                    event_name,
                    severity,
                    tag,
                },
                format,
                &mut out,
                &mut err,
            ),
            RulesCommand::Show { rule_id } => {
                rules::show(&paths, &rule_id, format, &mut out, &mut err)
            }
            RulesCommand::Coverage => rules::coverage(&paths, format, &mut out, &mut err),
        },
    };
    let code = match result.and_then(|code| out.flush().map(|()| code)) {
        Ok(code) => code,
        // A closed pipe (`trailwatch replay ... | head`) is not an error worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            let _ = writeln!(err, "trailwatch: {e}");
            exit::CONFIG
        }
    };
    ExitCode::from(code)
}

/// Starts logging and the async runtime, and runs the daemon.
fn run_daemon(config: Option<PathBuf>) -> ExitCode {
    // A panic outside a record's evaluation ends the process (exit 70) for systemd to restart.
    trailwatch::daemon::supervise::install_panic_hook();
    // Under systemd, journald stamps each line itself: no second timestamp, no colours.
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false)
        .fmt_fields(trailwatch::escape::log_fields());
    if journald {
        builder.without_time().with_ansi(false).init();
    } else {
        builder.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("trailwatch: cannot start the async runtime: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    match runtime.block_on(trailwatch::daemon::run(config)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("trailwatch: {e:#}");
            ExitCode::from(if e.is::<trailwatch::daemon::StartupError>() {
                exit::CONFIG
            } else {
                1
            })
        }
    }
}
