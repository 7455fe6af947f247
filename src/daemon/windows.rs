//! The daemon's dedup windows: one [`KeyWindows`] per (RuleID, dedup string), kept in the
//! state store and read back when the key is matched again.
//!
//! Which window a match counts in is decided in [`crate::dedup`], the one implementation that
//! `replay` shares. This module only moves a key's windows between the store and that logic,
//! with a small `moka` cache of recently matched keys in front of the store. Memory does not
//! grow with the number of keys: a key costs a row on disk, the store's page cache is bounded
//! and so is the cache. The bounds (`dedup.max_keys`, least recently used first; twice the
//! dedup period without a match; [`crate::dedup::MAX_WINDOWS_PER_KEY`] windows per key) are
//! enforced by the store and by `KeyWindows`; a key or window forgotten early can only cause a
//! second alert for its key, never a lost one.

use crate::alert::Shaped;
use crate::dedup::KeyWindows;
use crate::rule::Rule;
use crate::store::{KeyUse, Store, StoreError, WindowRow};
use moka::sync::Cache;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// What one match did; the daemon delivers the alert of [`Outcome::Opened`].
pub use crate::dedup::Admission as Outcome;

/// Decoded keys kept in memory in front of the store: a key matched again soon (one principal
/// busy in one account) skips a read and a JSON decode. Weighed in bytes (each key's stored
/// text, about what it takes decoded), so keys holding large first events cannot make the
/// cache large: it is bounded by bytes, whatever the events an attacker sends.
const HOT_BYTES: u64 = 32 << 20;
/// How long a decoded key stays in memory without a match. Shorter than the shortest idle
/// expiry in the store (twice a one-minute period), so memory never holds a key the store
/// has forgotten.
const HOT_IDLE: Duration = Duration::from_secs(60);

type Key = (String, String);

/// The result of [`LiveWindows::admit`].
#[derive(Debug)]
pub struct Admitted {
    pub outcome: Outcome,
    /// Whether making room for a new key evicted another one.
    pub key_use: KeyUse,
    /// Whether a window of this key was given up at the per-key bound.
    pub dropped_window: bool,
}

/// The daemon's windows: the store holds every key; a small `moka` cache holds the recently
/// matched ones decoded.
pub struct LiveWindows {
    hot: Cache<Key, Hot>,
}

/// A cached key: its windows, and the size of their stored text when they were cached.
#[derive(Clone)]
struct Hot {
    windows: Arc<Mutex<KeyWindows>>,
    bytes: u32,
}

impl Default for LiveWindows {
    fn default() -> Self {
        LiveWindows {
            hot: Cache::builder()
                .max_capacity(HOT_BYTES)
                .weigher(|key: &Key, hot: &Hot| {
                    let key_bytes = (key.0.len() + key.1.len()) as u32;
                    hot.bytes.saturating_add(key_bytes)
                })
                .time_to_idle(HOT_IDLE)
                .build(),
        }
    }
}

impl LiveWindows {
    /// Counts a match of `rule` on `event` at `event_time`, and writes its key's windows to
    /// `store` (inside the store's open transaction). `now_ms` is the wall clock, for the key's
    /// idle deadline. Every change goes to the store before this returns; the cache only
    /// saves reads.
    pub fn admit(
        &self,
        store: &mut Store,
        rule: &Rule,
        shaped: Shaped,
        event_time: OffsetDateTime,
        event: &Value,
        now_ms: i64,
    ) -> Result<Admitted, StoreError> {
        let key = (rule.id.clone(), shaped.dedup.clone());
        let slot = match self.hot.get(&key) {
            Some(hot) => hot.windows,
            None => {
                let windows = match store.window(&key.0, &key.1)? {
                    Some(row) => decode(&row.windows).map_err(|detail| StoreError::BadRow {
                        path: store.path().to_path_buf(),
                        table: "windows",
                        key: format!("{} / {}", key.0, key.1),
                        detail,
                    })?,
                    None => KeyWindows::default(),
                };
                Arc::new(Mutex::new(windows))
            }
        };
        let (admitted, row) = {
            let mut windows = slot.lock().unwrap_or_else(|e| e.into_inner());
            let admitted = windows.admit(rule, shaped, event_time, event);
            let row = WindowRow {
                period_minutes: rule.dedup_period_minutes,
                windows: serde_json::to_string(&*windows).expect("windows serialize"),
            };
            (admitted, row)
        };
        let key_use = store.put_window(&key.0, &key.1, &row, now_ms)?;
        if let KeyUse::Evicted(keys) = &key_use {
            for key in keys {
                self.hot.invalidate(key);
            }
        }
        let bytes = u32::try_from(row.windows.len()).unwrap_or(u32::MAX);
        self.hot.insert(
            key,
            Hot {
                windows: slot,
                bytes,
            },
        );
        Ok(Admitted {
            outcome: admitted.admission,
            key_use,
            dropped_window: admitted.dropped.is_some(),
        })
    }
}

