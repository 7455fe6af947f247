//! Tests for the conditions: every name in `SPECS` against matching, non-matching, missing,
//! null, list and wrong-type values; compile errors; two-key comparisons; and property tests
//! for the negation law and the case-insensitive forms.

use super::*;
use crate::rule::keypath::KeyPath;
use proptest::collection::{btree_map, vec as pvec};
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------------------------
// A small checker: compiles a condition (or a positive/negated pair) once and asserts its
// answer on one kind of input after another. For a pair, every expectation is stated for the
// positive form; the negated form must give the opposite answer.
// ---------------------------------------------------------------------------------------------

/// What a case exercised, so the coverage test can demand every kind for every condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The condition answered true.
    True,
    /// The condition answered false.
    False,
    Missing,
    Null,
    /// A value that is a JSON array (`Found::One(array)`).
    Array,
    /// A `[*]` result (`Found::Many`).
    Many,
    /// A value of the wrong type for the condition.
    Mismatch,
}

const ALL_KINDS: [Kind; 7] = [
    Kind::True,
    Kind::False,
    Kind::Missing,
    Kind::Null,
    Kind::Array,
    Kind::Many,
    Kind::Mismatch,
];

#[derive(Default)]
struct Suite {
    covered: BTreeMap<&'static str, BTreeSet<Kind>>,
}

struct Checker<'s> {
    suite: &'s mut Suite,
    operands: Vec<Value>,
    /// (name, compiled condition, is the negated form of the pair)
    conds: Vec<(&'static str, Condition, bool)>,
}

fn compiled(name: &str, operands: &[Value]) -> Condition {
    Condition::compile(name, operands)
        .unwrap_or_else(|e| panic!("{name} with {operands:?} should compile: {e}"))
}

impl Suite {
    /// A positive condition and its negated form, compiled with the same operands.
    fn pair(
        &mut self,
        positive: &'static str,
        negated: &'static str,
        operands: &[Value],
    ) -> Checker<'_> {
        Checker {
            suite: self,
            operands: operands.to_vec(),
            conds: vec![
                (positive, compiled(positive, operands), false),
                (negated, compiled(negated, operands), true),
            ],
        }
    }

    /// A condition without a negated form.
    fn single(&mut self, name: &'static str, operands: &[Value]) -> Checker<'_> {
        Checker {
            suite: self,
            operands: operands.to_vec(),
            conds: vec![(name, compiled(name, operands), false)],
        }
    }
}

impl Checker<'_> {
    /// Asserts that the positive form answers `positive` on `found` (the negated form the
    /// opposite) and records what was covered.
    fn check(self, kind: Option<Kind>, found: Found<'_>, positive: bool) -> Self {
        for (name, cond, negated) in &self.conds {
            let expected = positive != *negated;
            assert_eq!(
                cond.eval(&found),
                expected,
                "{name} {:?} on {found:?} should be {expected}",
                self.operands
            );
            let kinds = self.suite.covered.entry(*name).or_default();
            kinds.insert(if expected { Kind::True } else { Kind::False });
            kinds.extend(kind);
        }
        self
    }

    fn hit(self, v: Value) -> Self {
        self.check(None, Found::One(&v), true)
    }

    fn miss(self, v: Value) -> Self {
        self.check(None, Found::One(&v), false)
    }

    fn missing(self, positive: bool) -> Self {
        self.check(Some(Kind::Missing), Found::Missing, positive)
    }

    fn null(self, positive: bool) -> Self {
        self.check(Some(Kind::Null), Found::One(&Value::Null), positive)
    }

    /// A field whose value is a JSON array.
    fn array(self, v: Value, positive: bool) -> Self {
        assert!(v.is_array(), "array() needs an array, got {v}");
        self.check(Some(Kind::Array), Found::One(&v), positive)
    }

    /// The values a `[*]` path reached.
    fn many(self, values: Vec<Value>, positive: bool) -> Self {
        assert!(!values.is_empty(), "Found::Many is never empty");
        self.check(
            Some(Kind::Many),
            Found::Many(values.iter().collect()),
            positive,
        )
    }

    /// Resolves a real `[*]` path in `event` (it must reach several values).
    fn wildcard(self, event: Value, path: &str, positive: bool) -> Self {
        let found = KeyPath::parse(path).unwrap().find(&event);
        assert!(
            matches!(found, Found::Many(_)),
            "{path} should reach a list, got {found:?}"
        );
        self.check(Some(Kind::Many), found, positive)
    }

    /// A value of a type the condition does not apply to.
    fn mismatch(self, v: Value, positive: bool) -> Self {
        self.check(Some(Kind::Mismatch), Found::One(&v), positive)
    }
}

// ---------------------------------------------------------------------------------------------
// The cases, one function per family. Each runs as its own #[test] and all of them together
// feed the coverage test.
// ---------------------------------------------------------------------------------------------

fn equals(s: &mut Suite) {
    s.pair("Equals", "DoesNotEqual", &[json!("ConsoleLogin")])
        .hit(json!("ConsoleLogin"))
        .miss(json!("consolelogin")) // case-sensitive
        .miss(json!("ConsoleLogin "))
        .miss(json!(""))
        .missing(false)
        .null(false)
        .array(json!(["ConsoleLogin"]), false)
        .array(json!([]), false)
        .many(vec![json!("ConsoleLogin")], false)
        .wildcard(
            json!({"r": [{"n": "ConsoleLogin"}, {"n": "x"}]}),
            "r[*].n",
            false,
        )
        .mismatch(json!(1), false)
        .mismatch(json!({"ConsoleLogin": true}), false);
    // Numbers compare by value; a string never equals a number or a boolean.
    s.pair("Equals", "DoesNotEqual", &[json!(1)])
        .hit(json!(1))
        .hit(json!(1.0))
        .miss(json!(2))
        .miss(json!(1.000001))
        .mismatch(json!("1"), false)
        .mismatch(json!(true), false);
    s.pair("Equals", "DoesNotEqual", &[json!(2.5)])
        .hit(json!(2.5))
        .miss(json!(2))
        .mismatch(json!("2.5"), false);
    s.pair("Equals", "DoesNotEqual", &[json!("1")])
        .hit(json!("1"))
        .mismatch(json!(1), false)
        .mismatch(json!(1.0), false);
    s.pair("Equals", "DoesNotEqual", &[json!(true)])
        .hit(json!(true))
        .miss(json!(false))
        .mismatch(json!("true"), false)
        .mismatch(json!(1), false);
    s.pair("Equals", "DoesNotEqual", &[json!("true")])
        .mismatch(json!(true), false);
    // Large integers are compared exactly, not through f64.
    s.pair(
        "Equals",
        "DoesNotEqual",
        &[json!(9_007_199_254_740_993_i64)],
    )
    .hit(json!(9_007_199_254_740_993_i64))
    .miss(json!(9_007_199_254_740_992_i64));
    s.pair("Equals", "DoesNotEqual", &[json!(u64::MAX)])
        .hit(json!(u64::MAX))
        .miss(json!(-1));
    // A null operand matches JSON null, not a missing key.
    s.pair("Equals", "DoesNotEqual", &[Value::Null])
        .null(true)
        .missing(false)
        .miss(json!(""))
        .mismatch(json!(0), false);
    // Compound operands compare structurally, numbers by value.
    s.pair("Equals", "DoesNotEqual", &[json!([1, 2])])
        .array(json!([1.0, 2]), true)
        .array(json!([2, 1]), false)
        .array(json!([1, 2, 3]), false)
        .many(vec![json!(1), json!(2)], true);
    s.pair("Equals", "DoesNotEqual", &[json!({"a": 1})])
        .hit(json!({"a": 1.0}))
        .miss(json!({"a": 1, "b": 2}));
}

