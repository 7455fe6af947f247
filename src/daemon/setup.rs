//! One load path: `trailwatch check`, daemon start and reload all call [`load`].
//!
//! The policy it implements is written once here and in docs/OPERATIONS.md ("Broken rules"):
//!
//! - **Configuration and sink errors are fatal to the load.** Without a valid config there is
//!   nothing to run, and without its sinks a rule set would raise alerts nobody receives. At
//!   start the daemon refuses to start (exit 2) listing every error; at reload nothing is
//!   applied and the running rules and sinks stay as they are.
//! - **A broken rule file never stops the good ones, and never removes a rule that is
//!   running.** Every good file loads; a broken file is reported (`path:line:col`, a metric, an
//!   internal alert) and contributes the last version of it that loaded, if any. At start
//!   nothing has loaded before, so a broken file contributes nothing; at reload an edit that
//!   breaks a rule keeps its previous version running until the file is fixed.
//!
//! Why not refuse to start on a broken rule: after a reboot, a typo in one of a hundred rules
//! would otherwise leave the host with no detection at all, in a restart loop. Why not drop a
//! rule on a broken edit: the operator's half-finished edit would silently end detection that
//! was working a second earlier.

use crate::config::Config;
use crate::error::Located;
use crate::rule_loader::{self, LoadedRule};
use crate::sink::{self, SinkSpec};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Everything a daemon runs with, loaded and validated.
#[derive(Debug)]
pub struct Setup {
    pub config: Config,
    /// The rules to run: every good file, plus the kept versions of broken ones.
    pub rules: Vec<LoadedRule>,
    /// A hash of the good rule files as they are on disk.
    pub hash: String,
    /// One error per problem in a broken rule file (the files are skipped or kept, see above).
    pub rule_errors: Vec<Located>,
    /// Broken rule files whose previously running version is kept.
    pub kept_files: Vec<PathBuf>,
    pub sinks: Vec<SinkSpec>,
}

/// A load that cannot be applied at all: config or sink errors (with any rule errors found
/// along the way, so one pass lists every problem).
#[derive(Debug)]
pub struct Fatal(pub Vec<Located>);

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Fatal {}

/// Loads the config at `config_path` (the built-in defaults without one), its rules and its
/// sinks. `running` is the rule set in use (empty at start): a broken file keeps its rules
/// from there.
pub fn load(config_path: Option<&Path>, running: &[LoadedRule]) -> Result<Setup, Fatal> {
    let config = Config::load(config_path).map_err(|e| Fatal(vec![e]))?;
    let loaded = rule_loader::load(std::slice::from_ref(&config.rules_dir));
    let sinks = if config.sinks_dir.exists() {
        sink::load_dir(&config.sinks_dir)
    } else {
        // No sinks directory means no sinks: the daemon counts alerts and warns.
        Ok(Vec::new())
    };
    let sinks = match sinks {
        Ok(sinks) => sinks,
        Err(mut errors) => {
            errors.extend(loaded.errors);
            return Err(Fatal(errors));
        }
    };
    let mut rules = loaded.rules;
    let kept_files = keep_running_versions(&mut rules, &loaded.errors, running);
    Ok(Setup {
        config,
        rules,
        hash: loaded.hash,
        rule_errors: loaded.errors,
        kept_files,
        sinks,
    })
}

/// Adds to `rules` the running rules of each file named in `errors` (a file, or a directory
/// that could not be read), unless a good file now defines the same RuleID. Returns the files
/// whose running version was kept.
fn keep_running_versions(
    rules: &mut Vec<LoadedRule>,
    errors: &[Located],
    running: &[LoadedRule],
) -> Vec<PathBuf> {
    let mut ids: HashSet<String> = rules.iter().map(|r| r.rule.id.clone()).collect();
    let mut kept = Vec::new();
    for old in running {
        if !errors.iter().any(|e| old.path.starts_with(&e.path)) {
            continue;
        }
        if ids.insert(old.rule.id.clone()) {
            if !kept.contains(&old.path) {
                kept.push(old.path.clone());
            }
            rules.push(old.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(dir: &Path, file: &str, id: &str, severity: &str) {
        let text = format!("RuleID: {id}\nLogTypes: [AWS.CloudTrail]\nSeverity: {severity}\nDetection: [{{Condition: AlwaysTrue}}]\n");
        std::fs::write(dir.join(file), text).unwrap();
    }

    fn config(root: &Path) -> PathBuf {
        let path = root.join("trailwatch.yaml");
        std::fs::write(&path, "rules_dir: rules.d\nsinks_dir: sinks.d\n").unwrap();
        std::fs::create_dir_all(root.join("rules.d")).unwrap();
        path
    }

    #[test]
    fn a_broken_file_keeps_its_running_version_and_never_stops_the_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let rules_dir = dir.path().join("rules.d");
        rule(&rules_dir, "a.yml", "A", "Low");
        rule(&rules_dir, "b.yml", "B", "Loud");
        // At start nothing ran before: B is reported and skipped, A runs.
        let start = load(Some(&cfg), &[]).unwrap();
        let ids: Vec<&str> = start.rules.iter().map(|r| r.rule.id.as_str()).collect();
        assert_eq!(ids, ["A"]);
        assert_eq!(start.rule_errors.len(), 1);
        assert!(start.rule_errors[0].to_string().contains("b.yml:3:"));
        // B is fixed, then A is broken: A's running version stays, B's new one loads.
        rule(&rules_dir, "b.yml", "B", "High");
        let fixed = load(Some(&cfg), &start.rules).unwrap();
        rule(&rules_dir, "a.yml", "A", "Loud");
        let broken = load(Some(&cfg), &fixed.rules).unwrap();
        let mut ids: Vec<&str> = broken.rules.iter().map(|r| r.rule.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["A", "B"]);
        assert_eq!(broken.kept_files, [rules_dir.join("a.yml")]);
    }

    #[test]
    fn sink_errors_are_fatal_and_list_the_rule_errors_too() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        rule(&dir.path().join("rules.d"), "b.yml", "B", "Loud");
        std::fs::create_dir_all(dir.path().join("sinks.d")).unwrap();
        std::fs::write(dir.path().join("sinks.d/x.yaml"), "type: nope\n").unwrap();
        let fatal = load(Some(&cfg), &[]).unwrap_err().to_string();
        assert!(fatal.contains("x.yaml:1:"), "{fatal}");
        assert!(fatal.contains("b.yml:3:"), "{fatal}");
    }
}
