//! Engine throughput against the parse-only floor, in one criterion group.
//!
//! Every benchmark of the group walks the same 20,000 synthetic CloudTrail records (about
//! 1.7 KB each, see `support/synth.rs`), so its events/s figures are directly comparable:
//!
//! - `floor_ignored_any`: `serde_json::from_slice::<IgnoredAny>` per record, syntax checking
//!   only; nothing that parses JSON with serde_json can be faster.
//! - `full_value`: `serde_json::from_slice::<Value>` per record, what an engine that decodes
//!   every record in full would pay before evaluating anything.
//! - `engine/N`: `Engine::evaluate` per record with N synthetic rules (1 is the seed rule of
//!   `rules.d/` alone).
//! - `engine/pack`: `Engine::evaluate` per record with the shipped `rules.d/` pack, loaded
//!   the way `trailwatch replay` loads it. This is the workload issue 9 is judged on.
//!
//! On a shared machine absolute numbers drift between runs; read the ratios to the floor.
//! `benches/replay.sh` measures the whole `trailwatch replay` binary the same way.

#[path = "support/synth.rs"]
mod synth;

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use serde::de::IgnoredAny;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use trailwatch::engine::Engine;
use trailwatch::rule::RuleSet;
use trailwatch::rule_loader;

const EVENTS: usize = 20_000;
const RULE_COUNTS: [usize; 3] = [1, 50, 200];

fn rule_set(n: usize) -> RuleSet {
    let rules = synth::rules(n)
        .into_iter()
        .map(|(name, yaml)| {
            rule_loader::parse(Path::new(&name), &yaml)
                .unwrap_or_else(|e| panic!("synthetic rule does not compile: {e}"))
        })
        .collect();
    RuleSet::new(rules)
}

/// The shipped pack, loaded from `rules.d/` like `trailwatch replay --rules rules.d` does.
fn shipped_pack() -> RuleSet {
    let loaded = rule_loader::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("rules.d")]);
    assert!(
        loaded.errors.is_empty(),
        "rules.d does not load: {:?}",
        loaded.errors
    );
    RuleSet::new(loaded.rules.into_iter().map(|l| l.rule).collect())
}

fn throughput(c: &mut Criterion) {
    let events = synth::events(1, EVENTS);
    let bytes: usize = events.iter().map(String::len).sum();
    eprintln!(
        "{EVENTS} records, {bytes} bytes ({:.0} bytes/record)",
        bytes as f64 / EVENTS as f64
    );

    let mut group = c.benchmark_group("throughput");
    // One pass over the batch takes tens of milliseconds: flat sampling with few samples
    // keeps the whole run short and still gives stable medians.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(EVENTS as u64));

    group.bench_function("floor_ignored_any", |b| {
        b.iter(|| {
            for line in &events {
                black_box(serde_json::from_slice::<IgnoredAny>(line.as_bytes()).unwrap());
            }
        })
    });
    group.bench_function("full_value", |b| {
        b.iter(|| {
            for line in &events {
                black_box(serde_json::from_slice::<Value>(line.as_bytes()).unwrap());
            }
        })
    });
    let sets = RULE_COUNTS
        .iter()
        .map(|n| (n.to_string(), rule_set(*n)))
        .chain([("pack".to_string(), shipped_pack())]);
    for (n, rules) in sets {
        let mut engine = Engine::new(&rules);
        let matched = events
            .iter()
            .filter(|line| matches!(engine.evaluate(line.as_bytes()), Ok(Some(_))))
            .count();
        eprintln!(
            "engine/{n} ({} rules): {matched} of {EVENTS} records match at least one rule",
            rules.len()
        );
        group.bench_function(format!("engine/{n}"), |b| {
            b.iter(|| {
                for line in &events {
                    black_box(engine.evaluate(line.as_bytes()).unwrap());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
