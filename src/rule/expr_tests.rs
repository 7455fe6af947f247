//! Tests for the match-expression grammar: parsing from YAML, evaluation against events, the
//! errors (with their YAML positions), and property tests for the list comprehensions and the
//! combinators.

use super::*;
use proptest::collection::{btree_map, vec as pvec};
use proptest::prelude::*;
use serde_json::json;

/// Parses a `Detection`-style list (an implicit `All`).
fn parse(yaml: &str) -> Expr {
    let list = serde_yaml::from_str::<Vec<Expr>>(yaml)
        .unwrap_or_else(|e| panic!("should parse:\n{yaml}\nerror: {e}"));
    Expr::All(list)
}

fn matches(yaml: &str, event: &Value) -> bool {
    parse(yaml).matches(event)
}

/// Asserts that `yaml` fails with an error at `line`:`column` (1-based, the start of the
/// expression that holds the mistake) whose message contains every one of `needles`.
#[track_caller]
fn assert_error(yaml: &str, line: usize, column: usize, needles: &[&str]) {
    let err = match serde_yaml::from_str::<Vec<Expr>>(yaml) {
        Ok(parsed) => panic!("should fail:\n{yaml}\nparsed: {parsed:?}"),
        Err(e) => e,
    };
    let message = err.to_string();
    let location = err
        .location()
        .unwrap_or_else(|| panic!("no location in `{message}`"));
    assert_eq!(
        (location.line(), location.column()),
        (line, column),
        "position of `{message}`"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "`{message}` should contain `{needle}`"
        );
    }
}

fn event() -> Value {
    json!({
        "eventSource": "iam.amazonaws.com",
        "eventName": "AttachUserPolicy",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.5",
        "errorCode": null,
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::123456789012:user/alice",
            "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}
        },
        "requestParameters": {
            "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            "userName": "alice"
        },
        "resources": [
            {"ARN": "arn:aws:iam::123456789012:user/alice", "type": "AWS::IAM::User"},
            {"ARN": "arn:aws:iam::aws:policy/AdministratorAccess", "type": "AWS::IAM::Policy"}
        ],
        "tags": ["prod-web", "Team-A", "pci"],
        "emptyList": [],
        "counts": {"used": 12, "limit": 10, "same": 10, "text": "x"},
        "dotted.key": "flat",
        "matrix": [[1, 2], [3]]
    })
}

// ---------------------------------------------------------------------------------------------
// Key specifiers
// ---------------------------------------------------------------------------------------------

#[test]
fn key_names_one_top_level_field() {
    let e = event();
    assert!(matches(
        "- {Key: eventName, Condition: Equals, Value: AttachUserPolicy}",
        &e
    ));
    assert!(!matches(
        "- {Key: eventName, Condition: Equals, Value: DetachUserPolicy}",
        &e
    ));
    // `Key` does not split on dots: it names the field literally.
    assert!(matches(
        "- {Key: dotted.key, Condition: Equals, Value: flat}",
        &e
    ));
    assert!(matches(
        "- {Key: userIdentity.arn, Condition: DoesNotExist}",
        &e
    ));
    assert!(!matches("- {Key: userIdentity.arn, Condition: Exists}", &e));
}

#[test]
fn key_path_walks_fields_indexes_and_wildcards() {
    let e = event();
    let yes = [
        "- {KeyPath: userIdentity.arn, Condition: StartsWith, Value: 'arn:aws:iam::123456789012:'}",
        "- {KeyPath: userIdentity.sessionContext.attributes.mfaAuthenticated, Condition: Equals, Value: 'false'}",
        "- {KeyPath: 'resources[1].type', Condition: Equals, Value: 'AWS::IAM::Policy'}",
        "- {KeyPath: 'resources[0].ARN', Condition: EndsWith, Value: user/alice}",
        "- {KeyPath: 'resources[2].type', Condition: DoesNotExist}",
        "- {KeyPath: 'tags[1]', Condition: IEquals, Value: team-a}",
        // A wildcard yields every value it reaches: list semantics apply.
        "- {KeyPath: 'resources[*].type', Condition: IsIn, Values: ['AWS::IAM::Policy']}",
        "- {KeyPath: 'resources[*].type', Condition: Contains, Value: Policy}",
        "- {KeyPath: 'resources[*].type', Condition: Exists}",
        "- {KeyPath: 'matrix[*][0]', Condition: IsIn, Values: [3]}",
        "- {KeyPath: 'resources[*].nope', Condition: DoesNotExist}",
    ];
    for yaml in yes {
        assert!(matches(yaml, &e), "{yaml}");
    }
    let no = [
        // The mfa flag is the string "false", not the boolean.
        "- {KeyPath: userIdentity.sessionContext.attributes.mfaAuthenticated, Condition: Equals, Value: false}",
        "- {KeyPath: 'resources[1].type', Condition: Equals, Value: 'AWS::IAM::User'}",
        "- {KeyPath: 'resources[5].type', Condition: Exists}",
        "- {KeyPath: userIdentity.arn.deeper, Condition: Exists}",
        // Other scalar conditions on a wildcard list are false.
        "- {KeyPath: 'resources[*].type', Condition: Equals, Value: 'AWS::IAM::User'}",
        "- {KeyPath: 'resources[*].type', Condition: StartsWith, Value: 'AWS'}",
        "- {KeyPath: 'matrix[*][1]', Condition: IsIn, Values: [1]}",
    ];
    for yaml in no {
        assert!(!matches(yaml, &e), "{yaml}");
    }
}

