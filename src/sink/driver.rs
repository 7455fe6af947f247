//! The one generic driver: the task that takes alerts from a sink's queue and delivers them.
//!
//! Every sink type gets the same loop: take a batch from the front of the queue, send it,
//! then either finish it (delivered, or refused for good and logged) or give it back and wait
//! (`Retry-After`, else jittered exponential backoff) before trying the same batch again.
//! Alerts therefore leave in the order they were accepted, and a sink that is down holds back
//! only its own queue: each sink has its own driver task.
//!
//! The router steers a driver through a `watch` channel: `Hold` (built, not started yet, so a
//! reload can still be abandoned), `Run`, `Drain` (deliver what is waiting, then end) and
//! `Stop` (end after the send in progress, if any). Stopping never interrupts a send halfway:
//! a half-sent HTTP request is the surest way to notify twice.
//!
//! A send that takes longer than `retry.attempt_timeout_secs` is abandoned and counts as a
//! retryable failure, so a peer that accepts and never reads (or a pipe nobody drains) holds
//! the queue for that long at most. Dropping the attempt is safe only because every sink
//! either sends one alert per attempt (syslog, journald, Slack, webhook: what was not
//! acknowledged is sent again, as after any failure) or remembers which alerts a late write
//! did put out (file, stdout), so the retry skips them.

use super::config::RetryConfig;
use super::queue::Queue;
use super::retry::Backoff;
use super::waiting::Outcome;
use super::{Sink, SinkError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the router wants a driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Hold,
    Run,
    Drain,
    Stop,
}

/// The parts of a driver that do not depend on the sink type.
pub struct Controls {
    pub queue: Arc<Queue>,
    pub retry: RetryConfig,
    pub mode: watch::Receiver<Mode>,
    /// Bumped by `Router::reopen_files`; the driver reopens before its next send.
    pub reopen: Arc<AtomicU64>,
}

pub struct Driver<S: Sink> {
    sink: S,
    queue: Arc<Queue>,
    backoff: Backoff,
    attempt_timeout: Duration,
    mode: watch::Receiver<Mode>,
    reopen: Arc<AtomicU64>,
    reopened: u64,
}

impl<S: Sink> Driver<S> {
    /// Spawns the driver task of `sink`.
    pub fn spawn(sink: S, controls: Controls) -> JoinHandle<()> {
        let reopened = controls.reopen.load(Ordering::Relaxed);
        let driver = Driver {
            sink,
            queue: controls.queue,
            backoff: Backoff::new(&controls.retry),
            attempt_timeout: Duration::from_secs(controls.retry.attempt_timeout_secs.max(1)),
            mode: controls.mode,
            reopen: controls.reopen,
            reopened,
        };
        tokio::spawn(driver.run())
    }

    /// The current mode; a router that went away means stop.
    fn mode(&mut self) -> Mode {
        if self.mode.has_changed().is_err() {
            return Mode::Stop;
        }
        *self.mode.borrow_and_update()
    }

