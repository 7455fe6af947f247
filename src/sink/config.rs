//! Sink configuration: one `sinks.d/NAME.yaml` per sink.
//!
//! A sink file is a `type` plus that type's own keys (contract in `shared/DESIGN.md`). Every
//! type also takes the same delivery keys: `min_severity`, `filter`, `queue` and `retry`. Each
//! type's struct repeats those four fields rather than flattening a shared struct, because
//! serde cannot combine `flatten` with `deny_unknown_fields`, and strictness matters more here
//! than brevity.
//!
//! The enum carries serde's internally tagged representation, but a tagged enum buffers its
//! input and so loses line numbers. [`SinkConfig::from_yaml`] therefore reads the `type` first
//! and then the type's struct straight from the text, so every error keeps its `line:col`.

use super::file::FileConfig;
use super::journald::JournaldConfig;
use super::slack::SlackConfig;
use super::stdout::StdoutConfig;
use super::syslog::SyslogConfig;
use super::webhook::WebhookConfig;
use crate::severity::Severity;
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One configured sink: its name (the file stem), the file it came from and its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkSpec {
    pub name: String,
    pub path: PathBuf,
    pub config: SinkConfig,
}

/// The settings of one sink, by type. This enum is the one place sink types are listed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    Slack(SlackConfig),
    File(FileConfig),
    Syslog(SyslogConfig),
    Journald(JournaldConfig),
    Stdout(StdoutConfig),
    Webhook(WebhookConfig),
}

/// Just the `type` key, read first so the type's own struct can be parsed with positions.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SinkType {
    Slack,
    File,
    Syslog,
    Journald,
    Stdout,
    Webhook,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: SinkType,
}

/// The `type` key inside a type's struct: already read by [`SinkConfig::from_yaml`], accepted
/// here so that the struct can still refuse every key it does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeKey;

impl<'de> Deserialize<'de> for TypeKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| TypeKey)
    }
}

/// The delivery keys every sink type shares, borrowed from whichever type it is.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub min_severity: Severity,
    pub filter: &'a FilterConfig,
    pub queue: &'a QueueConfig,
    pub retry: &'a RetryConfig,
}

impl<'a> Delivery<'a> {
    fn of(
        min_severity: Severity,
        filter: &'a FilterConfig,
        queue: &'a QueueConfig,
        retry: &'a RetryConfig,
    ) -> Delivery<'a> {
        Delivery {
            min_severity,
            filter,
            queue,
            retry,
        }
    }
}

/// A problem found after parsing (a secret that cannot be read, a bad address), with the key
/// it belongs to so the loader can point at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    pub key: String,
    pub message: String,
}

impl KeyProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> KeyProblem {
        KeyProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl SinkConfig {
    /// Parses a sink file's text, keeping the position of every error.
    pub fn from_yaml(text: &str) -> Result<SinkConfig, serde_yaml::Error> {
        let head: Head = serde_yaml::from_str(text)?;
        Ok(match head.kind {
            SinkType::Slack => SinkConfig::Slack(serde_yaml::from_str(text)?),
            SinkType::File => SinkConfig::File(serde_yaml::from_str(text)?),
            SinkType::Syslog => SinkConfig::Syslog(serde_yaml::from_str(text)?),
            SinkType::Journald => SinkConfig::Journald(serde_yaml::from_str(text)?),
            SinkType::Stdout => SinkConfig::Stdout(serde_yaml::from_str(text)?),
            SinkType::Webhook => SinkConfig::Webhook(serde_yaml::from_str(text)?),
        })
    }

    /// The type name as written in `type:`.
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkConfig::Slack(_) => "slack",
            SinkConfig::File(_) => "file",
            SinkConfig::Syslog(_) => "syslog",
            SinkConfig::Journald(_) => "journald",
            SinkConfig::Stdout(_) => "stdout",
            SinkConfig::Webhook(_) => "webhook",
        }
    }

    /// The shared delivery keys.
    pub fn delivery(&self) -> Delivery<'_> {
        match self {
            SinkConfig::Slack(c) => Delivery::of(c.min_severity, &c.filter, &c.queue, &c.retry),
            SinkConfig::File(c) => Delivery::of(c.min_severity, &c.filter, &c.queue, &c.retry),
            SinkConfig::Syslog(c) => Delivery::of(c.min_severity, &c.filter, &c.queue, &c.retry),
            SinkConfig::Journald(c) => Delivery::of(c.min_severity, &c.filter, &c.queue, &c.retry),
            SinkConfig::Stdout(c) => Delivery::of(c.min_severity, &c.filter, &c.queue, &c.retry),
            SinkConfig::Webhook(c) => Delivery::of(c.min_severity, &c.filter, &c.queue, &c.retry),
        }
    }

    /// Reads secrets (`*_env`, `*_file`), makes relative paths relative to `base` (the
    /// directory that holds `sinks.d`) and checks what parsing alone cannot.
    pub fn resolve(&mut self, base: &Path) -> Result<(), KeyProblem> {
        match self {
            SinkConfig::Slack(c) => c.resolve(base),
            SinkConfig::File(c) => c.resolve(base),
            SinkConfig::Syslog(c) => c.resolve(base),
            SinkConfig::Journald(c) => c.resolve(base),
            SinkConfig::Stdout(_) => Ok(()),
            SinkConfig::Webhook(c) => c.resolve(base),
        }
    }
}