#[test]
fn deep_key_lists_field_names() {
    let e = event();
    assert!(matches(
        "- DeepKey: [requestParameters, policyArn]\n  Condition: EndsWith\n  Value: AdministratorAccess\n",
        &e
    ));
    assert!(matches(
        "- {DeepKey: [userIdentity, sessionContext, attributes, mfaAuthenticated], Condition: IsIn, Values: ['false']}",
        &e
    ));
    // Each entry is one field name, dots included.
    assert!(matches(
        "- {DeepKey: [dotted.key], Condition: Equals, Value: flat}",
        &e
    ));
    assert!(matches(
        "- {DeepKey: [requestParameters, nope], Condition: IsNull}",
        &e
    ));
    assert!(!matches(
        "- {DeepKey: [requestParameters, nope], Condition: Exists}",
        &e
    ));
}

// ---------------------------------------------------------------------------------------------
// Key/value, key/values, existence, absolute
// ---------------------------------------------------------------------------------------------

#[test]
fn key_value_takes_yaml_scalars_as_json_values() {
    let e = event();
    assert!(matches(
        "- {KeyPath: counts.used, Condition: Equals, Value: 12}",
        &e
    ));
    assert!(matches(
        "- {KeyPath: counts.used, Condition: Equals, Value: 12.0}",
        &e
    ));
    assert!(!matches(
        "- {KeyPath: counts.used, Condition: Equals, Value: '12'}",
        &e
    ));
    assert!(matches(
        "- {KeyPath: counts.used, Condition: IsGreaterThan, Value: '11.5'}",
        &e
    ));
    assert!(!matches(
        "- {KeyPath: counts.used, Condition: IsLessThan, Value: 12}",
        &e
    ));
    assert!(matches(
        "- {KeyPath: counts.used, Condition: IsLessThanOrEqual, Value: 12}",
        &e
    ));
    assert!(matches(
        "- {Key: errorCode, Condition: Equals, Value: null}",
        &e
    ));
    assert!(!matches(
        "- {Key: errorCode, Condition: Equals, Value: ''}",
        &e
    ));
    assert!(matches(
        "- {Key: sourceIPAddress, Condition: IsIPAddressInCIDR, Value: 203.0.113.0/24}",
        &e
    ));
    assert!(matches(
        "- {Key: sourceIPAddress, Condition: IsIPAddressNotInCIDR, Values: [10.0.0.0/8, 192.168.0.0/16]}",
        &e
    ));
    assert!(matches(
        "- {Key: sourceIPAddress, Condition: IsIPAddressPrivate}",
        &e
    ));
    assert!(!matches(
        "- {Key: sourceIPAddress, Condition: IsIPAddressPublic}",
        &e
    ));
    assert!(matches(
        "- {Key: eventSource, Condition: MatchesRegex, Value: '^[a-z0-9]+\\.amazonaws\\.com$'}",
        &e
    ));
}

#[test]
fn key_values_is_in_and_is_not_in() {
    let e = event();
    let is_in =
        "- Key: awsRegion\n  Condition: IsIn\n  Values:\n    - eu-west-1\n    - us-east-1\n";
    assert!(matches(is_in, &e));
    assert!(!matches(&is_in.replace("IsIn", "IsNotIn"), &e));
    assert!(!matches(
        "- {Key: awsRegion, Condition: IsIn, Values: [US-EAST-1, eu-west-1]}",
        &e
    ));
    assert!(matches(
        "- {Key: awsRegion, Condition: IsNotIn, Values: [US-EAST-1, eu-west-1]}",
        &e
    ));
    // A missing key is in nothing: IsIn false, IsNotIn true.
    assert!(!matches("- {Key: nope, Condition: IsIn, Values: [a]}", &e));
    assert!(matches(
        "- {Key: nope, Condition: IsNotIn, Values: [a]}",
        &e
    ));
    // A list field is in Values when any element is.
    assert!(matches(
        "- {Key: tags, Condition: IsIn, Values: [pci, sox]}",
        &e
    ));
    assert!(!matches(
        "- {Key: tags, Condition: IsIn, Values: [PCI, sox]}",
        &e
    ));
}

