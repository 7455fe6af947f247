use super::*;
use crate::rule::keypath::KeyPath;
use serde_json::json;

fn layout(names: &[&str]) -> Layout {
    let mut l = Layout::default();
    names.iter().for_each(|n| l.add(n));
    l
}

#[test]
fn lookups_agree_with_the_full_decode() {
    let raw = br#"{"a":{"b":[{"c":null},{"c":"x"}],"s":"t"},"n":1.5,"e":"\u00e9","dup":1,"dup":2,
        "Variant":"v","variant":"w","\u0065sc":"escaped key","big":{"skip":[1,2,3]}}"#;
    let full: Value = serde_json::from_slice(raw).unwrap();
    let paths = [
        "a.b[*].c",
        "a.b[1].c",
        "a.s",
        "n",
        "e",
        "dup",
        "VARIANT",
        "variant",
        "esc",
        "missing.x",
        "big",
        "a[0]",
    ];
    let l = layout(&[
        "a", "n", "e", "dup", "VARIANT", "variant", "esc", "missing", "big",
    ]);
    let mut scanner = RecordScanner::default();
    let record = scanner.scan(&l, raw).unwrap();
    for s in paths {
        let k = KeyPath::parse(s).unwrap();
        assert_eq!(k.find_in(&record), k.find(&full), "{s}");
    }
    assert_eq!(record.field_exact("VARIANT"), None);
    assert_eq!(record.text("e"), Some("é"));
    assert_eq!(record.text("esc"), Some("escaped key"));
    assert_eq!(record.whole(), &full);
    assert!(record.broken().is_none());

    // Located by path: each field decodes keeping only the paths read below it.
    let mut by_path = Layout::default();
    for s in paths {
        by_path.add_path(&KeyPath::parse(s).unwrap());
    }
    let record = scanner.scan(&by_path, raw).unwrap();
    for s in paths {
        let k = KeyPath::parse(s).unwrap();
        assert_eq!(k.find_in(&record), k.find(&full), "{s}");
    }
    assert_eq!(
        record.field("a"),
        Some(&json!({"b":[{"c":null},{"c":"x"}],"s":"t"}))
    );
}

#[test]
fn a_scanner_is_reused_without_leaking_the_previous_record() {
    let l = layout(&["a"]);
    let mut scanner = RecordScanner::default();
    let first = scanner.scan(&l, br#"{"a":"one"}"#).unwrap();
    assert_eq!(first.field("a"), Some(&json!("one")));
    let second = scanner.scan(&l, br#"{"b":"two"}"#).unwrap();
    assert_eq!(second.field("a"), None);
}

#[test]
fn rejects_what_is_not_one_json_object() {
    let l = layout(&["a"]);
    let mut scanner = RecordScanner::default();
    for bad in [
        &br#"{"a":1"#[..],
        br#"{"a":1} x"#,
        b"{\"a\":\"\xff\"}",
        b"not json",
    ] {
        assert!(
            matches!(scanner.scan(&l, bad), Err(ScanError::Json(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    for not_object in [&b"[1,{}]"[..], b"\"s\"", b"3", b"null"] {
        assert!(matches!(
            scanner.scan(&l, not_object),
            Err(ScanError::NotAnObject)
        ));
    }
}

#[test]
fn p_fields_are_derived_one_by_one_like_enrich() {
    let raw = br#"{"eventTime":"2024-01-17T09:30:00Z","eventName":"ConsoleLogin","sourceIPAddress":"198.51.100.50",
        "userIdentity":{"type":"IAMUser","userName":"bob","arn":"arn:aws:iam::123456789012:user/bob"},
        "responseElements":{"ConsoleLogin":"Failure"},"p_any_aws_arns":["given"],"P_LOG_TYPE":"other"}"#;
    let mut full: Value = serde_json::from_slice(raw).unwrap();
    pfields::enrich(&mut full, raw, time::OffsetDateTime::UNIX_EPOCH);
    let names = [
        "eventTime",
        "p_log_type",
        "p_event_time",
        "p_row_id",
        "p_udm",
        "p_any_ip_addresses",
        "p_any_aws_account_ids",
        "p_any_aws_arns",
        "p_any_domain_names",
        "P_LOG_TYPE",
    ];
    // Derived from located fields, and from the full decode when they are not located.
    let mut located = layout(&names);
    super::super::udm::READS.iter().for_each(|n| located.add(n));
    for l in [layout(&names), located] {
        let mut scanner = RecordScanner::default();
        let record = scanner.scan(&l, raw).unwrap();
        for name in names {
            assert_eq!(record.field(name), full.field(name), "{name}");
        }
        let udm = KeyPath::parse("p_udm.event_type").unwrap();
        assert_eq!(udm.find_in(&record), udm.find(&full));
    }
}
