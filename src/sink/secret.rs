//! Secrets for sinks: read from an environment variable or a file, never written inline.
//!
//! A webhook URL is a credential (anyone holding a Slack incoming-webhook URL can post to the
//! channel), so [`Secret`] has no `Display` and its `Debug` is redacted: it cannot end up in a
//! log line or an error message by accident.

use super::config::KeyProblem;
use std::fmt;
use std::path::Path;

/// A secret value. Compare and use it; it never prints.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must use it (an HTTP request).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Reads the environment variable `name`; `key` is the config key that named it.
pub fn from_env(key: &str, name: &str) -> Result<Secret, KeyProblem> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
        Ok(_) => Err(KeyProblem::new(
            key,
            format!("{key}: environment variable `{name}` is empty"),
        )),
        Err(std::env::VarError::NotPresent) => Err(KeyProblem::new(
            key,
            format!("{key}: environment variable `{name}` is not set"),
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(KeyProblem::new(
            key,
            format!("{key}: environment variable `{name}` is not valid UTF-8"),
        )),
    }
}

/// Reads a secret file (surrounding whitespace, such as the final newline, is dropped).
pub fn from_file(key: &str, path: &Path) -> Result<Secret, KeyProblem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        KeyProblem::new(key, format!("{key}: cannot read `{}`: {e}", path.display()))
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(KeyProblem::new(
            key,
            format!("{key}: `{}` is empty", path.display()),
        ));
    }
    Ok(Secret(value.to_string()))
}

/// Reads the secret from whichever of `KEY_env` and `KEY_file` is set; exactly one must be.
pub fn one_of(
    base: &Path,
    stem: &str,
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Secret, KeyProblem> {
    let env_key = format!("{stem}_env");
    let file_key = format!("{stem}_file");
    match (env, file) {
        (Some(name), None) => from_env(&env_key, name),
        (None, Some(path)) => from_file(&file_key, &super::config::under(base, path)),
        (Some(_), Some(_)) => Err(KeyProblem::new(
            &file_key,
            format!("set only one of `{env_key}` and `{file_key}`"),
        )),
        (None, None) => Err(KeyProblem::new(
            "type",
            format!("missing `{env_key}` or `{file_key}` (secrets are never written inline)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("https://hooks.slack.com/services/T/B/xyz");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "https://hooks.slack.com/services/T/B/xyz");
    }

    #[test]
    fn reads_files_and_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("url"), "https://example.test/x\n").unwrap();
        let s = one_of(dir.path(), "webhook_url", None, Some(Path::new("url"))).unwrap();
        assert_eq!(s.expose(), "https://example.test/x");
        let e = one_of(dir.path(), "webhook_url", None, Some(Path::new("nope"))).unwrap_err();
        assert_eq!(e.key, "webhook_url_file");
        let e = from_env("webhook_url_env", "TRAILWATCH_TEST_SURELY_UNSET_1").unwrap_err();
        assert!(e.message.contains("is not set"), "{}", e.message);
        let e = one_of(dir.path(), "url", None, None).unwrap_err();
        assert!(
            e.message.contains("`url_env` or `url_file`"),
            "{}",
            e.message
        );
    }
}
