//! Values as written in a rule: a string, number, boolean or null (a list holds several).

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Number;
use std::fmt;

/// A value as written in YAML.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

impl RawValue {
    pub fn shown(&self) -> String {
        match self {
            RawValue::Str(s) => s.clone(),
            RawValue::Num(n) => n.to_string(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Null => "null".into(),
        }
    }
}

/// A YAML float as a JSON number (finite only).
pub fn raw_float<E: de::Error>(v: f64) -> Result<RawValue, E> {
    serde_json::Number::from_f64(v)
        .map(RawValue::Num)
        .ok_or_else(|| E::custom("a number must be finite"))
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null (lists of values cannot nest)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Str(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Num(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
                Ok(RawValue::Num(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
                raw_float(v)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
        }
        d.deserialize_any(V)
    }
}
