//! `type: journald`: one journal entry per alert on the native socket.

use super::entry::encode;
use super::socket::send_entry;
use crate::alert::Alert;
use crate::severity::Severity;
use crate::sink::config::{
    default_min_severity, under, yes, FilterConfig, KeyProblem, QueueConfig, RetryConfig, TypeKey,
};
use crate::sink::queue::blocking;
use crate::sink::{Sink, SinkError};
use serde::Deserialize;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournaldConfig {
    #[serde(rename = "type", default)]
    pub kind: TypeKey,
    /// journald's native socket.
    #[serde(default = "default_socket_path")]
    pub socket_path: PathBuf,
    /// SYSLOG_IDENTIFIER of the entries.
    #[serde(default = "default_identifier")]
    pub syslog_identifier: String,
    /// Also attach the whole alert as JSON (`TRAILWATCH_JSON`).
    #[serde(default = "yes")]
    pub include_json: bool,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_socket_path() -> PathBuf {
    "/run/systemd/journal/socket".into()
}
fn default_identifier() -> String {
    "trailwatch".into()
}

/// How long a send may block on a busy journald before it counts as a retryable failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

impl JournaldConfig {
    pub fn resolve(&mut self, base: &Path) -> Result<(), KeyProblem> {
        self.socket_path = under(base, &self.socket_path);
        if self.syslog_identifier.is_empty() || self.syslog_identifier.contains('\n') {
            return Err(KeyProblem::new(
                "syslog_identifier",
                "syslog_identifier: must be one non-empty line",
            ));
        }
        Ok(())
    }
}

pub struct JournaldSink {
    socket: Arc<UnixDatagram>,
    path: PathBuf,
    identifier: String,
    include_json: bool,
}

impl JournaldSink {
    pub fn new(name: &str, config: &JournaldConfig) -> Result<JournaldSink, SinkError> {
        let setup = |e: std::io::Error| SinkError::setup(name, format!("journal socket: {e}"));
        let socket = UnixDatagram::unbound().map_err(setup)?;
        socket
            .set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(setup)?;
        Ok(JournaldSink {
            socket: Arc::new(socket),
            path: config.socket_path.clone(),
            identifier: config.syslog_identifier.clone(),
            include_json: config.include_json,
        })
    }
}

impl Sink for JournaldSink {
    async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
        let entries: Vec<Vec<u8>> = batch
            .iter()
            .map(|a| encode(a, &self.identifier, self.include_json))
            .collect();
        let (socket, path) = (self.socket.clone(), self.path.clone());
        blocking(move || {
            for entry in &entries {
                send_entry(&socket, &path, entry).map_err(|e| {
                    SinkError::retryable(format!("journald {}: {e}", path.display()))
                })?;
            }
            Ok(())
        })
        .await
    }
}