fn iequals(s: &mut Suite) {
    s.pair("IEquals", "IDoesNotEqual", &[json!("ÄRGER")])
        .hit(json!("ärger"))
        .hit(json!("ÄRGER"))
        .hit(json!("äRgEr"))
        .miss(json!("arger"))
        .miss(json!("ärger!"))
        .miss(json!(""))
        .missing(false)
        .null(false)
        .array(json!(["ärger"]), false)
        .many(vec![json!("ärger")], false)
        .wildcard(
            json!({"r": [{"n": "ÄRGER"}, {"n": "ärger"}]}),
            "r[*].n",
            false,
        )
        .mismatch(json!(1), false);
    s.pair("IEquals", "IDoesNotEqual", &[json!("AdminRole")])
        .hit(json!("adminrole"))
        .hit(json!("ADMINROLE"))
        .miss(json!("adminrol"))
        .miss(json!("adminroles"));
    s.pair("IEquals", "IDoesNotEqual", &[json!("straße")])
        .hit(json!("STRAßE"))
        .miss(json!("strasse"));
    // Greek capital sigma lower-cases to a final sigma at the end of a word: a string must
    // still equal itself and its own lower-case form.
    s.pair("IEquals", "IDoesNotEqual", &[json!("ΟΔΟΣ")])
        .hit(json!("ΟΔΟΣ"))
        .hit(json!("οδος"))
        .hit(json!("Οδος"))
        .hit(json!("οδοσ"))
        .miss(json!("οδο"));
    // Non-string operands keep JSON equality: numbers by value, never against strings.
    s.pair("IEquals", "IDoesNotEqual", &[json!(1)])
        .hit(json!(1.0))
        .mismatch(json!("1"), false);
    s.pair("IEquals", "IDoesNotEqual", &[json!("1")])
        .hit(json!("1"))
        .mismatch(json!(1), false);
    s.pair("IEquals", "IDoesNotEqual", &[json!(true)])
        .hit(json!(true))
        .mismatch(json!("TRUE"), false)
        .mismatch(json!("true"), false);
}

fn starts_with(s: &mut Suite) {
    s.pair("StartsWith", "DoesNotStartWith", &[json!("arn:aws:iam::")])
        .hit(json!("arn:aws:iam::123456789012:root"))
        .hit(json!("arn:aws:iam::"))
        .miss(json!("ARN:AWS:IAM::123456789012:root")) // case-sensitive
        .miss(json!("xarn:aws:iam::"))
        .miss(json!("arn:aws"))
        .missing(false)
        .null(false)
        .array(json!(["arn:aws:iam::1:root"]), false)
        .many(vec![json!("arn:aws:iam::1:root")], false)
        .mismatch(json!(123), false)
        .mismatch(json!(true), false);
    // A number operand stands for its JSON text; a number field is not a string.
    s.pair("StartsWith", "DoesNotStartWith", &[json!(12)])
        .hit(json!("123"))
        .miss(json!("0123"))
        .mismatch(json!(123), false);
    s.pair("StartsWith", "DoesNotStartWith", &[json!("")])
        .hit(json!(""))
        .hit(json!("anything"))
        .mismatch(json!(0), false);

    s.pair("IStartsWith", "IDoesNotStartWith", &[json!("ÄR")])
        .hit(json!("ärger"))
        .hit(json!("ÄRGER"))
        .hit(json!("Ärmel"))
        .miss(json!("arger"))
        .miss(json!("gärÄR"))
        .miss(json!("Ä"))
        .missing(false)
        .null(false)
        .array(json!(["ärger"]), false)
        .many(vec![json!("ärger"), json!("ärmel")], false)
        .mismatch(json!(12), false);
    // A word-final sigma is still a sigma.
    s.pair("IStartsWith", "IDoesNotStartWith", &[json!("ΑΣ")])
        .hit(json!("ΑΣΒ"))
        .hit(json!("ασβ"))
        .hit(json!("ας"))
        .miss(json!("αβ"));
    s.pair("IStartsWith", "IDoesNotStartWith", &[json!("Describe")])
        .hit(json!("describeInstances"))
        .hit(json!("DESCRIBEINSTANCES"))
        .miss(json!("Describ"))
        .miss(json!("ListDescribe"));
}

fn ends_with(s: &mut Suite) {
    s.pair("EndsWith", "DoesNotEndWith", &[json!(".amazonaws.com")])
        .hit(json!("s3.amazonaws.com"))
        .hit(json!(".amazonaws.com"))
        .miss(json!("s3.AMAZONAWS.COM")) // case-sensitive
        .miss(json!("amazonaws.com.evil"))
        .miss(json!("amazonaws.com"))
        .missing(false)
        .null(false)
        .array(json!(["s3.amazonaws.com"]), false)
        .many(vec![json!("s3.amazonaws.com")], false)
        .mismatch(json!(5), false);

    s.pair("IEndsWith", "IDoesNotEndWith", &[json!("GRÜN")])
        .hit(json!("hellgrün"))
        .hit(json!("HELLGRÜN"))
        .hit(json!("Grün"))
        .miss(json!("grünlich"))
        .miss(json!("hellgrun"))
        .missing(false)
        .null(false)
        .array(json!(["hellgrün"]), false)
        .many(vec![json!("hellgrün")], false)
        .mismatch(json!(false), false);
    s.pair("IEndsWith", "IDoesNotEndWith", &[json!("Σ")])
        .hit(json!("ΑΣ"))
        .hit(json!("ας"))
        .hit(json!("σ"))
        .miss(json!("ΣΑ"));
    s.pair("IEndsWith", "IDoesNotEndWith", &[json!(".AMAZONAWS.COM")])
        .hit(json!("s3.amazonaws.com"))
        .miss(json!("s3.amazonaws.co"))
        .miss(json!("com"));
}

