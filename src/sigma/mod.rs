//! Sigma rules for CloudTrail, side by side with Panther's format.
//!
//! A rule file whose top-level keys are Sigma's (`title`, `logsource`, `detection`) is read
//! here: the document ([`mod@parse`], [`meta`]), the detection ([`detection`]: searches of
//! [`item`]s built by the [`modifiers`] from [`sigmastr`] values and compiled to
//! [`wildcard`] patterns; the [`condition`]), read from events through [`field`] paths. It is
//! compiled ([`compile`]) into the same [`Rule`] a Panther rule becomes; its detection is one
//! [`Matcher`], which the rule core holds as `Expr::External` and reaches only through the
//! [`crate::rule::external::Detection`] trait (the core imports nothing from here), so alerts,
//! dedup, sinks, tests, the catalog and hot reload treat both formats alike. Which format a
//! file is in is decided by `crate::rule_loader`, with [`is_sigma`]. docs/RULES.md, "Sigma
//! rules", states the semantics, including the ones the specification leaves to the
//! implementation.

pub mod compile;
pub mod condition;
pub mod detection;
pub mod encoding;
pub mod field;
pub mod item;
pub mod matcher;
pub mod meta;
pub mod modifiers;
pub mod parse;
pub mod sigmastr;
pub mod value;
pub mod wildcard;

pub use matcher::Matcher;

use crate::error::{locate_top_level_key, Located};
use crate::rule::Rule;
use serde::de::DeserializeSeed;
use serde_yaml::Value;
use std::path::Path;

/// True when `source` is a Sigma document rather than a Panther rule: a mapping with a
/// `detection`, `logsource` or `correlation` key and none of Panther's `RuleID`,
/// `AnalysisType` or `Detection`.
pub fn is_sigma(source: &str) -> bool {
    let Ok(Value::Mapping(doc)) = serde_yaml::from_str::<Value>(source) else {
        return false;
    };
    let has = |k: &str| doc.contains_key(k);
    ["detection", "logsource", "correlation"]
        .iter()
        .any(|k| has(k))
        && !["RuleID", "AnalysisType", "Detection"]
            .iter()
            .any(|k| has(k))
}

/// Parses and compiles a Sigma rule; `path` is only used in errors.
pub fn parse(path: &Path, source: &str) -> Result<Rule, Located> {
    let context = context(source);
    let spec = parse::DocSeed(&context)
        .deserialize(serde_yaml::Deserializer::from_str(source))
        .map_err(|e| Located::from_yaml(path, &e))?;
    compile::to_rule(spec).map_err(|e| {
        let (line, col) = locate_top_level_key(source, e.key);
        Located::new(path, line, col, e.message)
    })
}

/// Reads what the detection needs beforehand (search identifiers, placeholder values). It is
/// lenient: whatever is malformed here is reported, with its position, by the real parse.
fn context(source: &str) -> parse::Context {
    let mut context = parse::Context::default();
    let Ok(Value::Mapping(doc)) = serde_yaml::from_str::<Value>(source) else {
        return context;
    };
    if let Some(Value::Mapping(detection)) = doc.get("detection") {
        context.names = detection
            .keys()
            .filter_map(Value::as_str)
            .filter(|k| *k != "condition" && *k != "timeframe")
            .map(str::to_string)
            .collect();
    }
    let placeholders = doc
        .get("trailwatch")
        .and_then(|t| t.get("placeholders"))
        .and_then(Value::as_mapping);
    for (name, values) in placeholders.into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        let list = match values {
            Value::Sequence(items) => items.iter().filter_map(scalar_text).collect(),
            other => scalar_text(other).into_iter().collect(),
        };
        context.placeholders.insert(name.to_string(), list);
    }
    context
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
