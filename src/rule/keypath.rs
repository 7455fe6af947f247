//! Key specifiers: where in an event a condition looks.
//!
//! Panther spells a location three ways: `Key` (one top-level field), `KeyPath` (`a.b`,
//! `a[2].b`, `a[*].b`) and `DeepKey` (`[a, b]`). All three compile to the same [`KeyPath`],
//! a list of segments resolved against a `serde_json::Value` without allocating unless a
//! `[*]` wildcard has to collect several values.

use crate::event::document::Document;
use serde_json::Value;
use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object field.
    Field(String),
    /// An array position, from `[n]`.
    Index(usize),
    /// Every element of an array, from `[*]`.
    Wildcard,
}

/// A compiled location in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    segments: Vec<Segment>,
}

/// What a path reaches in one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Found<'a> {
    /// Some step of the path is absent.
    Missing,
    /// Exactly one value (possibly JSON null, possibly an array).
    One(&'a Value),
    /// The values a `[*]` path reached, in document order; never empty.
    Many(Vec<&'a Value>),
}

impl<'a> Found<'a> {
    pub fn is_missing(&self) -> bool {
        matches!(self, Found::Missing)
    }

    /// The value when exactly one was found.
    pub fn one(&self) -> Option<&'a Value> {
        match self {
            Found::One(v) => Some(v),
            _ => None,
        }
    }
}

impl KeyPath {
    /// A single top-level field, as `Key:` names it (no dot splitting).
    pub fn key(name: &str) -> Self {
        KeyPath {
            segments: vec![Segment::Field(name.to_string())],
        }
    }

    /// The empty path: the value itself (used by key-less expressions).
    pub fn root_value() -> Self {
        KeyPath { segments: vec![] }
    }

    /// A `DeepKey:` list: each element is one field name.
    pub fn deep_key(parts: &[String]) -> Result<Self, String> {
        if parts.is_empty() {
            return Err("DeepKey needs at least one key".into());
        }
        Ok(KeyPath {
            segments: parts.iter().map(|p| Segment::Field(p.clone())).collect(),
        })
    }

    /// Panther's SummaryAttributes nest with `:` (`userIdentity:arn`).
    pub fn colon_separated(spec: &str) -> Self {
        KeyPath {
            segments: spec
                .split(':')
                .map(|p| Segment::Field(p.to_string()))
                .collect(),
        }
    }

    /// Parses a `KeyPath:` string: dot-separated fields, each optionally followed by
    /// `[n]` or `[*]` selectors.
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec.is_empty() {
            return Err("KeyPath is empty".into());
        }
        let mut segments = Vec::new();
        for part in spec.split('.') {
            let (name, mut selectors) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.is_empty() && (segments.is_empty() || selectors.is_empty()) {
                return Err(format!("KeyPath `{spec}` has an empty field name"));
            }
            if !name.is_empty() {
                segments.push(Segment::Field(name.to_string()));
            }
            while !selectors.is_empty() {
                let close = selectors
                    .find(']')
                    .ok_or_else(|| format!("KeyPath `{spec}` has an unclosed `[`"))?;
                let inner = &selectors[1..close];
                segments.push(match inner {
                    "*" => Segment::Wildcard,
                    n => Segment::Index(n.parse().map_err(|_| {
                        format!("KeyPath `{spec}`: `[{n}]` is neither an index nor `*`")
                    })?),
                });
                selectors = &selectors[close + 1..];
                if !selectors.is_empty() && !selectors.starts_with('[') {
                    return Err(format!("KeyPath `{spec}`: expected `.` or `[` after `]`"));
                }
            }
        }
        Ok(KeyPath { segments })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The top-level field this path starts with.
    pub fn root(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Field(f)) => Some(f),
            _ => None,
        }
    }

    /// True when the path is exactly one top-level field named `name`.
    pub fn is_top_level(&self, name: &str) -> bool {
        self.segments.len() == 1 && self.root() == Some(name)
    }

    fn has_wildcard(&self) -> bool {
        self.segments.contains(&Segment::Wildcard)
    }

    /// Resolves the path in a record read through a [`Document`]: the first segment through
    /// the document's top-level lookup, the rest on the decoded field. Gives the same answer
    /// as [`KeyPath::find`] on the decoded record.
    pub fn find_in<'a, D: Document + ?Sized>(&self, doc: &'a D) -> Found<'a> {
        if let Some(value) = doc.as_value() {
            return self.find(value);
        }
        match self.segments.split_first() {
            None => Found::One(doc.whole()),
            Some((Segment::Field(name), rest)) => match doc.field(name) {
                Some(top) => find_from(top, rest, self.has_wildcard()),
                None => Found::Missing,
            },
            // A record is an object: an index or `[*]` at the top reaches nothing.
            Some(_) => Found::Missing,
        }
    }

    /// Resolves the path in `event`.
    pub fn find<'a>(&self, event: &'a Value) -> Found<'a> {
        find_from(event, &self.segments, self.has_wildcard())
    }
}

