//! The daemon's dedup windows: [`crate::dedup::KeyWindows`] (the one implementation of the
//! window rule, shared with `replay`) held per key in a `moka` cache, so memory stays bounded
//! however many dedup strings the events produce.
//!
//! This module only stores windows; which window a match counts in is decided in
//! [`crate::dedup`]. moka evicts whole keys by capacity (`dedup.max_keys`) and by idleness
//! (twice the rule's dedup period without a new match); inside a key, `KeyWindows` keeps at
//! most [`crate::dedup::MAX_WINDOWS_PER_KEY`] windows. A window forgotten early can only cause
//! a second alert for the same key, never a lost one. Windows are saved with the checkpoints
//! and restored at start.

use crate::alert::Shaped;
use crate::dedup::KeyWindows;
use crate::rule::Rule;
use moka::sync::Cache;
use moka::Expiry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};
use time::OffsetDateTime;

/// What one match did; the daemon delivers the alert of [`Outcome::Opened`].
pub use crate::dedup::Admission as Outcome;
/// One window of one key, as saved in the state file.
pub use crate::dedup::Window;

type Key = (String, String);

/// The windows of one key, as saved in the state file. `windows` serializes as the plain list
/// of [`Window`]s that older state files hold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Saved {
    pub rule_id: String,
    pub dedup: String,
    pub period_minutes: u32,
    pub windows: KeyWindows,
}

#[derive(Debug)]
struct Slot {
    period_minutes: u32,
    windows: KeyWindows,
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

/// Every key's windows, bounded in keys by moka and in windows per key by `KeyWindows`.
pub struct LiveWindows {
    cache: Cache<Key, Arc<Mutex<Slot>>>,
    /// Windows given up at the per-key bound since start.
    dropped: AtomicU64,
}

impl LiveWindows {
    pub fn new(max_keys: u64) -> LiveWindows {
        LiveWindows {
            cache: Cache::builder()
                .max_capacity(max_keys)
                .expire_after(IdleFor)
                .build(),
            dropped: AtomicU64::new(0),
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
                windows: KeyWindows::default(),
            }))
        });
        let admitted = {
            // One key's windows change under its own lock: the alert stage is the only writer
            // today, and the lock keeps a snapshot taken meanwhile consistent.
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.period_minutes = rule.dedup_period_minutes;
            slot.windows.admit(rule, shaped, event_time, event)
        };
        if let Some(window) = &admitted.dropped {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                rule_id = %key.0,
                window_start_ms = window.tally.start_ms,
                opened = window.opened,
                "dedup window dropped at the per-key bound"
            );
        }
        // Re-insert so moka sees an update (refreshing the idle deadline).
        self.cache.insert(key, slot);
        admitted.admission
    }

    /// Windows given up at the per-key bound since start.
    pub fn dropped_windows(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
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

    #[test]
    fn a_late_backlog_opens_its_own_window() {
        // Day 5 first, then day 1 on the same key: the old code pruned the day-1 window it had
        // just opened and counted the match as suppressed in day 5's window.
        let w = LiveWindows::new(1000);
        let r = rule(1);
        let day = 24 * 60;
        let Outcome::Opened(newer) = admit(&w, &r, "a", 4 * day) else {
            panic!("day 5 opens")
        };
        let Outcome::Opened(late) = admit(&w, &r, "a", 0) else {
            panic!("day 1 must open its own window")
        };
        assert_ne!(newer.alert_id, late.alert_id);
        assert_eq!(late.event["m"], 0);
        assert!(matches!(admit(&w, &r, "a", 30), Outcome::Suppressed));
        assert!(matches!(
            admit(&w, &r, "a", 4 * day + 30),
            Outcome::Suppressed
        ));
        let saved = w.snapshot();
        let counts: Vec<u64> = saved[0]
            .windows
            .windows()
            .iter()
            .map(|w| w.tally.count)
            .collect();
        assert_eq!(counts, vec![2, 2]);
    }

    #[test]
    fn state_saved_by_the_previous_version_still_loads() {
        // A key's entry exactly as the moka-only window code wrote it into state.json.
        let old = r#"{"rule_id":"T.Win","dedup":"a","period_minutes":60,"windows":[
            {"tally":{"start_ms":1700000000000,"first_ms":1700000000000,"last_ms":1700000600000,"count":2},"opened":true,"pending":null},
            {"tally":{"start_ms":1700007200000,"first_ms":1700007200000,"last_ms":1700007200000,"count":1,"distinct":[]},"opened":false,
             "pending":[{"title":"t","dedup":"a","severity":"LOW"},"{\"k\":\"a\",\"m\":120}"]}]}"#;
        let saved: Saved = serde_json::from_str(old).unwrap();
        assert_eq!(saved.windows.len(), 2);
        let w = LiveWindows::new(100);
        w.restore(vec![saved.clone()]);
        let r = rule(2);
        assert!(matches!(admit(&w, &r, "a", 20), Outcome::Suppressed));
        match admit(&w, &r, "a", 130) {
            Outcome::Opened(alert) => {
                assert_eq!(alert.event["m"], 120, "built from the saved first match");
                assert_eq!(alert.event_count, 2);
            }
            other => panic!("{other:?}"),
        }
        let again = serde_json::to_string(&saved).unwrap();
        assert_eq!(serde_json::from_str::<Saved>(&again).unwrap(), saved);
    }
}
