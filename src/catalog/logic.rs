//! Rule logic as people read it: `eventSource eq "rds.amazonaws.com"`, `errorCode is_null`.
//!
//! The catalog shows a rule's detection as one condition per line, and lists its
//! indicators (field, operator, value), the leaves of the expression tree, so a detection
//! engineer can see what a rule looks for and which other rules look for the same thing.

use crate::rule::expr::{Expr, Quantifier};
use crate::rule::Rule;
use serde_json::Value;

/// The short operator name of a Panther condition: `Equals` → `eq`, `IsNull` → `is_null`.
pub fn operator(condition: &str) -> String {
    match condition {
        "Equals" => "eq".into(),
        "DoesNotEqual" => "ne".into(),
        "IEquals" => "ieq".into(),
        "IDoesNotEqual" => "ine".into(),
        "IsGreaterThan" => "gt".into(),
        "IsGreaterThanOrEqual" | "IsGreaterThanOrEquals" => "ge".into(),
        "IsLessThan" => "lt".into(),
        "IsLessThanOrEqual" | "IsLessThanOrEquals" => "le".into(),
        "IsIn" => "in".into(),
        "IsNotIn" => "not_in".into(),
        other => {
            let mut out = String::new();
            for (i, c) in other.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            }
            out.replace("i_p", "ip")
                .replace("c_i_d_r", "cidr")
                .replace("i_pv", "ipv")
        }
    }
}

fn operands_text(values: &[Value]) -> String {
    match values {
        [] => String::new(),
        [one] => format!(" {one}"),
        many => format!(" {}", Value::from(many.to_vec())),
    }
}

/// The detection (inline filters first) as indented lines; top-level `All` is one line per
/// condition.
pub fn render(rule: &Rule) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(filters) = &rule.inline_filters {
        lines.push("inline filters:".to_string());
        render_into(filters, 1, &mut lines);
        lines.push("detection:".to_string());
        render_into(&rule.detection, 1, &mut lines);
    } else {
        render_into(&rule.detection, 0, &mut lines);
    }
    lines
}

fn render_into(expr: &Expr, depth: usize, lines: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let group = |name: &str, children: &[Expr], lines: &mut Vec<String>| {
        lines.push(format!("{pad}{name}:"));
        for c in children {
            render_into(c, depth + 1, lines);
        }
    };
    match expr {
        Expr::All(children) if depth == 0 => children.iter().for_each(|c| render_into(c, 0, lines)),
        Expr::All(children) => group("all of", children, lines),
        Expr::Any(children) => group("any of", children, lines),
        Expr::OnlyOne(children) => group("exactly one of", children, lines),
        Expr::None(children) => group("none of", children, lines),
        Expr::Always(v) => lines.push(format!("{pad}always_{v}")),
        Expr::Check { path, condition } => {
            let field = if path.segments().is_empty() {
                "(value)".to_string()
            } else {
                path.to_string()
            };
            lines.push(format!(
                "{pad}{field} {}{}",
                operator(condition.name()),
                operands_text(condition.operands())
            ));
        }
        Expr::Pair {
            left,
            right,
            condition,
        } => lines.push(format!(
            "{pad}{left} {} {right}",
            operator(condition.name())
        )),
        Expr::Elements {
            path,
            quantifier,
            body,
        } => {
            let q = match quantifier {
                Quantifier::Any => "any element of",
                Quantifier::All => "every element of",
                Quantifier::OnlyOne => "exactly one element of",
                Quantifier::NoElement => "no element of",
            };
            lines.push(format!("{pad}{q} {path}:"));
            match body.as_ref() {
                Expr::All(children) => children
                    .iter()
                    .for_each(|c| render_into(c, depth + 1, lines)),
                other => render_into(other, depth + 1, lines),
            }
        }
        Expr::External(d) => d.render(depth, lines),
    }
}

/// One leaf test of a rule: field, operator and (one) value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Indicator {
    pub field: String,
    pub operator: String,
    pub value: String,
}

