//! `trailwatch test [PATH...]`: runs the unit tests inside rule files.
//!
//! Prints a block per rule and a line per test (PASS, or FAIL with every expectation that
//! differed), then ends with `N passed, M failed` (counting tests). Exit 0 when nothing
//! failed, 1 when a test failed, a rule lacks the tests `--minimum-tests` asks for, or the
//! `--filter`s kept no rule at all (a typo in a filter must not pass as "nothing failed"), 2
//! when a rule file is invalid (its errors are printed first; the valid rules are still tested).

use super::exit;
use crate::rule::{selftest, Rule, Severity};
use crate::rule_loader;
use std::io::Write;
use std::path::PathBuf;

/// `--filter KEY=VALUE[,VALUE...]`: keeps rules whose KEY has one of the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    key: FilterKey,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterKey {
    RuleId,
    Tags,
    Severity,
    LogTypes,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Filter, String> {
        let (key, values) = s
            .split_once('=')
            .ok_or_else(|| format!("filter `{s}` is not KEY=VALUE"))?;
        let key = match key {
            "RuleID" => FilterKey::RuleId,
            "Tags" => FilterKey::Tags,
            "Severity" => FilterKey::Severity,
            "LogTypes" => FilterKey::LogTypes,
            other => {
                return Err(format!(
                    "unknown filter key `{other}`; valid keys: RuleID, Tags, Severity, LogTypes"
                ))
            }
        };
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if key == FilterKey::Severity {
            if let Some(bad) = values.iter().find(|v| Severity::parse(v).is_none()) {
                return Err(format!(
                    "unknown Severity `{bad}`; valid values: Info, Low, Medium, High, Critical"
                ));
            }
        }
        Ok(Filter { key, values })
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = match self.key {
            FilterKey::RuleId => "RuleID",
            FilterKey::Tags => "Tags",
            FilterKey::Severity => "Severity",
            FilterKey::LogTypes => "LogTypes",
        };
        write!(f, "{key}={}", self.values.join(","))
    }
}

impl Filter {
    fn keeps(&self, rule: &Rule) -> bool {
        let has = |candidates: &[String]| candidates.iter().any(|c| self.values.contains(c));
        match self.key {
            FilterKey::RuleId => self.values.contains(&rule.id),
            FilterKey::Tags => has(&rule.tags),
            FilterKey::LogTypes => has(&rule.log_types),
            FilterKey::Severity => self
                .values
                .iter()
                .any(|v| Severity::parse(v) == Some(rule.severity)),
        }
    }
}

/// Options of `trailwatch test`.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub filters: Vec<Filter>,
    pub minimum_tests: usize,
}

pub fn run(options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<u8> {
    let loaded = rule_loader::load(&options.paths);
    for e in &loaded.errors {
        writeln!(err, "{e}")?;
    }
    let (mut passed, mut failed, mut under_tested) = (0usize, 0usize, 0usize);
    let mut kept = 0usize;
    for entry in &loaded.rules {
        let rule = &entry.rule;
        if !options.filters.iter().all(|f| f.keeps(rule)) {
            continue;
        }
        kept += 1;
        writeln!(out, "{} ({})", rule.id, entry.path.display())?;
        for test in &rule.tests {
            let outcome = selftest::run(rule, test);
            if outcome.passed() {
                passed += 1;
                writeln!(out, "  PASS  {}", outcome.name)?;
            } else {
                failed += 1;
                writeln!(out, "  FAIL  {}", outcome.name)?;
                for reason in &outcome.failures {
                    writeln!(out, "          {reason}")?;
                }
            }
        }
        let problems = selftest::coverage_problems(rule, options.minimum_tests);
        if !problems.is_empty() {
            under_tested += 1;
            for p in problems {
                writeln!(
                    out,
                    "  FAIL  rule {p} (--minimum-tests {})",
                    options.minimum_tests
                )?;
            }
        }
    }
    if under_tested > 0 {
        writeln!(
            out,
            "{under_tested} rule(s) below --minimum-tests {}",
            options.minimum_tests
        )?;
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    let filtered_out_everything = kept == 0 && !options.filters.is_empty();
    if filtered_out_everything {
        writeln!(
            err,
            "warning: no rule matches --filter {} ({} rule(s) loaded)",
            options
                .filters
                .iter()
                .map(Filter::to_string)
                .collect::<Vec<_>>()
                .join(" --filter "),
            loaded.rules.len()
        )?;
    }
    Ok(if !loaded.errors.is_empty() {
        exit::CONFIG
    } else if failed > 0 || under_tested > 0 || filtered_out_everything {
        exit::FINDINGS
    } else {
        exit::OK
    })
}
