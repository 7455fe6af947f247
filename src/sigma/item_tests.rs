use super::*;
use serde_json::json;

#[test]
fn runtime_text_comparisons() {
    assert!(compare_texts("Alice", "alice", RefMode::Equals, false));
    assert!(!compare_texts("Alice", "alice", RefMode::Equals, true));
    assert!(compare_texts(
        "arn:x/Alice",
        "ALICE",
        RefMode::EndsWith,
        false
    ));
    assert!(compare_texts(
        "arn:x/Alice",
        "ARN",
        RefMode::StartsWith,
        false
    ));
    assert!(compare_texts(
        "arn:x/Alice",
        "X/A",
        RefMode::Contains,
        false
    ));
    assert!(!compare_texts("arn", "arn:x", RefMode::StartsWith, false));
    assert!(!compare_texts("Grüße", "GRÜSSE", RefMode::Equals, false));
    assert!(compare_texts("ÜBER", "über", RefMode::Equals, false));
    assert!(compare_texts("xÜBERy", "über", RefMode::Contains, false));
    assert!(compare_texts("xÜBER", "über", RefMode::EndsWith, false));
    assert!(compare_texts("anything", "", RefMode::Contains, false));
}

#[test]
fn objects_and_lists_as_values() {
    let event = json!({"rp": {"b": "x", "a": {"Status": "Suspended"}}, "l": [[1, 2], [3]]});
    let item = Item {
        field: Some(FieldPath::parse("rp").unwrap()),
        values: vec![vec![Test::Text(
            Pattern::compile(
                &crate::sigma::sigmastr::SigmaStr::parse(r#"*"a":{"status":"suspended"}*"#),
                false,
            )
            .unwrap(),
        )]],
        all: false,
        negate: false,
        key: "rp|contains".into(),
        shown: vec![],
    };
    assert!(item.matches(&event));
    let three = Item {
        field: Some(FieldPath::parse("l").unwrap()),
        values: vec![vec![Test::Compare(Ordering::Greater, false, json!(2))]],
        all: false,
        negate: false,
        key: "l|gt".into(),
        shown: vec![],
    };
    assert!(three.matches(&event), "nested lists are expanded");
}

#[test]
fn negated_item_over_a_list_needs_every_element_to_differ() {
    let item = Item {
        field: Some(FieldPath::parse("ids").unwrap()),
        values: vec![vec![Test::Text(
            Pattern::compile(&crate::sigma::sigmastr::SigmaStr::literal("good"), false).unwrap(),
        )]],
        all: false,
        negate: true,
        key: "ids|neq".into(),
        shown: vec![],
    };
    assert!(!item.matches(&json!({"ids": ["good", "bad"]})));
    assert!(item.matches(&json!({"ids": ["bad", "worse"]})));
    assert!(item.matches(&json!({})));
}
