//! Running the `Tests:` inside rules.
//!
//! Each test's `Log` is given Panther's `p_` fields and evaluated like a live event. A true
//! case is also checked against the optional `ExpectedTitle`, `ExpectedDedup`,
//! `ExpectedSeverity` and `ExpectedAlertContext` (a subset match), so a port can pin the exact
//! alert a rule produces.

use super::compare::json_eq;
use super::compile::Rule;
use super::spec::TestSpec;
use crate::alert::{self, Shaped};
use crate::event::pfields;
use serde_json::Value;
use time::OffsetDateTime;

/// The outcome of one test: empty `failures` means it passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub name: String,
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The event a test log stands for: the log with its `p_` fields.
pub fn test_event(log: &Value) -> Value {
    let mut event = log.clone();
    let raw = serde_json::to_vec(log).unwrap_or_default();
    pfields::enrich(&mut event, &raw, OffsetDateTime::now_utc());
    event
}

/// Runs one test of `rule`.
pub fn run(rule: &Rule, test: &TestSpec) -> Outcome {
    let event = test_event(&test.log);
    let matched = rule.matches(&event);
    let mut failures = Vec::new();
    if matched != test.expected_result {
        failures.push(format!(
            "ExpectedResult: expected {}, got {matched}",
            test.expected_result
        ));
    }
    if matched && test.expected_result {
        let shaped = Shaped::new(rule, &event);
        let mut expect = |what: &str, expected: Option<&str>, actual: &str| {
            if let Some(expected) = expected {
                if expected != actual {
                    failures.push(format!("{what}: expected {expected:?}, got {actual:?}"));
                }
            }
        };
        expect(
            "ExpectedTitle",
            test.expected_title.as_deref(),
            &shaped.title,
        );
        expect(
            "ExpectedDedup",
            test.expected_dedup.as_deref(),
            &shaped.dedup,
        );
        expect(
            "ExpectedSeverity",
            test.expected_severity.map(|s| s.as_str()),
            shaped.severity.as_str(),
        );
        if let Some(expected) = &test.expected_alert_context {
            let actual = alert::context(rule, &event);
            for (key, want) in expected {
                match actual.get(key) {
                    Some(got) if json_eq(got, want) => {}
                    Some(got) => failures.push(format!(
                        "ExpectedAlertContext.{key}: expected {want}, got {got}"
                    )),
                    None => failures.push(format!(
                        "ExpectedAlertContext.{key}: expected {want}, but the context has no such key"
                    )),
                }
            }
        }
    }
    Outcome {
        name: test.name.clone(),
        failures,
    }
}

/// Problems with a rule's test coverage under `--minimum-tests n`: too few tests, or (for
/// n ≥ 2) no true case or no false case.
pub fn coverage_problems(rule: &Rule, minimum: usize) -> Vec<String> {
    let mut problems = Vec::new();
    if rule.tests.len() < minimum {
        problems.push(format!(
            "has {} test(s), at least {minimum} required",
            rule.tests.len()
        ));
    }
    if minimum >= 2 {
        if !rule.tests.iter().any(|t| t.expected_result) {
            problems.push("has no test with ExpectedResult: true".into());
        }
        if !rule.tests.iter().any(|t| !t.expected_result) {
            problems.push("has no test with ExpectedResult: false".into());
        }
    }
    problems
}
