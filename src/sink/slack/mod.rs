//! The Slack sink: an incoming webhook receiving one Block Kit message per alert.

pub mod config;
pub mod payload;
pub mod sink;

pub use config::SlackConfig;
pub use payload::payload;
pub use sink::SlackSink;