fn contains(s: &mut Suite) {
    s.pair("Contains", "DoesNotContain", &[json!("admin")])
        .hit(json!("SuperadminRole"))
        .hit(json!("admin"))
        .miss(json!("ADMIN")) // case-sensitive
        .miss(json!("adm"))
        .missing(false)
        .null(false)
        // On a list: an element equal to the value, or a string element containing it.
        .array(json!(["x", "superadmin"]), true)
        .array(json!(["admin"]), true)
        .array(json!(["x", "ADMIN"]), false)
        .array(json!([]), false)
        .many(vec![json!("x"), json!("admins")], true)
        .many(vec![json!("x")], false)
        .wildcard(
            json!({"u": [{"r": "reader"}, {"r": "sysadmin"}]}),
            "u[*].r",
            true,
        )
        .wildcard(
            json!({"u": [{"r": "reader"}, {"r": "writer"}]}),
            "u[*].r",
            false,
        )
        .mismatch(json!(123), false)
        .mismatch(json!({"admin": 1}), false);
    s.pair("Contains", "DoesNotContain", &[json!(5)])
        .array(json!([1, 5]), true)
        .array(json!([1, 5.0]), true)
        .array(json!([1, 6]), false)
        .many(vec![json!(4), json!(5)], true)
        .mismatch(json!(15), false);
    s.pair("Contains", "DoesNotContain", &[json!({"k": 1})])
        .array(json!([{"k": 1}]), true)
        .array(json!([{"k": 2}]), false)
        .many(vec![json!({"k": 1.0})], true)
        .miss(json!("{\"k\":1}"));

    s.pair("IContains", "IDoesNotContain", &[json!("ADMIN")])
        .hit(json!("superadminrole"))
        .hit(json!("SuperAdmin"))
        .miss(json!("adm"))
        .miss(json!(""))
        .missing(false)
        .null(false)
        .array(json!(["x", "SuperAdmin"]), true)
        .array(json!(["x"]), false)
        .many(vec![json!("x"), json!("xadminx")], true)
        .many(vec![json!("x")], false)
        .mismatch(json!(123), false);
    s.pair("IContains", "IDoesNotContain", &[json!("Ärger")])
        .hit(json!("viel ÄRGER hier"))
        .hit(json!("ärger"))
        .miss(json!("arger"))
        .array(json!(["kein", "ÄRGERLICH"]), true);
    s.pair("IContains", "IDoesNotContain", &[json!("ΟΣ Α")])
        .hit(json!("ΟΔΟΣ ΑΘΗΝΑ"))
        .hit(json!("οδος αθηνα"))
        .miss(json!("οδος"));
}

fn numeric(s: &mut Suite) {
    s.single("IsGreaterThan", &[json!(10)])
        .hit(json!(11))
        .hit(json!(10.5))
        .hit(json!("11")) // numeric string
        .hit(json!("1e3"))
        .miss(json!(10))
        .miss(json!(10.0))
        .miss(json!(9))
        .miss(json!("9.99"))
        .miss(json!(-11))
        .missing(false)
        .null(false)
        .array(json!([11]), false)
        .many(vec![json!(11), json!(12)], false)
        .wildcard(json!({"a": [{"n": 50}, {"n": 60}]}), "a[*].n", false)
        .mismatch(json!("eleven"), false)
        .mismatch(json!(""), false)
        .mismatch(json!(true), false)
        .mismatch(json!({"n": 11}), false);
    // A numeric string operand is a number too.
    s.single("IsGreaterThan", &[json!("10")])
        .hit(json!(11))
        .hit(json!("10.5"))
        .miss(json!(10));
    s.single("IsGreaterThan", &[json!(0.5)])
        .hit(json!(1))
        .miss(json!(0))
        .miss(json!(0.5));
    // Large integers are compared exactly.
    s.single("IsGreaterThan", &[json!(9_007_199_254_740_992_i64)])
        .hit(json!(9_007_199_254_740_993_i64))
        .hit(json!(u64::MAX))
        .miss(json!(9_007_199_254_740_992_i64));
    // Numeric strings beyond i64 are still compared as integers, not through f64.
    s.single("IsGreaterThan", &[json!("18446744073709551614")])
        .hit(json!("18446744073709551615"))
        .hit(json!(u64::MAX))
        .miss(json!("18446744073709551614"));
    s.single("IsGreaterThan", &[json!(-1)])
        .hit(json!(u64::MAX))
        .miss(json!(i64::MIN));

    for name in ["IsGreaterThanOrEqual", "IsGreaterThanOrEquals"] {
        s.single(name, &[json!(10)])
            .hit(json!(10))
            .hit(json!(10.0))
            .hit(json!("10"))
            .hit(json!(11))
            .miss(json!(9.999))
            .miss(json!("9"))
            .missing(false)
            .null(false)
            .array(json!([10]), false)
            .many(vec![json!(10)], false)
            .mismatch(json!("ten"), false)
            .mismatch(json!(false), false);
    }

    s.single("IsLessThan", &[json!(10)])
        .hit(json!(9))
        .hit(json!(-1))
        .hit(json!("9.5"))
        .hit(json!(i64::MIN))
        .miss(json!(10))
        .miss(json!(10.0))
        .miss(json!(11))
        .miss(json!(u64::MAX))
        .missing(false)
        .null(false)
        .array(json!([1]), false)
        .many(vec![json!(1), json!(2)], false)
        .mismatch(json!("nine"), false)
        .mismatch(json!(false), false);

    for name in ["IsLessThanOrEqual", "IsLessThanOrEquals"] {
        s.single(name, &[json!(10)])
            .hit(json!(10))
            .hit(json!("10.0"))
            .hit(json!(9))
            .miss(json!(10.01))
            .miss(json!("11"))
            .missing(false)
            .null(false)
            .array(json!([10]), false)
            .many(vec![json!(10)], false)
            .mismatch(json!("ten"), false)
            .mismatch(json!([]), false);
    }
}

fn membership(s: &mut Suite) {
    let regions = [json!("us-east-1"), json!("eu-west-1"), json!(1)];
    s.pair("IsIn", "IsNotIn", &regions)
        .hit(json!("us-east-1"))
        .hit(json!("eu-west-1"))
        .hit(json!(1))
        .hit(json!(1.0))
        .miss(json!("US-EAST-1"))
        .miss(json!("ap-south-1"))
        .missing(false)
        .null(false)
        // On a list: true when any element is in Values.
        .array(json!(["ap-south-1", "eu-west-1"]), true)
        .array(json!(["ap-south-1"]), false)
        .array(json!([]), false)
        .many(vec![json!("ap-south-1"), json!("us-east-1")], true)
        .many(vec![json!("ap-south-1")], false)
        .wildcard(
            json!({"r": [{"g": "sa-east-1"}, {"g": "eu-west-1"}]}),
            "r[*].g",
            true,
        )
        .mismatch(json!("1"), false)
        .mismatch(json!(true), false);
    s.pair("IsIn", "IsNotIn", &[Value::Null, json!("x")])
        .null(true)
        .missing(false)
        .hit(json!("x"));
    s.pair("IsIn", "IsNotIn", &[json!(true)])
        .hit(json!(true))
        .mismatch(json!("true"), false);
}

