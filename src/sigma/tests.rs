//! Whole rules: parsing, the mapping onto `Rule`, located errors, index pins and projection.

use super::*;
use crate::event::projection::Projection;
use crate::rule::expr::Expr;
use crate::rule::external::Detection;
use crate::rule::{RuleSet, Severity};
use serde_json::json;

fn rule(detection: &str, extra: &str) -> String {
    format!(
        "title: Demo\nid: demo-1\nlogsource:\n    product: aws\n    service: cloudtrail\n{extra}detection:\n{detection}"
    )
}

fn compile(source: &str) -> Rule {
    parse(Path::new("r.yml"), source).unwrap_or_else(|e| panic!("{e}"))
}

fn error(source: &str) -> String {
    parse(Path::new("r.yml"), source).unwrap_err().to_string()
}

fn matcher(rule: &Rule) -> &dyn Detection {
    match &rule.detection {
        Expr::External(d) => d.as_ref(),
        other => panic!("not a Sigma rule: {other:?}"),
    }
}

#[test]
fn recognises_sigma_documents() {
    assert!(is_sigma(&rule(
        "    sel:\n        a: b\n    condition: sel\n",
        ""
    )));
    assert!(is_sigma("title: x\ncorrelation: {}\n"));
    assert!(!is_sigma("RuleID: x\nDetection: []\n"));
    assert!(!is_sigma("RuleID: x\ndetection: {}\n"));
    assert!(!is_sigma("not: [valid"));
    assert!(!is_sigma("- a\n- b\n"));
}

#[test]
fn metadata_maps_onto_the_rule() {
    let source = "title: Root login\nid: 0b1d\nstatus: stable\ndescription: d\nreferences: [https://a, https://b]\n\
        tags: [attack.initial-access, attack.t1078.004, attack.persistence]\nfalsepositives: [Break-glass drills]\n\
        level: informational\nfields: [userIdentity.arn]\nlogsource: {product: aws, service: cloudtrail, definition: all trails}\n\
        author: me\ndate: 2024-01-01\ncustom_owner: secops\n\
        detection:\n    sel:\n        userIdentity.type: Root\n    condition: sel\n\
        trailwatch:\n    dedup_period_minutes: 15\n    threshold: 3\n    group_by: [recipientAccountId]\n";
    let r = compile(source);
    assert_eq!(r.id, "0b1d");
    assert_eq!(r.name(), "Root login");
    assert_eq!(r.severity, Severity::Info);
    assert_eq!(r.status.as_deref(), Some("stable"));
    assert_eq!(r.reference.as_deref(), Some("https://a"));
    assert_eq!(
        r.runbook.as_deref(),
        Some("Known false positives: Break-glass drills")
    );
    assert_eq!(r.log_types, vec!["AWS.CloudTrail"]);
    assert_eq!(
        r.reports["MITRE ATT&CK"],
        vec!["TA0001:T1078.004", "TA0003:T1078.004"]
    );
    assert_eq!((r.dedup_period_minutes, r.threshold), (15, 3));
    assert_eq!(r.summary_attributes[0].0, "userIdentity.arn");
    let event = json!({"userIdentity": {"type": "root", "arn": "a"}, "recipientAccountId": "1"});
    assert!(r.matches(&event));
    assert_eq!(r.dedup(&event), "1");
    assert_eq!(r.summary(&event)["userIdentity.arn"], "a");
}

#[test]
fn defaults_follow_panther() {
    let r = compile(&rule("    sel:\n        a: b\n    condition: sel\n", ""));
    assert_eq!(
        (r.dedup_period_minutes, r.threshold, r.enabled),
        (60, 1, true)
    );
    assert_eq!(r.severity, Severity::Medium);
    assert!(r.reports.is_empty() && r.runbook.is_none());
    assert_eq!(r.title(&json!({})), "Demo");
}

