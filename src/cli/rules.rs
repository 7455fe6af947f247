//! `trailwatch rules list|show`: the catalog of a loaded rule pack (`rules coverage` is in
//! [`super::coverage`]).

use super::exit;
use crate::catalog::attack::{self, Mapping};
use crate::catalog::logic::{self, Indicator};
use crate::rule::{self, LoadedRule, Rule, Severity};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// Output format of the catalog commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// Filters of `rules list`.
#[derive(Debug, Clone, Default)]
pub struct ListFilters {
    pub technique: Option<String>,
    pub tactic: Option<String>,
    pub event_name: Option<String>,
    pub severity: Option<Severity>,
    pub tag: Option<String>,
}

/// The ATT&CK mappings of a rule.
pub fn mappings(rule: &Rule) -> Vec<Mapping> {
    let mut m: Vec<Mapping> = rule
        .reports
        .get(attack::REPORT_KEY)
        .into_iter()
        .flatten()
        .filter_map(|s| Mapping::parse(s))
        .collect();
    m.sort();
    m.dedup();
    m
}

impl ListFilters {
    /// The same filters with tactic and technique names (`defense-evasion`, `Defense Evasion`)
    /// turned into the IDs rules carry (`TA0005`).
    fn resolved(&self) -> Result<ListFilters, String> {
        let resolve = |text: &Option<String>, tactics_only| {
            text.as_deref()
                .map(|t| attack::resolve(t, tactics_only))
                .transpose()
        };
        Ok(ListFilters {
            tactic: resolve(&self.tactic, true)?,
            technique: resolve(&self.technique, false)?,
            ..self.clone()
        })
    }

    fn keeps(&self, rule: &Rule) -> bool {
        let maps = mappings(rule);
        let technique_ok = self.technique.as_ref().is_none_or(|t| {
            maps.iter()
                .any(|m| &m.technique == t || m.parent_technique() == t)
        });
        let tactic_ok = self
            .tactic
            .as_ref()
            .is_none_or(|t| maps.iter().any(|m| &m.tactic == t));
        let event_ok = self.event_name.as_ref().is_none_or(|e| {
            logic::actions(rule)
                .1
                .iter()
                .any(|n| n.eq_ignore_ascii_case(e))
        });
        let severity_ok = self.severity.is_none_or(|s| s == rule.severity);
        let tag_ok = self
            .tag
            .as_ref()
            .is_none_or(|t| rule.tags.iter().any(|x| x.eq_ignore_ascii_case(t)));
        technique_ok && tactic_ok && event_ok && severity_ok && tag_ok
    }
}

pub(super) fn load(
    paths: &[PathBuf],
    err: &mut dyn Write,
) -> std::io::Result<(Vec<LoadedRule>, bool)> {
    let loaded = rule::load(paths);
    for e in &loaded.errors {
        writeln!(err, "{e}")?;
    }
    Ok((loaded.rules, loaded.errors.is_empty()))
}

pub(super) fn code(clean: bool) -> u8 {
    if clean {
        exit::OK
    } else {
        exit::CONFIG
    }
}

fn summary_json(entry: &LoadedRule) -> Value {
    let rule = &entry.rule;
    let (sources, names) = logic::actions(rule);
    json!({
        "rule_id": rule.id,
        "name": rule.name(),
        "severity": rule.severity,
        "enabled": rule.enabled,
        "log_types": rule.log_types,
        "tags": rule.tags,
        "event_sources": sources,
        "event_names": names,
        "attack": mappings(rule),
        "path": entry.path,
    })
}

