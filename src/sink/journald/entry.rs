//! One alert as a journal entry in the native protocol.
//!
//! The protocol is a list of fields. A value without a newline is written `NAME=value\n`;
//! any other value (a description over several lines, the alert JSON of an event with
//! newlines in it) uses the binary-safe form: `NAME\n`, the length as a little-endian u64,
//! the bytes, `\n`. Field names are upper case, digits and `_`, and never start with `_`
//! (those are journald's trusted fields).
//!
//! MESSAGE_ID identifies the kind of message: one per rule, derived from the RuleID so it
//! stays the same across hosts and versions, and so `journalctl MESSAGE_ID=...` finds every
//! alert of a rule.

use crate::alert::Alert;
use crate::escape;
use crate::sink::facts::Facts;
use crate::sink::syslog::format::{message, syslog_severity};
use sha2::{Digest, Sha256};

/// The stable 128-bit id (32 hex digits) of a rule's messages.
pub fn message_id(rule_id: &str) -> String {
    let digest = Sha256::digest(format!("trailwatch rule {rule_id}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The native-protocol bytes of `alert`.
pub fn encode(alert: &Alert, identifier: &str, include_json: bool) -> Vec<u8> {
    let facts = Facts::of(alert);
    let mut fields: Vec<(&str, String)> = vec![
        ("MESSAGE", message(alert)),
        ("PRIORITY", syslog_severity(alert.severity).to_string()),
        ("SYSLOG_IDENTIFIER", identifier.to_string()),
        ("MESSAGE_ID", message_id(&alert.rule_id)),
        ("TRAILWATCH_ALERT_ID", alert.alert_id.clone()),
        ("TRAILWATCH_RULE_ID", alert.rule_id.clone()),
        ("TRAILWATCH_RULE_NAME", alert.rule_name.clone()),
        ("TRAILWATCH_TITLE", alert.title.clone()),
        ("TRAILWATCH_SEVERITY", alert.severity.to_string()),
        ("TRAILWATCH_DEDUP", alert.dedup.clone()),
        ("TRAILWATCH_LOG_TYPE", alert.log_type.clone()),
        ("TRAILWATCH_EVENT_COUNT", alert.event_count.to_string()),
        (
            "TRAILWATCH_FIRST_EVENT_TIME",
            alert.first_event_time.clone(),
        ),
        ("TRAILWATCH_LAST_EVENT_TIME", alert.last_event_time.clone()),
    ];
    let optional = [
        ("TRAILWATCH_ACCOUNT", facts.account),
        ("TRAILWATCH_REGION", facts.region),
        ("TRAILWATCH_PRINCIPAL", facts.principal),
        ("TRAILWATCH_SOURCE_IP", facts.source_ip),
        ("TRAILWATCH_EVENT_NAME", facts.event_name),
        ("TRAILWATCH_DESCRIPTION", alert.description.clone()),
        ("TRAILWATCH_RUNBOOK", alert.runbook.clone()),
        ("TRAILWATCH_REFERENCE", alert.reference.clone()),
        (
            "TRAILWATCH_TAGS",
            Some(alert.tags.join(",")).filter(|t| !t.is_empty()),
        ),
    ];
    fields.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    if include_json {
        fields.push((
            "TRAILWATCH_JSON",
            serde_json::to_string(alert).unwrap_or_default(),
        ));
    }
    let mut out = Vec::new();
    for (name, value) in &fields {
        // Event-derived text could carry a forged line or terminal escapes: every field but
        // the exact JSON is escaped ([`crate::escape`]); rule texts keep their line breaks.
        let value = match *name {
            "TRAILWATCH_JSON" => std::borrow::Cow::Borrowed(value.as_str()),
            "TRAILWATCH_DESCRIPTION" | "TRAILWATCH_RUNBOOK" => escape::text(value),
            _ => escape::line(value),
        };
        push_field(&mut out, name, value.as_bytes());
    }
    out
}

/// Appends one field, binary-safe when the value holds a newline.
pub fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;

    #[test]
    fn simple_and_binary_fields() {
        let mut out = Vec::new();
        push_field(&mut out, "A", b"x");
        push_field(&mut out, "B", b"1\n2");
        let mut expected = b"A=x\nB\n".to_vec();
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"1\n2\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn stable_message_id_per_rule() {
        let id = message_id("AWS.RDS.SecurityGroupIngressAuthorized");
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, message_id("AWS.RDS.SecurityGroupIngressAuthorized"));
        assert_ne!(id, message_id("AWS.Other"));
        let entry = encode(&sample_alert(), "trailwatch", false);
        let text = String::from_utf8_lossy(&entry);
        assert!(text.contains(&format!("MESSAGE_ID={id}\n")), "{text}");
        assert!(text.contains("PRIORITY=3\n"), "{text}");
    }
}
