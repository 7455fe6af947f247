use super::*;
use crate::sigma::value::RawValue;
use serde_json::json;

fn item(key: &str, values: &[RawValue]) -> Result<Item, String> {
    item_with(key, values, &Placeholders::new())
}

fn item_with(key: &str, values: &[RawValue], placeholders: &Placeholders) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().filter(|f| !f.is_empty());
    let mods: Vec<&str> = parts.collect();
    build_item(key, field, &mods, values, placeholders)
}

fn s(v: &str) -> RawValue {
    RawValue::Str(v.into())
}

fn check(key: &str, values: &[RawValue], event: serde_json::Value) -> bool {
    item(key, values).unwrap().matches(&event)
}

#[test]
fn string_modifiers() {
    let e = json!({"ua": "aws-cli/2.15.0 Python/3.11"});
    assert!(check("ua|contains", &[s("PYTHON")], e.clone()));
    assert!(check("ua|startswith", &[s("AWS-cli/")], e.clone()));
    assert!(check("ua|endswith", &[s("/3.11")], e.clone()));
    assert!(!check("ua|endswith", &[s("aws")], e.clone()));
    assert!(check(
        "ua|contains|all",
        &[s("cli"), s("python")],
        e.clone()
    ));
    assert!(!check("ua|contains|all", &[s("cli"), s("boto")], e.clone()));
    assert!(!check("ua|cased|contains", &[s("PYTHON")], e.clone()));
    assert!(check("ua|contains|cased", &[s("Python")], e));
}

#[test]
fn encodings() {
    let script = "#!/bin/bash\ncurl http://169.254.169.254/ | sh";
    let encoded = crate::sigma::encoding::base64(script.as_bytes());
    let e = json!({"d": encoded, "p": crate::sigma::encoding::base64(&"IEX Invoke-Mimikatz".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>())});
    assert!(check(
        "d|base64offset|contains",
        &[s("curl http://169.254")],
        e.clone()
    ));
    assert!(check("d|base64offset|contains", &[s("bash")], e.clone()));
    assert!(!check("d|base64offset|contains", &[s("wget")], e.clone()));
    assert!(check(
        "p|utf16le|base64offset|contains",
        &[s("Invoke-Mimikatz")],
        e.clone()
    ));
    assert!(check(
        "p|wide|base64offset|contains",
        &[s("Mimikatz")],
        e.clone()
    ));
    assert!(!check("p|utf16be|base64offset|contains", &[s("IEX")], e));
    let whole = json!({"d": crate::sigma::encoding::base64(b"hello world")});
    assert!(check("d|base64", &[s("hello world")], whole.clone()));
    let lower = json!({"d": "agvsbg8gd29ybgq="});
    assert!(
        !check("d|base64", &[s("hello world")], lower),
        "base64 is case-sensitive"
    );
    let bom = json!({"d": crate::sigma::encoding::base64(&[0xFF, 0xFE, b'x', 0])});
    assert!(check("d|utf16|base64", &[s("x")], bom));
    // UTF-16 of non-ASCII text is encoded properly (pySigma only takes ASCII).
    let e = json!({"d": crate::sigma::encoding::base64(&"Grüße".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>())});
    assert!(check("d|utf16le|base64", &[s("Grüße")], e));
}

#[test]
fn base64offset_variants_match_pysigma() {
    let item = item("f|base64offset|contains", &[s("hello")]).unwrap();
    let shown: Vec<&str> = item.values[0]
        .iter()
        .map(|t| match t {
            Test::Text(p) => p.operator(),
            _ => "",
        })
        .collect();
    assert_eq!(shown, ["contains"; 3]);
    // pySigma: aGVsbG, hlbGxv, oZWxsb
    for (fragment, hay) in [
        ("aGVsbG", "xxaGVsbGyy"),
        ("hlbGxv", "hlbGxv"),
        ("oZWxsb", "QoZWxsbQ"),
    ] {
        assert!(item.matches(&json!({ "f": hay })), "{fragment}");
    }
}

#[test]
fn typed_modifiers() {
    let e = json!({"ip": "10.1.2.3", "n": 43200, "t": "50000", "arn": "arn:aws:sts::1:assumed-role/aws:ec2/i-1"});
    assert!(check(
        "ip|cidr",
        &[s("10.0.0.0/8"), s("192.168.0.0/16")],
        e.clone()
    ));
    assert!(!check("ip|cidr", &[s("192.168.0.0/16")], e.clone()));
    assert!(check("n|gte", &[RawValue::Num(43200.into())], e.clone()));
    assert!(!check("n|gt", &[RawValue::Num(43200.into())], e.clone()));
    assert!(check("t|gt", &[RawValue::Num(43200.into())], e.clone()));
    assert!(check("n|lt", &[RawValue::Num(100000.into())], e.clone()));
    assert!(check("n|lte", &[RawValue::Num(43200.into())], e.clone()));
    assert!(check("arn|re", &[s(".+:assumed-role/aws:.+")], e.clone()));
    assert!(!check("arn|re", &[s("ASSUMED")], e.clone()));
    assert!(check("arn|re|i", &[s("ASSUMED")], e.clone()));
    assert!(check("missing|exists", &[RawValue::Bool(false)], e.clone()));
    assert!(check("n|exists", &[RawValue::Bool(true)], e.clone()));
    assert!(check("n|neq", &[RawValue::Num(1.into())], e.clone()));
    assert!(check("missing|neq", &[s("x")], e.clone()));
    assert!(!check(
        "n|neq",
        &[RawValue::Num(1.into()), RawValue::Num(43200.into())],
        e
    ));
}

