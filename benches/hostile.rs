//! Worst-case comparisons on attacker-chosen field contents (issue 16).
//!
//! CloudTrail fields such as `userAgent` and `requestParameters` are written by whoever makes
//! the call, so a comparison between two fields must stay linear in their length. Each
//! benchmark evaluates one record whose two compared fields are 2,400 and 1,200 characters
//! long (non-ASCII, and ASCII with a long needle), against:
//!
//! - `sigma_fieldref_contains`: a Sigma rule with `userAgent|fieldref|contains`;
//! - `panther_multikey_icontains`: a Panther rule whose multi-key `IContains` compares the
//!   same two fields.
//!
//! Before the fix the non-ASCII Sigma case took about 38 s per record; the acceptance line is
//! under 10 ms. Read the per-record time criterion prints.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::path::Path;
use trailwatch::engine::Engine;
use trailwatch::rule::RuleSet;
use trailwatch::rule_loader;

const SIGMA: &str = "title: Two fields, one inside the other
id: 6f1d2a7e-2f53-4c1e-9d55-0a1b2c3d4e5f
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    userAgent|fieldref|contains: sessionName
  condition: selection
level: low
";

const PANTHER: &str = "AnalysisType: rule
RuleID: Bench.MultiKeyIContains
Enabled: true
LogTypes: [AWS.CloudTrail]
Severity: Low
Detection:
  - Condition: IContains
    Values:
      - Key: userAgent
      - Key: sessionName
";

fn rules(name: &str, yaml: &str) -> RuleSet {
    let rule = rule_loader::parse(Path::new(name), yaml)
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
    RuleSet::new(vec![rule])
}

/// A record whose `userAgent` repeats `unit` 2,400 times and whose `sessionName` is 1,199
/// copies of `unit` followed by `last`: no match, the slowest case for a search.
fn record(unit: char, last: char) -> Vec<u8> {
    let agent: String = std::iter::repeat_n(unit, 2400).collect();
    let mut session: String = std::iter::repeat_n(unit, 1199).collect();
    session.push(last);
    serde_json::to_vec(&serde_json::json!({
        "eventVersion": "1.08",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole",
        "awsRegion": "us-east-1",
        "userAgent": agent,
        "sessionName": session,
    }))
    .unwrap()
}

fn comparisons(c: &mut Criterion) {
    let records = [("non_ascii", record('Ä', 'Ö')), ("ascii", record('a', 'b'))];
    let sets = [
        ("sigma_fieldref_contains", rules("fieldref.yml", SIGMA)),
        ("panther_multikey_icontains", rules("multikey.yml", PANTHER)),
    ];
    let mut group = c.benchmark_group("hostile");
    group.sample_size(20);
    for (rule, set) in &sets {
        for (text, bytes) in &records {
            let mut engine = Engine::new(set);
            assert!(
                engine.evaluate(bytes).unwrap().is_none(),
                "{rule} on {text} must not match"
            );
            group.bench_function(format!("{rule}/{text}"), |b| {
                b.iter(|| black_box(engine.evaluate(black_box(bytes)).unwrap()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, comparisons);
criterion_main!(benches);
