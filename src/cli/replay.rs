//! `trailwatch replay [--rules DIR]... [--output alerts|matches] PATH...`
//!
//! Evaluates files or directories once and writes JSON lines to stdout: one object per
//! (rule, event) match with `--output matches`, or each alert after dedup and threshold, once,
//! when the input is exhausted (`--output alerts`, the default). Windows are measured on event
//! time, so a replay gives the alerts the daemon would have raised living through the same
//! events. Malformed records are reported on stderr with file and line/record, counted, and
//! skipped; so is an NDJSON line longer than `--max-line-bytes` (the daemon's `max_line_bytes`,
//! with the same default).
//!
//! Exit codes, for scripts: 2 when an input path does not exist (or cannot be read) or a rule
//! file is invalid (what could be read still ran); else 1 when any record or file was skipped
//! as malformed; else 0. Malformed input is 1 by default rather than only under a `--strict`
//! flag because a replay that silently evaluated part of its input gives a misleading answer
//! ("no alerts") to a script that only looks at the exit code; the output is written in full
//! either way.

use super::exit;
use crate::alert::{MatchRecord, Shaped};
use crate::dedup::Windows;
use crate::engine::{Engine, Matched};
use crate::event::reader::{self, BadInput, Place, RecordSink};
use crate::event::time::format_rfc3339;
use crate::rule::RuleSet;
use crate::rule_loader;
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
    /// NDJSON lines longer than this are reported and skipped.
    pub max_line_bytes: usize,
}

/// Counters reported at the end of a replay.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub records: u64,
    pub bad: u64,
    pub matches: u64,
    pub alerts: u64,
}

/// How many records (or bytes of records) are read before they are evaluated together. A
/// batch is split into one contiguous part per core; big enough that starting the threads is
/// noise, small enough that a batch's records stay in cache between reading and evaluating.
const BATCH_RECORDS: usize = 4096;
const BATCH_BYTES: usize = 8 << 20;

struct Replay<'a> {
    rules: &'a RuleSet,
    /// One engine per core (each keeps its own scratch space).
    engines: Vec<Engine<'a>>,
    batch: Batch,
    output: Output,
    windows: Windows,
    stats: Stats,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    io_error: Option<std::io::Error>,
}

/// Records read but not evaluated yet, in input order, with the bad inputs met among them.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    paths: Vec<PathBuf>,
    items: Vec<Pending>,
    records: usize,
}

enum Pending {
    Record {
        path: usize,
        place: Place,
        span: (usize, usize),
    },
    Bad(BadInput),
}

