//! `trailwatch rules list`: the catalog of a loaded rule pack, filtered (`rules show` is in
//! [`super::rule_page`], `rules coverage` in [`super::coverage`]).

use super::exit;
use crate::catalog::attack::{self, Mapping};
use crate::catalog::logic;
use crate::rule::{Rule, Severity};
use crate::rule_loader::{self, LoadedRule};
use serde_json::{json, Value};
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
    let loaded = rule_loader::load(paths);
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

pub(super) fn summary_json(entry: &LoadedRule) -> Value {
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