/// Resolves `segments` starting at `start`.
fn find_from<'a>(start: &'a Value, segments: &[Segment], wildcard: bool) -> Found<'a> {
    if !wildcard {
        let mut current = start;
        for segment in segments {
            match step(current, segment) {
                Some(next) => current = next,
                None => return Found::Missing,
            }
        }
        return Found::One(current);
    }
    let mut frontier: Vec<&'a Value> = vec![start];
    for segment in segments {
        let mut next = Vec::with_capacity(frontier.len());
        for value in frontier {
            match segment {
                Segment::Wildcard => {
                    if let Value::Array(items) = value {
                        next.extend(items.iter());
                    }
                }
                other => next.extend(step(value, other)),
            }
        }
        frontier = next;
    }
    if frontier.is_empty() {
        Found::Missing
    } else {
        Found::Many(frontier)
    }
}

fn step<'a>(value: &'a Value, segment: &Segment) -> Option<&'a Value> {
    match (segment, value) {
        // Field names match exactly, else ignoring ASCII case, as Panther's event lookups do
        // (its events are case-insensitive dicts). The fallback only runs on a miss.
        (Segment::Field(name), Value::Object(map)) => map.get(name.as_str()).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        }),
        (Segment::Index(i), Value::Array(items)) => items.get(*i),
        _ => None,
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => write!(f, "{name}")?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Wildcard => write!(f, "[*]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}], "n": null},
            "dotted.key": "x",
            "list": [[1, 2], [3]]
        })
    }

    #[test]
    fn parses_and_displays() {
        for s in ["a", "a.b", "a.b[2].c", "a.b[*].c", "list[*][0]"] {
            assert_eq!(KeyPath::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        for s in ["", "a..b", "a[x]", "a[1", "a[1]b", ".a"] {
            assert!(KeyPath::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn finds_nested_values() {
        let e = event();
        assert_eq!(
            KeyPath::parse("a.b[1].c").unwrap().find(&e),
            Found::One(&json!(2))
        );
        assert_eq!(
            KeyPath::parse("a.n").unwrap().find(&e),
            Found::One(&Value::Null)
        );
        assert!(KeyPath::parse("a.b[9].c").unwrap().find(&e).is_missing());
        assert!(KeyPath::parse("a.b.c").unwrap().find(&e).is_missing());
        assert_eq!(KeyPath::key("dotted.key").find(&e), Found::One(&json!("x")));
    }

    #[test]
    fn field_names_fall_back_to_ignoring_case() {
        let e = json!({"eventname": "A", "eventName2": "B", "Exact": 1, "exact": 2});
        assert_eq!(KeyPath::key("eventName").find(&e), Found::One(&json!("A")));
        assert_eq!(
            KeyPath::key("exact").find(&e),
            Found::One(&json!(2)),
            "exact wins"
        );
        assert!(KeyPath::key("eventNam").find(&e).is_missing());
    }

    #[test]
    fn wildcard_collects_every_reached_value() {
        let e = event();
        let found = KeyPath::parse("a.b[*].c").unwrap().find(&e);
        assert_eq!(found, Found::Many(vec![&json!(1), &json!(2)]));
        let nested = KeyPath::parse("list[*][0]").unwrap().find(&e);
        assert_eq!(nested, Found::Many(vec![&json!(1), &json!(3)]));
        assert!(KeyPath::parse("a.b[*].zzz").unwrap().find(&e).is_missing());
        assert!(KeyPath::parse("a.n[*]").unwrap().find(&e).is_missing());
    }

    #[test]
    fn deep_key_and_colon_forms() {
        let e = event();
        let deep = KeyPath::deep_key(&["a".into(), "n".into()]).unwrap();
        assert_eq!(deep.find(&e), Found::One(&Value::Null));
        assert!(KeyPath::deep_key(&[]).is_err());
        assert_eq!(
            KeyPath::colon_separated("a:n").find(&e),
            Found::One(&Value::Null)
        );
    }
}
