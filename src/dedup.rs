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

struct Window {
    start: OffsetDateTime,
    first: OffsetDateTime,
    last: OffsetDateTime,
    count: u64,
    /// Distinct `UniqueBy` values seen (kept up to the threshold; only rules with UniqueBy).
    distinct: std::collections::HashSet<String>,
    /// Built from the window's first event; published once `count` reaches the threshold.
    alert: Alert,
    /// Position in `opened` once the threshold was reached.
    opened: Option<usize>,
}

/// The window a match at `event_time` joins: the one whose start is nearest, if it lies
/// within `period` of it (before or after). `None` means the match opens a new window.
pub fn nearest_window(
    starts: impl Iterator<Item = OffsetDateTime>,
    event_time: OffsetDateTime,
    period: Duration,
) -> Option<usize> {
    starts
        .enumerate()
        .map(|(i, start)| (i, (event_time - start).abs()))
        .filter(|(_, distance)| *distance < period)
        .min_by_key(|(_, distance)| *distance)
        .map(|(i, _)| i)
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
        let period = Duration::minutes(i64::from(rule.dedup_period_minutes));
        let key = (rule.id.clone(), shaped.dedup.clone());
        let unique = shaped.unique.clone();
        let windows = self.by_key.entry(key.clone()).or_default();
        let index = match nearest_window(windows.iter().map(|w| w.start), event_time, period) {
            Some(i) => {
                let w = &mut windows[i];
                w.count += 1;
                w.first = w.first.min(event_time);
                w.last = w.last.max(event_time);
                i
            }
            None => {
                windows.push(Window {
                    start: event_time,
                    first: event_time,
                    last: event_time,
                    count: 1,
                    distinct: Default::default(),
                    alert: Alert::open(rule, shaped, event(), event_time),
                    opened: None,
                });
                windows.len() - 1
            }
        };
        let w = &mut windows[index];
        if let Some(u) = unique {
            if w.distinct.len() < rule.threshold as usize {
                w.distinct.insert(u);
            }
        }
        if w.opened.is_some() {
            Admission::Suppressed
        } else if rule.reaches_threshold(w.count, w.distinct.len()) {
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
            let w = &mut windows[index];
            let mut alert = w.alert.clone();
            alert.event_count = w.count;
            alert.first_event_time = format_rfc3339(w.first);
            alert.last_event_time = format_rfc3339(w.last);
            out.push(alert);
        }
        out
    }
}
