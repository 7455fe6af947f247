//! Conditions: the test a match expression applies to the value its key reaches.
//!
//! Every negated Panther condition (`DoesNot…`, `IsNot…`, `…NotIn…`) compiles to its positive
//! form plus a `negate` flag, so "the negation is exactly the negation of the positive form"
//! holds by construction: a condition on a missing key is false, its negation true.

use super::compare::{self, fold, json_eq, numeric_cmp, operand_text};
use super::ip::{self, Cidr};
use super::keypath::Found;
use regex::Regex;
use serde_json::Value;
use std::cmp::Ordering;
use std::net::IpAddr;

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    test: Test,
    negate: bool,
    /// The Panther name and the operands as written, for the catalog's readable logic.
    name: &'static str,
    operands: Vec<Value>,
}

/// The positive test, with its operand prepared at load time (case-folded needles, parsed
/// CIDRs, compiled regexes) so evaluation does no per-event preparation.
#[derive(Debug, Clone)]
enum Test {
    Equals(Value),
    /// The original operand (for non-string fields) and its case-folded text.
    IEquals(Value, String),
    StartsWith(String),
    IStartsWith(String),
    EndsWith(String),
    IEndsWith(String),
    /// The operand and its text, when it has one.
    Contains(Value, Option<String>),
    IContains(String),
    Compare(Value, Ordering, bool),
    IsIn(Vec<Value>),
    Exists,
    IsNull,
    IsNullOrEmpty,
    IsIp,
    IsIpv4,
    IsIpv6,
    IsPublic,
    IsPrivate,
    InCidr(Vec<Cidr>),
    CidrContains(Vec<IpAddr>),
    Regex(Regex),
}

/// How a condition takes its operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// No operand (`Exists`, `IsIPAddress`, ...).
    None,
    /// `Value:` (or, for some, `Values:`).
    Value,
    /// `Values:` (`IsIn`).
    Values,
}

struct Spec {
    name: &'static str,
    negate: bool,
    base: Base,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Equals,
    IEquals,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Contains,
    IContains,
    Gt,
    Gte,
    Lt,
    Lte,
    IsIn,
    Exists,
    IsNull,
    IsNullOrEmpty,
    IsIp,
    IsIpv4,
    IsIpv6,
    IsPublic,
    IsPrivate,
    InCidr,
    CidrContains,
    Regex,
}

impl Spec {
    const fn new(name: &'static str, base: Base, negate: bool) -> Spec {
        Spec { name, negate, base }
    }
}

/// The condition table: each Panther name, the positive test it uses, and whether it negates.
const SPECS: &[Spec] = &[
    Spec::new("Equals", Base::Equals, false),
    Spec::new("DoesNotEqual", Base::Equals, true),
    Spec::new("IEquals", Base::IEquals, false),
    Spec::new("IDoesNotEqual", Base::IEquals, true),
    Spec::new("StartsWith", Base::StartsWith, false),
    Spec::new("DoesNotStartWith", Base::StartsWith, true),
    Spec::new("IStartsWith", Base::IStartsWith, false),
    Spec::new("IDoesNotStartWith", Base::IStartsWith, true),
    Spec::new("EndsWith", Base::EndsWith, false),
    Spec::new("DoesNotEndWith", Base::EndsWith, true),
    Spec::new("IEndsWith", Base::IEndsWith, false),
    Spec::new("IDoesNotEndWith", Base::IEndsWith, true),
    Spec::new("Contains", Base::Contains, false),
    Spec::new("DoesNotContain", Base::Contains, true),
    Spec::new("IContains", Base::IContains, false),
    Spec::new("IDoesNotContain", Base::IContains, true),
    Spec::new("IsGreaterThan", Base::Gt, false),
    Spec::new("IsGreaterThanOrEqual", Base::Gte, false),
    Spec::new("IsGreaterThanOrEquals", Base::Gte, false),
    Spec::new("IsLessThan", Base::Lt, false),
    Spec::new("IsLessThanOrEqual", Base::Lte, false),
    Spec::new("IsLessThanOrEquals", Base::Lte, false),
    Spec::new("IsIn", Base::IsIn, false),
    Spec::new("IsNotIn", Base::IsIn, true),
    Spec::new("Exists", Base::Exists, false),
    Spec::new("DoesNotExist", Base::Exists, true),
    Spec::new("IsNull", Base::IsNull, false),
    Spec::new("IsNotNull", Base::IsNull, true),
    Spec::new("IsNullOrEmpty", Base::IsNullOrEmpty, false),
    Spec::new("IsNotNullOrEmpty", Base::IsNullOrEmpty, true),
    Spec::new("IsIPAddress", Base::IsIp, false),
    Spec::new("IsIPv4Address", Base::IsIpv4, false),
    Spec::new("IsIPv6Address", Base::IsIpv6, false),
    Spec::new("IsIPAddressPublic", Base::IsPublic, false),
    Spec::new("IsIPAddressPrivate", Base::IsPrivate, false),
    Spec::new("IsIPAddressInCIDR", Base::InCidr, false),
    Spec::new("IsIPAddressNotInCIDR", Base::InCidr, true),
    Spec::new("CIDRContainsIPAddresses", Base::CidrContains, false),
    Spec::new("CIDRDoesNotContainIPAddresses", Base::CidrContains, true),
    Spec::new("MatchesRegex", Base::Regex, false),
    Spec::new("DoesNotMatchRegex", Base::Regex, true),
];