    async fn run(mut self) {
        while self.mode() == Mode::Hold {
            if self.mode.changed().await.is_err() {
                return;
            }
        }
        loop {
            let mode = self.mode();
            if mode == Mode::Stop {
                break;
            }
            let batch = match self.queue.take(self.sink.max_batch()).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(sink = self.queue.name(), error = %e, "cannot read the sink queue");
                    let wait = self.backoff.failed(None);
                    self.pause(wait).await;
                    continue;
                }
            };
            if batch.is_empty() {
                if mode == Mode::Drain {
                    break;
                }
                tokio::select! {
                    _ = self.queue.arrival() => {}
                    _ = self.mode.changed() => {}
                }
                continue;
            }
            let generation = self.reopen.load(Ordering::Relaxed);
            if generation != self.reopened {
                self.reopened = generation;
                self.sink.reopen();
            }
            let result =
                match tokio::time::timeout(self.attempt_timeout, self.sink.send(&batch)).await {
                    Ok(result) => result,
                    Err(_) => {
                        self.queue.timed_out();
                        Err(SinkError::retryable(format!(
                            "delivery attempt timed out after {} s",
                            self.attempt_timeout.as_secs()
                        )))
                    }
                };
            self.settle(result, batch.len()).await;
        }
        tracing::debug!(sink = self.queue.name(), "sink driver stopped");
    }

    /// Finishes or gives back the batch after an attempt.
    async fn settle(&mut self, result: Result<(), SinkError>, size: usize) {
        let name = self.queue.name().to_string();
        let finished = match result {
            Ok(()) => {
                self.backoff.succeeded();
                tracing::debug!(sink = %name, alerts = size, "delivered");
                self.queue.finish(Outcome::Delivered).await
            }
            Err(SinkError::Permanent { message }) => {
                self.backoff.succeeded();
                tracing::error!(sink = %name, alerts = size, error = %message,
                    "sink refused the alert for good; dropping it");
                self.queue.finish(Outcome::Rejected).await
            }
            Err(e) => {
                let retry_after = match &e {
                    SinkError::Retryable { retry_after, .. } => *retry_after,
                    _ => None,
                };
                self.queue.release();
                let wait = self.backoff.failed(retry_after);
                tracing::warn!(sink = %name, error = %e, attempt = self.backoff.failures(),
                    retry_in_ms = wait.as_millis() as u64, "delivery failed; will retry");
                self.pause(wait).await;
                Ok(())
            }
        };
        if let Err(e) = finished {
            tracing::error!(sink = %name, error = %e, "cannot record a delivery in the spool");
        }
    }

    /// Waits `wait`, or less if told to stop. `Drain` keeps retrying until the router's
    /// deadline aborts the task: the alerts stay in the spool either way.
    async fn pause(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return,
                changed = self.mode.changed() => {
                    if changed.is_err() || *self.mode.borrow() == Mode::Stop {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Alert;
    use crate::sink::config::QueueConfig;
    use crate::sink::sample_alert;
    use tokio::sync::mpsc;

    /// A sink that answers from a script and reports each attempt.
    struct Scripted {
        answers: Vec<Result<(), SinkError>>,
        attempts: mpsc::UnboundedSender<(Instant, String)>,
    }

    impl Sink for Scripted {
        async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
            let _ = self
                .attempts
                .send((Instant::now(), batch[0].alert_id.clone()));
            if self.answers.is_empty() {
                Ok(())
            } else {
                self.answers.remove(0)
            }
        }
    }

    async fn queue_with(dir: &std::path::Path, ids: &[&str]) -> Arc<Queue> {
        let queue = Arc::new(Queue::open("t", dir, &QueueConfig::default()).unwrap());
        for id in ids {
            let mut alert = sample_alert();
            alert.alert_id = id.to_string();
            let json = Arc::new(serde_json::to_vec(&alert).unwrap());
            assert!(queue.accept(Arc::new(alert), json).await.unwrap());
        }
        queue
    }

    fn start(
        queue: &Arc<Queue>,
        answers: Vec<Result<(), SinkError>>,
    ) -> (
        watch::Sender<Mode>,
        JoinHandle<()>,
        mpsc::UnboundedReceiver<(Instant, String)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (mode, receiver) = watch::channel(Mode::Run);
        let retry = RetryConfig {
            initial_backoff_ms: 100,
            ..RetryConfig::default()
        };
        let controls = Controls {
            queue: queue.clone(),
            retry,
            mode: receiver,
            reopen: Arc::new(AtomicU64::new(0)),
        };
        let sink = Scripted {
            answers,
            attempts: tx,
        };
        (mode, Driver::spawn(sink, controls), rx)
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_then_delivers_once() {
        let dir = tempfile::tempdir().unwrap();
        let queue = queue_with(dir.path(), &["a", "b"]).await;
        let answers = vec![Err(SinkError::Retryable {
            message: "429".into(),
            retry_after: Some(Duration::from_secs(30)),
        })];
        let (mode, task, mut attempts) = start(&queue, answers);
        let (t1, first) = attempts.recv().await.unwrap();
        let (t2, again) = attempts.recv().await.unwrap();
        assert_eq!((first.as_str(), again.as_str()), ("a", "a"));
        assert!(t2 - t1 >= Duration::from_secs(30), "{:?}", t2 - t1);
        mode.send_replace(Mode::Drain);
        task.await.unwrap();
        let (_, next) = attempts.recv().await.unwrap();
        assert_eq!(next, "b");
        assert!(attempts.try_recv().is_err(), "nothing sent twice");
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.retries, stats.waiting), (2, 1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_exponentially_and_drops_permanent_failures() {
        let dir = tempfile::tempdir().unwrap();
        let queue = queue_with(dir.path(), &["a", "b"]).await;
        let answers = vec![
            Err(SinkError::retryable("down")),
            Err(SinkError::retryable("down")),
            Err(SinkError::permanent("400 invalid_payload")),
        ];
        let (mode, task, mut attempts) = start(&queue, answers);
        let mut times = Vec::new();
        for _ in 0..4 {
            times.push(attempts.recv().await.unwrap());
        }
        let ids: Vec<&str> = times.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["a", "a", "a", "b"]);
        // Equal jitter: the n-th wait lies in [initial * 2^(n-1) / 2, initial * 2^(n-1)].
        let first = times[1].0 - times[0].0;
        let second = times[2].0 - times[1].0;
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        mode.send_replace(Mode::Drain);
        task.await.unwrap();
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.rejected), (1, 1));
    }

    #[tokio::test]
    async fn stop_interrupts_a_long_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let queue = queue_with(dir.path(), &["a"]).await;
        let answers = vec![Err(SinkError::Retryable {
            message: "429".into(),
            retry_after: Some(Duration::from_secs(3600)),
        })];
        let (mode, task, mut attempts) = start(&queue, answers);
        attempts.recv().await.unwrap();
        mode.send_replace(Mode::Stop);
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the driver stops without waiting out the backoff")
            .unwrap();
        assert_eq!(queue.stats().waiting, 1, "the alert stays queued");
    }
}
