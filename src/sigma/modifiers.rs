//! Value modifiers: `field|mod1|mod2: values` compiled into an [`Item`].
//!
//! Modifiers apply in the order written, each to every value, as the Sigma specification and
//! pySigma do. Transformations (`contains`, `base64offset`, `windash`, `expand`, ...) rewrite a
//! value, possibly into several alternatives; type modifiers (`re`, `cidr`, `gt`, `exists`,
//! `fieldref`) turn it into another kind of test; `all` and `neq` change how the values
//! combine. Anything a modifier cannot apply to is a load error that names the modifier.

use super::encoding;
use super::field::FieldPath;
use super::item::{Item, RefMode, Test};
use super::sigmastr::SigmaStr;
use super::value::RawValue;
use super::wildcard::Pattern;
use crate::rule::ip::Cidr;
use regex::Regex;
use serde_json::{Number, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Placeholder values from the rule's `trailwatch.placeholders` (each a Sigma string).
pub type Placeholders = BTreeMap<String, Vec<String>>;

/// Every modifier trailwatch implements.
#[rustfmt::skip]
pub const MODIFIERS: &[&str] = &[
    "contains", "startswith", "endswith", "all", "base64", "base64offset", "utf16le", "utf16be",
    "utf16", "wide", "windash", "re", "i", "m", "s", "ignorecase", "multiline", "dotall",
    "cidr", "exists", "cased", "gt", "gte", "lt", "lte", "neq", "fieldref", "expand",
];

/// Modifiers of the specification trailwatch does not implement.
const UNSUPPORTED: &[&str] = &["minute", "hour", "day", "week", "month", "year"];

/// A value on its way through the modifiers.
#[derive(Debug, Clone)]
enum Val {
    /// A string; `original` is the text as written while no modifier has touched it.
    Str {
        s: SigmaStr,
        cased: bool,
        original: Option<String>,
    },
    /// The UTF-16 encoding of a string, waiting for `base64`/`base64offset`.
    Bytes(Vec<u8>),
    Num(Number),
    Bool(bool),
    Null,
    Regex {
        pattern: String,
        flags: String,
    },
    Test(Test),
}

/// Modifiers that only make sense on a field.
#[rustfmt::skip]
const KEYWORD_FORBIDDEN: &[&str] = &[
    "startswith", "endswith", "exists", "cidr", "gt", "gte", "lt", "lte", "fieldref",
];

impl Val {
    /// A string a modifier produced.
    fn text(s: SigmaStr, cased: bool) -> Val {
        Val::Str {
            s,
            cased,
            original: None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Val::Str { .. } | Val::Bytes(_) => "a string",
            Val::Num(_) => "a number",
            Val::Bool(_) => "a boolean",
            Val::Null => "null",
            Val::Regex { .. } => "a regular expression",
            Val::Test(Test::FieldRef(..)) => "a field reference",
            Val::Test(Test::Cidr(_)) => "a CIDR range",
            Val::Test(Test::Compare(..)) => "a numeric comparison",
            Val::Test(Test::Exists(_)) => "an existence test",
            Val::Test(_) => "this value",
        }
    }
}

/// Compiles one detection item. `key` is the map key as written (`field|mod|mod`, or
/// `|mod` for keywords); `field` is `None` for keyword values.
pub fn build_item(
    key: &str,
    field: Option<&str>,
    modifiers: &[&str],
    values: &[RawValue],
    placeholders: &Placeholders,
) -> Result<Item, String> {
    let field = field.map(FieldPath::parse).transpose()?;
    if values.is_empty() {
        return Err("the list of values is empty".into());
    }
    let mut item = Item {
        field,
        values: Vec::new(),
        all: false,
        negate: false,
        key: key.to_string(),
        shown: values.iter().map(RawValue::shown).collect(),
    };
    let mut vals: Vec<Vec<Val>> = values.iter().map(|v| vec![initial(v)]).collect();
    for (i, &name) in modifiers.iter().enumerate() {
        let first = i == 0;
        match name {
            "all" => item.all = true,
            "neq" => item.negate = true,
            _ if MODIFIERS.contains(&name) => {
                for alts in &mut vals {
                    let mut next = Vec::new();
                    for v in alts.drain(..) {
                        next.extend(apply(name, v, first, &item, placeholders)?);
                    }
                    *alts = next;
                }
            }
            _ if UNSUPPORTED.contains(&name) => {
                return Err(format!("modifier `{name}` is not supported by trailwatch"))
            }
            _ => {
                return Err(format!(
                    "unknown modifier `{name}`; valid modifiers: {}",
                    MODIFIERS.join(", ")
                ))
            }
        }
    }
    if item.all && values.len() < 2 {
        return Err("`all` needs a list of at least two values".into());
    }
    for alts in vals {
        let tests = alts
            .into_iter()
            .map(|v| finish(v, item.field.is_none()))
            .collect::<Result<Vec<_>, _>>()?;
        item.values.push(tests);
    }
    Ok(item)
}

fn initial(v: &RawValue) -> Val {
    match v {
        RawValue::Str(s) => Val::Str {
            s: SigmaStr::parse(s),
            cased: false,
            original: Some(s.clone()),
        },
        RawValue::Num(n) => Val::Num(n.clone()),
        RawValue::Bool(b) => Val::Bool(*b),
        RawValue::Null => Val::Null,
    }
}

/// A number or boolean used where a string is expected stands for its text.
fn as_string(v: Val) -> Result<Val, String> {
    match v {
        Val::Num(n) => Ok(Val::text(SigmaStr::literal(&n.to_string()), false)),
        Val::Bool(b) => Ok(Val::text(SigmaStr::literal(&b.to_string()), false)),
        Val::Bytes(b) => String::from_utf8(b)
            .map(|t| Val::text(SigmaStr::literal(&t), false))
            .map_err(|_| {
                "the UTF-16 encoding of this value is not text; follow the utf16 modifier with \
                 base64 or base64offset"
                    .into()
            }),
        other => Ok(other),
    }
}

/// Applies one modifier to one value.
fn apply(
    name: &str,
    v: Val,
    first: bool,
    item: &Item,
    placeholders: &Placeholders,
) -> Result<Vec<Val>, String> {
    let needs = |what: &str| Err(format!("modifier `{name}` applies to {what}"));
    if item.field.is_none() && KEYWORD_FORBIDDEN.contains(&name) {
        return Err(format!(
            "modifier `{name}` needs a field; keywords are searched anywhere in the record"
        ));
    }
    let v = match (name, v) {
        ("utf16le" | "wide" | "utf16be" | "utf16" | "base64" | "base64offset", Val::Bytes(b)) => {
            Val::Bytes(b)
        }
        ("re" | "cidr" | "exists" | "gt" | "gte" | "lt" | "lte", v) => v,
        (_, v) => as_string(v)?,
    };
    Ok(vec![match (name, v) {
        ("contains" | "startswith" | "endswith", Val::Str { mut s, cased, .. }) => {
            if name != "startswith" {
                s.prepend_star();
            }
            if name != "endswith" {
                s.append_star();
            }
            Val::text(s, cased)
        }
        ("contains" | "startswith" | "endswith", Val::Test(Test::FieldRef(f, mode, cased))) => {
            let mode = match (mode, name) {
                (RefMode::Equals, "startswith") => RefMode::StartsWith,
                (RefMode::Equals, "endswith") => RefMode::EndsWith,
                (RefMode::StartsWith, "startswith") | (RefMode::EndsWith, "endswith") => mode,
                _ => RefMode::Contains,
            };
            Val::Test(Test::FieldRef(f, mode, cased))
        }
        ("cased", Val::Str { s, original, .. }) => Val::Str {
            s,
            cased: true,
            original,
        },
        ("cased", Val::Test(Test::FieldRef(f, mode, _))) => {
            Val::Test(Test::FieldRef(f, mode, true))
        }
        ("windash", Val::Str { s, cased, .. }) => Val::text(s.windash(), cased),
        ("expand", Val::Str { s, cased, .. }) => {
            let expanded = s.insert_placeholders().expand(placeholders)?;
            return Ok(expanded.into_iter().map(|s| Val::text(s, cased)).collect());
        }
        ("utf16le" | "wide" | "utf16be" | "utf16", Val::Str { s, .. }) => {
            let text = s
                .plain()
                .ok_or_else(|| format!("modifier `{name}` cannot encode wildcards"))?;
            Val::Bytes(encoding::utf16(name, &text))
        }
        ("base64" | "base64offset", Val::Str { s, .. }) => {
            let text = s
                .plain()
                .ok_or_else(|| format!("modifier `{name}` cannot encode wildcards"))?;
            return Ok(encode(name, text.as_bytes()));
        }
        ("base64" | "base64offset", Val::Bytes(b)) => return Ok(encode(name, &b)),
        (
            "re",
            Val::Str {
                original: Some(pattern),
                ..
            },
        ) if first => Val::Regex {
            pattern,
            flags: String::new(),
        },
        ("re", _) => return Err("modifier `re` must come first and applies to a string".into()),
        (
            "i" | "ignorecase" | "m" | "multiline" | "s" | "dotall",
            Val::Regex { pattern, mut flags },
        ) => {
            flags.push(match name {
                "i" | "ignorecase" => 'i',
                "m" | "multiline" => 'm',
                _ => 's',
            });
            Val::Regex { pattern, flags }
        }
        ("i" | "ignorecase" | "m" | "multiline" | "s" | "dotall", _) => {
            return needs("a regular expression (after `re`)")
        }
        (
            "cidr",
            Val::Str {
                original: Some(text),
                ..
            },
        ) if first => Val::Test(Test::Cidr(
            Cidr::parse(&text).ok_or_else(|| format!("`{text}` is not a CIDR range"))?,
        )),
        ("cidr", _) => return Err("modifier `cidr` must come first and applies to a string".into()),
        ("exists", Val::Bool(b)) if first && item.field.is_some() => Val::Test(Test::Exists(b)),
        ("exists", _) => {
            return Err(
                "modifier `exists` must come first, after a field, with true or false".into(),
            )
        }
        ("gt" | "gte" | "lt" | "lte", Val::Num(n)) => {
            let (order, or_equal) = match name {
                "gt" => (Ordering::Greater, false),
                "gte" => (Ordering::Greater, true),
                "lt" => (Ordering::Less, false),
                _ => (Ordering::Less, true),
            };
            Val::Test(Test::Compare(order, or_equal, Value::Number(n)))
        }
        ("gt" | "gte" | "lt" | "lte", _) => return needs("a number"),
        ("fieldref", Val::Str { s, .. }) => {
            let other = s
                .plain()
                .ok_or("a field reference cannot contain wildcards")?;
            Val::Test(Test::FieldRef(
                FieldPath::parse(&other)?,
                RefMode::Equals,
                false,
            ))
        }
        (_, v) => return Err(format!("modifier `{name}` cannot apply to {}", v.kind())),
    }])
}

/// `base64`/`base64offset` of the bytes, as case-sensitive strings.
fn encode(name: &str, data: &[u8]) -> Vec<Val> {
    let texts = if name == "base64" {
        vec![encoding::base64(data)]
    } else {
        encoding::base64_offsets(data)
    };
    texts
        .iter()
        .map(|t| Val::text(SigmaStr::literal(t), true))
        .collect()
}

/// The test a finished value stands for. Keyword strings match anywhere in a value.
fn finish(v: Val, keyword: bool) -> Result<Test, String> {
    Ok(match as_string(v)? {
        Val::Str { mut s, cased, .. } => {
            if keyword {
                s.prepend_star();
                s.append_star();
            }
            Test::Text(Pattern::compile(&s, cased)?)
        }
        Val::Regex { pattern, flags } => {
            let prefix = if flags.is_empty() {
                String::new()
            } else {
                format!("(?{flags})")
            };
            Test::Regex(
                Regex::new(&format!("{prefix}{pattern}"))
                    .map_err(|e| format!("invalid regular expression: {e}"))?,
            )
        }
        Val::Null if keyword => return Err("a keyword cannot be null".into()),
        Val::Null => Test::Null,
        Val::Test(t) if keyword && !matches!(t, Test::Text(_) | Test::Regex(_)) => {
            return Err(
                "this modifier needs a field; keywords take strings and regular expressions".into(),
            )
        }
        Val::Test(t) => t,
        Val::Num(_) | Val::Bool(_) | Val::Bytes(_) => unreachable!("converted by as_string"),
    })
}

#[cfg(test)]
#[path = "modifiers_tests.rs"]
mod tests;