#[test]
fn existence_and_null_checks() {
    let e = event();
    // errorCode is present with a null value.
    assert!(matches("- {Key: errorCode, Condition: Exists}", &e));
    assert!(!matches("- {Key: errorCode, Condition: DoesNotExist}", &e));
    assert!(matches("- {Key: errorCode, Condition: IsNull}", &e));
    assert!(!matches("- {Key: errorCode, Condition: IsNotNull}", &e));
    assert!(matches(
        "- {Key: errorMessage, Condition: DoesNotExist}",
        &e
    ));
    assert!(matches("- {Key: errorMessage, Condition: IsNull}", &e));
    assert!(matches("- {Key: emptyList, Condition: IsNullOrEmpty}", &e));
    assert!(matches("- {Key: emptyList, Condition: Exists}", &e));
    assert!(matches("- {Key: tags, Condition: IsNotNullOrEmpty}", &e));
    assert!(!matches("- {Key: tags, Condition: IsNullOrEmpty}", &e));
}

#[test]
fn always_true_and_always_false() {
    for event in [event(), json!({}), Value::Null, json!([1])] {
        assert!(matches("- Condition: AlwaysTrue\n", &event));
        assert!(!matches("- Condition: AlwaysFalse\n", &event));
        assert!(!matches(
            "- {Condition: AlwaysTrue}\n- {Condition: AlwaysFalse}\n",
            &event
        ));
    }
}

#[test]
fn a_list_is_an_implicit_all() {
    let e = event();
    let both = "
- Key: eventSource
  Condition: Equals
  Value: iam.amazonaws.com
- Key: eventName
  Condition: StartsWith
  Value: Attach
";
    assert!(matches(both, &e));
    assert!(!matches(&both.replace("Attach", "Detach"), &e));
    assert!(!matches(
        &both.replace("iam.amazonaws.com", "s3.amazonaws.com"),
        &e
    ));
    // The empty Detection list is vacuously true.
    assert!(matches("[]", &e));
}

// ---------------------------------------------------------------------------------------------
// Multi-key
// ---------------------------------------------------------------------------------------------

#[test]
fn multi_key_equality() {
    let e = event();
    let same = "
- Condition: Equals
  Values:
    - KeyPath: userIdentity.arn
    - KeyPath: resources[0].ARN
";
    assert!(matches(same, &e));
    assert!(!matches(&same.replace("Equals", "DoesNotEqual"), &e));
    let different = same.replace("resources[0]", "resources[1]");
    assert!(!matches(&different, &e));
    assert!(matches(&different.replace("Equals", "DoesNotEqual"), &e));
    // Key and DeepKey specifiers work too.
    assert!(matches(
        "- {Condition: IEquals, Values: [{Key: eventName}, {Key: eventName}]}",
        &e
    ));
    assert!(matches(
        "- {Condition: EndsWith, Values: [{KeyPath: userIdentity.arn}, {DeepKey: [requestParameters, userName]}]}",
        &e
    ));
    // A missing side: the positive form is false, the negated form true.
    assert!(!matches(
        "- {Condition: Equals, Values: [{Key: nope}, {Key: nope}]}",
        &e
    ));
    assert!(matches(
        "- {Condition: DoesNotEqual, Values: [{Key: eventName}, {Key: nope}]}",
        &e
    ));
}

#[test]
fn multi_key_ordering() {
    let e = event();
    let gt = |a: &str, b: &str, cond: &str| {
        matches(
            &format!("- {{Condition: {cond}, Values: [{{KeyPath: {a}}}, {{KeyPath: {b}}}]}}"),
            &e,
        )
    };
    assert!(gt("counts.used", "counts.limit", "IsGreaterThan"));
    assert!(!gt("counts.limit", "counts.used", "IsGreaterThan"));
    assert!(gt("counts.limit", "counts.used", "IsLessThan"));
    assert!(!gt("counts.same", "counts.limit", "IsGreaterThan"));
    assert!(gt("counts.same", "counts.limit", "IsGreaterThanOrEqual"));
    assert!(gt("counts.same", "counts.limit", "IsLessThanOrEquals"));
    // Both sides must be numeric.
    assert!(!gt("counts.used", "counts.text", "IsGreaterThan"));
    assert!(!gt("counts.text", "counts.used", "IsLessThan"));
    assert!(!gt("counts.used", "counts.nope", "IsGreaterThan"));
}

