//! What a panic means in the daemon, and how systemd learns that the pipeline is alive.
//!
//! A long-running daemon must never stall quietly. There are two kinds of panic:
//!
//! - one while evaluating a single record (a rule or decoder bug met by odd input). It is caught
//!   at the record boundary by [`catch_record`], reported like any other bad input (file and
//!   line) and counted; the batch still produces its result, so the alert stage, which puts
//!   batches back in sequence, never waits for a number that will not come;
//! - any other panic (a worker outside that boundary, the source thread, the alert stage, a sink
//!   task). Its state can no longer be trusted and the sequence may have a hole, so the hook
//!   installed by [`install_panic_hook`] logs it and ends the process with [`EXIT_PANIC`]; systemd
//!   (`Restart=on-failure`) starts a fresh one, which resumes from the last checkpoint.
//!
//! The watchdog is fed from [`Progress`], never from a free-running timer: a stalled pipeline
//! stops the pings and systemd restarts the service, and `/healthz` turns unhealthy on the
//! same signal ([`watch_progress`]).

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Exit status after a panic outside the record boundary (`EX_SOFTWARE` from sysexits.h).
pub const EXIT_PANIC: i32 = 70;

thread_local! {
    /// True while this thread evaluates one record inside [`catch_record`].
    static IN_RECORD: Cell<bool> = const { Cell::new(false) };
    /// Where the last caught panic happened (the hook sees the location, the payload does not).
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the process-wide panic hook: panics inside [`catch_record`] are left to it, any
/// other panic is logged and ends the process with [`EXIT_PANIC`].
pub fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown place".into());
        if IN_RECORD.with(Cell::get) {
            LAST_LOCATION.with(|l| *l.borrow_mut() = Some(location));
            return;
        }
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let message = payload_text(info.payload());
        tracing::error!(thread = name, at = %location, "panic: {message}; exiting so the service manager restarts trailwatch");
        eprintln!("trailwatch: panic in thread {name} at {location}: {message}; exiting");
        // With RUST_BACKTRACE set, the stack too (capture() is free otherwise).
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            eprintln!("{backtrace}");
        }
        // Exit right here, before unwinding: a worker that unwinds would take its batch's
        // sequence number with it and the alert stage would wait for it forever.
        std::process::exit(EXIT_PANIC);
    }));
}

/// Runs `evaluate` for one record; a panic inside becomes `Err` with its message and place.
pub fn catch_record<T>(evaluate: impl FnOnce() -> T) -> Result<T, String> {
    IN_RECORD.with(|f| f.set(true));
    // AssertUnwindSafe: the caller drops whatever `evaluate` touched (the engine) on Err.
    let result = panic::catch_unwind(AssertUnwindSafe(evaluate));
    IN_RECORD.with(|f| f.set(false));
    result.map_err(|payload| {
        let at = LAST_LOCATION
            .with(|l| l.borrow_mut().take())
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        format!(
            "evaluation panicked{at}: {}; the record is skipped",
            payload_text(payload.as_ref())
        )
    })
}

/// The panic message, made safe for one log line: a message may quote event content an
/// attacker chose, so control characters are escaped and the length is capped.
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    const MAX_CHARS: usize = 500;
    let raw = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(no message)"
    };
    let mut text = String::new();
    for (i, c) in raw.chars().enumerate() {
        if i == MAX_CHARS {
            text.push_str("...");
            break;
        }
        if c.is_control() {
            text.extend(c.escape_default());
        } else {
            text.push(c);
        }
    }
    text
}

