//! `type: slack`: the webhook secret, the timeout and the shared delivery keys.

use crate::severity::Severity;
use crate::sink::config::{
    default_min_severity, FilterConfig, KeyProblem, QueueConfig, RetryConfig, TypeKey,
};
use crate::sink::secret::{self, Secret};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    #[serde(rename = "type", default)]
    pub kind: TypeKey,
    /// Environment variable holding the incoming-webhook URL.
    pub webhook_url_env: Option<String>,
    /// File holding the incoming-webhook URL.
    pub webhook_url_file: Option<PathBuf>,
    /// Per-request timeout, connecting included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub retry: RetryConfig,
    /// The URL, read by [`SlackConfig::resolve`]; never printed.
    #[serde(skip)]
    pub webhook_url: Secret,
}

fn default_timeout_secs() -> u64 {
    10
}

impl SlackConfig {
    /// Reads the webhook URL and checks it is one.
    pub fn resolve(&mut self, base: &Path) -> Result<(), KeyProblem> {
        let url = secret::one_of(
            base,
            "webhook_url",
            self.webhook_url_env.as_deref(),
            self.webhook_url_file.as_deref(),
        )?;
        let key = match self.webhook_url_env {
            Some(_) => "webhook_url_env",
            None => "webhook_url_file",
        };
        match reqwest::Url::parse(url.expose()) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            // The message names where the URL came from, never the URL.
            _ => {
                return Err(KeyProblem::new(
                    key,
                    format!("{key}: the value is not an http(s) URL"),
                ))
            }
        }
        if self.timeout_secs == 0 {
            return Err(KeyProblem::new(
                "timeout_secs",
                "timeout_secs must be at least 1",
            ));
        }
        self.webhook_url = url;
        Ok(())
    }
}