#[test]
fn multi_key_errors() {
    assert_error(
        "- Condition: Equals\n  Values: [{Key: a}, {Key: b}, {Key: c}]\n",
        1,
        3,
        &["multi-key Equals compares exactly two keys"],
    );
    assert_error(
        "- Condition: MatchesRegex\n  Values: [{Key: a}, {Key: b}]\n",
        1,
        3,
        &["MatchesRegex cannot compare two keys"],
    );
    assert_error(
        "- Condition: Equals\n  Values: [{Key: a, KeyPath: b}, {Key: c}]\n",
        1,
        3,
        &["is not a key specifier"],
    );
    assert_error(
        "- Condition: Equals\n  Values: [{KeyPath: 'a..b'}, {Key: c}]\n",
        1,
        3,
        &["empty field name"],
    );
}

// ---------------------------------------------------------------------------------------------
// List comprehension
// ---------------------------------------------------------------------------------------------

fn comprehension(key: &str, quantifier: &str, body: &str) -> String {
    format!("- Key: {key}\n  Condition: {quantifier}\n  Expressions:\n{body}")
}

const TYPE_IS_POLICY: &str =
    "    - Key: type\n      Condition: Equals\n      Value: AWS::IAM::Policy\n";
const TYPE_IS_BUCKET: &str =
    "    - Key: type\n      Condition: Equals\n      Value: AWS::S3::Bucket\n";
const ARN_IS_IAM: &str =
    "    - Key: ARN\n      Condition: StartsWith\n      Value: 'arn:aws:iam::'\n";

#[test]
fn any_element() {
    let e = event();
    assert!(matches(
        &comprehension("resources", "AnyElement", TYPE_IS_POLICY),
        &e
    ));
    assert!(!matches(
        &comprehension("resources", "AnyElement", TYPE_IS_BUCKET),
        &e
    ));
    assert!(!matches(
        &comprehension("emptyList", "AnyElement", TYPE_IS_POLICY),
        &e
    ));
    assert!(!matches(
        &comprehension("nope", "AnyElement", TYPE_IS_POLICY),
        &e
    ));
    // Several Expressions are an implicit All on the same element.
    let user_alice = "    - {Key: type, Condition: Equals, Value: 'AWS::IAM::User'}\n    - {Key: ARN, Condition: EndsWith, Value: alice}\n";
    let policy_alice = "    - {Key: type, Condition: Equals, Value: 'AWS::IAM::Policy'}\n    - {Key: ARN, Condition: EndsWith, Value: alice}\n";
    assert!(matches(
        &comprehension("resources", "AnyElement", user_alice),
        &e
    ));
    assert!(!matches(
        &comprehension("resources", "AnyElement", policy_alice),
        &e
    ));
}

#[test]
fn all_elements() {
    let e = event();
    assert!(matches(
        &comprehension("resources", "AllElements", ARN_IS_IAM),
        &e
    ));
    assert!(!matches(
        &comprehension("resources", "AllElements", TYPE_IS_POLICY),
        &e
    ));
    // Vacuously true on an empty list, false on a missing key or a non-list.
    assert!(matches(
        &comprehension("emptyList", "AllElements", TYPE_IS_BUCKET),
        &e
    ));
    assert!(!matches(
        &comprehension("nope", "AllElements", TYPE_IS_BUCKET),
        &e
    ));
    assert!(!matches(
        &comprehension("eventName", "AllElements", TYPE_IS_BUCKET),
        &e
    ));
}

#[test]
fn only_one_element() {
    let e = event();
    assert!(matches(
        &comprehension("resources", "OnlyOneElement", TYPE_IS_POLICY),
        &e
    ));
    assert!(!matches(
        &comprehension("resources", "OnlyOneElement", ARN_IS_IAM),
        &e
    ));
    assert!(!matches(
        &comprehension("resources", "OnlyOneElement", TYPE_IS_BUCKET),
        &e
    ));
    assert!(!matches(
        &comprehension("emptyList", "OnlyOneElement", TYPE_IS_BUCKET),
        &e
    ));
    assert!(!matches(
        &comprehension("nope", "OnlyOneElement", TYPE_IS_BUCKET),
        &e
    ));
}

#[test]
fn no_element() {
    let e = event();
    assert!(matches(
        &comprehension("resources", "NoElement", TYPE_IS_BUCKET),
        &e
    ));
    assert!(!matches(
        &comprehension("resources", "NoElement", TYPE_IS_POLICY),
        &e
    ));
    // The exact negation of AnyElement: true on an empty list, a missing key, a non-list.
    assert!(matches(
        &comprehension("emptyList", "NoElement", TYPE_IS_POLICY),
        &e
    ));
    assert!(matches(
        &comprehension("nope", "NoElement", TYPE_IS_POLICY),
        &e
    ));
    assert!(matches(
        &comprehension("eventName", "NoElement", TYPE_IS_POLICY),
        &e
    ));
}

