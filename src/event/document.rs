//! [`Document`]: how rules read a record, whatever form the record is in.
//!
//! The hot path reads records it has not decoded ([`super::lazy::LazyRecord`]: byte spans of
//! the top-level fields, each decoded on first read); `trailwatch test`, `explain`, titles and
//! alert output read a decoded `serde_json::Value`. Rule evaluation goes through this trait so
//! both give the same answers: a rule never learns which one it is reading.
//!
//! Only the top level is abstracted. Below a top-level field every reader sees a
//! `serde_json::Value`, because that is what a lazily decoded field becomes.

use serde_json::Value;

/// A CloudTrail record as rules read it.
pub trait Document {
    /// The record as one decoded value, when it already is one. Readers that have a fast path
    /// for a decoded record (the original `Value` code) take it; everything else goes through
    /// [`Document::field`].
    fn as_value(&self) -> Option<&Value>;

    /// Top-level field `name`: the exact spelling if present, else the first key (in sorted
    /// order) equal to it ignoring ASCII case, as Panther's case-insensitive event lookups do.
    fn field(&self, name: &str) -> Option<&Value>;

    /// Top-level field spelled exactly `name` (Sigma field names are exact).
    fn field_exact(&self, name: &str) -> Option<&Value>;

    /// The whole record, decoded (keyword searches and key-less expressions read everything).
    fn whole(&self) -> &Value;

    /// Top-level field `name` when it is a string ([`Document::field`]'s lookup). Readers
    /// that can answer from the raw bytes without decoding override it.
    fn text(&self, name: &str) -> Option<&str> {
        self.field(name)?.as_str()
    }
}

impl Document for Value {
    fn as_value(&self) -> Option<&Value> {
        Some(self)
    }

    fn field(&self, name: &str) -> Option<&Value> {
        let map = self.as_object()?;
        map.get(name).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    fn field_exact(&self, name: &str) -> Option<&Value> {
        self.as_object()?.get(name)
    }

    fn whole(&self) -> &Value {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_fields_prefer_the_exact_spelling() {
        let v = json!({"eventname": "a", "EventName": "b", "eventName": "c"});
        assert_eq!(v.field("eventName"), Some(&json!("c")));
        assert_eq!(
            v.field("EVENTNAME"),
            Some(&json!("b")),
            "first in sorted order"
        );
        assert_eq!(v.field_exact("EVENTNAME"), None);
        assert_eq!(json!([1]).field("a"), None);
    }
}
