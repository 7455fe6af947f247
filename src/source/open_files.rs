//! The descriptor budget of the discovery loop.
//!
//! Every tailed file could stay open (that is what lets a renamed file be read to its end), but
//! an inbox may hold ten thousand of them and a process has a hard descriptor limit
//! (`LimitNOFILE`). So at most `max_open_files` tails hold a descriptor at once: the cap is
//! checked *before* a closed tail is opened, and the tail idle for longest gives its descriptor
//! up first. A closed tail is reopened only when its size or modification time changed.
//!
//! Running out of descriptors anyway (EMFILE for the process, ENFILE for the whole system,
//! because other parts of the daemon or other processes hold them) is back-pressure, not a
//! fact about the file: the file is kept and tried again on the next poll, the event is
//! counted (`trailwatch_open_file_retries_total`) and a WARN says so at most once a minute.

use super::fingerprint::FileKey;
use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the "out of descriptors" warning may be logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// True for the errors that mean "no descriptor free right now" rather than anything about
/// the file itself.
pub fn is_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE)
    )
}

/// Which tails hold a descriptor, oldest first, and how many.
#[derive(Debug)]
pub struct OpenFiles {
    max: usize,
    open: usize,
    /// Keys in the order their tails were opened. Entries of tails closed for other reasons
    /// (the file went away) are left in place and skipped when they come up: cheaper than
    /// searching the queue on every close.
    order: VecDeque<FileKey>,
    retries: Arc<AtomicU64>,
    last_warning: Option<Instant>,
    unreported: u64,
}

impl OpenFiles {
    /// A budget of `max` descriptors (at least one, or nothing could ever be read);
    /// `retries` is the metric bumped on every EMFILE/ENFILE.
    pub fn new(max: usize, retries: Arc<AtomicU64>) -> OpenFiles {
        OpenFiles {
            max: max.max(1),
            open: 0,
            order: VecDeque::new(),
            retries,
            last_warning: None,
            unreported: 0,
        }
    }

    /// Tails holding a descriptor now.
    pub fn open(&self) -> usize {
        self.open
    }

    /// True when one more tail may be opened without going over the cap.
    pub fn has_room(&self) -> bool {
        self.open < self.max
    }

    /// Records that the tail `key` now holds a descriptor.
    pub fn opened(&mut self, key: FileKey) {
        self.open += 1;
        self.order.push_back(key);
    }

    /// True when the queue holds many more entries than open tails (stale ones piled up).
    pub fn needs_compaction(&self) -> bool {
        self.order.len() > 2 * self.max + 64
    }

    /// Keeps only the entries of tails that are still open (`is_open`), once each, in order.
    pub fn compact(&mut self, mut is_open: impl FnMut(&FileKey) -> bool) {
        let mut seen = std::collections::HashSet::new();
        self.order.retain(|k| is_open(k) && seen.insert(*k));
        self.open = self.order.len();
    }

    /// Records that a tail gave its descriptor up.
    pub fn closed(&mut self) {
        self.open = self.open.saturating_sub(1);
    }

    /// The key of the tail opened longest ago, a candidate to close. The caller checks that
    /// it is still open and calls [`OpenFiles::closed`] when it closes it.
    pub fn oldest(&mut self) -> Option<FileKey> {
        self.order.pop_front()
    }

    /// Counts an EMFILE/ENFILE met while opening `path`, and warns at most once a minute.
    pub fn exhausted(&mut self, path: &Path, error: &io::Error) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
        {
            tracing::warn!(
                path = ?path,
                error = %error,
                open_tails = self.open,
                retries_since_last_warning = self.unreported,
                "out of file descriptors: the file is kept and read when descriptors free up \
                 (raise LimitNOFILE, or lower what else holds descriptors)"
            );
            self.last_warning = Some(now);
            self.unreported = 0;
        } else {
            self.unreported += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ino: u64) -> FileKey {
        FileKey { dev: 1, ino }
    }

    #[test]
    fn counts_against_the_cap_and_hands_out_the_oldest_first() {
        let retries = Arc::new(AtomicU64::new(0));
        let mut budget = OpenFiles::new(2, retries.clone());
        assert!(budget.has_room());
        budget.opened(key(1));
        budget.opened(key(2));
        assert!(!budget.has_room());
        assert_eq!(budget.oldest(), Some(key(1)));
        budget.closed();
        assert!(budget.has_room());
        assert_eq!(budget.open(), 1);
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert!(is_exhaustion(&emfile));
        assert!(!is_exhaustion(&io::Error::from(io::ErrorKind::NotFound)));
        budget.exhausted(Path::new("a"), &emfile);
        budget.exhausted(Path::new("b"), &emfile);
        assert_eq!(retries.load(Ordering::Relaxed), 2);
        assert_eq!(
            budget.unreported, 1,
            "the second warning within a minute is held back"
        );
    }

    #[test]
    fn compaction_keeps_the_open_tails_in_order() {
        let mut budget = OpenFiles::new(4, Arc::default());
        for ino in 0..100 {
            budget.opened(key(ino));
            if ino != 7 && ino != 3 {
                budget.closed();
            }
        }
        assert!(budget.needs_compaction());
        budget.compact(|k| k.ino == 3 || k.ino == 7);
        assert!(!budget.needs_compaction());
        assert_eq!(budget.open(), 2);
        assert_eq!(
            (budget.oldest(), budget.oldest()),
            (Some(key(3)), Some(key(7)))
        );
    }
}
