//! [`Detection`]: a detection another front end compiled, held by the core as an [`Expr`] leaf.
//!
//! The core evaluates, indexes and plans rules without knowing which rule format they were
//! written in. Panther's match expressions compile into [`Expr`] trees the core can take apart
//! (to cut index pins out, to reorder children by cost); a format whose logic does not map onto
//! those nodes one for one (Sigma's named searches and boolean condition over them) compiles
//! into its own matcher instead, and the core reaches it only through this trait, as
//! [`Expr::External`]. That keeps the dependency one way: front ends import the core, the core
//! imports no front end.
//!
//! Evaluation takes a `&dyn Document`: the trait must be object-safe to sit in an `Arc`, and
//! one virtual call per field read is small next to the field lookup itself (measured when
//! this trait replaced the concrete Sigma matcher: `RuleSet::matching` +0.8% instructions
//! under callgrind on a Sigma-only replay).
//!
//! [`Expr`]: super::expr::Expr
//! [`Expr::External`]: super::expr::Expr::External

use super::keypath::KeyPath;
use crate::event::document::Document;
use std::fmt;

/// A compiled detection from a front end whose logic is opaque to the core.
///
/// Implementations must be pure: the same record always gives the same answer, and nothing
/// observable changes when they are evaluated (the planner relies on that to skip or reorder
/// them).
pub trait Detection: Send + Sync + fmt::Debug {
    /// Whether the record matches.
    fn matches(&self, event: &dyn Document) -> bool;

    /// Calls `visit` with every key path the detection reads from a record (the empty path
    /// [`KeyPath::root_value`] when it reads every value, as a keyword search does). The rule
    /// set builds its decoding layout from these.
    fn for_each_path<'a>(&'a self, visit: &mut dyn FnMut(&'a KeyPath));

    /// The strings top-level `field` must equal exactly (same case) for any record to match,
    /// or `None` when the detection does not pin it. The exact index files the rule under
    /// these; the detection is still evaluated in full on every candidate, so a pin that is
    /// only part of the story is safe.
    fn pinned(&self, field: &str) -> Option<Vec<&str>>;

    /// ASCII-lower-cased strings `field` must equal ignoring case, for detections whose
    /// equalities are case-insensitive and so cannot be [`Detection::pinned`] exactly. `None`
    /// when unconstrained or when a value is not plain ASCII (the fold would not be exact).
    fn pinned_folded(&self, _field: &str) -> Option<Vec<String>> {
        None
    }

    /// The values `field` must equal in any case (the rule's "action" for the catalog,
    /// `rules list --event-name`); empty when unconstrained.
    fn required_values(&self, field: &str) -> Vec<String>;

    /// Appends the detection as indented lines, `depth` levels in, for `trailwatch rules show`.
    fn render(&self, depth: usize, lines: &mut Vec<String>);

    /// `(field, operator, value)` for every leaf test, for the catalog's indicator search.
    fn indicators(&self) -> Vec<(String, String, String)>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::expr::Expr;
    use crate::rule::{Rule, RuleSet};
    use serde_json::{json, Value};
    use std::sync::Arc;

    /// A front end the core has never heard of: `eventName` equal to one string, and a field
    /// below `requestParameters` that must be present.
    #[derive(Debug)]
    struct NameAndParameter {
        name: String,
        parameter: KeyPath,
    }

    impl Detection for NameAndParameter {
        fn matches(&self, event: &dyn Document) -> bool {
            event.text("eventName") == Some(self.name.as_str())
                && !self.parameter.find_in(event).is_missing()
        }
        fn for_each_path<'a>(&'a self, visit: &mut dyn FnMut(&'a KeyPath)) {
            visit(&self.parameter);
        }
        fn pinned(&self, field: &str) -> Option<Vec<&str>> {
            (field == "eventName").then(|| vec![self.name.as_str()])
        }
        fn required_values(&self, field: &str) -> Vec<String> {
            self.pinned(field)
                .map(|v| v.into_iter().map(str::to_string).collect())
                .unwrap_or_default()
        }
        fn render(&self, depth: usize, lines: &mut Vec<String>) {
            lines.push(format!("{}name is {}", "  ".repeat(depth), self.name));
        }
        fn indicators(&self) -> Vec<(String, String, String)> {
            vec![("eventName".into(), "eq".into(), self.name.clone())]
        }
    }

    fn rule_with(detection: NameAndParameter) -> Rule {
        let yaml = "RuleID: Ext\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection: [{Condition: AlwaysTrue}]\n";
        let spec = serde_yaml::from_str(yaml).expect("spec parses");
        let mut rule = Rule::compile(spec).expect("spec compiles");
        rule.detection = Expr::External(Arc::new(detection));
        rule
    }

    #[test]
    fn the_core_indexes_and_evaluates_a_detection_it_did_not_compile() {
        let rule = rule_with(NameAndParameter {
            name: "PutObject".into(),
            parameter: KeyPath::parse("requestParameters.bucketName").unwrap(),
        });
        let mut read = Vec::new();
        rule.detection
            .for_each_path(&mut |p| read.push(p.to_string()));
        assert_eq!(read, ["requestParameters.bucketName"]);
        assert_eq!(rule.detection.pinned("eventName"), Some(vec!["PutObject"]));
        assert_eq!(rule.detection.pinned("eventSource"), None);

        let set = RuleSet::new(vec![rule]);
        // The index files the rule under its pin: other names are not even candidates.
        assert_eq!(set.candidates(None, Some("PutObject")).count(), 1);
        assert_eq!(set.candidates(None, Some("GetObject")).count(), 0);
        let evaluate = |event: Value| {
            let mut out = Vec::new();
            set.matching(&event, &mut out);
            out
        };
        assert_eq!(
            evaluate(json!({"eventName": "PutObject", "requestParameters": {"bucketName": "b"}})),
            [0]
        );
        assert!(evaluate(json!({"eventName": "PutObject", "requestParameters": {}})).is_empty());
        assert!(evaluate(json!({"eventName": "GetObject"})).is_empty());
    }
}