fn existence(s: &mut Suite) {
    s.pair("Exists", "DoesNotExist", &[])
        .hit(json!("x"))
        .hit(json!(""))
        .hit(json!({}))
        .missing(false)
        .null(true) // present, even if null
        .array(json!([]), true)
        .many(vec![Value::Null], true)
        .wildcard(json!({"r": [{"a": 1}, {"a": 2}]}), "r[*].a", true)
        .mismatch(json!(0), true)
        .mismatch(json!(false), true);
}

fn nullness(s: &mut Suite) {
    s.pair("IsNull", "IsNotNull", &[])
        .missing(true)
        .null(true)
        .miss(json!(""))
        .miss(json!("null"))
        .miss(json!({}))
        .array(json!([]), false)
        .array(json!([null]), false)
        .many(vec![Value::Null, Value::Null], false)
        .mismatch(json!(0), false)
        .mismatch(json!(false), false);

    s.pair("IsNullOrEmpty", "IsNotNullOrEmpty", &[])
        .missing(true)
        .null(true)
        .hit(json!(""))
        .hit(json!({}))
        .array(json!([]), true)
        .miss(json!(" "))
        .miss(json!("x"))
        .miss(json!({"a": null}))
        .array(json!([null]), false)
        .array(json!([""]), false)
        .many(vec![json!("")], false)
        .mismatch(json!(0), false)
        .mismatch(json!(false), false);
}

fn ip_kinds(s: &mut Suite) {
    s.single("IsIPAddress", &[])
        .hit(json!("10.0.0.1"))
        .hit(json!("2001:db8::1"))
        .hit(json!("::ffff:1.2.3.4"))
        .miss(json!("10.0.0.256"))
        .miss(json!("not-an-ip"))
        .miss(json!(" 10.0.0.1"))
        .miss(json!("10.0.0.1/32"))
        .miss(json!("1.2.3"))
        .miss(json!(""))
        .missing(false)
        .null(false)
        .array(json!(["10.0.0.1"]), false)
        .many(vec![json!("10.0.0.1")], false)
        .mismatch(json!(167_772_161), false);

    s.single("IsIPv4Address", &[])
        .hit(json!("192.168.1.1"))
        .hit(json!("8.8.8.8"))
        .miss(json!("::1"))
        .miss(json!("::ffff:10.0.0.1")) // an IPv6 address, as Python reads it
        .miss(json!("192.168.1"))
        .missing(false)
        .null(false)
        .array(json!(["192.168.1.1"]), false)
        .many(vec![json!("192.168.1.1")], false)
        .mismatch(json!(3_232_235_777_u64), false);

    s.single("IsIPv6Address", &[])
        .hit(json!("fe80::1"))
        .hit(json!("::1"))
        .hit(json!("::ffff:10.0.0.1"))
        .miss(json!("1.2.3.4"))
        .miss(json!("gggg::1"))
        .missing(false)
        .null(false)
        .array(json!(["::1"]), false)
        .many(vec![json!("::1")], false)
        .mismatch(json!(1), false);
}

const PRIVATE: &[&str] = &[
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",
    "198.51.100.7",
    "192.0.2.10",
    "203.0.113.5",
    "0.0.0.0",
    "255.255.255.255",
    "::1",
    "fd00::1",
    "fe80::1",
    "2001:db8::1",
    "::ffff:192.168.1.1",
];

const PUBLIC: &[&str] = &[
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
];

const SHARED: &[&str] = &["100.64.0.0", "100.64.0.1", "100.100.1.1", "100.127.255.255"];

fn ip_scopes(s: &mut Suite) {
    let mut public = s.single("IsIPAddressPublic", &[]);
    for ip in PUBLIC {
        public = public.hit(json!(ip));
    }
    for ip in PRIVATE.iter().chain(SHARED) {
        public = public.miss(json!(ip));
    }
    public
        .miss(json!("not-an-ip"))
        .missing(false)
        .null(false)
        .array(json!(["8.8.8.8"]), false)
        .many(vec![json!("8.8.8.8")], false)
        .mismatch(json!(134_744_072), false);

    let mut private = s.single("IsIPAddressPrivate", &[]);
    for ip in PRIVATE {
        private = private.hit(json!(ip));
    }
    for ip in PUBLIC.iter().chain(SHARED) {
        private = private.miss(json!(ip));
    }
    private
        .miss(json!("not-an-ip"))
        .missing(false)
        .null(false)
        .array(json!(["10.0.0.1"]), false)
        .many(vec![json!("10.0.0.1")], false)
        .mismatch(json!(167_772_161), false);
}

fn cidr(s: &mut Suite) {
    s.pair(
        "IsIPAddressInCIDR",
        "IsIPAddressNotInCIDR",
        &[json!("10.0.0.0/8"), json!("2001:db8::/32")],
    )
    .hit(json!("10.255.0.1"))
    .hit(json!("10.0.0.0"))
    .hit(json!("2001:db8:1::5"))
    .miss(json!("11.0.0.1"))
    .miss(json!("9.255.255.255"))
    .miss(json!("::1"))
    .miss(json!("10.0.0.0/8")) // a range is not an address
    .miss(json!("not-an-ip"))
    .missing(false)
    .null(false)
    .array(json!(["10.0.0.1"]), false)
    .many(vec![json!("10.0.0.1")], false)
    .mismatch(json!(167_772_161), false);
    // Host bits in the operand are ignored; a bare address is a /32.
    s.pair(
        "IsIPAddressInCIDR",
        "IsIPAddressNotInCIDR",
        &[json!("192.168.1.77/24")],
    )
    .hit(json!("192.168.1.1"))
    .miss(json!("192.168.2.1"));
    s.pair(
        "IsIPAddressInCIDR",
        "IsIPAddressNotInCIDR",
        &[json!("10.0.0.5")],
    )
    .hit(json!("10.0.0.5"))
    .miss(json!("10.0.0.6"));
    s.pair(
        "IsIPAddressInCIDR",
        "IsIPAddressNotInCIDR",
        &[json!("0.0.0.0/0")],
    )
    .hit(json!("1.2.3.4"))
    .miss(json!("::1")); // never across address families

    s.pair(
        "CIDRContainsIPAddresses",
        "CIDRDoesNotContainIPAddresses",
        &[json!("10.0.0.5"), json!("10.0.0.6")],
    )
    .hit(json!("10.0.0.0/24"))
    .hit(json!("10.0.0.4/30"))
    .hit(json!("0.0.0.0/0"))
    .miss(json!("10.0.0.0/30")) // holds neither
    .miss(json!("10.0.0.6/31")) // holds only one of them
    .miss(json!("10.0.0.5")) // a /32 holds only itself
    .miss(json!("192.168.0.0/16"))
    .miss(json!("10.0.0.0/33"))
    .miss(json!("not-a-cidr"))
    .missing(false)
    .null(false)
    .array(json!(["10.0.0.0/24"]), false)
    .many(vec![json!("10.0.0.0/24")], false)
    .mismatch(json!(10), false);
    s.pair(
        "CIDRContainsIPAddresses",
        "CIDRDoesNotContainIPAddresses",
        &[json!("2001:db8::1")],
    )
    .hit(json!("2001:db8::/32"))
    .hit(json!("2001:db8::1"))
    .miss(json!("10.0.0.0/8"));
}

