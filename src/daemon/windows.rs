//! The daemon's dedup windows: the same event-time semantics as [`crate::dedup`], held in a
//! `moka` cache so memory stays bounded however many dedup strings the events produce.
//!
//! moka evicts by capacity (`dedup.max_keys`) and by idleness (twice the rule's dedup period
//! without a new match). A window evicted early can only cause a second alert for the same
//! key, never a lost one. Windows are saved with the checkpoints and restored at start.

use crate::alert::{Alert, Shaped};
use crate::dedup::Tally;
use crate::rule::Rule;
use moka::sync::Cache;
use moka::Expiry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};
use time::OffsetDateTime;

type Key = (String, String);

/// One window of one (RuleID, dedup string).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub tally: Tally,
    pub opened: bool,
    /// Until the threshold is reached: the first match (its event as compact JSON text, a
    /// fraction of the size of a parsed tree), to build the alert from.
    pub pending: Option<(Shaped, String)>,
}

/// The windows of one key, as saved in the state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Saved {
    pub rule_id: String,
    pub dedup: String,
    pub period_minutes: u32,
    pub windows: Vec<Window>,
}

#[derive(Debug)]
struct Slot {
    period_minutes: u32,
    windows: Vec<Window>,
}

struct IdleFor;

impl Expiry<Key, Arc<Mutex<Slot>>> for IdleFor {
    fn expire_after_create(
        &self,
        _: &Key,
        slot: &Arc<Mutex<Slot>>,
        _: Instant,
    ) -> Option<StdDuration> {
        let minutes = slot.lock().map(|s| s.period_minutes).unwrap_or(60);
        Some(StdDuration::from_secs(u64::from(minutes) * 120))
    }

    fn expire_after_update(
        &self,
        key: &Key,
        slot: &Arc<Mutex<Slot>>,
        now: Instant,
        _: Option<StdDuration>,
    ) -> Option<StdDuration> {
        self.expire_after_create(key, slot, now)
    }
}

/// Outcome of one match.
#[derive(Debug)]
pub enum Outcome {
    /// The window reached its threshold with this match: deliver this alert.
    Opened(Box<Alert>),
    /// The window's alert is already out.
    Suppressed,
    /// Counted; the threshold is not reached yet.
    Pending,
}

pub struct LiveWindows {
    cache: Cache<Key, Arc<Mutex<Slot>>>,
}

impl LiveWindows {
    pub fn new(max_keys: u64) -> LiveWindows {
        LiveWindows {
            cache: Cache::builder()
                .max_capacity(max_keys)
                .expire_after(IdleFor)
                .build(),
        }
    }

    /// Records a match of `rule` on `event` at `event_time`.
    pub fn admit(
        &self,
        rule: &Rule,
        shaped: Shaped,
        event_time: OffsetDateTime,
        event: &Value,
    ) -> Outcome {
        let key = (rule.id.clone(), shaped.dedup.clone());
        let slot = self.cache.get_with(key.clone(), || {
            Arc::new(Mutex::new(Slot {
                period_minutes: rule.dedup_period_minutes,
                windows: Vec::new(),
            }))
        });
        let outcome = {
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            let unique = shaped.unique.clone();
            let index = match Tally::join(slot.windows.iter().map(|w| &w.tally), event_time, rule) {
                Some(i) => i,
                None => {
                    slot.windows.push(Window {
                        tally: Tally::new(event_time),
                        opened: false,
                        pending: Some((shaped, event.to_string())),
                    });
                    // Windows far behind the newest one can no longer be joined.
                    let period_ms = i64::from(rule.dedup_period_minutes) * 60_000;
                    let newest = slot
                        .windows
                        .iter()
                        .map(|w| w.tally.start_ms)
                        .max()
                        .unwrap_or(0);
                    slot.windows
                        .retain(|w| newest - w.tally.start_ms <= 2 * period_ms);
                    slot.windows.len() - 1
                }
            };
            let w = &mut slot.windows[index];
            w.tally.record(event_time, unique, rule);
            if w.opened {
                Outcome::Suppressed
            } else if w.tally.reached(rule) {
                w.opened = true;
                let (shaped, first_event) = w
                    .pending
                    .take()
                    .expect("unopened windows keep their first match");
                let first_event = serde_json::from_str(&first_event).unwrap_or(Value::Null);
                let mut alert = Alert::open(rule, shaped, first_event, w.tally.start());
                w.tally.stamp(&mut alert);
                Outcome::Opened(Box::new(alert))
            } else {
                Outcome::Pending
            }
        };
        // Re-insert so moka sees an update (refreshing the idle deadline).
        self.cache.insert(key, slot);
        outcome
    }