#[test]
fn key_less_conditions_test_the_element_itself() {
    let e = event();
    let over_tags = |quantifier: &str, condition: &str, value: &str| {
        matches(
            &format!("- Key: tags\n  Condition: {quantifier}\n  Expressions:\n    - Condition: {condition}\n      Value: {value}\n"),
            &e,
        )
    };
    assert!(over_tags("AnyElement", "IStartsWith", "PROD"));
    assert!(!over_tags("AnyElement", "StartsWith", "PROD"));
    assert!(over_tags("AnyElement", "IEquals", "team-a"));
    assert!(over_tags("NoElement", "Equals", "team-a"));
    assert!(over_tags("OnlyOneElement", "IContains", "pc"));
    assert!(!over_tags("OnlyOneElement", "Contains", "'-'"));
    assert!(over_tags("AllElements", "MatchesRegex", "'^[A-Za-z-]+$'"));
    assert!(!over_tags("AllElements", "IContains", "a"));
    assert!(matches(
        "- Key: tags\n  Condition: AllElements\n  Expressions:\n    - Condition: IsNotNullOrEmpty\n",
        &e
    ));
    // Over a wildcard path the elements are the values it reached.
    assert!(matches(
        "- KeyPath: resources[*].type\n  Condition: AllElements\n  Expressions:\n    - {Condition: StartsWith, Value: 'AWS::IAM::'}\n",
        &e
    ));
    assert!(matches(
        "- KeyPath: resources[*].type\n  Condition: OnlyOneElement\n  Expressions:\n    - {Condition: EndsWith, Value: User}\n",
        &e
    ));
    // Elements that are lists themselves get list semantics.
    assert!(matches(
        "- Key: matrix\n  Condition: OnlyOneElement\n  Expressions:\n    - {Condition: IsIn, Values: [3]}\n",
        &e
    ));
    assert!(matches(
        "- Key: matrix\n  Condition: AnyElement\n  Expressions:\n    - {Condition: Contains, Value: 2}\n",
        &e
    ));
}

#[test]
fn comprehensions_nest() {
    let e = json!({"groups": [
        {"name": "a", "members": [{"role": "reader"}, {"role": "admin"}]},
        {"name": "b", "members": [{"role": "reader"}]}
    ]});
    let yaml = "
- Key: groups
  Condition: OnlyOneElement
  Expressions:
    - Key: members
      Condition: AnyElement
      Expressions:
        - Key: role
          Condition: Equals
          Value: admin
";
    assert!(matches(yaml, &e));
    assert!(!matches(&yaml.replace("OnlyOneElement", "AllElements"), &e));
    assert!(matches(
        &yaml
            .replace("admin", "reader")
            .replace("OnlyOneElement", "AllElements"),
        &e
    ));
}

// ---------------------------------------------------------------------------------------------
// Combinators
// ---------------------------------------------------------------------------------------------

const T: &str = "{Key: eventName, Condition: Equals, Value: AttachUserPolicy}";
const F: &str = "{Key: eventName, Condition: Equals, Value: DetachUserPolicy}";

fn combinator(name: &str, children: &[&str]) -> bool {
    matches(&format!("- {name}: [{}]", children.join(", ")), &event())
}

#[test]
fn combinators_count_their_matching_children() {
    let cases: [(&[&str], [bool; 4]); 6] = [
        // children            All    Any    OnlyOne None
        (&[T], [true, true, true, false]),
        (&[F], [false, false, false, true]),
        (&[T, T], [true, true, false, false]),
        (&[T, F], [false, true, true, false]),
        (&[F, F], [false, false, false, true]),
        (&[F, T, T], [false, true, false, false]),
    ];
    for (children, [all, any, only_one, none]) in cases {
        assert_eq!(combinator("All", children), all, "All {children:?}");
        assert_eq!(combinator("Any", children), any, "Any {children:?}");
        assert_eq!(
            combinator("OnlyOne", children),
            only_one,
            "OnlyOne {children:?}"
        );
        assert_eq!(combinator("None", children), none, "None {children:?}");
    }
}

#[test]
fn combinators_nest() {
    let e = event();
    let yaml = "
- Any:
    - All:
        - Key: eventSource
          Condition: Equals
          Value: s3.amazonaws.com
        - Key: eventName
          Condition: Equals
          Value: PutBucketPolicy
    - All:
        - Key: eventSource
          Condition: Equals
          Value: iam.amazonaws.com
        - None:
            - KeyPath: userIdentity.type
              Condition: Equals
              Value: AWSService
            - Key: errorCode
              Condition: IsNotNull
- OnlyOne:
    - Key: awsRegion
      Condition: Equals
      Value: us-east-1
    - Key: awsRegion
      Condition: Equals
      Value: eu-west-1
";
    assert!(matches(yaml, &e));
    assert!(!matches(
        &yaml.replace("Value: AWSService", "Value: IAMUser"),
        &e
    ));
    assert!(!matches(&yaml.replace("eu-west-1", "us-east-1"), &e));
}

