//! The one load policy (docs/OPERATIONS.md, "Broken rules and sinks"), the same at start and
//! at reload: broken rule files never stop the good ones; config and sink errors apply nothing.

use crate::daemon::{append, dedup_of, http_get, lines, target, terminate, wait_until, Env};
use crate::support::*;
use std::process::Command;
use std::time::Duration;

const BROKEN: &str = "RuleID: Broken.Rule\nLogTypes: [AWS.CloudTrail]\nSeverity: High\nDetection:\n  - Key: eventName\n    Condition: Equalz\n    Value: x\n";

#[test]
fn a_broken_rule_file_at_start_is_reported_and_the_good_rules_run() {
    let env = Env::new();
    env.listen_on_any_port();
    write(&env.root().join("rules.d/broken.yml"), BROKEN.as_bytes());
    // `check` names the same error and fails, for CI.
    let check = trailwatch(env.root(), &["check", "--config", "trailwatch.yaml"]);
    assert_eq!(check.status.code(), Some(2));
    assert!(
        stderr(&check)
            .contains("broken.yml:6:16: Detection[0].Condition: unknown Condition `Equalz`"),
        "{}",
        stderr(&check)
    );
    let mut child = env.start();
    let log = env.log();
    assert!(
        log.contains("broken.yml:6:16: Detection[0].Condition"),
        "{log}"
    );
    let metrics = http_get(env.metrics_port(), "/metrics");
    assert!(metrics.contains("trailwatch_rule_errors 1"), "{metrics}");
    assert!(metrics.contains("trailwatch_rules_loaded 1"), "{metrics}");
    append(&env.inbox().join("a.ndjson"), &lines(&[target(1, 1)]));
    assert!(
        wait_until(Duration::from_secs(15), || env
            .alert_counts()
            .contains_key(&dedup_of(1))),
        "{}",
        env.log()
    );
    let titles: Vec<String> = env
        .alerts()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t == "trailwatch rule errors: 1 error(s)"),
        "{titles:?}"
    );
    assert!(terminate(&mut child).success());
}

#[test]
fn a_broken_sink_refuses_the_start_and_is_rejected_at_reload() {
    let env = Env::new();
    let mut child = env.start();
    // At reload: nothing applied, the running file sink carries the internal alert.
    write(&env.root().join("sinks.d/bad.yaml"), b"type: nope\n");
    assert!(
        wait_until(Duration::from_secs(15), || env
            .log()
            .contains("reload rejected")),
        "{}",
        env.log()
    );
    assert!(env.log().contains("bad.yaml:1:"), "{}", env.log());
    assert!(
        wait_until(Duration::from_secs(15), || env
            .alerts()
            .iter()
            .any(|a| a["rule_id"] == "trailwatch.reload_failed")),
        "{}",
        env.log()
    );
    append(&env.inbox().join("a.ndjson"), &lines(&[target(1, 1)]));
    assert!(
        wait_until(Duration::from_secs(15), || env
            .alert_counts()
            .contains_key(&dedup_of(1))),
        "the running rules and sinks go on\n{}",
        env.log()
    );
    assert!(terminate(&mut child).success());
    // At start: exit 2 with the error.
    let o = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["run", "--config", "trailwatch.yaml"])
        .current_dir(env.root())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.yaml:1:"));
}