fn regex(s: &mut Suite) {
    s.pair(
        "MatchesRegex",
        "DoesNotMatchRegex",
        &[json!(r"^arn:aws:iam::\d{12}:root$")],
    )
    .hit(json!("arn:aws:iam::123456789012:root"))
    .miss(json!("arn:aws:iam::12345:root"))
    .miss(json!("ARN:AWS:IAM::123456789012:ROOT"))
    .missing(false)
    .null(false)
    .array(json!(["arn:aws:iam::123456789012:root"]), false)
    .many(vec![json!("arn:aws:iam::123456789012:root")], false)
    .mismatch(json!(123_456_789_012_u64), false);
    s.pair("MatchesRegex", "DoesNotMatchRegex", &[json!(r"^\d+$")])
        .hit(json!("123"))
        .miss(json!("12a"))
        .mismatch(json!(123), false) // a number is not a string
        .mismatch(json!(true), false);
    // Unanchored patterns search; inline flags work.
    s.pair("MatchesRegex", "DoesNotMatchRegex", &[json!("admin")])
        .hit(json!("superadministrator"))
        .miss(json!("ADMIN"));
    s.pair("MatchesRegex", "DoesNotMatchRegex", &[json!("(?i)^admin")])
        .hit(json!("ADMINISTRATOR"))
        .miss(json!("sysadmin"));
}

type Group = fn(&mut Suite);

const GROUPS: &[(&str, Group)] = &[
    ("equals", equals),
    ("iequals", iequals),
    ("starts_with", starts_with),
    ("ends_with", ends_with),
    ("contains", contains),
    ("numeric", numeric),
    ("membership", membership),
    ("existence", existence),
    ("nullness", nullness),
    ("ip_kinds", ip_kinds),
    ("ip_scopes", ip_scopes),
    ("cidr", cidr),
    ("regex", regex),
];

fn run(group: &str) {
    let (_, f) = GROUPS.iter().find(|(n, _)| *n == group).expect("group");
    f(&mut Suite::default());
}

#[test]
fn equals_and_does_not_equal() {
    run("equals");
}

#[test]
fn iequals_and_idoes_not_equal() {
    run("iequals");
}

#[test]
fn starts_with_forms() {
    run("starts_with");
}

#[test]
fn ends_with_forms() {
    run("ends_with");
}

#[test]
fn contains_forms() {
    run("contains");
}

#[test]
fn numeric_comparisons() {
    run("numeric");
}

#[test]
fn is_in_and_is_not_in() {
    run("membership");
}

#[test]
fn exists_and_does_not_exist() {
    run("existence");
}

#[test]
fn null_and_empty_checks() {
    run("nullness");
}

#[test]
fn ip_address_kinds() {
    run("ip_kinds");
}

#[test]
fn ip_address_public_and_private() {
    run("ip_scopes");
}

#[test]
fn cidr_conditions() {
    run("cidr");
}

#[test]
fn regex_conditions() {
    run("regex");
}

/// Every name in the table has a true and a false case and was tried on a missing key, on
/// JSON null, on an array value, on a `[*]` result and on a value of the wrong type.
#[test]
fn every_condition_in_the_table_is_covered() {
    let mut suite = Suite::default();
    for (_, group) in GROUPS {
        group(&mut suite);
    }
    let table: BTreeSet<&str> = SPECS.iter().map(|s| s.name).collect();
    assert_eq!(table.len(), SPECS.len(), "duplicate names in SPECS");
    for name in &table {
        let kinds = suite.covered.get(name).cloned().unwrap_or_default();
        let absent: Vec<Kind> = ALL_KINDS
            .into_iter()
            .filter(|k| !kinds.contains(k))
            .collect();
        assert!(absent.is_empty(), "{name} lacks cases for {absent:?}");
    }
    let tested: BTreeSet<&str> = suite.covered.keys().copied().collect();
    assert_eq!(tested, table);
}

// ---------------------------------------------------------------------------------------------
// The DESIGN's IP examples, spelled out.
// ---------------------------------------------------------------------------------------------

#[test]
fn documentation_range_is_private_and_shared_space_is_neither() {
    let public = compiled("IsIPAddressPublic", &[]);
    let private = compiled("IsIPAddressPrivate", &[]);
    for ip in ["198.51.100.0", "198.51.100.1", "198.51.100.255"] {
        let v = json!(ip);
        assert!(private.eval(&Found::One(&v)), "{ip} is private");
        assert!(!public.eval(&Found::One(&v)), "{ip} is not public");
    }
    for ip in SHARED {
        let v = json!(ip);
        assert!(!private.eval(&Found::One(&v)), "{ip} is not private");
        assert!(!public.eval(&Found::One(&v)), "{ip} is not public");
    }
    // Just outside 100.64.0.0/10 on both sides.
    for ip in ["100.63.255.255", "100.128.0.0"] {
        let v = json!(ip);
        assert!(public.eval(&Found::One(&v)), "{ip} is public");
    }
}

// ---------------------------------------------------------------------------------------------
// Two-key comparisons.
// ---------------------------------------------------------------------------------------------

fn pair_eval(name: &str, left: &Found<'_>, right: &Found<'_>) -> bool {
    compiled(name, &[json!(0)]).eval_pair(left, right)
}

#[test]
fn two_key_equality() {
    let (x, x2, y) = (json!("x"), json!("x"), json!("y"));
    assert!(pair_eval("Equals", &Found::One(&x), &Found::One(&x2)));
    assert!(!pair_eval("Equals", &Found::One(&x), &Found::One(&y)));
    assert!(!pair_eval(
        "DoesNotEqual",
        &Found::One(&x),
        &Found::One(&x2)
    ));
    assert!(pair_eval("DoesNotEqual", &Found::One(&x), &Found::One(&y)));

    let (one, one_f, one_s) = (json!(1), json!(1.0), json!("1"));
    assert!(pair_eval("Equals", &Found::One(&one), &Found::One(&one_f)));
    assert!(!pair_eval("Equals", &Found::One(&one_s), &Found::One(&one)));

    // A missing side makes the positive form false and the negated form true.
    for (l, r) in [
        (Found::Missing, Found::One(&x)),
        (Found::One(&x), Found::Missing),
        (Found::Missing, Found::Missing),
    ] {
        assert!(!pair_eval("Equals", &l, &r), "{l:?} {r:?}");
        assert!(pair_eval("DoesNotEqual", &l, &r), "{l:?} {r:?}");
    }
    // A multi-valued right-hand side cannot be an operand.
    assert!(!pair_eval(
        "Equals",
        &Found::One(&x),
        &Found::Many(vec![&x2])
    ));
    assert!(pair_eval(
        "DoesNotEqual",
        &Found::One(&x),
        &Found::Many(vec![&x2])
    ));

    let (upper, lower) = (json!("ÄRGER"), json!("ärger"));
    assert!(pair_eval(
        "IEquals",
        &Found::One(&upper),
        &Found::One(&lower)
    ));
    assert!(!pair_eval(
        "Equals",
        &Found::One(&upper),
        &Found::One(&lower)
    ));
    assert!(!pair_eval(
        "IEquals",
        &Found::One(&upper),
        &Found::One(&Value::Null)
    ));
    assert!(pair_eval(
        "IDoesNotEqual",
        &Found::One(&upper),
        &Found::One(&Value::Null)
    ));
}

