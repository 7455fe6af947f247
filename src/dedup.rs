//! Dedup and threshold on event time (Panther semantics, measured on `eventTime`).
//!
//! One alert per `(RuleID, dedup string)` per window of `DedupPeriodMinutes`. A match joins
//! its key's window when its event time lies within the period of the window's first event,
//! before or after it, otherwise it starts a new window. The alert opens when `Threshold`
//! matches have been seen in the window (with `UniqueBy`, when that many distinct values of
//! its key have been seen); later matches only raise `event_count`.
//!
//! This in-memory form serves `replay`, which must report every window of its input.

use crate::alert::{Alert, Shaped};
use crate::event::time::format_rfc3339;
use crate::rule::Rule;
use serde_json::Value;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// What a dedup window has counted: when it started (its first match, by arrival), the span
/// of its matches' event times, how many there were, and the distinct `UniqueBy` values seen
/// (kept only up to the threshold). The replay windows here and the daemon's windows both use it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub start_ms: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub count: u64,
    #[serde(default)]
    pub distinct: Vec<String>,
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Tally {
    /// An empty window starting with a match at `t` (which [`record`](Self::record) then counts).
    pub fn new(t: OffsetDateTime) -> Tally {
        let t = ms(t);
        Tally {
            start_ms: t,
            first_ms: t,
            last_ms: t,
            count: 0,
            distinct: Vec::new(),
        }
    }

    /// Which of `tallies` a match at `event_time` joins: the one whose start is nearest, if it
    /// lies within the rule's dedup period of it (before or after). `None`: a new window.
    pub fn join<'a>(
        tallies: impl Iterator<Item = &'a Tally>,
        event_time: OffsetDateTime,
        rule: &Rule,
    ) -> Option<usize> {
        let period = Duration::minutes(i64::from(rule.dedup_period_minutes));
        tallies
            .enumerate()
            .map(|(i, t)| (i, (event_time - from_ms(t.start_ms)).abs()))
            .filter(|(_, distance)| *distance < period)
            .min_by_key(|(_, distance)| *distance)
            .map(|(i, _)| i)
    }

    /// Counts one match.
    pub fn record(&mut self, event_time: OffsetDateTime, unique: Option<String>, rule: &Rule) {
        let t = ms(event_time);
        self.count += 1;
        self.first_ms = self.first_ms.min(t);
        self.last_ms = self.last_ms.max(t);
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

    pub fn start(&self) -> OffsetDateTime {
        from_ms(self.start_ms)
    }

    /// Sets the alert's count and time span from the window.
    pub fn stamp(&self, alert: &mut Alert) {
        alert.event_count = self.count;
        alert.first_event_time = format_rfc3339(from_ms(self.first_ms));
        alert.last_event_time = format_rfc3339(from_ms(self.last_ms));
    }
}

struct Window {
    tally: Tally,
    /// Built from the window's first event; published once the tally reaches the threshold.
    alert: Alert,
    /// Position in `opened` once the threshold was reached.
    opened: Option<usize>,
}

/// What happened to one match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// This match brought its window to the threshold: a new alert.
    Opened,
    /// Counted in a window whose alert is already open.
    Suppressed,
    /// Counted; the window has not reached its threshold yet.
    Pending,
}

/// All windows seen so far.
#[derive(Default)]
pub struct Windows {
    by_key: HashMap<(String, String), Vec<Window>>,
    opened: Vec<(String, String, usize)>,
}

impl Windows {
    /// Records a match of `rule` on `event` (the full event, consulted only when the match
    /// starts a new window).
    pub fn admit(
        &mut self,
        rule: &Rule,
        shaped: Shaped,
        event_time: OffsetDateTime,
        event: impl FnOnce() -> Value,
    ) -> Admission {
        let key = (rule.id.clone(), shaped.dedup.clone());
        let unique = shaped.unique.clone();
        let windows = self.by_key.entry(key.clone()).or_default();
        let index = match Tally::join(windows.iter().map(|w| &w.tally), event_time, rule) {
            Some(i) => i,
            None => {
                windows.push(Window {
                    tally: Tally::new(event_time),
                    alert: Alert::open(rule, shaped, event(), event_time),
                    opened: None,
                });
                windows.len() - 1
            }
        };
        let w = &mut windows[index];
        w.tally.record(event_time, unique, rule);
        if w.opened.is_some() {
            Admission::Suppressed
        } else if w.tally.reached(rule) {
            w.opened = Some(self.opened.len());
            self.opened.push((key.0, key.1, index));
            Admission::Opened
        } else {
            Admission::Pending
        }
    }

    /// The alerts of every window that reached its threshold, in the order they opened,
    /// with their final counts and time span.
    pub fn into_alerts(mut self) -> Vec<Alert> {
        let mut out = Vec::with_capacity(self.opened.len());
        for (rule_id, dedup, index) in std::mem::take(&mut self.opened) {
            let windows = self
                .by_key
                .get_mut(&(rule_id, dedup))
                .expect("opened windows are kept");
            let w = &windows[index];
            let mut alert = w.alert.clone();
            w.tally.stamp(&mut alert);
            out.push(alert);
        }
        out
    }
}
