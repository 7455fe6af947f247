//! Decoding only what the rules read.
//!
//! A CloudTrail record is mostly `requestParameters` and `responseElements` that no rule looks
//! at. A [`Projection`] is a trie of the key paths the loaded rules read; decoding through it
//! builds a `serde_json::Value` holding just those paths and skips every other subtree with
//! `IgnoredAny`, which scans bytes without allocating. Rules see the same values on the
//! projected event as on the full one, for every path in the trie.

use crate::rule::keypath::{KeyPath, Segment};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// The set of key paths to keep when decoding an event.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    root: Node,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Keep this whole subtree (a path ends here).
    keep_all: bool,
    children: Vec<(Box<str>, Node)>,
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        let i = match self.children.iter().position(|(n, _)| &**n == name) {
            Some(i) => i,
            None => {
                self.children.push((name.into(), Node::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[i].1
    }
}

impl Projection {
    /// Adds a path. Array selectors (`[n]`, `[*]`) are transparent: the projection keeps the
    /// array and applies the rest of the path to every element.
    pub fn add(&mut self, path: &KeyPath) {
        let mut node = &mut self.root;
        if node.keep_all {
            return;
        }
        for segment in path.segments() {
            if let Segment::Field(name) = segment {
                node = node.child(name);
                if node.keep_all {
                    return;
                }
            }
        }
        node.keep_all = true;
        node.children.clear();
    }

    pub fn keeps_everything(&self) -> bool {
        self.root.keep_all
    }

    /// Decodes the value of top-level field `name` (its JSON text `bytes`) through the part
    /// of the projection under that field: only the paths rules read below it are kept.
    pub fn decode_field(&self, name: &str, bytes: &[u8]) -> serde_json::Result<Value> {
        let keep_all = Node {
            keep_all: true,
            children: Vec::new(),
        };
        let node = match self.root.children.iter().find(|(n, _)| &**n == name) {
            Some((_, node)) if !self.root.keep_all => node,
            _ => &keep_all,
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = node.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    /// Decodes one JSON record through the projection.
    pub fn decode(&self, bytes: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = (&self.root).deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for &Node {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.keep_all {
            Value::deserialize(d)
        } else {
            d.deserialize_any(NodeVisitor(self))
        }
    }
}

struct NodeVisitor<'a>(&'a Node);

/// Reads a map key and answers which child (if any) it names, without allocating a String
/// for keys that are skipped.
struct KeySeed<'a>(&'a Node);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        // Exact first; else ignoring ASCII case, like key paths (the kept value is stored
        // under the rule's spelling, so lookups and the index find it).
        let children = &self.0.children;
        Ok(children.iter().position(|(n, _)| &**n == key).or_else(|| {
            children
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(key))
        }))
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(hit) = map.next_key_seed(KeySeed(self.0))? {
            match hit {
                Some(i) => {
                    let (name, child) = &self.0.children[i];
                    let value = map.next_value_seed(child)?;
                    out.insert(name.to_string(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self.0)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn projection(paths: &[&str]) -> Projection {
        let mut p = Projection::default();
        for s in paths {
            p.add(&KeyPath::parse(s).unwrap());
        }
        p
    }

    #[test]
    fn keeps_only_requested_paths() {
        let p = projection(&["eventName", "userIdentity.type", "resources[*].ARN"]);
        let raw = br#"{"eventName":"X","big":{"a":[1,2,{"b":3}]},"userIdentity":{"type":"Root","arn":"a"},
            "resources":[{"ARN":"r1","type":"t"},{"ARN":"r2"}]}"#;
        let v = p.decode(raw).unwrap();
        assert_eq!(
            v,
            json!({"eventName":"X","userIdentity":{"type":"Root"},"resources":[{"ARN":"r1"},{"ARN":"r2"}]})
        );
    }

    #[test]
    fn keys_in_another_case_are_kept_under_the_rule_spelling() {
        let p = projection(&["eventName"]);
        assert_eq!(
            p.decode(br#"{"eventname":"X","other":1}"#).unwrap(),
            json!({"eventName":"X"})
        );
    }

    #[test]
    fn path_prefix_keeps_subtree() {
        let p = projection(&["a.b", "a"]);
        assert_eq!(
            p.decode(br#"{"a":{"b":1,"c":2},"d":3}"#).unwrap(),
            json!({"a":{"b":1,"c":2}})
        );
    }

    #[test]
    fn lookups_agree_with_full_decode() {
        let raw = br#"{"a":{"b":[{"c":null},{"c":"x"}],"s":"t"},"n":1.5,"e":"\u00e9"}"#;
        let full: Value = serde_json::from_slice(raw).unwrap();
        let paths = ["a.b[*].c", "a.b[1].c", "a.s", "n", "e", "missing.x"];
        let p = projection(&paths);
        let projected = p.decode(raw).unwrap();
        for s in paths {
            let k = KeyPath::parse(s).unwrap();
            assert_eq!(k.find(&projected), k.find(&full), "{s}");
        }
    }

    #[test]
    fn a_field_decodes_through_its_own_subtree() {
        let p = projection(&["a.b", "c"]);
        assert_eq!(
            p.decode_field("a", br#"{"b":[1],"x":2}"#).unwrap(),
            json!({"b":[1]})
        );
        assert_eq!(p.decode_field("c", br#"{"y":1}"#).unwrap(), json!({"y":1}));
        assert_eq!(p.decode_field("z", b"[1]").unwrap(), json!([1]));
    }

    #[test]
    fn rejects_invalid_json_and_trailing_bytes() {
        let p = projection(&["a"]);
        assert!(p.decode(br#"{"a":1"#).is_err());
        assert!(p.decode(br#"{"a":1} x"#).is_err());
        assert!(p.decode(b"{\"a\":\"\xff\"}").is_err());
    }
}