/// Every leaf test of the rule's detection and filters. `IsIn`-style lists give one indicator
/// per value, so that rules testing the same value are found whatever lists they sit in.
pub fn indicators(rule: &Rule) -> Vec<Indicator> {
    let mut out = Vec::new();
    let mut visit = |e: &Expr| collect(e, "", false, &mut out);
    if let Some(f) = &rule.inline_filters {
        visit(f);
    }
    visit(&rule.detection);
    out.sort();
    out.dedup();
    out
}

/// `negated` is true under a `None` group: its tests are shown as `not_eq`, `not_in`, ... (as
/// Sigma's negated items are), so that `eventName eq X` only ever means "can match X".
fn collect(expr: &Expr, prefix: &str, negated: bool, out: &mut Vec<Indicator>) {
    let shown = |op: String| if negated { format!("not_{op}") } else { op };
    match expr {
        Expr::All(c) | Expr::Any(c) | Expr::OnlyOne(c) => {
            c.iter().for_each(|e| collect(e, prefix, negated, out))
        }
        Expr::None(c) => c.iter().for_each(|e| collect(e, prefix, !negated, out)),
        Expr::Always(_) => {}
        Expr::Check { path, condition } => {
            let field = format!("{prefix}{path}");
            let op = shown(operator(condition.name()));
            if condition.operands().is_empty() {
                out.push(Indicator {
                    field,
                    operator: op,
                    value: String::new(),
                });
            } else {
                for v in condition.operands() {
                    out.push(Indicator {
                        field: field.clone(),
                        operator: op.clone(),
                        value: match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                    });
                }
            }
        }
        Expr::Pair {
            left,
            right,
            condition,
        } => out.push(Indicator {
            field: format!("{prefix}{left}"),
            operator: shown(operator(condition.name())),
            value: format!("{{{prefix}{right}}}"),
        }),
        Expr::Elements { path, body, .. } => {
            collect(body, &format!("{prefix}{path}[*]."), negated, out)
        }
        Expr::External(d) => out.extend(d.indicators().into_iter().map(
            |(field, operator, value)| Indicator {
                field: format!("{prefix}{field}"),
                operator: shown(operator),
                value,
            },
        )),
    }
}

/// The `eventSource` and `eventName` values a rule can match (its "actions"), sorted.
///
/// Unlike the candidate index, which needs values every match must have, the catalog wants
/// every value that can lead to a match: equalities under `Any`, `All` and `OnlyOne` all
/// count, at any depth, so a rule watching `StopLogging` or `DeleteTrail` through an `Any:`
/// is listed under both. Values under `None` (negated) or inside a list comprehension (not
/// the record's own field) do not.
pub fn actions(rule: &Rule) -> (Vec<String>, Vec<String>) {
    let get = |field: &str| {
        let mut values = Vec::new();
        if let Some(filters) = &rule.inline_filters {
            positive_values(filters, field, &mut values);
        }
        positive_values(&rule.detection, field, &mut values);
        values.sort();
        values.dedup();
        values
    };
    (get("eventSource"), get("eventName"))
}

fn positive_values(expr: &Expr, field: &str, out: &mut Vec<String>) {
    match expr {
        Expr::Check { path, condition } if path.is_top_level(field) => {
            if let Some(values) = condition.pinned_strings() {
                out.extend(values.into_iter().map(str::to_string));
            } else if condition.name() == "IEquals" {
                // Not exact enough for the index, but the same action to a reader.
                out.extend(
                    condition
                        .operands()
                        .iter()
                        .filter_map(|v| v.as_str())
                        .map(str::to_string),
                );
            }
        }
        Expr::All(c) | Expr::Any(c) | Expr::OnlyOne(c) => {
            c.iter().for_each(|e| positive_values(e, field, out))
        }
        // An external detection's equalities may ignore case (Sigma's do), so the index
        // cannot use them; the catalog can.
        Expr::External(d) => out.extend(d.required_values(field)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        assert_eq!(operator("Equals"), "eq");
        assert_eq!(operator("IsNull"), "is_null");
        assert_eq!(operator("IsIPAddressInCIDR"), "is_ip_address_in_cidr");
        assert_eq!(operator("IStartsWith"), "i_starts_with");
        assert_eq!(operator("IsIPv4Address"), "is_ipv4_address");
    }
}
