//! The engine's promise for the common case: once warmed up, a record that matches nothing
//! costs no heap allocation of the engine's own. This binary counts every allocation with its
//! own global allocator, so it holds exactly one test (a second one running in parallel would
//! be counted too).
//!
//! The baseline is the parse-only floor on the same records: serde_json, skipping a value
//! nested two levels deep, keeps its bracket stack in a buffer that each new `Deserializer`
//! allocates once, so validating a CloudTrail record costs one allocation whoever does it.
//! The engine must add nothing to that.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use trailwatch::engine::Engine;
use trailwatch::rule::RuleSet;
use trailwatch::rule_loader;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A pinned rule, a rule pinned by source only, and an unindexed rule (tested against every
/// record), reading top-level string fields.
const RULES: [(&str, &str); 3] = [
    (
        "pinned.yml",
        "AnalysisType: rule\nRuleID: Pinned\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: High\n\
         Detection:\n  - Key: eventSource\n    Condition: Equals\n    Value: cloudtrail.amazonaws.com\n\
         \x20 - Key: eventName\n    Condition: IsIn\n    Values: [StopLogging, DeleteTrail]\n\
         \x20 - Key: errorCode\n    Condition: IsNullOrEmpty\n",
    ),
    (
        "by_source.yml",
        "AnalysisType: rule\nRuleID: BySource\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n\
         Detection:\n  - Key: eventSource\n    Condition: Equals\n    Value: s3.amazonaws.com\n\
         \x20 - Key: userAgent\n    Condition: IContains\n    Value: sqlmap\n",
    ),
    (
        "unindexed.yml",
        "AnalysisType: rule\nRuleID: Unindexed\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n\
         Detection:\n  - Key: sourceIPAddress\n    Condition: Equals\n    Value: 203.0.113.66\n\
         \x20 - Key: awsRegion\n    Condition: StartsWith\n    Value: eu-\n",
    ),
];

fn record(i: usize, source: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/app/{i}","accountId":"123456789012","sessionContext":{{"sessionIssuer":{{"userName":"app"}}}}}},"eventTime":"2024-01-17T00:{:02}:{:02}Z","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.{}","userAgent":"aws-sdk-go/1.44 ({i:05})","requestParameters":{{"bucketName":"b{i}","key":"k/{i}","tags":[1,2,3]}},"responseElements":null,"eventID":"id-{i}","readOnly":true,"resources":[{{"ARN":"arn:aws:s3:::b{i}"}}]}}"#,
        i / 60 % 60,
        i % 60,
        i % 250
    )
}

#[test]
fn a_record_that_matches_nothing_allocates_nothing_once_warm() {
    let rules = RULES
        .iter()
        .map(|(name, yaml)| rule_loader::parse(Path::new(name), yaml).expect("rule compiles"))
        .collect();
    let rules = RuleSet::new(rules);
    let kinds = [
        ("s3.amazonaws.com", "GetObject"),
        ("kms.amazonaws.com", "Decrypt"),
        ("cloudtrail.amazonaws.com", "StopLogging"),
        ("cloudtrail.amazonaws.com", "LookupEvents"),
    ];
    let records: Vec<String> = (0..2_000)
        .map(|i| {
            let (source, name) = kinds[i % kinds.len()];
            record(i, source, name)
        })
        .collect();
    // A matching record, to show the rules are live (the pinned rule matches StopLogging).
    let mut engine = Engine::new(&rules);
    let matching = record(1, "cloudtrail.amazonaws.com", "StopLogging");
    assert!(engine.evaluate(matching.as_bytes()).unwrap().is_some());

    let non_matching: Vec<&String> = records
        .iter()
        .filter(|r| !r.contains("StopLogging"))
        .collect();
    // Warm-up: every buffer grows to the size these records need.
    for r in &non_matching[..100] {
        assert!(engine.evaluate(r.as_bytes()).unwrap().is_none());
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut evaluated = 0;
    for r in &non_matching[100..] {
        assert!(engine.evaluate(r.as_bytes()).unwrap().is_none());
        evaluated += 1;
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for r in &non_matching[100..] {
        let parsed = serde_json::from_slice::<serde::de::IgnoredAny>(r.as_bytes());
        assert!(parsed.is_ok());
    }
    let floor = ALLOCATIONS.load(Ordering::Relaxed) - before;

    assert!(evaluated > 1_000);
    assert!(
        floor <= evaluated,
        "the floor allocates {floor} times over {evaluated} records"
    );
    assert_eq!(
        allocations, floor,
        "{allocations} allocations over {evaluated} non-matching records, the parse floor makes {floor}"
    );
}
