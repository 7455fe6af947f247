//! The text form of `trailwatch status`: a few aligned lines a person reads at a glance.

use crate::daemon::status::StatusDocument;
use std::io::{self, Write};

/// Prints the document and its problems.
pub fn print(doc: &StatusDocument, problems: &[String], out: &mut dyn Write) -> io::Result<()> {
    let health = if problems.is_empty() {
        "healthy"
    } else {
        "UNHEALTHY"
    };
    writeln!(out, "trailwatch {}: {health}", doc.version)?;
    writeln!(out, "uptime       {}", duration(doc.uptime_secs))?;
    writeln!(
        out,
        "rules        {} loaded, {} errors (hash {})",
        doc.rules_loaded, doc.rule_errors, doc.rules_hash
    )?;
    let reload = match &doc.last_reload {
        None => "none since start".to_string(),
        Some(r) if r.ok => format!("applied {} ago", since(doc.now_ms, r.at_ms)),
        Some(r) => format!(
            "REJECTED {} ago ({} errors)",
            since(doc.now_ms, r.at_ms),
            r.errors
        ),
    };
    writeln!(out, "last reload  {reload}")?;
    writeln!(
        out,
        "alerts       {} in the last hour",
        doc.alerts_last_hour
    )?;
    writeln!(
        out,
        "\n{:<40} {:>8} {:>14} {:>10}",
        "SOURCE", "FILES", "BYTES BEHIND", "EVENT LAG"
    )?;
    for s in &doc.sources {
        let path = s.path.display().to_string();
        let lag = s.event_lag_secs.map_or("-".to_string(), duration);
        let (files, bytes) = (s.files_tracked, s.bytes_behind);
        writeln!(out, "{path:<40} {files:>8} {bytes:>14} {lag:>10}")?;
    }
    writeln!(
        out,
        "\n{:<20} {:>6} {:>10} {:>16} {:>16}",
        "SINK", "SPOOL", "DELIVERED", "LAST DELIVERY", "LAST ERROR"
    )?;
    for s in &doc.sinks {
        let ago = |t: Option<u64>| t.map_or("never".to_string(), |t| since(doc.now_ms, t) + " ago");
        writeln!(
            out,
            "{:<20} {:>6} {:>10} {:>16} {:>16}",
            s.name,
            s.spool_depth,
            s.delivered,
            ago(s.last_delivery_ms),
            ago(s.last_error_ms)
        )?;
    }
    for p in problems {
        writeln!(out, "\nproblem: {p}")?;
    }
    Ok(())
}

fn since(now_ms: u64, at_ms: u64) -> String {
    duration(now_ms.saturating_sub(at_ms) / 1000)
}

/// `3d4h`, `2h5m`, `4m10s`, `7s`: the two largest units are enough.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_keep_two_units() {
        assert_eq!(super::duration(7), "7s");
        assert_eq!(super::duration(250), "4m10s");
        assert_eq!(super::duration(7500), "2h5m");
        assert_eq!(super::duration(86_400 * 3 + 3600 * 4 + 5), "3d4h");
    }
}
