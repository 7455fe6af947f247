//! The syslog sink: RFC 5424 or RFC 3164 messages over a unix datagram socket, UDP or TCP.

pub mod config;
pub mod format;
pub mod sink;
pub mod transport;

pub use config::{Facility, SyslogConfig, SyslogFormat, TransportKind};
pub use sink::SyslogSink;
