//! `trailwatch.yaml`: the daemon's configuration (every key in docs/OPERATIONS.md).
//!
//! Strict: unknown keys are errors. Relative paths are taken relative to the directory of
//! the configuration file; without a file, the built-in defaults are relative to the working
//! directory (`rules.d/`, `sinks.d/`, `var/inbox/`, `var/state/`).

use crate::error::Located;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_rules_dir")]
    pub rules_dir: PathBuf,
    #[serde(default = "default_sinks_dir")]
    pub sinks_dir: PathBuf,
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default = "default_sources")]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub dedup: DedupConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// A longer NDJSON line is reported and skipped (counted as a failed record) rather than
    /// held in memory whole. The same default as `replay --max-line-bytes`.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
}

/// How the daemon writes its log (to stderr; journald under systemd).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
}

/// `text`: one readable line per event; `json`: one JSON object per line, for log shippers.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// One directory (or file) to read CloudTrail logs from.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub path: PathBuf,
    /// Glob patterns of file names to read; empty means every CloudTrail-looking file.
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Files last modified longer ago than this are not read at all.
    #[serde(default)]
    pub ignore_older_secs: Option<u64>,
    /// Which symlinks under `path` are read: `inside` (default: only those that stay under
    /// `path`), `never` or `always`.
    #[serde(default)]
    pub follow_symlinks: crate::files::Follow,
}

/// Where to start in a file seen for the first time.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    #[default]
    Beginning,
    End,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// Bound on the number of (RuleID, dedup string) keys held in the state store.
    #[serde(default = "default_max_keys")]
    pub max_keys: u64,
    /// Bound on the bytes those keys' windows take in the store: mostly the first event of
    /// each window still waiting for its threshold, whose size an attacker chooses.
    #[serde(default = "default_max_pending_bytes")]
    pub max_pending_bytes: u64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            max_keys: default_max_keys(),
            max_pending_bytes: default_max_pending_bytes(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the `/metrics` and `/healthz` endpoint; loopback by default.
    #[serde(default = "default_listen")]
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: default_listen(),
        }
    }
}

fn default_rules_dir() -> PathBuf {
    "rules.d".into()
}
fn default_sinks_dir() -> PathBuf {
    "sinks.d".into()
}
fn default_state_dir() -> PathBuf {
    "var/state".into()
}
fn default_sources() -> Vec<SourceConfig> {
    vec![SourceConfig {
        path: "var/inbox".into(),
        include: Vec::new(),
        exclude: Vec::new(),
        read_from: ReadFrom::Beginning,
        ignore_older_secs: None,
        follow_symlinks: Default::default(),
    }]
}
fn default_max_keys() -> u64 {
    1_000_000
}
fn default_max_pending_bytes() -> u64 {
    2 << 30
}
fn default_max_line_bytes() -> usize {
    crate::event::reader::MAX_LINE_BYTES
}
fn default_listen() -> String {
    "127.0.0.1:9187".into()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules_dir: default_rules_dir(),
            sinks_dir: default_sinks_dir(),
            state_dir: default_state_dir(),
            sources: default_sources(),
            dedup: DedupConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            max_line_bytes: default_max_line_bytes(),
        }
    }
}

impl Config {
    /// Reads a configuration file, or the built-in defaults when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, Located> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Located::new(path, 1, 1, format!("cannot read: {e}")))?;
        let mut config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(&text).map_err(|e| Located::from_yaml(path, &e))?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.rules_dir);
        resolve(&mut config.sinks_dir);
        resolve(&mut config.state_dir);
        config.sources.iter_mut().for_each(|s| resolve(&mut s.path));
        if config.max_line_bytes == 0 {
            let (line, column) = crate::sink::load::locate_key(&text, "max_line_bytes");
            return Err(Located::new(
                path,
                line,
                column,
                "max_line_bytes must be at least 1 (the default is 8388608, 8 MiB)",
            ));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_located_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trailwatch.yaml");
        std::fs::write(&path, "rules_dir: r\ndedup:\n  max_key: 5\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert_eq!((err.line, err.column), (3, 3));
        assert!(err.message.contains("unknown field `max_key`"), "{err}");
    }

    #[test]
    fn log_format_is_text_json_or_a_located_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trailwatch.yaml");
        std::fs::write(&path, "log:\n  format: json\n").unwrap();
        assert_eq!(
            Config::load(Some(&path)).unwrap().log.format,
            LogFormat::Json
        );
        std::fs::write(&path, "log:\n  format: xml\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(
            err.message.contains("text") && err.message.contains("json"),
            "{err}"
        );
    }

    #[test]
    fn max_line_bytes_defaults_to_replays_limit_and_zero_is_a_located_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trailwatch.yaml");
        std::fs::write(&path, "rules_dir: r\n").unwrap();
        let default = Config::load(Some(&path)).unwrap().max_line_bytes;
        assert_eq!(default, crate::event::reader::MAX_LINE_BYTES);
        assert_eq!(
            crate::source::Limits::default().max_line_bytes,
            default,
            "the daemon's and replay's defaults are one"
        );
        std::fs::write(&path, "rules_dir: r\nmax_line_bytes: 4096\n").unwrap();
        assert_eq!(Config::load(Some(&path)).unwrap().max_line_bytes, 4096);
        std::fs::write(&path, "rules_dir: r\nmax_line_bytes: 0\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert_eq!((err.line, err.column), (2, 1), "{err}");
        assert!(err.message.contains("at least 1"), "{err}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trailwatch.yaml");
        std::fs::write(
            &path,
            "rules_dir: r\nsources:\n  - path: /abs\n    read_from: end\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.rules_dir, dir.path().join("r"));
        assert_eq!(c.sources[0].path, PathBuf::from("/abs"));
        assert_eq!(c.sources[0].read_from, ReadFrom::End);
        assert_eq!(c.state_dir, dir.path().join("var/state"));
    }
}