/// `rules list`.
pub fn list(
    paths: &[PathBuf],
    filters: &ListFilters,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let filters = match filters.resolved() {
        Ok(f) => f,
        Err(message) => {
            writeln!(err, "{message}")?;
            return Ok(exit::CONFIG);
        }
    };
    let (rules, clean) = load(paths, err)?;
    let kept: Vec<&LoadedRule> = rules.iter().filter(|r| filters.keeps(&r.rule)).collect();
    match format {
        Format::Json => {
            let list: Vec<Value> = kept.iter().map(|r| summary_json(r)).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        }
        Format::Markdown => {
            writeln!(
                out,
                "| RuleID | Severity | Event names | ATT&CK |\n|---|---|---|---|"
            )?;
            for r in &kept {
                let maps: Vec<String> = mappings(&r.rule)
                    .iter()
                    .map(|m| m.technique.clone())
                    .collect();
                writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    r.rule.id,
                    r.rule.severity,
                    logic::actions(&r.rule).1.join(", "),
                    maps.join(", ")
                )?;
            }
        }
        Format::Text => {
            let width = kept.iter().map(|r| r.rule.id.len()).max().unwrap_or(6);
            for r in &kept {
                let maps: Vec<String> = mappings(&r.rule)
                    .iter()
                    .map(|m| m.technique.clone())
                    .collect();
                let off = if r.rule.enabled { "" } else { " (disabled)" };
                writeln!(
                    out,
                    "{:<width$}  {:<8}  {}{off}",
                    r.rule.id,
                    r.rule.severity.as_str(),
                    maps.join(",")
                )?;
            }
            writeln!(out, "{} rule(s)", kept.len())?;
        }
    }
    Ok(code(clean))
}

/// `rules show RULE_ID`.
pub fn show(
    paths: &[PathBuf],
    rule_id: &str,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let (rules, clean) = load(paths, err)?;
    let Some(entry) = rules.iter().find(|r| r.rule.id == rule_id) else {
        writeln!(
            err,
            "no rule `{rule_id}` in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        return Ok(exit::CONFIG);
    };
    let page = Page::new(entry, &rules);
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&page.json())?)?,
        Format::Markdown | Format::Text => page.write_text(out, format == Format::Markdown)?,
    }
    Ok(code(clean))
}

/// Everything `rules show` says about one rule.
struct Page<'a> {
    entry: &'a LoadedRule,
    indicators: Vec<(Indicator, usize)>,
    same_action: Vec<&'a str>,
    outputs: Vec<(String, String)>,
}

