//! `type: stdout`: one line per alert on standard output, as JSON (the alert contract) or as
//! a short human-readable line. Meant for `trailwatch run` in a terminal or under a
//! supervisor that collects stdout (systemd, Docker).

use super::config::{default_min_severity, FilterConfig, QueueConfig, RetryConfig, TypeKey};
use super::facts::Facts;
use super::{Sink, SinkError};
use crate::alert::Alert;
use crate::severity::Severity;
use serde::Deserialize;
use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::Arc;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    #[serde(rename = "type", default)]
    pub kind: TypeKey,
    #[serde(default)]
    pub format: LineFormat,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

/// How an alert is written on one line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineFormat {
    /// The alert contract as one JSON object.
    #[default]
    Json,
    /// `TIME SEVERITY RULE "title" key=value ...`.
    Text,
}

pub struct StdoutSink {
    format: LineFormat,
    /// The write in progress and the ids of the alerts it carries. It outlives an attempt
    /// that the driver abandons at its timeout (a pipe nobody drains): the write cannot be
    /// taken back, so the next attempt first waits for it and leaves out what it wrote.
    in_flight: Option<(HashSet<String>, JoinHandle<io::Result<()>>)>,
}

impl StdoutSink {
    pub fn new(config: &StdoutConfig) -> StdoutSink {
        StdoutSink {
            format: config.format,
            in_flight: None,
        }
    }

    /// Waits for the write in progress, if any; returns the ids it wrote.
    async fn finish_in_flight(&mut self) -> HashSet<String> {
        let Some((_, handle)) = self.in_flight.as_mut() else {
            return HashSet::new();
        };
        // Awaited through `&mut`: abandoned here, the write stays recorded as in flight.
        let result = handle.await;
        let ids = self
            .in_flight
            .take()
            .map(|(ids, _)| ids)
            .unwrap_or_default();
        match result {
            Ok(Ok(())) => ids,
            // Failed partway: which lines went out is unknown; all are written again.
            _ => HashSet::new(),
        }
    }
}

impl Sink for StdoutSink {
    async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
        let written = self.finish_in_flight().await;
        let mut out = String::new();
        let mut ids = HashSet::new();
        for alert in batch.iter().filter(|a| !written.contains(&a.alert_id)) {
            out.push_str(&line(alert, self.format));
            out.push('\n');
            ids.insert(alert.alert_id.clone());
        }
        if out.is_empty() {
            return Ok(());
        }
        // A plain blocking write on its own thread (rather than tokio's stdout, whose
        // internal buffer would write an unknown part of an abandoned batch later).
        let handle = tokio::task::spawn_blocking(move || {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.as_bytes())?;
            stdout.flush()
        });
        self.in_flight = Some((ids, handle));
        let result = match self.in_flight.as_mut() {
            Some((_, handle)) => handle.await,
            None => return Ok(()),
        };
        self.in_flight = None;
        match result {
            Ok(result) => result.map_err(|e| SinkError::retryable(format!("stdout: {e}"))),
            Err(e) => Err(SinkError::retryable(format!("stdout: {e}"))),
        }
    }

    fn max_batch(&self) -> usize {
        256
    }
}

/// One alert as one line (no newline).
pub fn line(alert: &Alert, format: LineFormat) -> String {
    match format {
        LineFormat::Json => serde_json::to_string(alert).unwrap_or_default(),
        LineFormat::Text => text_line(alert),
    }
}

fn text_line(alert: &Alert) -> String {
    let facts = Facts::of(alert);
    // Quoted so a title with spaces stays one field; newlines, terminal escapes and bidi
    // overrides are made visible ([`crate::escape`]), so the line stays one line on a terminal.
    let quote = |s: &str| format!("\"{}\"", crate::escape::line(s).replace('"', "\\\""));
    let mut line = format!(
        "{} {} {} {}",
        alert.created_at,
        alert.severity,
        alert.rule_id,
        quote(&alert.title)
    );
    for (key, value) in [
        ("account", facts.account),
        ("region", facts.region),
        ("principal", facts.principal),
        ("source_ip", facts.source_ip),
    ] {
        if let Some(v) = value {
            line.push_str(&format!(" {key}={}", quote(&v)));
        }
    }
    line.push_str(&format!(
        " events={} alert_id={}",
        alert.event_count, alert.alert_id
    ));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;

    #[test]
    fn text_and_json_lines() {
        let mut alert = sample_alert();
        alert.title = "two\nlines".into();
        let text = line(&alert, LineFormat::Text);
        assert_eq!(
            text,
            "2024-01-17T09:31:02Z HIGH AWS.RDS.SecurityGroupIngressAuthorized \"two\\u000alines\" \
             account=\"123456789012\" region=\"eu-west-1\" \
             principal=\"arn:aws:iam::123456789012:user/ops\" source_ip=\"198.51.100.7\" \
             events=3 alert_id=0123456789abcdef0123456789abcdef"
        );
        let json: serde_json::Value =
            serde_json::from_str(&line(&alert, LineFormat::Json)).unwrap();
        assert_eq!(json["alert_id"], "0123456789abcdef0123456789abcdef");
        assert!(!line(&alert, LineFormat::Json).contains('\n'));
    }
}
