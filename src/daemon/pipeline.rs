//! Evaluation workers: records in, matches out, in file order.
//!
//! Parsing and rule evaluation are CPU work, done on a pool of threads sized to the cores.
//! Each batch gets a sequence number as it is taken from the source channel, and the alert
//! stage puts results back in that order: per-file order is what makes a checkpoint mean
//! "everything before this offset is done". Workers read the current `RuleSet` through
//! `ArcSwap` once per batch, so a reload applies from the next batch on and never pauses or
//! drops one in flight.
//!
//! A panic while evaluating one record is caught at the record boundary and turned into a bad
//! input naming file and line (see `supervise`): the batch still yields its result, so the
//! sequence the alert stage waits on never has a hole.

use super::metrics::Metrics;
use super::supervise::{self, DoneToken, Progress};
use crate::alert::Shaped;
use crate::engine::Engine;
use crate::event::reader::BadInput;
use crate::rule::RuleSet;
use crate::source::watch::SourceEvent;
use crate::source::Batch;
use arc_swap::ArcSwap;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::sync::mpsc::Sender;

/// A record that matched, with what each matching rule says about it.
#[derive(Debug)]
pub struct Hit {
    pub event: Value,
    pub event_time: OffsetDateTime,
    pub event_id: Option<String>,
    pub rules: Vec<(usize, Shaped)>,
}

/// The evaluation of one batch.
#[derive(Debug)]
pub struct Evaluated {
    pub seq: u64,
    /// The rule set the batch was evaluated with (rule indices refer to it).
    pub rules: Arc<RuleSet>,
    /// The batch, without its records (position and identity for the checkpoint).
    pub batch: Option<Batch>,
    pub hits: Vec<Hit>,
    pub bad: Vec<BadInput>,
    pub records: u64,
    /// Counts the batch as done for the watchdog when the alert stage drops it.
    pub done: Option<DoneToken>,
}

/// Starts `workers` threads that evaluate what `input` delivers and send results to `output`.
/// They end when `input` closes; `output` closes when the last one ends.
pub fn spawn(
    workers: usize,
    input: Receiver<SourceEvent>,
    output: Sender<Evaluated>,
    rules: Arc<ArcSwap<RuleSet>>,
    metrics: Arc<Metrics>,
    progress: Arc<Progress>,
) -> Vec<std::thread::JoinHandle<()>> {
    let input = Arc::new(Mutex::new((input, 0u64)));
    (0..workers.max(1))
        .map(|i| {
            let input = input.clone();
            let output = output.clone();
            let rules = rules.clone();
            let metrics = metrics.clone();
            let progress = progress.clone();
            std::thread::Builder::new()
                .name(format!("trailwatch-worker-{i}"))
                .spawn(move || loop {
                    // Take the next batch and its sequence number under one lock, so numbers
                    // follow the order the source produced.
                    let (seq, event, done) = {
                        let mut guard = input.lock().unwrap_or_else(|e| e.into_inner());
                        let Ok(event) = guard.0.recv() else {
                            return;
                        };
                        guard.1 += 1;
                        (guard.1, event, progress.take())
                    };
                    if supervise::test_panic_stage("worker") {
                        panic!("TRAILWATCH_TEST_PANIC_STAGE=worker");
                    }
                    let mut result = evaluate(seq, event, &rules.load_full(), &metrics);
                    result.done = Some(done);
                    if output.blocking_send(result).is_err() {
                        return;
                    }
                })
                .expect("spawning a worker thread")
        })
        .collect()
}

/// Evaluates one source event.
pub fn evaluate(
    seq: u64,
    event: SourceEvent,
    rules: &Arc<RuleSet>,
    metrics: &Metrics,
) -> Evaluated {
    let mut batch = match event {
        SourceEvent::Bad(bad) => {
            metrics.files_failed.fetch_add(1, Ordering::Relaxed);
            return Evaluated {
                seq,
                rules: rules.clone(),
                batch: None,
                hits: Vec::new(),
                bad: vec![bad],
                records: 0,
                done: None,
            };
        }
        SourceEvent::Batch(batch) => batch,
    };
    let mut engine = Engine::new(rules);
    let mut hits = Vec::new();
    let mut bad = std::mem::take(&mut batch.bad);
    let records = std::mem::take(&mut batch.records);
    let mut panicked = 0;
    for record in &records {
        // Shaping renders titles and dedup strings from event content an attacker may choose:
        // it is inside the record boundary too.
        let outcome = supervise::catch_record(|| {
            supervise::test_hooks_on_record(&record.bytes);
            let Some(m) = engine.evaluate(&record.bytes)? else {
                return Ok(None);
            };
            let shaped = m
                .rules
                .iter()
                .map(|&i| (i, Shaped::new(rules.get(i), &m.event)))
                .collect();
            Ok(Some(Hit {
                event: m.event,
                event_time: m.event_time,
                event_id: m.event_id,
                rules: shaped,
            }))
        });
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(message) => {
                // The engine may hold half-updated scratch state from the panic: start afresh.
                engine = Engine::new(rules);
                panicked += 1;
                Err(message)
            }
        };
        match outcome {
            Ok(None) => {}
            Ok(Some(hit)) => {
                for (i, _) in &hit.rules {
                    metrics.rule_matches.add(&rules.get(*i).id, 1);
                }
                hits.push(hit);
            }
            Err(message) => bad.push(BadInput {
                path: batch.path.clone(),
                place: Some(record.place),
                message,
            }),
        }
    }
    let label = metrics.source_label(&batch.path);
    metrics.facts.event_clock.batch_read(&batch.path, &records);
    metrics.records_read.add(&label, records.len() as u64);
    // A whole file refused (too large, a bomb, corrupt gzip) has no place in it: it counts as
    // a failed file; everything else is a failed record.
    let whole_files = bad.iter().filter(|b| b.place.is_none()).count() as u64;
    metrics
        .files_failed
        .fetch_add(whole_files, Ordering::Relaxed);
    metrics
        .records_failed
        .add(&label, bad.len() as u64 - whole_files);
    metrics
        .records_panicked
        .fetch_add(panicked, Ordering::Relaxed);
    Evaluated {
        seq,
        rules: rules.clone(),
        records: records.len() as u64,
        batch: Some(batch),
        hits,
        bad,
        done: None,
    }
}
