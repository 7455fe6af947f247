//! The alert `trailwatch sink test` sends: built to be recognised as a test wherever it lands
//! (a Slack channel, a SIEM, a ticket queue), never mistaken for an incident.
//!
//! Its RuleID is `trailwatch.sink_test`, which no rule may use by accident (rule ids do not
//! start with `trailwatch.`, the prefix of trailwatch's own alerts); its title starts with
//! `[TEST]`; its severity is INFO unless the operator asks for another (to check a sink's
//! `min_severity` routing). Every run gets a fresh `alert_id`, so a sink that remembers the ids
//! it delivered (the file sink, the delivered-id record) never suppresses a second test.

use crate::alert::Alert;
use crate::event::time::format_rfc3339;
use crate::severity::Severity;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The RuleID every test alert carries.
pub const TEST_RULE_ID: &str = "trailwatch.sink_test";

/// A test alert with a fresh random `alert_id`, created now.
pub fn fresh_test_alert(severity: Severity) -> Alert {
    let alert_id = format!("{:032x}", fastrand::u128(..));
    test_alert(
        severity,
        &alert_id,
        &format_rfc3339(OffsetDateTime::now_utc()),
    )
}

/// The test alert with a given id and creation time (fixed ones make a golden file).
pub fn test_alert(severity: Severity, alert_id: &str, created_at: &str) -> Alert {
    let mut context = Map::new();
    context.insert("test".into(), json!(true));
    Alert {
        alert_id: alert_id.to_string(),
        rule_id: TEST_RULE_ID.to_string(),
        rule_name: "trailwatch sink test".to_string(),
        title: "[TEST] trailwatch sink test: not an incident".to_string(),
        severity,
        dedup: alert_id.to_string(),
        log_type: "trailwatch".to_string(),
        event_count: 1,
        created_at: created_at.to_string(),
        first_event_time: created_at.to_string(),
        last_event_time: created_at.to_string(),
        description: Some(
            "Sent by `trailwatch sink test` to check that this sink is wired up. \
             No CloudTrail event caused it; nothing needs doing."
                .to_string(),
        ),
        runbook: Some("Nothing to do: this alert only tests delivery.".to_string()),
        reference: None,
        tags: vec!["trailwatch".to_string(), "test".to_string()],
        reports: BTreeMap::new(),
        context,
        summary: Map::new(),
        event: Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_test_alert_is_marked_and_has_its_own_id() {
        let first = fresh_test_alert(Severity::Info);
        let second = fresh_test_alert(Severity::Info);
        assert_ne!(first.alert_id, second.alert_id);
        assert_eq!(first.alert_id.len(), 32);
        assert_eq!(first.rule_id, TEST_RULE_ID);
        assert!(first.title.starts_with("[TEST]"));
        assert_eq!(fresh_test_alert(Severity::High).severity, Severity::High);
    }
}
