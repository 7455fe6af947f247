//! Reading a Sigma field from a CloudTrail record.
//!
//! Sigma names nested fields with dots (`userIdentity.sessionContext.sessionIssuer.type`).
//! CloudTrail nests lists too (`requestParameters.containerDefinitions[].command[]`), and the
//! Sigma specification leaves them open, so trailwatch defines them: a path steps into every
//! element of a list it meets, and a list it ends on is matched element by element, so a list
//! matches when any of its elements matches. An object is matched as its compact JSON text,
//! numbers and booleans as their JSON text, and a missing key is `null`.

use crate::event::document::Document;
use crate::rule::keypath::KeyPath;
use serde_json::Value;
use std::fmt::Write as _;

/// A dotted Sigma field name, compiled.
#[derive(Debug, Clone)]
pub struct FieldPath {
    name: String,
    segments: Vec<String>,
    key_path: KeyPath,
}

impl FieldPath {
    pub fn parse(name: &str) -> Result<FieldPath, String> {
        let segments: Vec<String> = name.split('.').map(str::to_string).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("field name `{name}` has an empty part"));
        }
        let key_path = KeyPath::deep_key(&segments)?;
        Ok(FieldPath {
            name: name.to_string(),
            segments,
            key_path,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same location as a [`KeyPath`], for the decoding projection.
    pub fn key_path(&self) -> &KeyPath {
        &self.key_path
    }

    /// True when `f` holds for a value the path reaches (lists on the way are stepped into;
    /// the value reached may itself be a list or null).
    pub fn any_value<D: Document + ?Sized>(
        &self,
        event: &D,
        f: &mut dyn FnMut(&Value) -> bool,
    ) -> bool {
        if let Some(value) = event.as_value() {
            return walk(value, &self.segments, f);
        }
        // A record is an object: its first step is an exact top-level lookup.
        let (first, rest) = self.segments.split_first().expect("a field has a segment");
        event.field_exact(first).is_some_and(|v| walk(v, rest, f))
    }

    /// The key is there, whatever its value (`null` and `[]` included).
    pub fn present<D: Document + ?Sized>(&self, event: &D) -> bool {
        self.any_value(event, &mut |_| true)
    }

    /// True when `f` holds for a leaf: a reached value, or an element of a reached list.
    pub fn any_leaf<D: Document + ?Sized>(
        &self,
        event: &D,
        f: &mut dyn FnMut(&Value) -> bool,
    ) -> bool {
        self.any_value(event, &mut |v| any_leaf(v, f))
    }
}

fn walk(value: &Value, segments: &[String], f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return f(value);
    };
    match value {
        Value::Object(map) => map.get(first.as_str()).is_some_and(|v| walk(v, rest, f)),
        Value::Array(items) => items.iter().any(|v| walk(v, segments, f)),
        _ => false,
    }
}

/// Expands lists (nested ones too) into their elements.
pub fn any_leaf(value: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|v| any_leaf(v, f)),
        other => f(other),
    }
}

/// Every leaf of the record for a keyword (field-less) search: the scalars at any depth, list
/// elements included, except the top-level `p_` fields trailwatch adds (so a keyword rule
/// sees the record as CloudTrail wrote it). Object keys are not searched.
pub fn any_record_leaf(event: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match event {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !k.starts_with("p_"))
            .any(|(_, v)| any_nested_leaf(v, f)),
        other => any_nested_leaf(other, f),
    }
}

fn any_nested_leaf(value: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|v| any_nested_leaf(v, f)),
        Value::Object(map) => map.values().any(|v| any_nested_leaf(v, f)),
        other => f(other),
    }
}

/// Calls `f` with the text a value is matched as: a string as it is, a number or boolean as
/// its JSON text (formatted on the stack), an object or list as its compact JSON text.
/// `None` for null, which has no text.
pub fn with_text<R>(value: &Value, f: impl FnOnce(&str) -> R) -> Option<R> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(f(s)),
        Value::Bool(b) => Some(f(if *b { "true" } else { "false" })),
        Value::Number(n) => {
            let mut buf = StackText::default();
            let _ = write!(buf, "{n}");
            Some(f(buf.as_str()))
        }
        other => Some(f(&other.to_string())),
    }
}

/// A small fixed buffer for number text (the longest JSON number serde_json writes is well
/// under 40 bytes).
struct StackText {
    bytes: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaves(path: &str, event: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        FieldPath::parse(path).unwrap().any_leaf(event, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }

    #[test]
    fn steps_into_lists_on_the_way_and_at_the_end() {
        let e = json!({"rp": {"defs": [{"cmd": ["a", "b"]}, {"x": 1}, {"cmd": "c"}]}});
        assert_eq!(
            leaves("rp.defs.cmd", &e),
            vec![json!("a"), json!("b"), json!("c")]
        );
        assert!(FieldPath::parse("rp.defs.x").unwrap().present(&e));
        assert!(!FieldPath::parse("rp.defs.y").unwrap().present(&e));
        assert!(!FieldPath::parse("rp.defs.cmd.z").unwrap().present(&e));
    }

    #[test]
    fn empty_list_is_present_without_leaves() {
        let e = json!({"a": [], "n": null});
        let a = FieldPath::parse("a").unwrap();
        assert!(a.present(&e));
        assert!(leaves("a", &e).is_empty());
        assert_eq!(leaves("n", &e), vec![Value::Null]);
    }

    #[test]
    fn text_of_values() {
        let text = |v: Value| with_text(&v, str::to_string);
        assert_eq!(text(json!("x")), Some("x".into()));
        assert_eq!(text(json!(false)), Some("false".into()));
        assert_eq!(text(json!(42)), Some("42".into()));
        assert_eq!(text(json!(-1.5)), Some("-1.5".into()));
        assert_eq!(text(json!(u64::MAX)), Some(u64::MAX.to_string()));
        assert_eq!(
            text(json!({"b": 1, "a": "x"})),
            Some(r#"{"a":"x","b":1}"#.into())
        );
        assert_eq!(text(Value::Null), None);
    }

    #[test]
    fn record_leaves_skip_p_fields_and_keys() {
        let e = json!({"a": {"k": ["v1", {"w": 2}]}, "p_any_ip_addresses": ["1.2.3.4"]});
        let mut seen = Vec::new();
        any_record_leaf(&e, &mut |v| {
            seen.push(v.clone());
            false
        });
        assert_eq!(seen, vec![json!("v1"), json!(2)]);
    }

    #[test]
    fn rejects_empty_parts() {
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
    }
}
