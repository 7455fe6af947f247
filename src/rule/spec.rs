//! `RuleSpec`: a Panther rule file exactly as written.
//!
//! Every key of Panther's rule YAML is accepted and any other key is an error
//! (`deny_unknown_fields`), so a typo such as `Severty:` is caught at load time instead of
//! silently changing a rule. Defaults are Panther's: `Enabled` and `CreateAlert` true,
//! `DedupPeriodMinutes` 60, `Threshold` 1.

use super::compile::Rule;
use super::expr::ExprList;
use super::keypath::KeyPath;
use super::template::Template;
use crate::error::{locate_top_level_key, Located};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use crate::severity::Severity;

fn yes() -> bool {
    true
}
fn sixty() -> u32 {
    60
}
fn one() -> u32 {
    1
}

/// Parses and compiles the text of a Panther rule file; `path` is only used in errors, which
/// carry the line and column of the offending key. This is the Panther front end's entry
/// point; `crate::rule_loader` decides which front end reads a file.
pub fn parse(path: &Path, source: &str) -> Result<Rule, Located> {
    let spec: RuleSpec = serde_yaml::from_str(source).map_err(|e| Located::from_yaml(path, &e))?;
    Rule::compile(spec).map_err(|e| {
        let (line, col) = locate_top_level_key(source, e.key);
        Located::new(path, line, col, e.message)
    })
}

/// A rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "PascalCase")]
pub struct RuleSpec {
    pub analysis_type: Option<String>,
    #[serde(rename = "RuleID")]
    pub rule_id: String,
    pub display_name: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub log_types: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub severity: Severity,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    #[serde(default)]
    pub reports: BTreeMap<String, Vec<String>>,
    #[serde(default = "sixty")]
    pub dedup_period_minutes: u32,
    #[serde(default = "one")]
    pub threshold: u32,
    #[serde(default)]
    pub summary_attributes: Vec<String>,
    #[serde(default)]
    pub tests: Vec<TestSpec>,
    pub filename: Option<String>,
    #[serde(default = "yes")]
    pub create_alert: bool,
    #[serde(default)]
    pub output_ids: Vec<String>,
    pub status: Option<String>,
    pub detection: Option<ExprList>,
    pub inline_filters: Option<ExprList>,
    pub alert_title: Option<String>,
    #[serde(default)]
    pub alert_context: Vec<ContextEntry>,
    #[serde(default)]
    pub group_by: Vec<KeySpec>,
    #[serde(default)]
    pub dynamic_severities: Vec<DynamicSeverity>,
    /// trailwatch extension: titles chosen by conditions, first match wins.
    #[serde(default)]
    pub dynamic_alert_titles: Vec<DynamicAlertTitle>,
    /// trailwatch extension (Panther's Python `unique()`): `Threshold` counts distinct values
    /// of this key within a dedup window instead of matching events.
    pub unique_by: Option<KeySpec>,
}

/// One unit test inside a rule. `Expected*` keys other than `ExpectedResult` are trailwatch
/// additions: Panther's YAML cannot check a title, dedup string, severity or context.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "PascalCase")]
pub struct TestSpec {
    pub name: String,
    pub expected_result: bool,
    pub log: Value,
    pub expected_title: Option<String>,
    pub expected_dedup: Option<String>,
    pub expected_severity: Option<Severity>,
    pub expected_alert_context: Option<serde_json::Map<String, Value>>,
}

/// One `AlertContext` entry: a name and where its value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "PascalCase")]
pub struct ContextEntry {
    pub key_name: String,
    pub key_value: KeySpec,
}

/// One `DynamicSeverities` entry: the severity to use when its conditions match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "PascalCase")]
pub struct DynamicSeverity {
    pub change_to: Severity,
    pub conditions: ExprList,
}

/// One `DynamicAlertTitles` entry (trailwatch extension): the title to use when its
/// conditions match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "PascalCase")]
pub struct DynamicAlertTitle {
    pub alert_title: String,
    pub conditions: ExprList,
}

/// A key specifier used to read a value (`GroupBy` entries, `AlertContext` values):
/// `{Key: a}`, `{KeyPath: a.b}` or `{DeepKey: [a, b]}`, plus two trailwatch extensions:
/// `Template:` (a title-style template, e.g. `"{a|b|'none'}"`, rendered to a string) instead of
/// a key, and `Default:`, the value used when the key is missing or null (or the template
/// renders empty).
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub source: KeySource,
    pub default: Option<Value>,
}

/// Where a [`KeySpec`] takes its value from.
#[derive(Debug, Clone)]
pub enum KeySource {
    Path(KeyPath),
    Template(Template),
}

impl KeySpec {
    /// The value at the key in `event`, or the default; `None` when neither exists.
    pub fn read(&self, event: &Value) -> Option<Value> {
        let found = match &self.source {
            KeySource::Path(path) => match path.find(event).one() {
                Some(Value::Null) | None => None,
                Some(v) => Some(v.clone()),
            },
            KeySource::Template(t) => Some(t.render(event))
                .filter(|s| !s.is_empty())
                .map(Value::String),
        };
        found.or_else(|| self.default.clone())
    }

    /// What the value is read from, for the catalog (`requestParameters.x`, `{a|b}`).
    pub fn describe(&self) -> String {
        match &self.source {
            KeySource::Path(p) => p.to_string(),
            KeySource::Template(t) => t.source().to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(KeySpecVisitor)
    }
}

struct KeySpecVisitor;

const KEY_SPEC_KEYS: &[&str] = &["Key", "KeyPath", "DeepKey", "Template", "Default"];

impl<'de> Visitor<'de> for KeySpecVisitor {
    type Value = KeySpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key specifier: {Key: a}, {KeyPath: a.b} or {DeepKey: [a, b]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeySpec, A::Error> {
        let mut path: Option<Result<KeySource, String>> = None;
        let mut default = None;
        while let Some(key) = map.next_key::<String>()? {
            let parsed = match key.as_str() {
                "Key" => Ok(KeySource::Path(KeyPath::key(&map.next_value::<String>()?))),
                "KeyPath" => KeyPath::parse(&map.next_value::<String>()?).map(KeySource::Path),
                "DeepKey" => {
                    KeyPath::deep_key(&map.next_value::<Vec<String>>()?).map(KeySource::Path)
                }
                "Template" => {
                    Template::parse(&map.next_value::<String>()?).map(KeySource::Template)
                }
                "Default" => {
                    default = Some(map.next_value::<Value>()?);
                    continue;
                }
                other => return Err(de::Error::unknown_field(other, KEY_SPEC_KEYS)),
            };
            if path.is_some() {
                return Err(de::Error::custom(
                    "use only one of Key, KeyPath and DeepKey",
                ));
            }
            path = Some(parsed);
        }
        let path = path
            .ok_or_else(|| {
                de::Error::custom("a key specifier needs Key, KeyPath, DeepKey or Template")
            })?
            .map_err(de::Error::custom)?;
        Ok(KeySpec {
            source: path,
            default,
        })
    }
}