#[test]
fn two_key_ordering_and_strings() {
    fn one(v: &Value) -> Found<'_> {
        Found::One(v)
    }
    let (five, three, three_s, word) = (json!(5), json!(3), json!("3"), json!("x"));
    assert!(pair_eval("IsGreaterThan", &one(&five), &one(&three)));
    assert!(!pair_eval("IsGreaterThan", &one(&three), &one(&five)));
    assert!(!pair_eval("IsGreaterThan", &one(&five), &one(&five)));
    assert!(pair_eval("IsGreaterThanOrEqual", &one(&five), &one(&five)));
    assert!(pair_eval("IsGreaterThan", &one(&five), &one(&three_s)));
    assert!(!pair_eval("IsGreaterThan", &one(&five), &one(&word)));
    assert!(!pair_eval("IsLessThan", &one(&five), &one(&word)));
    assert!(pair_eval("IsLessThan", &one(&three), &one(&five)));
    assert!(pair_eval(
        "IsLessThanOrEquals",
        &one(&three),
        &one(&three_s)
    ));

    let (arn, prefix, suffix) = (
        json!("arn:aws:iam::1:root"),
        json!("arn:aws"),
        json!(":ROOT"),
    );
    assert!(pair_eval("StartsWith", &one(&arn), &one(&prefix)));
    assert!(!pair_eval("StartsWith", &one(&prefix), &one(&arn)));
    assert!(pair_eval("DoesNotStartWith", &one(&prefix), &one(&arn)));
    assert!(!pair_eval("EndsWith", &one(&arn), &one(&suffix)));
    assert!(pair_eval("IEndsWith", &one(&arn), &one(&suffix)));
    assert!(pair_eval(
        "IStartsWith",
        &one(&arn),
        &one(&json!("ARN:AWS"))
    ));

    let (list, b) = (json!(["a", "b"]), json!("b"));
    assert!(pair_eval("Contains", &one(&list), &one(&b)));
    assert!(!pair_eval("DoesNotContain", &one(&list), &one(&b)));
    assert!(pair_eval(
        "IContains",
        &one(&json!("HELLO")),
        &one(&json!("ell"))
    ));
    assert!(!pair_eval(
        "Contains",
        &one(&json!("HELLO")),
        &one(&json!("ell"))
    ));
}

// ---------------------------------------------------------------------------------------------
// Compile errors and the operand tables.
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_condition_lists_every_valid_name() {
    let err = Condition::compile("Equal", &[json!("x")]).unwrap_err();
    assert!(err.contains("unknown Condition `Equal`"), "{err}");
    let (_, list) = err
        .split_once("valid conditions: ")
        .expect("a list of names");
    let listed: BTreeSet<&str> = list.split(", ").map(str::trim).collect();
    let mut expected: BTreeSet<&str> = SPECS.iter().map(|s| s.name).collect();
    expected.extend([
        "AnyElement",
        "AllElements",
        "OnlyOneElement",
        "NoElement",
        "AlwaysTrue",
        "AlwaysFalse",
    ]);
    assert_eq!(listed, expected);
    // Names are case-sensitive.
    assert!(Condition::compile("equals", &[json!("x")]).is_err());
    assert!(Condition::compile("", &[json!("x")]).is_err());
}

#[test]
fn numeric_conditions_need_a_numeric_value() {
    for name in [
        "IsGreaterThan",
        "IsGreaterThanOrEqual",
        "IsGreaterThanOrEquals",
        "IsLessThan",
        "IsLessThanOrEqual",
        "IsLessThanOrEquals",
    ] {
        for bad in [
            json!("abc"),
            json!(""),
            json!("NaN"),
            json!("inf"),
            json!(true),
            Value::Null,
            json!([1]),
            json!({"n": 1}),
        ] {
            let err = Condition::compile(name, std::slice::from_ref(&bad)).unwrap_err();
            assert!(
                err.contains(name) && err.contains("numeric"),
                "{name} {bad}: {err}"
            );
        }
        for good in [json!(1), json!(-2.5), json!("3"), json!("4.5")] {
            assert!(
                Condition::compile(name, std::slice::from_ref(&good)).is_ok(),
                "{name} {good}"
            );
        }
    }
}

#[test]
fn cidr_and_address_operands_must_parse() {
    for name in ["IsIPAddressInCIDR", "IsIPAddressNotInCIDR"] {
        for bad in [
            json!("10.0.0.0/33"),
            json!("banana"),
            json!("10.0.0.0/"),
            json!(10),
        ] {
            let err = Condition::compile(name, &[json!("10.0.0.0/8"), bad.clone()]).unwrap_err();
            assert!(err.contains("is not a CIDR range"), "{name} {bad}: {err}");
        }
    }
    for name in ["CIDRContainsIPAddresses", "CIDRDoesNotContainIPAddresses"] {
        for bad in [
            json!("10.0.0.0/8"),
            json!("10.0.0.256"),
            json!(""),
            Value::Null,
        ] {
            let err = Condition::compile(name, std::slice::from_ref(&bad)).unwrap_err();
            assert!(err.contains("is not an IP address"), "{name} {bad}: {err}");
        }
    }
}

#[test]
fn regex_must_compile() {
    for name in ["MatchesRegex", "DoesNotMatchRegex"] {
        let err = Condition::compile(name, &[json!("(unclosed")]).unwrap_err();
        assert!(err.contains("invalid regular expression"), "{err}");
        let err = Condition::compile(name, &[json!(5)]).unwrap_err();
        assert!(err.contains("needs a string pattern"), "{err}");
        assert!(Condition::compile(name, &[]).is_err());
    }
}

#[test]
fn list_conditions_need_at_least_one_value() {
    for name in [
        "IsIn",
        "IsNotIn",
        "IsIPAddressInCIDR",
        "IsIPAddressNotInCIDR",
        "CIDRContainsIPAddresses",
        "CIDRDoesNotContainIPAddresses",
    ] {
        let err = Condition::compile(name, &[]).unwrap_err();
        assert!(
            err.contains(name) && err.contains("at least one value"),
            "{err}"
        );
    }
}

#[test]
fn single_value_conditions_take_exactly_one() {
    for name in ["Equals", "IEquals", "StartsWith", "Contains", "IsLessThan"] {
        for ops in [vec![], vec![json!("a"), json!("b")]] {
            let err = Condition::compile(name, &ops).unwrap_err();
            assert!(err.contains("exactly one Value"), "{name} {ops:?}: {err}");
        }
    }
}

