//! `trailwatch rules show RULE_ID`: one rule's catalog page, with what the rest of the pack
//! says about it (how many other rules test each of its indicators, which rules detect the
//! same action).

use super::exit;
use super::rules::{code, load, mappings, summary_json, Format};
use crate::catalog::attack;
use crate::catalog::logic::{self, Indicator};
use crate::rule_loader::LoadedRule;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

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
