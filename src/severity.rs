//! Alert severity: a leaf of the crate that rules, alerts and sinks share, so that sinks
//! never import the rule module (docs/ARCHITECTURE.md).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Alert severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The upper-case name used in alerts (`MEDIUM`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Parses a severity name in any letter case (`Medium`, `MEDIUM`).
    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor (rather than String then parse) so the YAML parser still knows where the
        // value is when it reports a bad name.
        struct SeverityVisitor;
        impl Visitor<'_> for SeverityVisitor {
            type Value = Severity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a severity: Info, Low, Medium, High or Critical")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Severity, E> {
                Severity::parse(name).ok_or_else(|| {
                    E::custom(format!(
                        "unknown Severity `{name}`; valid values: Info, Low, Medium, High, Critical"
                    ))
                })
            }
        }
        d.deserialize_str(SeverityVisitor)
    }
}
