//! What one dedup window has counted.
//!
//! Times are kept as Unix milliseconds: the tally is persisted with the daemon's state, and
//! plain integers keep that JSON small and exact.

use crate::alert::Alert;
use crate::event::time::format_rfc3339;
use crate::rule::Rule;
use time::OffsetDateTime;

/// What a dedup window has counted: when it started (its first match, by arrival), the span
/// of its matches' event times, how many there were, and the distinct `UniqueBy` values seen
/// (kept only up to the threshold, which is all the threshold check needs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Event time of the window's first match: the window's start, and part of its alert id.
    pub start_ms: i64,
    /// Earliest event time counted.
    pub first_ms: i64,
    /// Latest event time counted.
    pub last_ms: i64,
    /// Matches counted, those before the threshold included.
    pub count: u64,
    /// Distinct `UniqueBy` values seen, at most `Threshold` of them.
    #[serde(default)]
    pub distinct: Vec<String>,
}

/// An event time as Unix milliseconds.
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix milliseconds back to a time (the epoch for values out of range).
pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Tally {
    /// An empty window starting with a match at `start_ms` (which [`record`](Self::record)
    /// then counts).
    pub fn starting_at(start_ms: i64) -> Tally {
        Tally {
            start_ms,
            first_ms: start_ms,
            last_ms: start_ms,
            count: 0,
            distinct: Vec::new(),
        }
    }

    /// Counts one match at `at_ms`, with its `UniqueBy` value if the rule has one.
    pub fn record(&mut self, at_ms: i64, unique: Option<String>, rule: &Rule) {
        self.count += 1;
        self.first_ms = self.first_ms.min(at_ms);
        self.last_ms = self.last_ms.max(at_ms);
        if let Some(u) = unique {
            if self.distinct.len() < rule.threshold as usize && !self.distinct.contains(&u) {
                self.distinct.push(u);
            }
        }
    }

    /// True once the window holds enough matches (or distinct values) to alert.
    pub fn reached(&self, rule: &Rule) -> bool {
        rule.reaches_threshold(self.count, self.distinct.len())
    }

    /// The window's start as a time.
    pub fn start(&self) -> OffsetDateTime {
        from_ms(self.start_ms)
    }

    /// How far `at_ms` lies from the window's start, before or after it.
    pub fn distance_ms(&self, at_ms: i64) -> u64 {
        at_ms.abs_diff(self.start_ms)
    }

    /// Sets the alert's count and time span from the window.
    pub fn stamp(&self, alert: &mut Alert) {
        alert.event_count = self.count;
        alert.first_event_time = format_rfc3339(from_ms(self.first_ms));
        alert.last_event_time = format_rfc3339(from_ms(self.last_ms));
    }
}
