//! `SinkError`: what can go wrong delivering an alert, split the way the driver branches.
//!
//! A sink says whether trying again could help ([`SinkError::Retryable`], with the wait the
//! endpoint asked for, if any) or not ([`SinkError::Permanent`]); the driver owns every retry
//! decision. The other variants belong to the router: a spool that cannot be written, a sink
//! that cannot be built, a router that has shut down.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Delivery failed but may succeed later (timeout, 5xx, 429, a socket that went away).
    #[error("{message}")]
    Retryable {
        message: String,
        /// The wait the endpoint asked for (`Retry-After`); `None` means "use the backoff".
        retry_after: Option<Duration>,
    },
    /// The endpoint refused the alert and would refuse it again (4xx other than 429, an
    /// alert it cannot represent).
    #[error("{message}")]
    Permanent { message: String },
    /// A spool or delivered-id record could not be read or written.
    #[error("sink `{sink}`: {}: {source}", path.display())]
    Spool {
        sink: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A sink could not be built from its configuration.
    #[error("sink `{sink}`: {message}")]
    Setup { sink: String, message: String },
    /// The router has shut down and accepts no more alerts.
    #[error("the sink router is shut down")]
    Closed,
}

impl SinkError {
    /// A retryable failure that uses the driver's backoff.
    pub fn retryable(message: impl Into<String>) -> SinkError {
        SinkError::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> SinkError {
        SinkError::Permanent {
            message: message.into(),
        }
    }

    pub fn setup(sink: &str, message: impl Into<String>) -> SinkError {
        SinkError::Setup {
            sink: sink.to_string(),
            message: message.into(),
        }
    }
}
