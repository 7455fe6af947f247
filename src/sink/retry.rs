//! How long the driver waits before trying a failed delivery again.
//!
//! Exponential backoff with "equal jitter" (half the delay fixed, half random): the fixed half
//! keeps the delay growing, the random half keeps many daemons that lost the same endpoint at
//! the same moment from hammering it in lock-step when it comes back. A `Retry-After` from the
//! endpoint wins over the backoff: the endpoint knows its own rate limit.

use super::config::RetryConfig;
use std::time::Duration;

/// The retry state of one sink.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    max_retry_after: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(config: &RetryConfig) -> Backoff {
        Backoff {
            initial: Duration::from_millis(config.initial_backoff_ms.max(1)),
            max: Duration::from_secs(config.max_backoff_secs.max(1)),
            max_retry_after: Duration::from_secs(config.max_retry_after_secs),
            failures: 0,
        }
    }

    /// Records a failure and returns the wait before the next attempt.
    pub fn failed(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let exp = self.failures.saturating_sub(1).min(30);
        let full = self.initial.saturating_mul(1 << exp).min(self.max);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A delivery succeeded: the next failure starts from the initial backoff again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_bounds_and_honours_retry_after() {
        let mut b = Backoff::new(&RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_secs: 1,
            max_retry_after_secs: 60,
            ..RetryConfig::default()
        });
        let first = b.failed(None);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let second = b.failed(None);
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        for _ in 0..40 {
            assert!(b.failed(None) <= Duration::from_secs(1));
        }
        assert_eq!(
            b.failed(Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            b.failed(Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        b.succeeded();
        assert!(b.failed(None) <= Duration::from_millis(100));
    }
}
