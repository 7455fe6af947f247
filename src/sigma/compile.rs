//! A Sigma rule as a trailwatch [`Rule`]: the same alerts, dedup, tests and catalog as a
//! Panther rule.
//!
//! `id` is the RuleID (`name` when there is no `id`), `title` the DisplayName, `level` the
//! Severity (`medium` when absent), `tags` are kept and their ATT&CK part becomes Panther's
//! `Reports: {MITRE ATT&CK: [TA0003:T1098, ...]}`, `references[0]` the Reference and
//! `falsepositives` the Runbook. Dedup, threshold, grouping and title come from the optional
//! `trailwatch:` block with Panther's defaults; `fields` become the SummaryAttributes.

use super::matcher::Matcher;
use super::parse::SigmaSpec;
use crate::catalog::attack::REPORT_KEY;
use crate::rule::compile::{CompileError, Rule, CLOUDTRAIL};
use crate::rule::expr::Expr;
use crate::rule::keypath::KeyPath;
use crate::rule::spec::{KeySpec, Severity};
use crate::rule::template::Template;
use std::collections::BTreeMap;
use std::sync::Arc;

fn err(key: &'static str, message: impl Into<String>) -> CompileError {
    CompileError {
        key,
        message: message.into(),
    }
}

/// ATT&CK tactic tags (`attack.persistence`) and their IDs. `defense-evasion` is the name of
/// TA0005 before ATT&CK v19 renamed it `stealth`; `defense-impairment` is v19's TA0112.
const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "TA0043"),
    ("resource-development", "TA0042"),
    ("initial-access", "TA0001"),
    ("execution", "TA0002"),
    ("persistence", "TA0003"),
    ("privilege-escalation", "TA0004"),
    ("defense-evasion", "TA0005"),
    ("stealth", "TA0005"),
    ("defense-impairment", "TA0112"),
    ("credential-access", "TA0006"),
    ("discovery", "TA0007"),
    ("lateral-movement", "TA0008"),
    ("collection", "TA0009"),
    ("command-and-control", "TA0011"),
    ("exfiltration", "TA0010"),
    ("impact", "TA0040"),
];

/// `TAxxxx:Txxxx` for every technique paired with every tactic of the rule; a technique with
/// no tactic is written alone. Tactics without a technique give no entry (Panther's report
/// names techniques). Other tags (`attack.g0016`, `cve.…`) are kept as tags only.
pub fn attack_reports(tags: &[String]) -> Vec<String> {
    let mut tactics: Vec<&str> = Vec::new();
    let mut techniques: Vec<String> = Vec::new();
    for tag in tags {
        let Some(name) = tag
            .to_ascii_lowercase()
            .strip_prefix("attack.")
            .map(str::to_string)
        else {
            continue;
        };
        if let Some((_, id)) = TACTICS
            .iter()
            .find(|(n, _)| n.replace('-', "_") == name.replace('-', "_"))
        {
            if !tactics.contains(id) {
                tactics.push(id);
            }
        } else if is_technique(&name) {
            let id = name.to_ascii_uppercase();
            if !techniques.contains(&id) {
                techniques.push(id);
            }
        }
    }
    let mut out = Vec::new();
    for technique in &techniques {
        if tactics.is_empty() {
            out.push(technique.clone());
        }
        for tactic in &tactics {
            out.push(format!("{tactic}:{technique}"));
        }
    }
    out
}

/// `t1098` or `t1562.007`.
fn is_technique(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('t') else {
        return false;
    };
    let (main, sub) = rest.split_once('.').unwrap_or((rest, "000"));
    main.len() == 4 && sub.len() == 3 && main.chars().chain(sub.chars()).all(|c| c.is_ascii_digit())
}

