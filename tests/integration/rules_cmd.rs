//! `trailwatch rules list|show|coverage`.

use crate::support::*;

/// The seed rule plus a second rule on the same action and one elsewhere.
fn pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(seed_rule(), dir.path().join("seed.yml")).unwrap();
    let twin = concat!(
        "RuleID: Test.SameAction\nLogTypes: [AWS.CloudTrail]\nSeverity: High\nTags: [RDS]\n",
        "Reports:\n  MITRE ATT&CK:\n    - TA0003:T1098.001\n",
        "Detection:\n",
        "  - {Key: eventSource, Condition: Equals, Value: rds.amazonaws.com}\n",
        "  - {Key: eventName, Condition: IsIn, Values: [AuthorizeDBSecurityGroupIngress, RevokeDBSecurityGroupIngress]}\n",
        "  - {Key: errorCode, Condition: IsNull}\n",
    );
    let other = "RuleID: Test.Other\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection:\n  - {Key: eventName, Condition: Equals, Value: GetObject}\n";
    write(&dir.path().join("twin.yml"), twin.as_bytes());
    write(&dir.path().join("other.yml"), other.as_bytes());
    dir
}

fn rules(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["rules"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--rules", "."]);
    let o = trailwatch(dir, &all);
    (o.status.code(), stdout(&o))
}

#[test]
fn show_prints_the_catalog_page() {
    let dir = pack();
    let (code, out) = rules(
        dir.path(),
        &["show", "AWS.RDS.SecurityGroupIngressAuthorized"],
    );
    assert_eq!(code, Some(0), "{out}");
    for expected in [
        "AWS RDS Security Group Ingress Authorized",
        "Severity: MEDIUM   Dedup: 60 min   Threshold: 1",
        "| TA0003 Persistence | T1098 Account Manipulation |",
        "| TA0005 Stealth | T1562.007 Impair Defenses: Disable or Modify Cloud Firewall |",
        "  eventSource eq \"rds.amazonaws.com\"\n  eventName eq \"AuthorizeDBSecurityGroupIngress\"\n  errorCode is_null\n",
        "| eventSource | eq | rds.amazonaws.com | 1 |",
        // Test.SameAction has it in an IsIn list: the same indicator, counted (it was 0 while
        // the same rule was listed as detecting the same action).
        "| eventName | eq | AuthorizeDBSecurityGroupIngress | 1 |",
        "| errorCode | is_null |  | 1 |",
        "| security_group_name | requestParameters.dBSecurityGroupName |",
        "| userIdentity |  |",
        "Rules detecting the same action\n- Test.SameAction\n",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    let (code, json) = rules(
        dir.path(),
        &[
            "show",
            "AWS.RDS.SecurityGroupIngressAuthorized",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["attack"][0]["technique_name"], "Account Manipulation");
    assert_eq!(v["same_action"], serde_json::json!(["Test.SameAction"]));
    let (code, _) = rules(dir.path(), &["show", "No.Such.Rule"]);
    assert_eq!(code, Some(2));
}

#[test]
fn list_filters() {
    let dir = pack();
    let ids = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["list"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--format", "json"]);
        let (code, out) = rules(dir.path(), &a);
        assert_eq!(code, Some(0), "{out}");
        let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        v.iter()
            .map(|r| r["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&[]).len(), 3);
    assert_eq!(
        ids(&["--technique", "T1098"]),
        ["AWS.RDS.SecurityGroupIngressAuthorized", "Test.SameAction"]
    );
    assert_eq!(ids(&["--technique", "T1098.001"]), ["Test.SameAction"]);
    assert_eq!(
        ids(&["--tactic", "TA0005"]),
        ["AWS.RDS.SecurityGroupIngressAuthorized"]
    );
    assert_eq!(
        ids(&["--event-name", "RevokeDBSecurityGroupIngress"]),
        ["Test.SameAction"]
    );
    assert_eq!(ids(&["--severity", "low"]), ["Test.Other"]);
    assert_eq!(ids(&["--tag", "rds"]).len(), 2);
    let (_, text) = rules(dir.path(), &["list"]);
    assert!(text.ends_with("3 rule(s)\n"), "{text}");
}

#[test]
fn coverage_tables() {
    let dir = pack();
    let (code, md) = rules(dir.path(), &["coverage", "--format", "markdown"]);
    assert_eq!(code, Some(0));
    assert!(md.contains("| TA0003 Persistence | T1098 Account Manipulation | 1 | AWS.RDS.SecurityGroupIngressAuthorized |"), "{md}");
    assert!(
        md.contains("| TA0003 Persistence | T1098.001 Account Manipulation: Additional Cloud Credentials | 1 | Test.SameAction |"),
        "{md}"
    );
    assert!(
        md.contains("3 rules counted; 1 without an ATT&CK mapping; 0 disabled and not counted."),
        "{md}"
    );
    let (_, json) = rules(dir.path(), &["coverage", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["unmapped"], serde_json::json!(["Test.Other"]));
}

#[test]
fn every_attack_id_in_the_shipped_pack_has_a_name() {
    let o = trailwatch(&repo(), &["rules", "coverage", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut unnamed = Vec::new();
    for tactic in v["tactics"].as_array().unwrap() {
        if tactic["name"].is_null() {
            unnamed.push(tactic["tactic"].to_string());
        }
        for t in tactic["techniques"].as_array().unwrap() {
            if t["name"].is_null() {
                unnamed.push(t["technique"].to_string());
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "add these to src/catalog/attack.tsv: {unnamed:?}"
    );
}

#[test]
fn coverage_doc_is_the_generated_table() {
    let doc = std::fs::read_to_string(repo().join("docs/COVERAGE.md")).unwrap();
    let start = doc.find("<!-- coverage:start -->\n").expect("start marker") + 24;
    let end = doc.find("<!-- coverage:end -->").expect("end marker");
    let o = trailwatch(&repo(), &["rules", "coverage", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        &doc[start..end],
        stdout(&o),
        "regenerate docs/COVERAGE.md's table with `trailwatch rules coverage --format markdown`"
    );
}

/// Rules that can match `StopLogging` in every way a rule can say so, one that cannot (it
/// excludes it), and a disabled one.
fn stop_logging_pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let panther = |id: &str, detection: &str, extra: &str| {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [AWS.CloudTrail]\n\
             Severity: High\n{extra}Detection:\n{detection}"
        )
    };
    let files = [
        (
            "equals.yml",
            panther(
                "Stop.Equals",
                "  - {Key: eventName, Condition: Equals, Value: StopLogging}\n",
                "Reports:\n  MITRE ATT&CK:\n    - TA0005:T1562.008\n",
            ),
        ),
        (
            "any.yml",
            panther(
                "Stop.Any",
                "  - {Key: eventSource, Condition: Equals, Value: cloudtrail.amazonaws.com}\n  \
                 - Any:\n      - {Key: eventName, Condition: Equals, Value: StopLogging}\n      \
                 - {Key: eventName, Condition: Equals, Value: DeleteTrail}\n",
                "",
            ),
        ),
        (
            "isin.yml",
            panther(
                "Stop.IsIn",
                "  - {Key: eventName, Condition: IsIn, Values: [StopLogging, UpdateTrail]}\n",
                "",
            ),
        ),
        (
            "not.yml",
            panther(
                "Stop.Excluded",
                "  - {Key: eventSource, Condition: Equals, Value: cloudtrail.amazonaws.com}\n  \
                 - None:\n      - {Key: eventName, Condition: Equals, Value: StopLogging}\n",
                "",
            ),
        ),
        (
            "disabled.yml",
            panther(
                "Stop.Disabled",
                "  - {Key: eventName, Condition: Equals, Value: StopLogging}\n",
                "Reports:\n  MITRE ATT&CK:\n    - TA0005:T1562.008\n",
            )
            .replace("Enabled: true", "Enabled: false"),
        ),
        (
            "sigma.yml",
            "title: Stop logging (Sigma)\nid: stop-sigma\nlogsource:\n    product: aws\n    \
             service: cloudtrail\ndetection:\n    sel:\n        eventName:\n            \
             - StopLogging\n            - DeleteTrail\n    condition: sel\n"
                .to_string(),
        ),
    ];
    for (name, text) in files {
        write(&dir.path().join(name), text.as_bytes());
    }
    dir
}

fn listed(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, out) = rules(dir, &all);
    assert_eq!(code, Some(0), "{out}");
    let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    v.iter()
        .map(|r| r["rule_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_rule_that_can_match_an_event_name_is_listed_under_it() {
    let dir = stop_logging_pack();
    let stop = listed(dir.path(), &["--event-name", "StopLogging"]);
    assert_eq!(
        stop,
        [
            "Stop.Any",
            "Stop.Disabled",
            "Stop.Equals",
            "Stop.IsIn",
            "stop-sigma"
        ],
        "inside Any, IsIn and Sigma lists too; never under None"
    );
    assert_eq!(
        listed(dir.path(), &["--event-name", "DeleteTrail"]),
        ["Stop.Any", "stop-sigma"]
    );
}

#[test]
fn same_action_agrees_with_the_indicators_table() {
    let dir = stop_logging_pack();
    let (code, page) = rules(dir.path(), &["show", "Stop.Any"]);
    assert_eq!(code, Some(0), "{page}");
    assert!(
        page.contains("| eventName | eq | StopLogging | 4 |"),
        "Equals, IsIn, Sigma and the disabled rule: {page}"
    );
    let same = page
        .split("Rules detecting the same action\n")
        .nth(1)
        .unwrap();
    let ids: Vec<&str> = same
        .lines()
        .take_while(|l| l.starts_with("- "))
        .map(|l| &l[2..])
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["Stop.Disabled", "Stop.Equals", "Stop.IsIn", "stop-sigma"],
        "the four rules the table counts, not the one that excludes StopLogging: {page}"
    );
    let (_, excluded) = rules(dir.path(), &["show", "Stop.Excluded"]);
    assert!(
        excluded.contains("| eventName | not_eq | StopLogging | 0 |"),
        "a test under None is shown negated: {excluded}"
    );
}

#[test]
fn tactics_and_techniques_are_found_by_id_or_name() {
    let dir = stop_logging_pack();
    let by_id = listed(dir.path(), &["--tactic", "TA0005"]);
    assert_eq!(by_id, ["Stop.Disabled", "Stop.Equals"]);
    for name in ["defense-evasion", "Defense Evasion", "ta0005", "stealth"] {
        assert_eq!(listed(dir.path(), &["--tactic", name]), by_id, "{name}");
    }
    assert_eq!(
        listed(dir.path(), &["--technique", "impair defenses"]),
        by_id
    );
    let o = trailwatch(
        dir.path(),
        &[
            "rules",
            "list",
            "--tactic",
            "defence-evasion",
            "--rules",
            ".",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown ATT&CK tactic `defence-evasion`")
            && stderr(&o).contains("TA0005 Stealth"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn coverage_sets_disabled_rules_apart() {
    let dir = stop_logging_pack();
    let (code, text) = rules(dir.path(), &["coverage"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("1 rule(s)"),
        "only the enabled rule counts: {text}"
    );
    assert!(
        text.contains("5 rules counted; 4 without an ATT&CK mapping; 1 disabled and not counted (Stop.Disabled)"),
        "{text}"
    );
    let (_, json) = rules(dir.path(), &["coverage", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["disabled_not_counted"],
        serde_json::json!(["Stop.Disabled"])
    );
    let (_, all) = rules(
        dir.path(),
        &["coverage", "--include-disabled", "--format", "markdown"],
    );
    assert!(
        all.contains("| 2 | Stop.Disabled (disabled), Stop.Equals |"),
        "{all}"
    );
}
