//! The windows of one `(RuleID, dedup string)`, and the one place that decides which window a
//! match counts in.
//!
//! Replay and the daemon both call [`KeyWindows::admit`]; they differ only in where they keep
//! the value (a map for the length of a replay; the daemon's bounded cache and its saved
//! state). Windows are identified by their start, never by their position in the list, so
//! making room for a new window can never send a match into a neighbour (which is how the
//! daemon used to count a late match as suppressed in a newer window).

use super::tally::{to_ms, Tally};
use crate::alert::{Alert, Shaped};
use crate::rule::Rule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Most windows held for one key. A key that needs another drops one first (see
/// [`KeyWindows::admit`]); docs/RULES.md states the bound and its effect. Window starts of one
/// key are at least a dedup period apart, so this covers 16 periods of matches around the
/// newest ones, far more than any CloudTrail delivery delay in the same key's stream.
pub const MAX_WINDOWS_PER_KEY: usize = 16;

/// One window of one key. This is the shape saved in the daemon's state file: change it only
/// in ways that still parse what was saved before.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub tally: Tally,
    /// Whether the window's alert has been raised.
    pub opened: bool,
    /// Until the threshold is reached: the window's first match (its event as compact JSON
    /// text, a fraction of the size of a parsed tree), to build the alert from.
    pub pending: Option<(Shaped, String)>,
}

/// What one match did.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// The match brought its window to the threshold: a new alert, built from the window's
    /// first match, with the window's count and time span so far.
    Opened(Box<Alert>),
    /// Counted in a window whose alert is already out.
    Suppressed,
    /// Counted; the window has not reached its threshold yet.
    Pending,
}

/// The outcome of [`KeyWindows::admit`].
#[derive(Debug)]
pub struct Admitted {
    pub admission: Admission,
    /// Start (Unix ms) of the window the match was counted in.
    pub window_start_ms: i64,
    /// The window given up to stay within [`MAX_WINDOWS_PER_KEY`], if one was.
    pub dropped: Option<Window>,
}

/// The windows of one `(RuleID, dedup string)`, in the order they were opened. Serialized as
/// a plain list of [`Window`]s, the shape older state files hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyWindows {
    windows: Vec<Window>,
}

impl KeyWindows {
    /// Counts a match of `rule` at `event_time` whose alert fields are `shaped`; `event` is
    /// the full matching event, kept only if the match is the first of a new window.
    pub fn admit(
        &mut self,
        rule: &Rule,
        shaped: Shaped,
        event_time: OffsetDateTime,
        event: &Value,
    ) -> Admitted {
        let at_ms = to_ms(event_time);
        let period_ms = u64::from(rule.dedup_period_minutes) * 60_000;
        let mut dropped = None;
        let index = match self.nearest(at_ms, period_ms) {
            Some(index) => index,
            None => {
                // Room is made before the new window is added, so the window this match
                // opens is never the one dropped and `index` stays its position.
                dropped = self.make_room(at_ms);
                self.windows.push(Window {
                    tally: Tally::starting_at(at_ms),
                    opened: false,
                    pending: None,
                });
                self.windows.len() - 1
            }
        };
        let window = &mut self.windows[index];
        window.tally.record(at_ms, shaped.unique.clone(), rule);
        let admission = if window.opened {
            Admission::Suppressed
        } else if window.tally.reached(rule) {
            window.opened = true;
            // A window with no first match kept is one this match just opened.
            let (first, first_event) = match window.pending.take() {
                Some((first, text)) => (first, serde_json::from_str(&text).unwrap_or(Value::Null)),
                None => (shaped, event.clone()),
            };
            let mut alert = Alert::open(rule, first, first_event, window.tally.start());
            window.tally.stamp(&mut alert);
            Admission::Opened(Box::new(alert))
        } else {
            if window.pending.is_none() {
                window.pending = Some((shaped, event.to_string()));
            }
            Admission::Pending
        };
        Admitted {
            admission,
            window_start_ms: window.tally.start_ms,
            dropped,
        }
    }

    /// The window a match at `at_ms` joins: the one whose start is nearest, if strictly less
    /// than a period away; at equal distance the earlier one, so the choice never depends on
    /// the order of the list.
    fn nearest(&self, at_ms: i64, period_ms: u64) -> Option<usize> {
        self.windows
            .iter()
            .enumerate()
            .map(|(i, w)| (i, w.tally.distance_ms(at_ms), w.tally.start_ms))
            .filter(|&(_, distance, _)| distance < period_ms)
            .min_by_key(|&(_, distance, start)| (distance, start))
            .map(|(i, _, _)| i)
    }

    /// At the bound, removes the window least likely to be joined again: an opened one if
    /// there is any (a late match for it can at worst raise a second alert, never hide one),
    /// the one whose start lies farthest from the match that needs the room.
    fn make_room(&mut self, at_ms: i64) -> Option<Window> {
        if self.windows.len() < MAX_WINDOWS_PER_KEY {
            return None;
        }
        let victim = self
            .windows
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| {
                // On a tie in distance, the earlier window goes.
                (
                    w.opened,
                    w.tally.distance_ms(at_ms),
                    std::cmp::Reverse(w.tally.start_ms),
                )
            })
            .map(|(i, _)| i)?;
        // `remove`, not `swap_remove`: the order stays the order windows were opened in.
        Some(self.windows.remove(victim))
    }

    /// The windows held, in the order they were opened.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unique_by_counts_distinct_values_but_every_match() {
        let yaml = "RuleID: T.Uniq\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nThreshold: 3\nGroupBy: [{Key: k}]\nUniqueBy: {Key: u}\nDetection: [{Condition: AlwaysTrue}]\n";
        let r = crate::rule_loader::parse(std::path::Path::new("t.yml"), yaml).unwrap();
        let mut windows = KeyWindows::default();
        let mut admit = |u: &str, minute: i64| {
            let event = json!({"k": "same", "u": u});
            let at = OffsetDateTime::from_unix_timestamp(1_700_000_000 + minute * 60).unwrap();
            windows
                .admit(&r, Shaped::new(&r, &event), at, &event)
                .admission
        };
        assert_eq!(admit("a", 0), Admission::Pending);
        assert_eq!(
            admit("a", 1),
            Admission::Pending,
            "a repeat is not a new value"
        );
        assert_eq!(admit("b", 2), Admission::Pending);
        match admit("c", 3) {
            Admission::Opened(alert) => assert_eq!(alert.event_count, 4),
            other => panic!("{other:?}"),
        }
    }
}
