//! Sigma rules: the differential set against pySigma's answers, loading errors, tests and the
//! catalog.
//!
//! `tests/data/sigma/golden.json` holds, for each rule of `tests/data/sigma/rules/`, the events
//! of `events.ndjson` that pySigma's SQLite backend selects and the ones the Sigma
//! specification selects where the two differ (each difference explained);
//! `tests/data/sigma/gen_golden.py` regenerates it.

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn data() -> std::path::PathBuf {
    repo().join("tests/data/sigma")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(data().join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn differential_set_matches_the_golden_answers() {
    let o = trailwatch(
        &data(),
        &[
            "replay",
            "--rules",
            "rules",
            "--output",
            "matches",
            "events.ndjson",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in json_lines(&o) {
        got.entry(m["rule_id"].as_str().unwrap().to_string())
            .or_default()
            .insert(m["event_id"].as_str().unwrap().to_string());
    }
    let golden = golden();
    let rules = golden["rules"].as_object().unwrap();
    let files = std::fs::read_dir(data().join("rules")).unwrap().count();
    assert_eq!(
        rules.len(),
        files,
        "golden.json is stale: run gen_golden.py"
    );
    let mut wrong = Vec::new();
    for (file, rule) in rules {
        let expected: BTreeSet<String> = rule["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let actual = got.remove(rule["id"].as_str().unwrap()).unwrap_or_default();
        if actual != expected {
            wrong.push(format!(
                "{file}: missing {:?}, unexpected {:?}",
                expected.difference(&actual).collect::<Vec<_>>(),
                actual.difference(&expected).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        got.is_empty(),
        "matches of rules not in golden.json: {got:?}"
    );
}

#[test]
fn differential_set_covers_every_form() {
    let golden = golden();
    let covered: BTreeSet<&str> = golden["rules"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|r| r["forms"].as_array().unwrap().iter())
        .map(|f| f.as_str().unwrap())
        .collect();
    let required = [
        "contains",
        "startswith",
        "endswith",
        "all",
        "re",
        "re_i",
        "re_m",
        "re_s",
        "cidr",
        "exists",
        "cased",
        "base64",
        "base64offset",
        "utf16le",
        "utf16be",
        "utf16",
        "wide",
        "windash",
        "gt",
        "gte",
        "lt",
        "lte",
        "neq",
        "fieldref",
        "expand",
        "and",
        "or",
        "not",
        "parentheses",
        "1_of",
        "any_of",
        "all_of",
        "them",
        "condition_list",
        "keywords",
        "keywords_all",
        "null",
        "wildcard_star",
        "wildcard_question",
        "escape",
    ];
    for form in required {
        assert!(covered.contains(form), "no golden test for {form}");
    }
    // Every difference from the oracle is explained.
    for rule in golden["rules"].as_object().unwrap().values() {
        for d in rule["deviations"].as_array().unwrap() {
            assert!(d["reason"].as_str().is_some_and(|r| r.len() > 20), "{d}");
        }
    }
}

#[test]
fn shipped_sigma_rule_runs_its_tests() {
    let o = trailwatch(
        &repo(),
        &[
            "test",
            "--minimum-tests",
            "2",
            "rules.d/sigma_aws_cloudtrail_logging_stopped.yml",
        ],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains("7c0d5b1e-3f6a-4c8e-9b2d-1a4e6f8c0b35"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("6 passed, 0 failed"));
}

#[test]
fn broken_sigma_rules_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |detection: &str, extra: &str| {
        format!(
            "title: T\nid: r\n{extra}logsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{detection}"
        )
    };
    let cases = [
        (
            "modifier.yml",
            rule("    sel:\n        eventName|startwith: X\n    condition: sel\n", ""),
            "modifier.yml:8:30: detection.sel.eventName|startwith: unknown modifier `startwith`",
        ),
        (
            "condition.yml",
            rule("    sel:\n        eventName: X\n    condition: sel and not filter\n", ""),
            "condition.yml:9:16: detection.condition: the condition names `filter`",
        ),
        (
            "placeholder.yml",
            rule("    sel:\n        userIdentity.userName|expand: '%admins%'\n    condition: sel\n", ""),
            "placeholder.yml:8:39: detection.sel.userIdentity.userName|expand: placeholder %admins% cannot be resolved",
        ),
        (
            "logsource.yml",
            "title: T\nid: r\nlogsource:\n    product: windows\ndetection:\n    sel:\n        a: b\n    condition: sel\n".to_string(),
            "logsource.yml:4:5: logsource: unsupported logsource {product: windows}",
        ),
        (
            "level.yml",
            rule("    sel:\n        a: b\n    condition: sel\n", "level: urgent\n"),
            "level.yml:3:8: level: unknown level `urgent`",
        ),
    ];
    for (name, text, _) in &cases {
        write(&dir.path().join(name), text.as_bytes());
    }
    let o = trailwatch(dir.path(), &["test", "."]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for (_, _, message) in &cases {
        assert!(
            err.lines()
                .any(|l| l.trim_start_matches("./").starts_with(message)),
            "expected `{message}` in:\n{err}"
        );
    }
}

#[test]
fn catalog_lists_sigma_rules_with_their_attack_mapping() {
    let o = trailwatch(
        &repo(),
        &[
            "rules",
            "list",
            "--rules",
            "rules.d/sigma_aws_cloudtrail_logging_stopped.yml",
            "--event-name",
            "StopLogging",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rule = &list[0];
    assert_eq!(rule["rule_id"], "7c0d5b1e-3f6a-4c8e-9b2d-1a4e6f8c0b35");
    assert_eq!(rule["severity"], "HIGH");
    assert_eq!(rule["attack"][0]["tactic"], "TA0112");
    assert_eq!(rule["attack"][0]["technique"], "T1562.008");
    let show = trailwatch(
        &repo(),
        &[
            "rules",
            "show",
            "--rules",
            "rules.d/sigma_aws_cloudtrail_logging_stopped.yml",
            "7c0d5b1e-3f6a-4c8e-9b2d-1a4e6f8c0b35",
        ],
    );
    let page = stdout(&show);
    assert!(
        page.contains("condition: selection_source and 1 of selection_action_*"),
        "{page}"
    );
    assert!(
        page.contains("Known false positives: Planned decommissioning"),
        "{page}"
    );
}

#[test]
fn sigma_alert_uses_the_trailwatch_block() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        serde_json::json!({"eventTime": "2024-05-01T10:00:00Z", "eventID": "a", "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging", "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/m"}, "requestParameters": {"name": "t1"}}),
        serde_json::json!({"eventTime": "2024-05-01T10:05:00Z", "eventID": "b", "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "DeleteTrail", "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/m"}, "requestParameters": {"name": "t1"}}),
    ];
    write_ndjson(&dir.path().join("in.ndjson"), &records);
    let rules = repo().join("rules.d/sigma_aws_cloudtrail_logging_stopped.yml");
    let o = trailwatch(
        dir.path(),
        &["replay", "--rules", rules.to_str().unwrap(), "in.ndjson"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alerts = json_lines(&o);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["dedup"], "123456789012:t1");
    assert_eq!(alerts[0]["event_count"], 2);
    assert_eq!(
        alerts[0]["title"],
        "CloudTrail trail t1 stopped by arn:aws:iam::123456789012:user/m"
    );
    assert_eq!(
        alerts[0]["summary"]["userIdentity.arn"],
        "arn:aws:iam::123456789012:user/m"
    );
}

#[test]
fn sigma_rule_edits_are_hot_reloaded() {
    use crate::daemon::{append, lines, wait_until, Env};
    use std::time::Duration;
    let env = Env::new();
    let mut child = env.start();
    let rules = env.root().join("rules.d");
    let stream = env.inbox().join("s.ndjson");
    let rule = |title: &str| {
        format!(
            "title: Get object\nid: sigma-getobject\nlogsource: {{product: aws, service: cloudtrail}}\n\
             detection:\n    sel:\n        eventName: getobject\n    condition: sel\nlevel: low\n\
             trailwatch:\n    alert_title: \"{title} {{eventID}}\"\n    group_by: [eventID]\n"
        )
    };
    let reloads = |env: &Env| env.log().matches("reloaded").count();
    let before = reloads(&env);
    write(&rules.join(".new.tmp"), rule("v1").as_bytes());
    std::fs::rename(rules.join(".new.tmp"), rules.join("getobject.yml")).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || reloads(&env) > before),
        "{}",
        env.log()
    );
    append(&stream, &lines(&[noise("go-1", "2024-05-01T09:00:00Z")]));
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(5)),
        "{}",
        env.log()
    );
    assert_eq!(env.alerts()[0]["title"], "v1 go-1");
    let before = reloads(&env);
    std::fs::write(rules.join("getobject.yml"), rule("v2")).unwrap();
    assert!(wait_until(Duration::from_secs(5), || reloads(&env) > before));
    append(&stream, &lines(&[noise("go-2", "2024-05-01T09:01:00Z")]));
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(5)),
        "{}",
        env.log()
    );
    assert_eq!(env.alerts()[1]["title"], "v2 go-2");
    // A broken edit keeps the file's running version and names the place.
    std::fs::write(
        rules.join("getobject.yml"),
        rule("v3").replace("eventName:", "eventName|startwith:"),
    )
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || env
            .log()
            .contains("broken rule file: its previous version keeps running")),
        "{}",
        env.log()
    );
    assert!(
        env.log()
            .contains("getobject.yml:6:30: detection.sel.eventName|startwith: unknown modifier"),
        "{}",
        env.log()
    );
    append(&stream, &lines(&[noise("go-3", "2024-05-01T09:02:00Z")]));
    assert!(wait_until(Duration::from_secs(5), || env
        .alerts()
        .iter()
        .any(|a| a["title"] == "v2 go-3")));
    assert!(crate::daemon::terminate(&mut child).success());
}