    /// Every window, for the state file.
    pub fn snapshot(&self) -> Vec<Saved> {
        self.cache
            .iter()
            .map(|(key, slot)| {
                let slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                Saved {
                    rule_id: key.0.clone(),
                    dedup: key.1.clone(),
                    period_minutes: slot.period_minutes,
                    windows: slot.windows.clone(),
                }
            })
            .collect()
    }

    /// Loads windows saved by [`snapshot`](Self::snapshot).
    pub fn restore(&self, saved: Vec<Saved>) {
        for s in saved {
            self.cache.insert(
                (s.rule_id, s.dedup),
                Arc::new(Mutex::new(Slot {
                    period_minutes: s.period_minutes,
                    windows: s.windows,
                })),
            );
        }
    }

    /// Number of keys held (approximate until moka's pending work is run).
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(threshold: u32) -> Rule {
        let yaml = format!(
            "RuleID: T.Win\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nThreshold: {threshold}\nDedupPeriodMinutes: 60\nGroupBy: [{{Key: k}}]\nDetection: [{{Condition: AlwaysTrue}}]\n"
        );
        crate::rule::load::parse(std::path::Path::new("t.yml"), &yaml).unwrap()
    }

    fn at(minute: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + minute * 60).unwrap()
    }

    fn admit(w: &LiveWindows, r: &Rule, key: &str, minute: i64) -> Outcome {
        let event = json!({"k": key, "m": minute});
        w.admit(r, Shaped::new(r, &event), at(minute), &event)
    }

    #[test]
    fn one_alert_per_window_with_threshold() {
        let w = LiveWindows::new(1000);
        let r = rule(2);
        assert!(matches!(admit(&w, &r, "a", 0), Outcome::Pending));
        match admit(&w, &r, "a", 10) {
            Outcome::Opened(alert) => {
                assert_eq!(alert.event_count, 2);
                assert_eq!(alert.event["m"], 0, "built from the window's first match");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(admit(&w, &r, "a", 59), Outcome::Suppressed));
        assert!(
            matches!(admit(&w, &r, "a", 61), Outcome::Pending),
            "past the period: new window"
        );
        assert!(
            matches!(admit(&w, &r, "b", 5), Outcome::Pending),
            "other key"
        );
    }

    #[test]
    fn unique_by_counts_distinct_values() {
        let yaml = "RuleID: T.Uniq\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nThreshold: 3\nGroupBy: [{Key: k}]\nUniqueBy: {Key: u}\nDetection: [{Condition: AlwaysTrue}]\n";
        let r = crate::rule::load::parse(std::path::Path::new("t.yml"), yaml).unwrap();
        let w = LiveWindows::new(100);
        let admit = |u: &str, minute: i64| {
            let event = json!({"k": "same", "u": u});
            w.admit(&r, Shaped::new(&r, &event), at(minute), &event)
        };
        assert!(matches!(admit("a", 0), Outcome::Pending));
        assert!(
            matches!(admit("a", 1), Outcome::Pending),
            "a repeat is not a new value"
        );
        assert!(matches!(admit("b", 2), Outcome::Pending));
        match admit("c", 3) {
            Outcome::Opened(alert) => assert_eq!(alert.event_count, 4),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn snapshot_restores_open_windows() {
        let w = LiveWindows::new(1000);
        let r = rule(1);
        assert!(matches!(admit(&w, &r, "a", 0), Outcome::Opened(_)));
        let saved = w.snapshot();
        let back = LiveWindows::new(1000);
        back.restore(saved);
        assert!(matches!(admit(&back, &r, "a", 30), Outcome::Suppressed));
    }

    #[test]
    fn capacity_bounds_the_keys() {
        let w = LiveWindows::new(100);
        let r = rule(1);
        for i in 0..1000 {
            admit(&w, &r, &format!("k{i}"), 0);
        }
        assert!(w.len() <= 100, "{} keys kept", w.len());
    }
}