/// Reads a key's windows as stored; also what `trailwatch state check` uses to tell whether a
/// row is one the daemon can read.
pub fn decode(json: &str) -> Result<KeyWindows, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// [`decode`] as a yes/no check, for `trailwatch state check|repair`.
pub fn check_row(json: &str) -> Result<(), String> {
    decode(json).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Bounds;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000;

    fn rule(threshold: u32) -> Rule {
        let yaml = format!(
            "RuleID: T.Win\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nThreshold: {threshold}\nDedupPeriodMinutes: 60\nGroupBy: [{{Key: k}}]\nDetection: [{{Condition: AlwaysTrue}}]\n"
        );
        crate::rule_loader::parse(std::path::Path::new("t.yml"), &yaml).unwrap()
    }

    fn at(minute: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + minute * 60).unwrap()
    }

    fn store(dir: &std::path::Path, max_keys: u64) -> Store {
        Store::open(
            dir,
            Bounds {
                max_keys,
                event_ids: 100,
                max_window_bytes: u64::MAX,
            },
        )
        .unwrap()
    }

    fn admit(w: &LiveWindows, s: &mut Store, r: &Rule, key: &str, minute: i64) -> Outcome {
        let event = json!({"k": key, "m": minute});
        w.admit(s, r, Shaped::new(r, &event), at(minute), &event, NOW)
            .unwrap()
            .outcome
    }

    #[test]
    fn one_alert_per_window_with_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(dir.path(), 1000);
        let w = LiveWindows::default();
        let r = rule(2);
        assert!(matches!(admit(&w, &mut s, &r, "a", 0), Outcome::Pending));
        match admit(&w, &mut s, &r, "a", 10) {
            Outcome::Opened(alert) => {
                assert_eq!(alert.event_count, 2);
                assert_eq!(alert.event["m"], 0, "built from the window's first match");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            admit(&w, &mut s, &r, "a", 59),
            Outcome::Suppressed
        ));
        assert!(
            matches!(admit(&w, &mut s, &r, "a", 61), Outcome::Pending),
            "past the period: new window"
        );
        assert!(
            matches!(admit(&w, &mut s, &r, "b", 5), Outcome::Pending),
            "other key"
        );
    }

    #[test]
    fn committed_windows_are_read_back_without_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let r = rule(1);
        {
            let mut s = store(dir.path(), 1000);
            let w = LiveWindows::default();
            assert!(matches!(admit(&w, &mut s, &r, "a", 0), Outcome::Opened(_)));
            s.commit().unwrap();
        }
        let mut s = store(dir.path(), 1000);
        let fresh = LiveWindows::default();
        assert!(matches!(
            admit(&fresh, &mut s, &r, "a", 30),
            Outcome::Suppressed
        ));
    }

    #[test]
    fn an_evicted_key_leaves_the_cache_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(dir.path(), 2);
        let w = LiveWindows::default();
        let r = rule(1);
        for key in ["a", "b", "c"] {
            assert!(matches!(admit(&w, &mut s, &r, key, 0), Outcome::Opened(_)));
        }
        assert_eq!(s.window_keys(), 2);
        // "a" was evicted from the store; a cached copy would wrongly suppress this match.
        assert!(matches!(admit(&w, &mut s, &r, "a", 1), Outcome::Opened(_)));
    }

    #[test]
    fn a_late_backlog_opens_its_own_window() {
        // Day 5 first, then day 1 on the same key: the old code pruned the day-1 window it had
        // just opened and counted the match as suppressed in day 5's window.
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(dir.path(), 1000);
        let w = LiveWindows::default();
        let r = rule(1);
        let day = 24 * 60;
        let Outcome::Opened(newer) = admit(&w, &mut s, &r, "a", 4 * day) else {
            panic!("day 5 opens")
        };
        let Outcome::Opened(late) = admit(&w, &mut s, &r, "a", 0) else {
            panic!("day 1 must open its own window")
        };
        assert_ne!(newer.alert_id, late.alert_id);
        assert!(matches!(
            admit(&w, &mut s, &r, "a", 30),
            Outcome::Suppressed
        ));
        assert!(matches!(
            admit(&w, &mut s, &r, "a", 4 * day + 30),
            Outcome::Suppressed
        ));
        let row = s.window("T.Win", "a").unwrap().unwrap();
        let counts: Vec<u64> = decode(&row.windows)
            .unwrap()
            .windows()
            .iter()
            .map(|w| w.tally.count)
            .collect();
        assert_eq!(counts, vec![2, 2]);
    }

    #[test]
    fn windows_saved_in_state_json_by_the_previous_version_still_work() {
        // A key's entry exactly as the moka-only window code wrote it into state.json,
        // migrated by the store at its first open.
        let old = r#"{"version":1,"checkpoints":{"files":{}},"event_ids":[],"windows":[
            {"rule_id":"T.Win","dedup":"a","period_minutes":60,"windows":[
            {"tally":{"start_ms":1700000000000,"first_ms":1700000000000,"last_ms":1700000600000,"count":2},"opened":true,"pending":null},
            {"tally":{"start_ms":1700007200000,"first_ms":1700007200000,"last_ms":1700007200000,"count":1,"distinct":[]},"opened":false,
             "pending":[{"title":"t","dedup":"a","severity":"LOW"},"{\"k\":\"a\",\"m\":120}"]}]}]}"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), old).unwrap();
        let mut s = store(dir.path(), 100);
        let row = s.window("T.Win", "a").unwrap().unwrap();
        assert_eq!(check_row(&row.windows), Ok(()));
        let w = LiveWindows::default();
        let r = rule(2);
        assert!(matches!(
            admit(&w, &mut s, &r, "a", 20),
            Outcome::Suppressed
        ));
        match admit(&w, &mut s, &r, "a", 130) {
            Outcome::Opened(alert) => {
                assert_eq!(alert.event["m"], 120, "built from the saved first match");
                assert_eq!(alert.event_count, 2);
            }
            other => panic!("{other:?}"),
        }
    }
}