/// Builds the rule. Errors name the top-level key they are under.
pub fn to_rule(spec: SigmaSpec) -> Result<Rule, CompileError> {
    let title = spec
        .title
        .ok_or_else(|| err("title", "a Sigma rule needs a `title`"))?;
    if !spec.logsource {
        return Err(err("title", "a Sigma rule needs a `logsource` (for trailwatch: `{product: aws, service: cloudtrail}`)"));
    }
    let detection = spec
        .detection
        .ok_or_else(|| err("title", "a Sigma rule needs a `detection`"))?;
    let id = spec
        .id
        .or(spec.name)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            err(
                "title",
                "a Sigma rule needs an `id` (or a `name`): trailwatch uses it as the RuleID",
            )
        })?;
    let ext = spec.trailwatch;
    let alert_title = ext
        .alert_title
        .as_deref()
        .map(Template::parse)
        .transpose()
        .map_err(|e| err("trailwatch", e))?;
    let group_by = ext
        .group_by
        .iter()
        .map(|f| {
            KeyPath::parse(f).map(|path| KeySpec {
                source: crate::rule::spec::KeySource::Path(path),
                default: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err("trailwatch", format!("group_by: {e}")))?;
    let summary_attributes = spec
        .fields
        .iter()
        .map(|f| {
            let parts: Vec<String> = f.split('.').map(str::to_string).collect();
            KeyPath::deep_key(&parts).map(|p| (f.clone(), p))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err("fields", e))?;
    let runbook = ext.runbook.or_else(|| {
        (!spec.falsepositives.is_empty())
            .then(|| format!("Known false positives: {}", spec.falsepositives.join("; ")))
    });
    let mut reports = BTreeMap::new();
    let attack = attack_reports(&spec.tags);
    if !attack.is_empty() {
        reports.insert(REPORT_KEY.to_string(), attack);
    }
    let matcher = Matcher::new(detection.searches, detection.logic, detection.conditions);
    Ok(Rule {
        dynamic_titles: Vec::new(),
        unique_by: None,
        id,
        id_key: "id",
        display_name: Some(title),
        enabled: ext.enabled.unwrap_or(true),
        log_types: vec![CLOUDTRAIL.to_string()],
        tags: spec.tags,
        severity: spec.level.map_or(Severity::Medium, |l| l.0),
        description: spec.description,
        runbook,
        reference: spec.references.into_iter().next(),
        reports,
        dedup_period_minutes: ext.dedup_period_minutes.map_or(60, |n| n.get()),
        threshold: ext.threshold.map_or(1, |n| n.get()),
        create_alert: true,
        output_ids: Vec::new(),
        status: spec.status,
        summary_attributes,
        detection: Expr::External(Arc::new(matcher)),
        inline_filters: None,
        title: alert_title,
        context: Vec::new(),
        group_by,
        dynamic_severities: Vec::new(),
        tests: spec.tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn techniques_pair_with_every_tactic() {
        let t = tags(&[
            "attack.persistence",
            "attack.t1098",
            "attack.privilege-escalation",
            "attack.t1078.004",
            "attack.g0016",
        ]);
        assert_eq!(
            attack_reports(&t),
            vec![
                "TA0003:T1098",
                "TA0004:T1098",
                "TA0003:T1078.004",
                "TA0004:T1078.004"
            ]
        );
    }

    #[test]
    fn bare_techniques_and_lone_tactics() {
        assert_eq!(attack_reports(&tags(&["attack.t1485"])), vec!["T1485"]);
        assert!(attack_reports(&tags(&["attack.impact", "cve.2021-1234"])).is_empty());
        assert_eq!(
            attack_reports(&tags(&[
                "attack.stealth",
                "attack.defense_evasion",
                "attack.t1562"
            ])),
            vec!["TA0005:T1562"]
        );
        assert_eq!(
            attack_reports(&tags(&["attack.defense-impairment", "attack.t1685.002"])),
            vec!["TA0112:T1685.002"]
        );
    }

    #[test]
    fn reports_parse_as_catalog_mappings() {
        use crate::catalog::attack::Mapping;
        for r in attack_reports(&tags(&[
            "attack.exfiltration",
            "attack.t1537",
            "attack.t1020",
        ])) {
            assert!(Mapping::parse(&r).is_some(), "{r}");
        }
        assert!(Mapping::parse("T1485").is_some());
    }
}
