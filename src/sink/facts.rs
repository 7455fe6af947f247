//! The facts about an alert that people look at first (account, region, principal, source
//! IP), read from its CloudTrail context once for every sink that shows them.
//!
//! The alert context carries Panther's `<MISSING_...>` placeholders for absent fields; sinks
//! show those as absent rather than as text that looks like data.

use crate::alert::Alert;
use serde_json::Value;

/// What Slack fields, syslog structured data and journald fields show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub account: Option<String>,
    pub region: Option<String>,
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    pub event_name: Option<String>,
}

impl Facts {
    pub fn of(alert: &Alert) -> Facts {
        let text = |key: &str| alert.context.get(key).and_then(real_text);
        Facts {
            account: text("recipientAccountId"),
            region: text("awsRegion"),
            principal: alert.context.get("userIdentity").and_then(principal),
            source_ip: text("sourceIPAddress"),
            event_name: text("eventName"),
        }
    }
}

/// A string value that is not one of the `<MISSING_...>` placeholders.
fn real_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.starts_with("<MISSING_") || s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Who acted: the ARN when there is one, else the service, principal id or user name.
fn principal(identity: &Value) -> Option<String> {
    ["arn", "invokedBy", "principalId", "userName"]
        .iter()
        .find_map(|k| identity.get(*k).and_then(real_text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;
    use serde_json::json;

    #[test]
    fn reads_context_and_skips_placeholders() {
        let mut alert = sample_alert();
        let f = Facts::of(&alert);
        assert_eq!(f.account.as_deref(), Some("123456789012"));
        assert_eq!(
            f.principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/ops")
        );
        alert
            .context
            .insert("awsRegion".into(), json!("<MISSING_AWS_REGION>"));
        alert.context.insert(
            "userIdentity".into(),
            json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}),
        );
        let f = Facts::of(&alert);
        assert_eq!(f.region, None);
        assert_eq!(f.principal.as_deref(), Some("ec2.amazonaws.com"));
    }
}
