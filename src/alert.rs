//! The alert (the JSON contract every sink receives) and the per-match record.
//!
//! An alert's id is derived from `(RuleID, dedup string, window start)`, so processing the
//! same events again yields the same id and a sink can skip what it already delivered.

use crate::event::time::format_rfc3339;
use crate::rule::{Rule, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One alert, as written to sinks and by `replay --output alerts`; read back from sink spools.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alert {
    pub alert_id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub title: String,
    pub severity: Severity,
    pub dedup: String,
    pub log_type: String,
    pub event_count: u64,
    pub created_at: String,
    pub first_event_time: String,
    pub last_event_time: String,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub tags: Vec<String>,
    pub reports: BTreeMap<String, Vec<String>>,
    pub context: Map<String, Value>,
    pub summary: Map<String, Value>,
    pub event: Value,
}

/// One (rule, event) match, as written by `replay --output matches`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MatchRecord {
    pub rule_id: String,
    pub event_id: Option<String>,
    pub event_time: Option<String>,
    pub title: String,
    pub severity: Severity,
    pub dedup: String,
}

/// What a rule says about one matching event: the parts of an alert that depend on it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Shaped {
    pub title: String,
    pub dedup: String,
    pub severity: Severity,
    /// The rule's `UniqueBy` value for the event, if it has one.
    #[serde(default)]
    pub unique: Option<String>,
}

impl Shaped {
    pub fn new(rule: &Rule, event: &Value) -> Shaped {
        Shaped {
            title: rule.title(event),
            dedup: rule.dedup(event),
            severity: rule.severity_for(event),
            unique: rule.unique_value(event),
        }
    }
}

/// Panther's placeholder for each standard context field the record lacks.
const STANDARD_CONTEXT: [(&str, &str); 7] = [
    ("eventName", "<MISSING_EVENT_NAME>"),
    ("eventSource", "<MISSING_EVENT_SOURCE>"),
    ("awsRegion", "<MISSING_AWS_REGION>"),
    ("recipientAccountId", "<MISSING_ACCOUNT_ID>"),
    ("sourceIPAddress", "<MISSING_SOURCE_IP>"),
    ("userAgent", "<MISSING_USER_AGENT>"),
    ("userIdentity", "<MISSING_USER_IDENTITY>"),
];

/// The CloudTrail fields every alert's context carries.
pub fn standard_context_fields() -> impl Iterator<Item = &'static str> {
    STANDARD_CONTEXT.iter().map(|(key, _)| *key)
}

/// The alert context: the standard CloudTrail fields, then the rule's AlertContext entries
/// (which win on a name clash).
pub fn context(rule: &Rule, event: &Value) -> Map<String, Value> {
    let mut ctx: Map<String, Value> = STANDARD_CONTEXT
        .iter()
        .map(|(key, missing)| {
            let v = event
                .get(*key)
                .cloned()
                .unwrap_or_else(|| Value::from(*missing));
            (key.to_string(), v)
        })
        .collect();
    ctx.extend(rule.context(event));
    ctx
}

/// The stable id of an alert window.
pub fn alert_id(rule_id: &str, dedup: &str, window_start: OffsetDateTime) -> String {
    let mut hash = Sha256::new();
    for part in [rule_id, dedup, &format_rfc3339(window_start)] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Alert {
    /// An alert about trailwatch itself (`trailwatch.reload_failed`, ...), delivered to the
    /// sinks like any other so that operators see it where they see detections.
    pub fn internal(
        rule_id: &str,
        title: String,
        description: String,
        context: Map<String, Value>,
    ) -> Alert {
        let now = OffsetDateTime::now_utc();
        let time = format_rfc3339(now);
        let dedup = title.clone();
        Alert {
            alert_id: alert_id(rule_id, &description, now),
            rule_id: rule_id.to_string(),
            rule_name: rule_id.to_string(),
            title,
            severity: Severity::High,
            dedup,
            log_type: "trailwatch".to_string(),
            event_count: 1,
            created_at: time.clone(),
            first_event_time: time.clone(),
            last_event_time: time,
            description: Some(description),
            runbook: Some("Fix the files named in the context; the previous rules and sinks keep running until a reload succeeds.".into()),
            reference: None,
            tags: vec!["trailwatch".into()],
            reports: BTreeMap::new(),
            context,
            summary: Map::new(),
            event: Value::Null,
        }
    }

    /// The alert for a window whose first matching event is `event` at `event_time`.
    pub fn open(rule: &Rule, shaped: Shaped, event: Value, event_time: OffsetDateTime) -> Alert {
        let time = format_rfc3339(event_time);
        Alert {
            alert_id: alert_id(&rule.id, &shaped.dedup, event_time),
            rule_id: rule.id.clone(),
            rule_name: rule.name().to_string(),
            title: shaped.title,
            severity: shaped.severity,
            dedup: shaped.dedup,
            log_type: crate::rule::CLOUDTRAIL.to_string(),
            event_count: 1,
            created_at: format_rfc3339(OffsetDateTime::now_utc()),
            first_event_time: time.clone(),
            last_event_time: time,
            description: rule.description.clone(),
            runbook: rule.runbook.clone(),
            reference: rule.reference.clone(),
            tags: rule.tags.clone(),
            reports: rule.reports.clone(),
            context: context(rule, &event),
            summary: rule.summary(&event),
            event,
        }
    }
}
