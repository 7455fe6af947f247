//! Reading a Sigma rule file: YAML → [`SigmaSpec`], with every error at its place in the file.
//!
//! The document is read by hand-written visitors (here, and for the detection in
//! [`super::detection`]) so that a problem is raised while the YAML parser stands on the
//! offending value, which gives the `path:line:col` of that value. Top-level keys follow the
//! specification; it allows custom keys, which are accepted, except a key one typo away from a
//! standard one (`levle:`), which is an error, since it would otherwise silently change the
//! rule.

use super::detection::{Detection, DetectionSeed};
use super::meta::{Extensions, Level, LogSource, Status, Text, TextList};
use super::modifiers::Placeholders;
use crate::rule::spec::TestSpec;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A Sigma rule as written, its detection already compiled.
#[derive(Debug, Default)]
pub struct SigmaSpec {
    pub title: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub fields: Vec<String>,
    pub falsepositives: Vec<String>,
    pub level: Option<Level>,
    pub tags: Vec<String>,
    pub logsource: bool,
    pub detection: Option<Detection>,
    pub tests: Vec<TestSpec>,
    pub trailwatch: Extensions,
}

/// What the detection needs to know before it is read: every search identifier (so the
/// condition can be resolved where it stands) and the rule's placeholder values.
#[derive(Debug, Default)]
pub struct Context {
    pub names: Vec<String>,
    pub placeholders: Placeholders,
}

/// Standard top-level keys (the specification's, plus trailwatch's `tests` and `trailwatch`).
pub const KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "tags",
    "scope",
    "tests",
    "trailwatch",
];

/// Reads the whole document.
pub struct DocSeed<'a>(pub &'a Context);

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = SigmaSpec;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<SigmaSpec, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = SigmaSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Sigma rule (a mapping with title, logsource and detection)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SigmaSpec, A::Error> {
        let mut spec = SigmaSpec::default();
        let text = |t: Option<Text>| t.map(|t| t.0);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "title" => spec.title = Some(map.next_value::<Text>()?.0),
                "id" => spec.id = text(map.next_value()?),
                "name" => spec.name = text(map.next_value()?),
                "description" => spec.description = text(map.next_value()?),
                "author" => spec.author = text(map.next_value()?),
                "status" => spec.status = map.next_value::<Option<Status>>()?.map(|s| s.0),
                "references" => spec.references = map.next_value::<TextList>()?.0,
                "fields" => spec.fields = map.next_value::<TextList>()?.0,
                "falsepositives" => spec.falsepositives = map.next_value::<TextList>()?.0,
                "tags" => spec.tags = map.next_value::<TextList>()?.0,
                "level" => spec.level = map.next_value()?,
                "logsource" => spec.logsource = map.next_value::<LogSource>().map(|_| true)?,
                "detection" => spec.detection = Some(map.next_value_seed(DetectionSeed(self.0))?),
                "tests" => spec.tests = map.next_value()?,
                "trailwatch" => spec.trailwatch = map.next_value()?,
                "related" | "taxonomy" | "license" | "date" | "modified" | "scope" => {
                    map.next_value::<IgnoredAny>()?;
                }
                "correlation" => map.next_value_seed(Reject(
                    "Sigma correlation rules are not supported; trailwatch runs detection rules"
                        .into(),
                ))?,
                "filter" => map.next_value_seed(Reject(
                    "Sigma filters are not supported; put the exclusion in the rule's condition"
                        .into(),
                ))?,
                "action" => map.next_value_seed(Reject(
                    "Sigma 1.0 rule collections (`action:`) are not supported; write one rule per file"
                        .into(),
                ))?,
                other => match near_miss(other) {
                    Some(meant) => map.next_value_seed(Reject(format!(
                        "unknown key `{other}`; did you mean `{meant}`? (Sigma allows custom keys, \
                         but this one looks like a typo)"
                    )))?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        Ok(spec)
    }
}

/// A standard key `key` looks like a typo of: same letters in another case, or one edit away
/// (insertion, deletion, substitution or swap of neighbours) for keys of four letters or more.
fn near_miss(key: &str) -> Option<&'static str> {
    let lower = key.to_lowercase();
    KEYS.iter().copied().find(|k| {
        *k == lower || (k.len() >= 4 && lower.len() >= 4 && edit_distance(k, &lower) <= 1)
    })
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Raises its message at the position of the value it is asked to read.
pub struct Reject(pub String);

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reject {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(self.0))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_of_standard_keys() {
        assert_eq!(near_miss("levle"), Some("level"));
        assert_eq!(near_miss("Title"), Some("title"));
        assert_eq!(near_miss("reference"), Some("references"));
        assert_eq!(near_miss("detections"), Some("detection"));
        assert_eq!(near_miss("falsepositive"), Some("falsepositives"));
        assert_eq!(near_miss("x-team"), None);
        assert_eq!(near_miss("custom_owner"), None);
        assert_eq!(near_miss("ids"), None);
    }
}