pub(crate) fn default_min_severity() -> Severity {
    Severity::Info
}

/// Optional filters; an empty list accepts everything. An alert passes when it passes each
/// non-empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Only alerts of these rules.
    #[serde(default)]
    pub rule_ids: Vec<String>,
    /// Only alerts whose rule has at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only alerts of these log types (`AWS.CloudTrail`).
    #[serde(default)]
    pub log_types: Vec<String>,
}

/// What `publish` does when a sink's queue is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullPolicy {
    /// Wait until the sink has delivered enough to make room (backpressure on the pipeline).
    #[default]
    Block,
    /// Drop the oldest waiting alerts, count them and log at ERROR.
    DropOldest,
}

/// The per-sink queue and its on-disk spool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Keep waiting alerts in `state_dir/spool/NAME/` (fsynced before `publish` returns).
    #[serde(default = "yes")]
    pub spool: bool,
    /// Bound on the bytes of waiting alerts (their JSON size).
    #[serde(default = "default_queue_max_bytes")]
    pub max_bytes: u64,
    /// `block` or `drop_oldest`.
    #[serde(default)]
    pub full_policy: FullPolicy,
    /// How many delivered alert ids are remembered, so a re-processed alert is not sent twice.
    #[serde(default = "default_remember_delivered")]
    pub remember_delivered: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            spool: true,
            max_bytes: default_queue_max_bytes(),
            full_policy: FullPolicy::Block,
            remember_delivered: default_remember_delivered(),
        }
    }
}

/// Retry after a retryable failure: jittered exponential backoff, or the sink's `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// First backoff; doubled after each failure in a row.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Ceiling of the backoff.
    #[serde(default = "default_max_backoff_secs")]
    pub max_backoff_secs: u64,
    /// Ceiling of a `Retry-After` the endpoint asks for.
    #[serde(default = "default_max_retry_after_secs")]
    pub max_retry_after_secs: u64,
    /// Longest one delivery attempt may take before it is abandoned and retried, whatever
    /// the sink does (a peer that stops reading, a blocked pipe, a hung file system).
    #[serde(default = "default_attempt_timeout_secs")]
    pub attempt_timeout_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_secs: default_max_backoff_secs(),
            max_retry_after_secs: default_max_retry_after_secs(),
            attempt_timeout_secs: default_attempt_timeout_secs(),
        }
    }
}

pub(crate) fn yes() -> bool {
    true
}
fn default_queue_max_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_remember_delivered() -> usize {
    100_000
}
fn default_initial_backoff_ms() -> u64 {
    1_000
}
fn default_max_backoff_secs() -> u64 {
    300
}
fn default_max_retry_after_secs() -> u64 {
    3_600
}
fn default_attempt_timeout_secs() -> u64 {
    30
}

/// `path` as given when absolute, else under `base`.
pub(crate) fn under(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