#[test]
fn regex_flags() {
    let e = json!({"u": "#!/bin/bash\ncurl x"});
    assert!(!check("u|re", &[s("^curl")], e.clone()));
    assert!(check("u|re|m", &[s("^curl")], e.clone()));
    assert!(check("u|re|multiline", &[s("^curl")], e.clone()));
    assert!(!check("u|re", &[s("bash.curl")], e.clone()));
    assert!(check("u|re|s", &[s("bash.curl")], e.clone()));
    assert!(check("u|re|dotall|ignorecase", &[s("BASH.CURL")], e));
}

#[test]
fn field_references() {
    let e = json!({"a": "arn:aws:iam::1:user/Alice", "b": "alice", "c": "ALICE", "n": null});
    assert!(check("b|fieldref", &[s("c")], e.clone()));
    assert!(!check("b|fieldref|cased", &[s("c")], e.clone()));
    assert!(check("a|fieldref|endswith", &[s("b")], e.clone()));
    assert!(check("a|fieldref|contains", &[s("c")], e.clone()));
    assert!(!check("a|fieldref|startswith", &[s("b")], e.clone()));
    assert!(!check("b|fieldref", &[s("missing")], e.clone()));
    assert!(!check("n|fieldref", &[s("missing")], e.clone()));
    assert!(check("b|fieldref|neq", &[s("a")], e));
}

#[test]
fn expand_resolves_placeholders() {
    let mut p = Placeholders::new();
    p.insert("admins".into(), vec!["root-admin".into(), "ops-*".into()]);
    let it = item_with("u|expand", &[s("%admins%")], &p).unwrap();
    assert!(it.matches(&json!({"u": "ops-jane"})));
    assert!(it.matches(&json!({"u": "ROOT-ADMIN"})));
    assert!(!it.matches(&json!({"u": "dev"})));
    let err = item("u|expand", &[s("%admins%")]).unwrap_err();
    assert!(
        err.contains("placeholder %admins% cannot be resolved"),
        "{err}"
    );
    // Without `expand`, percent signs are text.
    assert!(check("u", &[s("%admins%")], json!({"u": "%ADMINS%"})));
}

#[test]
fn keywords() {
    let e =
        json!({"a": {"b": ["x", "TruffleHog v3"]}, "n": 4624, "p_any_ip_addresses": ["1.2.3.4"]});
    let kw = |values: &[RawValue]| build_item("", None, &[], values, &Placeholders::new()).unwrap();
    assert!(kw(&[s("trufflehog")]).matches(&e));
    assert!(kw(&[RawValue::Num(462.into())]).matches(&e));
    assert!(
        !kw(&[s("1.2.3.4")]).matches(&e),
        "p_ fields are not searched"
    );
    let all = build_item(
        "|all",
        None,
        &["all"],
        &[s("x"), s("v3")],
        &Placeholders::new(),
    )
    .unwrap();
    assert!(all.matches(&e));
    assert!(build_item(
        "|startswith",
        None,
        &["startswith"],
        &[s("x")],
        &Placeholders::new()
    )
    .is_err());
}

#[test]
fn misuse_is_reported() {
    let err = |key: &str, values: &[RawValue]| item(key, values).unwrap_err();
    assert!(
        err("f|foo", &[s("x")]).starts_with("unknown modifier `foo`; valid modifiers: contains")
    );
    assert!(err("f|hour", &[RawValue::Num(1.into())]).contains("not supported"));
    assert!(err("f|contains|re", &[s("x")]).contains("`re` must come first"));
    assert!(err("f|i", &[s("x")]).contains("after `re`"));
    assert!(err("f|cidr", &[s("10.0.0.0/33")]).contains("not a CIDR range"));
    assert!(err("f|gt", &[s("5")]).contains("applies to a number"));
    assert!(err("f|exists", &[s("yes")]).contains("true or false"));
    assert!(err("f|all", &[s("x")]).contains("at least two values"));
    assert!(err("f|base64", &[s("a*")]).contains("cannot encode wildcards"));
    assert!(err("f|fieldref", &[s("a*")]).contains("cannot contain wildcards"));
    assert!(err("f|re", &[s("(unclosed")]).contains("invalid regular expression"));
    assert!(err("f|contains", &[RawValue::Null]).contains("cannot apply to null"));
    assert!(err("f|utf16le", &[s("é")]).contains("not text"));
    assert!(item("f", &[]).is_err());
}

#[test]
fn values_and_nulls() {
    let e = json!({"t": true, "n": 50, "s": "", "z": null, "l": [1, null]});
    assert!(check("t", &[s("TRUE")], e.clone()));
    assert!(check("t", &[RawValue::Bool(true)], e.clone()));
    assert!(check("n", &[RawValue::Num(50.into())], e.clone()));
    assert!(check("n", &[s("50")], e.clone()));
    assert!(check("s", &[s("")], e.clone()));
    assert!(!check("missing", &[s("")], e.clone()));
    assert!(check("missing", &[RawValue::Null], e.clone()));
    assert!(check("z", &[RawValue::Null], e.clone()));
    assert!(check("l", &[RawValue::Null], e.clone()));
    assert!(check("l", &[RawValue::Num(1.into())], e.clone()));
    assert!(!check("s", &[RawValue::Null], e.clone()));
    assert!(check("missing|exists", &[RawValue::Bool(false)], e.clone()));
    assert!(check("z|exists", &[RawValue::Bool(true)], e));
}