impl<'a> Page<'a> {
    fn new(entry: &'a LoadedRule, all: &'a [LoadedRule]) -> Page<'a> {
        let rule = &entry.rule;
        // Counted per rule (a rule testing a value twice counts once), with `in` (one
        // indicator per listed value) and `ieq` (Sigma's equality ignores case) taken as the
        // `eq` they are for a value: `eventName in X`, `ieq X` and `eq X` are one indicator,
        // as they are one action below.
        let counted = |i: &Indicator| Indicator {
            operator: match i.operator.as_str() {
                "in" | "ieq" => "eq".to_string(),
                "not_in" | "not_ieq" | "ne" | "ine" => "not_eq".to_string(),
                other => other.to_string(),
            },
            ..i.clone()
        };
        let mut counts: BTreeMap<Indicator, usize> = BTreeMap::new();
        for other in all.iter().filter(|o| o.rule.id != rule.id) {
            let distinct: std::collections::BTreeSet<Indicator> =
                logic::indicators(&other.rule).iter().map(counted).collect();
            for i in distinct {
                *counts.entry(i).or_default() += 1;
            }
        }
        let indicators = logic::indicators(rule)
            .into_iter()
            .map(|i| {
                let n = counts.get(&counted(&i)).copied().unwrap_or(0);
                (i, n)
            })
            .collect();
        // Other rules that can match one of this rule's event names, found the same way the
        // indicators are (any depth, negations excluded), so the list and the indicators
        // table's `eventName eq X | N` never disagree. Event sources are not compared: an
        // event name already names one action, and a second filter only hid rules.
        let (_, names) = logic::actions(rule);
        let same_action = all
            .iter()
            .filter(|o| o.rule.id != rule.id)
            .filter(|o| logic::actions(&o.rule).1.iter().any(|x| names.contains(x)))
            .map(|o| o.rule.id.as_str())
            .collect();
        let mut outputs: Vec<(String, String)> = crate::alert::standard_context_fields()
            .map(|f| (f.to_string(), String::new()))
            .collect();
        for (name, key) in &rule.context {
            outputs.push((name.clone(), key.describe()));
        }
        for (name, path) in &rule.summary_attributes {
            let source = path.to_string();
            if !outputs.iter().any(|(n, _)| n == name) {
                outputs.push((
                    name.clone(),
                    if &source == name {
                        String::new()
                    } else {
                        source
                    },
                ));
            }
        }
        Page {
            entry,
            indicators,
            same_action,
            outputs,
        }
    }

    fn json(&self) -> Value {
        let rule = &self.entry.rule;
        let maps: Vec<Value> = mappings(rule)
            .iter()
            .map(|m| {
                json!({"tactic": m.tactic, "tactic_name": attack::name(&m.tactic),
                       "technique": m.technique, "technique_name": attack::name(&m.technique)})
            })
            .collect();
        json!({
            "rule": summary_json(self.entry),
            "description": rule.description,
            "runbook": rule.runbook,
            "reference": rule.reference,
            "dedup_period_minutes": rule.dedup_period_minutes,
            "threshold": rule.threshold,
            "create_alert": rule.create_alert,
            "attack": maps,
            "logic": logic::render(rule),
            "indicators": self.indicators.iter().map(|(i, n)| json!({"field": i.field, "operator": i.operator, "value": i.value, "other_rules": n})).collect::<Vec<_>>(),
            "output_fields": self.outputs.iter().map(|(f, s)| json!({"field": f, "source": s})).collect::<Vec<_>>(),
            "same_action": self.same_action,
        })
    }

    fn write_text(&self, out: &mut dyn Write, markdown: bool) -> std::io::Result<()> {
        let rule = &self.entry.rule;
        let h = |title: &str| {
            if markdown {
                format!("\n## {title}\n")
            } else {
                format!("\n{title}")
            }
        };
        if markdown {
            writeln!(out, "# {}\n", rule.name())?;
        } else {
            writeln!(out, "{}", rule.name())?;
        }
        writeln!(out, "RuleID: {}", rule.id)?;
        writeln!(
            out,
            "Severity: {}   Dedup: {} min   Threshold: {}   Enabled: {}   CreateAlert: {}",
            rule.severity,
            rule.dedup_period_minutes,
            rule.threshold,
            rule.enabled,
            rule.create_alert
        )?;
        writeln!(out, "Log types: {}", rule.log_types.join(", "))?;
        if !rule.tags.is_empty() {
            writeln!(out, "Tags: {}", rule.tags.join(", "))?;
        }
        writeln!(out, "File: {}", self.entry.path.display())?;
        if let Some(d) = &rule.description {
            writeln!(out, "{}\n{}", h("Description"), d.trim())?;
        }
        let maps = mappings(rule);
        if !maps.is_empty() {
            writeln!(out, "{}", h("MITRE ATT&CK coverage"))?;
            writeln!(out, "| Tactic | Technique |\n|---|---|")?;
            for m in maps {
                writeln!(
                    out,
                    "| {} | {} |",
                    attack::label(&m.tactic),
                    attack::label(&m.technique)
                )?;
            }
        }
        writeln!(out, "{}", h("Detection logic"))?;
        for line in logic::render(rule) {
            writeln!(out, "{}{line}", if markdown { "    " } else { "  " })?;
        }
        writeln!(out, "{}", h("Indicators"))?;
        writeln!(
            out,
            "| Field | Operator | Value | Other rules |\n|---|---|---|---|"
        )?;
        for (i, n) in &self.indicators {
            writeln!(out, "| {} | {} | {} | {n} |", i.field, i.operator, i.value)?;
        }
        writeln!(out, "{}", h("Output fields"))?;
        writeln!(out, "| Field | Source |\n|---|---|")?;
        for (f, s) in &self.outputs {
            writeln!(out, "| {f} | {s} |")?;
        }
        writeln!(out, "{}", h("Rules detecting the same action"))?;
        if self.same_action.is_empty() {
            writeln!(out, "(none loaded)")?;
        }
        for id in &self.same_action {
            writeln!(out, "- {id}")?;
        }
        if let Some(r) = &rule.runbook {
            writeln!(out, "{}\n{}", h("Runbook"), r.trim())?;
        }
        if let Some(r) = &rule.reference {
            writeln!(out, "{}\n{r}", h("Reference"))?;
        }
        Ok(())
    }
}
