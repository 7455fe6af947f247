//! Match expressions: Panther's no-code `Detection` grammar, compiled.
//!
//! The tree is deserialized straight into its compiled form by a hand-written visitor, so a
//! mistake anywhere in it (an unknown condition, `IsIn` without `Values`, a bad CIDR) is
//! reported by the YAML parser with the position of the expression that holds it.

use super::condition::{self, Arity, Condition};
use super::external::Detection;
use super::keypath::{Found, KeyPath};
use crate::event::document::Document;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// A compiled match expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// All children match (a YAML list is an implicit `All`).
    All(Vec<Expr>),
    /// At least one child matches.
    Any(Vec<Expr>),
    /// Exactly one child matches.
    OnlyOne(Vec<Expr>),
    /// No child matches.
    None(Vec<Expr>),
    /// `AlwaysTrue` / `AlwaysFalse`.
    Always(bool),
    /// Key/value, key/values and existence expressions.
    Check { path: KeyPath, condition: Condition },
    /// Multi-key: compares the values of two keys.
    Pair {
        left: KeyPath,
        right: KeyPath,
        condition: Condition,
    },
    /// List comprehension over the elements a key reaches.
    Elements {
        path: KeyPath,
        quantifier: Quantifier,
        body: Box<Expr>,
    },
    /// A detection compiled by a front end whose logic the core does not take apart (Sigma's
    /// searches and condition); see [`Detection`].
    External(Arc<dyn Detection>),
}

/// The list-comprehension conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
    OnlyOne,
    /// `NoElement`, the exact negation of `AnyElement`.
    NoElement,
}

impl Expr {
    /// Evaluates the expression against `event` (or a list element, inside a comprehension).
    pub fn matches(&self, event: &Value) -> bool {
        self.matches_in(event)
    }

    /// Evaluates the expression against a record read through a [`Document`] (the hot path
    /// reads records it has not decoded); the same answer as [`Expr::matches`] on the
    /// decoded record.
    pub fn matches_in<D: Document>(&self, event: &D) -> bool {
        match self {
            Expr::All(children) => children.iter().all(|c| c.matches_in(event)),
            Expr::Any(children) => children.iter().any(|c| c.matches_in(event)),
            Expr::OnlyOne(children) => {
                let mut hits = children.iter().filter(|c| c.matches_in(event));
                hits.next().is_some() && hits.next().is_none()
            }
            Expr::None(children) => !children.iter().any(|c| c.matches_in(event)),
            Expr::Always(value) => *value,
            Expr::Check { path, condition } => condition.eval(&path.find_in(event)),
            Expr::Pair {
                left,
                right,
                condition,
            } => condition.eval_pair(&left.find_in(event), &right.find_in(event)),
            Expr::Elements {
                path,
                quantifier,
                body,
            } => {
                let found = path.find_in(event);
                match &found {
                    Found::One(Value::Array(items)) => quantify(*quantifier, items.iter(), body),
                    Found::Many(items) => quantify(*quantifier, items.iter().copied(), body),
                    _ => *quantifier == Quantifier::NoElement,
                }
            }
            Expr::External(d) => d.matches(event),
        }
    }

    /// Calls `visit` with every top-level key path the expression reads from the event
    /// (paths inside a list comprehension are relative to an element and stay inside the
    /// comprehension's own path).
    pub fn for_each_path<'a>(&'a self, visit: &mut dyn FnMut(&'a KeyPath)) {
        match self {
            Expr::All(c) | Expr::Any(c) | Expr::OnlyOne(c) | Expr::None(c) => {
                c.iter().for_each(|e| e.for_each_path(visit))
            }
            Expr::Always(_) => {}
            Expr::Check { path, .. } => visit(path),
            Expr::Pair { left, right, .. } => {
                visit(left);
                visit(right);
            }
            Expr::Elements { path, .. } => visit(path),
            Expr::External(d) => d.for_each_path(visit),
        }
    }

    /// The strings this expression requires top-level field `field` to equal, when it is a
    /// conjunction that pins it (`Equals` or `IsIn`). Used to index rules.
    pub fn pinned(&self, field: &str) -> Option<Vec<&str>> {
        match self {
            Expr::Check { path, condition } if path.is_top_level(field) => {
                condition.pinned_strings()
            }
            Expr::All(children) => children.iter().find_map(|c| c.pinned(field)),
            Expr::External(d) => d.pinned(field),
            _ => None,
        }
    }

    /// The ASCII-lower-cased strings this expression requires `field` to equal ignoring case,
    /// for rules that do not pin it exactly (an external detection whose equalities ignore
    /// case, see [`Detection::pinned_folded`]). `None` when it does not.
    pub fn pinned_folded(&self, field: &str) -> Option<Vec<String>> {
        match self {
            Expr::External(d) => d.pinned_folded(field),
            Expr::All(children) => children.iter().find_map(|c| c.pinned_folded(field)),
            _ => None,
        }
    }
}

