//! MITRE ATT&CK names for the tactic and technique IDs rules report.
//!
//! Rules carry IDs only (`Reports: {MITRE ATT&CK: [TA0003:T1098]}`); the names come from a small
//! table in the repository (`attack.tsv`), which lists every ID the shipped pack uses.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The report key Panther uses for ATT&CK mappings.
pub const REPORT_KEY: &str = "MITRE ATT&CK";

fn table() -> &'static BTreeMap<&'static str, &'static str> {
    static TABLE: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("attack.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split_once('\t'))
            .collect()
    })
}

/// The name of a tactic (`TA0003`) or technique (`T1098`, `T1562.007`), if known.
pub fn name(id: &str) -> Option<&'static str> {
    table().get(id).copied()
}

/// Names a tactic went by before (ATT&CK renames tactics; people and older docs keep the old
/// name): TA0005 is "Stealth" in the table and "Defense Evasion" to most readers.
const FORMER_NAMES: &[(&str, &str)] = &[("TA0005", "Defense Evasion")];

/// `defense-evasion`, `Defense Evasion` and `defense_evasion` all become `defense evasion`.
fn folded(name: &str) -> String {
    name.to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ID a user means by `text`: an ID as written (any case: `ta0005`, `T1098.001`), or a
/// tactic or technique name in any case, with spaces, hyphens or underscores
/// (`defense-evasion`, `Defense Evasion`, `account manipulation`). `tactics_only` limits the
/// names searched to tactics. The error lists the tactics' names and IDs.
pub fn resolve(text: &str, tactics_only: bool) -> Result<String, String> {
    let text = text.trim();
    let upper = text.to_ascii_uppercase();
    let is_id = |prefix: &str| {
        upper.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
    };
    if is_id("TA") || (!tactics_only && is_id("T")) {
        return Ok(upper);
    }
    let wanted = folded(text);
    let is_tactic = |id: &str| id.starts_with("TA");
    let found = table()
        .iter()
        .map(|(id, name)| (*id, *name))
        .chain(FORMER_NAMES.iter().copied())
        .filter(|(id, _)| !tactics_only || is_tactic(id))
        .find(|(_, name)| folded(name) == wanted);
    match found {
        Some((id, _)) => Ok(id.to_string()),
        None => {
            let tactics: Vec<String> = table()
                .iter()
                .filter(|(id, _)| is_tactic(id))
                .map(|(id, name)| format!("{id} {name}"))
                .collect();
            Err(format!(
                "unknown ATT&CK {} `{text}`; give an ID (TA0005, T1098) or a name; tactics: {}",
                if tactics_only {
                    "tactic"
                } else {
                    "tactic or technique"
                },
                tactics.join(", ")
            ))
        }
    }
}

/// One `TAxxxx:Txxxx[.yyy]` mapping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Mapping {
    pub tactic: String,
    pub technique: String,
}

impl Mapping {
    /// Parses `TA0003:T1098`; a bare technique has an empty tactic.
    pub fn parse(text: &str) -> Option<Mapping> {
        let text = text.trim();
        let (tactic, technique) = match text.split_once(':') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => ("", text),
        };
        let valid_tactic = tactic.is_empty()
            || (tactic.starts_with("TA") && tactic[2..].chars().all(|c| c.is_ascii_digit()));
        let valid_technique = technique.starts_with('T')
            && technique[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.');
        (valid_tactic && valid_technique).then(|| Mapping {
            tactic: tactic.to_string(),
            technique: technique.to_string(),
        })
    }

    /// `T1098` for `T1098.001`.
    pub fn parent_technique(&self) -> &str {
        self.technique.split('.').next().unwrap_or(&self.technique)
    }
}

/// Renders `ID Name` (or just the ID when the name is not in the table).
pub fn label(id: &str) -> String {
    match name(id) {
        Some(n) => format!("{id} {n}"),
        None => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mappings_and_names() {
        let m = Mapping::parse("TA0005:T1562.007").unwrap();
        assert_eq!(m.tactic, "TA0005");
        assert_eq!(m.parent_technique(), "T1562");
        assert_eq!(name("TA0003"), Some("Persistence"));
        assert_eq!(label("T1098"), "T1098 Account Manipulation");
        assert!(Mapping::parse("nonsense").is_none());
        assert!(Mapping::parse("TA00x:T1").is_none());
    }

    #[test]
    fn tactics_resolve_from_ids_names_and_slugs() {
        for text in [
            "TA0005",
            "ta0005",
            "defense-evasion",
            "Defense Evasion",
            "stealth",
        ] {
            assert_eq!(resolve(text, true).as_deref(), Ok("TA0005"), "{text}");
        }
        assert_eq!(
            resolve("account-manipulation", false).as_deref(),
            Ok("T1098")
        );
        assert_eq!(resolve("t1562.007", false).as_deref(), Ok("T1562.007"));
        let err = resolve("defence evasion", true).unwrap_err();
        assert!(err.contains("TA0005 Stealth"), "{err}");
        assert!(resolve("account-manipulation", true).is_err());
    }
}
