//! How far behind each source is in event time: the newest CloudTrail `eventTime` read from
//! it, for `trailwatch status`.
//!
//! Measured once per batch, not per record: the first and the last record of a batch are
//! decoded for their `eventTime` alone (records of a delivery file are close in time, so the
//! pair stands for the batch), and a per-source atomic keeps the maximum. Sources are fixed at
//! start (a reload does not change them), so the table needs no lock after `watch`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The newest event time seen per configured source, in Unix milliseconds (0: none yet).
#[derive(Default)]
pub struct EventClock {
    sources: OnceLock<Vec<(PathBuf, AtomicU64)>>,
}

impl EventClock {
    /// Sets the sources to track (once, at start); later calls are ignored.
    pub fn watch(&self, roots: &[PathBuf]) {
        let table = roots.iter().map(|r| (absolute(r), AtomicU64::new(0)));
        let _ = self.sources.set(table.collect());
    }

    /// Notes the event times of one batch read from `file`.
    pub fn batch_read(&self, file: &Path, records: &[crate::source::RawRecord]) {
        let Some(sources) = self.sources.get() else {
            return;
        };
        let ends = [records.first(), records.last()];
        let newest = ends
            .iter()
            .flatten()
            .filter_map(|r| event_ms(&r.bytes))
            .max();
        let Some(newest) = newest else {
            return;
        };
        let file = absolute(file);
        if let Some((_, clock)) = sources.iter().find(|(root, _)| file.starts_with(root)) {
            clock.fetch_max(newest, Ordering::Relaxed);
        }
    }

    /// The newest event time read from the source at `root`, if any.
    pub fn newest(&self, root: &Path) -> Option<u64> {
        let root = absolute(root);
        let sources = self.sources.get()?;
        let (_, clock) = sources.iter().find(|(r, _)| *r == root)?;
        let ms = clock.load(Ordering::Relaxed);
        (ms != 0).then_some(ms)
    }
}

/// A path made absolute against the working directory, so spellings of one place compare equal.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The record's `eventTime` in Unix milliseconds; other fields are skipped unparsed.
fn event_ms(record: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Timed<'a> {
        #[serde(rename = "eventTime", borrow)]
        event_time: Option<&'a str>,
    }
    let timed: Timed = serde_json::from_slice(record).ok()?;
    let time = crate::event::time::parse_event_time(timed.event_time?)?;
    u64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::reader::Place;
    use crate::source::RawRecord;

    fn record(time: &str) -> RawRecord {
        RawRecord {
            place: Place::Line(1),
            bytes: format!(r#"{{"eventName":"X","eventTime":"{time}"}}"#).into_bytes(),
        }
    }

    #[test]
    fn keeps_the_newest_event_time_per_source() {
        let clock = EventClock::default();
        clock.watch(&["/logs/a".into(), "/logs/b".into()]);
        let batch = [
            record("2024-05-01T10:00:00Z"),
            record("2024-05-01T10:05:00Z"),
        ];
        clock.batch_read(Path::new("/logs/a/x.json"), &batch);
        clock.batch_read(
            Path::new("/logs/a/y.json"),
            &[record("2024-05-01T09:00:00Z")],
        );
        clock.batch_read(
            Path::new("/elsewhere/z.json"),
            &[record("2030-01-01T00:00:00Z")],
        );
        assert_eq!(clock.newest(Path::new("/logs/a")), Some(1_714_557_900_000));
        assert_eq!(clock.newest(Path::new("/logs/b")), None);
    }
}
