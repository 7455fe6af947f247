//! `type: syslog`: transport, address, message format, facility and names.

use crate::severity::Severity;
use crate::sink::config::{
    default_min_severity, under, FilterConfig, KeyProblem, QueueConfig, RetryConfig, TypeKey,
};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    #[serde(rename = "type", default)]
    pub kind: TypeKey,
    #[serde(default)]
    pub transport: TransportKind,
    /// A socket path for `unix` (default `/dev/log`), `host:port` for `udp` and `tcp`.
    pub address: Option<String>,
    #[serde(default)]
    pub format: SyslogFormat,
    #[serde(default)]
    pub facility: Facility,
    /// APP-NAME (RFC 5424) or TAG (RFC 3164).
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// HOSTNAME in the header; the machine's host name when unset.
    pub hostname: Option<String>,
    /// Connect and write timeout.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Messages over datagram transports are cut to this many bytes.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub retry: RetryConfig,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// A local unix datagram socket (`/dev/log`).
    #[default]
    Unix,
    Udp,
    /// TCP with octet-counting framing (RFC 6587).
    Tcp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    #[default]
    Rfc5424,
    Rfc3164,
}

/// Syslog facilities (RFC 5424 table 1), by their usual names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facility {
    Kern,
    User,
    Mail,
    Daemon,
    /// Security and authorization messages: where detections belong by default.
    #[default]
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    Authpriv,
    Ftp,
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

impl Facility {
    /// The facility's number.
    pub fn code(self) -> u8 {
        match self {
            Facility::Kern => 0,
            Facility::User => 1,
            Facility::Mail => 2,
            Facility::Daemon => 3,
            Facility::Auth => 4,
            Facility::Syslog => 5,
            Facility::Lpr => 6,
            Facility::News => 7,
            Facility::Uucp => 8,
            Facility::Cron => 9,
            Facility::Authpriv => 10,
            Facility::Ftp => 11,
            Facility::Local0 => 16,
            Facility::Local1 => 17,
            Facility::Local2 => 18,
            Facility::Local3 => 19,
            Facility::Local4 => 20,
            Facility::Local5 => 21,
            Facility::Local6 => 22,
            Facility::Local7 => 23,
        }
    }
}

fn default_app_name() -> String {
    "trailwatch".into()
}
fn default_timeout_secs() -> u64 {
    5
}
fn default_max_message_bytes() -> usize {
    8192
}

impl SyslogConfig {
    /// Fills in the default address and checks the one given.
    pub fn resolve(&mut self, base: &Path) -> Result<(), KeyProblem> {
        match (self.transport, self.address.as_deref()) {
            (TransportKind::Unix, None) => self.address = Some("/dev/log".into()),
            (TransportKind::Unix, Some(path)) => {
                self.address = Some(under(base, Path::new(path)).display().to_string());
            }
            (_, None) => {
                return Err(KeyProblem::new(
                    "transport",
                    "udp and tcp need `address: host:port`",
                ))
            }
            (_, Some(address)) => {
                let port = address.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
                if !matches!(port, Some(Ok(p)) if p > 0) {
                    return Err(KeyProblem::new(
                        "address",
                        format!("address: `{address}` is not host:port"),
                    ));
                }
            }
        }
        let app_ok = !self.app_name.is_empty()
            && self.app_name.len() <= 48
            && self.app_name.bytes().all(|b| (33..=126).contains(&b));
        if !app_ok {
            return Err(KeyProblem::new(
                "app_name",
                "app_name: 1 to 48 printable ASCII characters, no spaces",
            ));
        }
        if self.timeout_secs == 0 || self.max_message_bytes < 480 {
            return Err(KeyProblem::new(
                "timeout_secs",
                "timeout_secs must be at least 1 and max_message_bytes at least 480",
            ));
        }
        Ok(())
    }
}