/// Applies a list-comprehension quantifier to the elements of a list.
fn quantify<'a>(
    quantifier: Quantifier,
    mut items: impl Iterator<Item = &'a Value>,
    body: &Expr,
) -> bool {
    match quantifier {
        Quantifier::Any => items.any(|v| body.matches(v)),
        Quantifier::NoElement => !items.any(|v| body.matches(v)),
        Quantifier::All => items.all(|v| body.matches(v)),
        Quantifier::OnlyOne => {
            let mut hits = items.filter(|v| body.matches(v));
            hits.next().is_some() && hits.next().is_none()
        }
    }
}

/// A list of expressions, as `Detection:` and `InlineFilters:` hold them (an implicit `All`).
#[derive(Debug, Clone, Default)]
pub struct ExprList(pub Vec<Expr>);

impl<'de> Deserialize<'de> for ExprList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ExprList(Vec::<Expr>::deserialize(d)?))
    }
}

impl ExprList {
    pub fn into_expr(self) -> Expr {
        Expr::All(self.0)
    }
}

const KEYS: &[&str] = &[
    "Key",
    "KeyPath",
    "DeepKey",
    "Condition",
    "Value",
    "Values",
    "Expressions",
    "All",
    "Any",
    "OnlyOne",
    "None",
];

/// The fields of one expression mapping, as written.
#[derive(Default)]
struct Raw {
    key: Option<String>,
    key_path: Option<String>,
    deep_key: Option<Vec<String>>,
    condition: Option<String>,
    value: Option<Value>,
    values: Option<Vec<Value>>,
    expressions: Option<Vec<Expr>>,
    combinator: Option<(&'static str, Vec<Expr>)>,
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ExprVisitor)
    }
}

struct ExprVisitor;

impl<'de> Visitor<'de> for ExprVisitor {
    type Value = Expr;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a match expression (a mapping with Key/KeyPath/DeepKey and Condition, or All/Any/OnlyOne/None)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expr, A::Error> {
        let mut raw = Raw::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "Key" => raw.key = Some(map.next_value()?),
                "KeyPath" => raw.key_path = Some(map.next_value()?),
                "DeepKey" => raw.deep_key = Some(map.next_value()?),
                "Condition" => raw.condition = Some(map.next_value::<ConditionName>()?.0),
                "Value" => raw.value = Some(map.next_value()?),
                "Values" => raw.values = Some(map.next_value()?),
                "Expressions" => raw.expressions = Some(map.next_value()?),
                "All" | "Any" | "OnlyOne" | "None" => {
                    if let Some((first, _)) = raw.combinator {
                        return Err(de::Error::custom(format!(
                            "`{first}` and `{key}` cannot share one expression; nest them"
                        )));
                    }
                    let name = KEYS.iter().find(|k| **k == key).copied().unwrap_or("All");
                    raw.combinator = Some((name, map.next_value()?));
                }
                other => return Err(de::Error::unknown_field(other, KEYS)),
            }
        }
        raw.compile().map_err(de::Error::custom)
    }
}

/// A `Condition:` value, checked while the parser stands on it: an error raised there carries
/// the position of the name itself, where one raised by `Raw::compile` after the whole mapping
/// was read would carry the position of the mapping.
struct ConditionName(String);

impl<'de> Deserialize<'de> for ConditionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a condition name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                check_condition_name(v).map_err(E::custom)?;
                Ok(v.to_string())
            }
        }
        d.deserialize_str(NameVisitor).map(ConditionName)
    }
}

/// Fails with the list of valid names when `name` is no condition at all.
fn check_condition_name(name: &str) -> Result<(), String> {
    let structural = matches!(
        name,
        "AlwaysTrue"
            | "AlwaysFalse"
            | "AnyElement"
            | "AllElements"
            | "OnlyOneElement"
            | "NoElement"
    );
    if structural || condition::arity(name).is_some() {
        return Ok(());
    }
    // Let Condition::compile produce the message listing every valid name.
    Err(Condition::compile(name, &[]).err().unwrap_or_default())
}

impl Raw {
    fn path(&self) -> Result<Option<KeyPath>, String> {
        let given = [
            self.key.is_some(),
            self.key_path.is_some(),
            self.deep_key.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err("use only one of Key, KeyPath and DeepKey".into());
        }
        if let Some(k) = &self.key {
            return Ok(Some(KeyPath::key(k)));
        }
        if let Some(p) = &self.key_path {
            return KeyPath::parse(p).map(Some);
        }
        if let Some(parts) = &self.deep_key {
            return KeyPath::deep_key(parts).map(Some);
        }
        Ok(None)
    }

