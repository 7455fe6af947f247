//! `Rule`: the compiled form of a [`RuleSpec`], what the hot path evaluates.
//!
//! Compilation is a pure function of the spec (I/O happens in `load`). Everything a match
//! needs is prepared here once: the detection tree, the inline filters, the title template,
//! the dedup keys and the dynamic severities.

use super::expr::Expr;
use super::keypath::KeyPath;
use super::spec::{KeySpec, RuleSpec, Severity, TestSpec};
use super::template::{value_text, Template};
use crate::event::document::Document;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The log type trailwatch reads.
pub const CLOUDTRAIL: &str = "AWS.CloudTrail";

/// A compiled, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// The top-level key of the rule's source file that holds [`Rule::id`] (`RuleID` for
    /// Panther, `id` for Sigma), set by the front end, so that the loader can point an error
    /// about the id (a duplicate) at the right line without knowing the format.
    pub id_key: &'static str,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub log_types: Vec<String>,
    pub tags: Vec<String>,
    pub severity: Severity,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub reports: BTreeMap<String, Vec<String>>,
    pub dedup_period_minutes: u32,
    pub threshold: u32,
    pub create_alert: bool,
    pub output_ids: Vec<String>,
    pub status: Option<String>,
    pub summary_attributes: Vec<(String, KeyPath)>,
    pub detection: Expr,
    pub inline_filters: Option<Expr>,
    pub title: Option<Template>,
    pub context: Vec<(String, KeySpec)>,
    pub group_by: Vec<KeySpec>,
    pub dynamic_severities: Vec<(Severity, Expr)>,
    /// trailwatch extension: (conditions, title), first match wins over `title`.
    pub dynamic_titles: Vec<(Expr, Template)>,
    /// trailwatch extension: the threshold counts distinct values of this key.
    pub unique_by: Option<KeySpec>,
    pub tests: Vec<TestSpec>,
}

/// Why a spec does not compile; the loader attaches the file position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The top-level key the problem is under, to locate it in the file.
    pub key: &'static str,
    pub message: String,
}

fn err(key: &'static str, message: impl Into<String>) -> CompileError {
    CompileError {
        key,
        message: message.into(),
    }
}

