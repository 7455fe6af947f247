//! Every window of a replay, and the alerts they opened, in the order they opened.
//!
//! `replay` writes each alert once, when its input is exhausted, with its final count: so the
//! alert built when a window opens is kept here and stamped with the window's final tally at
//! the end (or when the window is dropped at the per-key bound, after which it cannot grow).

use super::key_windows::{Admission, KeyWindows, Window};
use crate::alert::{Alert, Shaped};
use crate::rule::Rule;
use serde_json::Value;
use std::collections::HashMap;
use time::OffsetDateTime;

type Key = (String, String);

/// All windows seen so far, by `(RuleID, dedup string)`.
#[derive(Default)]
pub struct Windows {
    by_key: HashMap<Key, KeyWindows>,
    /// Alerts in the order their windows opened.
    alerts: Vec<Alert>,
    /// Which alert belongs to which window: `(RuleID, dedup string, window start in ms)`.
    alert_of: HashMap<(String, String, i64), usize>,
}

impl Windows {
    /// Records a match of `rule` on `event` at `event_time`.
    pub fn admit(
        &mut self,
        rule: &Rule,
        shaped: Shaped,
        event_time: OffsetDateTime,
        event: &Value,
    ) {
        let key = (rule.id.clone(), shaped.dedup.clone());
        let windows = self.by_key.entry(key.clone()).or_default();
        let admitted = windows.admit(rule, shaped, event_time, event);
        if let Some(dropped) = admitted.dropped {
            self.stamp(&key, &dropped);
        }
        if let Admission::Opened(alert) = admitted.admission {
            let (rule_id, dedup) = key;
            self.alert_of.insert(
                (rule_id, dedup, admitted.window_start_ms),
                self.alerts.len(),
            );
            self.alerts.push(*alert);
        }
    }

    /// Brings the alert of `window` (if it opened one) up to the window's tally.
    fn stamp(&mut self, key: &Key, window: &Window) {
        if !window.opened {
            return;
        }
        let id = (key.0.clone(), key.1.clone(), window.tally.start_ms);
        if let Some(&index) = self.alert_of.get(&id) {
            window.tally.stamp(&mut self.alerts[index]);
        }
    }

    /// The alerts of every window that reached its threshold, in the order they opened, with
    /// their final counts and time spans.
    pub fn into_alerts(mut self) -> Vec<Alert> {
        let by_key = std::mem::take(&mut self.by_key);
        for (key, windows) in &by_key {
            for window in windows.windows() {
                self.stamp(key, window);
            }
        }
        self.alerts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule() -> Rule {
        let yaml = "RuleID: T.Replay\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDedupPeriodMinutes: 60\nGroupBy: [{Key: k}]\nDetection: [{Condition: AlwaysTrue}]\n";
        crate::rule_loader::parse(std::path::Path::new("t.yml"), yaml).unwrap()
    }

    #[test]
    fn a_late_backlog_gets_its_own_alert_with_final_counts() {
        let r = rule();
        let mut windows = Windows::default();
        let day_ms = 86_400_000;
        for (minute_ms, m) in [
            (4 * day_ms, 0),
            (0, 1),
            (4 * day_ms + 60_000, 2),
            (60_000, 3),
            (120_000, 4),
        ] {
            let event = json!({"k": "same", "m": m});
            let at = OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(minute_ms);
            windows.admit(&r, Shaped::new(&r, &event), at, &event);
        }
        let alerts = windows.into_alerts();
        let seen: Vec<(u64, i64)> = alerts
            .iter()
            .map(|a| (a.event_count, a.event["m"].as_i64().unwrap()))
            .collect();
        assert_eq!(seen, vec![(2, 0), (3, 1)], "in opening order, final counts");
        assert_ne!(alerts[0].alert_id, alerts[1].alert_id);
    }
}