#[test]
fn string_conditions_need_a_scalar_value() {
    for name in [
        "IEquals",
        "StartsWith",
        "IStartsWith",
        "EndsWith",
        "IEndsWith",
        "IContains",
    ] {
        for bad in [Value::Null, json!([1]), json!({"a": "b"})] {
            let err = Condition::compile(name, std::slice::from_ref(&bad)).unwrap_err();
            assert!(
                err.contains("needs a string, number or boolean Value"),
                "{name} {bad}: {err}"
            );
        }
    }
    // Equals and Contains compare JSON values, so any operand is allowed.
    for ok in [Value::Null, json!([1]), json!({"a": "b"})] {
        assert!(Condition::compile("Equals", std::slice::from_ref(&ok)).is_ok());
        assert!(Condition::compile("Contains", &[ok]).is_ok());
    }
}

#[test]
fn operand_shapes() {
    assert_eq!(arity("Equals"), Some(Arity::Value));
    assert_eq!(arity("IsIPAddressInCIDR"), Some(Arity::Value));
    assert_eq!(arity("IsIn"), Some(Arity::Values));
    assert_eq!(arity("IsNotIn"), Some(Arity::Values));
    for name in [
        "Exists",
        "DoesNotExist",
        "IsNull",
        "IsNotNull",
        "IsNullOrEmpty",
        "IsNotNullOrEmpty",
        "IsIPAddress",
        "IsIPv4Address",
        "IsIPv6Address",
        "IsIPAddressPublic",
        "IsIPAddressPrivate",
    ] {
        assert_eq!(arity(name), Some(Arity::None), "{name}");
    }
    assert_eq!(arity("AnyElement"), None);
    assert_eq!(arity("Nope"), None);

    for name in [
        "Equals",
        "IDoesNotEqual",
        "IsGreaterThan",
        "IContains",
        "EndsWith",
    ] {
        assert!(is_binary(name), "{name}");
    }
    for name in [
        "IsIn",
        "Exists",
        "IsNull",
        "IsIPAddressInCIDR",
        "MatchesRegex",
        "Nope",
    ] {
        assert!(!is_binary(name), "{name}");
    }
}

#[test]
fn negated_names_pair_with_their_positive_forms() {
    let expected = [
        ("Equals", "DoesNotEqual"),
        ("IEquals", "IDoesNotEqual"),
        ("StartsWith", "DoesNotStartWith"),
        ("IStartsWith", "IDoesNotStartWith"),
        ("EndsWith", "DoesNotEndWith"),
        ("IEndsWith", "IDoesNotEndWith"),
        ("Contains", "DoesNotContain"),
        ("IContains", "IDoesNotContain"),
        ("IsIn", "IsNotIn"),
        ("Exists", "DoesNotExist"),
        ("IsNull", "IsNotNull"),
        ("IsNullOrEmpty", "IsNotNullOrEmpty"),
        ("IsIPAddressInCIDR", "IsIPAddressNotInCIDR"),
        ("CIDRContainsIPAddresses", "CIDRDoesNotContainIPAddresses"),
        ("MatchesRegex", "DoesNotMatchRegex"),
    ];
    assert_eq!(negation_pairs(), expected);
}

#[test]
fn pinned_strings_for_the_rule_index() {
    let eq = compiled("Equals", &[json!("ConsoleLogin")]);
    assert_eq!(eq.pinned_strings(), Some(vec!["ConsoleLogin"]));
    let is_in = compiled("IsIn", &[json!("a"), json!("b")]);
    assert_eq!(is_in.pinned_strings(), Some(vec!["a", "b"]));
    // Negations, non-strings and other conditions pin nothing.
    assert_eq!(
        compiled("DoesNotEqual", &[json!("x")]).pinned_strings(),
        None
    );
    assert_eq!(compiled("IsNotIn", &[json!("x")]).pinned_strings(), None);
    assert_eq!(compiled("Equals", &[json!(1)]).pinned_strings(), None);
    assert_eq!(
        compiled("IsIn", &[json!("a"), json!(1)]).pinned_strings(),
        None
    );
    assert_eq!(compiled("IEquals", &[json!("x")]).pinned_strings(), None);
}

// ---------------------------------------------------------------------------------------------
// Property tests.
// ---------------------------------------------------------------------------------------------

/// (positive, negated) for every negated name in the table, paired by their shared test.
fn negation_pairs() -> Vec<(&'static str, &'static str)> {
    SPECS
        .iter()
        .filter(|n| n.negate)
        .map(|n| {
            let p = SPECS
                .iter()
                .find(|p| !p.negate && p.base == n.base)
                .unwrap_or_else(|| panic!("{} has no positive form", n.name));
            (p.name, n.name)
        })
        .collect()
}

const INTERESTING: &[&str] = &[
    "",
    "a",
    "A",
    "admin",
    "ADMIN",
    "SuperAdmin",
    "ÄRGER",
    "ärger",
    "ΟΔΟΣ",
    "οδος",
    "1",
    "10",
    "2.5",
    "-3",
    "true",
    "null",
    "10.0.0.1",
    "10.0.0.5",
    "8.8.8.8",
    "198.51.100.7",
    "100.64.1.1",
    "::1",
    "2001:db8::1",
    "fe80::1",
    "10.0.0.0/8",
    "10.0.0.0/24",
    "0.0.0.0/0",
    "2001:db8::/32",
    "10.0.0.0/33",
    "^a",
    "(?i)admin",
    "\\d+",
    "(",
    "arn:aws:iam::123456789012:root",
];

/// Letters with all their case variants (each class folds to one distinct letter).
const CASE_CLASSES: &[&[char]] = &[
    &['a', 'A'],
    &['b', 'B'],
    &['ä', 'Ä'],
    &['σ', 'ς', 'Σ'],
    &['k', 'K', '\u{212A}'], // KELVIN SIGN lower-cases to k
    &['ß'],
    &['ı'],
    &['ø', 'Ø'],
    &[' '],
];

fn spell(letters: &[(usize, prop::sample::Index)]) -> String {
    letters
        .iter()
        .map(|(class, pick)| *pick.get(CASE_CLASSES[*class]))
        .collect()
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-12i64..12).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-20.0f64..20.0).prop_map(Value::from),
        prop::sample::select(INTERESTING).prop_map(Value::from),
        "[aAäÄ1. :/]{0,6}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            pvec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[ab]", inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An owned stand-in for `Found`, which borrows.
#[derive(Debug, Clone)]
enum Shape {
    Missing,
    One(Value),
    Many(Vec<Value>),
}

