//! `trailwatch replay`: input formats, output contracts, dedup and threshold, bad input.

use crate::support::*;
use serde_json::{json, Value};
use std::path::Path;

/// A directory with the seed rule in `rules.d/`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::copy(seed_rule(), dir.path().join("rules.d/seed.yml")).unwrap();
    dir
}

fn replay(dir: &Path, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    let o = trailwatch(dir, &all);
    (o.status.code(), json_lines(&o), stderr(&o))
}

#[test]
fn matches_contract_on_every_input_format() {
    let dir = workspace();
    let a = grant(
        "id-a",
        "2024-01-17T09:30:00Z",
        "us-east-1",
        "prod-sg",
        Some("203.0.113.0/24"),
    );
    let b = grant(
        "id-b",
        "2024-01-17T09:31:00Z",
        "us-west-2",
        "db-sg",
        Some("0.0.0.0/0"),
    );
    let c = grant("id-c", "2024-01-17T09:32:00Z", "us-east-1", "app-sg", None);
    let n = noise("id-n", "2024-01-17T09:33:00Z");
    let inputs = dir.path().join("in");
    write_ndjson(&inputs.join("a.ndjson"), &[a, n.clone()]);
    write(&inputs.join("sub/b.json"), &records_json(&[n.clone(), b]));
    write_gz(
        &inputs.join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/17/c.json.gz"),
        &records_json(&[c, n]),
    );
    let (code, lines, err) = replay(dir.path(), &["--output", "matches", "in"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let by_id = |id: &str| lines.iter().find(|l| l["event_id"] == id).unwrap().clone();
    assert_eq!(
        by_id("id-b"),
        json!({
            "rule_id": "AWS.RDS.SecurityGroupIngressAuthorized",
            "event_id": "id-b",
            "event_time": "2024-01-17T09:31:00Z",
            "title": "RDS Security Group Ingress Authorized: [db-sg] from [0.0.0.0/0] by [ops]",
            "severity": "CRITICAL",
            "dedup": "123456789012:us-west-2:db-sg"
        })
    );
    assert_eq!(by_id("id-a")["severity"], "MEDIUM");
    assert_eq!(
        by_id("id-c")["title"],
        "RDS Security Group Ingress Authorized: [app-sg] from [app-servers-sg] by [ops]"
    );
    assert!(
        err.contains("3 file(s): 6 record(s), 0 malformed, 3 match(es)"),
        "{err}"
    );

    // Each file on its own, named directly, gives the same matches.
    let mut one_by_one = Vec::new();
    for file in [
        "in/a.ndjson",
        "in/sub/b.json",
        "in/AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/17/c.json.gz",
    ] {
        let (code, lines, _) = replay(dir.path(), &["--output", "matches", file]);
        assert_eq!(code, Some(0));
        assert_eq!(lines.len(), 1, "{file}");
        one_by_one.extend(lines);
    }
    assert_eq!(one_by_one.len(), 3);
}

#[test]
fn alerts_follow_dedup_windows_on_event_time() {
    let dir = workspace();
    // Same dedup key: 09:00, 09:20 and (out of order) 08:45 share a window; 10:30 opens another.
    let events = [
        grant(
            "e1",
            "2024-01-17T09:00:00Z",
            "us-east-1",
            "sg",
            Some("10.0.0.0/8"),
        ),
        grant(
            "e2",
            "2024-01-17T09:20:00Z",
            "us-east-1",
            "sg",
            Some("10.0.0.0/8"),
        ),
        grant(
            "e3",
            "2024-01-17T08:45:00Z",
            "us-east-1",
            "sg",
            Some("10.0.0.0/8"),
        ),
        grant(
            "e4",
            "2024-01-17T10:30:00Z",
            "us-east-1",
            "sg",
            Some("10.0.0.0/8"),
        ),
        grant(
            "e5",
            "2024-01-17T09:05:00Z",
            "eu-west-1",
            "sg",
            Some("0.0.0.0/0"),
        ),
    ];
    write_ndjson(&dir.path().join("e.ndjson"), &events);
    let (code, alerts, err) = replay(dir.path(), &["e.ndjson"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    let first = &alerts[0];
    assert_eq!(first["dedup"], "123456789012:us-east-1:sg");
    assert_eq!(first["event_count"], 3);
    assert_eq!(first["first_event_time"], "2024-01-17T08:45:00Z");
    assert_eq!(first["last_event_time"], "2024-01-17T09:20:00Z");
    assert_eq!(
        first["event"]["eventID"], "e1",
        "the window's first matching event"
    );
    // Alerts come out in the order they opened.
    assert_eq!(alerts[1]["event"]["eventID"], "e4");
    assert_eq!(alerts[1]["event_count"], 1);
    assert_eq!(alerts[2]["dedup"], "123456789012:eu-west-1:sg");
    assert_eq!(alerts[2]["severity"], "CRITICAL");
    assert_ne!(alerts[0]["alert_id"], alerts[1]["alert_id"]);

    // The alert contract.
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "alert_id",
        "rule_id",
        "rule_name",
        "title",
        "severity",
        "dedup",
        "log_type",
        "event_count",
        "created_at",
        "first_event_time",
        "last_event_time",
        "description",
        "runbook",
        "reference",
        "tags",
        "reports",
        "context",
        "summary",
        "event",
    ] {
        assert!(keys.contains(&key), "alert lacks {key}: {keys:?}");
    }
    assert_eq!(
        first["rule_name"],
        "AWS RDS Security Group Ingress Authorized"
    );
    assert_eq!(first["log_type"], "AWS.CloudTrail");
    assert_eq!(
        first["reports"]["MITRE ATT&CK"],
        json!(["TA0003:T1098", "TA0005:T1562.007"])
    );
    assert_eq!(first["context"]["cidr_ip"], "10.0.0.0/8");
    assert_eq!(first["context"]["ec2_security_group_id"], "N/A");
    assert_eq!(first["context"]["userIdentity"]["userName"], "ops");
    assert_eq!(first["context"]["sourceIPAddress"], "198.51.100.7");
    assert_eq!(
        first["summary"]["requestParameters:dBSecurityGroupName"],
        "sg"
    );
    assert_eq!(
        first["summary"]["p_any_aws_account_ids"],
        json!(["123456789012"])
    );
    assert_eq!(first["event"]["p_log_type"], "AWS.CloudTrail");

    // Replaying the same input again gives the same alert ids (crash-safe delivery relies on it).
    let (_, again, _) = replay(dir.path(), &["e.ndjson"]);
    let ids = |a: &[Value]| a.iter().map(|x| x["alert_id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&alerts), ids(&again));
}

#[test]
fn threshold_counts_every_event_of_the_window() {
    let dir = workspace();
    let rule = std::fs::read_to_string(seed_rule())
        .unwrap()
        .replace("Threshold: 1", "Threshold: 3");
    write(&dir.path().join("rules.d/seed.yml"), rule.as_bytes());
    let ev = |id: &str, t: &str, group: &str| grant(id, t, "us-east-1", group, Some("10.0.0.0/8"));
    write_ndjson(
        &dir.path().join("e.ndjson"),
        &[
            ev("a1", "2024-01-17T09:00:00Z", "three"),
            ev("b1", "2024-01-17T09:00:00Z", "two"),
            ev("a2", "2024-01-17T09:10:00Z", "three"),
            ev("b2", "2024-01-17T09:10:00Z", "two"),
            ev("a3", "2024-01-17T09:20:00Z", "three"),
            ev("a4", "2024-01-17T09:30:00Z", "three"),
        ],
    );
    let (code, alerts, err) = replay(dir.path(), &["e.ndjson"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        alerts.len(),
        1,
        "only the key with 3+ events alerts: {alerts:#?}"
    );
    assert_eq!(alerts[0]["dedup"], "123456789012:us-east-1:three");
    assert_eq!(alerts[0]["event_count"], 4);
    assert_eq!(alerts[0]["event"]["eventID"], "a1");
}

#[test]
fn create_alert_false_matches_but_never_alerts() {
    let dir = workspace();
    let rule = std::fs::read_to_string(seed_rule())
        .unwrap()
        .replace("Threshold: 1", "Threshold: 1\nCreateAlert: false");
    write(&dir.path().join("rules.d/seed.yml"), rule.as_bytes());
    write_ndjson(
        &dir.path().join("e.ndjson"),
        &[grant(
            "a",
            "2024-01-17T09:00:00Z",
            "us-east-1",
            "g",
            Some("10.0.0.0/8"),
        )],
    );
    assert_eq!(replay(dir.path(), &["e.ndjson"]).1.len(), 0);
    assert_eq!(
        replay(dir.path(), &["--output", "matches", "e.ndjson"])
            .1
            .len(),
        1
    );
}

#[test]
fn malformed_records_are_reported_counted_and_skipped() {
    let dir = workspace();
    let good = |id: &str| {
        grant(
            id,
            "2024-01-17T09:00:00Z",
            "us-east-1",
            id,
            Some("10.0.0.0/8"),
        )
    };
    let mut ndjson = Vec::new();
    ndjson.extend(format!("{}\n", good("n1")).as_bytes());
    ndjson.extend(b"{\"eventName\": \"AuthorizeDBSecurityGroupIngress\", \"eventTime\n");
    ndjson.extend(b"{\"eventTime\":\"2024-01-17T09:00:00Z\",\"eventName\":\"\xff\xfe\"}\n");
    ndjson.extend(b"[1,2,3]\n");
    ndjson.extend(b"{\"eventName\":\"X\"}\n");
    ndjson.extend(b"\n");
    ndjson.extend(format!("{}\n", good("n2")).as_bytes());
    write(&dir.path().join("in/mixed.ndjson"), &ndjson);
    // A delivery file whose third record is cut off: the first two still count.
    let records = records_json(&[good("r1"), good("r2"), good("r3")]);
    let cut = &records[..records.len() - 40];
    write(&dir.path().join("in/truncated.json"), cut);
    write(
        &dir.path().join("in/corrupt.json.gz"),
        b"\x1f\x8b\x08\x00garbage-not-deflate",
    );
    let ok_gz = records_json(&[good("g1")]);
    write_gz(&dir.path().join("in/ok.json.gz"), &ok_gz);

    let (code, lines, err) = replay(dir.path(), &["--output", "matches", "in"]);
    assert_eq!(code, Some(1), "malformed input exits 1: {err}");
    let mut ids: Vec<&str> = lines
        .iter()
        .map(|l| l["event_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["g1", "n1", "n2", "r1", "r2"], "{err}");
    assert!(err.contains("mixed.ndjson:2: malformed JSON"), "{err}");
    assert!(err.contains("mixed.ndjson:3: malformed JSON"), "{err}");
    assert!(
        err.contains("mixed.ndjson:4: record is not a JSON object"),
        "{err}"
    );
    assert!(
        err.contains("mixed.ndjson:5: eventTime is missing"),
        "{err}"
    );
    assert!(
        err.contains("truncated.json: record 3: malformed JSON"),
        "{err}"
    );
    assert!(err.contains("corrupt.json.gz"), "{err}");
    assert!(err.contains("6 malformed, 5 match(es)"), "{err}");
}

#[test]
fn missing_input_is_reported_the_rest_is_read_and_it_exits_2() {
    let dir = workspace();
    write_ndjson(
        &dir.path().join("e.ndjson"),
        &[grant(
            "a",
            "2024-01-17T09:00:00Z",
            "us-east-1",
            "g",
            Some("10.0.0.0/8"),
        )],
    );
    let (code, lines, err) = replay(
        dir.path(),
        &["--output", "matches", "nope.json", "e.ndjson"],
    );
    assert_eq!(code, Some(2), "a missing input path exits 2: {err}");
    assert_eq!(lines.len(), 1);
    assert!(err.contains("nope.json: cannot read"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = workspace();
    let o = trailwatch(dir.path(), &["replay"]);
    assert_eq!(o.status.code(), Some(2));
    let o = trailwatch(dir.path(), &["replay", "--output", "everything", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("possible values: alerts, matches"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unique_by_threshold_counts_distinct_values() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "RuleID: Test.Spray\nLogTypes: [AWS.CloudTrail]\nSeverity: Medium\nThreshold: 3\n\
GroupBy: [{Key: sourceIPAddress}]\nUniqueBy: {KeyPath: additionalEventData.user}\n\
Detection:\n  - {Key: eventName, Condition: Equals, Value: ConsoleLogin}\n";
    write(&dir.path().join("rules.d/spray.yml"), rule.as_bytes());
    let login = |id: &str, minute: u32, ip: &str, user: &str| {
        json!({"eventName": "ConsoleLogin", "eventID": id, "sourceIPAddress": ip,
               "eventTime": format!("2024-01-17T09:{minute:02}:00Z"),
               "additionalEventData": {"user": user}})
    };
    write_ndjson(
        &dir.path().join("e.ndjson"),
        &[
            // 198.51.100.1 tries the same user four times: no alert.
            login("a1", 0, "198.51.100.1", "alice"),
            login("a2", 1, "198.51.100.1", "alice"),
            login("a3", 2, "198.51.100.1", "alice"),
            login("a4", 3, "198.51.100.1", "alice"),
            // 198.51.100.2 tries three different users: an alert.
            login("b1", 0, "198.51.100.2", "alice"),
            login("b2", 1, "198.51.100.2", "bob"),
            login("b3", 2, "198.51.100.2", "bob"),
            login("b4", 3, "198.51.100.2", "carol"),
        ],
    );
    let (code, alerts, err) = replay(dir.path(), &["e.ndjson"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["dedup"], "198.51.100.2");
    assert_eq!(alerts[0]["event_count"], 4);
}

#[test]
fn exit_codes_tell_a_missing_path_from_corrupt_input() {
    let dir = workspace();
    let (code, lines, err) = replay(dir.path(), &["missing-dir/"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(lines.is_empty());
    assert!(err.contains("missing-dir/: cannot read"), "{err}");

    write(
        &dir.path().join("corrupt/a.json.gz"),
        b"\x1f\x8b\x08\x00not-deflate",
    );
    write(
        &dir.path().join("corrupt/b.json"),
        b"{\"Records\": [{\"eventName\"",
    );
    let (code, _, err) = replay(dir.path(), &["corrupt"]);
    assert_eq!(code, Some(1), "only corrupt files: {err}");
    assert!(err.contains("2 malformed"), "{err}");

    let good = grant(
        "ok",
        "2024-01-17T09:00:00Z",
        "us-east-1",
        "g",
        Some("10.0.0.0/8"),
    );
    write_ndjson(&dir.path().join("good/e.ndjson"), &[good]);
    let (code, lines, err) = replay(dir.path(), &["good"]);
    assert_eq!((code, lines.len()), (Some(0), 1), "{err}");
}

#[test]
fn long_lines_follow_max_line_bytes_like_the_daemon() {
    let dir = workspace();
    let mut long = grant(
        "long",
        "2024-01-17T09:00:00Z",
        "us-east-1",
        "g",
        Some("10.0.0.0/8"),
    );
    long["padding"] = Value::String("x".repeat(2_000));
    let short = grant(
        "short",
        "2024-01-17T09:00:00Z",
        "us-east-1",
        "h",
        Some("10.0.0.0/8"),
    );
    write_ndjson(&dir.path().join("in.ndjson"), &[long, short]);

    // The default limit (8 MiB, the daemon's default too) reads both.
    let (code, lines, err) = replay(dir.path(), &["--output", "matches", "in.ndjson"]);
    assert_eq!((code, lines.len()), (Some(0), 2), "{err}");

    let (code, lines, err) = replay(
        dir.path(),
        &[
            "--output",
            "matches",
            "--max-line-bytes",
            "1000",
            "in.ndjson",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0]["event_id"], "short");
    assert!(
        err.contains("in.ndjson:1: line longer than max_line_bytes (1000 bytes); skipped"),
        "{err}"
    );
}
