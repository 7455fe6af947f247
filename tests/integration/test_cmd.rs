//! `trailwatch test`.

use crate::support::*;

#[test]
fn seed_rule_passes_its_five_tests() {
    let o = trailwatch(
        &repo(),
        &[
            "test",
            "rules.d/aws_rds_security_group_ingress_authorized.yml",
        ],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains("AWS.RDS.SecurityGroupIngressAuthorized"),
        "{out}"
    );
    assert_eq!(out.matches("  PASS  ").count(), 5, "{out}");
    assert_eq!(out.lines().last(), Some("5 passed, 0 failed"));
    let filtered = trailwatch(
        &repo(),
        &[
            "test",
            "--filter",
            "RuleID=AWS.RDS.SecurityGroupIngressAuthorized",
            "rules.d",
        ],
    );
    assert_eq!(stdout(&filtered).lines().last(), Some("5 passed, 0 failed"));
}

#[test]
fn every_shipped_rule_passes_with_two_tests_each() {
    let o = trailwatch(&repo(), &["test", "--minimum-tests", "2", "rules.d"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.lines().last().unwrap().ends_with(" passed, 0 failed"),
        "{out}"
    );
}

#[test]
fn default_path_is_rules_d() {
    let implicit = trailwatch(&repo(), &["test"]);
    let explicit = trailwatch(&repo(), &["test", "rules.d"]);
    assert_eq!(implicit.status.code(), Some(0));
    assert_eq!(stdout(&implicit), stdout(&explicit));
}

#[test]
fn failed_expectation_names_what_differed_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(seed_rule()).unwrap();
    let broken = seed.replacen("ExpectedSeverity: CRITICAL", "ExpectedSeverity: LOW", 1);
    assert_ne!(seed, broken);
    write(&dir.path().join("r.yml"), broken.as_bytes());
    let o = trailwatch(dir.path(), &["test", "r.yml"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("ExpectedSeverity: expected \"LOW\", got \"CRITICAL\""),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("4 passed, 1 failed"));
}

#[test]
fn wrong_expected_result_fails() {
    let dir = tempfile::tempdir().unwrap();
    let rule = simple_rule(
        "T.One",
        "Tests:\n  - Name: says true but is false\n    ExpectedResult: true\n    Log: {eventName: PutObject}\n",
    );
    write(&dir.path().join("r.yml"), rule.as_bytes());
    let o = trailwatch(dir.path(), &["test", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("ExpectedResult: expected true, got false"));
    assert_eq!(stdout(&o).lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn invalid_rule_file_exits_2_and_still_tests_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("bad.yml"),
        b"RuleID: X\nSeverity: Urgent\n",
    );
    std::fs::copy(seed_rule(), dir.path().join("good.yml")).unwrap();
    let o = trailwatch(dir.path(), &["test", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.yml:2:11: Severity: unknown Severity `Urgent`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o).lines().last(), Some("5 passed, 0 failed"));
}

#[test]
fn minimum_tests_requires_count_and_both_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let only_true = simple_rule(
        "T.OnlyTrue",
        "Tests:\n  - {Name: a, ExpectedResult: true, Log: {eventName: GetObject}}\n  - {Name: b, ExpectedResult: true, Log: {eventName: GetObject}}\n",
    );
    write(&dir.path().join("r.yml"), only_true.as_bytes());
    let o = trailwatch(dir.path(), &["test", "--minimum-tests", "2", "."]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("has no test with ExpectedResult: false"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("2 passed, 0 failed"));
    let o = trailwatch(dir.path(), &["test", "--minimum-tests", "3", "."]);
    assert!(stdout(&o).contains("has 2 test(s), at least 3 required"));
}

#[test]
fn filters_select_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(seed_rule(), dir.path().join("seed.yml")).unwrap();
    let other = simple_rule(
        "T.Other",
        "Tags: [S3]\nTests:\n  - {Name: a, ExpectedResult: true, Log: {eventName: GetObject}}\n",
    );
    write(&dir.path().join("other.yml"), other.as_bytes());
    let run = |filter: &str| {
        let o = trailwatch(dir.path(), &["test", "--filter", filter, "."]);
        (
            o.status.code(),
            stdout(&o).lines().last().unwrap_or("").to_string(),
        )
    };
    assert_eq!(run("Tags=S3"), (Some(0), "1 passed, 0 failed".into()));
    assert_eq!(
        run("Severity=medium"),
        (Some(0), "5 passed, 0 failed".into())
    );
    assert_eq!(
        run("RuleID=T.Other,AWS.RDS.SecurityGroupIngressAuthorized"),
        (Some(0), "6 passed, 0 failed".into())
    );
    assert_eq!(
        run("LogTypes=AWS.CloudTrail"),
        (Some(0), "6 passed, 0 failed".into())
    );
    // A filter that keeps nothing is a mistake worth an exit code (a warning goes to stderr).
    assert_eq!(run("Tags=none"), (Some(1), "0 passed, 0 failed".into()));
    let o = trailwatch(dir.path(), &["test", "--filter", "Colour=red", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("valid keys: RuleID, Tags, Severity, LogTypes"));
}

#[test]
fn title_and_dedup_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"
RuleID: Test.Extensions
LogTypes: [AWS.CloudTrail]
Severity: Low
Detection:
  - {Key: eventSource, Condition: Equals, Value: rds.amazonaws.com}
AlertTitle: "Snapshot {split(requestParameters.arn, ':', -1)} by {p_udm.actor_user}"
DynamicAlertTitles:
  - AlertTitle: "Cluster snapshot {upper(requestParameters.id)}"
    Conditions:
      - {Key: eventName, Condition: EndsWith, Value: DBClusterSnapshot}
GroupBy:
  - {Key: recipientAccountId}
  - {Template: "{requestParameters.id|requestParameters.cluster|'none'}"}
AlertContext:
  - KeyName: snapshot
    KeyValue: {Template: "{split(requestParameters.arn, ':', -1)}", Default: N/A}
Tests:
  - Name: instance snapshot
    ExpectedResult: true
    ExpectedTitle: "Snapshot snap-1 by alice"
    ExpectedDedup: "111122223333:db1"
    ExpectedAlertContext: {snapshot: snap-1}
    Log:
      eventSource: rds.amazonaws.com
      eventName: DeleteDBSnapshot
      recipientAccountId: "111122223333"
      userIdentity: {type: IAMUser, userName: alice}
      requestParameters: {arn: "arn:aws:rds:us-east-1:111122223333:snapshot:snap-1", id: db1}
  - Name: cluster snapshot
    ExpectedResult: true
    ExpectedTitle: "Cluster snapshot C1"
    ExpectedDedup: "111122223333:c1"
    ExpectedAlertContext: {snapshot: N/A}
    Log:
      eventSource: rds.amazonaws.com
      eventName: DeleteDBClusterSnapshot
      recipientAccountId: "111122223333"
      requestParameters: {id: c1}
  - Name: other service
    ExpectedResult: false
    Log: {eventSource: s3.amazonaws.com}
"#;
    write(&dir.path().join("r.yml"), rule.as_bytes());
    let o = trailwatch(dir.path(), &["test", "r.yml"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).lines().last(), Some("3 passed, 0 failed"));
}

#[test]
fn a_filter_that_matches_no_rule_warns_and_exits_1() {
    let seed = "rules.d/aws_rds_security_group_ingress_authorized.yml";
    let o = trailwatch(&repo(), &["test", "--filter", "RuleID=nosuch", seed]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: no rule matches --filter RuleID=nosuch (1 rule(s) loaded)"),
        "{}",
        stderr(&o)
    );
    // Several filters that together keep no rule: the same warning and exit code.
    let o = trailwatch(
        &repo(),
        &[
            "test",
            "--filter",
            "Severity=Info",
            "--filter",
            "Tags=AWS",
            seed,
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}