impl Rule {
    /// Validates and compiles a spec.
    pub fn compile(spec: RuleSpec) -> Result<Rule, CompileError> {
        if let Some(kind) = &spec.analysis_type {
            if kind != "rule" {
                return Err(err(
                    "AnalysisType",
                    format!("AnalysisType `{kind}` is not supported; trailwatch runs `rule` only"),
                ));
            }
        }
        if spec.rule_id.trim().is_empty() {
            return Err(err("RuleID", "RuleID is empty"));
        }
        let detection = match (spec.detection, &spec.filename) {
            (Some(d), _) if d.0.is_empty() => {
                return Err(err(
                    "Detection",
                    "Detection is empty; it needs at least one expression",
                ))
            }
            (Some(d), _) => d.into_expr(),
            (None, Some(file)) => {
                return Err(err(
                    "Filename",
                    format!(
                        "rule `{}` keeps its logic in the Python file `{file}`, which trailwatch \
                         cannot run; express it as a `Detection:` block of match expressions",
                        spec.rule_id
                    ),
                ))
            }
            (None, None) => {
                return Err(err("RuleID", "rule has no `Detection:` block"));
            }
        };
        if spec.log_types.is_empty() {
            return Err(err(
                "LogTypes",
                format!("LogTypes is empty; list the log types the rule reads (trailwatch reads {CLOUDTRAIL})"),
            ));
        }
        if spec.threshold == 0 {
            return Err(err("Threshold", "Threshold must be at least 1"));
        }
        if spec.dedup_period_minutes == 0 {
            return Err(err(
                "DedupPeriodMinutes",
                "DedupPeriodMinutes must be at least 1",
            ));
        }
        let title = spec
            .alert_title
            .as_deref()
            .map(Template::parse)
            .transpose()
            .map_err(|e| err("AlertTitle", e))?;
        let dynamic_titles = spec
            .dynamic_alert_titles
            .into_iter()
            .map(|d| Ok((d.conditions.into_expr(), Template::parse(&d.alert_title)?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| err("DynamicAlertTitles", e))?;
        let summary_attributes = spec
            .summary_attributes
            .iter()
            .map(|a| (a.clone(), KeyPath::colon_separated(a)))
            .collect();
        Ok(Rule {
            id: spec.rule_id,
            id_key: "RuleID",
            display_name: spec.display_name,
            enabled: spec.enabled,
            log_types: spec.log_types,
            tags: spec.tags,
            severity: spec.severity,
            description: spec.description,
            runbook: spec.runbook,
            reference: spec.reference,
            reports: spec.reports,
            dedup_period_minutes: spec.dedup_period_minutes,
            threshold: spec.threshold,
            create_alert: spec.create_alert,
            output_ids: spec.output_ids,
            status: spec.status,
            summary_attributes,
            detection,
            inline_filters: spec.inline_filters.map(|f| f.into_expr()),
            title,
            context: spec
                .alert_context
                .into_iter()
                .map(|e| (e.key_name, e.key_value))
                .collect(),
            group_by: spec.group_by,
            dynamic_severities: spec
                .dynamic_severities
                .into_iter()
                .map(|d| (d.change_to, d.conditions.into_expr()))
                .collect(),
            dynamic_titles,
            unique_by: spec.unique_by,
            tests: spec.tests,
        })
    }

    /// True when the rule applies to events of `log_type`.
    pub fn reads(&self, log_type: &str) -> bool {
        self.log_types.iter().any(|t| t == log_type)
    }

    /// Inline filters, then the detection.
    pub fn matches(&self, event: &Value) -> bool {
        self.matches_in(event)
    }

    /// [`Rule::matches`] on a record read through a [`Document`].
    pub fn matches_in<D: Document>(&self, event: &D) -> bool {
        self.inline_filters
            .as_ref()
            .is_none_or(|f| f.matches_in(event))
            && self.detection.matches_in(event)
    }

    /// The name people see: DisplayName, else RuleID.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }

    /// The alert title: AlertTitle rendered, else the rule's name.
    pub fn title(&self, event: &Value) -> String {
        if let Some((_, t)) = self.dynamic_titles.iter().find(|(c, _)| c.matches(event)) {
            return t.render(event);
        }
        match &self.title {
            Some(t) => t.render(event),
            None => self.name().to_string(),
        }
    }

    /// The dedup string: GroupBy values joined with `:`, else the title.
    pub fn dedup(&self, event: &Value) -> String {
        if self.group_by.is_empty() {
            return self.title(event);
        }
        self.group_by
            .iter()
            .map(|k| {
                k.read(event)
                    .as_ref()
                    .and_then(value_text)
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The `UniqueBy` value of an event (what the threshold counts distinct values of).
    pub fn unique_value(&self, event: &Value) -> Option<String> {
        self.unique_by
            .as_ref()?
            .read(event)
            .as_ref()
            .and_then(value_text)
    }

    /// True when `matches` events, of which `distinct` carried different `UniqueBy` values,
    /// reach the threshold.
    pub fn reaches_threshold(&self, matches: u64, distinct: usize) -> bool {
        if self.unique_by.is_some() {
            distinct as u64 >= u64::from(self.threshold)
        } else {
            matches >= u64::from(self.threshold)
        }
    }

    /// The first matching DynamicSeverities entry, else Severity.
    pub fn severity_for(&self, event: &Value) -> Severity {
        self.dynamic_severities
            .iter()
            .find(|(_, cond)| cond.matches(event))
            .map(|(s, _)| *s)
            .unwrap_or(self.severity)
    }

    /// The rule's own AlertContext entries (missing values without a Default are null).
    pub fn context(&self, event: &Value) -> Map<String, Value> {
        self.context
            .iter()
            .map(|(name, key)| (name.clone(), key.read(event).unwrap_or(Value::Null)))
            .collect()
    }

    /// SummaryAttributes with their values (null when missing).
    pub fn summary(&self, event: &Value) -> Map<String, Value> {
        self.summary_attributes
            .iter()
            .map(|(name, path)| {
                let value = match path.find(event) {
                    super::keypath::Found::One(v) => v.clone(),
                    _ => Value::Null,
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// Every top-level-rooted key path the rule's matching logic reads (detection, filters).
    pub fn match_paths(&self) -> Vec<&KeyPath> {
        let mut paths = Vec::new();
        self.detection.for_each_path(&mut |p| paths.push(p));
        if let Some(f) = &self.inline_filters {
            f.for_each_path(&mut |p| paths.push(p));
        }
        paths
    }
}
