//! The one output-escaping policy for text that leaves the process.
//!
//! CloudTrail content is chosen by whoever makes the calls: a `userAgent`, a session name, a
//! request parameter or a file name in a shared inbox can hold a newline followed by a forged
//! log line, terminal escape sequences (ESC), NUL, or Unicode bidirectional overrides that make
//! text read differently from what it is. Every sink that writes text for people or line-based
//! collectors (syslog MSG and structured data, journald fields, Slack text, the stdout text
//! line) passes event-derived strings through this module; JSON outputs stay exact JSON (their
//! own escaping is already unambiguous).
//!
//! The escapes are visible and reversible: a hazardous character is written as `\u` and four
//! hex digits, as in JSON (`\u001b`), and a backslash as `\\`, so the original can always be
//! recovered and nothing of it is silently dropped.

use std::borrow::Cow;

/// True for characters that can change how the text around them is displayed or split:
/// C0 and C1 controls, DEL, and the Unicode bidirectional formatting characters.
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// One line: every hazard, newlines and tabs included, escaped.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, |_| true)
}

/// Text that may span lines (a description, a runbook): newlines and tabs are kept, every
/// other hazard is escaped.
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, |c| !matches!(c, '\n' | '\t'))
}

fn escape(s: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    let needs = |c: char| c == '\\' || (is_hazard(c) && escaped(c));
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if needs(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Field formatting for the daemon's text log: every field value, the message included, goes
/// through [`line`], so a file name or a panic message cannot split a log line or colour the
/// terminal. (The JSON log format escapes by construction.)
pub fn log_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static
{
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let value = format!("{value:?}");
        if field.name() == "message" {
            write!(writer, "{}", line(&value))
        } else {
            write!(writer, "{}={}", field.name(), line(&value))
        }
    })
    .delimited(" ")
}

/// Reverses [`line`] and [`text`] (for tests and for readers that want the original).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hazards_become_visible() {
        assert_eq!(line("ok text"), "ok text");
        assert!(matches!(line("ok text"), Cow::Borrowed(_)));
        assert_eq!(
            line("a\nINFO forged\u{1b}[31m\0\u{7}\u{202e}b"),
            "a\\u000aINFO forged\\u001b[31m\\u0000\\u0007\\u202eb"
        );
        assert_eq!(line("C:\\temp\u{85}"), "C:\\\\temp\\u0085");
        assert_eq!(text("one\ntwo\tthree\r"), "one\ntwo\tthree\\u000d");
    }

    proptest! {
        #[test]
        fn line_leaves_no_hazard_and_is_reversible(s in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}a\\\\]*") {
            let escaped = line(&s);
            prop_assert!(!escaped.chars().any(is_hazard), "{escaped:?}");
            prop_assert_eq!(unescape(&escaped), s.clone());
            let kept = text(&s);
            prop_assert!(!kept.chars().any(|c| is_hazard(c) && c != '\n' && c != '\t'));
            prop_assert_eq!(unescape(&kept), s);
        }
    }
}
