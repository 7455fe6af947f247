//! The hot-path form of a rule's detection: what is left to test once the index has chosen
//! the rule, in a cheap-first order.
//!
//! The rule set indexes a rule by the `eventSource` / `eventName` strings it pins with
//! `Equals` or `IsIn`, and looks candidates up with the very value the pinning check would
//! read, so for a candidate found through the exact index those checks are already known to
//! hold: [`plan`] replaces them by `AlwaysTrue`. It then orders the children of every `All`
//! and `Any` by an estimated cost, so that a conjunction fails (or a disjunction succeeds) on
//! a string comparison of a top-level field before it decodes `requestParameters`, walks a
//! list or runs a regex. Expressions have no side effects, so neither step changes a result;
//! `OnlyOne` and `None` keep their order too (it does not matter for them either, but they
//! are rare).

use super::expr::Expr;
use super::keypath::Segment;

/// The detection to evaluate for a rule found through the exact index on `pinned` fields.
pub fn plan(detection: &Expr, pinned: &[&str]) -> Expr {
    let mut residual = detection.clone();
    for field in pinned {
        drop_pin(&mut residual, field);
    }
    order(&mut residual);
    residual
}

/// Replaces the check [`Expr::pinned`] finds for `field` by `AlwaysTrue`. Returns `None` when
/// `expr` pins nothing, `Some(replaced)` when the search stopped here (mirroring `pinned`,
/// which stops at the first pinning child; an external detection's pin cannot be cut out of it).
fn drop_pin(expr: &mut Expr, field: &str) -> Option<bool> {
    match expr {
        Expr::Check { path, condition }
            if path.is_top_level(field) && condition.pinned_strings().is_some() =>
        {
            *expr = Expr::Always(true);
            Some(true)
        }
        Expr::All(children) => children.iter_mut().find_map(|c| drop_pin(c, field)),
        Expr::External(d) => d.pinned(field).map(|_| false),
        _ => None,
    }
}

/// A rough cost of evaluating `expr` on a record, in units of one string comparison of a
/// top-level field.
fn cost(expr: &Expr) -> u32 {
    let path_cost = |segments: &[Segment]| -> u32 {
        // A p_ field is derived from other fields on first read.
        let derived = match segments.first() {
            Some(Segment::Field(f)) if f.starts_with("p_") => 4,
            _ => 0,
        };
        derived
            + match segments {
                [Segment::Field(_)] | [] => 1,
                _ if segments.contains(&Segment::Wildcard) => 6,
                _ => 3,
            }
    };
    match expr {
        Expr::Always(_) => 0,
        Expr::Check { path, condition } => {
            path_cost(path.segments()) + if condition.is_costly() { 4 } else { 0 }
        }
        Expr::Pair { left, right, .. } => path_cost(left.segments()) + path_cost(right.segments()),
        Expr::Elements { path, body, .. } => path_cost(path.segments()) + 4 * cost(body),
        Expr::External(_) => 8,
        Expr::All(c) | Expr::Any(c) | Expr::OnlyOne(c) | Expr::None(c) => c.iter().map(cost).sum(),
    }
}

/// Sorts the children of every `All` and `Any`, cheapest first (stable, so equal costs keep
/// the order the rule author wrote).
fn order(expr: &mut Expr) {
    match expr {
        Expr::All(children) | Expr::Any(children) => {
            children.iter_mut().for_each(order);
            children.sort_by_key(cost);
        }
        Expr::OnlyOne(children) | Expr::None(children) => children.iter_mut().for_each(order),
        Expr::Elements { body, .. } => order(body),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detection(yaml: &str) -> Expr {
        serde_yaml::from_str::<super::super::expr::ExprList>(yaml)
            .unwrap()
            .into_expr()
    }

    #[test]
    fn pins_become_always_true_and_cheap_checks_go_first() {
        let d = detection(
            "- KeyPath: requestParameters.policy\n  Condition: MatchesRegex\n  Value: 'Allow.*\\*'\n\
             - Key: eventSource\n  Condition: Equals\n  Value: iam.amazonaws.com\n\
             - Key: eventName\n  Condition: IsIn\n  Values: [PutUserPolicy, PutRolePolicy]\n\
             - Key: errorCode\n  Condition: IsNullOrEmpty\n",
        );
        let planned = plan(&d, &["eventSource", "eventName"]);
        let Expr::All(children) = &planned else {
            panic!("still a conjunction")
        };
        assert!(matches!(children[0], Expr::Always(true)));
        assert!(matches!(children[1], Expr::Always(true)));
        assert!(matches!(&children[2], Expr::Check { path, .. } if path.is_top_level("errorCode")));
        // The plan answers like the detection on records the index would select.
        for event in [
            json!({"eventSource": "iam.amazonaws.com", "eventName": "PutUserPolicy", "requestParameters": {"policy": "Allow *"}}),
            json!({"eventSource": "iam.amazonaws.com", "eventName": "PutRolePolicy", "errorCode": "Denied", "requestParameters": {"policy": "Allow *"}}),
            json!({"eventSource": "iam.amazonaws.com", "eventName": "PutUserPolicy", "requestParameters": {"policy": "Deny"}}),
        ] {
            assert_eq!(planned.matches(&event), d.matches(&event), "{event}");
        }
    }

    #[test]
    fn a_pin_under_any_is_not_an_index_guarantee() {
        let d = detection(
            "- Any:\n  - Key: eventName\n    Condition: Equals\n    Value: A\n  - Key: eventName\n    Condition: Equals\n    Value: B\n",
        );
        let planned = plan(&d, &["eventName"]);
        assert!(!planned.matches(&json!({"eventName": "C"})));
    }
}