// ---------------------------------------------------------------------------------------------
// Errors, with the position of the expression that holds the mistake
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_key_in_an_expression() {
    let yaml = "
- Key: eventName
  Condition: Equals
  Value: x
- Key: eventSource
  Condition: Equals
  Vaule: iam.amazonaws.com
";
    assert_error(
        yaml,
        5,
        3,
        &[
            "unknown field `Vaule`",
            "expected one of",
            "`Value`",
            "`Values`",
        ],
    );
}

#[test]
fn unknown_condition() {
    // Located at the name itself (line 3), not at the mapping it sits in (line 2).
    let yaml = "- Any:\n    - Key: a\n      Condition: Equal\n      Value: x\n";
    assert_error(
        yaml,
        3,
        18,
        &[
            "unknown Condition `Equal`",
            "valid conditions:",
            "Equals",
            "AnyElement",
            "AlwaysFalse",
        ],
    );
    // Condition names are case-sensitive.
    assert_error(
        "- {Key: a, Condition: equals, Value: x}",
        1,
        23,
        &["unknown Condition `equals`"],
    );
}

#[test]
fn is_in_needs_values() {
    let yaml = "- Key: eventName\n  Condition: Equals\n  Value: a\n- Key: awsRegion\n  Condition: IsIn\n  Value: us-east-1\n";
    assert_error(yaml, 4, 3, &["IsIn needs `Values:` (a list), not `Value:`"]);
    assert_error(
        "- {Key: r, Condition: IsNotIn, Value: x}",
        1,
        3,
        &["IsNotIn needs `Values:`"],
    );
    assert_error("- {Key: r, Condition: IsIn}", 1, 3, &["IsIn needs"]);
    assert_error(
        "- {Key: r, Condition: IsIn, Values: []}",
        1,
        3,
        &["IsIn needs at least one value"],
    );
}

#[test]
fn two_combinators_in_one_mapping() {
    let yaml = "- All:\n    - Condition: AlwaysTrue\n  Any:\n    - Condition: AlwaysTrue\n";
    assert_error(
        yaml,
        1,
        3,
        &["`All` and `Any` cannot share one expression; nest them"],
    );
    assert_error(
        "- {None: [{Condition: AlwaysTrue}], OnlyOne: [{Condition: AlwaysTrue}]}",
        1,
        3,
        &["`None` and `OnlyOne` cannot share"],
    );
}

#[test]
fn combinator_with_a_key_or_condition() {
    assert_error(
        "- {Key: a, Any: [{Condition: AlwaysTrue}]}",
        1,
        3,
        &["`Any` combines expressions; it cannot also have a key, Condition"],
    );
    assert_error(
        "- {Condition: Equals, All: [{Condition: AlwaysTrue}]}",
        1,
        3,
        &["`All` combines expressions"],
    );
}

#[test]
fn key_and_key_path_together() {
    let yaml = "-   Key: a\n    KeyPath: b\n    Condition: Exists\n";
    assert_error(yaml, 1, 5, &["use only one of Key, KeyPath and DeepKey"]);
    assert_error(
        "- {KeyPath: a, DeepKey: [a], Condition: Exists}",
        1,
        3,
        &["use only one of Key, KeyPath and DeepKey"],
    );
}

#[test]
fn expressions_on_a_non_list_condition() {
    let yaml =
        "\n\n- Key: a\n  Condition: Equals\n  Value: 1\n  Expressions:\n    - Condition: Exists\n";
    assert_error(
        yaml,
        3,
        3,
        &["Expressions belongs to AnyElement/AllElements/OnlyOneElement/NoElement, not Equals"],
    );
}

#[test]
fn empty_combinators() {
    for name in ["All", "Any", "OnlyOne", "None"] {
        assert_error(
            &format!("- Key: a\n  Condition: Exists\n- {name}: []\n"),
            3,
            3,
            &[&format!("`{name}` needs at least one expression")],
        );
    }
}

#[test]
fn list_comprehension_errors() {
    assert_error(
        "- {Key: a, Condition: AnyElement}",
        1,
        3,
        &["AnyElement needs a non-empty Expressions list"],
    );
    assert_error(
        "- {Key: a, Condition: NoElement, Expressions: []}",
        1,
        3,
        &["NoElement needs a non-empty Expressions list"],
    );
    assert_error(
        "- {Condition: AllElements, Expressions: [{Condition: AlwaysTrue}]}",
        1,
        3,
        &["AllElements needs a Key, KeyPath or DeepKey"],
    );
    // A mistake inside Expressions points at the inner expression's condition name.
    let yaml = "
- Key: resources
  Condition: AnyElement
  Expressions:
    - Key: type
      Condition: Equals
      Value: x
    - Key: ARN
      Condition: StartsWit
      Value: arn
";
    assert_error(yaml, 9, 18, &["unknown Condition `StartsWit`"]);
}

