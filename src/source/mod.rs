//! Sources: finding CloudTrail files and reading what is new in them.
//!
//! Two shapes of file reach a box: delivery files (`{"Records":[...]}`, usually `.json.gz`),
//! immutable once complete, read once and remembered as done ([`delivery`]); and NDJSON files
//! that grow, tailed from a byte offset ([`tail`]). [`watch`] runs the discovery loop: notify
//! events for low latency, a periodic rescan as the safety net; [`open_files`] keeps the
//! descriptors it holds under a fixed cap; [`walk`] lists a root's files under its symlink
//! policy.

mod bounded;
pub mod checkpoint;
pub mod delivery;
pub mod fingerprint;
pub mod open_files;
mod poll;
pub mod tail;
mod walk;
pub mod watch;

use crate::event::reader::{BadInput, Place};
use fingerprint::Fingerprint;
use std::path::PathBuf;

/// One record as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub place: Place,
    pub bytes: Vec<u8>,
}

/// Records read from one file in one go, and where the file stands after them.
#[derive(Debug, Clone)]
pub struct Batch {
    pub fingerprint: Fingerprint,
    pub path: PathBuf,
    pub records: Vec<RawRecord>,
    /// Lines or records that could not be read (too long, cut short, corrupt file).
    pub bad: Vec<BadInput>,
    /// Position after this batch: bytes and lines consumed, or the whole file (`done`).
    pub offset: u64,
    pub line: u64,
    pub done: bool,
}

/// Size limits on what is read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A longer NDJSON line is reported and skipped (`max_line_bytes` in trailwatch.yaml).
    pub max_line_bytes: usize,
    /// A larger delivery file (decompressed) is reported and skipped.
    pub max_file_bytes: u64,
    /// Records per batch.
    pub batch_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: crate::event::reader::MAX_LINE_BYTES,
            max_file_bytes: 1024 * 1024 * 1024,
            batch_records: 512,
        }
    }
}