impl Shape {
    fn found(&self) -> Found<'_> {
        match self {
            Shape::Missing => Found::Missing,
            Shape::One(v) => Found::One(v),
            Shape::Many(vs) => Found::Many(vs.iter().collect()),
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        1 => Just(Shape::Missing),
        4 => json_value().prop_map(Shape::One),
        2 => pvec(json_value(), 1..4).prop_map(Shape::Many),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// negated.eval(f) == !positive.eval(f) for every pair, operand list and input shape;
    /// and an operand list is accepted by both forms or by neither.
    #[test]
    fn negated_forms_are_exact_negations(
        operands in pvec(leaf(), 1..4),
        shapes in pvec(shape(), 1..4),
    ) {
        for (pos, neg) in negation_pairs() {
            for ops in [&operands[..1], &operands[..]] {
                let (p, n) = (Condition::compile(pos, ops), Condition::compile(neg, ops));
                prop_assert_eq!(p.is_ok(), n.is_ok(), "{} / {} with {:?}", pos, neg, ops);
                if let (Ok(p), Ok(n)) = (p, n) {
                    for s in &shapes {
                        let f = s.found();
                        prop_assert_eq!(
                            n.eval(&f),
                            !p.eval(&f),
                            "{} / {} {:?} on {:?}",
                            pos,
                            neg,
                            ops,
                            f
                        );
                    }
                }
            }
        }
    }

    /// The same law for two-key comparisons.
    #[test]
    fn negated_forms_are_exact_negations_on_two_keys(left in shape(), right in shape()) {
        for (pos, neg) in negation_pairs().into_iter().filter(|(p, _)| is_binary(p)) {
            let p = compiled(pos, &[json!(0)]);
            let n = compiled(neg, &[json!(0)]);
            let (l, r) = (left.found(), right.found());
            prop_assert_eq!(n.eval_pair(&l, &r), !p.eval_pair(&l, &r), "{} / {}", pos, neg);
        }
    }

    /// A missing key: every positive form is false, every negated form true.
    #[test]
    fn missing_key_is_false_for_positive_forms(operands in pvec(leaf(), 1..4)) {
        for spec in SPECS.iter().filter(|s| !matches!(s.base, Base::IsNull | Base::IsNullOrEmpty)) {
            for ops in [&[][..], &operands[..1], &operands[..]] {
                if let Ok(c) = Condition::compile(spec.name, ops) {
                    let answer = c.eval(&Found::Missing);
                    prop_assert_eq!(answer, spec.negate, "{} {:?}", spec.name, ops);
                }
            }
        }
    }

    /// The case-insensitive forms treat every case variant of a letter alike, also outside
    /// ASCII: strings are written as sequences of letter classes, each letter in a randomly
    /// chosen case, and the answer must depend on the classes only.
    #[test]
    fn case_insensitive_forms_depend_on_letters_not_case(
        hay in pvec((0..CASE_CLASSES.len(), any::<prop::sample::Index>()), 0..8),
        needle in pvec((0..CASE_CLASSES.len(), any::<prop::sample::Index>()), 0..4),
        take_prefix in any::<bool>(),
    ) {
        // Often make the needle a real prefix or suffix of the hay (in its own casing).
        let needle = if take_prefix && !hay.is_empty() {
            let cut = needle.len().min(hay.len());
            hay[..cut].iter().zip(&needle).map(|((class, _), (_, pick))| (*class, *pick)).collect()
        } else {
            needle
        };
        let classes = |xs: &[(usize, prop::sample::Index)]| {
            xs.iter().map(|(c, _)| *c).collect::<Vec<_>>()
        };
        let (h, n) = (classes(&hay), classes(&needle));
        let cases = [
            ("IEquals", h == n),
            ("IStartsWith", h.starts_with(&n)),
            ("IEndsWith", h.ends_with(&n)),
            ("IContains", n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice())),
        ];
        let (hay_text, needle_text) = (spell(&hay), spell(&needle));
        let v = json!(hay_text);
        for (name, expected) in cases {
            let c = compiled(name, &[json!(needle_text)]);
            let answer = c.eval(&Found::One(&v));
            prop_assert_eq!(answer, expected, "{} {:?} on {:?}", name, needle_text, hay_text);
        }
    }

    /// Every string equals itself, starts, ends with and contains itself, ignoring case, and
    /// so does its lower-case form.
    #[test]
    fn case_insensitive_forms_are_reflexive(s in "\\PC{0,10}") {
        for name in ["IEquals", "IStartsWith", "IEndsWith", "IContains"] {
            let c = compiled(name, &[json!(s)]);
            for hay in [s.clone(), s.to_lowercase()] {
                let v = json!(hay);
                prop_assert!(c.eval(&Found::One(&v)), "{} {:?} on {:?}", name, s, hay);
            }
        }
    }

    /// ASCII prefixes, suffixes and infixes in any case are found by the I-forms; the
    /// case-sensitive forms find them only in the original case.
    #[test]
    fn ascii_affixes_in_any_case(s in "[a-zA-Z0-9:/-]{0,12}", a in 0usize..13, b in 0usize..13) {
        let (a, b) = (a.min(s.len()), b.min(s.len()));
        let (lo, hi) = (a.min(b), a.max(b));
        let v = json!(s);
        let f = Found::One(&v);
        let upper = s.to_uppercase();
        prop_assert!(compiled("IStartsWith", &[json!(&upper[..hi])]).eval(&f));
        prop_assert!(compiled("IEndsWith", &[json!(&upper[lo..])]).eval(&f));
        prop_assert!(compiled("IContains", &[json!(&upper[lo..hi])]).eval(&f));
        prop_assert!(compiled("IEquals", &[json!(upper.clone())]).eval(&f));
        prop_assert!(compiled("StartsWith", &[json!(&s[..hi])]).eval(&f));
        prop_assert!(compiled("EndsWith", &[json!(&s[lo..])]).eval(&f));
        prop_assert!(compiled("Contains", &[json!(&s[lo..hi])]).eval(&f));
        let sensitive = compiled("StartsWith", &[json!(&upper[..hi])]).eval(&f);
        prop_assert_eq!(sensitive, s[..hi] == upper[..hi]);
    }

    /// Numeric conditions agree with comparing the numbers, whether written as numbers or
    /// as numeric strings.
    #[test]
    fn numeric_conditions_agree_with_number_ordering(
        x in -1000i64..1000,
        y in -1000i64..1000,
        x_as_text in any::<bool>(),
        y_as_text in any::<bool>(),
    ) {
        let as_json = |n: i64, text: bool| if text { json!(n.to_string()) } else { json!(n) };
        let (field, operand) = (as_json(x, x_as_text), as_json(y, y_as_text));
        let f = Found::One(&field);
        let cases = [
            ("IsGreaterThan", x > y),
            ("IsGreaterThanOrEqual", x >= y),
            ("IsGreaterThanOrEquals", x >= y),
            ("IsLessThan", x < y),
            ("IsLessThanOrEqual", x <= y),
            ("IsLessThanOrEquals", x <= y),
        ];
        for (name, expected) in cases {
            let answer = compiled(name, std::slice::from_ref(&operand)).eval(&f);
            prop_assert_eq!(answer, expected, "{} {} {}", name, field, operand);
        }
        // Equals is JSON equality: a numeric string never equals a number.
        let eq = compiled("Equals", std::slice::from_ref(&operand)).eval(&f);
        prop_assert_eq!(eq, x == y && x_as_text == y_as_text);
    }
}
