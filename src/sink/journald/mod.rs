//! The journald sink: systemd's native journal protocol, so alerts arrive as structured
//! entries (`journalctl -o json TRAILWATCH_RULE_ID=...`).

pub mod entry;
pub mod sink;
pub mod socket;

pub use sink::{JournaldConfig, JournaldSink};
