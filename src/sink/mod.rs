//! Sinks: where alerts go once the engine has raised them.
//!
//! Every sink type implements one trait, [`Sink`]; everything around delivery is shared and
//! written once: the per-sink bounded queue and on-disk spool ([`queue`], [`spool`]), the
//! record of delivered ids that stops a crash from notifying twice ([`delivered`]), the
//! generic driver with its retry policy ([`driver`], [`retry`]), and the [`Router`] that fans
//! alerts out and swaps the set on reload. `docs/SINKS.md` is the operator's view.
//!
//! Layout: configuration ([`config`], [`load`], [`secret`]), delivery machinery, then one
//! module per sink type. [`launch`] holds the one `match` that builds a sink from its config.

pub mod config;
pub mod delivered;
pub mod driver;
pub mod error;
pub mod facts;
pub mod file;
pub mod filter;
pub mod http;
pub mod journald;
pub mod launch;
pub mod load;
pub mod queue;
pub mod retry;
pub mod router;
mod running;
pub mod sample;
pub mod secret;
pub mod slack;
pub mod spool;
pub mod stats;
pub mod stdout;
pub mod syslog;
pub mod test_alert;
pub mod waiting;
pub mod webhook;

pub use config::{FilterConfig, FullPolicy, QueueConfig, RetryConfig, SinkConfig, SinkSpec};
pub use error::SinkError;
pub use launch::send_once;
pub use load::load_dir;
pub use router::Router;
pub use sample::sample_alert;
pub use stats::SinkStats;
pub use test_alert::{fresh_test_alert, test_alert, TEST_RULE_ID};

use crate::alert::Alert;
use std::future::Future;
use std::sync::Arc;

/// A destination for alerts. Implementations only deliver: queueing, batching, retries,
/// the spool and dedup belong to the driver, identical for every sink.
pub trait Sink: Send + 'static {
    /// Delivers a batch of at most [`Sink::max_batch`] alerts, oldest first. `Ok` means
    /// every alert of the batch was delivered; an error means the driver will retry the whole
    /// batch ([`SinkError::Retryable`]) or drop it ([`SinkError::Permanent`]).
    fn send(&mut self, batch: &[Arc<Alert>]) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// The largest batch worth sending at once. 1 unless one write can carry several alerts
    /// (a file write followed by one fsync, for instance).
    fn max_batch(&self) -> usize {
        1
    }

    /// Reopens files (logrotate moved them). Called by the driver before its next send after
    /// `Router::reopen_files`; most sinks have nothing to reopen.
    fn reopen(&mut self) {}
}