#[test]
fn tests_key_runs_like_panther_tests() {
    let source = rule(
        "    sel:\n        eventName: StopLogging\n    condition: sel\n",
        "tests:\n  - Name: hit\n    ExpectedResult: true\n    Log: {eventName: stoplogging}\n  - Name: miss\n    ExpectedResult: false\n    Log: {eventName: StartLogging}\n",
    );
    let r = compile(&source);
    assert_eq!(r.tests.len(), 2);
    for t in &r.tests {
        assert!(crate::rule::selftest::run(&r, t).passed(), "{}", t.name);
    }
}

#[test]
fn errors_carry_positions() {
    let cases = [
        (rule("    sel:\n        a|nope: b\n    condition: sel\n", ""), "r.yml:8:17: detection.sel.a|nope: unknown modifier `nope`"),
        (rule("    sel:\n        a: b\n    condition: sel or\n", ""), "r.yml:9:16: detection.condition: the condition ends too early"),
        (rule("    sel:\n        a: b\n    condition: 1 of filter*\n", ""), "r.yml:9:16: detection.condition: `1 of filter*` matches no search identifier"),
        (rule("    sel:\n        a: b\n", ""), "r.yml:7:5: detection: detection has no `condition`"),
        (rule("    sel:\n        a: {b: c}\n    condition: sel\n", ""), "r.yml:8:12: detection.sel.a: `a` holds a mapping"),
        (rule("    sel:\n        a: b\n    condition: sel\n", "status: beta\n"), "r.yml:6:9: status: unknown status `beta`"),
        (rule("    sel:\n        a: b\n    condition: sel\n", "trailwatch:\n    threshold: 0\n"), "r.yml:7:16: trailwatch.threshold: invalid value"),
        (rule("    sel:\n        a: b\n    condition: sel\n", "trailwatch:\n    dedup: 5\n"), "r.yml:7:5: trailwatch: unknown field `dedup`"),
        (rule("    sel:\n        a: b\n    condition: sel\n", "tests:\n  - Name: x\n    Expected: true\n"), "r.yml:8:5: tests[0]: unknown field `Expected`"),
        ("title: T\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel:\n        a: b\n    condition: sel\n".to_string(), "r.yml:1:1: a Sigma rule needs an `id`"),
        ("title: T\nid: x\ncorrelation:\n    type: event_count\n".to_string(), "r.yml:4:5: correlation: Sigma correlation rules are not supported"),
        (rule("    sel:\n        a: b\n    condition: sel\n", "Level: high\n"), "r.yml:6:8: Level: unknown key `Level`; did you mean `level`?"),
    ];
    for (source, want) in cases {
        let got = error(&source);
        assert!(got.starts_with(want), "want {want}\n got {got}");
    }
}

#[test]
fn keyword_search_reads_the_whole_record() {
    let r = compile(&rule(
        "    keywords:\n        - mimikatz\n    condition: keywords\n",
        "",
    ));
    let mut projection = Projection::default();
    r.detection.for_each_path(&mut |p| projection.add(p));
    assert!(projection.keeps_everything());
    assert!(r.matches(&json!({"requestParameters": {"commands": ["run MimiKatz"]}})));
}

#[test]
fn projection_keeps_what_fields_read() {
    let r = compile(&rule(
        "    sel:\n        requestParameters.containerDefinitions.command|contains: x\n        userIdentity.arn|fieldref: requestParameters.userName\n    condition: sel\n",
        "",
    ));
    let mut projection = Projection::default();
    r.detection.for_each_path(&mut |p| projection.add(p));
    let raw = br#"{"requestParameters":{"userName":"u","containerDefinitions":[{"command":["a","x"],"image":"i"}],"other":1},"userIdentity":{"arn":"U","type":"t"}}"#;
    let projected = projection.decode(raw).unwrap();
    assert_eq!(
        projected,
        json!({"requestParameters":{"userName":"u","containerDefinitions":[{"command":["a","x"]}]},"userIdentity":{"arn":"U"}})
    );
    assert!(r.matches(&projected));
}

