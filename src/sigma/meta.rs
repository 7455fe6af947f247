//! The descriptive keys of a Sigma rule and trailwatch's own `trailwatch:` block.
//!
//! Each type validates while it is read, so a bad `level`, `status` or `logsource` is reported
//! at its line. `logsource` must be AWS CloudTrail (`product: aws, service: cloudtrail`), the
//! only log trailwatch reads; a `category` would narrow it to something trailwatch cannot tell
//! apart, so it is refused too.

use crate::rule::spec::Severity;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;

/// Any scalar read as text (`date: 2024-01-01`, `author: 1337` and the like).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// A list of texts; a single text is a list of one, null an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextList(pub Vec<String>);

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TextList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of texts")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextList, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(t)) = seq.next_element()? {
                    out.push(t);
                }
                Ok(TextList(out))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TextList, E> {
                Ok(TextList(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TextList, E> {
                Ok(TextList(vec![v.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TextList, E> {
                Ok(TextList(vec![v.to_string()]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<TextList, E> {
                Ok(TextList::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a scalar as text and checks it inside the visitor, so an error carries the
/// value's position.
struct Checked<F>(F);

impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for Checked<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.0)(&v.to_string()).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.0)(&v.to_string()).map_err(E::custom)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        (self.0)(&v.to_string()).map_err(E::custom)
    }
}

/// `level:`, mapped onto trailwatch's severities (`informational` is `INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level(pub Severity);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        d.deserialize_any(Checked(|name: &str| {
            Ok(Level(match name.to_ascii_lowercase().as_str() {
                "informational" => Severity::Info,
                "low" => Severity::Low,
                "medium" => Severity::Medium,
                "high" => Severity::High,
                "critical" => Severity::Critical,
                _ => {
                    return Err(format!(
                        "unknown level `{name}`; valid levels: informational, low, medium, high, critical"
                    ))
                }
            }))
        }))
    }
}

/// `status:`, one of the specification's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status(pub String);

const STATUSES: [&str; 5] = [
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        d.deserialize_any(Checked(|name: &str| {
            if STATUSES.contains(&name) {
                Ok(Status(name.to_string()))
            } else {
                Err(format!(
                    "unknown status `{name}`; valid statuses: {}",
                    STATUSES.join(", ")
                ))
            }
        }))
    }
}

/// `logsource:`, accepted only for AWS CloudTrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSource;

impl<'de> Deserialize<'de> for LogSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LogSource, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogSource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a logsource mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LogSource, A::Error> {
                let mut fields: BTreeMap<String, String> = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "category" | "product" | "service" => {
                            let Text(v) = map.next_value()?;
                            fields.insert(key, v);
                        }
                        // `definition` and custom keys describe; they do not select.
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let get = |k: &str| fields.get(k).map(|v| v.to_ascii_lowercase());
                if get("product").as_deref() == Some("aws")
                    && get("service").as_deref() == Some("cloudtrail")
                    && get("category").is_none()
                {
                    return Ok(LogSource);
                }
                let got: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                Err(de::Error::custom(format!(
                    "unsupported logsource {{{}}}; trailwatch reads AWS CloudTrail only: \
                     `logsource: {{product: aws, service: cloudtrail}}` (no category)",
                    got.join(", ")
                )))
            }
        }
        d.deserialize_map(V)
    }
}

/// The optional `trailwatch:` block: what Panther's format has and Sigma's lacks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extensions {
    /// Panther's `DedupPeriodMinutes` (default 60).
    pub dedup_period_minutes: Option<NonZeroU32>,
    /// Panther's `Threshold` (default 1).
    pub threshold: Option<NonZeroU32>,
    /// Panther's `GroupBy`: dotted field names whose values make the dedup string.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Panther's `AlertTitle`, with `{field.path}` placeholders.
    pub alert_title: Option<String>,
    /// Panther's `Runbook` (default: the rule's false positives).
    pub runbook: Option<String>,
    /// Panther's `Enabled` (default true).
    pub enabled: Option<bool>,
    /// Values of `%name%` placeholders for the `expand` modifier (Sigma strings).
    #[serde(default)]
    pub placeholders: BTreeMap<String, TextList>,
}