impl Replay<'_> {
    /// Evaluates the batch on every core, then hands the results to dedup and the output one
    /// by one in input order, so the output is the same as a single-threaded run's.
    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        let spans: Vec<(usize, usize)> = batch
            .items
            .iter()
            .filter_map(|item| match item {
                Pending::Record { span, .. } => Some(*span),
                Pending::Bad(_) => None,
            })
            .collect();
        let mut results = evaluate_all(&mut self.engines, &batch.bytes, &spans).into_iter();
        for item in batch.items {
            match item {
                Pending::Bad(bad) => self.report(bad),
                Pending::Record { path, place, .. } => {
                    let result = results.next().expect("one result per record");
                    if self.io_error.is_none() {
                        if let Err(e) = self.admit(&batch.paths[path], place, result) {
                            self.io_error = Some(e);
                        }
                    }
                }
            }
        }
    }

    fn admit(
        &mut self,
        path: &Path,
        place: Place,
        result: Result<Option<Matched>, String>,
    ) -> std::io::Result<()> {
        self.stats.records += 1;
        let matched = match result {
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

/// Evaluates the records at `spans` of `bytes`, in parallel over `engines` (one contiguous
/// part each), and returns the results in input order.
fn evaluate_all(
    engines: &mut [Engine<'_>],
    bytes: &[u8],
    spans: &[(usize, usize)],
) -> Vec<Result<Option<Matched>, String>> {
    let evaluate = |engine: &mut Engine<'_>, part: &[(usize, usize)]| {
        part.iter()
            .map(|&(start, end)| engine.evaluate(&bytes[start..end]))
            .collect::<Vec<_>>()
    };
    if engines.len() < 2 || spans.len() < 2 * engines.len() {
        return evaluate(&mut engines[0], spans);
    }
    let part = spans.len().div_ceil(engines.len());
    std::thread::scope(|scope| {
        let running: Vec<_> = engines
            .iter_mut()
            .zip(spans.chunks(part))
            .map(|(engine, part)| scope.spawn(move || evaluate(engine, part)))
            .collect();
        running
            .into_iter()
            .flat_map(|thread| match thread.join() {
                Ok(results) => results,
                // A panic in the engine is a bug; surface it as the single-threaded run would.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

impl RecordSink for Replay<'_> {
    fn record(&mut self, path: &Path, place: Place, bytes: &[u8]) {
        if self.io_error.is_some() {
            return;
        }
        let batch = &mut self.batch;
        if batch.paths.last().is_none_or(|p| p != path) {
            batch.paths.push(path.to_path_buf());
        }
        let start = batch.bytes.len();
        batch.bytes.extend_from_slice(bytes);
        batch.items.push(Pending::Record {
            path: batch.paths.len() - 1,
            place,
            span: (start, batch.bytes.len()),
        });
        batch.records += 1;
        if batch.records >= BATCH_RECORDS || batch.bytes.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    fn bad(&mut self, bad: BadInput) {
        self.batch.items.push(Pending::Bad(bad));
    }
}

pub fn run(options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<u8> {
    let loaded = rule_loader::load(&options.rules);
    for e in &loaded.errors {
        writeln!(err, "{e}")?;
    }
    let rules = RuleSet::new(loaded.rules.into_iter().map(|l| l.rule).collect());
    // An input path that is not there at all is a usage mistake (a typo, a wrong working
    // directory), not malformed input: it gets the usage exit code.
    let missing_input = options.inputs.iter().any(|p| std::fs::metadata(p).is_err());
    let mut bad_paths = Vec::new();
    let files = reader::log_files(&options.inputs, &mut |b| bad_paths.push(b));
    let stats = {
        let mut replay = Replay {
            rules: &rules,
            // Every core the process may run on (taskset and cgroup limits included).
            engines: (0..std::thread::available_parallelism().map_or(1, |n| n.get()))
                .map(|_| Engine::new(&rules))
                .collect(),
            batch: Batch::default(),
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
            reader::read_file_with(file, options.max_line_bytes, &mut replay);
            if let Some(e) = replay.io_error.take() {
                return Err(e);
            }
        }
        replay.flush();
        if let Some(e) = replay.io_error.take() {
            return Err(e);
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
    Ok(if !loaded.errors.is_empty() || missing_input {
        exit::CONFIG
    } else if stats.bad > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Parallel evaluation returns exactly the single-threaded results, in input order.
    #[test]
    fn evaluating_on_several_engines_keeps_input_order() {
        let rule = "AnalysisType: rule\nRuleID: Stop\nEnabled: true\nLogTypes: [AWS.CloudTrail]\n\
                    Severity: High\nDetection:\n  - Key: eventName\n    Condition: Equals\n    Value: StopLogging\n";
        let rules = RuleSet::new(vec![rule_loader::parse(Path::new("r.yml"), rule).unwrap()]);
        let mut bytes = Vec::new();
        let mut spans = Vec::new();
        for i in 0..1_000 {
            let start = bytes.len();
            let record = match i % 7 {
                0 => format!(
                    r#"{{"eventName":"StopLogging","eventID":"{i}","eventTime":"2024-01-17T00:00:00Z"}}"#
                ),
                1 => "not json".to_string(),
                _ => format!(
                    r#"{{"eventName":"Other","eventID":"{i}","eventTime":"2024-01-17T00:00:00Z"}}"#
                ),
            };
            bytes.extend_from_slice(record.as_bytes());
            spans.push((start, bytes.len()));
        }
        let summary = |results: Vec<Result<Option<Matched>, String>>| -> Vec<String> {
            results
                .into_iter()
                .map(|r| match r {
                    Ok(Some(m)) => format!("{:?} {:?}", m.rules, m.event_id),
                    Ok(None) => "none".into(),
                    Err(e) => e,
                })
                .collect()
        };
        let one = summary(evaluate_all(&mut [Engine::new(&rules)], &bytes, &spans));
        let mut three: Vec<Engine> = (0..3).map(|_| Engine::new(&rules)).collect();
        assert_eq!(summary(evaluate_all(&mut three, &bytes, &spans)), one);
        assert_eq!(one.iter().filter(|s| s.starts_with("[0]")).count(), 143);
        assert_eq!(one[7], r#"[0] Some("7")"#);
    }
}
