//! `type: webhook`: each alert POSTed as JSON (the alert contract) to any HTTP endpoint.
//!
//! Plain headers go in `headers`; headers that carry credentials come from the environment
//! through `headers_env` (header name → variable name), so no token sits in a sink file.
//! The URL may be given inline (`url`) or, when it embeds a token, by `url_env`/`url_file`.
//! Retries follow the same HTTP policy as Slack ([`super::http`]).

use super::config::{default_min_severity, under, FilterConfig, KeyProblem, QueueConfig};
use super::config::{RetryConfig, TypeKey};
use super::secret::{self, Secret};
use super::{http, Sink, SinkError};
use crate::alert::Alert;
use crate::severity::Severity;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(rename = "type", default)]
    pub kind: TypeKey,
    /// The endpoint, when it holds no secret.
    pub url: Option<String>,
    /// Environment variable holding the endpoint URL.
    pub url_env: Option<String>,
    /// File holding the endpoint URL.
    pub url_file: Option<PathBuf>,
    /// Extra headers, as written.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra headers whose values come from environment variables (name → variable).
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
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
    /// Resolved URL and headers; never printed.
    #[serde(skip)]
    pub resolved_url: Secret,
    #[serde(skip)]
    pub resolved_headers: Vec<(String, Secret)>,
}

fn default_timeout_secs() -> u64 {
    10
}

impl WebhookConfig {
    pub fn resolve(&mut self, base: &Path) -> Result<(), KeyProblem> {
        let (key, url) = match (&self.url, &self.url_env, &self.url_file) {
            (Some(url), None, None) => ("url", Secret::new(url.clone())),
            (None, Some(var), None) => ("url_env", secret::from_env("url_env", var)?),
            (None, None, Some(file)) => (
                "url_file",
                secret::from_file("url_file", &under(base, file))?,
            ),
            _ => {
                return Err(KeyProblem::new(
                    "type",
                    "set exactly one of `url`, `url_env` and `url_file`",
                ))
            }
        };
        match reqwest::Url::parse(url.expose()) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => return Err(KeyProblem::new(key, format!("{key}: not an http(s) URL"))),
        }
        let mut resolved = Vec::new();
        for (name, value) in &self.headers {
            resolved.push((name.clone(), Secret::new(value.clone())));
        }
        for (name, var) in &self.headers_env {
            let key = format!("headers_env.{name}");
            resolved.push((name.clone(), secret::from_env(&key, var)?));
        }
        for (name, value) in &resolved {
            if HeaderName::from_bytes(name.as_bytes()).is_err()
                || HeaderValue::from_str(value.expose()).is_err()
            {
                return Err(KeyProblem::new(
                    name.clone(),
                    format!("header `{name}`: not a valid HTTP header name and value"),
                ));
            }
        }
        if self.timeout_secs == 0 {
            return Err(KeyProblem::new(
                "timeout_secs",
                "timeout_secs must be at least 1",
            ));
        }
        self.resolved_url = url;
        self.resolved_headers = resolved;
        Ok(())
    }
}

pub struct WebhookSink {
    client: reqwest::Client,
    url: Secret,
    headers: HeaderMap,
}

impl WebhookSink {
    pub fn new(name: &str, config: &WebhookConfig) -> Result<WebhookSink, SinkError> {
        if config.resolved_url.is_empty() {
            return Err(SinkError::setup(name, "the URL was not resolved"));
        }
        let mut headers = HeaderMap::new();
        for (key, value) in &config.resolved_headers {
            let name = HeaderName::from_bytes(key.as_bytes())
                .map_err(|_| SinkError::setup(name, format!("bad header name `{key}`")))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| SinkError::setup(key, "bad header value"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = http::client(Duration::from_secs(config.timeout_secs))
            .map_err(|e| SinkError::setup(name, e))?;
        Ok(WebhookSink {
            client,
            url: config.resolved_url.clone(),
            headers,
        })
    }
}

impl Sink for WebhookSink {
    async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
        for alert in batch {
            let body = serde_json::to_vec(&**alert)
                .map_err(|e| SinkError::permanent(format!("webhook body: {e}")))?;
            http::post_json(&self.client, &self.url, &self.headers, body, "webhook").await?;
        }
        Ok(())
    }
}
