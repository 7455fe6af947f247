//! `trailwatch check`.

use crate::support::*;

#[test]
fn repo_defaults_are_valid() {
    let o = trailwatch(&repo(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shipped = std::fs::read_dir(repo().join("rules.d"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yml")
        })
        .count();
    assert!(
        stdout(&o).contains(&format!("ok: {shipped} rule(s)")),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("will not run"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("2 sink(s) in sinks.d"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn inert_rules_are_pointed_out() {
    let dir = tempfile::tempdir().unwrap();
    let okta = "RuleID: Okta.X\nLogTypes: [Okta.SystemLog]\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n";
    let off = "RuleID: Off.X\nEnabled: false\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n";
    write(&dir.path().join("rules.d/okta.yml"), okta.as_bytes());
    write(&dir.path().join("rules.d/off.yml"), off.as_bytes());
    let o = trailwatch(dir.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("note: Okta.X (rules.d/okta.yml) does not list AWS.CloudTrail"),
        "{out}"
    );
    assert!(
        out.contains("note: Off.X (rules.d/off.yml) is disabled"),
        "{out}"
    );
}

#[test]
fn broken_file_is_located_and_good_file_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.d");
    std::fs::create_dir(&rules).unwrap();
    std::fs::copy(seed_rule(), rules.join("good.yml")).unwrap();
    write(
        &rules.join("broken.yml"),
        b"RuleID: Broken.Rule\nLogTypes: [AWS.CloudTrail]\nSeverity: High\nDetection:\n  - Key: eventName\n    Condition: Equalz\n    Value: x\n",
    );
    let o = trailwatch(dir.path(), &["check"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rules.d/broken.yml:6:16: Detection[0].Condition: unknown Condition `Equalz`"),
        "{err}"
    );
    assert!(err.contains("1 error(s); 1 rule(s) valid"), "{err}");

    write_ndjson(
        &dir.path().join("events.ndjson"),
        &[grant(
            "e1",
            "2024-01-17T09:30:00Z",
            "us-east-1",
            "db-sg",
            Some("0.0.0.0/0"),
        )],
    );
    let o = trailwatch(
        dir.path(),
        &["replay", "--output", "matches", "events.ndjson"],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "the broken rule is still a configuration error"
    );
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1, "{}", stdout(&o));
    assert_eq!(
        lines[0]["rule_id"],
        "AWS.RDS.SecurityGroupIngressAuthorized"
    );
}

#[test]
fn every_broken_file_is_reported_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.d");
    let cases: &[(&str, &str, &str)] = &[
        ("a_unknown_key.yml", "RuleID: A\nSeverity: Low\nSeverty: High\n", "a_unknown_key.yml:3:1: unknown field `Severty`"),
        ("b_wrong_type.yml", "RuleID: B\nSeverity: Low\nThreshold: many\n", "b_wrong_type.yml:3:12: Threshold: invalid type"),
        ("c_no_rule_id.yml", "Severity: Low\nDetection: [{Condition: AlwaysTrue}]\n", "c_no_rule_id.yml:1:1: missing field `RuleID`"),
        ("d_python.yml", "RuleID: D\nFilename: d.py\nSeverity: Low\n", "d_python.yml:2:1: rule `D` keeps its logic in the Python file `d.py`"),
        ("e_dup.yml", "RuleID: A.Dup\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n", ""),
        ("f_dup.yml", "# again\nRuleID: A.Dup\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n", "f_dup.yml:2:1: duplicate RuleID `A.Dup`: already defined in"),
        ("h_no_log_types.yml", "RuleID: H\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n", "h_no_log_types.yml:1:1: LogTypes is empty"),
        ("g_syntax.yml", "RuleID: X\nTags: [a, b\nSeverity: Low\n", "g_syntax.yml:3:9: did not find expected ',' or ']', while parsing a flow sequence"),
    ];
    for (name, text, _) in cases {
        write(&rules.join(name), text.as_bytes());
    }
    write(&rules.join("notes.txt"), b"not a rule");
    write(&rules.join(".hidden.yml"), b"garbage: [");
    write(&rules.join("editing.yml~"), b"garbage: [");
    let o = trailwatch(dir.path(), &["check"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    for (_, _, expected) in cases.iter().filter(|c| !c.2.is_empty()) {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("7 error(s); 1 rule(s) valid"), "{err}");
}

#[test]
fn config_file_is_strict_and_points_at_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("myrules")).unwrap();
    std::fs::copy(seed_rule(), dir.path().join("myrules/seed.yml")).unwrap();
    write(&dir.path().join("tw.yaml"), b"rules_dir: myrules\n");
    let o = trailwatch(dir.path(), &["check", "--config", "tw.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write(
        &dir.path().join("tw.yaml"),
        b"rules_dir: myrules\nsources:\n  - path: x\n    tail: yes\n",
    );
    let o = trailwatch(dir.path(), &["check", "--config", "tw.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("tw.yaml:4:5: sources[0]: unknown field `tail`"),
        "{}",
        stderr(&o)
    );
}
