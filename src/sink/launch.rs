//! Turning a [`SinkSpec`] into a sink: the one `match` over sink types.
//!
//! What happens to the sink once built varies (the router starts a driver for it,
//! `trailwatch sink test` sends it one alert), so the match hands the sink to a
//! [`WithSink`] rather than returning a boxed trait object: each sink type keeps its own
//! concrete driver, and there is still exactly one place that lists the types.

use super::config::{SinkConfig, SinkSpec};
use super::driver::{Controls, Driver};
use super::file::FileSink;
use super::journald::JournaldSink;
use super::slack::SlackSink;
use super::stdout::StdoutSink;
use super::syslog::SyslogSink;
use super::webhook::WebhookSink;
use super::{Sink, SinkError};
use crate::alert::Alert;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Something to do with a freshly built sink, whatever its type.
pub trait WithSink {
    type Output;
    fn with<S: Sink>(self, sink: S) -> Self::Output;
}

/// Builds the sink `spec` describes and hands it to `then`.
pub fn build<W: WithSink>(spec: &SinkSpec, then: W) -> Result<W::Output, SinkError> {
    let name = spec.name.as_str();
    Ok(match &spec.config {
        SinkConfig::Slack(c) => then.with(SlackSink::new(name, c)?),
        SinkConfig::File(c) => then.with(FileSink::new(name, c)),
        SinkConfig::Syslog(c) => then.with(SyslogSink::new(name, c)?),
        SinkConfig::Journald(c) => then.with(JournaldSink::new(name, c)?),
        SinkConfig::Stdout(c) => then.with(StdoutSink::new(c)),
        SinkConfig::Webhook(c) => then.with(WebhookSink::new(name, c)?),
    })
}

/// Starts a driver for the sink.
pub struct Launch(pub Controls);

impl WithSink for Launch {
    type Output = JoinHandle<()>;
    fn with<S: Sink>(self, sink: S) -> JoinHandle<()> {
        Driver::spawn(sink, self.0)
    }
}

/// Sends one alert straight to the sink: no queue, no spool, no retry.
pub struct SendOnce(pub Arc<Alert>);

impl WithSink for SendOnce {
    type Output = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send>>;
    fn with<S: Sink>(self, mut sink: S) -> Self::Output {
        Box::pin(async move { sink.send(&[self.0]).await })
    }
}

/// Sends `alert` once to the sink `spec` describes and reports the outcome, bypassing the
/// queue and the delivered-id record (for `trailwatch sink test`).
pub async fn send_once(spec: &SinkSpec, alert: Alert) -> Result<(), SinkError> {
    build(spec, SendOnce(Arc::new(alert)))?.await
}
