//! `trailwatch replay [--rules DIR]... [--output alerts|matches] PATH...`
//!
//! Evaluates files or directories once and writes JSON lines to stdout: one object per
//! (rule, event) match with `--output matches`, or each alert after dedup and threshold, once,
//! when the input is exhausted (`--output alerts`, the default). Windows are measured on event
//! time, so a replay gives the alerts the daemon would have raised living through the same
//! events. Malformed records are reported on stderr with file and line/record, counted, and
//! skipped. Exit 0, or 2 when a rule file was invalid (the valid rules still ran).

use super::exit;
use crate::alert::{MatchRecord, Shaped};
use crate::dedup::Windows;
use crate::engine::Engine;
use crate::event::reader::{self, BadInput, Place, RecordSink};
use crate::event::time::format_rfc3339;
use crate::rule::{self, RuleSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What replay writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Alerts after dedup and threshold, written when the input is exhausted.
    Alerts,
    /// One line per (rule, event) match, as they happen.
    Matches,
}

/// Options of `trailwatch replay`.
#[derive(Debug, Clone)]
pub struct Options {
    pub rules: Vec<PathBuf>,
    pub output: Output,
    pub inputs: Vec<PathBuf>,
}

/// Counters reported at the end of a replay.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub records: u64,
    pub bad: u64,
    pub matches: u64,
    pub alerts: u64,
}

struct Replay<'a> {
    rules: &'a RuleSet,
    engine: Engine<'a>,
    output: Output,
    windows: Windows,
    stats: Stats,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    io_error: Option<std::io::Error>,
}

impl Replay<'_> {
    fn evaluate(&mut self, path: &Path, place: Place, bytes: &[u8]) -> std::io::Result<()> {
        self.stats.records += 1;
        let matched = match self.engine.evaluate(bytes) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(()),
            Err(message) => {
                self.report(BadInput {
                    path: path.to_path_buf(),
                    place: Some(place),
                    message,
                });
                return Ok(());
            }
        };
        for &index in &matched.rules {
            let rule = self.rules.get(index);
            self.stats.matches += 1;
            let shaped = Shaped::new(rule, &matched.event);
            match self.output {
                Output::Matches => {
                    let record = MatchRecord {
                        rule_id: rule.id.clone(),
                        event_id: matched.event_id.clone(),
                        event_time: Some(format_rfc3339(matched.event_time)),
                        title: shaped.title,
                        severity: shaped.severity,
                        dedup: shaped.dedup,
                    };
                    serde_json::to_writer(&mut *self.out, &record)?;
                    self.out.write_all(b"\n")?;
                }
                Output::Alerts if rule.create_alert => {
                    self.windows
                        .admit(rule, shaped, matched.event_time, &matched.event);
                }
                Output::Alerts => {}
            }
        }
        Ok(())
    }

    fn report(&mut self, bad: BadInput) {
        self.stats.bad += 1;
        let _ = writeln!(self.err, "trailwatch: skipped {bad}");
    }
}

impl RecordSink for Replay<'_> {
    fn record(&mut self, path: &Path, place: Place, bytes: &[u8]) {
        if self.io_error.is_some() {
            return;
        }
        if let Err(e) = self.evaluate(path, place, bytes) {
            self.io_error = Some(e);
        }
    }

    fn bad(&mut self, bad: BadInput) {
        self.report(bad);
    }
}

pub fn run(options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<u8> {
    let loaded = rule::load(&options.rules);
    for e in &loaded.errors {
        writeln!(err, "{e}")?;
    }
    let rules = RuleSet::new(loaded.rules.into_iter().map(|l| l.rule).collect());
    let mut bad_paths = Vec::new();
    let files = reader::log_files(&options.inputs, &mut |b| bad_paths.push(b));
    let stats = {
        let mut replay = Replay {
            rules: &rules,
            engine: Engine::new(&rules),
            output: options.output,
            windows: Windows::default(),
            stats: Stats::default(),
            out: &mut *out,
            err: &mut *err,
            io_error: None,
        };
        for bad in bad_paths {
            replay.report(bad);
        }
        for file in &files {
            reader::read_file(file, &mut replay);
            if let Some(e) = replay.io_error.take() {
                return Err(e);
            }
        }
        let mut stats = replay.stats;
        if options.output == Output::Alerts {
            for alert in std::mem::take(&mut replay.windows).into_alerts() {
                stats.alerts += 1;
                serde_json::to_writer(&mut *replay.out, &alert)?;
                replay.out.write_all(b"\n")?;
            }
        }
        replay.out.flush()?;
        stats
    };
    writeln!(
        err,
        "trailwatch: replayed {} file(s): {} record(s), {} malformed, {} match(es), {} alert(s)",
        files.len(),
        stats.records,
        stats.bad,
        stats.matches,
        stats.alerts
    )?;
    Ok(if loaded.errors.is_empty() {
        exit::OK
    } else {
        exit::CONFIG
    })
}
