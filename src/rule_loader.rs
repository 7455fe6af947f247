//! Loading rule files from disk, whatever their format: every file, every error, in one pass.
//!
//! This module sits above the front ends. It decides which one reads a file (Sigma's
//! [`crate::sigma::parse`] for a Sigma document, Panther's [`crate::rule::spec::parse`] for
//! anything else), so that the rule core (`crate::rule`) never has to know a format; every
//! caller that turns text or directories into rules (CLI commands, daemon setup, benches,
//! fuzz targets, tests) comes through here.
//!
//! A broken file is reported as `path:line:col: message` and skipped; the good files still
//! load. That is what lets an operator fix every mistake in one round, and lets a reload keep
//! running on a set that is whole.

use crate::error::{locate_top_level_key, Located};
use crate::rule::Rule;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A rule and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub rule: Rule,
    pub path: PathBuf,
}

/// The outcome of loading: the rules that compiled and the errors of the rest.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rules: Vec<LoadedRule>,
    pub errors: Vec<Located>,
    /// A hash of the loaded files (paths and contents), to tell rule sets apart in logs.
    pub hash: String,
}

/// True for files that hold rules: `.yml` / `.yaml`, not hidden, not an editor's backup or
/// swap file (those appear and vanish while someone edits a rule).
pub fn is_rule_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.')
        && !name.ends_with('~')
        && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

/// Lists rule files under each path (a file is taken as given; a directory is walked
/// recursively), sorted so that load order, and so duplicate detection, is stable.
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Located>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut files, &mut errors),
            Ok(_) => files.push(path.clone()),
            Err(e) => errors.push(Located::new(path, 1, 1, format!("cannot read: {e}"))),
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Located>) {
    crate::files::walk(dir, &is_rule_file, files, &mut |d, e| {
        errors.push(Located::new(d, 1, 1, format!("cannot read directory: {e}")))
    });
}

/// Parses and compiles one rule file.
pub fn load_file(path: &Path) -> Result<Rule, Located> {
    let source = fs::read_to_string(path)
        .map_err(|e| Located::new(path, 1, 1, format!("cannot read: {e}")))?;
    parse(path, &source)
}

/// Parses and compiles rule text; `path` is only used in errors. A Sigma document (see
/// [`crate::sigma::is_sigma`]) is read as a Sigma rule, anything else as a Panther rule.
pub fn parse(path: &Path, source: &str) -> Result<Rule, Located> {
    if crate::sigma::is_sigma(source) {
        crate::sigma::parse(path, source)
    } else {
        crate::rule::spec::parse(path, source)
    }
}

/// Loads every rule under `paths`. RuleIDs must be unique: a later file (in path order) that
/// repeats one is an error and is skipped.
pub fn load(paths: &[PathBuf]) -> Loaded {
    let (files, mut errors) = rule_files(paths);
    let mut rules: Vec<LoadedRule> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut hash = Sha256::new();
    for path in files {
        let source = match fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                errors.push(Located::new(&path, 1, 1, format!("cannot read: {e}")));
                continue;
            }
        };
        let rule = match parse(&path, &source) {
            Ok(rule) => rule,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some(first) = seen.get(&rule.id) {
            let (line, col) = locate_top_level_key(&source, rule.id_key);
            errors.push(Located::new(
                &path,
                line,
                col,
                format!(
                    "duplicate RuleID `{}`: already defined in {}",
                    rule.id,
                    first.display()
                ),
            ));
            continue;
        }
        seen.insert(rule.id.clone(), path.clone());
        hash.update(path.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(source.as_bytes());
        hash.update([0]);
        rules.push(LoadedRule { rule, path });
    }
    let hash = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Loaded {
        rules,
        errors,
        hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::expr::Expr;

    const PANTHER: &str =
        "RuleID: Same.Id\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n";
    const SIGMA: &str = "title: Demo\n# the id\nid: Same.Id\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel: {eventName: X}\n    condition: sel\n";

    #[test]
    fn each_format_goes_to_its_own_front_end() {
        let panther = parse(Path::new("p.yml"), PANTHER).expect("Panther rule");
        assert!(!matches!(panther.detection, Expr::External(_)));
        assert_eq!(panther.id_key, "RuleID");
        let sigma = parse(Path::new("s.yml"), SIGMA).expect("Sigma rule");
        assert!(matches!(sigma.detection, Expr::External(_)));
        assert_eq!(sigma.id_key, "id");
        assert_eq!(sigma.id, panther.id);
    }

    #[test]
    fn a_duplicate_id_points_at_the_key_its_format_uses() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a_panther.yml"), PANTHER).unwrap();
        fs::write(dir.path().join("b_sigma.yml"), SIGMA).unwrap();
        fs::write(
            dir.path().join("c_panther.yml"),
            format!("# again\n{PANTHER}"),
        )
        .unwrap();
        let loaded = load(&[dir.path().to_path_buf()]);
        assert_eq!(loaded.rules.len(), 1);
        assert!(loaded.rules[0].path.ends_with("a_panther.yml"));
        let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        // Sigma's `id:` is on line 3, the repeated Panther `RuleID:` on line 2.
        assert!(
            errors[0].contains("b_sigma.yml:3:1: duplicate RuleID `Same.Id`"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("c_panther.yml:2:1: duplicate RuleID"),
            "{errors:?}"
        );
    }
}