/// Every condition name a key/value expression accepts, for error messages and docs.
pub fn names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// The operand shape `name` expects, or `None` for an unknown condition.
pub fn arity(name: &str) -> Option<Arity> {
    spec(name).map(|s| match s.base {
        Base::Exists
        | Base::IsNull
        | Base::IsNullOrEmpty
        | Base::IsIp
        | Base::IsIpv4
        | Base::IsIpv6
        | Base::IsPublic
        | Base::IsPrivate => Arity::None,
        Base::IsIn => Arity::Values,
        _ => Arity::Value,
    })
}

/// True for conditions that can compare two keys (`Values: [{KeyPath}, {KeyPath}]`).
pub fn is_binary(name: &str) -> bool {
    spec(name).is_some_and(|s| {
        !matches!(
            s.base,
            Base::IsIn
                | Base::Exists
                | Base::IsNull
                | Base::IsNullOrEmpty
                | Base::IsIp
                | Base::IsIpv4
                | Base::IsIpv6
                | Base::IsPublic
                | Base::IsPrivate
                | Base::InCidr
                | Base::CidrContains
                | Base::Regex
        )
    })
}

fn text(name: &str, v: &Value) -> Result<String, String> {
    operand_text(v).ok_or_else(|| format!("{name} needs a string, number or boolean Value"))
}