#[test]
fn other_malformed_expressions() {
    assert_error(
        "- {Key: a, Value: 1}",
        1,
        3,
        &["an expression needs a Condition"],
    );
    assert_error(
        "- {Key: a, Condition: Equals}",
        1,
        3,
        &["Equals needs a Value"],
    );
    assert_error(
        "- {Key: a, Condition: Equals, Value: 1, Values: [1]}",
        1,
        3,
        &["use Value or Values, not both"],
    );
    assert_error(
        "- {Key: a, Condition: Equals, Values: [1, 2]}",
        1,
        3,
        &["Equals takes one `Value:`"],
    );
    assert_error(
        "- {Key: a, Condition: Exists, Value: 1}",
        1,
        3,
        &["Exists takes no Value"],
    );
    assert_error(
        "- {Key: a, Condition: AlwaysTrue}",
        1,
        3,
        &["AlwaysTrue takes no key, value or Expressions"],
    );
    assert_error(
        "- {Key: a, Condition: IsGreaterThan, Value: ten}",
        1,
        3,
        &["IsGreaterThan needs a numeric Value"],
    );
    assert_error(
        "- {Key: a, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/40}",
        1,
        3,
        &["is not a CIDR range"],
    );
    assert_error(
        "- {Key: a, Condition: MatchesRegex, Value: '(x'}",
        1,
        3,
        &["invalid regular expression"],
    );
    assert_error(
        "- {KeyPath: 'a[x]', Condition: Exists}",
        1,
        3,
        &["neither an index nor `*`"],
    );
    assert_error(
        "- {DeepKey: [], Condition: Exists}",
        1,
        3,
        &["DeepKey needs at least one key"],
    );
    // Not a mapping at all.
    let err = serde_yaml::from_str::<Vec<Expr>>("- just a string\n").unwrap_err();
    assert!(err.to_string().contains("a match expression"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// What the rule index reads
// ---------------------------------------------------------------------------------------------

#[test]
fn paths_and_pinned_fields() {
    let expr = parse(
        "
- {Key: eventSource, Condition: Equals, Value: iam.amazonaws.com}
- {Key: eventName, Condition: IsIn, Values: [AttachUserPolicy, PutUserPolicy]}
- {Condition: Equals, Values: [{KeyPath: a.b}, {Key: c}]}
- {Key: resources, Condition: AnyElement, Expressions: [{Key: type, Condition: Exists}]}
- Any:
    - {Key: awsRegion, Condition: Equals, Value: us-east-1}
",
    );
    let mut paths = Vec::new();
    expr.for_each_path(&mut |p| paths.push(p.to_string()));
    assert_eq!(
        paths,
        [
            "eventSource",
            "eventName",
            "a.b",
            "c",
            "resources",
            "awsRegion"
        ]
    );
    assert_eq!(expr.pinned("eventSource"), Some(vec!["iam.amazonaws.com"]));
    assert_eq!(
        expr.pinned("eventName"),
        Some(vec!["AttachUserPolicy", "PutUserPolicy"])
    );
    // Inside Any, a field is not pinned.
    assert_eq!(expr.pinned("awsRegion"), None);
    assert_eq!(expr.pinned("nope"), None);
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(
            &["", "a", "A", "ab", "ÄRGER", "ärger", "10.0.0.1", "8.8.8.8", "1"][..]
        )
        .prop_map(Value::from),
    ]
}

/// A list element: a scalar, an object that may hold `v`, or a small list.
fn element() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => leaf(),
        3 => btree_map(prop::sample::select(&["v", "w"][..]), leaf(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        1 => pvec(leaf(), 0..3).prop_map(Value::Array),
    ]
}

/// The value of the `xs` field; `None` leaves it out of the event.
fn xs() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        1 => leaf().prop_map(Some),
        4 => pvec(element(), 0..5).prop_map(|v| Some(Value::Array(v))),
    ]
}

/// Bodies for a comprehension, in YAML flow style; each is tested on one element.
const BODIES: &[&str] = &[
    "{Condition: IContains, Value: a}",
    "{Condition: Equals, Value: 1}",
    "{Condition: IsNull}",
    "{Condition: IsNotNullOrEmpty}",
    "{Condition: IsIPAddressPrivate}",
    "{Key: v, Condition: Exists}",
    "{Key: v, Condition: IEquals, Value: ärger}",
    "{Key: v, Condition: IsIn, Values: [1, a, null]}",
    "{Condition: Contains, Value: ab}",
];

const PATHS: &[&str] = &[
    "Key: xs",
    "KeyPath: 'xs[*]'",
    "KeyPath: 'xs[*].v'",
    "Key: nope",
];

