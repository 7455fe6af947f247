//! `trailwatch rules coverage`: the ATT&CK tactic × technique table of the loaded pack.
//!
//! Coverage is what the daemon would actually detect, so a disabled rule (`Enabled: false`) is
//! not counted by default: it is listed apart, and `--include-disabled` counts it (marked
//! `(disabled)`) for a view of the pack as written rather than as deployed.

use super::rules::{code, load, mappings, Format};
use crate::catalog::attack;
use crate::rule_loader::LoadedRule;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

/// tactic → technique → rule ids.
type Table = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// `rules coverage`.
pub fn run(
    paths: &[PathBuf],
    include_disabled: bool,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let (rules, clean) = load(paths, err)?;
    let (counted, disabled): (Vec<&LoadedRule>, Vec<&LoadedRule>) = rules
        .iter()
        .partition(|r| r.rule.enabled || include_disabled);
    let disabled: Vec<&str> = disabled.iter().map(|r| r.rule.id.as_str()).collect();
    let mut table = Table::new();
    let mut unmapped = Vec::new();
    for r in &counted {
        let maps = mappings(&r.rule);
        // Counted although disabled (--include-disabled): say so wherever the id appears.
        let shown = if r.rule.enabled {
            r.rule.id.clone()
        } else {
            format!("{} (disabled)", r.rule.id)
        };
        if maps.is_empty() {
            unmapped.push(shown.clone());
        }
        for m in maps {
            table
                .entry(m.tactic.clone())
                .or_default()
                .entry(m.technique.clone())
                .or_default()
                .insert(shown.clone());
        }
    }
    let footer = format!(
        "{} rules counted; {} without an ATT&CK mapping; {} disabled and not counted{}",
        counted.len(),
        unmapped.len(),
        disabled.len(),
        if disabled.is_empty() {
            String::new()
        } else {
            format!(" ({})", disabled.join(", "))
        }
    );
    match format {
        Format::Json => {
            let tactics: Vec<Value> = table
                .iter()
                .map(|(t, techs)| {
                    json!({"tactic": t, "name": attack::name(t), "techniques": techs.iter().map(|(id, rules)| json!({"technique": id, "name": attack::name(id), "rules": rules})).collect::<Vec<_>>()})
                })
                .collect();
            let document = json!({"rules": counted.len(), "tactics": tactics,
                                  "unmapped": unmapped, "disabled_not_counted": disabled});
            writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        }
        Format::Markdown => {
            writeln!(
                out,
                "| Tactic | Technique | Rules | RuleIDs |\n|---|---|---|---|"
            )?;
            for (t, techs) in &table {
                for (id, ids) in techs {
                    let list: Vec<&str> = ids.iter().map(String::as_str).collect();
                    writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        attack::label(t),
                        attack::label(id),
                        ids.len(),
                        list.join(", ")
                    )?;
                }
            }
            writeln!(out, "\n{footer}.")?;
        }
        Format::Text => {
            for (t, techs) in &table {
                writeln!(out, "{}", attack::label(t))?;
                for (id, ids) in techs {
                    writeln!(out, "  {:<60} {:>3} rule(s)", attack::label(id), ids.len())?;
                }
            }
            writeln!(out, "{footer}")?;
        }
    }
    Ok(code(clean))
}