#[test]
fn only_exact_case_equalities_are_pinned() {
    let pinned = |detection: &str| {
        let r = compile(&rule(detection, ""));
        let m = matcher(&r);
        (
            m.pinned("eventSource").map(|v| v.join(",")),
            m.pinned("eventName").map(|v| v.join(",")),
        )
    };
    // Case-insensitive: an event with `IAM.amazonaws.com` matches, so no exact-case pin.
    assert_eq!(
        pinned("    sel:\n        eventSource: iam.amazonaws.com\n    condition: sel\n"),
        (None, None)
    );
    assert_eq!(
        pinned("    sel:\n        eventSource|cased: iam.amazonaws.com\n        eventName|cased: [CreateUser, DeleteUser]\n    condition: sel\n"),
        (Some("iam.amazonaws.com".into()), Some("CreateUser,DeleteUser".into()))
    );
    assert_eq!(
        pinned("    a:\n        eventName|cased: A\n    b:\n        eventName|cased: B\n    condition: a or b\n"),
        (None, Some("A,B".into()))
    );
    assert_eq!(pinned("    a:\n        eventName|cased: A\n    b:\n        eventSource: x\n    condition: a or b\n"), (None, None));
    assert_eq!(
        pinned("    a:\n        eventName|cased: A\n    condition: not a\n"),
        (None, None)
    );
    assert_eq!(
        pinned("    a:\n        eventName|cased|startswith: A\n    condition: a\n"),
        (None, None)
    );
    assert_eq!(
        pinned("    a:\n        eventName|cased|neq: A\n    condition: a\n"),
        (None, None)
    );
}

#[test]
fn catalog_actions_accept_case_insensitive_equalities() {
    let r = compile(&rule(
        "    sel:\n        eventSource: iam.amazonaws.com\n        eventName: [CreateUser, DeleteUser]\n    filter:\n        eventName: X\n    condition: sel and not filter\n",
        "",
    ));
    let m = matcher(&r);
    assert_eq!(m.required_values("eventSource"), vec!["iam.amazonaws.com"]);
    assert_eq!(
        m.required_values("eventName"),
        vec!["CreateUser", "DeleteUser"]
    );
}

#[test]
fn pinned_rules_are_indexed_and_still_match() {
    let pinned = compile(&rule(
        "    sel:\n        eventName|cased: StopLogging\n    condition: sel\n",
        "",
    ));
    let free = compile(
        &rule(
            "    sel:\n        eventName: stoplogging\n    condition: sel\n",
            "",
        )
        .replace("demo-1", "demo-2"),
    );
    let set = RuleSet::new(vec![pinned, free]);
    let mut out = Vec::new();
    set.matching(&json!({"eventName": "StopLogging"}), &mut out);
    assert_eq!(out, vec![0, 1]);
    out.clear();
    set.matching(&json!({"eventName": "STOPLOGGING"}), &mut out);
    assert_eq!(out, vec![1]);
}

#[test]
fn condition_lists_and_search_shapes() {
    let r = compile(&rule(
        "    maps:\n        - eventName: A\n        - eventName: B\n          awsRegion: us-east-1\n    mixed:\n        - needle\n        - eventName: C\n    condition:\n        - maps\n        - mixed\n",
        "",
    ));
    assert!(r.matches(&json!({"eventName": "a"})));
    assert!(!r.matches(&json!({"eventName": "b"})));
    assert!(r.matches(&json!({"eventName": "b", "awsRegion": "US-EAST-1"})));
    assert!(r.matches(&json!({"eventName": "c"})));
    assert!(r.matches(&json!({"x": "haystack with NEEDLE"})));
    assert!(!r.matches(&json!({"eventName": "D"})));
    let logic = crate::catalog::logic::render(&r);
    assert!(
        logic.iter().any(|l| l.contains("condition: maps")),
        "{logic:?}"
    );
}

#[test]
fn duplicate_search_identifiers_are_rejected() {
    // YAML itself refuses duplicate keys; a Sigma rule cannot define a search twice.
    let got = error(&rule(
        "    sel:\n        a: b\n    sel:\n        a: c\n    condition: sel\n",
        "",
    ));
    assert!(got.contains("sel"), "{got}");
}