/// Test hooks, debug builds only: evaluation panics on a record containing the text in
/// `TRAILWATCH_TEST_PANIC_ON`, and never returns from one containing the text in
/// `TRAILWATCH_TEST_HANG_ON` (a stalled pipeline, for the watchdog). Release builds compile
/// this to nothing.
#[cfg(debug_assertions)]
pub fn test_hooks_on_record(bytes: &[u8]) {
    static NEEDLES: std::sync::OnceLock<[Option<Vec<u8>>; 2]> = std::sync::OnceLock::new();
    let needles = NEEDLES.get_or_init(|| {
        ["TRAILWATCH_TEST_PANIC_ON", "TRAILWATCH_TEST_HANG_ON"].map(|name| {
            std::env::var(name)
                .ok()
                .filter(|s| !s.is_empty())
                .map(String::into_bytes)
        })
    });
    let contains = |needle: &Option<Vec<u8>>| {
        needle
            .as_ref()
            .is_some_and(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
    };
    if contains(&needles[0]) {
        panic!("TRAILWATCH_TEST_PANIC_ON matched this record");
    }
    if contains(&needles[1]) {
        loop {
            std::thread::park();
        }
    }
}

/// Release builds: no hooks.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn test_hooks_on_record(_bytes: &[u8]) {}

/// Test hook, debug builds only: true when `TRAILWATCH_TEST_PANIC_STAGE` names `stage`
/// (`worker`, `alert`), which then panics outside the record boundary.
pub fn test_panic_stage(stage: &str) -> bool {
    cfg!(debug_assertions) && std::env::var("TRAILWATCH_TEST_PANIC_STAGE").is_ok_and(|s| s == stage)
}

/// How far the pipeline has got: batches taken by a worker, and batches the alert stage has
/// finished with. Equal counts mean nothing is in flight between the two.
#[derive(Debug, Default)]
pub struct Progress {
    taken: AtomicU64,
    done: AtomicU64,
}

/// Held by each evaluated batch; dropped when the alert stage has processed it (or at
/// shutdown), which counts the batch as done.
#[derive(Debug)]
pub struct DoneToken(Arc<Progress>);

impl Drop for DoneToken {
    fn drop(&mut self) {
        self.0.done.fetch_add(1, Ordering::Release);
    }
}

impl Progress {
    /// Counts a batch taken from the source and returns the token that marks it done.
    pub fn take(self: &Arc<Self>) -> DoneToken {
        self.taken.fetch_add(1, Ordering::AcqRel);
        DoneToken(self.clone())
    }

    /// A snapshot: (taken, done).
    pub fn counts(&self) -> (u64, u64) {
        // `done` first: read the other way round, a batch finishing in between could make
        // done > taken look possible.
        let done = self.done.load(Ordering::Acquire);
        (self.taken.load(Ordering::Acquire), done)
    }
}

/// Decides at each check whether the pipeline is alive: batches were finished since the last
/// check, nothing is in flight (an idle pipeline is a healthy one), or alerts wait in a sink's
/// queue. The last case covers backpressure: with a sink down and its queue full, the alert
/// stage waits for room by design, and restarting trailwatch would not bring the sink back.
#[derive(Debug, Default)]
pub struct WatchdogGate {
    last_done: Option<u64>,
}

impl WatchdogGate {
    /// True when the pipeline earns a ping now.
    pub fn should_ping(&mut self, (taken, done): (u64, u64), sinks_backlogged: bool) -> bool {
        let moved = self.last_done != Some(done);
        let idle = taken == done;
        self.last_done = Some(done);
        moved || idle || sinks_backlogged
    }
}

/// Checks the pipeline every `every`: pings the watchdog (when systemd asked for one) each
/// time it is alive, and sets `healthy` false after two checks in a row that find it stalled,
/// the same tolerance systemd gives when `every` is half of `WatchdogSec`.
pub async fn watch_progress(
    progress: Arc<Progress>,
    sinks_backlogged: impl Fn() -> bool,
    every: Duration,
    watchdog: Option<super::systemd::Notifier>,
    healthy: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(every);
    let mut gate = WatchdogGate::default();
    let mut misses = 0u32;
    loop {
        tick.tick().await;
        if gate.should_ping(progress.counts(), sinks_backlogged()) {
            misses = 0;
            if let Some(dog) = &watchdog {
                dog.watchdog();
            }
        } else {
            misses += 1;
        }
        let now_healthy = misses < 2;
        if healthy.swap(now_healthy, Ordering::Relaxed) != now_healthy {
            if now_healthy {
                tracing::info!("pipeline moving again");
            } else {
                tracing::error!("pipeline stalled: no batch finished with work in flight");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn health_turns_false_after_two_stalled_checks_and_back() {
        let progress = Arc::new(Progress::default());
        let healthy = Arc::new(AtomicBool::new(true));
        let every = Duration::from_secs(1);
        tokio::spawn(watch_progress(
            progress.clone(),
            || false,
            every,
            None,
            healthy.clone(),
        ));
        let stuck = progress.take();
        // Checks at 0 s (first sight of the batch: done changed from nothing), 1 s, 2 s.
        tokio::time::sleep(every / 2).await;
        assert!(healthy.load(Ordering::Relaxed));
        tokio::time::sleep(every).await;
        assert!(
            healthy.load(Ordering::Relaxed),
            "one stalled check is tolerated"
        );
        tokio::time::sleep(every).await;
        assert!(!healthy.load(Ordering::Relaxed), "two are not");
        drop(stuck);
        tokio::time::sleep(every).await;
        assert!(
            healthy.load(Ordering::Relaxed),
            "finished work makes it healthy again"
        );
    }

    #[test]
    fn a_caught_panic_names_its_message_and_place() {
        let err = catch_record(|| -> u32 { panic!("boom {}", 7) }).unwrap_err();
        assert!(err.contains("boom 7"), "{err}");
        let err = catch_record(|| -> u32 { panic!("a\nforged line\x1b[31m") }).unwrap_err();
        assert!(err.contains("a\\nforged line\\u{1b}[31m"), "{err}");
        assert!(!err.chars().any(char::is_control), "{err:?}");
        assert!(err.contains("the record is skipped"), "{err}");
        assert_eq!(catch_record(|| 5).unwrap(), 5);
    }

    #[test]
    fn the_watchdog_is_fed_by_progress_or_idleness_only() {
        let progress = Arc::new(Progress::default());
        let mut gate = WatchdogGate::default();
        assert!(gate.should_ping(progress.counts(), false), "idle at start");
        let token = progress.take();
        assert!(
            !gate.should_ping(progress.counts(), false),
            "a batch in flight and none finished since the last ping"
        );
        assert!(!gate.should_ping(progress.counts(), false));
        assert!(
            gate.should_ping(progress.counts(), true),
            "waiting on a sink's full queue is not a hang"
        );
        drop(token);
        assert_eq!(progress.counts(), (1, 1));
        assert!(gate.should_ping(progress.counts(), false), "progress made");
        let _stuck = progress.take();
        assert!(
            !gate.should_ping(progress.counts(), false),
            "stalled with work in flight"
        );
    }
}
