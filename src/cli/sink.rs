//! `trailwatch sink test (NAME... | --all) [--severity S] [--config FILE]`: sends a test alert
//! through each named sink, once, with its real settings and secrets, and says what happened.
//! The way to check a webhook URL or a syslog address before an incident does it for you.
//!
//! Each sink is loaded and tested on its own, so one broken sink file does not stop the
//! others from being tested. Each send has a deadline (the sink's
//! `retry.attempt_timeout_secs`), so a peer that never answers or a stdout nobody reads ends
//! in a clear failure rather than a hang. Exit 0 when every test alert was sent, 1 when a sink
//! refused or failed it, 2 when a named sink does not exist or its file is broken.

use super::exit;
use crate::config::Config;
use crate::severity::Severity;
use crate::sink::{self, load::LoadedSink, SinkSpec};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// What `sink test` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The sinks to test, by name; empty with `all`.
    pub names: Vec<String>,
    /// Test every sink in `sinks_dir`.
    pub all: bool,
    /// Severity of the test alert; INFO when not given.
    pub severity: Option<Severity>,
}

pub fn test(
    options: &Options,
    config: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(exit::CONFIG);
        }
    };
    let loaded = match sink::load::load_each(&config.sinks_dir) {
        Ok(loaded) => loaded,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(exit::CONFIG);
        }
    };
    let chosen: Vec<Option<&LoadedSink>> = if options.all {
        loaded.iter().map(Some).collect()
    } else {
        options
            .names
            .iter()
            .map(|name| loaded.iter().find(|l| &l.name == name))
            .collect()
    };
    if chosen.is_empty() {
        writeln!(
            err,
            "no sink to test in {}: name one or more, or give --all",
            config.sinks_dir.display()
        )?;
        return Ok(exit::CONFIG);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let severity = options.severity.unwrap_or(Severity::Info);
    let mut code = exit::OK;
    for (index, entry) in chosen.into_iter().enumerate() {
        let outcome = match entry {
            None => {
                let names: Vec<&str> = loaded.iter().map(|l| l.name.as_str()).collect();
                writeln!(
                    err,
                    "no sink `{}` in {}; sinks: {}",
                    options.names[index],
                    config.sinks_dir.display(),
                    if names.is_empty() {
                        "(none)".to_string()
                    } else {
                        names.join(", ")
                    }
                )?;
                exit::CONFIG
            }
            Some(LoadedSink { spec: Err(e), .. }) => {
                writeln!(err, "{e}")?;
                exit::CONFIG
            }
            Some(LoadedSink { spec: Ok(spec), .. }) => {
                send(&runtime, spec, severity, &mut *out, &mut *err)?
            }
        };
        code = code.max(outcome);
    }
    // A write still blocked (a stdout pipe nobody reads) must not keep the process alive:
    // the failure has been reported, so the runtime is dropped without waiting for it.
    runtime.shutdown_background();
    Ok(code)
}

/// Sends one fresh test alert through `spec`, within the sink's attempt deadline.
fn send(
    runtime: &tokio::runtime::Runtime,
    spec: &SinkSpec,
    severity: Severity,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let (name, kind) = (&spec.name, spec.config.type_name());
    let deadline_secs = spec.config.delivery().retry.attempt_timeout_secs;
    let alert = sink::fresh_test_alert(severity);
    let id = alert.alert_id.clone();
    let sent = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(deadline_secs),
            sink::send_once(spec, alert),
        )
        .await
    });
    match sent {
        Ok(Ok(())) => {
            writeln!(
                out,
                "sent a test alert through sink `{name}` ({kind}): alert_id {id}"
            )?;
            out.flush()?;
            Ok(exit::OK)
        }
        Ok(Err(e)) => {
            writeln!(err, "sink `{name}` ({kind}): {e}")?;
            Ok(exit::FINDINGS)
        }
        Err(_) => {
            writeln!(
                err,
                "sink `{name}` ({kind}): no answer within {deadline_secs} s \
                 (retry.attempt_timeout_secs); test alert not confirmed"
            )?;
            Ok(exit::FINDINGS)
        }
    }
}