/// A combinator tree over leaves with a known answer on `event()`.
#[derive(Debug, Clone)]
enum Tree {
    Leaf(usize),
    Node(&'static str, Vec<Tree>),
}

const LEAVES: &[(&str, bool)] = &[
    ("{Condition: AlwaysTrue}", true),
    ("{Condition: AlwaysFalse}", false),
    (
        "{Key: eventName, Condition: Equals, Value: AttachUserPolicy}",
        true,
    ),
    (
        "{Key: eventName, Condition: Equals, Value: attachuserpolicy}",
        false,
    ),
    (
        "{KeyPath: userIdentity.type, Condition: IEquals, Value: iamuser}",
        true,
    ),
    ("{Key: nope, Condition: DoesNotExist}", true),
    ("{Key: nope, Condition: Exists}", false),
    (
        "{Key: resources, Condition: NoElement, Expressions: [{Key: type, Condition: Exists}]}",
        false,
    ),
];

impl Tree {
    fn yaml(&self) -> String {
        match self {
            Tree::Leaf(i) => LEAVES[*i].0.to_string(),
            Tree::Node(name, children) => {
                let inner: Vec<String> = children.iter().map(Tree::yaml).collect();
                format!("{{{name}: [{}]}}", inner.join(", "))
            }
        }
    }

    fn expected(&self) -> bool {
        match self {
            Tree::Leaf(i) => LEAVES[*i].1,
            Tree::Node(name, children) => {
                let hits = children.iter().filter(|c| c.expected()).count();
                match *name {
                    "All" => hits == children.len(),
                    "Any" => hits > 0,
                    "OnlyOne" => hits == 1,
                    "None" => hits == 0,
                    other => unreachable!("{other}"),
                }
            }
        }
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    (0..LEAVES.len())
        .prop_map(Tree::Leaf)
        .prop_recursive(3, 24, 4, |inner| {
            (
                prop::sample::select(&["All", "Any", "OnlyOne", "None"][..]),
                pvec(inner, 1..4),
            )
                .prop_map(|(name, children)| Tree::Node(name, children))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Each quantifier agrees with counting the elements its body matches; in particular
    /// NoElement is exactly the negation of AnyElement (also on a missing key or a non-list).
    #[test]
    fn quantifiers_count_matching_elements(
        xs in xs(),
        body in prop::sample::select(BODIES),
        path in prop::sample::select(PATHS),
    ) {
        let mut event = json!({"other": 1});
        if let Some(xs) = xs {
            event["xs"] = xs;
        }
        let quantified = |q: &str| {
            let yaml = format!("- {{{path}, Condition: {q}, Expressions: [{body}]}}");
            matches(&yaml, &event)
        };
        let (any, all, only, no) = (
            quantified("AnyElement"),
            quantified("AllElements"),
            quantified("OnlyOneElement"),
            quantified("NoElement"),
        );
        prop_assert_eq!(no, !any, "NoElement vs AnyElement, {} {} on {}", path, body, event);

        // The model: the elements the path reaches, each tested with the body on its own.
        let key_path = match path.strip_prefix("Key: ") {
            Some(key) => KeyPath::key(key),
            None => KeyPath::parse(path["KeyPath: ".len()..].trim_matches('\'')).unwrap(),
        };
        let elements: Option<Vec<&Value>> = match key_path.find(&event) {
            Found::One(Value::Array(items)) => Some(items.iter().collect()),
            Found::Many(items) => Some(items),
            _ => None,
        };
        let single = parse(&format!("- {body}"));
        match elements {
            Some(items) => {
                let hits = items.iter().filter(|v| single.matches(v)).count();
                prop_assert_eq!(any, hits > 0);
                prop_assert_eq!(all, hits == items.len());
                prop_assert_eq!(only, hits == 1);
            }
            None => prop_assert!(!any && !all && !only && no),
        }
    }

    /// Combinator trees evaluate like their definitions, at any nesting depth.
    #[test]
    fn combinator_trees_follow_their_definitions(t in tree()) {
        let yaml = format!("- {}", t.yaml());
        prop_assert_eq!(matches(&yaml, &event()), t.expected(), "{}", yaml);
        // `None` is the negation of `Any` over the same children.
        if let Tree::Node(_, children) = &t {
            let inner: Vec<String> = children.iter().map(Tree::yaml).collect();
            let any = matches(&format!("- {{Any: [{}]}}", inner.join(", ")), &event());
            let none = matches(&format!("- {{None: [{}]}}", inner.join(", ")), &event());
            prop_assert_eq!(none, !any);
        }
    }
}

#[test]
fn combinators_and_absolutes_reject_stray_operands() {
    assert_error(
        "- {Any: [{Condition: AlwaysTrue}], Values: [1]}",
        1,
        3,
        &["`Any` combines expressions; it cannot also have"],
    );
    assert_error(
        "- {Condition: AlwaysFalse, Expressions: [{Condition: AlwaysTrue}]}",
        1,
        3,
        &["AlwaysFalse takes no key, value or Expressions"],
    );
}