impl Condition {
    /// Compiles condition `name` with its operands. `value` is `Value:`, `values` is `Values:`;
    /// which one is required follows [`arity`].
    pub fn compile(name: &str, operands: &[Value]) -> Result<Condition, String> {
        let spec = spec(name).ok_or_else(|| unknown(name))?;
        let single = || -> Result<&Value, String> {
            match operands {
                [v] => Ok(v),
                _ => Err(format!("{name} takes exactly one Value")),
            }
        };
        let test = match spec.base {
            Base::Equals => Test::Equals(single()?.clone()),
            Base::IEquals => {
                let v = single()?;
                Test::IEquals(v.clone(), fold(&text(name, v)?))
            }
            Base::StartsWith => Test::StartsWith(text(name, single()?)?),
            Base::IStartsWith => Test::IStartsWith(fold(&text(name, single()?)?)),
            Base::EndsWith => Test::EndsWith(text(name, single()?)?),
            Base::IEndsWith => Test::IEndsWith(fold(&text(name, single()?)?)),
            Base::Contains => {
                let v = single()?;
                Test::Contains(v.clone(), operand_text(v))
            }
            Base::IContains => Test::IContains(fold(&text(name, single()?)?)),
            Base::Gt | Base::Gte | Base::Lt | Base::Lte => {
                let v = single()?;
                if numeric_cmp(v, v).is_none() {
                    return Err(format!("{name} needs a numeric Value, got {v}"));
                }
                let (order, or_equal) = match spec.base {
                    Base::Gt => (Ordering::Greater, false),
                    Base::Gte => (Ordering::Greater, true),
                    Base::Lt => (Ordering::Less, false),
                    _ => (Ordering::Less, true),
                };
                Test::Compare(v.clone(), order, or_equal)
            }
            Base::IsIn => Test::IsIn(operands.to_vec()),
            Base::Exists => Test::Exists,
            Base::IsNull => Test::IsNull,
            Base::IsNullOrEmpty => Test::IsNullOrEmpty,
            Base::IsIp => Test::IsIp,
            Base::IsIpv4 => Test::IsIpv4,
            Base::IsIpv6 => Test::IsIpv6,
            Base::IsPublic => Test::IsPublic,
            Base::IsPrivate => Test::IsPrivate,
            Base::InCidr => Test::InCidr(
                operands
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .and_then(Cidr::parse)
                            .ok_or_else(|| format!("{name}: `{v}` is not a CIDR range"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Base::CidrContains => Test::CidrContains(
                operands
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .and_then(ip::parse_ip)
                            .ok_or_else(|| format!("{name}: `{v}` is not an IP address"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Base::Regex => {
                let pattern = single()?
                    .as_str()
                    .ok_or_else(|| format!("{name} needs a string pattern"))?;
                Test::Regex(
                    Regex::new(pattern)
                        .map_err(|e| format!("{name}: invalid regular expression: {e}"))?,
                )
            }
        };
        if operands.is_empty()
            && matches!(
                test,
                Test::IsIn(_) | Test::InCidr(_) | Test::CidrContains(_)
            )
        {
            return Err(format!("{name} needs at least one value"));
        }
        Ok(Condition {
            test,
            negate: spec.negate,
            name: spec.name,
            operands: operands.to_vec(),
        })
    }

    /// The condition's Panther name (`Equals`, `IsNotIn`, ...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The operands as written (`Value`, or each of `Values`).
    pub fn operands(&self) -> &[Value] {
        &self.operands
    }

    /// Evaluates the condition on what a key reached.
    pub fn eval(&self, found: &Found<'_>) -> bool {
        self.test.eval(found) != self.negate
    }

    /// Evaluates a multi-key comparison: the first key's value against the second's.
    /// A missing or multi-valued right-hand side makes the positive form false.
    pub fn eval_pair(&self, left: &Found<'_>, right: &Found<'_>) -> bool {
        let positive = match right.one() {
            Some(rhs) => match self.test.with_operand(rhs) {
                Some(test) => test.eval(left),
                None => false,
            },
            None => false,
        };
        positive != self.negate
    }

    /// True for tests that cost more than a comparison: regexes, IP parsing, CIDR ranges
    /// (the hot path runs them after the cheap checks of the same conjunction).
    pub fn is_costly(&self) -> bool {
        matches!(
            self.test,
            Test::Regex(_)
                | Test::IsIp
                | Test::IsIpv4
                | Test::IsIpv6
                | Test::IsPublic
                | Test::IsPrivate
                | Test::InCidr(_)
                | Test::CidrContains(_)
        )
    }

    /// The `Equals` / `IsIn` literal strings this condition pins a key to, if it is a positive
    /// equality on strings. The rule index uses it.
    pub fn pinned_strings(&self) -> Option<Vec<&str>> {
        if self.negate {
            return None;
        }
        match &self.test {
            Test::Equals(Value::String(s)) => Some(vec![s.as_str()]),
            Test::IsIn(values) => values.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }
}

fn unknown(name: &str) -> String {
    let valid: Vec<&str> = names().collect();
    format!(
        "unknown Condition `{name}`; valid conditions: {}, AnyElement, AllElements, \
         OnlyOneElement, NoElement, AlwaysTrue, AlwaysFalse",
        valid.join(", ")
    )
}

impl Test {
    /// The same test with a right-hand side taken from another key (multi-key expressions).
    fn with_operand(&self, rhs: &Value) -> Option<Test> {
        let txt = || operand_text(rhs);
        Some(match self {
            Test::Equals(_) => Test::Equals(rhs.clone()),
            Test::IEquals(..) => Test::IEquals(rhs.clone(), fold(&txt()?)),
            Test::StartsWith(_) => Test::StartsWith(txt()?),
            Test::IStartsWith(_) => Test::IStartsWith(fold(&txt()?)),
            Test::EndsWith(_) => Test::EndsWith(txt()?),
            Test::IEndsWith(_) => Test::IEndsWith(fold(&txt()?)),
            Test::Contains(..) => Test::Contains(rhs.clone(), txt()),
            Test::IContains(_) => Test::IContains(fold(&txt()?)),
            Test::Compare(_, order, or_equal) => Test::Compare(rhs.clone(), *order, *or_equal),
            _ => return None,
        })
    }

    fn eval(&self, found: &Found<'_>) -> bool {
        match self {
            Test::Exists => !found.is_missing(),
            Test::IsNull => matches!(found, Found::Missing | Found::One(Value::Null)),
            Test::IsNullOrEmpty => match found {
                Found::Missing => true,
                Found::One(v) => is_empty(v),
                Found::Many(_) => false,
            },
            Test::Contains(needle, text) => {
                let text = text.as_deref();
                match found {
                    Found::Missing => false,
                    Found::One(Value::Array(items)) => {
                        items.iter().any(|v| contains(v, needle, text))
                    }
                    Found::One(v) => contains_str(v, text),
                    Found::Many(items) => items.iter().any(|v| contains(v, needle, text)),
                }
            }
            Test::IContains(needle) => match found {
                Found::Missing => false,
                Found::One(Value::Array(items)) => items.iter().any(|v| icontains(v, needle)),
                Found::One(v) => v.as_str().is_some_and(|s| compare::icontains(s, needle)),
                Found::Many(items) => items.iter().any(|v| icontains(v, needle)),
            },
            Test::IsIn(values) => match found {
                Found::Missing => false,
                Found::One(Value::Array(items)) => {
                    items.iter().any(|v| values.iter().any(|w| json_eq(v, w)))
                }
                Found::One(v) => values.iter().any(|w| json_eq(v, w)),
                Found::Many(items) => items.iter().any(|v| values.iter().any(|w| json_eq(v, w))),
            },
            Test::Equals(expected) => match found {
                Found::One(v) => json_eq(v, expected),
                Found::Many(items) => match expected {
                    Value::Array(exp) => {
                        items.len() == exp.len()
                            && items.iter().zip(exp).all(|(a, b)| json_eq(a, b))
                    }
                    _ => false,
                },
                Found::Missing => false,
            },
            // The remaining tests read one scalar; a list (or nothing) fails them.
            scalar => match found {
                Found::One(v) if !v.is_array() => scalar.eval_scalar(v),
                _ => false,
            },
        }
    }

    fn eval_scalar(&self, v: &Value) -> bool {
        if let Test::IEquals(original, folded) = self {
            return match v {
                Value::String(s) if original.is_string() => compare::iequals(s, folded),
                other => json_eq(other, original),
            };
        }
        if let Test::Compare(rhs, order, or_equal) = self {
            return match numeric_cmp(v, rhs) {
                Some(Ordering::Equal) => *or_equal,
                Some(o) => o == *order,
                None => false,
            };
        }
        let Some(s) = v.as_str() else {
            return false;
        };
        match self {
            Test::StartsWith(p) => s.starts_with(p.as_str()),
            Test::IStartsWith(p) => compare::istarts_with(s, p),
            Test::EndsWith(p) => s.ends_with(p.as_str()),
            Test::IEndsWith(p) => compare::iends_with(s, p),
            Test::IsIp => ip::parse_ip(s).is_some(),
            Test::IsIpv4 => ip::parse_ip(s).is_some_and(|a| a.is_ipv4()),
            Test::IsIpv6 => ip::parse_ip(s).is_some_and(|a| a.is_ipv6()),
            Test::IsPublic => ip::parse_ip(s).is_some_and(ip::is_global),
            Test::IsPrivate => ip::parse_ip(s).is_some_and(ip::is_private),
            Test::InCidr(nets) => {
                ip::parse_ip(s).is_some_and(|a| nets.iter().any(|n| n.contains(a)))
            }
            Test::CidrContains(addrs) => {
                Cidr::parse(s).is_some_and(|n| addrs.iter().all(|a| n.contains(*a)))
            }
            Test::Regex(re) => re.is_match(s),
            _ => false,
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `Contains` on one scalar: substring of a string field.
fn contains_str(v: &Value, needle_text: Option<&str>) -> bool {
    match (v.as_str(), needle_text) {
        (Some(s), Some(n)) => s.contains(n),
        _ => false,
    }
}

/// `Contains` on one element of a list: equal to the needle, or a string containing it.
fn contains(element: &Value, needle: &Value, needle_text: Option<&str>) -> bool {
    json_eq(element, needle) || contains_str(element, needle_text)
}

/// `IContains` on one element of a list: a string containing the needle in any case.
fn icontains(element: &Value, needle_folded: &str) -> bool {
    element
        .as_str()
        .is_some_and(|s| compare::icontains(s, needle_folded))
}

#[cfg(test)]
#[path = "condition_tests.rs"]
mod tests;
