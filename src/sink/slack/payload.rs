//! The Slack message for an alert: Block Kit blocks plus a top-level `text` fallback (what
//! notifications and old clients show).
//!
//! Layout: a header block with severity and title; then an attachment coloured by severity
//! (attachments are the only way to get Slack's colour bar) holding the fields (rule,
//! account, region, principal, source IP, event time, event count), the description,
//! runbook and reference, and a context line with the alert id.
//!
//! Text taken from events is attacker-influenced (a user name can be anything), so every
//! mrkdwn string escapes `&`, `<` and `>`: no fake links, no `<!channel>` pings. Everything
//! is cut to Slack's limits (header 150 characters, section 3000, field 2000) so an
//! oversized value truncates instead of getting the whole message refused.

use crate::alert::Alert;
use crate::severity::Severity;
use crate::sink::facts::Facts;
use serde_json::{json, Value};

pub const HEADER_MAX: usize = 150;
pub const SECTION_MAX: usize = 3000;
pub const FIELD_MAX: usize = 2000;
/// Slack accepts far longer fallback text; notifications show a line or two of it.
pub const TEXT_MAX: usize = 3000;

/// The webhook payload for `alert`.
pub fn payload(alert: &Alert) -> Value {
    let facts = Facts::of(alert);
    let title = one_line(&alert.title);
    let header = format!("{} {}: {}", emoji(alert.severity), alert.severity, title);
    let fallback = format!("[{}] {} ({})", alert.severity, title, alert.rule_id);
    let mut blocks = vec![json!({"type": "section", "fields": fields(alert, &facts)})];
    for (label, text) in [
        ("Description", &alert.description),
        ("Runbook", &alert.runbook),
    ] {
        if let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) {
            blocks.push(section(&labelled(label, text, SECTION_MAX)));
        }
    }
    if let Some(reference) = alert.reference.as_deref().filter(|r| !r.trim().is_empty()) {
        blocks.push(section(&reference_text(reference)));
    }
    let footer = format!(
        "alert {} · dedup {} · {}",
        alert.alert_id, alert.dedup, alert.log_type
    );
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": fit(&footer, SECTION_MAX)}]
    }));
    json!({
        "text": fit(&fallback, TEXT_MAX),
        "blocks": [{
            "type": "header",
            "text": {"type": "plain_text", "text": clip(&header, HEADER_MAX), "emoji": true}
        }],
        "attachments": [{"color": color(alert.severity), "blocks": blocks}]
    })
}

fn fields(alert: &Alert, facts: &Facts) -> Vec<Value> {
    let rule = if alert.rule_name == alert.rule_id {
        alert.rule_id.clone()
    } else {
        format!("{}\n{}", alert.rule_name, alert.rule_id)
    };
    let time = if alert.first_event_time == alert.last_event_time {
        alert.first_event_time.clone()
    } else {
        format!("{} → {}", alert.first_event_time, alert.last_event_time)
    };
    let or_na = |v: &Option<String>| v.clone().unwrap_or_else(|| "n/a".to_string());
    [
        ("Rule", rule),
        ("Account", or_na(&facts.account)),
        ("Region", or_na(&facts.region)),
        ("Principal", or_na(&facts.principal)),
        ("Source IP", or_na(&facts.source_ip)),
        ("Event time", time),
        ("Event count", alert.event_count.to_string()),
    ]
    .iter()
    .map(|(label, value)| json!({"type": "mrkdwn", "text": labelled(label, value, FIELD_MAX)}))
    .collect()
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// `*Label*` over the escaped value, within `max` characters.
fn labelled(label: &str, value: &str, max: usize) -> String {
    let head = format!("*{label}*\n");
    let budget = max - head.chars().count();
    head + &fit(value, budget)
}

/// A reference that is a plain http(s) URL becomes a link; anything else is text.
fn reference_text(reference: &str) -> String {
    let r = reference.trim();
    let plain_url = (r.starts_with("https://") || r.starts_with("http://"))
        && !r.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '|'))
        && r.chars().count() < SECTION_MAX - 20;
    if plain_url {
        format!("*Reference*\n<{r}>")
    } else {
        labelled("Reference", r, SECTION_MAX)
    }
}

/// Escapes control characters and bidirectional overrides ([`crate::escape::text`]) and
/// mrkdwn's own control characters, and cuts to `max` characters (escapes included, never in
/// the middle of one), ending with `…` when cut.
pub fn fit(text: &str, max: usize) -> String {
    let text = &*crate::escape::text(text);
    let escaped = |c: char| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    };
    let width = |c: char| escaped(c).map_or(1, str::len);
    let total: usize = text.chars().map(width).sum();
    let budget = if total <= max { max } else { max - 1 };
    let mut out = String::new();
    let mut count = 0;
    for c in text.chars() {
        count += width(c);
        if count > budget {
            break;
        }
        match escaped(c) {
            Some(piece) => out.push_str(piece),
            None => out.push(c),
        }
    }
    if total > max {
        out.push('…');
    }
    out
}

/// Escapes control characters and bidirectional overrides, and cuts plain text to `max`
/// characters, ending with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    let text = &*crate::escape::text(text);
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Attachment colour bar by severity.
pub fn color(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "#439FE0",
        Severity::Low => "#2EB67D",
        Severity::Medium => "#ECB22E",
        Severity::High => "#E8732C",
        Severity::Critical => "#E01E5A",
    }
}

fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => ":information_source:",
        Severity::Low => ":large_blue_circle:",
        Severity::Medium => ":large_yellow_circle:",
        Severity::High => ":large_orange_circle:",
        Severity::Critical => ":red_circle:",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample_alert;

    #[test]
    fn escapes_event_text() {
        let mut alert = sample_alert();
        alert.title = "hi <!channel> & <https://evil.test|click>".into();
        let p = payload(&alert);
        let text = p["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt; &amp;"), "{text}");
        // The header is plain_text: Slack shows it as is, so it needs no escaping.
        let header = p["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.contains("<!channel>"), "{header}");
    }

    #[test]
    fn respects_slack_limits() {
        let mut alert = sample_alert();
        alert.title = "T".repeat(400);
        alert.description = Some("<".repeat(5000));
        alert.context.insert(
            "sourceIPAddress".into(),
            serde_json::json!("x".repeat(3000)),
        );
        let p = payload(&alert);
        let chars = |v: &Value| v.as_str().unwrap().chars().count();
        assert_eq!(chars(&p["blocks"][0]["text"]["text"]), HEADER_MAX);
        let blocks = p["attachments"][0]["blocks"].as_array().unwrap();
        let fields = blocks[0]["fields"].as_array().unwrap();
        assert!(fields.len() <= 10);
        assert!(fields.iter().all(|f| chars(&f["text"]) <= FIELD_MAX));
        let description = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(description.chars().count() <= SECTION_MAX);
        assert!(
            description.ends_with("&lt;…"),
            "{}",
            &description[description.len() - 20..]
        );
        assert!(chars(&p["text"]) <= TEXT_MAX);
    }

    #[test]
    fn fit_keeps_short_text_and_never_splits_an_escape() {
        assert_eq!(fit("a<b", 10), "a&lt;b");
        assert_eq!(fit("a<b", 6), "a&lt;b");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("<<<", 6), "&lt;…");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
