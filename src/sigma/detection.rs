//! Reading `detection:`: search identifiers compiled into [`Node`]s, the condition resolved.
//!
//! Each `field|modifiers: values` entry is compiled while the YAML parser stands on its value
//! (see `ItemSeed`), so an unknown modifier, a bad regular expression or CIDR, or an
//! unresolvable placeholder is reported at that value; the condition is parsed and resolved
//! against every search identifier where it is written.

use super::condition::{self, Logic};
use super::item::Item;
use super::matcher::Node;
use super::modifiers::build_item;
use super::modifiers::Placeholders;
use super::parse::{Context, Reject};
use super::value::{raw_float, RawValue};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The compiled `detection:` block.
#[derive(Debug)]
pub struct Detection {
    pub searches: Vec<(String, Node)>,
    pub logic: Logic,
    pub conditions: Vec<String>,
}

/// Reads `detection:`: the search identifiers and the condition.
pub struct DetectionSeed<'a>(pub &'a Context);

impl<'de> DeserializeSeed<'de> for DetectionSeed<'_> {
    type Value = Detection;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Detection, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DetectionSeed<'_> {
    type Value = Detection;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of search identifiers and a condition")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Detection, A::Error> {
        let mut searches: Vec<(String, Node)> = Vec::new();
        let mut condition: Option<(Logic, Vec<String>)> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "condition" => condition = Some(map.next_value_seed(ConditionSeed(&self.0.names))?),
                "timeframe" => {
                    map.next_value_seed(Reject(
                        "`timeframe` belongs to aggregations, which trailwatch does not run".into(),
                    ))?;
                }
                _ => {
                    if searches.iter().any(|(n, _)| *n == key) {
                        return Err(de::Error::custom(format!(
                            "search identifier `{key}` is defined twice"
                        )));
                    }
                    let node = map.next_value_seed(SearchSeed {
                        placeholders: &self.0.placeholders,
                    })?;
                    searches.push((key, node));
                }
            }
        }
        let (logic, conditions) =
            condition.ok_or_else(|| de::Error::custom("detection has no `condition`"))?;
        Ok(Detection {
            searches,
            logic,
            conditions,
        })
    }
}

/// Reads `condition:` (a string or a list of them, OR-ed) and resolves it.
struct ConditionSeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for ConditionSeed<'_> {
    type Value = (Logic, Vec<String>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ConditionSeed<'_> {
    type Value = (Logic, Vec<String>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a condition string or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.resolve(vec![v.to_string()]).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut texts = Vec::new();
        while let Some(t) = seq.next_element::<String>()? {
            texts.push(t);
        }
        self.resolve(texts).map_err(de::Error::custom)
    }
}

impl ConditionSeed<'_> {
    fn resolve(&self, texts: Vec<String>) -> Result<(Logic, Vec<String>), String> {
        let mut logic = texts
            .iter()
            .map(|t| condition::resolve(&condition::parse(t)?, self.0))
            .collect::<Result<Vec<_>, String>>()?;
        match logic.len() {
            0 => Err("the condition list is empty".into()),
            1 => Ok((logic.remove(0), texts)),
            _ => Ok((Logic::Or(logic), texts)),
        }
    }
}

/// Reads one search identifier's body: a map (AND of items), a list (OR of maps and
/// keywords) or a single keyword.
struct SearchSeed<'a> {
    placeholders: &'a Placeholders,
}

impl<'de> DeserializeSeed<'de> for SearchSeed<'_> {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl SearchSeed<'_> {
    fn keywords(&self, values: Vec<RawValue>) -> Result<Node, String> {
        build_item("", None, &[], &values, self.placeholders).map(Node::Item)
    }
}

impl<'de> Visitor<'de> for SearchSeed<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a search: a mapping of fields, a list, or a keyword")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let item = map.next_value_seed(ItemSeed {
                key: &key,
                placeholders: self.placeholders,
            })?;
            items.push(Node::Item(item));
        }
        match items.len() {
            0 => Err(de::Error::custom("the search is empty")),
            1 => Ok(items.remove(0)),
            _ => Ok(Node::All(items)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut keywords = Vec::new();
        let mut nodes = Vec::new();
        while let Some(element) = seq.next_element_seed(ElementSeed {
            placeholders: self.placeholders,
        })? {
            match element {
                Element::Keyword(v) => keywords.push(v),
                Element::Map(node) => nodes.push(node),
            }
        }
        if !keywords.is_empty() {
            nodes.insert(0, self.keywords(keywords).map_err(de::Error::custom)?);
        }
        match nodes.len() {
            0 => Err(de::Error::custom("the search is an empty list")),
            1 => Ok(nodes.remove(0)),
            _ => Ok(Node::Any(nodes)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.keywords(vec![RawValue::Str(v.to_string())])
            .map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.keywords(vec![RawValue::Num(v.into())])
            .map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.keywords(vec![RawValue::Num(v.into())])
            .map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Err(E::custom("the search is empty"))
    }
}

/// One element of a search list: a keyword or a map of fields.
enum Element {
    Keyword(RawValue),
    Map(Node),
}

struct ElementSeed<'a> {
    placeholders: &'a Placeholders,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Element;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Element, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_> {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a keyword or a mapping of fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
        SearchSeed {
            placeholders: self.placeholders,
        }
        .visit_map(map)
        .map(Element::Map)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
        Ok(Element::Keyword(RawValue::Str(v.to_string())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
        Ok(Element::Keyword(RawValue::Num(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
        Ok(Element::Keyword(RawValue::Num(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
        raw_float(v).map(Element::Keyword)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Element, E> {
        Ok(Element::Keyword(RawValue::Bool(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
        Ok(Element::Keyword(RawValue::Null))
    }
}

/// Reads the value(s) of one `field|modifiers` key and compiles the item.
struct ItemSeed<'a> {
    key: &'a str,
    placeholders: &'a Placeholders,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl ItemSeed<'_> {
    fn build(&self, values: Vec<RawValue>) -> Result<Item, String> {
        let mut parts = self.key.split('|');
        let field = parts.next().filter(|f| !f.is_empty());
        let modifiers: Vec<&str> = parts.collect();
        if modifiers.iter().any(|m| m.is_empty()) {
            return Err(format!("`{}` has an empty modifier", self.key));
        }
        build_item(self.key, field, &modifiers, &values, self.placeholders)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean, null or a list of them")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(v) = seq.next_element::<RawValue>()? {
            values.push(v);
        }
        self.build(values).map_err(de::Error::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(format!(
            "`{}` holds a mapping; a field's value is a string, number, boolean, null or a list of them",
            self.key
        )))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.build(vec![RawValue::Str(v.to_string())])
            .map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.build(vec![RawValue::Num(v.into())]).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.build(vec![RawValue::Num(v.into())]).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.build(vec![raw_float(v)?]).map_err(E::custom)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.build(vec![RawValue::Bool(v)]).map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.build(vec![RawValue::Null]).map_err(E::custom)
    }
}
