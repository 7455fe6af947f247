//! The `trailwatch` command line: parses arguments, runs a subcommand, maps the result to
//! an exit code (0 success, 1 findings, 2 usage or configuration error; `run` also exits 70
//! after a panic outside a record's evaluation, for the service manager to restart it).

mod args;
mod manpages;

use args::{Cli, Command, RulesCommand, SinkCommand, StateCommand};
use clap::{CommandFactory, Parser};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use trailwatch::cli::{
    check, coverage, exit, logging, replay, rule_page, rules, sink, state, status, test,
};
use trailwatch::config::{Config, LogFormat};

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
    if let Command::Run { config, log_format } = cli.command {
        return run_daemon(config, log_format);
    }
    // Not locked for the whole run: `sink test stdout` writes the test alert to stdout from
    // a blocking-pool thread, which would wait forever on a lock this thread holds.
    let mut out = BufWriter::new(io::stdout());
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
        Command::Status {
            config,
            format,
            failing_after_secs,
        } => status::run(
            config.as_deref(),
            format,
            Duration::from_secs(failing_after_secs),
            &mut out,
            &mut err,
        ),
        Command::Completions { shell } => {
            // Into memory first: the generator panics on a write error such as a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "trailwatch", &mut script);
            out.write_all(&script).map(|()| exit::OK)
        }
        Command::Manpages { dir } => manpages::write_all(&dir).map(|()| exit::OK),
        Command::Sink {
            command:
                SinkCommand::Test {
                    names,
                    all,
                    severity,
                    config,
                },
        } => sink::test(
            &sink::Options {
                names,
                all,
                severity,
            },
            config.as_deref(),
            &mut out,
            &mut err,
        ),
        Command::Check { config } => check::run(config.as_deref(), &mut out, &mut err),
        Command::State { command, config } => match command {
            StateCommand::Check => state::check(config.as_deref(), &mut out, &mut err),
            StateCommand::Repair => state::repair(config.as_deref(), &mut out, &mut err),
        },
        Command::Replay {
            rules,
            output,
            inputs,
            max_line_bytes,
        } => replay::run(
            &replay::Options {
                rules,
                output,
                inputs,
                max_line_bytes,
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
                rule_page::show(&paths, &rule_id, format, &mut out, &mut err)
            }
            RulesCommand::Coverage { include_disabled } => {
                coverage::run(&paths, include_disabled, format, &mut out, &mut err)
            }
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
fn run_daemon(config: Option<PathBuf>, log_format: Option<LogFormat>) -> ExitCode {
    // A panic outside a record's evaluation ends the process (exit 70) for systemd to restart.
    trailwatch::daemon::supervise::install_panic_hook();
    // The log must exist before the daemon loads its configuration (to report errors in it),
    // so the format is read here first; a broken file falls back to text and the daemon then
    // reports the error itself.
    let format = log_format.unwrap_or_else(|| {
        Config::load(config.as_deref())
            .map(|c| c.log.format)
            .unwrap_or_default()
    });
    logging::init(format, logging::LogTarget::detect());
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
