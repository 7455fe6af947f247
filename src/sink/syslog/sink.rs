//! Formatting alerts as syslog messages and sending them, one message per alert.

use super::config::{SyslogConfig, SyslogFormat};
use super::format::{rfc3164, rfc5424, Origin};
use super::transport::Transport;
use crate::alert::Alert;
use crate::sink::{Sink, SinkError};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

pub struct SyslogSink {
    format: SyslogFormat,
    origin: Origin,
    transport: Transport,
    max_message_bytes: usize,
}

impl SyslogSink {
    pub fn new(name: &str, config: &SyslogConfig) -> Result<SyslogSink, SinkError> {
        let address = config
            .address
            .as_deref()
            .ok_or_else(|| SinkError::setup(name, "syslog address was not resolved"))?;
        let hostname = config.hostname.clone().unwrap_or_else(|| {
            rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned()
        });
        Ok(SyslogSink {
            format: config.format,
            origin: Origin {
                facility: config.facility.code(),
                hostname,
                app_name: config.app_name.clone(),
                pid: std::process::id(),
            },
            transport: Transport::new(
                config.transport,
                address,
                Duration::from_secs(config.timeout_secs),
            ),
            max_message_bytes: config.max_message_bytes,
        })
    }
}

impl Sink for SyslogSink {
    async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
        // TCP has no message size limit; datagrams do.
        let max = if self.transport.is_datagram() {
            self.max_message_bytes
        } else {
            usize::MAX
        };
        for alert in batch {
            let now = OffsetDateTime::now_utc();
            let message = match self.format {
                SyslogFormat::Rfc5424 => rfc5424(alert, &self.origin, now, max),
                SyslogFormat::Rfc3164 => rfc3164(alert, &self.origin, now, max),
            };
            self.transport.send(message.as_bytes()).await?;
        }
        Ok(())
    }
}
