//! Event timestamps: CloudTrail writes RFC 3339 (`2024-01-17T09:30:00Z`); alerts carry RFC 3339;
//! Panther's `p_` time fields use `YYYY-MM-DD HH:MM:SS.fffffffff`.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 3339 timestamp into UTC.
pub fn parse_event_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Formats as RFC 3339 in UTC (`2024-01-17T09:30:00Z`).
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Formats the way Panther writes `p_event_time`.
pub fn format_panther(t: OffsetDateTime) -> String {
    let f =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:9]");
    t.to_offset(UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = parse_event_time("2024-01-17T10:30:00+01:00").unwrap();
        assert_eq!(format_rfc3339(t), "2024-01-17T09:30:00Z");
        assert_eq!(format_panther(t), "2024-01-17 09:30:00.000000000");
        assert!(parse_event_time("2024-01-17 09:30").is_none());
    }
}
