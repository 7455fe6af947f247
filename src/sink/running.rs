//! One running sink: its spec, its filter, its queue and its driver task.
//!
//! A `Running` is prepared with its driver held (`Mode::Hold`) so that a reload can build
//! every new sink first and still walk away, leaving the old set untouched, if one fails.
//! Dropping a `Running` aborts its driver, as a crash would.

use super::config::SinkSpec;
use super::driver::{Controls, Mode};
use super::filter::AlertFilter;
use super::launch::{build, Launch};
use super::queue::{blocking, Queue};
use super::SinkError;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One running sink.
pub struct Running {
    pub spec: SinkSpec,
    pub filter: AlertFilter,
    pub queue: Arc<Queue>,
    mode: watch::Sender<Mode>,
    task: Mutex<Option<JoinHandle<()>>>,
    pub reopen: Arc<AtomicU64>,
}

impl Running {
    /// Builds the sink and its driver, held (not started) until [`Running::run`].
    pub fn prepare(spec: SinkSpec, queue: Arc<Queue>) -> Result<Running, SinkError> {
        let (mode, receiver) = watch::channel(Mode::Hold);
        let reopen = Arc::new(AtomicU64::new(0));
        let controls = Controls {
            queue: queue.clone(),
            retry: spec.config.delivery().retry.clone(),
            mode: receiver,
            reopen: reopen.clone(),
        };
        let task = build(&spec, Launch(controls))?;
        Ok(Running {
            filter: AlertFilter::new(&spec.config.delivery()),
            spec,
            queue,
            mode,
            task: Mutex::new(Some(task)),
            reopen,
        })
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    fn take_task(&self) -> Option<JoinHandle<()>> {
        self.task.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Waits for the driver to end, aborting it at `deadline`. Returns false on abort.
    pub async fn join(&self, deadline: tokio::time::Instant) -> bool {
        let Some(mut task) = self.take_task() else {
            return true;
        };
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(_) => true,
            Err(_) => {
                task.abort();
                let _ = task.await;
                false
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.take_task() {
            task.abort();
        }
    }
}

/// Opens the queue of `spec` in `state_dir/spool/NAME/`.
pub async fn open_queue(state_dir: &Path, spec: &SinkSpec) -> Result<Arc<Queue>, SinkError> {
    let (name, config) = (spec.name.clone(), spec.config.delivery().queue.clone());
    let dir = state_dir.join("spool").join(&spec.name);
    blocking(move || Queue::open(&name, &dir, &config).map(Arc::new)).await
}
