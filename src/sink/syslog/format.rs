//! Syslog message formats: RFC 5424 (with structured data) and the older BSD format of
//! RFC 3164, which many relays still expect.
//!
//! RFC 5424 carries the alert's key facts as structured data under the SD-ID
//! `trailwatch@32473` (32473 is the enterprise number RFC 5612 reserves for examples and
//! documentation; we have none of our own), so a collector can index them without parsing
//! the message. RFC 3164 has no structured data, so the same facts follow the message text
//! as `key="value"` pairs. Severity maps to syslog severity: CRITICAL→crit, HIGH→err,
//! MEDIUM→warning, LOW→notice, INFO→info.

use crate::alert::Alert;
use crate::escape;
use crate::severity::Severity;
use crate::sink::facts::Facts;
use time::macros::format_description;
use time::OffsetDateTime;

/// The structured-data id of our parameters.
pub const SD_ID: &str = "trailwatch@32473";
/// MSGID of every alert message.
pub const MSG_ID: &str = "ALERT";
/// Bytes kept of one structured-data value (a dedup string can be long).
const SD_VALUE_MAX: usize = 256;

/// What every message header needs besides the alert.
#[derive(Debug, Clone)]
pub struct Origin {
    pub facility: u8,
    pub hostname: String,
    pub app_name: String,
    pub pid: u32,
}

/// The syslog severity (0 emergency ... 7 debug) of an alert severity.
pub fn syslog_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Info => 6,
    }
}

/// PRI: facility * 8 + severity.
pub fn priority(facility: u8, severity: Severity) -> u8 {
    facility * 8 + syslog_severity(severity)
}

/// The message text shared by both formats: one line, with every control character and
/// bidirectional override of the title made visible ([`crate::escape`]).
pub fn message(alert: &Alert) -> String {
    let title = escape::line(&alert.title)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "[{}] {} ({})",
        alert.severity,
        title,
        escape::line(&alert.rule_id)
    )
}

/// The facts carried as structured data (5424) or trailing pairs (3164), escaped like the
/// message.
pub fn params(alert: &Alert) -> Vec<(&'static str, String)> {
    let facts = Facts::of(alert);
    let mut params = vec![
        ("alert_id", alert.alert_id.clone()),
        ("rule", alert.rule_id.clone()),
        ("severity", alert.severity.to_string()),
        ("dedup", alert.dedup.clone()),
    ];
    let optional = [
        ("account", facts.account),
        ("region", facts.region),
        ("principal", facts.principal),
        ("source_ip", facts.source_ip),
    ];
    params.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    params.push(("event_count", alert.event_count.to_string()));
    params
        .into_iter()
        .map(|(k, v)| (k, escape::line(&v).into_owned()))
        .collect()
}

/// An RFC 5424 message; the MSG part is cut so the whole stays within `max_bytes`.
pub fn rfc5424(alert: &Alert, origin: &Origin, now: OffsetDateTime, max_bytes: usize) -> String {
    let stamp =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    let timestamp = now.format(&stamp).unwrap_or_else(|_| "-".into());
    let mut sd = format!("[{SD_ID}");
    for (key, value) in params(alert) {
        sd.push_str(&format!(
            " {key}=\"{}\"",
            sd_escape(cut(&value, SD_VALUE_MAX))
        ));
    }
    sd.push(']');
    let head = format!(
        "<{}>1 {timestamp} {} {} {} {MSG_ID} {sd} ",
        priority(origin.facility, alert.severity),
        header_field(&origin.hostname, 255),
        header_field(&origin.app_name, 48),
        origin.pid,
    );
    let room = max_bytes.saturating_sub(head.len());
    head + cut(&message(alert), room)
}

/// An RFC 3164 message (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`), time in UTC.
pub fn rfc3164(alert: &Alert, origin: &Origin, now: OffsetDateTime, max_bytes: usize) -> String {
    let stamp =
        format_description!("[month repr:short] [day padding:space] [hour]:[minute]:[second]");
    let timestamp = now.format(&stamp).unwrap_or_default();
    let tag: String = origin
        .app_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect();
    let head = format!(
        "<{}>{timestamp} {} {tag}[{}]: ",
        priority(origin.facility, alert.severity),
        header_field(&origin.hostname, 255),
        origin.pid,
    );
    let mut text = message(alert);
    for (key, value) in params(alert) {
        let quoted = serde_json::to_string(cut(&value, SD_VALUE_MAX)).unwrap_or_default();
        text.push_str(&format!(" {key}={quoted}"));
    }
    let room = max_bytes.saturating_sub(head.len());
    head + cut(&text, room)
}

/// A header field: printable ASCII without spaces, at most `max` bytes, `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let clean: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if clean.is_empty() {
        "-".into()
    } else {
        clean
    }
}

/// PARAM-VALUE escaping: `"`, `\` and `]` take a backslash.
fn sd_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;
    use time::macros::datetime;

    fn origin() -> Origin {
        Origin {
            facility: 4,
            hostname: "host one".into(),
            app_name: "trailwatch".into(),
            pid: 42,
        }
    }

    #[test]
    fn rfc5424_header_and_escaping() {
        let mut alert = sample_alert();
        alert.dedup = "a\"b]c\\d".into();
        let now = datetime!(2024-01-17 09:31:02.5 UTC);
        let msg = rfc5424(&alert, &origin(), now, 8192);
        assert!(
            msg.starts_with(
                "<35>1 2024-01-17T09:31:02.500000Z hostone trailwatch 42 ALERT [trailwatch@32473 "
            ),
            "{msg}"
        );
        // The backslash is escaped twice: once by the escaping policy (`\\`), then each of
        // the two by RFC 5424's PARAM-VALUE rule.
        assert!(msg.contains(r#"dedup="a\"b\]c\\\\d""#), "{msg}");
        assert!(msg.ends_with("] [HIGH] RDS security group prod-db opened to 0.0.0.0/0 (AWS.RDS.SecurityGroupIngressAuthorized)"), "{msg}");
    }

    proptest::proptest! {
        /// Whatever an event puts into the title and the facts, a message is one line with no
        /// control character and no bidirectional override, in both formats.
        #[test]
        fn hostile_text_stays_one_clean_line(
            title in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}a\\]\"<>]*",
            dedup in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}\\u{202e}a]*",
        ) {
            let mut alert = sample_alert();
            alert.title = title;
            alert.dedup = dedup;
            let now = datetime!(2024-01-17 09:31:02.5 UTC);
            for msg in [rfc5424(&alert, &origin(), now, 8192), rfc3164(&alert, &origin(), now, 8192)] {
                proptest::prop_assert!(!msg.chars().any(crate::escape::is_hazard), "{msg:?}");
            }
        }
    }

    #[test]
    fn rfc3164_and_cutting() {
        let alert = sample_alert();
        let now = datetime!(2024-01-07 09:31:02 UTC);
        let msg = rfc3164(&alert, &origin(), now, 8192);
        assert!(
            msg.starts_with("<35>Jan  7 09:31:02 hostone trailwatch[42]: [HIGH] "),
            "{msg}"
        );
        assert!(msg.contains(" account=\"123456789012\""), "{msg}");
        let short = rfc3164(&alert, &origin(), now, 100);
        assert_eq!(short.len(), 100);
        assert_eq!(cut("héllo", 2), "h");
    }
}
