//! Evaluating one record against a [`RuleSet`].
//!
//! The record is validated in one pass that only notes where the top-level fields the rules
//! read lie ([`RecordScanner`]); candidate rules are looked up from the raw `eventSource` and
//! `eventName`; each candidate reads the fields it needs, which are decoded on first read and
//! kept for the record's other candidates ([`LazyRecord`]). Only when something matched is the
//! record decoded in full and given its `p_` fields for the alert. Unmatched records, the vast
//! majority, never pay for that.
//!
//! [`LazyRecord`]: crate::event::lazy::LazyRecord

use crate::event::document::Document;
use crate::event::lazy::RecordScanner;
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

/// Evaluates records; keeps its scratch space (scanner slots, the match list) from record to
/// record so that a record that matches nothing costs no heap allocation once warmed up.
pub struct Engine<'a> {
    rules: &'a RuleSet,
    scanner: RecordScanner,
    scratch: Vec<usize>,
}

impl<'a> Engine<'a> {
    pub fn new(rules: &'a RuleSet) -> Self {
        Engine {
            rules,
            scanner: RecordScanner::default(),
            scratch: Vec::new(),
        }
    }

    /// Evaluates one JSON record. `Err` describes a malformed record (not JSON, not an
    /// object, no RFC 3339 `eventTime`).
    pub fn evaluate(&mut self, bytes: &[u8]) -> Result<Option<Matched>, String> {
        let record = self
            .scanner
            .scan(self.rules.layout(), bytes)
            .map_err(|e| e.to_string())?;
        let event_time = record
            .text("eventTime")
            .and_then(parse_event_time)
            .ok_or("eventTime is missing or not an RFC 3339 timestamp")?;
        self.scratch.clear();
        self.rules.matching(&record, &mut self.scratch);
        if let Some(why) = record.broken() {
            return Err(format!("malformed JSON: {why}"));
        }
        if self.scratch.is_empty() {
            return Ok(None);
        }
        let mut event: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("malformed JSON: {e}"))?;
        pfields::enrich(&mut event, bytes, OffsetDateTime::now_utc());
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
