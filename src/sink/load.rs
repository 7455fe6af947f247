//! Loading `sinks.d/`: every sink file, every error, in one pass.
//!
//! Each `NAME.yaml` (or `.yml`) is one sink called NAME. A broken file is reported as
//! `path:line:col: message` and the others are still read, so `trailwatch check` lists every
//! mistake at once; the result is all-or-nothing, so a reload never runs half a set.
//! Secrets are resolved here, which is what makes a missing environment variable a
//! configuration error with a place rather than a failed delivery at three in the morning.

use super::config::{KeyProblem, SinkConfig, SinkSpec};
use crate::error::Located;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Reads and validates every `sinks.d/*.yaml`. Relative paths inside sink files (a file
/// sink's `path`, a `*_file` secret) are taken relative to the directory holding `dir`, the
/// same base as the daemon's own defaults.
pub fn load_dir(dir: &Path) -> Result<Vec<SinkSpec>, Vec<Located>> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for loaded in load_each(dir).map_err(|e| vec![e])? {
        match loaded.spec {
            Ok(spec) => specs.push(spec),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors)
    }
}

/// One sink file of `sinks.d/` and what became of it.
pub struct LoadedSink {
    /// The sink's name (the file name without its extension).
    pub name: String,
    pub spec: Result<SinkSpec, Located>,
}

/// Every sink file of `dir`, each loaded on its own: unlike [`load_dir`], a broken file does
/// not hide the good ones, which is what `trailwatch sink test` needs (one broken sink must
/// not stop the others from being tested). Fails only when `dir` cannot be read.
pub fn load_each(dir: &Path) -> Result<Vec<LoadedSink>, Located> {
    let files = sink_files(dir)?;
    let base = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut loaded = Vec::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let name = stem(&path);
        let spec = match (check_name(&path, &name), names.get(&name)) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(first)) => Err(Located::new(
                &path,
                1,
                1,
                format!(
                    "a sink named `{name}` is already defined in {}",
                    first.display()
                ),
            )),
            (Ok(()), None) => {
                names.insert(name.clone(), path.clone());
                load_file(&path, &base).map(|config| SinkSpec {
                    name: name.clone(),
                    path,
                    config,
                })
            }
        };
        loaded.push(LoadedSink { name, spec });
    }
    Ok(loaded)
}

/// Parses one sink file and resolves its secrets; `base` anchors relative paths.
pub fn load_file(path: &Path, base: &Path) -> Result<SinkConfig, Located> {
    let text = fs::read_to_string(path)
        .map_err(|e| Located::new(path, 1, 1, format!("cannot read: {e}")))?;
    let mut config = SinkConfig::from_yaml(&text).map_err(|e| Located::from_yaml(path, &e))?;
    config
        .resolve(base)
        .map_err(|KeyProblem { key, message }| {
            let (line, col) = locate_key(&text, &key);
            Located::new(path, line, col, message)
        })?;
    Ok(config)
}

/// The sink files in `dir`, sorted: `.yaml`/`.yml`, not hidden, not an editor's backup.
fn sink_files(dir: &Path) -> Result<Vec<PathBuf>, Located> {
    let entries = fs::read_dir(dir)
        .map_err(|e| Located::new(dir, 1, 1, format!("cannot read directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.')
                && (name.ends_with(".yaml") || name.ends_with(".yml"))
                && p.is_file()
        })
        .collect();
    files.sort();
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A sink name becomes a directory under `state_dir/spool/`, so it must be a plain name.
fn check_name(path: &Path, name: &str) -> Result<(), Located> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(Located::new(
            path,
            1,
            1,
            format!(
                "sink name `{name}` (the file name) may only use letters, digits, `-`, `_` and `.`"
            ),
        ))
    }
}

/// Where `key` is written: a dotted path (`headers_env.Authorization`) is followed one level
/// at a time, each part searched after the line of the previous one. Falls back to 1:1.
pub fn locate_key(text: &str, key: &str) -> (usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let mut from = 0;
    for part in key.split('.') {
        let hit = lines.iter().enumerate().skip(from).find_map(|(i, line)| {
            let trimmed = line.trim_start();
            let rest = trimmed
                .strip_prefix(part)
                .or_else(|| trimmed.strip_prefix("- ")?.strip_prefix(part))?;
            rest.trim_start()
                .starts_with(':')
                .then(|| (i, line.len() - trimmed.len()))
        });
        match hit {
            Some((i, indent)) => {
                found = Some((i + 1, indent + 1));
                from = i + 1;
            }
            None => break,
        }
    }
    found.unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text =
            "type: webhook\nheaders:\n  Authorization: x\nheaders_env:\n  Authorization: TOKEN\n";
        assert_eq!(locate_key(text, "headers_env.Authorization"), (5, 3));
        assert_eq!(locate_key(text, "headers_env"), (4, 1));
        assert_eq!(locate_key(text, "nope"), (1, 1));
    }

    #[test]
    fn every_broken_file_is_reported_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let sinks = dir.path().join("sinks.d");
        fs::create_dir(&sinks).unwrap();
        fs::write(sinks.join("a.yaml"), "type: stdout\nformat: jsn\n").unwrap();
        fs::write(sinks.join("b.yaml"), "type: pager\n").unwrap();
        fs::write(sinks.join("b.yml"), "type: stdout\n").unwrap();
        fs::write(sinks.join("c d.yaml"), "type: stdout\n").unwrap();
        fs::write(sinks.join("ok.yaml"), "type: stdout\n").unwrap();
        fs::write(sinks.join(".hidden.yaml"), "junk: [").unwrap();
        let errors = load_dir(&sinks).unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(
            text[0].contains("a.yaml:2:9: format: unknown variant `jsn`"),
            "{text:#?}"
        );
        assert!(
            text[1].contains("b.yaml:1:7: type: unknown variant `pager`"),
            "{text:#?}"
        );
        assert!(text[2].contains("b.yml:1:1: a sink named `b`"), "{text:#?}");
        assert!(text[3].contains("c d.yaml:1:1: sink name"), "{text:#?}");
    }
}
