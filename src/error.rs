//! Errors that point at a place in a file.
//!
//! Operators fix rules and configuration by jumping to the spot an error names, so every
//! load-time problem is a [`Located`] error rendered as `path:line:col: message`, the shape
//! editors and `grep -n` already understand.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem at a known place in a file. Line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Located {
    pub fn new(path: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        Located {
            path: path.to_path_buf(),
            line: line.max(1),
            column: column.max(1),
            message: message.into(),
        }
    }

    /// Builds an error from a YAML parse error, which knows its own position when the
    /// parser got far enough to have one.
    pub fn from_yaml(path: &Path, err: &serde_yaml::Error) -> Self {
        let (line, column) = err
            .location()
            .map(|loc| (loc.line(), loc.column()))
            .unwrap_or((1, 1));
        Located::new(path, line, column, strip_position_suffix(&err.to_string()))
    }
}

/// serde_yaml writes " at line L column C" into its messages; we print the position in front
/// instead, so that part would only repeat it.
fn strip_position_suffix(message: &str) -> String {
    let mut out = message.to_string();
    if let Some(start) = out.find(" at line ") {
        let rest = &out[start + " at line ".len()..];
        let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).count();
        let line_len = digits(rest);
        if let Some(after) = rest[line_len..].strip_prefix(" column ") {
            let end = start + " at line ".len() + line_len + " column ".len() + digits(after);
            if line_len > 0 && end > start {
                out.replace_range(start..end, "");
            }
        }
    }
    out
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for Located {}

/// Finds where a top-level `key:` is written in a YAML text, for errors found after parsing
/// (a duplicate RuleID, a rule with no detection). Falls back to the start of the file.
pub fn locate_top_level_key(source: &str, key: &str) -> (usize, usize) {
    for (index, line) in source.lines().enumerate() {
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        if rest.trim_start().starts_with(':') {
            return (index + 1, 1);
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_path_line_column() {
        let e = Located::new(Path::new("rules.d/a.yml"), 3, 7, "bad");
        assert_eq!(e.to_string(), "rules.d/a.yml:3:7: bad");
    }

    #[test]
    fn finds_top_level_keys_only() {
        let src = "Tests:\n  - RuleID: x\nRuleID: real\n";
        assert_eq!(locate_top_level_key(src, "RuleID"), (3, 1));
        assert_eq!(locate_top_level_key(src, "Missing"), (1, 1));
    }

    #[test]
    fn strips_duplicated_position() {
        assert_eq!(
            strip_position_suffix("unknown field `X` at line 3 column 1"),
            "unknown field `X`"
        );
        assert_eq!(strip_position_suffix("plain"), "plain");
        assert_eq!(
            strip_position_suffix("did not find ']' at line 3 column 9, while parsing"),
            "did not find ']', while parsing"
        );
    }
}