    fn compile(self) -> Result<Expr, String> {
        let path = self.path()?;
        if let Some((name, children)) = self.combinator {
            if path.is_some()
                || self.condition.is_some()
                || self.value.is_some()
                || self.values.is_some()
                || self.expressions.is_some()
            {
                return Err(format!(
                    "`{name}` combines expressions; it cannot also have a key, Condition, Value(s) or Expressions"
                ));
            }
            if children.is_empty() {
                return Err(format!("`{name}` needs at least one expression"));
            }
            return Ok(match name {
                "Any" => Expr::Any(children),
                "OnlyOne" => Expr::OnlyOne(children),
                "None" => Expr::None(children),
                _ => Expr::All(children),
            });
        }
        let Some(name) = self.condition else {
            return Err("an expression needs a Condition (or All/Any/OnlyOne/None)".into());
        };
        let quantifier = match name.as_str() {
            "AlwaysTrue" | "AlwaysFalse" => {
                if path.is_some()
                    || self.value.is_some()
                    || self.values.is_some()
                    || self.expressions.is_some()
                {
                    return Err(format!("{name} takes no key, value or Expressions"));
                }
                return Ok(Expr::Always(name == "AlwaysTrue"));
            }
            "AnyElement" => Some(Quantifier::Any),
            "AllElements" => Some(Quantifier::All),
            "OnlyOneElement" => Some(Quantifier::OnlyOne),
            "NoElement" => Some(Quantifier::NoElement),
            _ => None,
        };
        if let Some(quantifier) = quantifier {
            let path = path.ok_or_else(|| format!("{name} needs a Key, KeyPath or DeepKey"))?;
            let body = self
                .expressions
                .filter(|e| !e.is_empty())
                .ok_or_else(|| format!("{name} needs a non-empty Expressions list"))?;
            return Ok(Expr::Elements {
                path,
                quantifier,
                body: Box::new(Expr::All(body)),
            });
        }
        if self.expressions.is_some() {
            return Err(format!(
                "Expressions belongs to AnyElement/AllElements/OnlyOneElement/NoElement, not {name}"
            ));
        }
        let arity = condition::arity(&name).ok_or_else(|| {
            // Let Condition::compile produce the message listing every valid name.
            Condition::compile(&name, &[]).err().unwrap_or_default()
        })?;
        // Multi-key: no key of its own, and Values are key specifiers.
        let values_are_keys = self
            .values
            .as_ref()
            .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_object));
        if path.is_none() && values_are_keys && self.value.is_none() {
            return compile_pair(&name, self.values.unwrap_or_default());
        }
        // Without a key, the condition tests the value itself (an element of a list, inside
        // AnyElement and friends).
        let path = path.unwrap_or_else(KeyPath::root_value);
        let operands = match (arity, self.value, self.values) {
            (Arity::None, None, None) => vec![],
            (Arity::None, _, _) => return Err(format!("{name} takes no Value")),
            (_, Some(_), Some(_)) => return Err("use Value or Values, not both".into()),
            (Arity::Values, Some(_), None) => {
                return Err(format!("{name} needs `Values:` (a list), not `Value:`"))
            }
            (_, None, Some(values)) if arity == Arity::Values || allows_values(&name) => values,
            (_, None, Some(_)) => {
                return Err(format!(
                    "{name} takes one `Value:`, not `Values:` (`Values:` of key specifiers and no key of its own makes a multi-key expression)"
                ))
            }
            (_, Some(value), None) => vec![value],
            (_, None, None) => return Err(format!("{name} needs a Value")),
        };
        let condition = Condition::compile(&name, &operands)?;
        Ok(Expr::Check { path, condition })
    }
}

/// CIDR conditions accept either one `Value` or a list of `Values`.
fn allows_values(name: &str) -> bool {
    matches!(
        name,
        "IsIPAddressInCIDR"
            | "IsIPAddressNotInCIDR"
            | "CIDRContainsIPAddresses"
            | "CIDRDoesNotContainIPAddresses"
    )
}

fn compile_pair(name: &str, values: Vec<Value>) -> Result<Expr, String> {
    if !condition::is_binary(name) {
        return Err(format!("{name} cannot compare two keys"));
    }
    let keys: Vec<KeyPath> = values
        .iter()
        .map(key_specifier)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("multi-key {name}: {e}"))?;
    let [left, right]: [KeyPath; 2] = keys
        .try_into()
        .map_err(|_| format!("multi-key {name} compares exactly two keys"))?;
    // The operand comes from the right-hand key at evaluation time; compile with a
    // placeholder of a type the condition accepts.
    let placeholder = Value::from(0);
    let condition = Condition::compile(name, &[placeholder])?;
    Ok(Expr::Pair {
        left,
        right,
        condition,
    })
}

/// Reads `{Key: a}`, `{KeyPath: a.b}` or `{DeepKey: [a, b]}` from a `Values` entry.
fn key_specifier(v: &Value) -> Result<KeyPath, String> {
    let map = v
        .as_object()
        .filter(|m| m.len() == 1)
        .ok_or_else(|| format!("`{v}` is not a key specifier like {{KeyPath: a.b}}"))?;
    let (kind, spec) = map.iter().next().expect("one entry");
    match (kind.as_str(), spec) {
        ("Key", Value::String(s)) => Ok(KeyPath::key(s)),
        ("KeyPath", Value::String(s)) => KeyPath::parse(s),
        ("DeepKey", Value::Array(parts)) => {
            let parts: Option<Vec<String>> = parts
                .iter()
                .map(|p| p.as_str().map(str::to_string))
                .collect();
            KeyPath::deep_key(&parts.ok_or("DeepKey entries must be strings")?)
        }
        _ => Err(format!(
            "`{v}` is not a key specifier like {{KeyPath: a.b}}"
        )),
    }
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
