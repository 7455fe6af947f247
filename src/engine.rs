//! Evaluating one record against a [`RuleSet`].
//!
//! The record is decoded through the set's projection (only the paths rules read), tested
//! against its candidate rules, and, only when something matched, decoded in full and given
//! its `p_` fields for the alert. Unmatched records, the vast majority, never pay for that.

use crate::event::{pfields, time::parse_event_time};
use crate::rule::RuleSet;
use serde_json::Value;
use time::OffsetDateTime;

/// A record that matched at least one rule.
#[derive(Debug)]
pub struct Matched {
    /// Indices into the rule set, in rule order.
    pub rules: Vec<usize>,
    /// The full record with its `p_` fields.
    pub event: Value,
    pub event_time: OffsetDateTime,
    pub event_id: Option<String>,
}

/// Evaluates records; keeps a scratch buffer so the hot path does not allocate per record.
pub struct Engine<'a> {
    rules: &'a RuleSet,
    scratch: Vec<usize>,
}

impl<'a> Engine<'a> {
    pub fn new(rules: &'a RuleSet) -> Self {
        Engine {
            rules,
            scratch: Vec::new(),
        }
    }

    /// Evaluates one JSON record. `Err` describes a malformed record (not JSON, not an
    /// object, no RFC 3339 `eventTime`).
    pub fn evaluate(&mut self, bytes: &[u8]) -> Result<Option<Matched>, String> {
        let mut projected = self
            .rules
            .projection()
            .decode(bytes)
            .map_err(|e| format!("malformed JSON: {e}"))?;
        if !projected.is_object() {
            return Err("record is not a JSON object".into());
        }
        let event_time = projected
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(parse_event_time)
            .ok_or("eventTime is missing or not an RFC 3339 timestamp")?;
        let enriched_early = self.rules.reads_p_fields();
        if enriched_early {
            pfields::enrich(&mut projected, bytes, OffsetDateTime::now_utc());
        }
        self.scratch.clear();
        self.rules.matching(&projected, &mut self.scratch);
        if self.scratch.is_empty() {
            return Ok(None);
        }
        let event = if enriched_early {
            projected
        } else {
            let mut full: Value =
                serde_json::from_slice(bytes).map_err(|e| format!("malformed JSON: {e}"))?;
            pfields::enrich(&mut full, bytes, OffsetDateTime::now_utc());
            full
        };
        let event_id = event
            .get("eventID")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Some(Matched {
            rules: self.scratch.clone(),
            event,
            event_time,
            event_id,
        }))
    }
}
