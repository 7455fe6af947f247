//! The daemon's log: one subscriber set up before anything else runs, shaped for its reader.
//!
//! - A terminal gets colours, unless `NO_COLOR` is set (<https://no-color.org>); a file or a
//!   pipe never does, so captured logs hold no escape sequences.
//! - Under systemd (`JOURNAL_STREAM` set) journald stamps each line itself, so ours carry no
//!   timestamp.
//! - `json` writes one object per line for log shippers, its fields flattened to the top level
//!   with stable names: `timestamp`, `level`, `message`, and where an event concerns one,
//!   `file`, `line`, `rule_id`, `sink`, `error` (docs/OPERATIONS.md lists them).

use crate::config::LogFormat;
use std::io::IsTerminal;

/// Where the log goes and what the environment asks of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTarget {
    pub terminal: bool,
    pub no_color: bool,
    pub journald: bool,
}

impl LogTarget {
    /// Reads the facts from stderr and the environment.
    pub fn detect() -> LogTarget {
        LogTarget {
            terminal: std::io::stderr().is_terminal(),
            // NO_COLOR disables colour when present and not empty.
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            journald: std::env::var_os("JOURNAL_STREAM").is_some(),
        }
    }

    /// Colour escapes only for a person at a terminal who did not opt out.
    pub fn colours(&self) -> bool {
        self.terminal && !self.no_color && !self.journald
    }
}

/// Installs the global subscriber; `RUST_LOG` picks the level (default `info`).
pub fn init(format: LogFormat, target: LogTarget) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(target.colours());
    match (format, target.journald) {
        (LogFormat::Json, _) => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        // Text fields go through the escaping policy: a file name or an event value cannot
        // split a line or send terminal escapes ([`crate::escape::log_fields`]).
        (LogFormat::Text, true) => builder
            .fmt_fields(crate::escape::log_fields())
            .without_time()
            .init(),
        (LogFormat::Text, false) => builder.fmt_fields(crate::escape::log_fields()).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_need_a_terminal_and_no_opt_out() {
        let tty = LogTarget {
            terminal: true,
            no_color: false,
            journald: false,
        };
        assert!(tty.colours());
        assert!(!LogTarget {
            no_color: true,
            ..tty
        }
        .colours());
        assert!(!LogTarget {
            terminal: false,
            ..tty
        }
        .colours());
        assert!(!LogTarget {
            journald: true,
            ..tty
        }
        .colours());
    }
}
